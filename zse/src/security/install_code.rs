//! Install codes (se10.md §8.1): the per-device secret from which the trust center derives the
//! joining device's preconfigured link key ([`crate::security::mmo::link_key_from_install_code`]).
//!
//! An install code is 6, 8, 12 or 16 random bytes followed by their CRC-16/X-25, appended
//! least-significant byte first; users see the CRC as part of the code ("18 bytes" for a Zigbee 3.0
//! code). Sources: se10.md §8.1; Silicon Labs, "Using Installation Codes with Zigbee Devices"
//! (docs.silabs.com, formerly AN1089), section "Installation Code Format" (lengths, CRC in little
//! endian, example code `83FED3407A939723A5C639B26916D505` with CRC 0xB5C3);
//! Koenkk/zigbee-herdsman `src/controller/helpers/installCodes.ts` (CRC byte order, label formats).
//!
//! The code is a secret: neither [`InstallCode`]'s `Debug` nor any [`InstallCodeError`] contains
//! its digits.

use crate::zcl::Eui64;
use core::fmt;

/// Install-code lengths without the CRC, in bytes (se10.md §8.1).
pub const CODE_LENGTHS: [usize; 4] = [6, 8, 12, 16];
/// Length of the CRC that follows the code.
pub const CRC_LEN: usize = 2;
/// Longest install code including its CRC.
pub const MAX_LEN: usize = 18;

/// CRC-16/X-25 (a.k.a. CRC-16/IBM-SDLC; poly 0x1021 reflected, init 0xFFFF, final XOR 0xFFFF;
/// check value 0x906E), table computed at compile time.
const X25: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC);

/// The CRC-16/X-25 of `data` (se10.md §8.1). On the wire and on labels it follows the code
/// least-significant byte first: `crc16_x25(code).to_le_bytes()`.
pub fn crc16_x25(data: &[u8]) -> u16 {
    X25.checksum(data)
}

/// Why text or bytes are not a valid install code. Never contains the code's digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstallCodeError {
    /// The code has `len` hex digits (two per byte for byte input), which is not one of the valid
    /// lengths: 16, 20, 28, 36 with the CRC, or 12, 16, 24, 32 without.
    BadLength { len: usize },
    /// The character at `position` (counted in characters from 0, over the whole text that was
    /// passed in) is neither a hex digit nor an accepted separator.
    NonHex { position: usize },
    /// The trailing CRC does not match the code (a typing error, most likely). `expected` is the
    /// CRC computed over the code, `found` the CRC that was given (both as the u16 value, i.e.
    /// bytes `found.to_le_bytes()` on the label). Only the CRC values are kept, never the code;
    /// `Display` omits even those, so that a user is not tempted to copy the "expected" CRC over a
    /// mistyped code.
    BadCrc { expected: u16, found: u16 },
    /// A label or QR payload whose structure was not understood.
    BadLabel { reason: &'static str },
}

impl fmt::Display for InstallCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength { len } => write!(
                f,
                "install code has {len} hex digits; expected 16, 20, 28 or 36 including the CRC \
                 (12, 16, 24 or 32 without it)"
            ),
            Self::NonHex { position } => {
                write!(f, "character at position {position} is not a hex digit")
            }
            Self::BadCrc { .. } => f.write_str(
                "install code CRC check failed: the code was probably mistyped (check every digit)",
            ),
            Self::BadLabel { reason } => write!(f, "install code label not understood: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for InstallCodeError {}

type Result<T> = core::result::Result<T, InstallCodeError>;

/// A validated install code including its CRC: 8, 10, 14 or 18 bytes (se10.md §8.1). The CRC is
/// always correct for the code; constructing one checks or computes it.
///
/// `Debug` shows only the length. Equality does not exit early on the first differing byte.
#[derive(Clone)]
pub struct InstallCode {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl InstallCode {
    /// Code and CRC as bytes: 8, 10, 14 or 18 of them. This is the input of the link-key hash.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }

    /// The code without its CRC (6, 8, 12 or 16 bytes).
    pub fn code(&self) -> &[u8] {
        self.bytes.get(..self.len - CRC_LEN).unwrap_or(&self.bytes)
    }

    /// The CRC-16/X-25 of [`code`](Self::code) (the last two bytes, little-endian).
    pub fn crc(&self) -> u16 {
        crc16_x25(self.code())
    }

    /// Length including the CRC, in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always false: an install code has at least 8 bytes.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// From a code without CRC (6, 8, 12 or 16 bytes); the CRC is computed and appended.
    pub fn from_code(code: &[u8]) -> Result<Self> {
        if !CODE_LENGTHS.contains(&code.len()) {
            return Err(InstallCodeError::BadLength { len: 2 * code.len() });
        }
        let mut bytes = [0u8; MAX_LEN];
        let crc = crc16_x25(code).to_le_bytes();
        for (dst, src) in bytes.iter_mut().zip(code.iter().chain(crc.iter())) {
            *dst = *src;
        }
        Ok(Self { bytes, len: code.len() + CRC_LEN })
    }

    /// From a code followed by its CRC (8, 10, 14 or 18 bytes); the CRC is verified.
    pub fn from_bytes_with_crc(bytes: &[u8]) -> Result<Self> {
        let code_len = bytes.len().wrapping_sub(CRC_LEN);
        let (code, crc) = match bytes.split_at_checked(code_len) {
            Some((code, &[lo, hi])) if CODE_LENGTHS.contains(&code_len) => {
                (code, u16::from_le_bytes([lo, hi]))
            }
            _ => return Err(InstallCodeError::BadLength { len: 2 * bytes.len() }),
        };
        let expected = crc16_x25(code);
        if expected != crc {
            return Err(InstallCodeError::BadCrc { expected, found: crc });
        }
        Self::from_code(code)
    }

    /// From bytes with or without the CRC, told apart by length: 10, 14 and 18 bytes carry a CRC
    /// (verified); 6, 12 and 16 bytes do not (computed and appended).
    ///
    /// 8 bytes is ambiguous (a 6-byte code with CRC, or an 8-byte code without); like
    /// zigbee-herdsman's `checkInstallCode`, it is taken as a 6-byte code with CRC and verified,
    /// because a CRC that catches typing errors is worth more than accepting a rare printed form.
    /// An 8-byte code printed without CRC goes through [`from_code`](Self::from_code) /
    /// [`parse_without_crc`](Self::parse_without_crc).
    ///
    /// 16 bytes without CRC are taken as a 16-byte code. Beware that some labels print a
    /// device-specific link key (already hashed) in that form; zigbee-herdsman therefore installs
    /// such a value both as a code and as a key. This type cannot tell the two apart.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match bytes.len() {
            8 | 10 | 14 | 18 => Self::from_bytes_with_crc(bytes),
            _ => Self::from_code(bytes),
        }
    }

    /// Parses a code as printed: hex digits, upper or lower case, optionally grouped with spaces,
    /// dashes (also typographic dashes from PDFs), colons or dots, optionally prefixed by `0x`.
    /// With or without the CRC as in [`from_bytes`](Self::from_bytes).
    pub fn parse(text: &str) -> Result<Self> {
        parse_code_at(text, 0, Self::from_bytes)
    }

    /// Like [`parse`](Self::parse), for a code printed without its CRC (6, 8, 12 or 16 bytes).
    pub fn parse_without_crc(text: &str) -> Result<Self> {
        parse_code_at(text, 0, Self::from_code)
    }
}

impl PartialEq for InstallCode {
    fn eq(&self, other: &Self) -> bool {
        super::key::ct_eq(self.as_bytes(), other.as_bytes())
    }
}

impl Eq for InstallCode {}

impl fmt::Debug for InstallCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstallCode(<redacted>, {} bytes)", self.len)
    }
}

/// An install code together with the EUI-64 of the device it belongs to, as read from a label or
/// a QR code. The trust center needs both: the key is valid only for that address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallCodeLabel {
    /// `None` when the text held only a code.
    pub eui64: Option<Eui64>,
    pub install_code: InstallCode,
}

impl InstallCodeLabel {
    /// Reads the printed and encoded forms found on devices and packaging:
    ///
    /// 1. QR payloads of `$`/`%`-separated `key:value` fields with the EUI-64 in `Z:` and the code
    ///    including CRC in `I:`, e.g.
    ///    `Z:000B57FFFE123456$I:83FED3407A939723A5C639B26916D505C3B5%G$M:...` (the "widely
    ///    adopted" form of Ubisys, Danfoss, Inovelli, Ledvance labels). Other fields are ignored.
    ///    Aqara's `G$M:...$A:<EUI-64>$I:<code>` carries the EUI-64 in `A:` instead.
    /// 2. Philips Hue's `HUE:Z:<code> M:<EUI-64>...`.
    /// 3. `<EUI-64>,<code>`, `<EUI-64>|<code>` (Müller-Licht, Innr) or `<EUI-64>;<code>`.
    /// 4. `<EUI-64> <code>`: exactly two whitespace-separated words, the first 16 hex digits
    ///    (colons or dashes inside a word are fine). A code printed in several space-separated
    ///    groups is therefore read as a bare code (rule 6), never split into address + code.
    /// 5. Bosch-style alphanumeric payloads `...<EUI-64>DLK<code with CRC>` (e.g.
    ///    `RB01SG...` / `ZB10SG...F4CE36D88AB8B6FDDLK<36 hex digits>`, 95 characters). When only
    ///    32 hex digits follow `DLK` (91 characters) they are a device-specific link key, not an
    ///    install code (Home Assistant ZHA reads them so; zigbee-herdsman adds them both ways),
    ///    and this function refuses them with [`InstallCodeError::BadLabel`] rather than derive a
    ///    wrong key from them.
    /// 6. Otherwise, a bare code as in [`InstallCode::parse`] (no EUI-64).
    ///
    /// Sources: Koenkk/zigbee-herdsman `src/controller/helpers/installCodes.ts` (`parseInstallCode`:
    /// forms 1, 2, 3 (pipe), 5) and `src/controller/controller.ts` (`addInstallCode`: a code
    /// without CRC "could also be an already-hashed key"); home-assistant/core
    /// `homeassistant/components/zha/helpers.py` (`QR_CODES`: Consciot pipe form, Enbrighten
    /// `Z:…$I:…`, Aqara `$A:…$I:…`, Bosch `RB01SG…DLK…`); the Silicon Labs install-code
    /// documentation for the code itself. No published Zigbee Alliance/CSA text for the QR
    /// payload was found. The comma, semicolon and space pair forms are what installers type
    /// into spreadsheets.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim_start();
        let base = text.chars().count() - trimmed.chars().count();
        let text = trimmed.trim_end();

        if let Some(rest) = strip_prefix_ci(text, "HUE:") {
            return parse_hue(text, rest, base);
        }
        if text.contains(['$', '%']) {
            return parse_fields(text, base);
        }
        if let Some(i) = text.find([',', '|', ';']) {
            let (eui, code) = (text.get(..i).unwrap_or(""), text.get(i + 1..).unwrap_or(""));
            if code.contains([',', '|', ';']) {
                return Err(InstallCodeError::BadLabel { reason: "more than two fields" });
            }
            return pair(eui, base, code, base + char_count(text, i + 1));
        }
        if text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            // ASCII only from here: byte offsets are character positions.
            let dlk_at = |tail: usize| {
                let at = text.len().checked_sub(tail + 3).filter(|&at| at >= 16)?;
                (text.get(at..at + 3) == Some("DLK")).then_some(at)
            };
            if let Some(at) = dlk_at(36) {
                let eui = text.get(at - 16..at).unwrap_or("");
                let code = text.get(at + 3..).unwrap_or("");
                return pair(eui, base + at - 16, code, base + at + 3);
            }
            if dlk_at(32).is_some() {
                return Err(InstallCodeError::BadLabel {
                    reason: "32 hex digits after DLK are a device link key, not an install code",
                });
            }
        }
        let mut words = text.split_whitespace();
        if let (Some(first), Some(second), None) = (words.next(), words.next(), words.next()) {
            if hex_digit_count(first) == 16 {
                let second_at = offset_in(text, second);
                return pair(first, base, second, base + char_count(text, second_at));
            }
        }
        let install_code = parse_code_at(text, base, InstallCode::from_bytes)?;
        Ok(Self { eui64: None, install_code })
    }
}

/// `HUE:Z:<code> M:<EUI-64> ...`
fn parse_hue(text: &str, rest: &str, base: usize) -> Result<InstallCodeLabel> {
    let Some(code_and_more) = strip_prefix_ci(rest, "Z:") else {
        return Err(InstallCodeError::BadLabel { reason: "HUE: label without Z: field" });
    };
    let mut words = code_and_more.split_whitespace();
    let code = words.next().unwrap_or("");
    let Some(eui) = words.find_map(|w| strip_prefix_ci(w, "M:")) else {
        return Err(InstallCodeError::BadLabel { reason: "HUE: label without M: field" });
    };
    let code_at = base + char_count(text, offset_in(text, code));
    let eui_at = base + char_count(text, offset_in(text, eui));
    pair(eui, eui_at, code, code_at)
}

/// `key:value` fields separated by `$` or `%`.
fn parse_fields(text: &str, base: usize) -> Result<InstallCodeLabel> {
    let mut z = None;
    let mut a = None;
    let mut i = None;
    for field in text.split(['$', '%']) {
        let Some((key, value)) = field.split_once(':') else { continue };
        let slot = match key.trim() {
            "Z" | "z" => &mut z,
            "A" | "a" => &mut a,
            "I" | "i" => &mut i,
            _ => continue,
        };
        if slot.is_some() {
            return Err(InstallCodeError::BadLabel { reason: "a field appears twice" });
        }
        *slot = Some(value);
    }
    let Some(code) = i else {
        return Err(InstallCodeError::BadLabel { reason: "no I: (install code) field" });
    };
    let code_at = base + char_count(text, offset_in(text, code));
    if let Some(eui) = z.or(a) {
        return pair(eui, base + char_count(text, offset_in(text, eui)), code, code_at);
    }
    let install_code = parse_code_at(code, code_at, InstallCode::from_bytes)?;
    Ok(InstallCodeLabel { eui64: None, install_code })
}

/// An EUI-64 text starting at character `eui_at` and a code text starting at character `code_at`.
fn pair(eui: &str, eui_at: usize, code: &str, code_at: usize) -> Result<InstallCodeLabel> {
    let mut raw = [0u8; 8];
    let digits = decode_hex(eui, eui_at, &mut raw)?;
    if digits != 16 {
        return Err(InstallCodeError::BadLabel { reason: "the EUI-64 must have 16 hex digits" });
    }
    let eui64 = Eui64(u64::from_be_bytes(raw));
    let install_code = parse_code_at(code, code_at, InstallCode::from_bytes)?;
    Ok(InstallCodeLabel { eui64: Some(eui64), install_code })
}

fn parse_code_at(
    text: &str,
    base: usize,
    make: fn(&[u8]) -> Result<InstallCode>,
) -> Result<InstallCode> {
    let mut buf = [0u8; MAX_LEN];
    let digits = decode_hex(text, base, &mut buf)?;
    if !digits.is_multiple_of(2) || digits > 2 * MAX_LEN {
        return Err(InstallCodeError::BadLength { len: digits });
    }
    make(buf.get(..digits / 2).unwrap_or(&buf))
}

/// Characters accepted between hex digits.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | ':' | '.' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{00A0}')
}

/// Decodes the hex digits of `text` into `out`, skipping separators and an optional leading `0x`.
/// Returns the number of hex digits; digits beyond `out` are counted but not stored. `base` is
/// the character position of `text` within the caller's input, for error positions.
fn decode_hex(text: &str, base: usize, out: &mut [u8]) -> Result<usize> {
    let lead = text.len() - text.trim_start().len();
    let (body, skipped) = match text.get(lead..lead + 2) {
        Some("0x" | "0X") => (text.get(lead + 2..).unwrap_or(""), char_count(text, lead) + 2),
        _ => (text, 0),
    };
    let mut digits = 0usize;
    for (i, c) in body.chars().enumerate() {
        if is_separator(c) {
            continue;
        }
        let v = c.to_digit(16).ok_or(InstallCodeError::NonHex { position: base + skipped + i })?;
        if let Some(b) = out.get_mut(digits / 2) {
            if digits.is_multiple_of(2) {
                *b = (v as u8) << 4;
            } else {
                *b |= v as u8;
            }
        }
        digits += 1;
    }
    Ok(digits)
}

/// Hex digits in `text` if it consists only of hex digits and separators, else 0.
fn hex_digit_count(text: &str) -> usize {
    decode_hex(text, 0, &mut []).unwrap_or(0)
}

/// Number of characters in the first `byte_offset` bytes of `text`.
fn char_count(text: &str, byte_offset: usize) -> usize {
    text.get(..byte_offset).map_or(0, |s| s.chars().count())
}

/// Byte offset of `sub` (a subslice of `text`) within `text`.
fn offset_in(text: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| text.get(prefix.len()..)).flatten()
}

#[cfg(test)]
mod tests;
