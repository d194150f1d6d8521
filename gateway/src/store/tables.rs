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
    Delivery, DeliveryId, DeliveryState, EsiId, Eui64, NewRequest, Priority, RequestId, Timestamp,
};

/// Schema version written by this code. Bump it and add a step to `MIGRATIONS` (in `mod.rs`)
/// whenever a table or record layout changes.
///
/// - 1: `requests` + `deliveries` for every request, `esi_deliveries` index, `transactions` keyed
///   by the (party, transaction) strings.
/// - 2: a request with one recipient is one `singles` row holding the request and its delivery
///   (request id == delivery id); `transactions` replaced by the hashed `tx_index`;
///   `esi_deliveries` dropped (per-ESI listing scans the delivery rows). Request ids are taken
///   from the delivery id counter (a request's id is its first delivery's id).
pub const SCHEMA_VERSION: u64 = 2;

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
/// `singles`: id → postcard [`SingleRecord`]: a request with exactly one recipient and that
/// delivery, under one key (the request id and the delivery id are the same number).
pub(crate) const SINGLES: TableDefinition<u64, &[u8]> = TableDefinition::new("singles");
/// `in_flight`: delivery id → () for every `sent` delivery (recovery puts them back in the queue).
pub(crate) const IN_FLIGHT: TableDefinition<u64, ()> = TableDefinition::new("in_flight");
/// Schema 1 only (dropped by the migration to 2): `esi_deliveries`: (esi ordinal, delivery id) → ().
pub(crate) const V1_ESI_DELIVERIES: TableDefinition<(u32, u64), ()> =
    TableDefinition::new("esi_deliveries");
/// `esi_by_name`: ESI ID → ordinal.
pub(crate) const ESI_BY_NAME: TableDefinition<&str, u32> = TableDefinition::new("esi_by_name");
/// `esis`: ordinal → postcard [`crate::model::EsiRecord`].
pub(crate) const ESIS: TableDefinition<u32, &[u8]> = TableDefinition::new("esis");
/// `devices`: (esi ordinal, EUI-64) → postcard [`crate::model::DeviceRecord`].
pub(crate) const DEVICES: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("devices");
/// `groups`: name → postcard [`crate::model::Group`].
pub(crate) const GROUPS: TableDefinition<&str, &[u8]> = TableDefinition::new("groups");

/// `tx_index`: ([`tx_hash`] of party and MQTT `transaction`, request id) → (), written in the
/// same transaction as the request, so a retried request finds what its first attempt committed
/// (idempotency). The strings themselves are in the request record; a lookup compares them, so a
/// hash collision costs one more record read, never a wrong answer.
pub(crate) const TX_INDEX: TableDefinition<(u64, u64), ()> = TableDefinition::new("tx_index");
/// Schema 1 only (moved into `tx_index` by the migration to 2): (party, transaction) → request id.
pub(crate) const V1_TRANSACTIONS: TableDefinition<(&str, &str), u64> =
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

/// The delivery part of a [`SingleRecord`]. Times are stored as offsets from the request's
/// `accepted_at` (postcard zig-zag varints: 1 byte while they are equal), priority, deadline and
/// request id are the request's.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub(crate) struct InlineDelivery {
    pub esi: u32,
    pub eui64: u64,
    pub state: DeliveryState,
    pub retries: u32,
    pub not_before: i64,
    pub sent_at: Option<i64>,
    pub updated_at: i64,
    pub last_error: Option<String>,
}

/// A request with one recipient and its delivery (`singles` table).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub(crate) struct SingleRecord {
    pub body: NewRequest,
    pub delivery: InlineDelivery,
}

/// The same layout as [`SingleRecord`], borrowing the request (for writes).
#[derive(Serialize)]
pub(crate) struct SingleRef<'a> {
    pub body: &'a NewRequest,
    pub delivery: InlineDelivery,
}

fn offset(t: Timestamp, base: Timestamp) -> i64 {
    t.0.wrapping_sub(base.0).cast_signed()
}

fn at(base: Timestamp, off: i64) -> Timestamp {
    Timestamp(base.0.wrapping_add(off.cast_unsigned()))
}

impl InlineDelivery {
    /// The inline form of `rec`, relative to the request `body`.
    pub fn from_record(rec: &DeliveryRecord, body: &NewRequest) -> Self {
        let base = body.accepted_at;
        Self {
            esi: rec.esi,
            eui64: rec.eui64,
            state: rec.state,
            retries: rec.retries,
            not_before: offset(rec.not_before, base),
            sent_at: rec.sent_at.map(|t| offset(t, base)),
            updated_at: offset(rec.updated_at, base),
            last_error: rec.last_error.clone(),
        }
    }
}

impl SingleRecord {
    /// The full delivery record of the single delivery `id`.
    pub fn delivery_record(&self, id: u64) -> DeliveryRecord {
        let base = self.body.accepted_at;
        let d = &self.delivery;
        DeliveryRecord {
            request_id: RequestId(id),
            esi: d.esi,
            eui64: d.eui64,
            priority: self.body.priority,
            state: d.state,
            retries: d.retries,
            deadline: self.body.deadline,
            not_before: at(base, d.not_before),
            sent_at: d.sent_at.map(|o| at(base, o)),
            updated_at: at(base, d.updated_at),
            last_error: d.last_error.clone(),
        }
    }

    /// The request part, as a [`crate::model::Request`].
    pub fn into_request(self, id: u64) -> crate::model::Request {
        crate::model::Request {
            id: RequestId(id),
            body: self.body,
            first_delivery: DeliveryId(id),
            delivery_count: 1,
        }
    }
}

/// FNV-1a (64 bit) of party and transaction, the key of `tx_index`. Stable across builds and
/// platforms (it is stored); `0xff` separates the two (it never occurs in UTF-8).
pub(crate) fn tx_hash(party: &str, transaction: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in party.bytes().chain([0xff]).chain(transaction.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
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
    fn single_record_round_trips_and_is_compact() {
        let body = NewRequest {
            kind: crate::model::RequestKind::Message,
            priority: Priority::Low,
            accepted_at: Timestamp(1_799_913_600_000),
            deadline: Timestamp(1_800_000_000_000),
            party: crate::model::PartyId("rep-0042".into()),
            transaction: None,
            payload: vec![],
        };
        let mut rec = DeliveryRecord {
            request_id: RequestId(77),
            esi: 3,
            eui64: 0x000D_6F00_0A0B_0C0D,
            priority: Priority::Low,
            state: DeliveryState::Queued,
            retries: 0,
            deadline: body.deadline,
            not_before: body.accepted_at,
            sent_at: None,
            updated_at: body.accepted_at,
            last_error: None,
        };
        let inline = InlineDelivery::from_record(&rec, &body);
        assert!(encode(&inline).unwrap().len() <= 16, "{}", encode(&inline).unwrap().len());
        let single = SingleRecord { body: body.clone(), delivery: inline };
        let bytes = encode(&single).unwrap();
        assert_eq!(
            bytes,
            encode(&SingleRef { body: &body, delivery: single.delivery.clone() }).unwrap()
        );
        assert_eq!(decode::<SingleRecord>("single", &bytes).unwrap().delivery_record(77), rec);
        // times before accepted_at and far after it survive the offset form
        rec.state = DeliveryState::Sent;
        rec.not_before = Timestamp(5);
        rec.sent_at = Some(Timestamp(u64::MAX));
        rec.updated_at = Timestamp(0);
        rec.retries = 9;
        rec.last_error = Some("BUSY".into());
        let single =
            SingleRecord { body, delivery: InlineDelivery::from_record(&rec, &single.body) };
        assert_eq!(single.delivery_record(77), rec);
    }

    #[test]
    fn tx_hash_is_stable_and_separates_fields() {
        assert_eq!(tx_hash("", ""), 0xaf64_724c_8602_eb6e, "FNV-1a of [0xff]");
        assert_ne!(tx_hash("ab", "c"), tx_hash("a", "bc"));
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
