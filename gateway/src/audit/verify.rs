//! Verification of the hash chain (`gateway audit verify`).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{sha256_hex, split_line, AuditError, AuditRecord, GENESIS_HASH};

/// The last record of a log: what `<log>.head` holds and what to publish as an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records in the log.
    pub records: u64,
    /// Its last record (`None` if empty).
    pub head: Option<Head>,
    /// Whether a head (from `<log>.head` or the caller) was checked against the log.
    pub anchored: bool,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The first bad record: the `seq` the chain expects at the point where it breaks.
    pub seq: Option<u64>,
    /// 1-based line number in the file.
    pub line: Option<u64>,
    pub kind: TamperKind,
}

/// How the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TamperKind {
    /// The line is not a record (not UTF-8, not JSON, no hash at its end, bad fields).
    Unreadable(String),
    /// The record's hash does not match its contents: it was edited.
    HashMismatch,
    /// A record with another `seq` stands where this one should: records were deleted,
    /// inserted or reordered.
    SeqMismatch { found: u64 },
    /// `prev_hash` is not the previous record's hash: a record was replaced or inserted.
    PrevHashMismatch,
    /// The last line has no end: the file was cut inside a record.
    Incomplete,
    /// The log ends before the record the head names: records were cut off its end.
    Truncated { head_seq: u64 },
    /// The record the head names has another hash: the history was rewritten.
    HeadMismatch { head_hash: String },
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.seq, self.line) {
            (Some(s), Some(l)) => write!(f, "record seq {s} (line {l}): ")?,
            (Some(s), None) => write!(f, "record seq {s}: ")?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        match &self.kind {
            TamperKind::Unreadable(what) => write!(f, "{what} is not a readable audit record"),
            TamperKind::HashMismatch => f.write_str("hash does not match its contents (edited)"),
            TamperKind::SeqMismatch { found } => write!(
                f,
                "found seq {found} instead (records deleted, inserted or reordered)"
            ),
            TamperKind::PrevHashMismatch => f.write_str(
                "prev_hash is not the previous record's hash (record replaced or inserted)",
            ),
            TamperKind::Incomplete => f.write_str("the file ends inside this record (truncated)"),
            TamperKind::Truncated { head_seq } => write!(
                f,
                "missing: the log ends before seq {head_seq}, its recorded head (records cut off the end)"
            ),
            TamperKind::HeadMismatch { head_hash } => write!(
                f,
                "hash differs from the recorded head {head_hash} (history rewritten)"
            ),
        }
    }
}

pub(crate) fn head_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".head");
    PathBuf::from(p)
}

pub(crate) fn read_head(log: &Path) -> Result<Option<Head>, AuditError> {
    let path = head_path(log);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AuditError::Io { path, source }),
    };
    serde_json::from_str(&text).map(Some).map_err(|_| AuditError::Tampered {
        path,
        tamper: Tamper {
            seq: None,
            line: None,
            kind: TamperKind::Unreadable("the head file".into()),
        },
    })
}

/// Replaces the head file atomically (write a temporary file, rename it over).
pub(crate) fn write_head(path: &Path, head: &Head) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp)?;
    f.write_all(serde_json::to_string(head).unwrap_or_default().as_bytes())?;
    f.write_all(b"\n")?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Verifies the log at `path` against its own `<path>.head`, if there is one.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    let head = read_head(path)?;
    verify_against(path, head.as_ref())
}

/// Verifies the log at `path`, and that it contains `anchor` (a head published earlier). Fails
/// with [`AuditError::Tampered`] naming the first bad record.
pub fn verify_against(
    path: impl AsRef<Path>,
    anchor: Option<&Head>,
) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    let io = |source| AuditError::Io { path: path.to_path_buf(), source };
    let tampered = |seq: u64, line: u64, kind| AuditError::Tampered {
        path: path.to_path_buf(),
        tamper: Tamper { seq: Some(seq), line: Some(line), kind },
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut buf = Vec::new();
    let (mut expected, mut line_no) = (0u64, 0u64);
    let mut prev = GENESIS_HASH.to_string();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        line_no += 1;
        if buf.pop() != Some(b'\n') {
            return Err(tampered(expected, line_no, TamperKind::Incomplete));
        }
        let unreadable =
            |what: &str| tampered(expected, line_no, TamperKind::Unreadable(what.into()));
        let line = std::str::from_utf8(&buf).map_err(|_| unreadable("the line"))?;
        let (body, hash) = split_line(line).ok_or_else(|| unreadable("the line"))?;
        if sha256_hex(body.as_bytes()) != hash {
            return Err(tampered(expected, line_no, TamperKind::HashMismatch));
        }
        let rec: AuditRecord = serde_json::from_str(line).map_err(|_| unreadable("the line"))?;
        if rec.seq != expected {
            return Err(tampered(expected, line_no, TamperKind::SeqMismatch { found: rec.seq }));
        }
        if rec.prev_hash != prev {
            return Err(tampered(expected, line_no, TamperKind::PrevHashMismatch));
        }
        if let Some(a) = anchor.filter(|a| a.seq == rec.seq && a.hash != rec.hash) {
            let kind = TamperKind::HeadMismatch { head_hash: a.hash.clone() };
            return Err(tampered(expected, line_no, kind));
        }
        prev = rec.hash;
        expected += 1;
    }
    if let Some(a) = anchor.filter(|a| a.seq >= expected) {
        return Err(AuditError::Tampered {
            path: path.to_path_buf(),
            tamper: Tamper {
                seq: Some(expected),
                line: Some(line_no + 1),
                kind: TamperKind::Truncated { head_seq: a.seq },
            },
        });
    }
    Ok(VerifyReport {
        records: expected,
        head: expected.checked_sub(1).map(|seq| Head { seq, hash: prev }),
        anchored: anchor.is_some(),
    })
}
