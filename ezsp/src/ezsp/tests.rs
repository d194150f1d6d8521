#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::types::Endpoint;
use super::*;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

fn eui() -> impl Strategy<Value = Eui64> {
    any::<[u8; 8]>().prop_map(Eui64)
}
fn key() -> impl Strategy<Value = Key> {
    any::<[u8; 16]>().prop_map(Key)
}
fn aps() -> impl Strategy<Value = ApsFrame> {
    (any::<u16>(), any::<u16>(), any::<u8>(), any::<u8>(), any::<u16>(), any::<u16>(), any::<u8>())
        .prop_map(
            |(
                profile_id,
                cluster_id,
                source_endpoint,
                destination_endpoint,
                options,
                group_id,
                sequence,
            )| ApsFrame {
                profile_id,
                cluster_id,
                source_endpoint,
                destination_endpoint,
                options,
                group_id,
                sequence,
            },
        )
}
fn params() -> impl Strategy<Value = NetworkParameters> {
    (
        any::<[u8; 8]>(),
        any::<u16>(),
        any::<i8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(|(e, pan, pw, ch, jm, mgr, upd, chans)| NetworkParameters {
            extended_pan_id: e,
            pan_id: pan,
            radio_tx_power: pw,
            radio_channel: ch,
            join_method: jm,
            nwk_manager_id: mgr,
            nwk_update_id: upd,
            channels: chans,
        })
}
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=120)
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        any::<u8>().prop_map(|desired| Command::Version { desired }),
        Just(Command::Nop),
        any::<u8>().prop_map(|config_id| Command::GetConfigurationValue { config_id }),
        (any::<u8>(), any::<u16>())
            .prop_map(|(config_id, value)| Command::SetConfigurationValue { config_id, value }),
        any::<u8>().prop_map(|value_id| Command::GetValue { value_id }),
        (any::<u8>(), bytes()).prop_map(|(value_id, value)| Command::SetValue { value_id, value }),
        (any::<u8>(), any::<u8>())
            .prop_map(|(policy_id, decision_id)| Command::SetPolicy { policy_id, decision_id }),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            proptest::collection::vec(any::<u16>(), 0..8),
            proptest::collection::vec(any::<u16>(), 0..8)
        )
            .prop_map(
                |(
                    endpoint,
                    profile_id,
                    device_id,
                    device_version,
                    input_clusters,
                    output_clusters,
                )| Command::AddEndpoint(Endpoint {
                    endpoint,
                    profile_id,
                    device_id,
                    device_version,
                    input_clusters,
                    output_clusters
                })
            ),
        any::<u8>().prop_map(|token_id| Command::GetMfgToken { token_id }),
        any::<u16>().prop_map(|bitmask| Command::NetworkInit { bitmask }),
        Just(Command::NetworkState),
        params().prop_map(Command::FormNetwork),
        Just(Command::LeaveNetwork),
        Just(Command::GetNetworkParameters),
        (any::<u16>(), key(), key(), any::<u8>(), eui()).prop_map(|(bitmask, pk, nk, seq, tc)| {
            Command::SetInitialSecurityState(InitialSecurityState {
                bitmask,
                preconfigured_key: pk,
                network_key: nk,
                network_key_sequence_number: seq,
                preconfigured_trust_center_eui64: tc,
            })
        }),
        Just(Command::GetCurrentSecurityState),
        (eui(), key()).prop_map(|(partner, key)| Command::AddTransientLinkKey { partner, key }),
        (eui(), key(), any::<u8>()).prop_map(|(partner, key, flags)| Command::ImportTransientKey {
            partner,
            key,
            flags
        }),
        any::<u8>().prop_map(|duration| Command::PermitJoining { duration }),
        (any::<u8>(), any::<u16>(), aps(), any::<u8>(), bytes()).prop_map(
            |(kind, destination, aps, tag, message)| Command::SendUnicast(SendUnicast {
                kind,
                destination,
                aps,
                tag,
                message
            })
        ),
        (any::<u16>(), eui(), eui()).prop_map(|(dest_short, dest_long, target_long)| {
            Command::RemoveDevice { dest_short, dest_long, target_long }
        }),
        Just(Command::GetEui64),
        Just(Command::GetNodeId),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let ezsp = any::<u8>().prop_map(EzspStatus);
    let ember = any::<u8>().prop_map(EmberStatus);
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(
            |(protocol, stack_type, stack_version)| Response::Version {
                protocol,
                stack_type,
                stack_version
            }
        ),
        Just(Response::Nop),
        (ezsp.clone(), any::<u16>())
            .prop_map(|(status, value)| Response::GetConfigurationValue { status, value }),
        ezsp.clone().prop_map(|status| Response::SetConfigurationValue { status }),
        (ezsp.clone(), bytes()).prop_map(|(status, value)| Response::GetValue { status, value }),
        ezsp.clone().prop_map(|status| Response::SetValue { status }),
        ezsp.clone().prop_map(|status| Response::SetPolicy { status }),
        ezsp.clone().prop_map(|status| Response::AddEndpoint { status }),
        bytes().prop_map(|data| Response::GetMfgToken { data }),
        ember.clone().prop_map(|status| Response::NetworkInit { status }),
        any::<u8>().prop_map(|s| Response::NetworkState { status: NetworkStatus(s) }),
        ember.clone().prop_map(|status| Response::FormNetwork { status }),
        ember.clone().prop_map(|status| Response::LeaveNetwork { status }),
        (ember.clone(), any::<u8>(), params()).prop_map(|(status, t, parameters)| {
            Response::GetNetworkParameters { status, node_type: NodeType(t), parameters }
        }),
        ember.clone().prop_map(|status| Response::SetInitialSecurityState { status }),
        (ember.clone(), any::<u16>(), eui()).prop_map(|(status, bitmask, trust_center)| {
            Response::GetCurrentSecurityState { status, bitmask, trust_center }
        }),
        ember.clone().prop_map(|status| Response::AddTransientLinkKey { status }),
        any::<u32>().prop_map(|s| Response::ImportTransientKey { status: SlStatus(s) }),
        ember.clone().prop_map(|status| Response::PermitJoining { status }),
        (ember.clone(), any::<u8>())
            .prop_map(|(status, sequence)| Response::SendUnicast { status, sequence }),
        ember.clone().prop_map(|status| Response::RemoveDevice { status }),
        eui().prop_map(|eui64| Response::GetEui64 { eui64 }),
        any::<u16>().prop_map(|node_id| Response::GetNodeId { node_id }),
        ezsp.prop_map(|status| Response::InvalidCommand { status }),
    ]
}

fn callback() -> impl Strategy<Value = Callback> {
    prop_oneof![
        any::<u8>().prop_map(|s| Callback::StackStatus { status: EmberStatus(s) }),
        (any::<u8>(), any::<bool>(), any::<u16>(), eui(), any::<u8>()).prop_map(
            |(index, joining, child_id, child_eui64, t)| Callback::ChildJoin {
                index,
                joining,
                child_id,
                child_eui64,
                child_type: NodeType(t)
            }
        ),
        (any::<u16>(), eui(), any::<u8>(), any::<u8>(), any::<u16>()).prop_map(
            |(node_id, eui64, s, d, parent)| Callback::TrustCenterJoin {
                node_id,
                eui64,
                status: DeviceUpdate(s),
                decision: JoinDecision(d),
                parent
            }
        ),
        (any::<u8>(), any::<u16>(), aps(), any::<u8>(), any::<u8>(), bytes()).prop_map(
            |(kind, destination, aps, tag, s, message)| Callback::MessageSent(MessageSent {
                kind,
                destination,
                aps,
                tag,
                status: EmberStatus(s),
                message
            })
        ),
        (
            any::<u8>(),
            aps(),
            any::<u8>(),
            any::<i8>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            bytes()
        )
            .prop_map(
                |(
                    kind,
                    aps,
                    last_hop_lqi,
                    last_hop_rssi,
                    sender,
                    binding_index,
                    address_index,
                    message,
                )| Callback::IncomingMessage(IncomingMessage {
                    kind,
                    aps,
                    last_hop_lqi,
                    last_hop_rssi,
                    sender,
                    binding_index,
                    address_index,
                    message
                })
            ),
    ]
}

proptest! {
    #[test]
    fn command_round_trip(cmd in command(), seq in any::<u8>(), version in MIN_VERSION..=MAX_VERSION) {
        prop_assume!(in_version(cmd.frame_id(), version));
        let mut out = vec![];
        cmd.encode(seq, false, &mut out);
        let (hdr, back) = Command::decode(version, &out).unwrap();
        prop_assert_eq!(hdr.sequence, seq);
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn response_round_trip(r in response(), seq in any::<u8>(), version in MIN_VERSION..=MAX_VERSION) {
        prop_assume!(r.frame_id() == frame_id::INVALID_COMMAND || in_version(r.frame_id(), version));
        let mut out = vec![];
        r.encode(seq, false, &mut out);
        let (hdr, back) = NcpFrame::decode(version, &out).unwrap();
        prop_assert_eq!(hdr.sequence, seq);
        prop_assert_eq!(back, NcpFrame::Response(r));
    }

    #[test]
    fn callback_round_trip(c in callback(), seq in any::<u8>(), version in MIN_VERSION..=MAX_VERSION) {
        let mut out = vec![];
        c.encode(seq, &mut out);
        let (hdr, back) = NcpFrame::decode(version, &out).unwrap();
        prop_assert_eq!(hdr.callback_type(), CallbackType::Async);
        prop_assert_eq!(back, NcpFrame::Callback(c));
    }

    #[test]
    fn truncation_is_an_error_not_a_panic(cmd in command(), cut in 0usize..64) {
        let mut out = vec![];
        cmd.encode(1, false, &mut out);
        if cut < out.len() {
            out.truncate(out.len() - cut - 1);
            prop_assert!(Command::decode(MAX_VERSION, &out).is_err() || out.len() >= 5);
        }
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        crate::fuzz::ezsp_frame(&data);
        crate::fuzz::ash_decode(&data);
    }
}

#[test]
fn legacy_version_exchange_bytes() {
    // bellows' first command after RSTACK: [seq, 0x00, 0x00, desired].
    let mut out = vec![];
    Command::Version { desired: 13 }.encode(0, true, &mut out);
    assert_eq!(out, [0x00, 0x00, 0x00, 13]);
    let mut rsp = vec![];
    Response::Version { protocol: 13, stack_type: STACK_TYPE_MESH, stack_version: 0x7450 }
        .encode(0, true, &mut rsp);
    assert_eq!(rsp, [0x00, 0x80, 0x00, 13, 0x02, 0x50, 0x74]);
    let (hdr, f) = NcpFrame::decode(8, &rsp).unwrap();
    assert_eq!(hdr.format, Format::Legacy);
    assert!(matches!(f, NcpFrame::Response(Response::Version { protocol: 13, .. })));
}

#[test]
fn version_gating() {
    let mut out = vec![];
    Command::AddTransientLinkKey { partner: Eui64([1; 8]), key: Key([2; 16]) }
        .encode(0, false, &mut out);
    assert!(Command::decode(12, &out).is_ok());
    assert_eq!(
        Command::decode(13, &out),
        Err(Error::NotInVersion { frame_id: 0x00AF, version: 13 })
    );
    out.clear();
    Command::ImportTransientKey { partner: Eui64([1; 8]), key: Key([2; 16]), flags: 0 }
        .encode(0, false, &mut out);
    assert!(Command::decode(13, &out).is_ok());
    assert!(Command::decode(11, &out).is_err());
}

#[test]
fn keys_are_redacted_in_debug() {
    let c = Command::AddTransientLinkKey { partner: Eui64([1; 8]), key: Key([0xAB; 16]) };
    let s = alloc::format!("{c:?}");
    assert!(!s.contains("171") && !s.to_lowercase().contains("ab, "), "{s}");
    assert!(s.contains("redacted"));
}
