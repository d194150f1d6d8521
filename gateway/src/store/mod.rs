//! Durable store of the delivery queue, devices and groups (design.md §4, §9).
//!
//! One redb file, postcard records (`tables`), one writer thread doing group commit (`writer`).
//!
//! Guarantees:
//! - **Accept = committed.** [`Store::accept`] returns only after the write transaction holding
//!   the request and all its deliveries committed with `Durability::Immediate` (redb's commit
//!   writes the pages, flips the commit slot and fsyncs before returning). A request is never half
//!   accepted.
//! - **Transitions are durable** the same way, except `mark_sent` (see below).
//! - **At-least-once after a crash.** On [`Store::open`] every delivery found `sent` goes back to
//!   `queued` (its result was never recorded, so it is sent again; SE devices treat a repeated
//!   DisplayMessage / LoadControlEvent with the same id as the same event). `mark_sent` therefore
//!   needs no fsync of its own: losing it has the same effect as the recovery.
//! - The scheduler's in-memory index is rebuilt from the `dispatch` table with
//!   [`Store::for_each_queued`].

mod ops;
mod read;
pub mod tables;
mod writer;

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata};

pub(crate) use ops::Txn;
use ops::WriterState;
use tables::{
    decode, meta_key, tx_hash, DELIVERIES, DISPATCH, ESIS, META, REQUESTS, SCHEMA_VERSION, SINGLES,
    TX_INDEX, V1_ESI_DELIVERIES, V1_TRANSACTIONS,
};
pub use writer::WriterStats;
use writer::{FnJob, Job, JobSender, WriterConfig};

use crate::model::{
    Accepted, DeliveryId, DeliveryState, DeviceRecord, EsiId, EsiRecord, Eui64, Group, NewDelivery,
    NewRequest, Priority, RequestId, Timestamp,
};

/// Errors of the store. `Storage` and `Corrupt` are fatal for the batch they happened in; the
/// others are answers about one operation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StoreError {
    /// I/O or redb failure (text of the underlying error).
    Storage(String),
    /// A record could not be decoded or an index points nowhere.
    Corrupt(String),
    /// No such delivery.
    UnknownDelivery(DeliveryId),
    /// No such request.
    UnknownRequest(RequestId),
    /// The delivery is not in a state that allows this transition.
    InvalidTransition {
        /// The delivery.
        id: DeliveryId,
        /// Its current state.
        from: DeliveryState,
        /// The state asked for.
        to: DeliveryState,
    },
    /// A request must have at least one recipient.
    NoDeliveries,
    /// More than `u32::MAX` recipients.
    TooManyDeliveries,
    /// The file was written by a newer schema than this code knows.
    SchemaTooNew {
        /// Version in the file.
        found: u64,
        /// Newest version this code handles.
        supported: u64,
    },
    /// The writer thread has stopped.
    Closed,
}

impl StoreError {
    /// Whether this error aborts the whole batch.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Storage(_) | Self::Corrupt(_))
    }
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Storage(e) => write!(f, "storage error: {e}"),
            Self::Corrupt(e) => write!(f, "store corrupt: {e}"),
            Self::UnknownDelivery(id) => write!(f, "unknown delivery {}", id.0),
            Self::UnknownRequest(id) => write!(f, "unknown request {}", id.0),
            Self::InvalidTransition { id, from, to } => {
                write!(f, "delivery {}: {} → {} not allowed", id.0, from.as_str(), to.as_str())
            }
            Self::NoDeliveries => f.write_str("request has no recipients"),
            Self::TooManyDeliveries => f.write_str("too many recipients"),
            Self::SchemaTooNew { found, supported } => {
                write!(f, "store schema {found} is newer than supported {supported}")
            }
            Self::Closed => f.write_str("store writer stopped"),
        }
    }
}

impl std::error::Error for StoreError {}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Storage(e.to_string())
            }
        }
    )*};
}
storage_from!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError,
    redb::SetDurabilityError
);

/// One write of the `kv` table: namespace, key, value (`None` deletes).
pub type KvItem = (String, String, Option<Vec<u8>>);

/// Result of a store operation.
pub type Result<T, E = StoreError> = core::result::Result<T, E>;

/// Tuning of the store.
#[derive(Clone, Copy, Debug)]
pub struct StoreConfig {
    /// Most jobs committed in one transaction. `1` gives one transaction per operation (the
    /// benchmark baseline).
    pub max_batch: usize,
    /// Jobs that may wait for the writer before submitters block (back-pressure).
    pub queue_capacity: usize,
    /// redb quick-repair: each durable commit also saves the allocator state, so that opening
    /// after a crash does not walk the whole file (two fsyncs per commit instead of one).
    pub quick_repair: bool,
    /// redb page cache size in bytes (`None`: redb's default).
    pub cache_size: Option<usize>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { max_batch: 4096, queue_capacity: 16_384, quick_repair: true, cache_size: None }
    }
}

/// What [`Store::open`] found and did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Recovery {
    /// The file did not exist or was empty.
    pub created: bool,
    /// Schema version before migration.
    pub schema_from: u64,
    /// Deliveries found `sent` and put back to `queued` (sent again: at-least-once).
    pub requeued: u64,
    /// Deliveries waiting in the dispatch index after recovery.
    pub queued: u64,
    /// Requests in the store.
    pub requests: u64,
    /// Deliveries in the store (every state).
    pub deliveries: u64,
}

/// What [`Store::cancel`] did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CancelOutcome {
    /// Deliveries moved `queued → cancelled`.
    pub cancelled: Vec<DeliveryId>,
    /// Deliveries already `sent`, left to finish.
    pub in_flight: Vec<DeliveryId>,
    /// Deliveries already in a final state.
    pub already_final: usize,
}

/// Space used by one table ([`Store::space_report`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TableSpace {
    /// Table name.
    pub name: String,
    /// Rows.
    pub entries: u64,
    /// Key and value bytes.
    pub stored_bytes: u64,
    /// B-tree overhead.
    pub metadata_bytes: u64,
    /// Unused bytes inside its pages.
    pub fragmented_bytes: u64,
}

/// One queued delivery as the scheduler needs it (from the `dispatch` table).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueuedRef<'a> {
    /// The delivery.
    pub id: DeliveryId,
    /// Its ESI.
    pub esi_id: &'a EsiId,
    /// The store's ordinal of that ESI (dense, stable for the file's life): lets a bulk reader
    /// map ESIs without hashing the text per row.
    pub esi_ordinal: u32,
    /// Class.
    pub priority: Priority,
    /// Expiry.
    pub deadline: Timestamp,
    /// Earliest dispatch.
    pub not_before: Timestamp,
    /// Re-sends so far.
    pub retries: u32,
}

/// A migration step from `from` to `from + 1`.
struct Migration {
    from: u64,
    apply: fn(&redb::WriteTransaction) -> Result<()>,
}

/// Schema migrations, in order; a layout change adds a step here and bumps
/// [`tables::SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[Migration { from: 1, apply: migrate_1_to_2 }];

/// 1 → 2. Records of schema 1 stay where they are (`requests` + `deliveries` are still read and
/// written for requests with several recipients, and for the old single ones); what changes:
/// - both id counters continue from the larger one, so new request ids (= first delivery id)
///   never meet an old request or delivery id;
/// - `transactions` (strings) → `tx_index` (hash, request id);
/// - `esi_deliveries` is dropped (the per-ESI listing scans the delivery rows).
fn migrate_1_to_2(txn: &redb::WriteTransaction) -> Result<()> {
    {
        let mut meta = txn.open_table(META)?;
        let get = |m: &redb::Table<'_, &str, u64>, k: &str| -> Result<u64> {
            Ok(m.get(k)?.map_or(0, |g| g.value()))
        };
        let next =
            get(&meta, meta_key::NEXT_REQUEST)?.max(get(&meta, meta_key::NEXT_DELIVERY)?).max(1);
        meta.insert(meta_key::NEXT_REQUEST, next)?;
        meta.insert(meta_key::NEXT_DELIVERY, next)?;
        let old = txn.open_table(V1_TRANSACTIONS)?;
        let mut new = txn.open_table(TX_INDEX)?;
        for row in old.iter()? {
            let (k, v) = row?;
            let (party, transaction) = k.value();
            new.insert((tx_hash(party, transaction), v.value()), ())?;
        }
    }
    txn.delete_table(V1_TRANSACTIONS)?;
    txn.delete_table(V1_ESI_DELIVERIES)?;
    Ok(())
}

/// The durable store. Cheap to share behind an `Arc`; every write goes through the writer thread.
#[derive(Debug)]
pub struct Store {
    db: Arc<Database>,
    tx: Option<JobSender>,
    writer: Option<JoinHandle<()>>,
    esi_names: Arc<RwLock<Vec<EsiId>>>,
    stats: Arc<WriterStats>,
}

impl Store {
    /// Opens (or creates) the store at `path`, migrates it, moves every `sent` delivery back to
    /// `queued` and starts the writer thread.
    pub fn open(path: impl AsRef<Path>, cfg: StoreConfig) -> Result<(Self, Recovery)> {
        let mut builder = Database::builder();
        if let Some(c) = cfg.cache_size {
            builder.set_cache_size(c);
        }
        let db = builder.create(path.as_ref())?;
        let (st, recovery) = Self::recover(&db)?;
        let db = Arc::new(db);
        let names = Arc::new(RwLock::new(Self::load_esi_names(&db.begin_read()?)?));
        let (tx, rx) = mpsc::sync_channel::<Box<dyn Job>>(cfg.queue_capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let wcfg = WriterConfig { max_batch: cfg.max_batch, quick_repair: cfg.quick_repair };
        let (db2, names2, stats2) = (Arc::clone(&db), Arc::clone(&names), Arc::clone(&stats));
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(&db2, st, &rx, wcfg, &names2, &stats2))
            .map_err(|e| StoreError::Storage(format!("spawn writer: {e}")))?;
        let store = Self { db, tx: Some(tx), writer: Some(writer), esi_names: names, stats };
        Ok((store, recovery))
    }

    fn recover(db: &Database) -> Result<(WriterState, Recovery)> {
        let mut rec = Recovery::default();
        let txn = db.begin_write()?;
        let version = txn.open_table(META)?.get(meta_key::SCHEMA_VERSION)?.map(|g| g.value());
        match version {
            None => rec.created = true,
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew { found: v, supported: SCHEMA_VERSION })
            }
            Some(v) => {
                rec.schema_from = v;
                for m in MIGRATIONS.iter().filter(|m| m.from >= v) {
                    (m.apply)(&txn)?;
                }
            }
        }
        txn.open_table(META)?.insert(meta_key::SCHEMA_VERSION, SCHEMA_VERSION)?;
        let mut st = WriterState::load(&txn)?;
        {
            let mut tx = Txn::open(&txn, &mut st)?;
            rec.requeued = tx.recover_in_flight(Timestamp::now())?;
            tx.save_counters()?;
        }
        rec.queued = txn.open_table(DISPATCH)?.len()?;
        let singles = txn.open_table(SINGLES)?.len()?;
        rec.requests = txn.open_table(REQUESTS)?.len()? + singles;
        rec.deliveries = txn.open_table(DELIVERIES)?.len()? + singles;
        txn.commit()?;
        st.new_esis.clear();
        Ok((st, rec))
    }

    fn load_esi_names(rtx: &ReadTransaction) -> Result<Vec<EsiId>> {
        let table = rtx.open_table(ESIS)?;
        let mut names = Vec::new();
        for row in table.iter()? {
            let (key, val) = row?;
            let r: EsiRecord = decode("esi", val.value())?;
            let o = key.value() as usize;
            if names.len() <= o {
                names.resize(o + 1, EsiId::new(""));
            }
            if let Some(slot) = names.get_mut(o) {
                *slot = r.esi_id;
            }
        }
        Ok(names)
    }

    /// Counters of the group-commit writer.
    pub fn writer_stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Submits a job to the writer without waiting; `reply` runs on the writer thread after the
    /// batch holding it committed (or failed). Blocks only while the writer's queue is full.
    pub(crate) fn submit<T, F, R>(&self, durable: bool, f: F, reply: R) -> Result<()>
    where
        T: Send + 'static,
        F: FnOnce(&mut Txn<'_>) -> Result<T> + Send + 'static,
        R: FnOnce(Result<T>) + Send + 'static,
    {
        let job = Box::new(FnJob { f: Some(f), out: None, reply, durable });
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        tx.send(job).map_err(|_| StoreError::Closed)
    }

    fn call<T, F>(&self, durable: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Txn<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(durable, f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// Accepts a request with its recipients; returns once it is committed to disk.
    pub fn accept(&self, req: NewRequest, deliveries: Vec<NewDelivery>) -> Result<Accepted> {
        self.call(true, move |tx| tx.accept(req, deliveries))
    }

    /// Like [`Store::accept`] but answers through `reply` (e.g. a tokio oneshot sender) after the
    /// commit, without blocking the caller. `reply` runs on the writer thread: it must not block
    /// (sending on a oneshot or an unbounded channel is fine).
    pub fn accept_with(
        &self,
        req: NewRequest,
        deliveries: Vec<NewDelivery>,
        reply: impl FnOnce(Result<Accepted>) + Send + 'static,
    ) -> Result<()> {
        self.submit(true, move |tx| tx.accept(req, deliveries), reply)
    }

    /// `queued → sent`. Not fsynced on its own (see the module docs).
    pub fn mark_sent(&self, id: DeliveryId, at: Timestamp) -> Result<()> {
        self.call(false, move |tx| tx.mark_sent(id, at))
    }

    /// `mark_sent` without waiting; `reply` runs after the commit.
    pub fn mark_sent_with(
        &self,
        id: DeliveryId,
        at: Timestamp,
        reply: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        self.submit(false, move |tx| tx.mark_sent(id, at), reply)
    }

    /// `sent → delivered`.
    pub fn mark_delivered(&self, id: DeliveryId, at: Timestamp) -> Result<()> {
        self.call(true, move |tx| tx.mark_delivered(id, at, false))
    }

    /// `mark_delivered` without waiting; `reply` runs after the (durable) commit.
    pub fn mark_delivered_with(
        &self,
        id: DeliveryId,
        at: Timestamp,
        reply: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        self.submit(true, move |tx| tx.mark_delivered(id, at, false), reply)
    }

    /// `sent/delivered → confirmed` (Messaging MessageConfirmation).
    pub fn mark_confirmed(&self, id: DeliveryId, at: Timestamp) -> Result<()> {
        self.call(true, move |tx| tx.mark_delivered(id, at, true))
    }

    /// A send failed: retry at `retry_at` (→ `queued`, or `expired` when that is at or after the
    /// deadline) or give up (`None` → `failed`). Returns the new state.
    pub fn mark_failed(
        &self,
        id: DeliveryId,
        at: Timestamp,
        error: impl Into<String>,
        retry_at: Option<Timestamp>,
    ) -> Result<DeliveryState> {
        let error = error.into();
        self.call(true, move |tx| tx.mark_failed(id, at, error, retry_at))
    }

    /// `sent → queued` without counting a retry (coordinator link lost).
    pub fn requeue(&self, id: DeliveryId, at: Timestamp) -> Result<()> {
        self.call(true, move |tx| tx.requeue(id, at))
    }

    /// `queued/sent → undeliverable`.
    pub fn mark_undeliverable(
        &self,
        id: DeliveryId,
        at: Timestamp,
        error: impl Into<String>,
    ) -> Result<()> {
        let error = error.into();
        self.call(true, move |tx| tx.mark_undeliverable(id, at, error))
    }

    /// Expires queued deliveries whose deadline is `<= now` (at most `limit`).
    pub fn expire_due(&self, now: Timestamp, limit: usize) -> Result<Vec<DeliveryId>> {
        self.call(true, move |tx| tx.expire_due(now, limit))
    }

    /// Cancels a request's queued deliveries.
    pub fn cancel(&self, request: RequestId, at: Timestamp) -> Result<CancelOutcome> {
        self.call(true, move |tx| tx.cancel(request, at))
    }

    /// Inserts or replaces an ESI record.
    pub fn put_esi(&self, rec: EsiRecord) -> Result<()> {
        self.call(true, move |tx| tx.put_esi(&rec))
    }

    /// Inserts or replaces a device record.
    pub fn put_device(&self, rec: DeviceRecord) -> Result<()> {
        self.call(true, move |tx| tx.put_device(&rec))
    }

    /// Removes a device record, returning it.
    pub fn remove_device(&self, esi: EsiId, eui64: Eui64) -> Result<Option<DeviceRecord>> {
        self.call(true, move |tx| tx.remove_device(&esi, eui64))
    }

    /// Inserts or replaces a group.
    pub fn put_group(&self, g: Group) -> Result<()> {
        self.call(true, move |tx| tx.put_group(&g))
    }

    /// Deletes a group.
    pub fn delete_group(&self, name: impl Into<String>) -> Result<bool> {
        let name = name.into();
        self.call(true, move |tx| tx.delete_group(&name))
    }

    /// Writes (`Some`) or deletes (`None`) `(namespace, key)`s of the `kv` table in one job (so
    /// they commit together); `durable` waits for the fsync.
    pub fn kv_write(&self, items: Vec<KvItem>, durable: bool) -> Result<()> {
        self.call(durable, move |tx| tx.kv_write(&items))
    }

    /// [`Store::kv_write`] without waiting; `reply` runs on the writer thread after the commit.
    pub fn kv_write_with(
        &self,
        items: Vec<KvItem>,
        durable: bool,
        reply: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        self.submit(durable, move |tx| tx.kv_write(&items), reply)
    }

    /// Waits until everything submitted before has been committed durably.
    pub fn sync(&self) -> Result<()> {
        self.call(true, |_| Ok(()))
    }

    /// Stops the writer after it has finished everything submitted.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.tx = None;
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }

    /// Jobs committed so far (for reports).
    pub fn committed_jobs(&self) -> u64 {
        self.stats.jobs.load(Relaxed)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;
