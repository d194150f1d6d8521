//! The bridge's side of the audit log (design.md §8): one writer thread commits the bridge's
//! records in groups, like the store: it takes every record waiting, appends them to the
//! daemon's [`AuditLog`] (shared with the ctl socket behind a mutex: one writer of the file)
//! with one write and one fsync, and only then answers each submitter. A request is
//! acknowledged to the broker after its audit record is on disk, so an acknowledged request is
//! never missing from the log.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::audit::{AuditEntry, AuditError, AuditLog};

/// The daemon's audit log, shared by its writers.
pub type SharedLog = Arc<Mutex<AuditLog>>;

/// Records that may wait for the writer before submitters wait (back-pressure).
const QUEUE: usize = 8192;
/// Most records per write.
const MAX_BATCH: usize = 4096;

type Reply = Option<oneshot::Sender<bool>>;

/// Handle to the writer thread (cheap to clone).
#[derive(Debug, Clone)]
pub struct AuditWriter {
    tx: SyncSender<(AuditEntry, Reply)>,
    path: PathBuf,
}

impl AuditWriter {
    /// Starts the writer thread over the daemon's log (at `path`).
    pub fn start(log: SharedLog, path: &Path) -> Result<Self, AuditError> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(&log, &rx))
            .map_err(|e| AuditError::Io { path: path.to_path_buf(), source: e })?;
        Ok(Self { tx, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record and waits until it is durable; `false` if it could not be written
    /// (logged by the writer).
    pub async fn append(&self, entry: AuditEntry) -> bool {
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send((entry, Some(tx))) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(item)) => {
                // The writer is behind: wait for room off the async threads.
                let sender = self.tx.clone();
                let sent = tokio::task::spawn_blocking(move || sender.send(item).is_ok()).await;
                if !matches!(sent, Ok(true)) {
                    return false;
                }
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return false,
        }
        rx.await.unwrap_or(false)
    }

    /// Appends without waiting (outcome records of deliveries and devices).
    pub fn append_later(&self, entry: AuditEntry) {
        if self.tx.try_send((entry, None)).is_err() {
            tracing::warn!("audit writer is behind: an outcome record was not written");
        }
    }
}

fn run(log: &SharedLog, rx: &Receiver<(AuditEntry, Reply)>) {
    let mut entries = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Ok((e, r)) = rx.recv() {
        entries.push(e);
        replies.push(r);
        while entries.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((e, r)) => {
                    entries.push(e);
                    replies.push(r);
                }
                Err(_) => break,
            }
        }
        let batch = std::mem::take(&mut entries);
        let written = match log.lock() {
            Ok(mut l) => l.append_batch(batch).and_then(|_| l.sync()).map_err(|e| e.to_string()),
            Err(_) => Err("audit log lock poisoned".to_owned()),
        };
        let ok = match written {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "audit log append failed");
                false
            }
        };
        for r in replies.drain(..).flatten() {
            let _ = r.send(ok);
        }
    }
}
