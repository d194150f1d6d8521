//! Events per second through the ESI core and through the whole coordinator
//! (`cargo bench -p firmware --bench core`; figures in `docs/performance.md`, section firmware).
//!
//! One "event" is one input plus draining everything it caused. The mix, repeated: a
//! GetCurrentPrice (answered with a PublishPrice frame), a GetLastMessage (answered with a
//! DisplayMessage frame), a ReportEventStatus opt-out (forwarded to the host) and a timer tick.
//! The same-run baseline is `zse::zcl::Frame::parse` of the same three frames: the cost of
//! merely decoding them, so the core's figure reads as a ratio to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use firmware::coordinator::{Coordinator, CoordinatorConfig};
use firmware::esi::{
    ApsIndication, ApsSecurity, ApsStatus, Command, Esi, EsiConfig, Instant, LinkKey,
    MessageCommand, MeterStatus, Metrology, PriceCommand, RequestId, Targets, TimeSetting,
};
use firmware::host_link::{self, HostEndpoint, LinkConfig, LinkEvent, MAX_WIRE_LEN};
use std::hint::black_box;
use zse::cluster::{drlc, messaging, price, ClusterCommand};
use zse::zcl::{ClusterId, Eui64, Frame, UtcTime, SE_PROFILE_ID};

const T0: u32 = 820_454_400;
const IHD: Eui64 = Eui64(0x000D_6F00_0000_0001);
const PCT: Eui64 = Eui64(0x000D_6F00_0000_0002);

#[derive(Debug, Default)]
struct Meter;

impl Metrology for Meter {
    fn current_summation_delivered(&mut self) -> Option<u64> {
        Some(1_234_567)
    }
    fn status(&mut self) -> Option<MeterStatus> {
        Some(MeterStatus(0))
    }
}

fn emit(cmd: ClusterCommand<'_>, tsn: u8, ddr: bool) -> Vec<u8> {
    let mut buf = [0u8; 127];
    let n = Frame::cluster(cmd, tsn, ddr).emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// The three device frames of the mix: (source, cluster, ZCL bytes).
fn frames() -> [(Eui64, ClusterId, Vec<u8>); 3] {
    let get_price = price::GetCurrentPrice { command_options: price::CommandOptions(0) };
    let get_msg = messaging::GetLastMessage {};
    let opt_out = drlc::ReportEventStatus {
        issuer_event_id: 0x200,
        event_status: drlc::EventStatus::USER_HAS_CHOSEN_TO_OPT_OUT,
        event_status_time: UtcTime(T0 + 5),
        criticality_level_applied: drlc::CriticalityLevel(7),
        cooling_temperature_set_point_applied: i16::MIN,
        heating_temperature_set_point_applied: i16::MIN,
        average_load_adjustment_percentage_applied: i8::MIN,
        duty_cycle_applied: 0xFF,
        event_control: drlc::EventControl(1),
        signature_type: drlc::SignatureType(0),
        signature: None,
    };
    [
        (
            IHD,
            ClusterId::PRICE,
            emit(
                ClusterCommand::PriceClient(price::ClientCommand::GetCurrentPrice(get_price)),
                1,
                false,
            ),
        ),
        (
            IHD,
            ClusterId::MESSAGING,
            emit(
                ClusterCommand::MessagingClient(messaging::ClientCommand::GetLastMessage(get_msg)),
                2,
                false,
            ),
        ),
        (
            PCT,
            ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
            emit(
                ClusterCommand::DrlcClient(drlc::ClientCommand::ReportEventStatus(opt_out)),
                3,
                true,
            ),
        ),
    ]
}

fn indication(eui: Eui64, cluster: ClusterId, payload: &[u8]) -> ApsIndication<'_> {
    ApsIndication {
        src_short: (eui.0 & 0xFFFF) as u16,
        src_eui64: Some(eui),
        src_endpoint: 9,
        dst_endpoint: 1,
        cluster,
        profile: SE_PROFILE_ID,
        security: ApsSecurity::LinkKey,
        broadcast: false,
        lqi: Some(200),
        payload,
    }
}

fn config() -> EsiConfig {
    EsiConfig { meter_poll_ms: 0, ..EsiConfig::default() }
}

/// Time set, two paired devices, a price and a message stored, all pushes confirmed.
fn ready_core() -> Esi<16, 8, 5, Meter> {
    let mut esi = Esi::new(config(), Meter);
    let now = Instant(1_000);
    let mut id = 0;
    let mut cmd = |esi: &mut Esi<16, 8, 5, Meter>, c: Command<'_>| {
        id += 1;
        esi.handle_command(now, RequestId(id), c);
        while let Some(a) = esi.poll_action() {
            if let firmware::esi::Action::SendAps(f) = a {
                esi.handle_aps_confirm(now, f.handle, ApsStatus::SUCCESS);
            }
        }
    };
    cmd(&mut esi, Command::SetTime(TimeSetting::utc(UtcTime(T0))));
    for eui in [IHD, PCT] {
        let link_key = LinkKey::from_bytes([0x5A; 16]);
        cmd(&mut esi, Command::AddDevice { eui64: eui, link_key, join_window_secs: 3600 });
        esi.handle_join_request(now, eui, (eui.0 & 0xFFFF) as u16);
        esi.handle_key_established(now, eui);
    }
    cmd(
        &mut esi,
        Command::PublishPrice(PriceCommand {
            provider_id: 1,
            rate_label: "PEAK",
            issuer_event_id: 1,
            unit_of_measure: 0,
            currency: 840,
            price_trailing_digit: 2,
            price_tier: 1,
            number_of_price_tiers: 3,
            register_tier: 1,
            start_time: UtcTime::NOW,
            duration_in_minutes: 0xFFFF,
            price: 1234,
            price_ratio: 0xFF,
            generation_price: 0xFFFF_FFFF,
            generation_price_ratio: 0xFF,
        }),
    );
    cmd(
        &mut esi,
        Command::DisplayMessage(MessageCommand {
            message_id: 7,
            message_control: 0,
            start_time: UtcTime::NOW,
            duration_in_minutes: 0xFFFF,
            text: "Peak pricing 4-7pm",
            targets: Targets::AllPaired,
        }),
    );
    esi
}

fn baseline(c: &mut Criterion) {
    let frames = frames();
    let mut g = c.benchmark_group("firmware");
    g.throughput(Throughput::Elements(3));
    g.bench_function("baseline_zcl_parse_x3", |b| {
        b.iter(|| {
            for (_, cluster, bytes) in &frames {
                black_box(Frame::parse(black_box(*cluster), black_box(bytes)).unwrap());
            }
        });
    });
    g.finish();
}

fn core_step(c: &mut Criterion) {
    let frames = frames();
    let mut esi = ready_core();
    let mut now = 2_000u64;
    let mut outputs = 0u64;
    let mut g = c.benchmark_group("firmware");
    g.throughput(Throughput::Elements(4));
    g.bench_function("core_mix_x4", |b| {
        b.iter(|| {
            for (eui, cluster, bytes) in &frames {
                now += 1;
                esi.handle_aps_indication(
                    Instant(now),
                    indication(*eui, *cluster, black_box(bytes)),
                );
                while let Some(a) = esi.poll_action() {
                    black_box(&a);
                    outputs += 1;
                }
            }
            now += 1;
            esi.handle_timeout(Instant(now));
            while let Some(a) = esi.poll_action() {
                black_box(&a);
                outputs += 1;
            }
        });
    });
    g.finish();
    assert!(outputs > 0);
    assert_eq!(esi.counters().rx_malformed + esi.counters().rx_unknown_device, 0);
}

/// A coordinator connected to a host endpoint through an in-memory pipe; the host drains and
/// acknowledges everything (its cost is included in the figure).
struct Pipe {
    coord: Coordinator<16, 8, 5, Meter>,
    host: HostEndpoint,
    buf: Vec<u8>,
    reports: u64,
}

impl Pipe {
    fn new() -> Self {
        let mut config = CoordinatorConfig::new(Eui64(0x000D_6F00_0ABC_DEF0), 1);
        config.esi.meter_poll_ms = 0;
        let node = host_link::NodeInfo {
            role: host_link::Role::Host,
            software: host_link::SoftwareVersion::default(),
            esi_eui64: host_link::Eui64(0),
            slot_capacity: 0,
        };
        let mut p = Self {
            coord: Coordinator::new(config, Meter),
            host: HostEndpoint::new(LinkConfig::new(node, 99)),
            buf: vec![0; MAX_WIRE_LEN],
            reports: 0,
        };
        p.settle(1_000);
        assert!(p.coord.link().is_connected());
        p
    }

    fn settle(&mut self, now: u64) {
        loop {
            let mut idle = true;
            while let Some(a) = self.coord.poll_radio() {
                black_box(&a);
                idle = false;
            }
            while let Some(n) = self.coord.poll_serial_transmit(&mut self.buf) {
                self.host.handle_bytes(now, &self.buf[..n]);
                while let Some(ev) = self.host.poll_event() {
                    if let LinkEvent::Received(r) = ev {
                        black_box(&r);
                        self.reports += 1;
                    }
                }
                idle = false;
            }
            while let Some(n) = self.host.poll_transmit(&mut self.buf) {
                self.coord.handle_serial_bytes(now, &self.buf[..n]);
                idle = false;
            }
            if idle {
                return;
            }
        }
    }
}

fn coordinator_step(c: &mut Criterion) {
    let frames = frames();
    let mut p = Pipe::new();
    // Same state as the core bench, through host requests.
    let mut id = 0;
    let mut send = |p: &mut Pipe, command: host_link::Command| {
        id += 1;
        p.host.send(1_000, &host_link::Request { request_id: id, command }).unwrap();
        p.settle(1_000);
    };
    send(&mut p, host_link::Command::SetTime(host_link::SetTime { utc: T0 }));
    for eui in [IHD, PCT] {
        send(
            &mut p,
            host_link::Command::AddDevice(host_link::AddDevice {
                eui64: eui.into(),
                link_key: host_link::LinkKey::new([0x5A; 16]),
                join_window_s: 3600,
            }),
        );
        p.coord.handle_join_request(1_000, eui, (eui.0 & 0xFFFF) as u16);
        p.coord.handle_key_established(1_000, eui);
        p.settle(1_000);
    }
    send(
        &mut p,
        host_link::Command::DisplayMessage(host_link::DisplayMessage {
            message_id: 7,
            message_control: 0,
            start_time: 0,
            duration_in_minutes: 0xFFFF,
            message: "Peak pricing 4-7pm".try_into().unwrap(),
            targets: host_link::Targets::All,
        }),
    );
    let mut now = 2_000u64;
    let mut g = c.benchmark_group("firmware");
    g.throughput(Throughput::Elements(4));
    g.bench_function("coordinator_mix_x4", |b| {
        b.iter(|| {
            for (eui, cluster, bytes) in &frames {
                now += 1;
                p.coord.handle_aps_indication(now, indication(*eui, *cluster, black_box(bytes)));
                p.settle(now);
            }
            now += 1;
            p.coord.handle_timeout(now);
            p.host.handle_timeout(now);
            p.settle(now);
        });
    });
    g.finish();
    assert!(p.reports > 0);
    assert_eq!(p.coord.counters().results_dropped + p.coord.counters().reports_dropped, 0);
}

criterion_group!(benches, baseline, core_step, coordinator_step);
criterion_main!(benches);
