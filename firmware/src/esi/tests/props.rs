//! Property tests: random sequences of host commands, radio events, frames (valid and garbage)
//! and time steps, with the core's invariants checked after every step (style.md §3):
//! * no slot is used twice;
//! * every command ends in exactly one CommandResult, and every accepted push in exactly as
//!   many DeliveryResults as it announced (checked once time has run out every retry);
//! * `poll_timeout` is never in the past after `handle_timeout`;
//! * no DR event is kept past its end;
//! * every frame the core sends decodes and fits one APS payload;
//! * nothing panics.
//!
//! Plus the RAM budget and the fuzz entry point.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::vec;

#[derive(Debug, Clone)]
enum Step {
    Advance(u32),
    Add { dev: u8, window_min: u16 },
    Remove { dev: u8 },
    Join { dev: u8 },
    Left { dev: u8 },
    KeyEstablished { dev: u8 },
    Message { id: u8, minutes: u16, only: Option<u8> },
    CancelMessage { id: u8 },
    Price { id: u8, offset_min: u16, minutes: u16 },
    Event { id: u8, class: u16, ueg: u8, offset_min: u16, minutes: u16 },
    CancelEvent { id: u8, effective_min: u16 },
    CancelAll,
    ReadMeter,
    Status,
    List,
    SetTime { minutes: u16 },
    Confirm { pick: u8, ok: bool },
    Request { dev: u8, kind: u8, secure: bool },
    Garbage { dev: u8, cluster: u8, bytes: Vec<u8>, secure: bool, broadcast: bool },
}

fn step() -> impl Strategy<Value = Step> {
    let dev = 0u8..20;
    prop_oneof![
        4 => (0u32..200_000).prop_map(Step::Advance),
        3 => (dev.clone(), 1u16..120).prop_map(|(dev, window_min)| Step::Add { dev, window_min }),
        1 => dev.clone().prop_map(|dev| Step::Remove { dev }),
        3 => dev.clone().prop_map(|dev| Step::Join { dev }),
        1 => dev.clone().prop_map(|dev| Step::Left { dev }),
        3 => dev.clone().prop_map(|dev| Step::KeyEstablished { dev }),
        2 => (0u8..4, 1u16..30, proptest::option::of(0u8..20))
            .prop_map(|(id, minutes, only)| Step::Message { id, minutes, only }),
        1 => (0u8..4).prop_map(|id| Step::CancelMessage { id }),
        2 => (0u8..12, 0u16..120, 1u16..90)
            .prop_map(|(id, offset_min, minutes)| Step::Price { id, offset_min, minutes }),
        2 => (0u8..12, 0u16..0x0010, 0u8..3, 0u16..60, 1u16..60).prop_map(
            |(id, class, ueg, offset_min, minutes)| Step::Event { id, class, ueg, offset_min, minutes }
        ),
        1 => (0u8..12, 0u16..90).prop_map(|(id, effective_min)| Step::CancelEvent { id, effective_min }),
        1 => Just(Step::CancelAll),
        1 => Just(Step::ReadMeter),
        1 => Just(Step::Status),
        1 => Just(Step::List),
        1 => (0u16..30).prop_map(|minutes| Step::SetTime { minutes }),
        5 => (any::<u8>(), any::<bool>()).prop_map(|(pick, ok)| Step::Confirm { pick, ok }),
        3 => (dev.clone(), 0u8..8, any::<bool>()).prop_map(|(dev, kind, secure)| Step::Request { dev, kind, secure }),
        2 => (dev, 0u8..8, proptest::collection::vec(any::<u8>(), 0..40), any::<bool>(), any::<bool>())
            .prop_map(|(dev, cluster, bytes, secure, broadcast)| Step::Garbage { dev, cluster, bytes, secure, broadcast }),
    ]
}

fn eui(dev: u8) -> Eui64 {
    Eui64(0x000D_6F00_0000_0000 | u64::from(dev))
}

/// Book-keeping the checks need.
#[derive(Default)]
struct Ledger {
    issued: Vec<RequestId>,
    results: BTreeMap<u32, u32>,
    announced: BTreeMap<u32, u32>,
    delivered: BTreeMap<u32, u32>,
    in_flight: Vec<ApsHandle>,
}

impl Ledger {
    fn observe(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::SendAps(f) => {
                    assert!(f.payload.len() <= APS_PAYLOAD_MAX);
                    assert_eq!(f.profile, 0x0109);
                    Frame::parse(f.cluster, &f.payload).expect("sent frames decode");
                    self.in_flight.push(f.handle);
                }
                Action::Host(Outcome::CommandResult { request_id, result }) => {
                    *self.results.entry(request_id.0).or_default() += 1;
                    if let Ok(CommandOk::Accepted { deliveries, .. }) = result {
                        self.announced.insert(request_id.0, u32::from(*deliveries));
                    }
                }
                Action::Host(Outcome::DeliveryResult { request_id, .. }) => {
                    *self.delivered.entry(request_id.0).or_default() += 1;
                }
                _ => {}
            }
        }
    }
}

fn check(h: &Harness, ledger: &Ledger) {
    let euis: Vec<Eui64> = h.esi.devices().map(|(_, s)| s.eui64).collect();
    let mut dedup = euis.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), euis.len(), "a device holds two slots");
    assert!(euis.len() <= 16);
    for id in &ledger.issued {
        assert_eq!(
            ledger.results.get(&id.0),
            Some(&1),
            "request {id:?} has not exactly one result"
        );
    }
    for (id, n) in &ledger.delivered {
        assert!(ledger.announced.get(id).is_some_and(|a| n <= a), "request {id} over-delivered");
    }
    if let Some(utc) = h.esi.utc(h.now) {
        for e in h.esi.dr_events() {
            assert!(e.end > utc.0, "DR event {} kept past its end", e.issuer_event_id);
        }
    }
}

#[allow(clippy::too_many_lines)] // one arm per step kind
fn run(h: &mut Harness, ledger: &mut Ledger, s: &Step) {
    let utc = h.esi.utc(h.now).map_or(T0, |u| u.0);
    let command = |h: &mut Harness, ledger: &mut Ledger, c: Command<'_>| {
        let (id, out) = h.command_id(c);
        ledger.issued.push(id);
        ledger.observe(&out);
    };
    match s.clone() {
        Step::Advance(ms) => {
            let out = h.advance(u64::from(ms));
            if let Some(t) = h.esi.poll_timeout() {
                assert!(t > h.now, "poll_timeout {t:?} not after now {:?}", h.now);
            }
            ledger.observe(&out);
        }
        Step::Add { dev, window_min } => command(
            h,
            ledger,
            Command::AddDevice {
                eui64: eui(dev),
                link_key: LinkKey::from_bytes(KEY),
                join_window_secs: u32::from(window_min) * 60,
            },
        ),
        Step::Remove { dev } => {
            command(h, ledger, Command::RemoveDevice { eui64: eui(dev), reason: RemovalReason(1) });
        }
        Step::Join { dev } => {
            let _ = h.esi.handle_join_request(h.now, eui(dev), 0x1000 + u16::from(dev));
            let out = h.drain();
            ledger.observe(&out);
        }
        Step::Left { dev } => {
            h.esi.handle_device_left(h.now, eui(dev));
            let out = h.drain();
            ledger.observe(&out);
        }
        Step::KeyEstablished { dev } => {
            h.esi.handle_key_established(h.now, eui(dev));
            let out = h.drain();
            ledger.observe(&out);
        }
        Step::Message { id, minutes, only } => {
            let list = only.map(|d| [eui(d)]);
            let targets = list.as_ref().map_or(Targets::AllPaired, |l| Targets::Devices(l));
            command(
                h,
                ledger,
                Command::DisplayMessage(MessageCommand {
                    message_id: u32::from(id),
                    message_control: 0x80,
                    start_time: UtcTime::NOW,
                    duration_in_minutes: minutes,
                    text: "prop",
                    targets,
                }),
            );
        }
        Step::CancelMessage { id } => command(
            h,
            ledger,
            Command::CancelMessage { message_id: u32::from(id), targets: Targets::AllPaired },
        ),
        Step::Price { id, offset_min, minutes } => {
            let start = utc + u32::from(offset_min) * 60;
            command(
                h,
                ledger,
                Command::PublishPrice(super::price::price(u32::from(id), start, minutes, 7)),
            );
        }
        Step::Event { id, class, ueg, offset_min, minutes } => {
            let start = utc + u32::from(offset_min) * 60;
            command(
                h,
                ledger,
                Command::LoadControlEvent(super::drlc::event(
                    u32::from(id),
                    class,
                    ueg,
                    start,
                    minutes,
                )),
            );
        }
        Step::CancelEvent { id, effective_min } => command(
            h,
            ledger,
            Command::CancelLoadControlEvent {
                issuer_event_id: u32::from(id),
                cancel_control: 0,
                effective_time: if effective_min == 0 {
                    UtcTime::NOW
                } else {
                    UtcTime(utc + u32::from(effective_min) * 60)
                },
                targets: Targets::AllPaired,
            },
        ),
        Step::CancelAll => command(
            h,
            ledger,
            Command::CancelAllLoadControlEvents { cancel_control: 0, targets: Targets::AllPaired },
        ),
        Step::ReadMeter => command(h, ledger, Command::ReadMeter { attributes: &[0x0000, 0x0200] }),
        Step::Status => command(h, ledger, Command::GetStatus),
        Step::List => command(h, ledger, Command::ListDevices),
        Step::SetTime { minutes } => command(
            h,
            ledger,
            Command::SetTime(TimeSetting::utc(UtcTime(utc + u32::from(minutes) * 60))),
        ),
        Step::Confirm { pick, ok } => {
            if !ledger.in_flight.is_empty() {
                let i = usize::from(pick) % ledger.in_flight.len();
                let handle = ledger.in_flight.swap_remove(i);
                let status = if ok { ApsStatus::SUCCESS } else { ApsStatus::NO_ACK };
                h.esi.handle_aps_confirm(h.now, handle, status);
                let out = h.drain();
                ledger.observe(&out);
            }
        }
        Step::Request { dev, kind, secure } => {
            let tsn = h.tsn();
            let (cluster, zcl) = match kind {
                0 => (ClusterId::PRICE, raw_request(0x00, tsn, false, &[1])),
                1 => (ClusterId::PRICE, raw_request(0x01, tsn, false, &[0, 0, 0, 0, 0])),
                2 => (ClusterId::MESSAGING, raw_request(0x00, tsn, false, &[])),
                3 => (
                    ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
                    raw_request(0x01, tsn, false, &[0, 0, 0, 0, 2]),
                ),
                4 => (
                    ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
                    raw_request(
                        0x00,
                        tsn,
                        false,
                        &[1, 0, 0, 0, 4, 0, 0, 0, 0, 1, 0, 0x80, 0, 0x80, 0x80, 0xFF, 0, 0],
                    ),
                ),
                5 => (ClusterId::METERING, read_attributes(&[0, 0x0400, 0x0200], tsn)),
                6 => (ClusterId::TIME, read_attributes(&[0, 1, 2, 7], tsn)),
                // An error Default Response to whatever push had this TSN.
                _ => (
                    ClusterId::MESSAGING,
                    std::vec![0x18, tsn.wrapping_sub(0x40), 0x0B, 0x00, 0x81],
                ),
            };
            let sec = if secure { ApsSecurity::LinkKey } else { ApsSecurity::NetworkOnly };
            let out = h.rx_with(eui(dev), cluster, sec, false, &zcl);
            ledger.observe(&out);
        }
        Step::Garbage { dev, cluster, bytes, secure, broadcast } => {
            let clusters = [0x0000, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703, 0x0800, 0x0019];
            let cluster = ClusterId(clusters[usize::from(cluster) % clusters.len()]);
            let sec = if secure { ApsSecurity::LinkKey } else { ApsSecurity::NetworkOnly };
            let out = h.rx_with(eui(dev), cluster, sec, broadcast, &bytes);
            ledger.observe(&out);
        }
    }
}

proptest! {
    // 96 cases by default; PROPTEST_CASES overrides (e.g. for a long soak).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)
    ))]

    #[test]
    fn invariants_hold_over_random_sequences(steps in proptest::collection::vec(step(), 1..80)) {
        let mut h = Harness::new();
        h.esi.meter_mut().status = Some(MeterStatus(0));
        let mut ledger = Ledger::default();
        for s in &steps {
            run(&mut h, &mut ledger, s);
            check(&h, &ledger);
        }
        // Let every retry run out: each accepted push then has all its results.
        // Deliveries to one device go one at a time, each with up to 1 + max_retries attempts.
        let retry = h.esi.config().retry;
        for _ in 0..=(MAX_DELIVERIES * (usize::from(retry.max_retries) + 1)) {
            if h.esi.deliveries_pending() == 0 {
                break;
            }
            let out = h.advance(retry.confirm_timeout_ms + retry.default_response_grace_ms);
            ledger.observe(&out);
        }
        check(&h, &ledger);
        prop_assert_eq!(h.esi.deliveries_pending(), 0);
        for (id, n) in &ledger.announced {
            prop_assert_eq!(ledger.delivered.get(id).copied().unwrap_or(0), *n, "request {}", id);
        }
        prop_assert_eq!(h.esi.counters().queue_overflows, 0);
    }

    #[test]
    fn arbitrary_aps_payloads_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz::fuzz_aps_intake(&data);
    }
}

#[test]
fn ram_budget_16_slots() {
    let size = core::mem::size_of::<Esi<16, 8, 5>>();
    std::println!("size_of::<Esi<16, 8, 5>>() = {size} bytes");
    assert!(size <= 8192, "ESI core state is {size} bytes, budget 8192");
}

#[test]
fn fuzz_seeds() {
    fuzz::fuzz_aps_intake(&[]);
    fuzz::fuzz_aps_intake(&[0x05, 3, 0x01, 0x01, 0x00]);
    fuzz::fuzz_aps_intake(&[0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0xC0, 0x01, 0x80, 0x00]);
    fuzz::fuzz_aps_intake(&[0x03, 0xFF, 0x01, 0x02, 0x01]);
}
