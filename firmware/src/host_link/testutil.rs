//! Helpers shared by the host-link tests.

use super::frame::{decode_raw, encode_frame, Feed, FrameDecoder, FrameError, Incoming};
use super::*;
use std::vec::Vec;

/// Decodes the last complete frame in `wire` (delimiters included) with the endpoint's
/// de-framer.
pub fn unwrap_frame<M: Message>(wire: &[u8]) -> Result<Incoming<M>, FrameError> {
    let mut dec = FrameDecoder::<MAX_RAW_LEN>::new();
    let mut out = None;
    for &b in wire {
        match dec.feed(b) {
            Feed::Nothing => {}
            Feed::Frame(_) => out = Some(decode_raw::<M>(dec.frame())),
            Feed::Error(e) => out = Some(Err(e)),
        }
    }
    out.expect("a complete frame")
}

/// One packet as it goes on the wire.
pub fn wire_of<M: serde::Serialize>(p: &Packet<M>) -> Vec<u8> {
    let mut buf = [0u8; MAX_WIRE_LEN];
    let n = encode_frame(p, &mut buf).unwrap();
    buf[..n].to_vec()
}

pub fn host_node() -> NodeInfo {
    NodeInfo {
        role: Role::Host,
        software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
        esi_eui64: Eui64(0),
        slot_capacity: 0,
    }
}

pub fn coordinator_node() -> NodeInfo {
    NodeInfo {
        role: Role::Coordinator,
        software: SoftwareVersion { major: 0, minor: 3, patch: 1 },
        esi_eui64: Eui64(0x000D_6F00_0ABC_DEF0),
        slot_capacity: 16,
    }
}

/// Everything `poll_transmit` has to send right now, concatenated.
pub fn drain_tx<Tx: Message, Rx: Message, const W: usize, const R: usize>(
    ep: &mut LinkEndpoint<Tx, Rx, W, R>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; MAX_WIRE_LEN];
    while let Some(n) = ep.poll_transmit(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

pub fn drain_events<Tx: Message, Rx: Message, const W: usize, const R: usize>(
    ep: &mut LinkEndpoint<Tx, Rx, W, R>,
) -> Vec<LinkEvent<Rx>> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// `body ‖ crc`, for hand-made frames.
pub fn raw_with_crc(body: &[u8]) -> Vec<u8> {
    let mut raw = body.to_vec();
    raw.extend_from_slice(&frame::CRC.checksum(body).to_le_bytes());
    raw
}

/// A hand-made body, framed (no leading delimiter).
pub fn wire_from_body(body: &[u8]) -> Vec<u8> {
    let raw = raw_with_crc(body);
    let mut buf = [0u8; MAX_WIRE_LEN];
    let n = frame::wrap(&raw, &mut buf, false).unwrap();
    buf[..n].to_vec()
}

/// A host and a coordinator endpoint on a perfect wire.
pub struct Pair {
    pub host: HostEndpoint,
    pub coord: CoordinatorEndpoint,
    pub now: u64,
    pub host_events: Vec<LinkEvent<Report>>,
    pub coord_events: Vec<LinkEvent<Request>>,
}

impl Pair {
    pub fn new() -> Self {
        Self {
            host: HostEndpoint::new(LinkConfig::new(host_node(), 0x1000)),
            coord: CoordinatorEndpoint::new(LinkConfig::new(coordinator_node(), 0x2000)),
            now: 0,
            host_events: Vec::new(),
            coord_events: Vec::new(),
        }
    }

    /// A pair that has completed its handshake (events cleared).
    pub fn connected() -> Self {
        let mut p = Self::new();
        p.pump();
        assert!(p.host.is_connected() && p.coord.is_connected());
        p.host_events.clear();
        p.coord_events.clear();
        p
    }

    /// Moves bytes both ways until both are quiet; collects events.
    pub fn pump(&mut self) {
        for _ in 0..32 {
            let h = drain_tx(&mut self.host);
            let c = drain_tx(&mut self.coord);
            self.coord.handle_bytes(self.now, &h);
            self.host.handle_bytes(self.now, &c);
            self.host_events.extend(drain_events(&mut self.host));
            self.coord_events.extend(drain_events(&mut self.coord));
            if h.is_empty() && c.is_empty() {
                return;
            }
        }
        panic!("link did not go quiet");
    }

    /// Advances time on both ends and runs their timers.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.host.handle_timeout(self.now);
        self.coord.handle_timeout(self.now);
    }
}

/// The PublishPrice fixture: rate "PEAK", price 1234 (two trailing digits, tier 1) in currency
/// 840 starting now until changed, no price ratio, generation price or alternate cost, to all
/// devices.
pub fn publish_price(provider_id: u32, issuer_event_id: u32) -> PublishPrice {
    PublishPrice {
        provider_id,
        rate_label: RateLabelExt::of("PEAK"),
        issuer_event_id,
        unit_of_measure: 0,
        currency: 840,
        price_trailing_digit_and_price_tier: 0x21,
        number_of_price_tiers_and_register_tier: 0x31,
        start_time: 0,
        duration_in_minutes: 0xFFFF,
        price: 1234,
        price_ratio: 0xFF,
        generation_price: 0xFFFF_FFFF,
        generation_price_ratio: 0xFF,
        alternate_cost_delivered: 0xFFFF_FFFF,
        alternate_cost_unit: 0xFF,
        alternate_cost_trailing_digit: 0,
        targets: Targets::All,
    }
}

/// A request of every kind, with a link key in `AddDevice`.
pub fn sample_requests() -> Vec<Request> {
    let devices = Targets::Devices(heapless::Vec::from_slice(&[Eui64(1), Eui64(2)]).unwrap());
    let commands = [
        Command::AddDevice(AddDevice {
            eui64: Eui64(0x000D_6F00_0000_0001),
            link_key: LinkKey::new([0xAB; 16]),
            join_window_s: AddDevice::DEFAULT_JOIN_WINDOW_S,
        }),
        Command::RemoveDevice(RemoveDevice { eui64: Eui64(3), reason: RemoveReason::MOVE_OUT }),
        Command::ListDevices,
        Command::PublishPrice(publish_price(1, 99)),
        Command::DisplayMessage(DisplayMessage {
            message_id: 7,
            message_control: 0x88,
            start_time: 0,
            duration_in_minutes: 60,
            message: heapless::String::try_from("Peak pricing 2–6 pm: 35¢/kWh").unwrap(),
            targets: devices.clone(),
        }),
        Command::CancelMessage(CancelMessage {
            message_id: 7,
            message_control: 0,
            targets: devices.clone(),
        }),
        Command::LoadControlEvent(LoadControlEvent {
            issuer_event_id: 0x1234_5678,
            device_class: 0x0001,
            utility_enrollment_group: 0,
            start_time: 0,
            duration_in_minutes: 120,
            criticality_level: 3,
            cooling_temperature_offset: 0xFF,
            heating_temperature_offset: 0xFF,
            cooling_temperature_set_point: i16::MIN,
            heating_temperature_set_point: i16::MIN,
            average_load_adjustment_percentage: -20,
            duty_cycle: 0xFF,
            event_control: 1,
            targets: Targets::All,
        }),
        Command::CancelLoadControlEvent(CancelLoadControlEvent {
            issuer_event_id: 0x1234_5678,
            device_class: 0x0001,
            utility_enrollment_group: 0,
            cancel_control: 0,
            effective_time: 0,
            targets: Targets::All,
        }),
        Command::CancelAllLoadControlEvents(CancelAllLoadControlEvents {
            cancel_control: 1,
            targets: devices,
        }),
        Command::ReadMeter(ReadMeter {
            attribute_ids: heapless::Vec::from_slice(&[0x0000, 0x0200, 0x0301, 0x0302]).unwrap(),
        }),
        Command::GetStatus,
        Command::SetTime(SetTime { utc: 820_540_800 }),
        Command::Reset,
    ];
    commands
        .into_iter()
        .enumerate()
        .map(|(i, command)| Request { request_id: 100 + i as u32, command })
        .collect()
}

/// `heapless::String::try_from` with a panic message, for fixtures.
pub trait RateLabelExt: Sized {
    fn of(s: &str) -> Self;
}

impl<const N: usize> RateLabelExt for heapless::String<N> {
    fn of(s: &str) -> Self {
        heapless::String::try_from(s).expect("fixture string fits")
    }
}

/// A report of every kind.
pub fn sample_reports() -> Vec<Report> {
    let record = |attribute_id, value: &[u8]| AttributeRecord {
        attribute_id,
        status: 0,
        data_type: 0x25,
        value: heapless::Vec::from_slice(value).unwrap(),
    };
    std::vec![
        Report::Result(RequestResult {
            request_id: 100,
            code: ResultCode::SUCCESS,
            detail: ResultDetail::Slot { slot: 3, slots_free: 12 },
        }),
        Report::DeliveryResult(DeliveryResult {
            request_id: 104,
            eui64: Eui64(1),
            outcome: DeliveryOutcome::ZclStatus(0),
        }),
        Report::MessageConfirmed(MessageConfirmed {
            message_id: 7,
            eui64: Eui64(1),
            confirmation_time: 820_540_900,
        }),
        Report::EventStatus(EventStatus {
            issuer_event_id: 0x1234_5678,
            eui64: Eui64(2),
            event_status: EventStatus::OPT_OUT,
            event_status_time: 820_541_000,
            criticality_level_applied: 3,
            cooling_temperature_set_point_applied: i16::MIN,
            heating_temperature_set_point_applied: i16::MIN,
            average_load_adjustment_percentage_applied: -20,
            duty_cycle_applied: 0xFF,
            event_control: 1,
        }),
        Report::DeviceEvent(DeviceEvent { eui64: Eui64(1), state: DeviceState::KEY_ESTABLISHED }),
        Report::DeviceList(DeviceList {
            request_id: 102,
            capacity: 16,
            entries: heapless::Vec::from_slice(&[DeviceEntry {
                slot: 0,
                eui64: Eui64(1),
                state: DeviceState::PENDING,
                last_seen: 0,
                lqi: 0,
                join_deadline: 820_627_200,
            }])
            .unwrap(),
        }),
        Report::MeterReading(MeterReading {
            request_id: Some(109),
            timestamp: 820_540_800,
            records: heapless::Vec::from_slice(&[
                record(0x0000, &[0x40, 0xE2, 0x01, 0, 0, 0]),
                AttributeRecord {
                    attribute_id: 0x0001,
                    status: 0x86,
                    data_type: 0,
                    value: heapless::Vec::new(),
                },
            ])
            .unwrap(),
        }),
        Report::PowerSwitchStatus(PowerSwitchStatus {
            request_id: None,
            power: PowerState::ON,
            switch: SwitchState::CLOSED,
            at: 820_540_800,
        }),
        Report::Heartbeat(Heartbeat {
            uptime_s: 3600,
            utc: 820_540_800,
            counters: HeartbeatCounters::default(),
        }),
        Report::Error(ErrorReport {
            code: ErrorCode::CLOCK_LOST,
            detail: RateLabelExt::of("RTC lost power"),
        }),
    ]
}
