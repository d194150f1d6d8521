//! The writer: appends records to the log file and keeps the chain's head.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::verify::{head_path, read_head, write_head, Head, Tamper, TamperKind};
use super::{
    canonicalize, encode_line, redact_in_place, split_line, AuditEntry, AuditError, AuditRecord,
    GENESIS_HASH,
};

/// When appended records are made durable (see the module docs of [`super`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// fsync after every [`AuditLog::append`] / [`AuditLog::append_batch`].
    #[default]
    EveryAppend,
    /// Only on [`AuditLog::sync`].
    Manual,
}

/// An open audit log, the only writer of its file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
    policy: SyncPolicy,
    next_seq: u64,
    last_hash: String,
    /// Records written since the last sync.
    unsynced: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io { path: path.to_path_buf(), source }
}

/// The last complete line of `file` (without `\n`) and the length of the file up to and
/// including it. Reads backwards in growing chunks, so reopening a big log is cheap.
fn last_line(file: &mut File, path: &Path) -> Result<(Option<String>, u64), AuditError> {
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut chunk: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start)).map_err(io_err(path))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::by_ref(file).take(len - start).read_to_end(&mut buf).map_err(io_err(path))?;
        // Complete data ends at the last '\n'; anything after it is a torn write.
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            if start == 0 {
                return Ok((None, 0));
            }
            chunk = chunk.saturating_mul(2);
            continue;
        };
        let line_start = buf.get(..end).and_then(|b| b.iter().rposition(|&c| c == b'\n'));
        if line_start.is_none() && start > 0 {
            chunk = chunk.saturating_mul(2);
            continue;
        }
        let from = line_start.map_or(0, |i| i + 1);
        let line = buf.get(from..end).unwrap_or_default();
        return Ok((Some(String::from_utf8_lossy(line).into_owned()), start + end as u64 + 1));
    }
}

impl AuditLog {
    /// Opens (or creates) the log at `path` and positions after its last record. A torn last
    /// line (crash during a write) is cut off. Refuses a log whose last record is unreadable or
    /// that ends before the head says it should ([`super::verify()`] tells more).
    pub fn open(path: impl AsRef<Path>, policy: SyncPolicy) -> Result<Self, AuditError> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        let (last, complete_len) = last_line(&mut file, &path)?;
        if complete_len < len {
            tracing::warn!(
                path = %path.display(),
                bytes = len - complete_len,
                "audit log ends with a torn record (crash during a write); cutting it off"
            );
            file.set_len(complete_len).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        let (next_seq, last_hash) = match last {
            None => (0, GENESIS_HASH.to_string()),
            Some(line) => {
                let parsed = split_line(&line)
                    .and_then(|(_, hash)| {
                        serde_json::from_str::<AuditRecord>(&line).ok().map(|r| (r, hash))
                    })
                    .filter(|(r, hash)| r.hash == *hash);
                let Some((rec, _)) = parsed else {
                    return Err(AuditError::Tampered {
                        path,
                        tamper: Tamper {
                            seq: None,
                            line: None,
                            kind: TamperKind::Unreadable("the last record".into()),
                        },
                    });
                };
                (rec.seq + 1, rec.hash)
            }
        };
        if let Some(head) = read_head(&path)? {
            if head.seq >= next_seq {
                return Err(AuditError::Tampered {
                    path,
                    tamper: Tamper {
                        seq: Some(next_seq),
                        line: None,
                        kind: TamperKind::Truncated { head_seq: head.seq },
                    },
                });
            }
        }
        Ok(Self { path, file, policy, next_seq, last_hash, unsynced: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `seq` the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The chain's head: the last record's `seq` and `hash` (`None` while empty).
    pub fn head(&self) -> Option<Head> {
        self.next_seq.checked_sub(1).map(|seq| Head { seq, hash: self.last_hash.clone() })
    }

    /// Appends one record (its `detail` redacted) and returns it as stored.
    pub fn append(&mut self, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        let mut out = self.append_batch(vec![entry])?;
        out.pop().ok_or_else(|| AuditError::Encode("empty batch".into()))
    }

    /// Appends records with one write (and, with [`SyncPolicy::EveryAppend`], one fsync).
    pub fn append_batch(
        &mut self,
        entries: Vec<AuditEntry>,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        let mut buf = String::new();
        let mut records = Vec::with_capacity(entries.len());
        let (mut seq, mut prev) = (self.next_seq, self.last_hash.clone());
        for mut entry in entries {
            if let Some(d) = entry.detail.as_mut() {
                redact_in_place(d);
                canonicalize(d);
            }
            let (line, hash) = encode_line(seq, &entry, &prev)?;
            buf.push_str(&line);
            records.push(AuditRecord { seq, entry, prev_hash: prev, hash: hash.clone() });
            seq += 1;
            prev = hash;
        }
        if records.is_empty() {
            return Ok(records);
        }
        let before = self.file.metadata().map_err(io_err(&self.path))?.len();
        if let Err(e) = self.file.write_all(buf.as_bytes()) {
            // A partial write would leave a torn line or records the chain does not count:
            // cut the file back so it stays appendable.
            if let Err(e2) = self.file.set_len(before) {
                tracing::error!(error = %e2, "audit log could not be cut back after a failed write");
            }
            return Err(io_err(&self.path)(e));
        }
        self.next_seq = seq;
        self.last_hash = prev;
        self.unsynced = true;
        if self.policy == SyncPolicy::EveryAppend {
            self.sync()?;
        }
        Ok(records)
    }

    /// Makes every record written so far durable, then records the head.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        if !self.unsynced {
            return Ok(());
        }
        self.file.sync_data().map_err(io_err(&self.path))?;
        self.unsynced = false;
        if let Some(head) = self.head() {
            write_head(&head_path(&self.path), &head).map_err(io_err(&self.path))?;
        }
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            tracing::error!(error = %e, "audit log could not be synced on close");
        }
    }
}
