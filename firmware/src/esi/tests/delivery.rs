//! Delivery tracking end to end: acks, default responses, retries, timeouts.

use super::*;

fn message(h: &mut Harness, id: u32) -> (RequestId, Vec<Action>) {
    h.command_id(Command::DisplayMessage(MessageCommand {
        message_id: id,
        message_control: 0,
        start_time: UtcTime::NOW,
        duration_in_minutes: 60,
        text: "msg",
        targets: Targets::AllPaired,
    }))
}

#[test]
fn error_default_response_after_ack_is_the_outcome() {
    let mut h = Harness::new();
    h.pair(IHD);
    let (_, out) = message(&mut h, 1);
    let f = only_frame(&out).clone();
    let tsn = decode(&f).header.tsn;
    h.confirm_all(&out, ApsStatus::SUCCESS);
    // The display does not support Messaging: Default Response 0xC3 with the push's TSN.
    let out = h.rx(IHD, ClusterId::MESSAGING, &[0x18, tsn, 0x0B, 0x00, 0xC3]);
    assert_eq!(
        delivery_results(&out),
        std::vec![(IHD, DeliveryOutcome::ZclDefaultResponse(Status(0xC3)))]
    );
    assert!(sent(&out).is_empty());
    // Nothing more later.
    assert!(delivery_results(&h.advance(5_000)).is_empty());
}

#[test]
fn default_response_success_ends_at_once() {
    let mut h = Harness::with_config(EsiConfig {
        push_disable_default_response: false,
        ..EsiConfig::default()
    });
    h.pair(IHD);
    let (_, out) = message(&mut h, 1);
    let f = only_frame(&out).clone();
    let frame = decode(&f);
    assert!(!frame.header.disable_default_response);
    h.confirm_all(&out, ApsStatus::SUCCESS);
    let out = h.rx(IHD, ClusterId::MESSAGING, &[0x18, frame.header.tsn, 0x0B, 0x00, 0x00]);
    assert_eq!(delivery_results(&out), std::vec![(IHD, DeliveryOutcome::ApsAcked)]);
}

#[test]
fn no_confirm_retries_then_times_out() {
    let mut h = Harness::new();
    h.pair(IHD);
    let (id, out) = message(&mut h, 1);
    let first = only_frame(&out).clone();
    let mut handles = std::vec![first.handle];
    for _ in 0..3 {
        let out = h.advance(15_000);
        let f = only_frame(&out);
        // Same ZCL frame (same TSN), fresh APS handle.
        assert_eq!(decode(f).header.tsn, decode(&first).header.tsn);
        assert!(!handles.contains(&f.handle));
        handles.push(f.handle);
    }
    let out = h.advance(15_000);
    assert!(sent(&out).is_empty());
    assert_eq!(
        outcomes(&out),
        std::vec![&Outcome::DeliveryResult {
            request_id: id,
            eui64: IHD,
            outcome: DeliveryOutcome::Timeout { retries: 3 },
        }]
    );
    let c = h.esi.counters();
    assert_eq!((c.retries, c.delivery_timeouts), (3, 1));
    // A late confirm for an old handle is ignored.
    h.esi.handle_aps_confirm(h.now, handles[0], ApsStatus::SUCCESS);
    assert!(h.drain().is_empty());
    assert_eq!(h.esi.counters().stale_confirms, 1);
}

#[test]
fn aps_failure_retries_then_fails() {
    let mut h = Harness::new();
    h.pair(IHD);
    let (_, mut out) = message(&mut h, 1);
    for _ in 0..3 {
        out = h.confirm_all(&out, ApsStatus::NO_ACK);
        assert_eq!(sent(&out).len(), 1);
    }
    let out = h.confirm_all(&out, ApsStatus::NO_ACK);
    assert_eq!(
        delivery_results(&out),
        std::vec![(IHD, DeliveryOutcome::ApsFailed { status: ApsStatus::NO_ACK, retries: 3 })]
    );
}

#[test]
fn pushes_to_one_device_go_in_order_and_replaced_ones_are_superseded() {
    let mut h = Harness::new();
    h.pair(IHD);
    let (_, out1) = message(&mut h, 1);
    let (_, out2) = message(&mut h, 2);
    assert!(sent(&out2).is_empty(), "second push must wait for the first");
    // First fails once; its retry finds message 1 replaced.
    let out = h.confirm_all(&out1, ApsStatus::NO_ACK);
    assert_eq!(delivery_results(&out), std::vec![(IHD, DeliveryOutcome::Superseded)]);
    let f = only_frame(&out);
    let zse::zcl::Payload::Cluster(ClusterCommand::MessagingServer(
        zse::cluster::messaging::ServerCommand::DisplayMessage(m),
    )) = decode(f).payload
    else {
        panic!()
    };
    assert_eq!(m.message_id, 2);
}

#[test]
fn busy_when_the_delivery_table_is_full() {
    let mut h = Harness::new();
    let many: Vec<Eui64> = (0..MAX_DELIVERIES as u64).map(|i| Eui64(0x1000 + i)).collect();
    let out = h.command(Command::CancelAllLoadControlEvents {
        cancel_control: 0,
        targets: Targets::Devices(&many[..20]),
    });
    assert!(matches!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 20, .. }))));
    // NotPaired results are reported at once, so the table is free again.
    assert_eq!(h.esi.deliveries_pending(), 0);
    h.pair(IHD);
    for i in 0..MAX_DELIVERIES as u32 {
        let (_, out) = message(&mut h, 10 + i);
        assert!(matches!(result_of(&out), Some(Ok(_))));
    }
    let (_, out) = message(&mut h, 99);
    assert_eq!(result_of(&out), Some(Err(CommandError::Busy { in_flight: MAX_DELIVERIES as u8 })));
}
