extern crate std;

use super::*;
use crate::security::aux_header::KeyIdentifier;
use proptest::prelude::*;
use std::vec::Vec;

const KEY_C0: [u8; 16] = [
    0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF,
];

fn h(s: &str) -> Vec<u8> {
    let s: std::string::String = s.split_whitespace().collect();
    let mut out = std::vec![0u8; s.len() / 2];
    assert_eq!(crate::hex::decode_into(&s, &mut out), Some(s.len() / 2));
    out
}

fn nonce(s: &str) -> Nonce {
    Nonce::from_bytes(h(s).try_into().unwrap())
}

/// ZigBee specification CCM* example (05-3474, Annex C "CCM* mode encryption and authentication
/// transformation", security level 6, M = 8), as quoted in public test suites:
/// andrebdo/c-crumbs `tests/aes-ccm.c` ("[ZIGBEE] C.3 CCM* Mode Encryption and Authentication
/// Transformation") and the `test_vectors_ccmstar` test of a public Rust CCM* crate, both with
/// nonce A0…A7 03 02 01 00 06 and expected output 1A 55 A3 … 94 69.
#[test]
fn zigbee_spec_annex_c_vector() {
    let n = nonce("A0A1A2A3A4A5A6A7 03020100 06");
    assert_eq!(n.level(), SecurityLevel::EncMic64);
    let a = h("0001020304050607");
    let m = h("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E");
    let want_c = h("1A55A36ABB6C610D066B3375649CEF10D4664ECAD854A8");
    let want_mic = h("0A895CC1D8FF9469");

    let key = Key128::new(KEY_C0);
    let mut payload = m.clone();
    let mut mic = [0u8; 8];
    encrypt_in_place(&key, &n, &a, &mut payload, &mut mic).unwrap();
    assert_eq!(payload, want_c);
    assert_eq!(mic.as_slice(), want_mic.as_slice());

    decrypt_in_place(&key, &n, &a, &mut payload, &mic).unwrap();
    assert_eq!(payload, m);
}

/// IEEE 802.15.4-2006/-2011 Annex C.2.1 "MAC beacon frame": security level 2 (MIC-64, no
/// encryption), everything authenticated, nothing encrypted. Vector as in GNU Nettle
/// `testsuite/ccm-test.c` and openthread `tests/unit/test_aes.cpp` (`TestMacBeaconFrame`).
/// Exercises the hand-written MIC-only path.
#[test]
fn ieee_802_15_4_c21_mic_only() {
    let n = nonce("ACDE480000000001 00000005 02");
    assert_eq!(n.level(), SecurityLevel::Mic64);
    let frame = h("08D08421430100000000 48DEAC 02 05000000 55CF0000 51525354");
    let want_mic = h("223BC1EC841AB553");
    let ccm = CcmStar::new(&Key128::new(KEY_C0));

    let mut mic = [0u8; 8];
    ccm.encrypt_in_place(&n, &frame, &mut [], &mut mic).unwrap();
    assert_eq!(mic.as_slice(), want_mic.as_slice());

    // ZigBee MIC-only: the payload is part of `a`, so where header ends and payload begins does
    // not change the MIC, and the payload stays in clear.
    for split in [0, 13, 18, frame.len()] {
        let (aad, rest) = frame.split_at(split);
        let mut payload = rest.to_vec();
        let mut mic = [0u8; 8];
        ccm.encrypt_in_place(&n, aad, &mut payload, &mut mic).unwrap();
        assert_eq!(mic.as_slice(), want_mic.as_slice(), "split {split}");
        assert_eq!(payload, rest);
        ccm.decrypt_in_place(&n, aad, &mut payload, &mic).unwrap();
        assert_eq!(payload, rest);
    }
}

/// IEEE 802.15.4 Annex C.2.2 "MAC data frame": security level 4 (encryption, no MIC). Same
/// sources as above (Nettle `ccm-test.c`: "C.2.2 MAC data frame"). Exercises the hand-written
/// CTR path.
#[test]
fn ieee_802_15_4_c22_encryption_only() {
    let n = nonce("ACDE480000000001 00000005 04");
    assert_eq!(n.level(), SecurityLevel::Enc);
    let aad = h("69DC842143020000000048DEAC010000000048DEAC 04 05000000");
    let mut payload = h("61626364");
    let ccm = CcmStar::new(&Key128::new(KEY_C0));
    ccm.encrypt_in_place(&n, &aad, &mut payload, &mut []).unwrap();
    assert_eq!(payload, h("D43E022B"));
    ccm.decrypt_in_place(&n, &aad, &mut payload, &[]).unwrap();
    assert_eq!(payload, h("61626364"));
}

/// IEEE 802.15.4 Annex C.2.3 "MAC command frame": security level 6 (ENC-MIC-64).
#[test]
fn ieee_802_15_4_c23_encryption_and_mic() {
    let n = nonce("ACDE480000000001 00000005 06");
    let aad = h("2BDC84214302000000 0048DEACFFFF01000000 0048DEAC 06 05000000 01");
    let mut payload = h("CE");
    let mut mic = [0u8; 8];
    encrypt_in_place(&Key128::new(KEY_C0), &n, &aad, &mut payload, &mut mic).unwrap();
    assert_eq!(payload, h("D8"));
    assert_eq!(mic.as_slice(), h("4FDE529061F9C6F1").as_slice());
}

#[test]
fn nonce_layout() {
    let control = SecurityControl::new(SecurityLevel::EncMic32, KeyIdentifier::Network, true);
    let n = Nonce::new(Eui64(0x0011_2233_4455_6677), 0x0A0B_0C0D, control);
    assert_eq!(
        n.as_bytes(),
        &[0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x0D, 0x0C, 0x0B, 0x0A, 0x2D]
    );
    assert_eq!(n.source(), Eui64(0x0011_2233_4455_6677));
    assert_eq!(n.frame_counter(), 0x0A0B_0C0D);
    assert_eq!(n.security_control(), control);
    assert_eq!(n.level(), SecurityLevel::EncMic32);
}

#[test]
fn level_table() {
    let mics: Vec<usize> = SecurityLevel::ALL.iter().map(|l| l.mic_len()).collect();
    assert_eq!(mics, [0, 4, 8, 16, 0, 4, 8, 16]);
    let enc: Vec<bool> = SecurityLevel::ALL.iter().map(|l| l.encrypts()).collect();
    assert_eq!(enc, [false, false, false, false, true, true, true, true]);
    for (i, l) in SecurityLevel::ALL.iter().enumerate() {
        assert_eq!(SecurityLevel::from_bits(i as u8 | 0xF8), *l);
        assert_eq!(l.bits(), i as u8);
    }
}

#[test]
fn bad_lengths() {
    let ccm = CcmStar::new(&Key128::new(KEY_C0));
    let n5 = nonce("00000000000000000000000005");
    let mut p = [0u8; 4];
    assert_eq!(ccm.encrypt_in_place(&n5, &[], &mut p, &mut [0; 8]), Err(SecurityError::BadLength));
    assert_eq!(ccm.decrypt_in_place(&n5, &[], &mut p, &[0; 3]), Err(SecurityError::BadLength));
    let n0 = nonce("00000000000000000000000000");
    assert_eq!(ccm.encrypt_in_place(&n0, &[], &mut p, &mut [0; 4]), Err(SecurityError::BadLength));
    let mut big = std::vec![0u8; 0x1_0000];
    assert_eq!(
        ccm.encrypt_in_place(&n5, &[], &mut big, &mut [0; 4]),
        Err(SecurityError::BadLength)
    );
    let n1 = nonce("00000000000000000000000001");
    let aad = std::vec![0u8; 0xFF00 - 4];
    assert_eq!(ccm.encrypt_in_place(&n1, &aad, &mut p, &mut [0; 4]), Err(SecurityError::BadLength));
    assert_eq!(ccm.encrypt_in_place(&n1, &aad, &mut p[..3], &mut [0; 4]), Ok(()));
}

/// The hand-written parts against the `ccm` crate: level 4's ciphertext is CCM's CTR output, and
/// a MIC-only level's MIC is CCM's tag for an empty message with adata = aad ‖ payload.
fn crate_ccm(level: SecurityLevel, n: &Nonce, adata: &[u8], msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use ccm::aead::KeyInit;
    let mut buf = msg.to_vec();
    let key = &KEY_C0.into();
    let nn = &(*n.as_bytes()).into();
    let tag: Vec<u8> = match level.mic_len() {
        4 => Ccm::<Aes128, U4, U13>::new(key)
            .encrypt_inout_detached(nn, adata, buf.as_mut_slice().into())
            .unwrap()
            .to_vec(),
        8 => Ccm::<Aes128, U8, U13>::new(key)
            .encrypt_inout_detached(nn, adata, buf.as_mut_slice().into())
            .unwrap()
            .to_vec(),
        _ => Ccm::<Aes128, U16, U13>::new(key)
            .encrypt_inout_detached(nn, adata, buf.as_mut_slice().into())
            .unwrap()
            .to_vec(),
    };
    (buf, tag)
}

fn level_strategy() -> impl Strategy<Value = SecurityLevel> {
    (0u8..8).prop_map(SecurityLevel::from_bits)
}

fn mic_level_strategy() -> impl Strategy<Value = SecurityLevel> {
    prop_oneof![1u8..4, 5u8..8].prop_map(SecurityLevel::from_bits)
}

proptest! {
    #[test]
    fn hand_written_levels_agree_with_ccm_crate(
        level in prop_oneof![1u8..5].prop_map(SecurityLevel::from_bits),
        nonce_head in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        payload in proptest::collection::vec(any::<u8>(), 0..70),
    ) {
        let mut nb = [0u8; 13];
        nb[..12].copy_from_slice(&nonce_head);
        nb[12] = level.bits();
        let n = Nonce::from_bytes(nb);
        let ccm = CcmStar::new(&Key128::new(KEY_C0));
        let mut p = payload.clone();
        let mut mic = std::vec![0u8; level.mic_len()];
        ccm.encrypt_in_place(&n, &aad, &mut p, &mut mic).unwrap();
        if level == SecurityLevel::Enc {
            let (c, _) = crate_ccm(SecurityLevel::EncMic32, &n, &aad, &payload);
            prop_assert_eq!(p, c);
        } else {
            let a: Vec<u8> = aad.iter().chain(payload.iter()).copied().collect();
            let (_, tag) = crate_ccm(level, &n, &a, &[]);
            prop_assert_eq!(mic, tag);
            prop_assert_eq!(p, payload);
        }
    }

    #[test]
    fn round_trip_all_levels(
        level in level_strategy(),
        key in any::<[u8; 16]>(),
        source in any::<u64>(),
        counter in any::<u32>(),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        payload in proptest::collection::vec(any::<u8>(), 0..90),
    ) {
        let control = SecurityControl::new(level, KeyIdentifier::Network, true);
        let n = Nonce::new(Eui64(source), counter, control);
        let ccm = CcmStar::new(&Key128::new(key));
        let mut p = payload.clone();
        let mut mic = std::vec![0u8; level.mic_len()];
        ccm.encrypt_in_place(&n, &aad, &mut p, &mut mic).unwrap();
        if level.encrypts() && payload.len() >= 8 {
            prop_assert_ne!(&p, &payload);
        }
        if !level.encrypts() {
            prop_assert_eq!(&p, &payload);
        }
        ccm.decrypt_in_place(&n, &aad, &mut p, &mic).unwrap();
        prop_assert_eq!(p, payload);
    }

    #[test]
    fn any_flipped_bit_is_a_mic_mismatch(
        level in mic_level_strategy(),
        key in any::<[u8; 16]>(),
        source in any::<u64>(),
        counter in any::<u32>(),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        payload in proptest::collection::vec(any::<u8>(), 1..90),
        bit in any::<prop::sample::Index>(),
    ) {
        let n = Nonce::new(Eui64(source), counter, SecurityControl(level.bits()));
        let ccm = CcmStar::new(&Key128::new(key));
        let mut p = payload.clone();
        let mut mic = std::vec![0u8; level.mic_len()];
        ccm.encrypt_in_place(&n, &aad, &mut p, &mut mic).unwrap();

        let (mut aad, mut mic) = (aad, mic);
        let total_bits = 8 * (aad.len() + p.len() + mic.len());
        let i = bit.index(total_bits);
        let (byte, mask) = (i / 8, 1u8 << (i % 8));
        if byte < aad.len() {
            aad[byte] ^= mask;
        } else if byte < aad.len() + p.len() {
            p[byte - aad.len()] ^= mask;
        } else {
            mic[byte - aad.len() - p.len()] ^= mask;
        }
        prop_assert_eq!(
            ccm.decrypt_in_place(&n, &aad, &mut p, &mic),
            Err(SecurityError::MicMismatch)
        );
        prop_assert!(p.iter().all(|&b| b == 0), "payload zeroed after a mismatch");
    }

    #[test]
    fn wrong_frame_counter_is_a_mic_mismatch(
        level in mic_level_strategy(),
        counter in 0u32..u32::MAX,
        payload in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let ccm = CcmStar::new(&Key128::new(KEY_C0));
        let n = Nonce::new(Eui64(1), counter, SecurityControl(level.bits()));
        let mut p = payload.clone();
        let mut mic = std::vec![0u8; level.mic_len()];
        ccm.encrypt_in_place(&n, b"hdr", &mut p, &mut mic).unwrap();
        let replayed = Nonce::new(Eui64(1), counter + 1, SecurityControl(level.bits()));
        prop_assert_eq!(
            ccm.decrypt_in_place(&replayed, b"hdr", &mut p, &mic),
            Err(SecurityError::MicMismatch)
        );
    }
}
