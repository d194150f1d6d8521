//! The one bridge between the store and the scheduler: loading the queue at start.

use super::{QueuedDelivery, Scheduler, SchedulerConfig};
use crate::model::Timestamp;
use crate::store::{Store, StoreError};

/// Builds a scheduler from everything queued in the store (at start, after
/// [`Store::open`] put the `sent` deliveries back in the queue).
pub fn rebuild(
    store: &Store,
    cfg: SchedulerConfig,
    now: Timestamp,
) -> Result<Scheduler, StoreError> {
    let mut s = Scheduler::new(cfg);
    s.entries.reserve(usize::try_from(store.open_counts()?.0).unwrap_or(0));
    s.now = now.0;
    // Store ordinal → scheduler ordinal, so the ESI text is hashed once per ESI, not per row.
    let mut map: Vec<Option<u32>> = Vec::new();
    store.for_each_queued(|q| {
        let i = q.esi_ordinal as usize;
        if map.len() <= i {
            map.resize(i + 1, None);
        }
        let esi = if let Some(o) = map.get(i).copied().flatten() {
            o
        } else {
            let o = s.ordinal(q.esi_id, now.0);
            if let Some(slot) = map.get_mut(i) {
                *slot = Some(o);
            }
            o
        };
        let d = QueuedDelivery {
            id: q.id,
            esi_id: q.esi_id,
            priority: q.priority,
            deadline: q.deadline,
            not_before: q.not_before,
            retries: q.retries,
        };
        s.insert_at(esi, &d, now.0, false);
    })?;
    for esi in 0..s.esis.len() as u32 {
        s.refresh(esi, now.0);
    }
    Ok(s)
}
