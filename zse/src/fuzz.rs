//! Fuzz entry points. Each takes arbitrary bytes, runs a parser, and checks the codec laws on
//! whatever parses; a law violation panics (that is what the fuzzer looks for). The same functions
//! run under proptest in `cargo test` and replay the committed corpus in `zse/tests/fuzz_corpus.rs`,
//! so `cargo fuzz` is not needed to exercise them.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::zcl::{ClusterId, Frame};

/// Largest frame the round-trip buffer holds; ZCL frames fit an 802.15.4 frame (127 bytes), but
/// the fuzzer may try longer ones.
const MAX: usize = 4096;

/// `data` = cluster id (2 bytes, LE) followed by a ZCL frame.
pub fn zcl_frame(data: &[u8]) {
    let (Some(&lo), Some(&hi)) = (data.first(), data.get(1)) else { return };
    let cluster = ClusterId(u16::from_le_bytes([lo, hi]));
    let bytes = data.get(2..).unwrap_or(&[]);
    let Ok(frame) = Frame::parse(cluster, bytes) else { return };
    let len = frame.buffer_len();
    if len > MAX {
        return;
    }
    let mut out = [0u8; MAX];
    let n = frame.emit(&mut out).expect("emit of a parsed frame");
    assert_eq!(n, len, "emit length != buffer_len");
    let again = Frame::parse(cluster, &out[..n]).expect("re-parse of an emitted frame");
    assert_eq!(again, frame, "parse(emit(x)) != x");
}

/// Install-code text and label/QR payloads: any text either parses to a code whose CRC checks,
/// or is refused with an error whose message does not echo the input's hex digits.
pub fn install_code_text(data: &[u8]) {
    use crate::security::{InstallCode, InstallCodeLabel};
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(code) = InstallCode::parse(text) {
        let bytes = code.as_bytes();
        let crc = crate::security::install_code::crc16_x25(code.code());
        assert_eq!(code.crc(), crc, "accepted a code whose CRC does not check");
        assert_eq!(bytes.len(), code.code().len() + 2);
    }
    if let Ok(label) = InstallCodeLabel::parse(text) {
        let code = label.install_code;
        assert_eq!(code.crc(), crate::security::install_code::crc16_x25(code.code()));
    }
}

/// The auxiliary security header: codec laws as for ZCL frames.
pub fn aux_header(data: &[u8]) {
    use crate::field::Repr;
    use crate::security::AuxHeader;
    let Ok(h) = AuxHeader::parse(data) else { return };
    let mut out = [0u8; 32];
    let n = h.emit(&mut out).expect("emit of a parsed aux header");
    assert_eq!(n, h.buffer_len());
    assert_eq!(AuxHeader::parse(&out[..n]).expect("re-parse"), h);
}

/// CCM* decryption of attacker-controlled bytes never panics, and a frame we secure with the
/// same inputs always opens again. `data` = level byte, then aad length byte, aad, payload.
pub fn ccm_star(data: &[u8]) {
    use crate::security::{CcmStar, Key128, KeyIdentifier, Nonce, SecurityControl, SecurityLevel};
    let (Some(&level), Some(&aad_len)) = (data.first(), data.get(1)) else { return };
    let rest = data.get(2..).unwrap_or(&[]);
    let split = usize::from(aad_len).min(rest.len());
    let (aad, body) = rest.split_at(split);
    let level = SecurityLevel::from_bits(level);
    let control = SecurityControl::new(level, KeyIdentifier::Network, true);
    let nonce = Nonce::new(crate::zcl::Eui64(0x0102_0304_0506_0708), 7, control);
    let ccm = CcmStar::new(&Key128::new([0x42; 16]));
    let mic_len = level.mic_len();
    let body = body.get(..body.len().min(256)).unwrap_or(body);
    let mut buf = [0u8; 256];
    // Opening arbitrary bytes: any result but a panic is fine.
    if body.len() >= mic_len {
        let (payload, mic) = body.split_at(body.len() - mic_len);
        let p = &mut buf[..payload.len()];
        p.copy_from_slice(payload);
        let _ = ccm.decrypt_in_place(&nonce, aad, p, mic);
    }
    // Sealing then opening must give the plaintext back.
    let p = &mut buf[..body.len()];
    p.copy_from_slice(body);
    let mut mic = [0u8; 16];
    if ccm.encrypt_in_place(&nonce, aad, p, &mut mic[..mic_len]).is_ok() {
        ccm.decrypt_in_place(&nonce, aad, p, &mic[..mic_len]).expect("open what we sealed");
        assert_eq!(&*p, body);
    }
}

/// 802.15.4 + NWK + APS parsing, plain and with security removal: never panics, and a secured
/// frame that opens has a consistent header chain.
pub fn se_frame(data: &[u8]) {
    use crate::frame::{parse_se_frame, parse_secured_se_frame, Keyring};
    use crate::security::{FrameCounterCheck, Key128};
    let _ = parse_se_frame(data);
    let mut buf = [0u8; 256];
    let Some(frame) = buf.get_mut(..data.len()) else { return };
    frame.copy_from_slice(data);
    let nwk_keys = [(0u8, Key128::new([0x11; 16]))];
    let link_keys = [(crate::zcl::Eui64(0x0102_0304_0506_0708), Key128::new([0x22; 16]))];
    let keys = Keyring { network_keys: &nwk_keys, link_keys: &link_keys, address_map: &[] };
    let mut nwk_counters = FrameCounterCheck::<4>::new();
    if let Ok(f) = parse_secured_se_frame(frame, &keys, Some(&mut nwk_counters), None) {
        assert!(f.aps.is_some() || f.aps_payload.is_empty());
    }
}
