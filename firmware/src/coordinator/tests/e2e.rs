//! End to end over the byte pipe: provisioning, pushes, confirms, device reports, reads,
//! removal and reset; every expected report reaches the host exactly once.

use super::*;
use host_link::{
    AddDevice, Command as H, DeliveryOutcome, DeviceState, DisplayMessage, LoadControlEvent,
    ReadMeter, RemoveDevice, RemoveReason, Report, ResultCode, ResultDetail, SetTime, Targets,
};
use zse::cluster::{drlc, messaging, price};
use zse::zcl::{Payload, UtcTime};

fn host_eui(e: Eui64) -> host_link::Eui64 {
    e.into()
}

fn add(eui: Eui64) -> H {
    H::AddDevice(AddDevice {
        eui64: host_eui(eui),
        link_key: host_link::LinkKey::new(KEY),
        join_window_s: 3600,
    })
}

fn display(message_id: u32, targets: Targets) -> H {
    H::DisplayMessage(DisplayMessage {
        message_id,
        message_control: 0x80, // confirmation required
        start_time: 0,
        duration_in_minutes: 60,
        message: "Peak pricing 4-7pm".try_into().unwrap(),
        targets,
    })
}

fn publish_price(issuer_event_id: u32) -> H {
    H::PublishPrice(host_link::testutil::publish_price(7, issuer_event_id))
}

fn load_control(issuer_event_id: u32) -> H {
    H::LoadControlEvent(LoadControlEvent {
        issuer_event_id,
        device_class: 0x0001,
        utility_enrollment_group: 0,
        start_time: 0,
        duration_in_minutes: 30,
        criticality_level: 0x07,
        cooling_temperature_offset: 0xFF,
        heating_temperature_offset: 0xFF,
        cooling_temperature_set_point: 2600,
        heating_temperature_set_point: i16::MIN,
        average_load_adjustment_percentage: -20,
        duty_cycle: 0xFF,
        event_control: 0x01,
        targets: Targets::All,
    })
}

/// Add, join, prove the link key on Key Establishment, then GetCurrentPrice (Rx on when idle)
/// with the link key: Paired. Returns the add request id.
fn provision(rig: &mut Rig, eui: Eui64, tsn: u8) -> u32 {
    let id = rig.send(add(eui));
    let key = LinkKey::from_bytes(KEY);
    assert!(rig.radio.contains(&RadioAction::InstallKey { eui64: eui, key }));
    let d = rig.coord.handle_join_request(rig.now, eui, short_of(eui));
    assert_eq!(d, JoinDecision::Accept { link_key: key });
    rig.settle();
    // InitiateKeyEstablishmentRequest-shaped frame, APS-secured with the link key.
    let ke = [0x01, tsn, 0x00, 0x01, 0x00, 0x05, 0x05];
    rig.rx(eui, ClusterId::KEY_ESTABLISHMENT, &ke);
    let get = price::GetCurrentPrice {
        command_options: price::CommandOptions(price::CommandOptions::REQUESTOR_RX_ON_WHEN_IDLE),
    };
    let zcl = request(
        ClusterCommand::PriceClient(price::ClientCommand::GetCurrentPrice(get)),
        tsn + 1,
        false,
    );
    rig.rx(eui, ClusterId::PRICE, &zcl);
    id
}

fn count(rig: &Rig, pred: impl Fn(&Report) -> bool) -> usize {
    rig.reports.iter().filter(|r| pred(r)).count()
}

#[test]
fn full_session_every_report_exactly_once() {
    let mut rig = Rig::new();
    // The session starts with a heartbeat.
    assert!(matches!(rig.reports.first(), Some(Report::Heartbeat(_))));

    let set_time = rig.send(H::SetTime(SetTime { utc: T0 }));
    assert_eq!(rig.results_for(set_time)[0].code, ResultCode::SUCCESS);

    // Provisioning.
    let add_ihd = provision(&mut rig, IHD, 0x10);
    assert_eq!(
        rig.results_for(add_ihd),
        [host_link::RequestResult {
            request_id: add_ihd,
            code: ResultCode::SUCCESS,
            detail: ResultDetail::Slot { slot: 0, slots_free: 15 },
        }]
    );
    let device_events: Vec<DeviceState> = rig
        .reports
        .iter()
        .filter_map(|r| match r {
            Report::DeviceEvent(e) if e.eui64 == host_eui(IHD) => Some(e.state),
            _ => None,
        })
        .collect();
    assert_eq!(device_events, [DeviceState::JOINED, DeviceState::KEY_ESTABLISHED]);
    let again = rig.send(add(IHD));
    assert_eq!(rig.results_for(again)[0].code, ResultCode::ALREADY_PROVISIONED);

    // DisplayMessage to the IHD: one frame, decoded by zse.
    let mark = rig.radio.len();
    let msg =
        rig.send(display(42, Targets::Devices([host_eui(IHD)].as_slice().try_into().unwrap())));
    assert_eq!(rig.results_for(msg)[0].detail, ResultDetail::Deliveries { count: 1 });
    let frames = rig.frames_since(mark);
    assert_eq!(frames.len(), 1);
    let f = Frame::parse(frames[0].cluster, &frames[0].payload).unwrap();
    let Payload::Cluster(ClusterCommand::MessagingServer(
        messaging::ServerCommand::DisplayMessage(d),
    )) = f.payload
    else {
        panic!("not a DisplayMessage: {f:?}")
    };
    assert_eq!((d.message_id, d.message.as_str()), (42, Some("Peak pricing 4-7pm")));
    assert_eq!(d.start_time, UtcTime(T0));
    let mark = rig.confirm_all(ApsStatus::SUCCESS, mark);
    rig.advance(2_000); // Default Response grace period
    assert_eq!(rig.deliveries_for(msg).len(), 1);
    assert_eq!(rig.deliveries_for(msg)[0].outcome, DeliveryOutcome::ApsAcked);

    // PublishPrice to all (the IHD asked for prices with Rx on when idle).
    let pp = rig.send(publish_price(0x100));
    assert_eq!(rig.results_for(pp)[0].detail, ResultDetail::Deliveries { count: 1 });
    let frames = rig.frames_since(mark);
    let f = Frame::parse(frames[0].cluster, &frames[0].payload).unwrap();
    let Payload::Cluster(ClusterCommand::PriceServer(price::ServerCommand::PublishPrice(p))) =
        f.payload
    else {
        panic!("not a PublishPrice: {f:?}")
    };
    assert_eq!((p.issuer_event_id, p.price, p.rate_label.as_str()), (0x100, 1234, Some("PEAK")));
    let mark = rig.confirm_all(ApsStatus::SUCCESS, mark);

    // LoadControlEvent; its APS frame fails every time: Timeout after the retries.
    let lce = rig.send(load_control(0x200));
    assert_eq!(rig.results_for(lce)[0].detail, ResultDetail::Deliveries { count: 1 });
    let mut mark = mark;
    for _ in 0..4 {
        let frames = rig.frames_since(mark);
        let f = Frame::parse(frames[0].cluster, &frames[0].payload).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::DrlcServer(drlc::ServerCommand::LoadControlEvent(_)))
        ));
        mark = rig.confirm_all(ApsStatus::NO_ACK, mark);
    }
    rig.advance(2_000);
    assert_eq!(rig.deliveries_for(pp).len(), 1);
    // Every attempt got NO_ACK (0xA7) from the radio: the last radio status is reported.
    assert_eq!(
        rig.deliveries_for(lce)[0].outcome,
        DeliveryOutcome::ApsFailed { status: ApsStatus::NO_ACK.0, retries: 3 }
    );

    // The IHD confirms the message and the PCT... the IHD opts out of the event.
    let conf = messaging::MessageConfirmation {
        message_id: 42,
        confirmation_time: UtcTime(T0 + 30),
        message_confirmation_control: None,
        message_response: None,
    };
    let zcl = request(
        ClusterCommand::MessagingClient(messaging::ClientCommand::MessageConfirmation(conf)),
        0x20,
        true,
    );
    rig.rx(IHD, ClusterId::MESSAGING, &zcl);
    let opt_out = drlc::ReportEventStatus {
        issuer_event_id: 0x200,
        event_status: drlc::EventStatus::USER_HAS_CHOSEN_TO_OPT_OUT,
        event_status_time: UtcTime(T0 + 40),
        criticality_level_applied: drlc::CriticalityLevel(0x07),
        cooling_temperature_set_point_applied: i16::MIN,
        heating_temperature_set_point_applied: i16::MIN,
        average_load_adjustment_percentage_applied: i8::MIN,
        duty_cycle_applied: 0xFF,
        event_control: drlc::EventControl(0x01),
        signature_type: drlc::SignatureType(0),
        signature: None,
    };
    let zcl = request(
        ClusterCommand::DrlcClient(drlc::ClientCommand::ReportEventStatus(opt_out)),
        0x21,
        true,
    );
    rig.rx(IHD, ClusterId::DEMAND_RESPONSE_LOAD_CONTROL, &zcl);

    // Reads.
    let list = rig.send(H::ListDevices);
    let status = rig.send(H::GetStatus);
    let mut ids = heapless::Vec::new();
    ids.extend_from_slice(&[0x0000, 0x0200, 0x0400]).unwrap();
    let read = rig.send(H::ReadMeter(ReadMeter { attribute_ids: ids }));

    // Removal.
    let remove = rig.send(H::RemoveDevice(RemoveDevice {
        eui64: host_eui(IHD),
        reason: RemoveReason::MOVE_OUT,
    }));
    let unknown = rig.send(H::RemoveDevice(RemoveDevice {
        eui64: host_eui(PCT),
        reason: RemoveReason::MOVE_OUT,
    }));
    assert!(rig.radio.contains(&RadioAction::Leave { eui64: IHD, short: Some(short_of(IHD)) }));
    assert!(rig.radio.contains(&RadioAction::EraseKey { eui64: IHD }));

    // Every request: exactly one Result.
    for id in [set_time, add_ihd, again, msg, pp, lce, list, status, read, remove, unknown] {
        assert_eq!(rig.results_for(id).len(), 1, "request {id}: {:?}", rig.reports);
    }
    assert_eq!(rig.results_for(unknown)[0].code, ResultCode::UNKNOWN_DEVICE);
    assert_eq!(rig.results_for(remove)[0].code, ResultCode::SUCCESS);
    // Exactly once each.
    assert_eq!(
        count(&rig, |r| matches!(r, Report::MessageConfirmed(c)
            if c.message_id == 42 && c.eui64 == host_eui(IHD) && c.confirmation_time == T0 + 30)),
        1
    );
    assert_eq!(
        count(&rig, |r| matches!(r, Report::EventStatus(s)
            if s.issuer_event_id == 0x200 && s.event_status == host_link::EventStatus::OPT_OUT
                && s.event_status_time == T0 + 40 && s.criticality_level_applied == 7)),
        1
    );
    assert_eq!(count(&rig, |r| matches!(r, Report::DeviceList(l) if l.request_id == list)), 1);
    let Some(Report::DeviceList(l)) =
        rig.reports.iter().find(|r| matches!(r, Report::DeviceList(l) if l.request_id == list))
    else {
        unreachable!()
    };
    assert_eq!((l.capacity, l.entries.len()), (16, 1));
    assert_eq!(
        (l.entries[0].eui64, l.entries[0].state),
        (host_eui(IHD), DeviceState::KEY_ESTABLISHED)
    );
    assert_eq!(l.entries[0].lqi, 200);
    assert!((T0..T0 + 10).contains(&l.entries[0].last_seen), "{l:?}");
    let statuses: Vec<_> = rig
        .reports
        .iter()
        .filter_map(|r| match r {
            Report::PowerSwitchStatus(s) if s.request_id == Some(status) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        (statuses[0].power, statuses[0].switch),
        (host_link::PowerState::ON, host_link::SwitchState::CLOSED)
    );
    let readings: Vec<_> = rig
        .reports
        .iter()
        .filter_map(|r| match r {
            Report::MeterReading(m) if m.request_id == Some(read) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(readings.len(), 1);
    let recs: Vec<(u16, u8, u8, &[u8])> = readings[0]
        .records
        .iter()
        .map(|r| (r.attribute_id, r.status, r.data_type, &r.value[..]))
        .collect();
    // 1_234_567 = 0x12D687 as uint48; Status bitmap8 0; InstantaneousDemand missing.
    assert_eq!(
        recs,
        [
            (0x0000, 0x00, 0x25, &[0x87, 0xD6, 0x12, 0, 0, 0][..]),
            (0x0200, 0x00, 0x18, &[0x00][..]),
            (0x0400, 0x86, 0x00, &[][..]),
        ]
    );
    let device_events: Vec<DeviceState> = rig
        .reports
        .iter()
        .filter_map(|r| match r {
            Report::DeviceEvent(e) if e.eui64 == host_eui(IHD) => Some(e.state),
            _ => None,
        })
        .collect();
    assert_eq!(
        device_events,
        [DeviceState::JOINED, DeviceState::KEY_ESTABLISHED, DeviceState::UNPAIRED]
    );
    // Each delivery exactly once, nothing lost.
    for id in [msg, pp, lce] {
        assert_eq!(rig.deliveries_for(id).len(), 1);
    }
    assert_eq!(rig.coord.counters().results_dropped + rig.coord.counters().reports_dropped, 0);
    assert_eq!(rig.host_disconnects, 0);

    // Heartbeats carry both halves' counters.
    rig.advance(10_000);
    let Some(Report::Heartbeat(hb)) =
        rig.reports.iter().rev().find(|r| matches!(r, Report::Heartbeat(_)))
    else {
        panic!("no heartbeat")
    };
    assert!(hb.utc >= T0 + 10, "{hb:?}");
    assert!(hb.counters.link_frames_rx >= 11);
    assert_eq!(hb.counters.aps_acked, 2);
    assert_eq!(hb.counters.aps_failed, 1);
    assert!(hb.counters.aps_tx >= 7);
    assert_eq!((hb.counters.slots_used, hb.counters.devices_paired), (0, 0));
}

#[test]
fn host_reset_answers_then_restarts_with_a_new_session() {
    let mut rig = Rig::new();
    rig.send(H::SetTime(SetTime { utc: T0 }));
    provision(&mut rig, IHD, 1);
    let session = rig.host.peer().unwrap().session;
    let reset = rig.send(H::Reset);
    assert_eq!(rig.results_for(reset).len(), 1);
    rig.advance(3_000);
    assert!(rig.host.is_connected());
    assert_ne!(rig.host.peer().unwrap().session, session, "a reset starts a new session");
    assert_eq!(rig.host_disconnects, 1);
    // Core state is gone: no devices, no time.
    let list = rig.send(H::ListDevices);
    let Some(Report::DeviceList(l)) =
        rig.reports.iter().rev().find(|r| matches!(r, Report::DeviceList(_)))
    else {
        panic!()
    };
    assert_eq!((l.request_id, l.entries.len()), (list, 0));
    let msg = rig.send(display(1, Targets::All));
    assert_eq!(rig.results_for(msg)[0].code, ResultCode::TIME_NOT_SET);
}

#[test]
fn coordinator_reset_mid_session_resynchronises() {
    let mut rig = Rig::new();
    rig.send(H::SetTime(SetTime { utc: T0 }));
    rig.coord.reset();
    rig.advance(2_000);
    assert!(rig.host.is_connected() && rig.coord.link().is_connected());
    let t = rig.send(H::SetTime(SetTime { utc: T0 + 2 }));
    assert_eq!(rig.results_for(t)[0].code, ResultCode::SUCCESS);
}

#[test]
fn explicit_targets_must_be_paired() {
    let mut rig = Rig::new();
    rig.send(H::SetTime(SetTime { utc: T0 }));
    rig.send(add(PCT)); // pending, not paired
    let one = |e| Targets::Devices([host_eui(e)].as_slice().try_into().unwrap());
    let a = rig.send(display(1, one(IHD)));
    let b = rig.send(display(1, one(PCT)));
    let c = rig.send(display(1, Targets::Devices(heapless::Vec::new())));
    let d = rig.send(display(1, Targets::All));
    assert_eq!(rig.results_for(a)[0].code, ResultCode::UNKNOWN_DEVICE);
    assert_eq!(rig.results_for(b)[0].code, ResultCode::NOT_PAIRED);
    assert_eq!(rig.results_for(c)[0].code, ResultCode::INVALID_FIELD);
    // Stored for GetLastMessage even with nobody paired yet.
    assert_eq!(rig.results_for(d)[0].detail, ResultDetail::Deliveries { count: 0 });
}

#[test]
fn second_meter_read_is_busy_until_the_first_is_acknowledged() {
    let mut rig = Rig::new();
    let read = || H::ReadMeter(ReadMeter { attribute_ids: heapless::Vec::new() });
    let a = rig.try_send(read()).unwrap();
    let b = rig.try_send(read()).unwrap();
    rig.settle();
    let c = rig.send(read());
    assert_eq!(rig.results_for(a)[0].code, ResultCode::SUCCESS);
    // `b` arrived while `a`'s reading was held: BUSY. `c` came after the ack: served.
    assert_eq!(rig.results_for(b)[0].code, ResultCode::BUSY);
    assert_eq!(rig.results_for(c)[0].code, ResultCode::SUCCESS);
    assert_eq!(count(&rig, |r| matches!(r, Report::MeterReading(_))), 2);
}

#[test]
fn reports_lost_while_the_link_is_down_are_counted_and_reported() {
    let mut rig = Rig::new();
    rig.send(H::SetTime(SetTime { utc: T0 }));
    provision(&mut rig, IHD, 1);
    // Cut the pipe: the link goes down when a report is not acknowledged after the retries.
    rig.faults = Faults { drop: 1000, corrupt: 0 };
    rig.send(H::ListDevices); // never arrives
    rig.coord.handle_device_left(rig.now, IHD);
    rig.advance(20_000);
    assert!(!rig.coord.link().is_connected());
    // Meanwhile the IHD keeps reporting; the queue overflows.
    for i in 0..(NORMAL_QUEUE as u32 + 10) {
        let conf = messaging::MessageConfirmation {
            message_id: i,
            confirmation_time: UtcTime(T0 + i),
            message_confirmation_control: None,
            message_response: None,
        };
        let zcl = request(
            ClusterCommand::MessagingClient(messaging::ClientCommand::MessageConfirmation(conf)),
            i as u8,
            true,
        );
        rig.rx(IHD, ClusterId::MESSAGING, &zcl);
    }
    assert!(rig.coord.counters().reports_dropped >= 10);
    rig.faults = Faults::default();
    rig.advance(5_000);
    assert!(rig.coord.link().is_connected());
    let overflow = rig.reports.iter().find_map(|r| match r {
        Report::Error(e) if e.code == host_link::ErrorCode::QUEUE_OVERFLOW => {
            Some(e.detail.clone())
        }
        _ => None,
    });
    assert!(overflow.is_some_and(|d| d.starts_with("lost r=0 o=")), "{:?}", rig.reports);
    // The ones that fit were kept and delivered after the reconnect.
    assert!(count(&rig, |r| matches!(r, Report::MessageConfirmed(_))) >= NORMAL_QUEUE - 4);
}

#[test]
fn a_host_that_stops_reading_gets_backpressure_then_everything_once() {
    let mut rig = Rig::new();
    rig.send(H::SetTime(SetTime { utc: T0 }));
    provision(&mut rig, IHD, 1);
    // The host stops reading (time stands still, so no session times out meanwhile).
    rig.mute_to_host = true;
    let n = 60u32;
    for i in 0..n {
        let conf = messaging::MessageConfirmation {
            message_id: 1000 + i,
            confirmation_time: UtcTime(T0 + i),
            message_confirmation_control: None,
            message_response: None,
        };
        let cmd = messaging::ClientCommand::MessageConfirmation(conf);
        let zcl = request(ClusterCommand::MessagingClient(cmd), i as u8, true);
        rig.rx(IHD, ClusterId::MESSAGING, &zcl);
    }
    let requests: Vec<u32> = (0..4).filter_map(|_| rig.try_send(H::GetStatus)).collect();
    rig.settle();
    assert!(rig.coord.counters().backpressure > 0);
    // Pulled until fewer than two entries are free; the rest waits in the core.
    assert_eq!(rig.coord.reports_waiting(), NORMAL_QUEUE - 1);
    // The host reads again: its requests and the coordinator's reports are retransmitted.
    rig.mute_to_host = false;
    rig.advance(10_000);
    for i in 0..n {
        let c =
            count(&rig, |r| matches!(r, Report::MessageConfirmed(c) if c.message_id == 1000 + i));
        assert_eq!(c, 1, "confirmation {i}");
    }
    for id in requests {
        assert_eq!(rig.results_for(id).len(), 1, "request {id}");
    }
    assert_eq!(rig.coord.counters().results_dropped + rig.coord.counters().reports_dropped, 0);
    assert_eq!(rig.coord.esi().counters().queue_overflows, 0);
    assert_eq!(rig.host_disconnects, 0);
}
