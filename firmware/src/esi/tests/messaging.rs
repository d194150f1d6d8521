//! Messaging server scenarios.

use super::*;
use zse::cluster::messaging::{ClientCommand, GetLastMessage, MessageConfirmation, ServerCommand};

fn display<'a>(id: u32, text: &'a str, minutes: u16, targets: Targets<'a>) -> Command<'a> {
    Command::DisplayMessage(MessageCommand {
        message_id: id,
        message_control: 0x88,
        start_time: UtcTime::NOW,
        duration_in_minutes: minutes,
        text,
        targets,
    })
}

fn get_last(h: &mut Harness, eui: Eui64) -> Vec<Action> {
    let tsn = h.tsn();
    let zcl = request(
        ClusterCommand::MessagingClient(ClientCommand::GetLastMessage(GetLastMessage {})),
        tsn,
        false,
    );
    h.rx(eui, ClusterId::MESSAGING, &zcl)
}

#[test]
fn display_message_is_pushed_and_acknowledged() {
    let mut h = Harness::new();
    h.pair(IHD);
    h.pair(PCT);
    let (id, out) =
        h.command_id(display(0x0102_0304, "Peak pricing at 5pm", 30, Targets::AllPaired));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 2, superseded: 0 })));
    let frames = sent(&out);
    assert_eq!(frames.len(), 2);
    for f in &frames {
        let frame = decode(f);
        assert!(frame.header.disable_default_response);
        assert_eq!(frame.header.direction, Direction::ServerToClient);
        let Payload::Cluster(ClusterCommand::MessagingServer(ServerCommand::DisplayMessage(m))) =
            frame.payload
        else {
            panic!("{frame:?}")
        };
        assert_eq!(m.message_id, 0x0102_0304);
        assert_eq!(m.message_control.0, 0x88);
        assert_eq!(m.start_time, UtcTime(T0));
        assert_eq!(m.duration_in_minutes, 30);
        assert_eq!(m.message.as_str(), Some("Peak pricing at 5pm"));
        assert!(f.aps_encryption);
    }
    let mut dsts: Vec<_> = frames.iter().map(|f| f.dst_eui64).collect();
    dsts.sort();
    assert_eq!(dsts, std::vec![IHD, PCT]);
    // APS acks, then the grace period: one DeliveryResult each.
    let out = h.confirm_all(&out, ApsStatus::SUCCESS);
    assert!(delivery_results(&out).is_empty());
    let out = h.advance(1_000);
    let results = delivery_results(&out);
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|(_, o)| *o == DeliveryOutcome::ApsAcked));
    assert!(outcomes(&out)
        .iter()
        .all(|o| matches!(o, Outcome::DeliveryResult { request_id, .. } if *request_id == id)
            || matches!(o, Outcome::PowerSwitchStatus { .. })));
}

#[test]
fn get_last_message_and_expiry() {
    let mut h = Harness::new();
    h.pair(IHD);
    let out = get_last(&mut h, IHD);
    assert_eq!(default_response(only_frame(&out)).2, Status::NOT_FOUND);
    h.command(display(7, "hello", 2, Targets::Devices(&[])));
    let out = get_last(&mut h, IHD);
    let f = only_frame(&out);
    let frame = decode(f);
    let Payload::Cluster(ClusterCommand::MessagingServer(ServerCommand::DisplayMessage(m))) =
        frame.payload
    else {
        panic!()
    };
    assert_eq!((m.message_id, m.message.as_str()), (7, Some("hello")));
    assert_eq!(frame.header.tsn, h.next_tsn_peek());
    // Two minutes later it is gone.
    h.advance(120_000);
    assert!(h.esi.active_message().is_none());
    let out = get_last(&mut h, IHD);
    assert_eq!(default_response(only_frame(&out)).2, Status::NOT_FOUND);
}

#[test]
fn new_message_replaces_and_cancel_removes() {
    let mut h = Harness::new();
    h.pair(IHD);
    h.command(display(1, "one", 60, Targets::Devices(&[])));
    h.command(display(2, "two", 60, Targets::Devices(&[])));
    assert_eq!(h.esi.active_message().map(|m| m.message_id), Some(2));
    let out = h.command(Command::CancelMessage { message_id: 1, targets: Targets::AllPaired });
    assert_eq!(result_of(&out), Some(Err(CommandError::NotFound)));
    let out = h.command(Command::CancelMessage { message_id: 2, targets: Targets::AllPaired });
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 1, superseded: 0 })));
    let frame = decode(only_frame(&out));
    let Payload::Cluster(ClusterCommand::MessagingServer(ServerCommand::CancelMessage(c))) =
        frame.payload
    else {
        panic!()
    };
    assert_eq!(c.message_id, 2);
    assert!(h.esi.active_message().is_none());
}

#[test]
fn message_confirmation_is_forwarded() {
    let mut h = Harness::new();
    h.pair(IHD);
    h.command(display(9, "confirm me", 60, Targets::AllPaired));
    let tsn = h.tsn();
    let conf = MessageConfirmation {
        message_id: 9,
        confirmation_time: UtcTime(T0 + 30),
        message_confirmation_control: None,
        message_response: None,
    };
    let zcl = request(
        ClusterCommand::MessagingClient(ClientCommand::MessageConfirmation(conf)),
        tsn,
        false,
    );
    let out = h.rx(IHD, ClusterId::MESSAGING, &zcl);
    assert!(outcomes(&out).contains(&&Outcome::MessageConfirmed {
        eui64: IHD,
        message_id: 9,
        confirmation_time: UtcTime(T0 + 30)
    }));
    // DDR clear: Default Response SUCCESS.
    assert_eq!(default_response(only_frame(&out)), (tsn, 0x01, Status::SUCCESS));
}

#[test]
fn validation() {
    let mut h = Harness::new();
    let long = "x".repeat(MESSAGE_MAX_LEN + 1);
    let out = h.command(display(1, &long, 1, Targets::AllPaired));
    assert_eq!(
        result_of(&out),
        Some(Err(CommandError::TextTooLong { max: MESSAGE_MAX_LEN as u8 }))
    );
    let out = h.command(display(1, "x", 0, Targets::AllPaired));
    assert_eq!(result_of(&out), Some(Err(CommandError::InvalidField("duration_in_minutes"))));
    let out = h.command(Command::DisplayMessage(MessageCommand {
        message_id: 1,
        message_control: 0,
        start_time: UtcTime(T0 - 3600),
        duration_in_minutes: 60,
        text: "old",
        targets: Targets::AllPaired,
    }));
    assert_eq!(result_of(&out), Some(Err(CommandError::Expired)));
}

#[test]
fn unpaired_targets_end_at_once() {
    let mut h = Harness::new();
    h.pair(IHD);
    let out = h.command(display(1, "x", 5, Targets::Devices(&[IHD, PCT, PCT])));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 2, superseded: 0 })));
    assert_eq!(delivery_results(&out), std::vec![(PCT, DeliveryOutcome::NotPaired)]);
    assert_eq!(sent(&out).len(), 1);
}
