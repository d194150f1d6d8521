extern crate std;

use super::*;
use proptest::prelude::*;
use std::{format, string::String, vec::Vec};

/// Bit-by-bit CRC-16/X-25 written from the parameters in se10.md §8.1 (reflected poly 0x8408,
/// init 0xFFFF, final XOR 0xFFFF), independent of the `crc` crate's tables.
fn crc_bitwise(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
        }
    }
    !crc
}

fn unhex(s: &str) -> Vec<u8> {
    let mut out = std::vec![0u8; s.len() / 2];
    assert_eq!(crate::hex::decode_into(s, &mut out), Some(s.len() / 2));
    out
}

/// No run of 4 hex digits from the code appears in `text` (so neither the code nor a recognisable
/// part of it leaked into a message).
fn assert_no_code_in(text: &str, code_hex: &str) {
    let text = text.to_ascii_uppercase();
    let code: Vec<char> = code_hex.to_ascii_uppercase().chars().collect();
    for w in code.windows(4) {
        let frag: String = w.iter().collect();
        assert!(!text.contains(&frag), "{text:?} contains code fragment {frag}");
    }
}

const SPEC_CODE_16: &str = "83FED3407A939723A5C639B26916D505";

#[test]
fn crc_check_value() {
    assert_eq!(crc16_x25(b"123456789"), 0x906E);
    assert_eq!(crc_bitwise(b"123456789"), 0x906E);
}

/// se10.md §8.1 test vectors (rows 1 and 2: codes with CRC; from zigbee-herdsman
/// test/zspec/utils.test.ts and the Silicon Labs install-code documentation).
#[test]
fn spec_vectors_crc() {
    let c12 = InstallCode::parse("83FED3407A939723A5C639FF4C12").unwrap();
    assert_eq!(c12.crc(), 0x124C);
    assert_eq!(c12.as_bytes()[12..], [0x4C, 0x12]);
    assert_eq!(c12.len(), 14);

    let c16 = InstallCode::parse("83FED3407A939723A5C639B26916D505C3B5").unwrap();
    assert_eq!(c16.crc(), 0xB5C3);
    assert_eq!(c16.as_bytes()[16..], [0xC3, 0xB5]);
    assert_eq!(c16.code(), unhex(SPEC_CODE_16).as_slice());

    // Same code printed without its CRC: the CRC is computed and appended.
    assert_eq!(InstallCode::parse(SPEC_CODE_16).unwrap(), c16);
    assert_eq!(InstallCode::parse("83FED3407A939723A5C639FF").unwrap(), c12);
}

#[test]
fn every_code_length() {
    for code_len in CODE_LENGTHS {
        let code: Vec<u8> = (0..code_len as u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
        let crc = crc_bitwise(&code);
        let ic = InstallCode::from_code(&code).unwrap();
        assert_eq!(ic.len(), code_len + 2);
        assert_eq!(ic.code(), code.as_slice());
        assert_eq!(ic.crc(), crc);
        assert_eq!(&ic.as_bytes()[code_len..], &crc.to_le_bytes());

        let with_crc_hex = format!("{}", crate::hex::Hex(ic.as_bytes())).to_uppercase();
        let bare_hex = format!("{}", crate::hex::Hex(&code));
        assert_eq!(InstallCode::parse(&with_crc_hex).unwrap(), ic, "{code_len}+2 bytes");
        assert_eq!(InstallCode::from_bytes_with_crc(ic.as_bytes()).unwrap(), ic);
        assert_eq!(InstallCode::parse_without_crc(&bare_hex).unwrap(), ic);
        if code_len != 8 {
            // 8 bytes without CRC is ambiguous with 6 + CRC: see `from_bytes`.
            assert_eq!(InstallCode::parse(&bare_hex).unwrap(), ic, "{code_len} bytes");
        }
    }
}

#[test]
fn eight_bytes_are_a_six_byte_code_with_crc() {
    let six = InstallCode::from_code(&[1, 2, 3, 4, 5, 6]).unwrap();
    assert_eq!(InstallCode::from_bytes(six.as_bytes()).unwrap(), six);
    // An 8-byte code without CRC is refused by the CRC check unless entered explicitly.
    let eight = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    assert!(matches!(InstallCode::from_bytes(&eight), Err(InstallCodeError::BadCrc { .. })));
    assert_eq!(InstallCode::from_code(&eight).unwrap().len(), 10);
    assert_eq!(InstallCode::parse_without_crc("1122334455667788").unwrap().len(), 10);
}

#[test]
fn separators_and_prefix() {
    let want = InstallCode::parse("83FED3407A939723A5C639B26916D505C3B5").unwrap();
    for text in [
        "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5",
        "83fe-d340-7a93-9723-a5c6-39b2-6916-d505-c3b5",
        "83:FE:D3:40:7A:93:97:23:A5:C6:39:B2:69:16:D5:05:C3:B5",
        "  0x83FED3407A939723A5C639B26916D505C3B5\n",
        "83FE\u{2013}D340\u{2013}7A93\u{2013}9723\u{2013}A5C6\u{2013}39B2\u{2013}6916\u{2013}D505\u{2013}C3B5",
        "83FED340 7A939723\tA5C639B2 6916D505 C3B5",
    ] {
        assert_eq!(InstallCode::parse(text).unwrap(), want, "{text:?}");
        assert_eq!(InstallCodeLabel::parse(text).unwrap().install_code, want, "{text:?}");
    }
}

#[test]
fn wrong_crc_is_refused_without_revealing_the_code() {
    let e = InstallCode::parse("83FED3407A939723A5C639B26916D505C3B4").unwrap_err();
    assert_eq!(e, InstallCodeError::BadCrc { expected: 0xB5C3, found: 0xB4C3 });
    assert_no_code_in(&format!("{e}"), SPEC_CODE_16);
    assert!(!format!("{e}").contains("B5C3") && !format!("{e}").contains("b5c3"));
}

#[test]
fn non_hex_names_the_position_never_the_code() {
    let text = "83FE D340 7A93 9723 A5C6 39B2 6916 D5O5 C3B5"; // letter O in "D5O5"
    let e = InstallCode::parse(text).unwrap_err();
    assert_eq!(e, InstallCodeError::NonHex { position: 37 });
    assert_eq!(text.chars().nth(37), Some('O'));
    assert_no_code_in(&format!("{e} {e:?}"), SPEC_CODE_16);
    // Positions count characters of the whole input, also after multi-byte separators and
    // inside labels.
    let e = InstallCode::parse("83FE\u{2013}D34G").unwrap_err();
    assert_eq!(e, InstallCodeError::NonHex { position: 8 });
    let label = "Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D5g5C3B5";
    let e = InstallCodeLabel::parse(label).unwrap_err();
    assert_eq!(e, InstallCodeError::NonHex { position: label.find('g').unwrap() });
    let e = InstallCodeLabel::parse("000B57FFFE12345X,83FED3407A939723A5C639FF4C12").unwrap_err();
    assert_eq!(e, InstallCodeError::NonHex { position: 15 });
}

#[test]
fn bad_lengths() {
    let bl = |len| Err(InstallCodeError::BadLength { len });
    assert_eq!(InstallCode::parse(""), bl(0));
    assert_eq!(InstallCode::parse("83FED3407A939723A5C639B26916D505C3B"), bl(35));
    assert_eq!(InstallCode::parse("83FED3407A939723A5C639B26916D505C3B5AA"), bl(38));
    assert_eq!(InstallCode::parse("0011223344556677889900"), bl(22));
    assert_eq!(InstallCode::from_code(&[0; 7]), bl(14));
    assert_eq!(InstallCode::from_bytes_with_crc(&[0; 12]), bl(24));
    assert_eq!(InstallCode::from_bytes_with_crc(&[0; 1]), bl(2));
    assert_eq!(InstallCode::from_bytes_with_crc(&[]), bl(0));
    assert_eq!(InstallCode::parse_without_crc("83FED3407A939723A5C639B26916D505C3B5"), bl(36));
    let long = "83FED3407A939723A5C639B26916D505C3B583FED3407A939723A5C639B26916D505C3B5";
    assert_eq!(InstallCode::parse(long), bl(72));
}

#[test]
fn debug_is_redacted() {
    let ic = InstallCode::parse("83FED3407A939723A5C639B26916D505C3B5").unwrap();
    let label = InstallCodeLabel { eui64: Some(Eui64(0x000B_57FF_FE12_3456)), install_code: ic };
    let dbg = format!("{label:?} {:?} {:#?}", label.install_code, label);
    assert!(dbg.contains("InstallCode(<redacted>, 18 bytes)"), "{dbg}");
    assert_no_code_in(&dbg, "83FED3407A939723A5C639B26916D505C3B5");
}

#[test]
fn qr_payload_with_z_and_i_fields() {
    let want = InstallCode::parse("83FED3407A939723A5C639B26916D505C3B5").unwrap();
    let eui = Some(Eui64(0x000B_57FF_FE12_3456));
    for text in [
        "Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B5",
        "Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B5%G$M:ABC-123",
        "Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B5%M:113D$P:1234$S:5678",
        "G$M:lumi.sensor$A:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B5",
        "X:1$Z:000b57fffe123456%I:83fed3407a939723a5c639b26916d505c3b5$D:AABB",
        "HUE:Z:83FED3407A939723A5C639B26916D505C3B5 M:000B57FFFE123456 D:Y$A:1",
        "000B57FFFE123456|83FED3407A939723A5C639B26916D505C3B5",
        "000B57FFFE123456,83FED3407A939723A5C639B26916D505C3B5",
        "00:0B:57:FF:FE:12:34:56, 83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5",
        "000B57FFFE123456; 83FED3407A939723A5C639B26916D505",
        "000B57FFFE123456 83FED3407A939723A5C639B26916D505C3B5",
        "  00-0B-57-FF-FE-12-34-56\t83FED3407A939723A5C639B26916D505C3B5  ",
    ] {
        let got = InstallCodeLabel::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(got.eui64, eui, "{text:?}");
        assert_eq!(got.install_code, want, "{text:?}");
    }
}

/// The Bosch-style `...<EUI-64>DLK<code>` payload, with the example from zigbee-herdsman's
/// `installCodes.ts` comments (code `00112233...EEFF`, CRC `528F`).
#[test]
fn bosch_dlk_payload() {
    let text = "ZB10SG0D83101823480040000000000000000000F4CE36D88AB8B6FDDLK00112233445566778899AABBCCDDEEFF528F";
    assert_eq!(text.len(), 95);
    let got = InstallCodeLabel::parse(text).unwrap();
    assert_eq!(got.eui64, Some(Eui64(0xF4CE_36D8_8AB8_B6FD)));
    assert_eq!(got.install_code.code(), unhex("00112233445566778899AABBCCDDEEFF").as_slice());
    assert_eq!(got.install_code.crc(), 0x8F52);
    // A wrong CRC after DLK is a CRC error like anywhere else.
    let bad = text.replace("528F", "528E");
    assert!(matches!(InstallCodeLabel::parse(&bad), Err(InstallCodeError::BadCrc { .. })));
    // 32 digits after DLK are a device-specific link key (as Home Assistant ZHA reads Bosch's
    // RB01SG labels): refused rather than hashed into a wrong key.
    let short = &text[..91];
    assert!(matches!(InstallCodeLabel::parse(short), Err(InstallCodeError::BadLabel { .. })));
}

#[test]
fn bare_code_label_has_no_eui() {
    let got = InstallCodeLabel::parse("83FED3407A939723A5C639FF4C12").unwrap();
    assert_eq!(got.eui64, None);
    assert_eq!(got.install_code.len(), 14);
    let got = InstallCodeLabel::parse("$I:83FED3407A939723A5C639FF4C12").unwrap();
    assert_eq!(got.eui64, None);
}

#[test]
fn label_errors() {
    let bad = |reason| Err(InstallCodeError::BadLabel { reason });
    assert_eq!(
        InstallCodeLabel::parse("Z:000B57FFFE123456$X:00"),
        bad("no I: (install code) field")
    );
    assert_eq!(
        InstallCodeLabel::parse("Z:000B57FFFE1234$I:83FED3407A939723A5C639FF4C12"),
        bad("the EUI-64 must have 16 hex digits")
    );
    assert_eq!(InstallCodeLabel::parse("Z:1$Z:2$I:3"), bad("a field appears twice"));
    assert_eq!(InstallCodeLabel::parse("a,b,c"), bad("more than two fields"));
    assert_eq!(
        InstallCodeLabel::parse("HUE:M:000B57FFFE123456"),
        bad("HUE: label without Z: field")
    );
    assert_eq!(
        InstallCodeLabel::parse("HUE:Z:83FED3407A939723A5C639FF4C12"),
        bad("HUE: label without M: field")
    );
    // A wrong CRC inside a label is a CRC error, and says nothing of the code.
    let e = InstallCodeLabel::parse("Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B6")
        .unwrap_err();
    assert!(matches!(e, InstallCodeError::BadCrc { expected: 0xB5C3, .. }));
    assert_no_code_in(&format!("{e} {e:?}"), SPEC_CODE_16);
}

proptest! {
    #[test]
    fn crc_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(crc16_x25(&data), crc_bitwise(&data));
    }

    #[test]
    fn any_valid_code_round_trips_through_text(
        code in prop_oneof![
            proptest::collection::vec(any::<u8>(), 6),
            proptest::collection::vec(any::<u8>(), 8),
            proptest::collection::vec(any::<u8>(), 12),
            proptest::collection::vec(any::<u8>(), 16),
        ],
        eui in any::<u64>(),
        sep in prop_oneof![Just(""), Just(" "), Just("-"), Just(":")],
    ) {
        let ic = InstallCode::from_code(&code).unwrap();
        let digits: Vec<String> = ic.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        let text = digits.join(sep);
        prop_assert_eq!(&InstallCode::parse(&text).unwrap(), &ic);
        let qr = format!("Z:{eui:016X}$I:{}", digits.concat());
        let label = InstallCodeLabel::parse(&qr).unwrap();
        prop_assert_eq!(label.eui64, Some(Eui64(eui)));
        prop_assert_eq!(&label.install_code, &ic);
        // Flip one bit of the code (not the CRC): always caught by the CRC.
        let mut bytes = ic.as_bytes().to_vec();
        bytes[0] ^= 0x01;
        let refused = matches!(
            InstallCode::from_bytes_with_crc(&bytes),
            Err(InstallCodeError::BadCrc { .. })
        );
        prop_assert!(refused);
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,120}") {
        let _ = InstallCode::parse(&text);
        let _ = InstallCodeLabel::parse(&text);
    }
}
