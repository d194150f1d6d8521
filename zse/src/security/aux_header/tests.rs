use super::*;
use crate::security::ccm::CcmStar;
use crate::security::{Key128, SecurityError};
use crate::testutil::check_roundtrip;
use proptest::prelude::*;

/// NWK aux header as sent (se10.md §8.5): control 0x28 (level 0, network key, extended nonce),
/// frame counter 0x00000102, source 00:0D:6F:00:0A:BC:DE:F0 (LE on air), key sequence 0x07.
const NWK_AUX: [u8; 14] =
    [0x28, 0x02, 0x01, 0x00, 0x00, 0xF0, 0xDE, 0xBC, 0x0A, 0x00, 0x6F, 0x0D, 0x00, 0x07];

#[test]
fn parse_nwk_aux_header() {
    let r = AuxHeader::parse(&NWK_AUX).unwrap();
    assert_eq!(r.security_control, SecurityControl::NWK_ON_AIR);
    assert_eq!(r.security_control.level(), SecurityLevel::None);
    assert_eq!(r.security_control.key_identifier(), KeyIdentifier::Network);
    assert!(r.security_control.extended_nonce());
    assert_eq!(r.frame_counter, 0x0102);
    assert_eq!(r.source_address, Some(Eui64(0x000D_6F00_0ABC_DEF0)));
    assert_eq!(r.key_sequence_number, Some(0x07));
    assert_eq!(r.buffer_len(), 14);
    assert_eq!(check_roundtrip::<AuxHeader>(&NWK_AUX), Some(r));

    let view = AuxHeaderView::new_checked(&NWK_AUX[..]).unwrap();
    assert_eq!(view.to_repr(), r);
    assert_eq!(view.header_len(), 14);
    assert!(view.payload().is_empty());
}

#[test]
fn aps_headers() {
    // APS link-key security with extended nonce off: control 0x00, 5 bytes, then payload.
    let aps = [0x00, 0x78, 0x56, 0x34, 0x12, 0xAA, 0xBB];
    let view = AuxHeaderView::new_checked(&aps[..]).unwrap();
    assert_eq!(view.header_len(), 5);
    assert_eq!(view.frame_counter(), 0x1234_5678);
    assert_eq!(view.source_address(), None);
    assert_eq!(view.key_sequence_number(), None);
    assert_eq!(view.security_control().key_identifier(), KeyIdentifier::Data);
    assert_eq!(view.payload(), &[0xAA, 0xBB]);
    // Key-transport key with extended nonce: control 0x30, 13 bytes.
    let kt = [0x30, 1, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1];
    let r = check_roundtrip::<AuxHeader>(&kt).unwrap();
    assert_eq!(r.security_control.key_identifier(), KeyIdentifier::KeyTransport);
    assert_eq!(r.source_address, Some(Eui64(0x0102_0304_0506_0708)));
    assert_eq!(r.key_sequence_number, None);
    let kl = check_roundtrip::<AuxHeader>(&[0x18, 1, 0, 0, 0]).unwrap();
    assert_eq!(kl.security_control.key_identifier(), KeyIdentifier::KeyLoad);
}

#[test]
fn truncation_names_offset_and_field() {
    let cases: [(&[u8], usize, &str); 4] = [
        (&[], 0, "aux.security_control"),
        (&NWK_AUX[..3], 1, "aux.frame_counter"),
        (&NWK_AUX[..12], 5, "aux.source_address"),
        (&NWK_AUX[..13], 13, "aux.key_sequence_number"),
    ];
    for (bytes, offset, field) in cases {
        let e = AuxHeader::parse(bytes).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "{e}");
        assert_eq!((e.offset, e.field), (offset, field));
        assert!(AuxHeaderView::new_checked(bytes).is_err());
    }
}

#[test]
fn emit_refuses_inconsistent_values() {
    let mut r = AuxHeader::parse(&NWK_AUX).unwrap();
    r.key_sequence_number = None;
    let e = r.emit(&mut [0u8; 16]).unwrap_err();
    assert_eq!((e.kind, e.field), (ErrorKind::InvalidValue, "aux.key_sequence_number"));
    let mut r = AuxHeader::parse(&NWK_AUX).unwrap();
    r.source_address = None;
    assert_eq!(r.emit(&mut [0u8; 16]).unwrap_err().field, "aux.source_address");
    let bad =
        AuxHeader { key_sequence_number: Some(1), ..AuxHeader::aps(KeyIdentifier::Data, 0, None) };
    assert_eq!(bad.emit(&mut [0u8; 16]).unwrap_err().kind, ErrorKind::InvalidValue);
}

/// The constructors give the control bytes se10.md §8.5 lists for each layer.
#[test]
fn constructors_match_the_on_air_control_bytes() {
    let source = Eui64(0x000D_6F00_0000_0001);
    // control 0x28, counter 0x00000102, source LE, key sequence 0 (hand-written from §8.5).
    let nwk = [0x28, 0x02, 0x01, 0, 0, 0x01, 0, 0, 0, 0, 0x6F, 0x0D, 0x00, 0x00];
    let h = AuxHeader::nwk(0x102, source, 0);
    assert_eq!(check_roundtrip::<AuxHeader>(&nwk), Some(h));
    assert_eq!(h.security_control.level(), SecurityLevel::None);
    assert_eq!(h.buffer_len(), 14);
    let mut out = [0u8; 14];
    assert_eq!(h.emit(&mut out).unwrap(), 14);
    assert_eq!(out, nwk);
    for (key, source, control, len) in [
        (KeyIdentifier::Data, None, 0x00, 5),
        (KeyIdentifier::Data, Some(source), 0x20, 13),
        (KeyIdentifier::KeyTransport, None, 0x10, 5),
        (KeyIdentifier::KeyTransport, Some(source), 0x30, 13),
        (KeyIdentifier::KeyLoad, None, 0x18, 5),
    ] {
        let h = AuxHeader::aps(key, 7, source);
        assert_eq!((h.security_control, h.buffer_len()), (SecurityControl(control), len));
        let mut out = [0u8; 13];
        let n = h.emit(&mut out).unwrap();
        assert_eq!(AuxHeader::parse(&out[..n]).unwrap(), h);
    }
}

/// Inside a frame the header reports offsets of the frame (read through a shared reader).
#[test]
fn read_keeps_the_frame_offsets() {
    let mut frame = [0xEEu8; 3 + 14];
    frame[3..].copy_from_slice(&NWK_AUX);
    let mut r = Reader::new(&frame[..3 + 12]);
    r.bytes(3, "before").unwrap();
    let e = AuxHeader::read(&mut r).unwrap_err();
    assert_eq!((e.offset, e.field), (8, "aux.source_address"));
}

/// se10.md §8.4: level bits are 0 on the air; 5 is substituted for nonce and authenticated data.
#[test]
fn level_substitution_rule() {
    let on_air = SecurityControl(0x28);
    assert_eq!(on_air.effective(NWK_SECURITY_LEVEL), SecurityControl(0x2D));
    assert_eq!(SecurityControl(0x2D).on_air(), on_air);
    // Whatever the level bits say on the air, the configured level is used.
    assert_eq!(SecurityControl(0x29).effective(NWK_SECURITY_LEVEL), SecurityControl(0x2D));
    assert_eq!(SecurityControl(0x2F).effective(NWK_SECURITY_LEVEL), SecurityControl(0x2D));
    // Reserved bits survive.
    assert_eq!(SecurityControl(0xC8).effective(NWK_SECURITY_LEVEL), SecurityControl(0xCD));
    assert_eq!(
        SecurityControl::new(SecurityLevel::EncMic32, KeyIdentifier::Data, true),
        SecurityControl(0x25)
    );

    let r = AuxHeader::parse(&NWK_AUX).unwrap();
    let n = r.nonce(NWK_SECURITY_LEVEL, None).unwrap();
    assert_eq!(
        n.as_bytes(),
        &[0xF0, 0xDE, 0xBC, 0x0A, 0x00, 0x6F, 0x0D, 0x00, 0x02, 0x01, 0x00, 0x00, 0x2D]
    );
    let aps = AuxHeader::aps(KeyIdentifier::Data, 1, None);
    assert_eq!(aps.nonce(NWK_SECURITY_LEVEL, None), None);
    assert_eq!(aps.nonce(NWK_SECURITY_LEVEL, Some(Eui64(9))).unwrap().source(), Eui64(9));
}

/// A whole NWK frame secured and unsecured the way a stack does it: patch the level into the
/// aux header, MIC over header ‖ aux header, clear the level for the air; the receiver patches it
/// back before checking. Skipping the patch on receive fails the MIC.
#[test]
fn nwk_frame_secure_and_unsecure() {
    let ccm = CcmStar::new(&Key128::new([0x11; 16]));
    // NWK header: FCF 0x1208 (data, version 2, security, source IEEE), dst, src, radius, seq,
    // source IEEE (8 bytes) = 16 bytes; then the 14-byte aux header; then payload; then MIC.
    let nwk_header = [
        0x08, 0x12, 0x00, 0x00, 0x34, 0x12, 0x1E, 0x42, 0xF0, 0xDE, 0xBC, 0x0A, 0x00, 0x6F, 0x0D,
        0x00,
    ];
    let plaintext = *b"APS frame with a ZCL payload";
    let mut frame = [0u8; 16 + 14 + 28 + 4];
    frame[..16].copy_from_slice(&nwk_header);
    frame[16..30].copy_from_slice(&NWK_AUX);
    frame[30..58].copy_from_slice(&plaintext);

    // Sender.
    let mut aux = AuxHeaderView::new_checked(&mut frame[16..]).unwrap();
    aux.set_security_level(NWK_SECURITY_LEVEL);
    let nonce = aux.to_repr().nonce(NWK_SECURITY_LEVEL, None).unwrap();
    let (aad, rest) = frame.split_at_mut(30);
    let (payload, mic) = rest.split_at_mut(28);
    ccm.encrypt_in_place(&nonce, aad, payload, mic).unwrap();
    AuxHeaderView::new_checked(&mut frame[16..]).unwrap().set_security_level(SecurityLevel::None);
    assert_eq!(frame[16], 0x28, "level bits are 0 on the air");
    assert_ne!(&frame[30..58], &plaintext);

    // Receiver without the substitution: the MIC fails.
    let mut wrong = frame;
    let (aad, rest) = wrong.split_at_mut(30);
    let (payload, mic) = rest.split_at_mut(28);
    assert_eq!(ccm.decrypt_in_place(&nonce, aad, payload, mic), Err(SecurityError::MicMismatch));

    // Receiver with it.
    let mut aux = AuxHeaderView::new_checked(&mut frame[16..]).unwrap();
    let control = aux.security_control().effective(NWK_SECURITY_LEVEL);
    aux.set_security_level(control.level());
    let nonce = aux.to_repr().nonce(control.level(), None).unwrap();
    let (aad, rest) = frame.split_at_mut(30);
    let (payload, mic) = rest.split_at_mut(28);
    ccm.decrypt_in_place(&nonce, aad, payload, mic).unwrap();
    assert_eq!(payload, &plaintext);
}

proptest! {
    #[test]
    fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
        if let Some(r) = check_roundtrip::<AuxHeader>(&bytes) {
            let view = AuxHeaderView::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(view.to_repr(), r);
            prop_assert_eq!(view.header_len(), r.buffer_len());
        }
    }
}
