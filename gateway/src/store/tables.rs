//! Table layout of the store file and the compact records kept in it.
//!
//! Every table is a redb B-tree in one file. Values that are structs are postcard bytes;
//! index keys are fixed-width tuples so that the dispatch order is the byte order of the key.
//! ESI IDs are interned to dense `u32` ordinals (`esi_by_name` / `esis`) so that the per-delivery
//! records and indexes stay small (design.md §10: ≤ 200 bytes on disk per queued delivery).

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::{
    Delivery, DeliveryId, DeliveryState, EsiId, Eui64, Priority, RequestId, Timestamp,
};

/// Schema version written by this code. Bump it and add a step to `MIGRATIONS` (in `mod.rs`)
/// whenever a table or record layout changes.
pub const SCHEMA_VERSION: u64 = 1;

/// `meta`: name → number (`schema_version`, id counters).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `requests`: request id → postcard [`crate::model::Request`].
pub(crate) const REQUESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("requests");
/// `deliveries`: delivery id → postcard [`DeliveryRecord`].
pub(crate) const DELIVERIES: TableDefinition<u64, &[u8]> = TableDefinition::new("deliveries");
/// `dispatch`: (priority class, deadline ms, delivery id) → (esi ordinal, not_before ms, retries)
/// for every `queued` delivery. The next delivery to dispatch in a class is the first key of
/// that class's range; expiry is a range scan up to `now`; a restart rebuilds the scheduler from
/// this table alone.
pub(crate) const DISPATCH: TableDefinition<(u8, u64, u64), (u32, u64, u32)> =
    TableDefinition::new("dispatch");
/// `in_flight`: delivery id → () for every `sent` delivery (recovery puts them back in the queue).
pub(crate) const IN_FLIGHT: TableDefinition<u64, ()> = TableDefinition::new("in_flight");
/// `esi_deliveries`: (esi ordinal, delivery id) → () for every delivery (per-ESI status queries).
pub(crate) const ESI_DELIVERIES: TableDefinition<(u32, u64), ()> =
    TableDefinition::new("esi_deliveries");
/// `esi_by_name`: ESI ID → ordinal.
pub(crate) const ESI_BY_NAME: TableDefinition<&str, u32> = TableDefinition::new("esi_by_name");
/// `esis`: ordinal → postcard [`crate::model::EsiRecord`].
pub(crate) const ESIS: TableDefinition<u32, &[u8]> = TableDefinition::new("esis");
/// `devices`: (esi ordinal, EUI-64) → postcard [`crate::model::DeviceRecord`].
pub(crate) const DEVICES: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("devices");
/// `groups`: name → postcard [`crate::model::Group`].
pub(crate) const GROUPS: TableDefinition<&str, &[u8]> = TableDefinition::new("groups");

/// `transactions`: (party, MQTT `transaction`) → request id, written in the same transaction as
/// the request, so a retried request finds what its first attempt committed (idempotency).
pub(crate) const TRANSACTIONS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("transactions");
/// `kv`: (namespace, key) → bytes, for the MQTT bridge's own records (request outcomes, parties,
/// grants), so they share the store's file and group commit.
pub(crate) const KV: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("kv");

/// Keys of the `meta` table.
pub(crate) mod meta_key {
    pub const SCHEMA_VERSION: &str = "schema_version";
    pub const NEXT_REQUEST: &str = "next_request_id";
    pub const NEXT_DELIVERY: &str = "next_delivery_id";
    pub const NEXT_ESI: &str = "next_esi_ordinal";
}

/// The stored form of a [`Delivery`]: the ESI as its ordinal, the EUI-64 as a number. About 30–40
/// bytes of postcard.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub(crate) struct DeliveryRecord {
    pub request_id: RequestId,
    pub esi: u32,
    pub eui64: u64,
    pub priority: Priority,
    pub state: DeliveryState,
    pub retries: u32,
    pub deadline: Timestamp,
    pub not_before: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub last_error: Option<String>,
}

impl DeliveryRecord {
    pub fn dispatch_key(&self, id: DeliveryId) -> (u8, u64, u64) {
        (self.priority.class(), self.deadline.0, id.0)
    }

    pub fn dispatch_value(&self) -> (u32, u64, u32) {
        (self.esi, self.not_before.0, self.retries)
    }

    pub fn into_delivery(self, id: DeliveryId, esi_id: EsiId) -> Delivery {
        Delivery {
            id,
            request_id: self.request_id,
            esi_id,
            eui64: Eui64(self.eui64),
            priority: self.priority,
            state: self.state,
            retries: self.retries,
            last_error: self.last_error,
            deadline: self.deadline,
            not_before: self.not_before,
            sent_at: self.sent_at,
            updated_at: self.updated_at,
        }
    }
}

/// postcard-encode a record.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

/// postcard-decode a record; a failure means the file does not hold what this schema wrote.
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    what: &'static str,
    bytes: &'a [u8],
) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_record_is_compact_and_round_trips() {
        let r = DeliveryRecord {
            request_id: RequestId(1_000_000),
            esi: 1234,
            eui64: 0x000D_6F00_0A0B_0C0D,
            priority: Priority::Low,
            state: DeliveryState::Queued,
            retries: 0,
            deadline: Timestamp(1_800_000_000_000),
            not_before: Timestamp(1_799_913_600_000),
            sent_at: None,
            updated_at: Timestamp(1_799_913_600_000),
            last_error: None,
        };
        let b = encode(&r).unwrap();
        assert!(b.len() <= 45, "{} bytes", b.len());
        assert_eq!(decode::<DeliveryRecord>("delivery", &b).unwrap(), r);
        assert_eq!(r.dispatch_key(DeliveryId(7)), (2, 1_800_000_000_000, 7));
    }

    #[test]
    fn dispatch_keys_order_by_class_then_deadline_then_id() {
        let mut keys = [(2u8, 5u64, 1u64), (0, 9, 3), (0, 9, 2), (1, 1, 9), (0, 1, 7)];
        keys.sort_unstable();
        assert_eq!(keys, [(0, 1, 7), (0, 9, 2), (0, 9, 3), (1, 1, 9), (2, 5, 1)]);
    }

    #[test]
    fn decode_garbage_is_corrupt_not_panic() {
        let e = decode::<DeliveryRecord>("delivery", &[0xff, 0xff]).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)));
    }
}
