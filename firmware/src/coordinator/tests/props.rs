//! Property: with random interleavings of host requests, serial loss and corruption, and radio
//! events (device frames, confirms, time), every request the coordinator's link accepted ends
//! in exactly one `Result` at the host, and every accepted fan-out in exactly as many
//! `DeliveryResult`s as the `Result` announced — as long as the link session held.

use super::*;
use host_link::{
    AddDevice, CancelMessage, Command as H, DisplayMessage, LoadControlEvent, PublishPrice,
    ReadMeter, RemoveDevice, RemoveReason, Report, ResultDetail, SetTime, Targets,
};
use proptest::prelude::*;
use zse::cluster::{drlc, messaging, price};
use zse::zcl::UtcTime;

#[derive(Debug, Clone)]
enum Op {
    /// A host request of kind `0..10`.
    Request(u8),
    /// A device frame of kind `0..4` from device `0..2`.
    Device(u8, u8),
    /// Confirm the oldest unconfirmed APS frame (success or NO_ACK).
    Confirm(bool),
    /// Let time pass.
    Advance(u16),
    /// Move bytes around.
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..10).prop_map(Op::Request),
        3 => (0u8..4, 0u8..2).prop_map(|(k, d)| Op::Device(k, d)),
        3 => any::<bool>().prop_map(Op::Confirm),
        2 => (1u16..3000).prop_map(Op::Advance),
        2 => Just(Op::Settle),
    ]
}

const DEVICES: [Eui64; 2] = [IHD, PCT];
const EXTRA: Eui64 = Eui64(0x000D_6F00_0000_0099);

fn host_request(rig: &Rig, kind: u8, n: u32) -> H {
    match kind {
        0 => H::SetTime(SetTime { utc: T0 + rig.now as u32 / 1000 }),
        1 => H::ListDevices,
        2 => H::GetStatus,
        3 => H::ReadMeter(ReadMeter { attribute_ids: heapless::Vec::new() }),
        4 => H::DisplayMessage(DisplayMessage {
            message_id: n,
            message_control: 0x80,
            start_time: 0,
            duration_in_minutes: 10,
            message: "hello".try_into().unwrap(),
            targets: Targets::All,
        }),
        5 => H::PublishPrice(PublishPrice {
            provider_id: 1,
            rate_label: "R".try_into().unwrap(),
            issuer_event_id: n,
            unit_of_measure: 0,
            currency: 840,
            price_trailing_digit_and_price_tier: 0x21,
            number_of_price_tiers_and_register_tier: 0x11,
            start_time: 0,
            duration_in_minutes: 30,
            price: n,
            price_ratio: 0xFF,
            generation_price: 0xFFFF_FFFF,
            generation_price_ratio: 0xFF,
            alternate_cost_delivered: 0xFFFF_FFFF,
            alternate_cost_unit: 0xFF,
            alternate_cost_trailing_digit: 0,
            targets: Targets::All,
        }),
        6 => H::LoadControlEvent(LoadControlEvent {
            issuer_event_id: n,
            device_class: 0x0001,
            utility_enrollment_group: 0,
            start_time: 0,
            duration_in_minutes: 5,
            criticality_level: 3,
            cooling_temperature_offset: 0xFF,
            heating_temperature_offset: 0xFF,
            cooling_temperature_set_point: i16::MIN,
            heating_temperature_set_point: i16::MIN,
            average_load_adjustment_percentage: i8::MIN,
            duty_cycle: 0xFF,
            event_control: 0,
            targets: Targets::All,
        }),
        7 => H::CancelMessage(CancelMessage {
            message_id: n.saturating_sub(3),
            message_control: 0,
            targets: Targets::All,
        }),
        8 => H::AddDevice(AddDevice {
            eui64: EXTRA.into(),
            link_key: host_link::LinkKey::new(KEY),
            join_window_s: 60,
        }),
        _ => {
            H::RemoveDevice(RemoveDevice { eui64: EXTRA.into(), reason: RemoveReason::UNSPECIFIED })
        }
    }
}

fn device_frame(rig: &mut Rig, kind: u8, eui: Eui64, tsn: u8) {
    let (cluster, zcl) = match kind {
        0 => {
            let get = price::GetCurrentPrice { command_options: price::CommandOptions(1) };
            (
                ClusterId::PRICE,
                request(
                    ClusterCommand::PriceClient(price::ClientCommand::GetCurrentPrice(get)),
                    tsn,
                    false,
                ),
            )
        }
        1 => {
            let get = messaging::GetLastMessage {};
            let cmd =
                ClusterCommand::MessagingClient(messaging::ClientCommand::GetLastMessage(get));
            (ClusterId::MESSAGING, request(cmd, tsn, false))
        }
        2 => {
            let r = drlc::ReportEventStatus {
                issuer_event_id: u32::from(tsn),
                event_status: drlc::EventStatus(if tsn.is_multiple_of(2) { 0x04 } else { 0x01 }),
                event_status_time: UtcTime(T0),
                criticality_level_applied: drlc::CriticalityLevel(3),
                cooling_temperature_set_point_applied: i16::MIN,
                heating_temperature_set_point_applied: i16::MIN,
                average_load_adjustment_percentage_applied: i8::MIN,
                duty_cycle_applied: 0xFF,
                event_control: drlc::EventControl(0),
                signature_type: drlc::SignatureType(0),
                signature: None,
            };
            let cmd = ClusterCommand::DrlcClient(drlc::ClientCommand::ReportEventStatus(r));
            (ClusterId::DEMAND_RESPONSE_LOAD_CONTROL, request(cmd, tsn, true))
        }
        _ => {
            let c = messaging::MessageConfirmation {
                message_id: u32::from(tsn),
                confirmation_time: UtcTime(T0),
                message_confirmation_control: None,
                message_response: None,
            };
            let cmd =
                ClusterCommand::MessagingClient(messaging::ClientCommand::MessageConfirmation(c));
            (ClusterId::MESSAGING, request(cmd, tsn, true))
        }
    };
    rig.rx(eui, cluster, &zcl);
}

/// A rig with time set and both devices paired, then faults switched on.
fn paired_rig(seed: u64, faults: Faults) -> Rig {
    let mut rig = Rig::new();
    rig.send(H::SetTime(SetTime { utc: T0 }));
    for (i, &eui) in DEVICES.iter().enumerate() {
        rig.send(H::AddDevice(AddDevice {
            eui64: eui.into(),
            link_key: host_link::LinkKey::new(KEY),
            join_window_s: 3600,
        }));
        rig.coord.handle_join_request(rig.now, eui, short_of(eui));
        rig.coord.handle_key_established(rig.now, eui);
        rig.settle();
        device_frame(&mut rig, 0, eui, i as u8);
    }
    rig.rng = super::Rng::new(seed);
    rig.faults = faults;
    rig
}

fn run(seed: u64, faults: Faults, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut rig = paired_rig(seed, faults);
    let mut confirmed = rig.radio.len();
    let mut tsn = 0x40u8;
    for op in ops {
        match *op {
            Op::Request(kind) => {
                let n = rig.next_request;
                let cmd = host_request(&rig, kind, n);
                let _ = rig.try_send(cmd); // a full host window just skips it
            }
            Op::Device(kind, d) => {
                tsn = tsn.wrapping_add(1);
                device_frame(&mut rig, kind, DEVICES[usize::from(d)], tsn);
            }
            Op::Confirm(ok) => {
                let next = rig.radio[confirmed..]
                    .iter()
                    .position(|a| matches!(a, RadioAction::SendAps(_)));
                if let Some(i) = next {
                    let RadioAction::SendAps(f) = &rig.radio[confirmed + i] else { unreachable!() };
                    let status = if ok { ApsStatus::SUCCESS } else { ApsStatus::NO_ACK };
                    let handle = f.handle;
                    confirmed += i + 1;
                    rig.coord.handle_aps_confirm(rig.now, handle, status);
                }
            }
            Op::Advance(ms) => rig.advance(u64::from(ms)),
            Op::Settle => rig.settle(),
        }
    }
    // Quiesce: a clean link, every frame confirmed, all retries and grace periods over.
    rig.faults = Faults::default();
    for _ in 0..20 {
        rig.settle();
        confirmed = rig.confirm_all(ApsStatus::SUCCESS, confirmed);
        rig.advance(5_000);
    }
    prop_assert!(rig.pending.is_empty(), "requests still unacknowledged: {:?}", rig.pending);
    let healthy = rig.host_disconnects == 0 && rig.failed.is_empty();
    for &id in &rig.accepted {
        let results = rig.results_for(id);
        if healthy {
            prop_assert_eq!(results.len(), 1, "request {}: {:?}", id, results);
        } else {
            // Across a session loss a report may be sent again; it is lost only when the
            // queue overflowed while the link was down, and then counted.
            let counted = rig.coord.counters().results_dropped > 0;
            prop_assert!(!results.is_empty() || counted, "request {} lost silently", id);
        }
        if let (Some(r), true) = (results.first(), healthy) {
            let expected = match r.detail {
                ResultDetail::Deliveries { count } => usize::from(count),
                _ => 0,
            };
            prop_assert_eq!(rig.deliveries_for(id).len(), expected, "deliveries of request {}", id);
        }
    }
    // No result for a request the host never sent.
    for r in &rig.reports {
        if let Report::Result(res) = r {
            prop_assert!(
                rig.accepted.contains(&res.request_id) || rig.failed.contains(&res.request_id)
            );
        }
    }
    if healthy {
        prop_assert_eq!(rig.coord.counters().results_dropped, 0);
        prop_assert_eq!(rig.coord.esi().counters().queue_overflows, 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_request_ends_in_exactly_one_result(
        seed in any::<u64>(),
        drop in 0u64..60,
        corrupt in 0u64..60,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        run(seed, Faults { drop, corrupt }, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A link so bad that sessions break: results may repeat but are never lost silently.
    #[test]
    fn on_a_failing_link_no_result_is_lost_silently(
        seed in any::<u64>(),
        drop in 150u64..450,
        corrupt in 0u64..100,
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(seed, Faults { drop, corrupt }, &ops)?;
    }
}

/// A burst larger than every queue on a clean link: backpressure, not loss.
#[test]
fn burst_of_fan_outs_loses_nothing() {
    let mut rig = paired_rig(1, Faults::default());
    let mut confirmed = rig.radio.len();
    let mut sent = std::vec::Vec::new();
    for round in 0..40u32 {
        for kind in [4u8, 5, 6, 1, 2] {
            let n = rig.next_request;
            if let Some(id) = rig.try_send(host_request(&rig, kind, n + round)) {
                sent.push(id);
            }
        }
        for k in 0..4 {
            device_frame(&mut rig, k, IHD, (round * 4 + k as u32) as u8);
        }
        confirmed = rig.confirm_all(ApsStatus::SUCCESS, confirmed);
    }
    for _ in 0..20 {
        confirmed = rig.confirm_all(ApsStatus::SUCCESS, confirmed);
        rig.advance(5_000);
    }
    assert!(
        sent.len() > 20,
        "{} {:?} {:?} {:?}",
        sent.len(),
        rig.coord,
        rig.host,
        rig.coord.esi().counters()
    );
    for id in sent {
        assert_eq!(rig.results_for(id).len(), 1, "request {id}");
    }
    assert_eq!(rig.coord.counters().results_dropped + rig.coord.counters().reports_dropped, 0);
    assert_eq!(rig.coord.esi().counters().queue_overflows, 0);
}
