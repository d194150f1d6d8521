//! Group commit: one writer thread owns every write transaction.
//!
//! Submitters send jobs over a bounded channel (back-pressure when the writer falls behind). The
//! writer takes the first job, then everything else already waiting (up to `max_batch`), applies
//! them all in ONE redb write transaction and commits it with `Durability::Immediate` (fsync)
//! when any job in the batch needs durability; only after the commit returns does it answer each
//! submitter. So an `accept` answered `Ok` is on disk, and the fsync cost is shared by the whole
//! batch: while one batch is being synced, the next one accumulates.
//!
//! Jobs that do not need durability (`mark_sent`: losing it only means the delivery is sent
//! again, which recovery does anyway) commit with `Durability::None` when the batch holds
//! nothing else; redb persists them with the next durable commit.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, RwLock};

use redb::{Database, Durability};

use super::ops::{Txn, WriterState};
use super::StoreError;
use crate::model::EsiId;

/// One unit of work for the writer.
pub(crate) trait Job: Send {
    /// Applies the job. `Err` only for a fatal (storage) error, which aborts the batch; a logic
    /// error is kept as the job's own result.
    fn apply(&mut self, tx: &mut Txn<'_>) -> Result<(), StoreError>;
    /// Whether the batch holding it must be fsynced before answering.
    fn durable(&self) -> bool;
    /// Answers the submitter once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

/// A job made of a closure and a reply callback.
pub(crate) struct FnJob<T, F, R> {
    pub f: Option<F>,
    pub out: Option<Result<T, StoreError>>,
    pub reply: R,
    pub durable: bool,
}

impl<T, F, R> Job for FnJob<T, F, R>
where
    T: Send,
    F: FnOnce(&mut Txn<'_>) -> Result<T, StoreError> + Send,
    R: FnOnce(Result<T, StoreError>) + Send,
{
    fn apply(&mut self, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        let Some(f) = self.f.take() else { return Ok(()) };
        let r = f(tx);
        if let Err(e) = &r {
            if e.is_fatal() {
                return Err(e.clone());
            }
        }
        self.out = Some(r);
        Ok(())
    }

    fn durable(&self) -> bool {
        self.durable
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let this = *self;
        let r = match commit {
            Ok(()) => this.out.unwrap_or(Err(StoreError::Closed)),
            Err(e) => Err(e),
        };
        (this.reply)(r);
    }
}

/// Settings of the writer loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriterConfig {
    pub max_batch: usize,
    pub quick_repair: bool,
}

/// Batches of the writer, for metrics and the benchmark report.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Committed batches.
    pub batches: std::sync::atomic::AtomicU64,
    /// Jobs in committed batches.
    pub jobs: std::sync::atomic::AtomicU64,
    /// Batches committed with fsync.
    pub durable_batches: std::sync::atomic::AtomicU64,
}

/// The writer thread's body: runs until every sender is dropped.
pub(crate) fn run(
    db: &Database,
    mut st: WriterState,
    rx: &Receiver<Box<dyn Job>>,
    cfg: WriterConfig,
    esi_names: &Arc<RwLock<Vec<EsiId>>>,
    stats: &WriterStats,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(cfg.max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < cfg.max_batch.max(1) {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let durable = batch.iter().any(|j| j.durable());
        let result = commit_batch(db, &mut st, &mut batch, durable, cfg.quick_repair);
        if result.is_ok() {
            stats.batches.fetch_add(1, Relaxed);
            stats.jobs.fetch_add(batch.len() as u64, Relaxed);
            if durable {
                stats.durable_batches.fetch_add(1, Relaxed);
            }
            publish_esis(&mut st, esi_names);
        } else {
            // Counters and the ESI map may have moved inside the aborted transaction: read
            // them again from what is committed.
            st = reload(db).unwrap_or(st);
            st.new_esis.clear();
        }
        for j in batch.drain(..) {
            j.finish(result.clone());
        }
    }
}

fn commit_batch(
    db: &Database,
    st: &mut WriterState,
    batch: &mut [Box<dyn Job>],
    durable: bool,
    quick_repair: bool,
) -> Result<(), StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(if durable { Durability::Immediate } else { Durability::None })?;
    txn.set_quick_repair(quick_repair && durable);
    {
        let mut tx = Txn::open(&txn, st)?;
        for j in batch.iter_mut() {
            j.apply(&mut tx)?;
        }
        tx.save_counters()?;
    }
    txn.commit()?;
    Ok(())
}

fn reload(db: &Database) -> Result<WriterState, StoreError> {
    let txn = db.begin_write()?;
    let st = WriterState::load(&txn)?;
    txn.abort()?;
    Ok(st)
}

fn publish_esis(st: &mut WriterState, esi_names: &Arc<RwLock<Vec<EsiId>>>) {
    if st.new_esis.is_empty() {
        return;
    }
    if let Ok(mut names) = esi_names.write() {
        for (o, name) in st.new_esis.drain(..) {
            let o = o as usize;
            if names.len() <= o {
                names.resize(o + 1, EsiId::new(""));
            }
            if let Some(slot) = names.get_mut(o) {
                *slot = name;
            }
        }
    }
    st.new_esis.clear();
}

/// Sender side kept by the store.
pub(crate) type JobSender = SyncSender<Box<dyn Job>>;
