extern crate std;

use super::*;
use crate::frame::aps::ApsHeader;
use crate::frame::{
    parse_se_frame, parse_secured_se_frame, FrameKeys, NwkKey, PanId, SeFrameBuilder,
};
use crate::security::{SecurityControl, SecurityLevel};
use crate::zcl::ClusterId;
use proptest::prelude::*;
use std::vec::Vec;

fn h(s: &str) -> Vec<u8> {
    let s: std::string::String = s.split_whitespace().collect();
    let mut out = std::vec![0u8; s.len() / 2];
    assert_eq!(crate::hex::decode_into(&s, &mut out), Some(s.len() / 2));
    out
}

fn key(s: &str) -> Key128 {
    Key128::new(h(s).try_into().unwrap())
}

// Known answers: frames captured from real ZigBee networks, with their keys and plaintexts, from
// the WHAD project's test suite (whad-team/whad-client, tests/domain/zigbee/test_zigbee_crypto.py,
// `test_NetworkLayerCryptoManager` and `test_ApplicationSubLayerCryptoManager`; decrypted there by
// an independent implementation, PyCryptodome's AES-CCM over scapy's dissection). MAC headers
// are 9 bytes (frame control 0x8861, short addresses); no FCS.

/// Vector 1: NWK-secured Report Attributes (HA profile, cluster 0x0012) from 0x5C8A, key
/// sequence 1, frame counter 0xE1, source 00:15:8D:00:01:E8:3C:01.
const NWK_KEY_1: &str = "ad8ebbc4f96ae7000506d3fcd1627fb8";
const NWK_FRAME_1: &str = "618864472400008a5c 480200008a5c1e5d 28e1000000013ce801008d150001 \
                           ea59de1f960eea8aee185a1189309641 4e05a243";
const NWK_PLAIN_1: &str = "000112000401016218c30a5500210100";

/// Vector 2: NWK-secured Read Attributes (cluster 0x0008) from 0xED23, key sequence 0.
const NWK_KEY_2: &str = "44819751b602049181dc8bc2714df09d";
const NWK_FRAME_2: &str = "6188f73acb73e523ed 480273e523ed1e72 28a3b2890283b6a90101881700 00 \
                           7657e59a7002fac5e9b7315bf6 7d5f9afc";
const NWK_PLAIN_2: &str = "000b0800040140a30086000000";

/// Vector 3: APS Transport-Key command secured with the key-transport key (key identifier 2)
/// derived from link key 8142…D1B8, extended nonce 00:17:88:01:05:43:99:CE, counter 0x00020001;
/// NWK unsecured. The plaintext carries network key 02398409… with sequence 0.
const APS_LINK_KEY_3: &str = "814286865dc1c8b2c8cbc52e5d65d1b8";
const APS_FRAME_3: &str = "61887c803104000100 0800040001000135 21b8 3001000200ce99430501881700 \
                           f47c78a38c74072b1380763ae007df4346c92f7f127eba41be454ebdbe106c37ae161e \
                           fe4d3718";
const APS_PLAIN_3: &str = "0501 02398409245156e31d98a92157a8a66f 00 33d1b90401881700 \
                           ffffffffffffffff";

const MAC_LEN: usize = 9;

#[test]
fn known_answer_nwk_frames_decrypt() {
    for (k, frame, plain) in
        [(NWK_KEY_1, NWK_FRAME_1, NWK_PLAIN_1), (NWK_KEY_2, NWK_FRAME_2, NWK_PLAIN_2)]
    {
        let mut f = h(frame);
        let received = f.clone();
        let u = unsecure_nwk(&mut f[MAC_LEN..], &key(k)).unwrap();
        assert_eq!(u.header_len, 8 + 14);
        assert_eq!(&f[MAC_LEN..][u.payload.clone()], &h(plain)[..]);
        assert_eq!(u.payload.end + MIC_LEN, f.len() - MAC_LEN, "the MIC ends the frame");
        assert_eq!(u.aux_header.security_control, SecurityControl::NWK_ON_AIR);
        assert_eq!(u.source, u.aux_header.source_address.unwrap());
        // Everything but the payload is as received (level bits restored to 0).
        let p = MAC_LEN + u.payload.start..MAC_LEN + u.payload.end;
        assert_eq!(f[..p.start], received[..p.start]);
        assert_eq!(f[p.end..], received[p.end..]);
    }
}

/// Our encryption reproduces the captured frames byte for byte: from the plaintext NWK frame
/// (security bit clear, no auxiliary header), [`secure_nwk`] gives the frame the device sent.
#[test]
fn known_answer_nwk_frames_encrypt() {
    for (k, frame, plain, source, counter, seq) in [
        (NWK_KEY_1, NWK_FRAME_1, NWK_PLAIN_1, 0x0015_8D00_01E8_3C01, 0xE1, 1),
        (NWK_KEY_2, NWK_FRAME_2, NWK_PLAIN_2, 0x0017_8801_01A9_B683, 0x0289_B2A3, 0),
    ] {
        let captured = h(frame);
        let nwk_header = &captured[MAC_LEN..MAC_LEN + 8];
        let mut buf = [0u8; 127];
        buf[..8].copy_from_slice(nwk_header);
        buf[1] &= !0x02; // unsecured: security bit (frame control bit 9) clear
        let plain = h(plain);
        buf[8..8 + plain.len()].copy_from_slice(&plain);
        let n =
            secure_nwk(&mut buf, 8 + plain.len(), &key(k), Eui64(source), counter, seq).unwrap();
        assert_eq!(n, 8 + plain.len() + 14 + MIC_LEN);
        assert_eq!(&buf[..n], &captured[MAC_LEN..]);
    }
}

#[test]
fn known_answer_aps_key_transport_frame() {
    let link = key(APS_LINK_KEY_3);
    let captured = h(APS_FRAME_3);
    let aps_at = MAC_LEN + 8;
    let mut f = captured.clone();
    let u = unsecure_aps(&mut f[aps_at..], &link, None).unwrap();
    assert_eq!(u.aux_header.security_control, SecurityControl(0x30));
    assert_eq!(u.source, Eui64(0x0017_8801_0543_99CE));
    assert_eq!(&f[aps_at..][u.payload.clone()], &h(APS_PLAIN_3)[..]);
    // The key-transport key is what CCM* used: the link key itself fails.
    let mut g = captured.clone();
    let data_key = unsecure_aps_with(&mut g[aps_at..], &link);
    assert_eq!(data_key, Err(FrameSecurityError::Security(SecurityError::MicMismatch)));

    // Encrypting the plaintext command gives the captured frame.
    let mut buf = [0u8; 127];
    buf[..2].copy_from_slice(&[0x01, 0xB8]); // APS command, counter 0xB8, security bit clear
    let plain = h(APS_PLAIN_3);
    buf[2..2 + plain.len()].copy_from_slice(&plain);
    let n = secure_aps(
        &mut buf,
        2 + plain.len(),
        &link,
        KeyIdentifier::KeyTransport,
        Eui64(0x0017_8801_0543_99CE),
        0x0002_0001,
        true,
    )
    .unwrap();
    assert_eq!(&buf[..n], &captured[aps_at..]);
}

/// Decrypts vector 3 as if its key identifier said "data key", with the raw link key.
fn unsecure_aps_with(frame: &mut [u8], k: &Key128) -> core::result::Result<(), FrameSecurityError> {
    let header = ApsHeader::parse(frame)?;
    let aux = header.aux_header.unwrap();
    let header_len = header.buffer_len();
    open(frame, header_len - aux.buffer_len(), header_len, k, None).map(|_| ())
}

#[test]
fn known_answer_whole_frame_through_the_keyring() {
    let mut f = h(NWK_FRAME_1);
    let network_keys = [(0, key(NWK_KEY_2)), (1, key(NWK_KEY_1))];
    let keys = Keyring { network_keys: &network_keys, ..Keyring::default() };
    let mut nwk_counters = FrameCounterCheck::<4>::new();
    let parsed = parse_secured_se_frame(&mut f, &keys, Some(&mut nwk_counters), None).unwrap();
    assert!(parsed.decrypted && parsed.nwk_secured() && !parsed.aps_secured());
    assert_eq!(parsed.cluster_id(), Some(ClusterId(0x0012)));
    assert_eq!(parsed.zcl(), Some(&h("18c30a5500210100")[..]));
    assert_eq!(parsed.nwk_payload, &h(NWK_PLAIN_1)[..]);
    assert_eq!(nwk_counters.last(Eui64(0x0015_8D00_01E8_3C01)), Some(0xE1));

    // The same frame again is a replay.
    let mut again = h(NWK_FRAME_1);
    let e = parse_secured_se_frame(&mut again, &keys, Some(&mut nwk_counters), None).unwrap_err();
    let regression = SecurityError::FrameCounterRegression { last: 0xE1, got: 0xE1 };
    assert_eq!(e, FrameSecurityError::Security(regression));
    assert_eq!(again, h(NWK_FRAME_1), "a refused replay is not decrypted");

    // Unknown key sequence number.
    let only_0 = [(0, key(NWK_KEY_1))];
    let keys = Keyring { network_keys: &only_0, ..Keyring::default() };
    let e = parse_secured_se_frame(&mut h(NWK_FRAME_1), &keys, None, None).unwrap_err();
    assert_eq!(e, FrameSecurityError::NoKey(KeyIdentifier::Network));
}

#[test]
fn known_answer_aps_frame_through_the_keyring() {
    let mut f = h(APS_FRAME_3);
    let link_keys = [(Eui64(0x0017_8801_0543_99CE), key(APS_LINK_KEY_3))];
    let keys = Keyring { link_keys: &link_keys, ..Keyring::default() };
    let mut aps_counters = FrameCounterCheck::<4>::new();
    let parsed = parse_secured_se_frame(&mut f, &keys, None, Some(&mut aps_counters)).unwrap();
    assert!(parsed.decrypted && !parsed.nwk_secured() && parsed.aps_secured());
    assert_eq!(parsed.aps_payload, &h(APS_PLAIN_3)[..]);
    assert_eq!(parsed.zcl(), None, "an APS command, not a data frame");
    assert_eq!(aps_counters.last(Eui64(0x0017_8801_0543_99CE)), Some(0x0002_0001));
    let mut f = h(APS_FRAME_3);
    let e = parse_secured_se_frame(&mut f, &Keyring::default(), None, None).unwrap_err();
    assert_eq!(e, FrameSecurityError::NoKey(KeyIdentifier::KeyTransport));
}

const NETWORK_KEY: [u8; 16] = *b"SE network key!!";
const LINK_KEY: [u8; 16] = *b"SE link key 0001";
const ESI: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);
const METER: Eui64 = Eui64(0x0022_A300_0012_3456);

fn builder() -> SeFrameBuilder {
    SeFrameBuilder::unicast(
        PanId(0x1A2B),
        ShortAddr::COORDINATOR,
        9,
        ShortAddr(0x4C21),
        1,
        ClusterId::MESSAGING,
    )
    .sequence(1, 2, 3)
}

/// ZCL DisplayMessage-shaped bytes (the content does not matter to security).
const ZCL: [u8; 12] = [0x09, 0x10, 0x00, 0x44, 0x33, 0x22, 0x11, 0x00, 0, 0, 0, 0];

fn both_layers() -> (Vec<u8>, SeFrameBuilder) {
    let b = builder().nwk_encrypted(ESI, 0x0102_0304, 7).aps_encrypted(
        KeyIdentifier::Data,
        0x55,
        Some(ESI),
    );
    let (nk, lk) = (Key128::new(NETWORK_KEY), Key128::new(LINK_KEY));
    let keys = FrameKeys { network_key: Some(&nk), link_key: Some(&lk) };
    let mut buf = [0u8; 127];
    let n = b.build_encrypted(&ZCL, &mut buf, keys).unwrap();
    (buf[..n].to_vec(), b)
}

static NETWORK_KEYS: [(u8, Key128); 1] = [(7, Key128::new(NETWORK_KEY))];
static LINK_KEYS: [(Eui64, Key128); 1] = [(ESI, Key128::new(LINK_KEY))];

/// What the meter holds to receive from the ESI.
fn receiver() -> Keyring<'static> {
    Keyring { network_keys: &NETWORK_KEYS, link_keys: &LINK_KEYS, address_map: &[] }
}

#[test]
fn builder_secures_both_layers_and_the_parser_undoes_them() {
    let (frame, b) = both_layers();
    // MAC 9 + NWK 8 + aux 14 + APS 8 + aux 13 + ZCL 12 + APS MIC 4 + NWK MIC 4.
    assert_eq!(frame.len(), 9 + 8 + 14 + 8 + 13 + ZCL.len() + 4 + 4);
    // On the air: security bits set, APS frame control 0x60, level bits 0 in both headers.
    let plain = parse_se_frame(&frame).unwrap();
    assert_eq!(plain.nwk.aux_header, b.nwk.aux_header);
    assert_eq!(frame[9 + 8], 0x28);
    assert!(!frame.windows(ZCL.len()).any(|w| w == ZCL), "the ZCL bytes are encrypted");

    let keys = receiver();
    let mut f = frame.clone();
    let parsed = parse_secured_se_frame(&mut f, &keys, None, None).unwrap();
    assert_eq!(parsed.zcl(), Some(&ZCL[..]));
    assert_eq!((parsed.mac, &parsed.nwk), (b.mac, &b.nwk));
    let aps = parsed.aps.unwrap();
    assert_eq!(aps.frame_control(), 0x60);
    assert_eq!(aps, b.aps);
    assert_eq!(parsed.nwk_payload.len(), 8 + 13 + ZCL.len() + MIC_LEN, "APS frame with its MIC");
}

#[test]
fn aps_nonce_from_the_nwk_source_ieee() {
    // No extended nonce in the APS header: the NWK header's source IEEE address is the nonce's.
    let b = builder().src_ieee(ESI).nwk_encrypted(ESI, 9, 0).aps_encrypted(
        KeyIdentifier::Data,
        10,
        None,
    );
    let (nk, lk) = (Key128::new(NETWORK_KEY), Key128::new(LINK_KEY));
    let mut buf = [0u8; 127];
    let keys = FrameKeys { network_key: Some(&nk), link_key: Some(&lk) };
    let n = b.build_encrypted(&ZCL, &mut buf, keys).unwrap();
    let network_keys = [(0, nk.clone())];
    let link_keys = [(ESI, lk.clone())];
    let keys = Keyring { network_keys: &network_keys, link_keys: &link_keys, address_map: &[] };
    let parsed = parse_secured_se_frame(&mut buf[..n], &keys, None, None).unwrap();
    assert_eq!(parsed.zcl(), Some(&ZCL[..]));

    // Without a source IEEE address anywhere the builder cannot form the nonce...
    let no_source = builder().aps_encrypted(KeyIdentifier::Data, 10, None);
    let e = no_source.build_encrypted(&ZCL, &mut buf, keys_for(&nk, &lk)).unwrap_err();
    assert_eq!((e.kind, e.field), (ErrorKind::InvalidValue, "aps.security"));
    // ...and the receiver needs the address map.
    let with_source = builder().src_ieee(ESI).aps_encrypted(KeyIdentifier::Data, 10, None);
    let n = with_source.build_encrypted(&ZCL, &mut buf, keys_for(&nk, &lk)).unwrap();
    let mut f = buf[..n].to_vec();
    // Drop the NWK source IEEE address (frame control bit 12 and the 8 bytes after byte 8).
    f[9 + 1] &= !0x10;
    f.drain(9 + 8..9 + 16);
    let e = parse_secured_se_frame(&mut f.clone(), &keys, None, None).unwrap_err();
    assert_eq!(e, FrameSecurityError::UnknownSource);
    let map = [(ShortAddr::COORDINATOR, ESI)];
    let keys = Keyring { address_map: &map, ..keys };
    let parsed = parse_secured_se_frame(&mut f, &keys, None, None).unwrap();
    assert_eq!(parsed.zcl(), Some(&ZCL[..]));
}

fn keys_for<'k>(nk: &'k Key128, lk: &'k Key128) -> FrameKeys<'k> {
    FrameKeys { network_key: Some(nk), link_key: Some(lk) }
}

#[test]
fn tampering_anywhere_authenticated_fails_the_mic() {
    let (frame, _) = both_layers();
    let keys = receiver();
    let nwk_aux_control = 9 + 8;
    for i in 9..frame.len() {
        for bit in [0x01, 0x80] {
            let mut f = frame.clone();
            f[i] ^= bit;
            let result = parse_secured_se_frame(&mut f, &keys, None, None);
            if i == nwk_aux_control && bit == 0x01 {
                // The level bits are not trusted: level 5 is substituted whatever they say
                // (se10.md §8.4), so flipping them changes nothing.
                assert_eq!(result.unwrap().zcl(), Some(&ZCL[..]));
                continue;
            }
            // Bits that change the layout or the key lookup fail before CCM*, all others in it.
            match result {
                Err(
                    FrameSecurityError::Security(SecurityError::MicMismatch)
                    | FrameSecurityError::Frame(_)
                    | FrameSecurityError::NoKey(_),
                ) => {}
                other => panic!("byte {i} bit {bit:#04x}: {other:?}"),
            }
        }
    }
}

#[test]
fn wrong_key_fails_the_mic_and_zeroes_the_payload() {
    let (frame, _) = both_layers();
    let wrong = Key128::new([0x5A; 16]);
    let mut f = frame[9..].to_vec();
    let e = unsecure_nwk(&mut f, &wrong).unwrap_err();
    assert_eq!(e, FrameSecurityError::Security(SecurityError::MicMismatch));
    let payload = 8 + 14..f.len() - MIC_LEN;
    assert!(f[payload].iter().all(|&b| b == 0), "no unauthenticated plaintext is left");
    assert_eq!(f[8 + 13], 7, "the headers are untouched");
    assert_eq!(f[8], 0x28, "level bits restored");

    // Right network key, wrong link key.
    let link_keys = [(ESI, wrong)];
    let keys = Keyring { link_keys: &link_keys, ..receiver() };
    let e = parse_secured_se_frame(&mut frame.clone(), &keys, None, None).unwrap_err();
    assert_eq!(e, FrameSecurityError::Security(SecurityError::MicMismatch));
}

#[test]
fn counter_regression_is_refused_per_layer() {
    let keys = receiver();
    let mut nwk_fc = FrameCounterCheck::<4>::new();
    let mut aps_fc = FrameCounterCheck::<4>::new();
    let (nk, lk) = (Key128::new(NETWORK_KEY), Key128::new(LINK_KEY));
    let mut send = |nwk_counter: u32, aps_counter: u32| {
        let b = builder().nwk_encrypted(ESI, nwk_counter, 7).aps_encrypted(
            KeyIdentifier::Data,
            aps_counter,
            Some(ESI),
        );
        let mut buf = [0u8; 127];
        let n = b.build_encrypted(&ZCL, &mut buf, keys_for(&nk, &lk)).unwrap();
        parse_secured_se_frame(&mut buf[..n], &keys, Some(&mut nwk_fc), Some(&mut aps_fc))
            .map(|f| f.zcl().map(<[u8]>::to_vec))
    };
    assert_eq!(send(100, 50), Ok(Some(ZCL.to_vec())));
    assert_eq!(send(101, 51), Ok(Some(ZCL.to_vec())));
    let nwk_replay = SecurityError::FrameCounterRegression { last: 101, got: 101 };
    assert_eq!(send(101, 52), Err(FrameSecurityError::Security(nwk_replay)));
    // A fresh NWK counter around a replayed APS counter: the APS layer refuses it.
    let aps_replay = SecurityError::FrameCounterRegression { last: 51, got: 40 };
    assert_eq!(send(102, 40), Err(FrameSecurityError::Security(aps_replay)));
    assert_eq!(send(103, 52), Ok(Some(ZCL.to_vec())));
}

#[test]
fn forged_frames_do_not_move_the_counter() {
    let (frame, _) = both_layers();
    let keys = receiver();
    let mut nwk_fc = FrameCounterCheck::<4>::new();
    let mut forged = frame.clone();
    // Raise the frame counter without the key: the MIC fails and nothing is recorded.
    forged[9 + 8 + 4] = 0xFF;
    let e = parse_secured_se_frame(&mut forged, &keys, Some(&mut nwk_fc), None).unwrap_err();
    assert_eq!(e, FrameSecurityError::Security(SecurityError::MicMismatch));
    assert_eq!(nwk_fc.last(ESI), None);
    parse_secured_se_frame(&mut frame.clone(), &keys, Some(&mut nwk_fc), None).unwrap();
    assert_eq!(nwk_fc.last(ESI), Some(0x0102_0304));
}

#[test]
fn the_nwk_security_hook_is_ccm_star() {
    let (nk, lk) = (Key128::new(NETWORK_KEY), Key128::new(LINK_KEY));
    let b = builder().nwk_encrypted(ESI, 77, 7);
    let mut via_hook = [0u8; 127];
    let n = b.build_secured(&ZCL, &mut via_hook, &mut NwkKey(&nk)).unwrap();
    let mut direct = [0u8; 127];
    let m = b.build_encrypted(&ZCL, &mut direct, keys_for(&nk, &lk)).unwrap();
    assert_eq!(&via_hook[..n], &direct[..m]);
    // And the same as securing the unsecured frame afterwards.
    let mut plain = [0u8; 127];
    let p = builder().build(&ZCL, &mut plain).unwrap();
    let len = secure_nwk(&mut plain[9..], p - 9, &nk, ESI, 77, 7).unwrap();
    assert_eq!(&plain[..9 + len], &direct[..m]);
}

#[test]
fn refusals() {
    let nk = Key128::new(NETWORK_KEY);
    let mut buf = [0u8; 127];
    let n = builder().build(&ZCL, &mut buf).unwrap();
    let nwk_len = n - 9;
    // Not secured.
    let e = unsecure_nwk(&mut buf[9..n], &nk).unwrap_err();
    assert_eq!(
        e,
        FrameSecurityError::Frame(Error::new(ErrorKind::InvalidValue, 0, "nwk.security"))
    );
    let e = unsecure_aps(&mut buf[9 + 8..n], &nk, Some(ESI)).unwrap_err();
    assert_eq!(
        e,
        FrameSecurityError::Frame(Error::new(ErrorKind::InvalidValue, 0, "aps.security"))
    );
    // No room for the auxiliary header and the MIC: nothing is changed.
    let before = buf;
    let e = secure_nwk(&mut buf[9..n + 17], nwk_len, &nk, ESI, 1, 0).unwrap_err();
    let short = Error::new(ErrorKind::BufferTooSmall { needed: 18 }, nwk_len, "aux");
    assert_eq!(e, FrameSecurityError::Frame(short));
    assert_eq!(buf, before);
    // frame_len beyond the buffer.
    let e = secure_nwk(&mut buf[9..20], 12, &nk, ESI, 1, 0).unwrap_err();
    assert!(matches!(
        e,
        FrameSecurityError::Frame(Error { kind: ErrorKind::Truncated { .. }, .. })
    ));
    // Already secured.
    let len = secure_nwk(&mut buf[9..], nwk_len, &nk, ESI, 1, 0).unwrap();
    let e = secure_nwk(&mut buf[9..], len, &nk, ESI, 2, 0).unwrap_err();
    assert_eq!(
        e,
        FrameSecurityError::Frame(Error::new(ErrorKind::InvalidValue, 0, "nwk.security"))
    );
    // Truncated: no room for a MIC.
    let e = unsecure_nwk(&mut buf[9..9 + 8 + 14 + 3], &nk).unwrap_err();
    let truncated = Error::new(ErrorKind::Truncated { needed: 1 }, 25, "mic");
    assert_eq!(e, FrameSecurityError::Frame(truncated));
    // APS with the network key identifier through the link-key functions.
    let mut aps = [0x40, 1, 3, 7, 9, 1, 9, 3, 0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let e = secure_aps(&mut aps, 9, &nk, KeyIdentifier::Network, ESI, 1, true).unwrap_err();
    assert_eq!(e, FrameSecurityError::NoKey(KeyIdentifier::Network));
    // Missing keys in the builder.
    let b = builder().nwk_encrypted(ESI, 1, 0);
    let e = b.build_encrypted(&ZCL, &mut buf, FrameKeys::default()).unwrap_err();
    assert_eq!((e.kind, e.offset, e.field), (ErrorKind::InvalidValue, 9, "nwk.security"));
    let b = builder().aps_encrypted(KeyIdentifier::Data, 1, Some(ESI));
    let keys = FrameKeys { network_key: Some(&nk), link_key: None };
    let e = b.build_encrypted(&ZCL, &mut buf, keys).unwrap_err();
    assert_eq!((e.kind, e.offset, e.field), (ErrorKind::InvalidValue, 17, "aps.security"));
    // Too long for one 802.15.4 frame once the MICs are added.
    let b = builder().nwk_encrypted(ESI, 1, 0).aps_encrypted(KeyIdentifier::Data, 1, Some(ESI));
    let lk = Key128::new(LINK_KEY);
    let big = [0u8; 125 - (9 + 8 + 14 + 8 + 13 + 4 + 4) + 1];
    let mut large = [0u8; 200];
    let e = b.build_encrypted(&big, &mut large, keys_for(&nk, &lk)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadLength);
    assert!(b.build_encrypted(&big[1..], &mut large, keys_for(&nk, &lk)).is_ok());
}

#[test]
fn key_derivation_by_key_identifier() {
    let lk = Key128::new(LINK_KEY);
    assert_eq!(aps_key(&lk, KeyIdentifier::Data), Some(lk.clone()));
    assert_eq!(aps_key(&lk, KeyIdentifier::KeyTransport), Some(key_transport_key(&lk)));
    assert_eq!(aps_key(&lk, KeyIdentifier::KeyLoad), Some(key_load_key(&lk)));
    assert_eq!(aps_key(&lk, KeyIdentifier::Network), None);
    // Secure and unsecure agree for every link-derived key identifier, with and without the
    // extended nonce.
    for key_id in [KeyIdentifier::Data, KeyIdentifier::KeyTransport, KeyIdentifier::KeyLoad] {
        for ext in [false, true] {
            let mut buf = [0u8; 64];
            let frame = [0x40, 1, 3, 7, 9, 1, 9, 3, 1, 2, 3];
            buf[..frame.len()].copy_from_slice(&frame);
            let n = secure_aps(&mut buf, frame.len(), &lk, key_id, METER, 5, ext).unwrap();
            assert_eq!(n, frame.len() + if ext { 13 } else { 5 } + MIC_LEN);
            assert_eq!(buf[0], 0x60);
            let source = (!ext).then_some(METER);
            let u = unsecure_aps(&mut buf[..n], &lk, source).unwrap();
            assert_eq!(&buf[u.payload], &[1, 2, 3]);
            assert_eq!(u.aux_header.security_control.key_identifier(), key_id);
            if !ext {
                let e = unsecure_aps(&mut buf[..n], &lk, None).unwrap_err();
                assert_eq!(e, FrameSecurityError::UnknownSource);
            }
        }
    }
}

#[test]
fn level_bits_are_zero_on_the_air_and_level_five_in_the_nonce() {
    let nk = Key128::new(NETWORK_KEY);
    let mut buf = [0u8; 64];
    let n = builder().build(&[0xAB; 4], &mut buf).unwrap();
    let len = secure_nwk(&mut buf[9..], n - 9, &nk, ESI, 3, 0).unwrap();
    let f = &mut buf[9..9 + len];
    assert_eq!(f[8] & 0x07, 0);
    // Re-do it by hand with CCM* and level 5 in nonce and a.
    let mut manual = [0u8; 64];
    let m = builder().build(&[0xAB; 4], &mut manual).unwrap();
    let g = &mut manual[9..];
    g.copy_within(8..m - 9, 8 + 14);
    g[1] |= 0x02;
    AuxHeader::nwk(3, ESI, 0).emit(&mut g[8..22]).unwrap();
    g[8] |= 5;
    let nonce = Nonce::new(ESI, 3, SecurityControl(0x2D));
    assert_eq!(nonce.level(), SecurityLevel::EncMic32);
    let (aad, rest) = g.split_at_mut(22);
    let (payload, rest) = rest.split_at_mut(m - 9 - 8);
    CcmStar::new(&nk).encrypt_in_place(&nonce, aad, payload, &mut rest[..4]).unwrap();
    g[8] &= !0x07;
    assert_eq!(&g[..len], &f[..]);
}

proptest! {
    #[test]
    fn nwk_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..80),
        source in any::<u64>(),
        counter in any::<u32>(),
        seq in any::<u8>(),
        key_bytes in any::<[u8; 16]>(),
        src_ieee in any::<bool>(),
    ) {
        let k = Key128::new(key_bytes);
        let mut header = NwkHeader::data(ShortAddr(1), ShortAddr(2), 30, 4, None);
        header.src_ieee = src_ieee.then_some(Eui64(source ^ 1));
        let mut buf = [0u8; 160];
        let hl = header.emit(&mut buf).unwrap();
        buf[hl..hl + payload.len()].copy_from_slice(&payload);
        let n = secure_nwk(&mut buf, hl + payload.len(), &k, Eui64(source), counter, seq).unwrap();
        prop_assert_eq!(n, hl + payload.len() + 14 + MIC_LEN);
        let on_air = buf;
        let u = unsecure_nwk(&mut buf[..n], &k).unwrap();
        prop_assert_eq!(&buf[u.payload.clone()], &payload[..]);
        prop_assert_eq!(u.aux_header, AuxHeader::nwk(counter, Eui64(source), seq));
        prop_assert_eq!(&buf[..u.header_len], &on_air[..u.header_len]);
        // One flipped payload or MIC bit fails.
        if n > u.header_len {
            let mut bad = on_air;
            let i = u.header_len + (counter as usize % (n - u.header_len));
            bad[i] ^= 1 << (seq % 8);
            let e = unsecure_nwk(&mut bad[..n], &k).unwrap_err();
            prop_assert_eq!(e, FrameSecurityError::Security(SecurityError::MicMismatch));
        }
    }

    #[test]
    fn aps_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..80),
        source in any::<u64>(),
        counter in any::<u32>(),
        key_bytes in any::<[u8; 16]>(),
        ext in any::<bool>(),
        key_id in 0u8..4,
    ) {
        let k = Key128::new(key_bytes);
        let key_id = match KeyIdentifier::from_bits(key_id) {
            KeyIdentifier::Network => KeyIdentifier::Data,
            other => other,
        };
        let header = ApsHeader::unicast(1, ClusterId::PRICE, 2, counter as u8);
        let mut buf = [0u8; 160];
        let hl = header.emit(&mut buf).unwrap();
        buf[hl..hl + payload.len()].copy_from_slice(&payload);
        let len = hl + payload.len();
        let n = secure_aps(&mut buf, len, &k, key_id, Eui64(source), counter, ext).unwrap();
        let u = unsecure_aps(&mut buf[..n], &k, Some(Eui64(source))).unwrap();
        prop_assert_eq!(&buf[u.payload.clone()], &payload[..]);
        prop_assert_eq!(u.source, Eui64(source));
        let parsed = ApsHeader::parse(&buf[..n]).unwrap();
        prop_assert_eq!(parsed.aux_header, Some(AuxHeader::aps(key_id, counter, ext.then_some(Eui64(source)))));
        prop_assert_eq!(ApsHeader { aux_header: None, ..parsed }, header);
    }

    #[test]
    fn whole_frame_round_trip(
        zcl in proptest::collection::vec(any::<u8>(), 3..60),
        nwk_counter in any::<u32>(),
        aps_counter in any::<u32>(),
        aps in any::<bool>(),
    ) {
        let mut b = builder().nwk_encrypted(METER, nwk_counter, 7);
        if aps {
            b = b.aps_encrypted(KeyIdentifier::Data, aps_counter, Some(METER));
        }
        let (nk, lk) = (Key128::new(NETWORK_KEY), Key128::new(LINK_KEY));
        let mut buf = [0u8; 127];
        let n = b.build_encrypted(&zcl, &mut buf, keys_for(&nk, &lk)).unwrap();
        let network_keys = [(7, nk.clone())];
        let link_keys = [(METER, lk.clone())];
        let keys = Keyring { network_keys: &network_keys, link_keys: &link_keys, address_map: &[] };
        let parsed = parse_secured_se_frame(&mut buf[..n], &keys, None, None).unwrap();
        prop_assert_eq!(parsed.zcl(), Some(&zcl[..]));
        prop_assert_eq!(parsed.aps_secured(), aps);
        prop_assert_eq!(parsed.mac, b.mac);
    }

    #[test]
    fn unsecure_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..127)) {
        let k = Key128::new(NETWORK_KEY);
        let _ = unsecure_nwk(&mut bytes.clone(), &k);
        let _ = unsecure_aps(&mut bytes.clone(), &k, Some(ESI));
        let network_keys = [(0, k.clone())];
        let link_keys = [(ESI, k.clone())];
        let keys = Keyring { network_keys: &network_keys, link_keys: &link_keys, address_map: &[] };
        let mut fc = FrameCounterCheck::<2>::new();
        let _ = parse_secured_se_frame(&mut bytes.clone(), &keys, Some(&mut fc), None);
        let mut big = [0u8; 200];
        let len = bytes.len().min(100);
        big[..len].copy_from_slice(&bytes[..len]);
        let _ = secure_nwk(&mut big, len, &k, ESI, 0, 0);
        let _ = secure_aps(&mut big, len, &k, KeyIdentifier::Data, ESI, 0, false);
    }
}
