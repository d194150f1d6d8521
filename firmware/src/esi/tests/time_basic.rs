//! Time and Basic servers, and the generic ZCL error rules.

use super::*;

#[test]
fn time_cluster_reports_master_time() {
    let mut h = Harness::new();
    h.pair(IHD);
    h.advance(2_500);
    let tsn = h.tsn();
    let ids = [0x0000, 0x0001, 0x0002, 0x0007, 0x0008, 0x0042];
    let out = h.rx(IHD, ClusterId::TIME, &read_attributes(&ids, tsn));
    let f = only_frame(&out);
    assert_eq!(
        (f.cluster, f.dst_endpoint, f.src_endpoint, f.dst_short),
        (ClusterId::TIME, 9, 1, short_of(IHD))
    );
    assert!(f.aps_encryption);
    let (header, records) = read_attributes_response(f);
    assert_eq!(header.tsn, tsn);
    assert_eq!(records[0], (0x0000, Status::SUCCESS, Some(Value::UtcTime(UtcTime(T0 + 2)))));
    // Master | MasterZoneDst.
    assert_eq!(records[1], (0x0001, Status::SUCCESS, Some(Value::Bitmap8(0x05))));
    assert_eq!(records[2], (0x0002, Status::SUCCESS, Some(Value::Int32(0))));
    assert_eq!(records[3], (0x0007, Status::SUCCESS, Some(Value::Uint32(T0 + 2))));
    assert_eq!(records[4], (0x0008, Status::SUCCESS, Some(Value::UtcTime(UtcTime(T0)))));
    assert_eq!(records[5], (0x0042, Status::UNSUPPORTED_ATTRIBUTE, None));
}

#[test]
fn time_before_set_time_is_invalid_and_not_master() {
    let mut esi: TestEsi = Esi::new(EsiConfig::default(), FakeMeter::default());
    esi.handle_command(
        Instant(0),
        RequestId(1),
        Command::AddDevice {
            eui64: IHD,
            link_key: LinkKey::from_bytes(KEY),
            join_window_secs: 600,
        },
    );
    let _ = esi.handle_join_request(Instant(0), IHD, 0x1001);
    while esi.poll_action().is_some() {}
    let zcl = read_attributes(&[0, 1], 7);
    esi.handle_aps_indication(
        Instant(5),
        ApsIndication {
            src_short: 0x1001,
            src_eui64: None,
            src_endpoint: 1,
            dst_endpoint: 1,
            cluster: ClusterId::TIME,
            profile: 0x0109,
            security: ApsSecurity::NetworkOnly,
            broadcast: false,
            lqi: None,
            payload: &zcl,
        },
    );
    let Some(Action::SendAps(f)) = esi.poll_action() else { panic!("no reply") };
    let (_, records) = read_attributes_response(&f);
    assert_eq!(records[0].2, Some(Value::UtcTime(UtcTime::INVALID)));
    assert_eq!(records[1].2, Some(Value::Bitmap8(0)));
    // Commands that need UTC are refused until then.
    esi.handle_command(
        Instant(6),
        RequestId(2),
        Command::CancelLoadControlEvent {
            issuer_event_id: 1,
            cancel_control: 0,
            effective_time: UtcTime::NOW,
            targets: Targets::AllPaired,
        },
    );
    let Some(Action::Host(Outcome::CommandResult { result, .. })) = esi.poll_action() else {
        panic!()
    };
    assert_eq!(result, Err(CommandError::TimeNotSet));
}

#[test]
fn basic_cluster_mandatory_attributes() {
    let mut h = Harness::new();
    h.pair(IHD);
    let tsn = h.tsn();
    let out = h.rx(IHD, ClusterId::BASIC, &read_attributes(&[0x0000, 0x0007, 0x0004, 0x0005], tsn));
    let (_, records) = read_attributes_response(only_frame(&out));
    assert_eq!(records[0].2, Some(Value::Uint8(0x01)));
    assert_eq!(records[1].2, Some(Value::Enum8(0x01)));
    assert_eq!(
        records[2].2,
        Some(Value::CharacterString(zse::zcl::ZclStr::from_str("open-se-han")))
    );
    assert_eq!(records[3].2, Some(Value::CharacterString(zse::zcl::ZclStr::from_str("esi-core"))));
}

#[test]
fn read_attributes_response_is_cut_at_one_frame() {
    let mut h = Harness::new();
    h.pair(IHD);
    let ids: Vec<u16> = std::iter::repeat_n(0x0004, 60).collect();
    let out = h.rx(IHD, ClusterId::BASIC, &read_attributes(&ids, 1));
    let f = only_frame(&out);
    assert!(f.payload.len() <= 127);
    let (_, records) = read_attributes_response(f);
    // 3-byte header + n × (2 + 1 + 1 + 1 + 11) bytes.
    assert_eq!(records.len(), (127 - 3) / 16);
}

#[test]
fn zcl_error_rules() {
    let mut h = Harness::new();
    h.pair(IHD);
    // Unknown Messaging client command id → UNSUP_CLUSTER_COMMAND, echoing the TSN.
    let out = h.rx(IHD, ClusterId::MESSAGING, &raw_request(0x09, 0x33, false, &[]));
    assert_eq!(default_response(only_frame(&out)), (0x33, 0x09, Status::UNSUP_CLUSTER_COMMAND));
    // MessageConfirmation cut short → MALFORMED_COMMAND (even with DDR set).
    let out = h.rx(IHD, ClusterId::MESSAGING, &raw_request(0x01, 0x34, true, &[1, 0, 0]));
    assert_eq!(default_response(only_frame(&out)), (0x34, 0x01, Status::MALFORMED_COMMAND));
    // A Read Attributes with an odd byte → MALFORMED_COMMAND.
    let out = h.rx(IHD, ClusterId::TIME, &[0x00, 0x35, 0x00, 0x00]);
    assert_eq!(default_response(only_frame(&out)), (0x35, 0x00, Status::MALFORMED_COMMAND));
    // Unsupported foundation command (Write Attributes) → UNSUP_GENERAL_COMMAND.
    let out = h.rx(IHD, ClusterId::TIME, &[0x00, 0x36, 0x02, 0x00, 0x00, 0xE2, 0, 0, 0, 0]);
    assert_eq!(default_response(only_frame(&out)), (0x36, 0x02, Status::UNSUP_GENERAL_COMMAND));
    // A cluster the ESI does not serve → UNSUPPORTED_CLUSTER.
    let out = h.rx(IHD, ClusterId(0x0006), &raw_request(0x01, 0x37, false, &[]));
    assert_eq!(default_response(only_frame(&out)), (0x37, 0x01, Status::UNSUPPORTED_CLUSTER));
    // Manufacturer-specific → UNSUP_MANUF_CLUSTER_COMMAND.
    let out = h.rx(IHD, ClusterId::PRICE, &[0x05, 0x5F, 0x11, 0x38, 0x00]);
    assert_eq!(
        default_response(only_frame(&out)),
        (0x38, 0x00, Status::UNSUP_MANUF_CLUSTER_COMMAND)
    );
    // A server→client command sent to us → UNSUP_CLUSTER_COMMAND.
    let out = h.rx(IHD, ClusterId::MESSAGING, &[0x09, 0x39, 0x01, 1, 0, 0, 0, 0]);
    assert_eq!(default_response(only_frame(&out)), (0x39, 0x01, Status::UNSUP_CLUSTER_COMMAND));
    // Never answered: a Default Response, a broadcast, a header that does not decode.
    assert!(h.rx(IHD, ClusterId::MESSAGING, &[0x18, 0x3A, 0x0B, 0x00, 0x81]).is_empty());
    let bc = raw_request(0x09, 0x3B, false, &[]);
    assert!(h.rx_with(IHD, ClusterId::MESSAGING, ApsSecurity::LinkKey, true, &bc).is_empty());
    assert!(h.rx(IHD, ClusterId::MESSAGING, &[0x01]).is_empty());
    let c = *h.esi.counters();
    assert_eq!(c.rx_malformed, 3);
    assert_eq!(c.tx_default_responses, 7);
}

#[test]
fn wrong_profile_or_endpoint_is_dropped() {
    let mut h = Harness::new();
    h.pair(IHD);
    let zcl = read_attributes(&[0], 1);
    let mut ind = ApsIndication {
        src_short: short_of(IHD),
        src_eui64: Some(IHD),
        src_endpoint: 1,
        dst_endpoint: 1,
        cluster: ClusterId::TIME,
        profile: 0x0104,
        security: ApsSecurity::LinkKey,
        broadcast: false,
        lqi: None,
        payload: &zcl,
    };
    h.esi.handle_aps_indication(h.now, ind);
    ind.profile = 0x0109;
    ind.dst_endpoint = 7;
    h.esi.handle_aps_indication(h.now, ind);
    assert!(h.drain().is_empty());
    assert_eq!(h.esi.counters().rx_wrong_profile_or_endpoint, 2);
}
