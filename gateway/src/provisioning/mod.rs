//! Provisioning helpers (design.md §5, BR-068, BR-081, BR-084): install codes to link keys,
//! CSV input for bulk operations, and the store/ESI reconciliation in [`resync`].
//!
//! Install codes and link keys are secrets: nothing here logs them, and every error names only
//! the field and what is wrong with it (never the digits).

pub mod csv;
pub mod resync;

use firmware::host_link::LinkKey;
use zse::security::{link_key_from_install_code, InstallCodeLabel};

use crate::error::{ApiError, ErrorCode};
use crate::model::Eui64;
use crate::ops::util::eui_text;

/// Checks an install code as printed (hex with or without CRC, or a label / QR string; see
/// `zse::security::InstallCodeLabel::parse`), verifies its CRC, checks that a label's EUI-64
/// (if it carries one) is the device's, and derives the trust-centre link key.
pub fn link_key_for(install_code: &str, eui64: Eui64) -> Result<LinkKey, ApiError> {
    let bad = |msg: String| ApiError::new(ErrorCode::BadInstallCode, msg);
    let label =
        InstallCodeLabel::parse(install_code).map_err(|e| bad(format!("install_code: {e}")))?;
    if let Some(label_eui) = label.eui64 {
        if label_eui.0 != eui64.0 {
            return Err(bad(format!(
                "install_code: the label is for device {}, not {}",
                eui_text(Eui64(label_eui.0)),
                eui_text(eui64)
            )));
        }
    }
    let key = link_key_from_install_code(&label.install_code);
    Ok(LinkKey::new(*key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vector_gives_the_published_key() {
        // se10.md §8.1 / toolchain.md: code + CRC C3B5 → key 66B6900981E1EE3CA4206B6B861C02BB.
        let eui = Eui64(0x000B_57FF_FE12_3456);
        let key = link_key_for("83FED3407A939723A5C639B26916D505C3B5", eui).unwrap();
        let hex: String = key.expose().iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write;
            let _ = write!(s, "{b:02X}");
            s
        });
        assert_eq!(hex, "66B6900981E1EE3CA4206B6B861C02BB");
        // Without the CRC it is computed; a QR label with the same EUI-64 is accepted.
        assert_eq!(link_key_for("83FED3407A939723A5C639B26916D505", eui).unwrap(), key);
        let qr = "Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B5";
        assert_eq!(link_key_for(qr, eui).unwrap(), key);
    }

    #[test]
    fn errors_are_bad_install_code_without_digits() {
        let eui = Eui64(0x000B_57FF_FE12_3456);
        for bad in [
            "83FED3407A939723A5C639B26916D505C3B6",
            "83FED3407A939723A5C639B26916D505C3",
            "xyz",
            "Z:000B57FFFE999999$I:83FED3407A939723A5C639B26916D505C3B5",
        ] {
            let e = link_key_for(bad, eui).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadInstallCode, "{bad}");
            assert!(!e.message.contains("83FED340"), "{e}");
            assert!(!e.message.to_uppercase().contains("C3B5"), "{e}");
        }
        let crc = link_key_for("83FED3407A939723A5C639B26916D505C3B6", eui).unwrap_err();
        assert!(crc.message.contains("CRC"), "{crc}");
    }
}
