//! The secret scan: looks for install codes, link keys and network keys in everything a run
//! left behind that is not supposed to hold them (gateway logs, MQTT payloads the portal saw
//! (events, responses, retained statuses), the audit log).
//!
//! Forms searched, for every secret: hex in either case with any separators (`83FED340…`,
//! `83-FE-D3-40…`, `83:fe:…`, `83FE D340 …`; the haystack keeps only hex digits, so a secret
//! split by any punctuation or whitespace is still found), an install code without its CRC,
//! standard and URL-safe base64, and a decimal byte list (`[131,254,211,…]`, spaces ignored).

use base64::Engine as _;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One secret and what it is.
#[derive(Debug, Clone)]
pub struct Secret {
    pub what: &'static str,
    pub bytes: Vec<u8>,
}

impl Secret {
    pub fn from_bytes(what: &'static str, bytes: &[u8]) -> Self {
        Self { what, bytes: bytes.to_vec() }
    }

    /// From hex text (non-hex characters ignored).
    pub fn from_hex(what: &'static str, text: &str) -> Self {
        let digits: Vec<u8> =
            text.chars().filter_map(|c| c.to_digit(16)).map(|d| d as u8).collect();
        let bytes = digits
            .chunks_exact(2)
            .filter_map(|p| match p {
                [a, b] => Some((a << 4) | b),
                _ => None,
            })
            .collect();
        Self { what, bytes }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// (form name, needle, whether it is searched in the hex-only haystack)
    fn needles(&self) -> Vec<(&'static str, String, bool)> {
        let mut v = vec![("hex", Self::hex(&self.bytes), true)];
        if self.what == "install code" && self.bytes.len() > 8 {
            let without_crc = self.bytes.get(..self.bytes.len() - 2).unwrap_or_default();
            v.push(("hex without CRC", Self::hex(without_crc), true));
        }
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&self.bytes);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.bytes);
        // A base64 needle without its last (partial) character matches both padded forms.
        let cut = |s: String| s.chars().take(s.len().saturating_sub(1)).collect::<String>();
        v.push(("base64", cut(b64), false));
        v.push(("base64url", cut(b64url), false));
        let dec: Vec<String> = self.bytes.iter().map(u8::to_string).collect();
        v.push(("decimal bytes", dec.join(","), false));
        v
    }
}

/// One secret found somewhere.
#[derive(Debug, Clone)]
pub struct Finding {
    pub file: PathBuf,
    pub what: &'static str,
    pub form: &'static str,
}

/// What the scan looked at and found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub files: usize,
    pub bytes: usize,
    pub secrets: usize,
    pub findings: Vec<Finding>,
}

/// Scans `text` (named `file`) for `secrets`.
pub fn scan_text(file: &Path, text: &str, secrets: &[Secret], out: &mut ScanReport) {
    let hex_only: String =
        text.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).collect();
    let no_space: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for s in secrets {
        for (form, needle, in_hex) in s.needles() {
            if needle.len() < 12 {
                continue;
            }
            let hit = if in_hex { hex_only.contains(&needle) } else { no_space.contains(&needle) };
            if hit {
                out.findings.push(Finding { file: file.to_path_buf(), what: s.what, form });
            }
        }
    }
    out.files += 1;
    out.bytes += text.len();
}

/// Scans every file in `files` (missing ones are skipped; binary content is read lossily).
pub fn scan_files(files: &[PathBuf], secrets: &[Secret]) -> ScanReport {
    let mut r = ScanReport { secrets: secrets.len(), ..ScanReport::default() };
    for f in files {
        if let Ok(bytes) = std::fs::read(f) {
            scan_text(f, &String::from_utf8_lossy(&bytes), secrets, &mut r);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_form_and_nothing_else() {
        let code = Secret::from_hex("install code", "83FED3407A939723A5C639B26916D505C3B5");
        let key = Secret::from_bytes("link key", &[0xAB; 16]);
        let secrets = vec![code, key];
        let forms = [
            "code 83FED3407A939723A5C639B26916D505C3B5 here",
            "83-FE-D3-40-7A-93-97-23-A5-C6-39-B2-69-16-D5-05",
            "83fe d340 7a93 9723 a5c6 39b2 6916 d505 c3b5",
            "key q6urq6urq6urq6urq6urqw==",
            "[171, 171, 171, 171, 171, 171, 171, 171, 171, 171, 171, 171, 171, 171, 171, 171]",
        ];
        for f in forms {
            let mut r = ScanReport::default();
            scan_text(Path::new("x"), f, &secrets, &mut r);
            assert!(!r.findings.is_empty(), "not found in {f:?}");
        }
        let mut r = ScanReport::default();
        scan_text(
            Path::new("x"),
            "eui64 000d6f0000000001 delivered 83FED340 at 2026-01-01T00:00:00Z",
            &secrets,
            &mut r,
        );
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }
}
