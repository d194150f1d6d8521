//! Slot table and provisioning scenarios.

use super::*;

fn add(h: &mut Harness, eui: u64, window: u32) -> Vec<Action> {
    h.command(Command::AddDevice {
        eui64: Eui64(eui),
        link_key: LinkKey::from_bytes(KEY),
        join_window_secs: window,
    })
}

fn device_events(actions: &[Action]) -> Vec<(Eui64, DeviceEvent)> {
    outcomes(actions)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::DeviceState { eui64, event } => Some((*eui64, *event)),
            _ => None,
        })
        .collect()
}

#[test]
fn add_installs_key_and_reports_slot() {
    let mut h = Harness::new();
    let out = add(&mut h, 1, 600);
    assert_eq!(result_of(&out), Some(Ok(CommandOk::DeviceAdded { slot: 0, slots_free: 15 })));
    assert!(out.contains(&Action::InstallKey { eui64: Eui64(1), key: LinkKey::from_bytes(KEY) }));
    let text = std::format!("{out:?}");
    assert!(!text.contains("102, 182") && !text.contains("66, b6"), "key leaked: {text}");
}

#[test]
fn duplicate_window_and_full_table_are_refused() {
    let mut h = Harness::new();
    add(&mut h, 1, 600);
    assert_eq!(
        result_of(&add(&mut h, 1, 600)),
        Some(Err(CommandError::AlreadyProvisioned { slot: 0 }))
    );
    assert_eq!(result_of(&add(&mut h, 2, 59)), Some(Err(CommandError::InvalidJoinWindow)));
    assert_eq!(
        result_of(&add(&mut h, 2, 31 * 24 * 3600)),
        Some(Err(CommandError::InvalidJoinWindow))
    );
    for e in 2..=16 {
        assert!(matches!(result_of(&add(&mut h, e, 600)), Some(Ok(_))));
    }
    assert_eq!(
        result_of(&add(&mut h, 17, 600)),
        Some(Err(CommandError::SlotsFull { capacity: 16, occupants: 16 }))
    );
}

#[test]
fn join_window_expiry_frees_the_slot() {
    let mut h = Harness::new();
    add(&mut h, 1, 60);
    assert!(h.esi.poll_timeout().is_some_and(|t| t <= h.now.add_millis(60_000)));
    let out = h.advance(59_999);
    assert!(device_events(&out).is_empty());
    let out = h.advance(1);
    assert_eq!(device_events(&out), std::vec![(Eui64(1), DeviceEvent::JoinWindowExpired)]);
    assert!(out.contains(&Action::EraseKey { eui64: Eui64(1) }));
    assert!(!out.iter().any(|a| matches!(a, Action::Leave { .. })));
    assert_eq!(h.esi.devices().count(), 0);
    assert_eq!(h.esi.handle_join_request(h.now, Eui64(1), 0x1111), JoinDecision::Refuse);
}

#[test]
fn join_key_establishment_and_pairing_from_frames() {
    let mut h = Harness::new();
    add(&mut h, 1, 600);
    assert_eq!(h.esi.handle_join_request(h.now, Eui64(2), 0x2222), JoinDecision::Refuse);
    let refused = h.drain();
    assert_eq!(
        device_events(&refused),
        std::vec![(Eui64(2), DeviceEvent::JoinRefused { short: 0x2222 })]
    );
    assert!(matches!(
        h.esi.handle_join_request(h.now, Eui64(1), 0x1001),
        JoinDecision::Accept { .. }
    ));
    assert_eq!(
        device_events(&h.drain()),
        std::vec![(Eui64(1), DeviceEvent::Joined { short: 0x1001 })]
    );
    // NWK-secured Time read: served, no state change.
    let tsn = h.tsn();
    let out = h.rx_with(
        Eui64(1),
        ClusterId::TIME,
        ApsSecurity::NetworkOnly,
        false,
        &read_attributes(&[0], tsn),
    );
    assert!(device_events(&out).is_empty());
    assert_eq!(sent(&out).len(), 1);
    // Key Establishment frame with link key: KeyEstablished (and the KE command itself is not
    // implemented by the core).
    let ke = raw_request(0x00, h.tsn(), false, &[1, 0, 5, 5]);
    let out = h.rx(Eui64(1), ClusterId::KEY_ESTABLISHMENT, &ke);
    assert_eq!(device_events(&out), std::vec![(Eui64(1), DeviceEvent::KeyEstablished)]);
    assert_eq!(default_response(only_frame(&out)).2, Status::UNSUP_CLUSTER_COMMAND);
    // First link-key SE frame: Paired.
    let tsn = h.tsn();
    let out = h.rx(Eui64(1), ClusterId::TIME, &read_attributes(&[0], tsn));
    assert_eq!(device_events(&out), std::vec![(Eui64(1), DeviceEvent::Paired)]);
    assert_eq!(h.esi.devices().next().unwrap().1.state, SlotState::Paired);
}

#[test]
fn removal_sends_leave_erases_key_and_ends_deliveries() {
    let mut h = Harness::new();
    h.pair(IHD);
    let out = h.command(Command::DisplayMessage(MessageCommand {
        message_id: 1,
        message_control: 0,
        start_time: UtcTime::NOW,
        duration_in_minutes: 10,
        text: "hi",
        targets: Targets::AllPaired,
    }));
    assert_eq!(sent(&out).len(), 1);
    let out = h.command(Command::RemoveDevice { eui64: IHD, reason: RemovalReason(3) });
    assert_eq!(result_of(&out), Some(Ok(CommandOk::DeviceRemoved { slot: 0 })));
    assert!(out.contains(&Action::Leave { eui64: IHD, short: Some(short_of(IHD)) }));
    assert!(out.contains(&Action::EraseKey { eui64: IHD }));
    assert_eq!(delivery_results(&out), std::vec![(IHD, DeliveryOutcome::DeviceRemoved)]);
    assert_eq!(
        device_events(&out),
        std::vec![(IHD, DeviceEvent::Removed { reason: RemovalReason(3) })]
    );
    let out = h.command(Command::RemoveDevice { eui64: IHD, reason: RemovalReason(3) });
    assert_eq!(result_of(&out), Some(Err(CommandError::NotFound)));
    // Frames from it are now dropped unanswered.
    let tsn = h.tsn();
    let out = h.rx(IHD, ClusterId::TIME, &read_attributes(&[0], tsn));
    assert!(out.is_empty());
    assert_eq!(h.esi.counters().rx_unknown_device, 1);
}

#[test]
fn leave_and_rejoin_keep_the_slot() {
    let mut h = Harness::new();
    h.pair(IHD);
    h.esi.handle_device_left(h.now, IHD);
    assert_eq!(device_events(&h.drain()), std::vec![(IHD, DeviceEvent::Left)]);
    // Left devices are past their join window but may rejoin.
    h.advance(7_200_000);
    h.esi.handle_device_joined(h.now, IHD, 0x7777);
    assert_eq!(device_events(&h.drain()), std::vec![(IHD, DeviceEvent::Joined { short: 0x7777 })]);
    // An unprovisioned device reported as joined is told to leave.
    h.esi.handle_device_joined(h.now, Eui64(99), 0x9999);
    let out = h.drain();
    assert!(out.contains(&Action::Leave { eui64: Eui64(99), short: Some(0x9999) }));
}

#[test]
fn list_devices_reports_each_slot_then_the_result() {
    let mut h = Harness::new();
    h.pair(IHD);
    add(&mut h, 5, 600);
    let (id, out) = h.command_id(Command::ListDevices);
    let infos: Vec<_> = outcomes(&out)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::DeviceInfo { request_id, device } => {
                Some((*request_id, device.eui64, device.state))
            }
            _ => None,
        })
        .collect();
    assert_eq!(infos, std::vec![(id, IHD, SlotState::Paired), (id, Eui64(5), SlotState::Pending)]);
    assert!(matches!(
        out.last(),
        Some(Action::Host(Outcome::CommandResult {
            result: Ok(CommandOk::DeviceList { capacity: 16, occupied: 2 }),
            ..
        }))
    ));
}

#[test]
fn insecure_frames_and_unknown_sources_are_dropped() {
    let mut h = Harness::new();
    h.pair(IHD);
    let get_last = request(
        ClusterCommand::MessagingClient(zse::cluster::messaging::ClientCommand::GetLastMessage(
            zse::cluster::messaging::GetLastMessage {},
        )),
        1,
        false,
    );
    assert!(h
        .rx_with(IHD, ClusterId::MESSAGING, ApsSecurity::NetworkOnly, false, &get_last)
        .is_empty());
    assert!(h.rx_with(IHD, ClusterId::TIME, ApsSecurity::None, false, &get_last).is_empty());
    assert!(h.rx(Eui64(0xDEAD), ClusterId::MESSAGING, &get_last).is_empty());
    let c = h.esi.counters();
    assert_eq!((c.rx_insecure, c.rx_unknown_device), (2, 1));
}
