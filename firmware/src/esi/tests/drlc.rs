//! DRLC server scenarios. LoadControlEvent is decoded from the se10.md §4.2 table.

use super::*;
use zse::cluster::drlc::{ClientCommand, GetScheduledEvents, ReportEventStatus, ServerCommand};

pub fn event(
    id: u32,
    class: u16,
    ueg: u8,
    start: u32,
    minutes: u16,
) -> LoadControlCommand<'static> {
    LoadControlCommand {
        issuer_event_id: id,
        device_class: class,
        utility_enrollment_group: ueg,
        start_time: UtcTime(start),
        duration_in_minutes: minutes,
        criticality_level: 0x07,
        cooling_temperature_offset: 0xFF,
        heating_temperature_offset: 0xFF,
        cooling_temperature_set_point: 2600,
        heating_temperature_set_point: i16::MIN,
        average_load_adjustment_percentage: -20,
        duty_cycle: 0xFF,
        event_control: 0x01,
        targets: Targets::AllPaired,
    }
}

/// (tsn, issuer id, device class, ueg, start, duration) of a LoadControlEvent.
fn load_control_event(f: &ApsFrame) -> (u8, u32, u16, u8, u32, u16) {
    assert_eq!(f.cluster, ClusterId::DEMAND_RESPONSE_LOAD_CONTROL);
    let Payload::Cluster(ClusterCommand::DrlcServer(ServerCommand::LoadControlEvent(typed))) =
        decode(f).payload
    else {
        panic!("not a LoadControlEvent")
    };
    assert_eq!(typed.event_control.0, 0x01);
    let (h, body) = Header::parse(&f.payload).unwrap();
    assert_eq!(
        (h.frame_type, h.direction, h.command_id),
        (FrameType::ClusterSpecific, Direction::ServerToClient, 0x00)
    );
    assert_eq!(body.len(), 23);
    let mut r = zse::wire::Reader::new(body);
    let id = r.u32("id").unwrap();
    let class = r.u16("class").unwrap();
    let ueg = r.u8("ueg").unwrap();
    let start = r.u32("start").unwrap();
    let duration = r.u16("duration").unwrap();
    assert_eq!(r.u8("criticality").unwrap(), 0x07);
    assert_eq!((r.u8("cto").unwrap(), r.u8("hto").unwrap()), (0xFF, 0xFF));
    assert_eq!(r.i16("csp").unwrap(), 2600);
    assert_eq!(r.u16("hsp").unwrap(), 0x8000);
    assert_eq!(r.i8("alap").unwrap(), -20);
    assert_eq!(r.u8("duty").unwrap(), 0xFF);
    assert_eq!(r.u8("control").unwrap(), 0x01);
    (h.tsn, id, class, ueg, start, duration)
}

#[test]
fn event_is_pushed_with_absolute_start() {
    let mut h = Harness::new();
    h.pair(PCT);
    let first = h.command(Command::LoadControlEvent(event(0x100, 0x0001, 0, 0, 30)));
    assert_eq!(result_of(&first), Some(Ok(CommandOk::Accepted { deliveries: 1, superseded: 0 })));
    let (_, id, class, ueg, start, duration) = load_control_event(only_frame(&first));
    assert_eq!((id, class, ueg, start, duration), (0x100, 1, 0, T0, 30));
    // A duplicate id is refused.
    let out = h.command(Command::LoadControlEvent(event(0x100, 0x0002, 0, T0 + 9000, 30)));
    assert_eq!(result_of(&out), Some(Err(CommandError::DuplicateEvent)));
    // The same event again (a host retry after a crash) is accepted and pushed again.
    let out = h.command(Command::LoadControlEvent(event(0x100, 0x0001, 0, T0, 30)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 1, superseded: 0 })));
    // It goes out once the first push is acknowledged (one frame in flight per device).
    let out = h.confirm_all(&first, ApsStatus::SUCCESS);
    let (_, id, class, _, start, duration) = load_control_event(only_frame(&out));
    assert_eq!((id, class, start, duration), (0x100, 1, T0, 30));
}

#[test]
fn supersede_needs_time_class_and_group_overlap() {
    let mut h = Harness::new();
    h.command(Command::LoadControlEvent(event(1, 0x0001, 5, T0 + 600, 60)));
    // Other device class: both kept.
    let out = h.command(Command::LoadControlEvent(event(2, 0x0004, 5, T0 + 600, 60)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 0, superseded: 0 })));
    // Other enrollment group: kept.
    h.command(Command::LoadControlEvent(event(3, 0x0001, 6, T0 + 600, 60)));
    // Later, not overlapping in time: kept.
    h.command(Command::LoadControlEvent(event(4, 0x0001, 5, T0 + 600 + 3600, 60)));
    assert_eq!(h.esi.dr_events().len(), 4);
    // Group 0 (all) + class 1, overlapping event 1 and 3 in time: both superseded.
    let out = h.command(Command::LoadControlEvent(event(5, 0x0001, 0, T0 + 900, 30)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 0, superseded: 2 })));
    let mut ids: Vec<u32> = h.esi.dr_events().iter().map(|e| e.issuer_event_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, std::vec![2, 4, 5]);
}

#[test]
fn events_end_on_time() {
    let mut h = Harness::new();
    h.command(Command::LoadControlEvent(event(1, 0x0001, 0, 0, 1)));
    let deadline = h.esi.poll_timeout().unwrap();
    assert!(deadline <= h.now.add_millis(60_000));
    h.advance(59_999);
    assert_eq!(h.esi.dr_events().len(), 1);
    assert!(h.esi.dr_events()[0].is_active(T0 + 59));
    h.advance(1);
    assert!(h.esi.dr_events().is_empty());
}

#[test]
fn cancel_and_cancel_all() {
    let mut h = Harness::new();
    h.pair(PCT);
    let mut out = h.command(Command::LoadControlEvent(event(1, 0x0003, 4, 0, 60)));
    out.extend(h.command(Command::LoadControlEvent(event(2, 0x0004, 0, T0 + 7200, 60))));
    assert_eq!(delivery_results(&h.settle(&out)).len(), 2);
    let cancel = |id, eff| Command::CancelLoadControlEvent {
        issuer_event_id: id,
        cancel_control: 0x01,
        effective_time: UtcTime(eff),
        targets: Targets::AllPaired,
    };
    assert_eq!(result_of(&h.command(cancel(9, 0))), Some(Err(CommandError::NotFound)));
    assert_eq!(
        result_of(&h.command(cancel(1, T0 + 3600))),
        Some(Err(CommandError::InvalidField("effective_time")))
    );
    // Cancel in 10 minutes: event 1 now ends then.
    let out = h.command(cancel(1, T0 + 600));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 1, superseded: 0 })));
    let f = only_frame(&out);
    let (hd, body) = Header::parse(&f.payload).unwrap();
    assert_eq!(hd.command_id, 0x01);
    let mut expected = std::vec![1, 0, 0, 0, 0x03, 0x00, 4, 0x01];
    expected.extend_from_slice(&(T0 + 600).to_le_bytes());
    assert_eq!(body, &expected[..]);
    assert_eq!(h.esi.dr_events().iter().find(|e| e.issuer_event_id == 1).unwrap().end, T0 + 600);
    // Cancel all.
    h.settle(&out);
    let out = h.command(Command::CancelAllLoadControlEvents {
        cancel_control: 0,
        targets: Targets::AllPaired,
    });
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 1, superseded: 2 })));
    let f = only_frame(&out);
    assert_eq!(&f.payload[2..], &[0x02, 0x00]);
    assert!(h.esi.dr_events().is_empty());
}

#[test]
fn report_event_status_is_forwarded_at_once() {
    let mut h = Harness::new();
    h.pair(PCT);
    // Opt-out, 18-byte SE 1.0 form without signature, DDR set: no Default Response.
    let mut payload = std::vec![0x00, 0x01, 0, 0, 0x04];
    payload.extend_from_slice(&(T0 + 5).to_le_bytes());
    payload.extend_from_slice(&[0x07, 0x00, 0x80, 0x00, 0x80, 0x80, 0xFF, 0x01, 0x00]);
    let typed = ReportEventStatus {
        issuer_event_id: 0x0100,
        event_status: zse::cluster::drlc::EventStatus::USER_HAS_CHOSEN_TO_OPT_OUT,
        event_status_time: UtcTime(T0 + 5),
        criticality_level_applied: zse::cluster::drlc::CriticalityLevel::EMERGENCY,
        cooling_temperature_set_point_applied: i16::MIN,
        heating_temperature_set_point_applied: i16::MIN,
        average_load_adjustment_percentage_applied: i8::MIN,
        duty_cycle_applied: 0xFF,
        event_control: zse::cluster::drlc::EventControl(0x01),
        signature_type: zse::cluster::drlc::SignatureType(0),
        signature: None,
    };
    let zcl = request(ClusterCommand::DrlcClient(ClientCommand::ReportEventStatus(typed)), 3, true);
    assert_eq!(zcl, raw_request(0x00, 3, true, &payload), "zse encoding vs se10.md §4.5 bytes");
    let out = h.rx(PCT, ClusterId::DEMAND_RESPONSE_LOAD_CONTROL, &zcl);
    assert_eq!(sent(&out).len(), 0);
    let report = EventStatusReport {
        issuer_event_id: 0x0100,
        event_status: 0x04,
        event_status_time: UtcTime(T0 + 5),
        criticality_level_applied: 0x07,
        cooling_temperature_set_point_applied: i16::MIN,
        heating_temperature_set_point_applied: i16::MIN,
        average_load_adjustment_percentage_applied: i8::MIN,
        duty_cycle_applied: 0xFF,
        event_control: 0x01,
        signature_type: 0x00,
    };
    assert_eq!(outcomes(&out), std::vec![&Outcome::EventStatus { eui64: PCT, report }]);
    // Truncated → MALFORMED.
    let out = h.rx(
        PCT,
        ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
        &raw_request(0x00, 4, true, &payload[..10]),
    );
    assert_eq!(default_response(only_frame(&out)), (4, 0x00, Status::MALFORMED_COMMAND));
}

#[test]
fn get_scheduled_events() {
    let mut h = Harness::new();
    h.pair(PCT);
    let tsn = h.tsn();
    let out = h.rx(
        PCT,
        ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
        &raw_request(0x01, tsn, false, &[0, 0, 0, 0, 0]),
    );
    assert_eq!(default_response(only_frame(&out)).2, Status::NOT_FOUND);
    h.command(Command::LoadControlEvent(event(2, 0x0001, 0, T0 + 7200, 60)));
    h.command(Command::LoadControlEvent(event(1, 0x0002, 0, T0 + 60, 60)));
    // The two pushes are still in flight; the request is answered independently.
    let tsn = h.tsn();
    let all = GetScheduledEvents { start_time: UtcTime::NOW, number_of_events: 0 };
    let zcl =
        request(ClusterCommand::DrlcClient(ClientCommand::GetScheduledEvents(all)), tsn, false);
    let out = h.rx(PCT, ClusterId::DEMAND_RESPONSE_LOAD_CONTROL, &zcl);
    let got: Vec<(u8, u32)> = sent(&out)
        .iter()
        .filter(|f| Header::parse(&f.payload).unwrap().0.tsn == tsn)
        .map(|f| load_control_event(f))
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(got, std::vec![(tsn, 1), (tsn, 2)]);
}

#[test]
fn validation() {
    let mut h = Harness::new();
    let bad = |f: fn(&mut LoadControlCommand<'static>)| {
        let mut e = event(1, 1, 0, 0, 30);
        f(&mut e);
        e
    };
    let cases: [(LoadControlCommand<'static>, CommandError); 6] = [
        (bad(|e| e.duration_in_minutes = 1441), CommandError::InvalidField("duration_in_minutes")),
        (bad(|e| e.criticality_level = 0x10), CommandError::InvalidField("criticality_level")),
        (bad(|e| e.device_class = 0), CommandError::InvalidField("device_class")),
        (bad(|e| e.duty_cycle = 101), CommandError::InvalidField("duty_cycle")),
        (
            bad(|e| e.average_load_adjustment_percentage = 101),
            CommandError::InvalidField("average_load_adjustment_percentage"),
        ),
        (bad(|e| e.start_time = UtcTime(T0 - 7200)), CommandError::Expired),
    ];
    for (cmd, err) in cases {
        assert_eq!(result_of(&h.command(Command::LoadControlEvent(cmd))), Some(Err(err)));
    }
}
