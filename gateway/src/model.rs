//! Domain types of the gateway's queue: requests, per-recipient deliveries, devices, groups.
//!
//! These are the records the durable store keeps (postcard-encoded, see `store`) and the
//! vocabulary of the MQTT status events (design.md §4, §7). The delivery state machine follows
//! BR-025.009a/b ("not sent, in queue, undeliverable, failed, number of retries"); the priority
//! classes and their deadlines follow BR-053.001–.004.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
pub use zse::zcl::Eui64;

/// Wall-clock time in milliseconds since the Unix epoch (UTC). The scheduler never reads a clock:
/// every call takes `now` as one of these, so tests and the simulator run on virtual time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time (saturating at 0 for a clock before 1970).
    pub fn now() -> Self {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Self(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(ms))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}ms", self.0)
    }
}

/// Message priority class (BR-053.001). The discriminant is the dispatch order: lower goes first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[repr(u8)]
pub enum Priority {
    /// Near real time (BR-053.002): DR events and prices typically.
    High = 0,
    /// Delivered within 2 hours (BR-053.003).
    Medium = 1,
    /// Delivered within 24 hours (BR-053.004).
    Low = 2,
}

impl Priority {
    /// All classes in dispatch order.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];

    /// The class index used in the dispatch index key (0 = High).
    pub const fn class(self) -> u8 {
        self as u8
    }

    /// Inverse of [`Priority::class`].
    pub const fn from_class(class: u8) -> Option<Self> {
        match class {
            0 => Some(Self::High),
            1 => Some(Self::Medium),
            2 => Some(Self::Low),
            _ => None,
        }
    }

    /// Lower-case name as used on MQTT (`high`/`medium`/`low`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// How long each class may wait before a delivery is `expired` (BR-053.002–.004). Configurable;
/// the defaults are the requirement's figures, and High's "near real time" is given 10 minutes of
/// retries before it is reported expired (dispatch itself is measured in milliseconds).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PriorityDeadlines {
    /// Deadline after acceptance for [`Priority::High`].
    pub high: Duration,
    /// Deadline after acceptance for [`Priority::Medium`] (BR-053.003: 2 h).
    pub medium: Duration,
    /// Deadline after acceptance for [`Priority::Low`] (BR-053.004: 24 h).
    pub low: Duration,
}

impl Default for PriorityDeadlines {
    fn default() -> Self {
        Self {
            high: Duration::from_secs(10 * 60),
            medium: Duration::from_secs(2 * 3600),
            low: Duration::from_secs(24 * 3600),
        }
    }
}

impl PriorityDeadlines {
    /// The allowance for one class.
    pub const fn for_priority(&self, p: Priority) -> Duration {
        match p {
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }

    /// Deadline of a request accepted at `accepted_at`: the class allowance, or the request's own
    /// end time when that comes first (a message whose display period is over is not sent).
    pub fn deadline(
        &self,
        p: Priority,
        accepted_at: Timestamp,
        ends_at: Option<Timestamp>,
    ) -> Timestamp {
        let class = accepted_at.saturating_add(self.for_priority(p));
        ends_at.map_or(class, |e| e.min(class))
    }
}

/// Identifier of an accepted request (assigned by the store, monotonic, never reused).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// Identifier of one delivery (one request to one device); monotonic, never reused. The
/// deliveries of one request have consecutive ids.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct DeliveryId(pub u64);

/// ERCOT ESI ID of a premise's meter (the ESI that hosts the HAN devices). Opaque text here;
/// validation of the format belongs to the request handlers.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct EsiId(pub String);

impl EsiId {
    /// Wraps a string.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EsiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A party's identifier (`tdsp`, a REP's or third party's id; design.md §8).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct PartyId(pub String);

/// What a request asks for. The payload's layout depends on the kind and is owned by the
/// request handlers; the store keeps it as opaque postcard bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RequestKind {
    /// `message/send` (Messaging cluster DisplayMessage).
    Message,
    /// `message/cancel` (Messaging cluster CancelMessage).
    MessageCancel,
    /// `price/publish` (Price cluster PublishPrice).
    Price,
    /// `drlc/event` (DRLC LoadControlEvent).
    DrlcEvent,
    /// `drlc/cancel` (DRLC CancelLoadControlEvent / CancelAllLoadControlEvents).
    DrlcCancel,
    /// Anything newer, by a code the handlers define.
    Other(u16),
}

/// A request as submitted for acceptance (before the store assigns ids).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NewRequest {
    /// What is asked.
    pub kind: RequestKind,
    /// Priority class (BR-053.001).
    pub priority: Priority,
    /// When the gateway received it.
    pub accepted_at: Timestamp,
    /// Delivery deadline (see [`PriorityDeadlines::deadline`]).
    pub deadline: Timestamp,
    /// Who asked.
    pub party: PartyId,
    /// The MQTT `transaction` to echo, if any.
    pub transaction: Option<String>,
    /// Kind-specific body, postcard-encoded by the handlers.
    pub payload: Vec<u8>,
}

/// A committed request.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Request {
    /// Assigned id.
    pub id: RequestId,
    /// What was asked, and by whom (as submitted).
    pub body: NewRequest,
    /// Id of the first of its deliveries; the others follow consecutively.
    pub first_delivery: DeliveryId,
    /// Number of deliveries (recipients).
    pub delivery_count: u32,
}

impl Request {
    /// Ids of this request's deliveries.
    pub fn delivery_ids(&self) -> impl Iterator<Item = DeliveryId> {
        let first = self.first_delivery.0;
        (first..first + u64::from(self.delivery_count)).map(DeliveryId)
    }
}

/// One recipient of a request being accepted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewDelivery {
    /// The ESI hosting the device.
    pub esi_id: EsiId,
    /// The device.
    pub eui64: Eui64,
    /// `Some(reason)` when the device cannot be reached at all (not paired, no slot): the
    /// delivery is recorded `undeliverable` at once (BR-025.009a).
    pub undeliverable: Option<String>,
}

/// Where a delivery stands (design.md §4, BR-025.009a/b). Transitions:
///
/// ```text
/// accepted → queued → sent → delivered → confirmed
///              ▲  │      ├─→ queued (retry after backoff; or after a restart: at-least-once)
///              │  │      ├─→ failed / undeliverable / expired (retry would pass the deadline)
///              │  ├─→ expired (deadline passed while queued)
///              │  └─→ cancelled
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum DeliveryState {
    /// Received, not yet committed. The store never holds this state: acceptance and queueing
    /// happen in the same transaction; it exists for the event vocabulary.
    Accepted,
    /// Committed and waiting for dispatch ("in queue").
    Queued,
    /// Handed to the coordinator, result pending.
    Sent,
    /// The device acknowledged it (APS ack / ZCL default response).
    Delivered,
    /// The user confirmed it (Messaging MessageConfirmation).
    Confirmed,
    /// Gave up after retries, or a non-retryable error.
    Failed,
    /// Device not paired / no slot / unknown to the ESI.
    Undeliverable,
    /// Its deadline or end time passed first.
    Expired,
    /// Cancelled by the requester before it was sent.
    Cancelled,
}

impl DeliveryState {
    /// Still waiting for dispatch or for a result.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Accepted | Self::Queued | Self::Sent)
    }

    /// The scheduler has nothing more to do with it (every state but `accepted`/`queued`/`sent`).
    /// `delivered` may still become `confirmed`.
    pub const fn is_final(self) -> bool {
        !self.is_open()
    }

    /// The snake_case name used on MQTT.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
            Self::Undeliverable => "undeliverable",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One delivery as reported to callers (the store keeps a compact form of it).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// The request it belongs to.
    pub request_id: RequestId,
    /// Recipient ESI.
    pub esi_id: EsiId,
    /// Recipient device.
    pub eui64: Eui64,
    /// Copied from the request (it orders the dispatch index).
    pub priority: Priority,
    /// Current state.
    pub state: DeliveryState,
    /// Number of re-sends after a failure (BR-025.009b).
    pub retries: u32,
    /// The last error reported for it.
    pub last_error: Option<String>,
    /// When it expires if still queued.
    pub deadline: Timestamp,
    /// Not to be dispatched before this (retry backoff).
    pub not_before: Timestamp,
    /// When it was last handed to a coordinator.
    pub sent_at: Option<Timestamp>,
    /// Time of the last transition.
    pub updated_at: Timestamp,
}

/// What `accept` returns once the request is committed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Accepted {
    /// The request's id.
    pub request_id: RequestId,
    /// Its deliveries in the order submitted, with their initial state (`queued` or
    /// `undeliverable`).
    pub deliveries: Vec<(DeliveryId, DeliveryState)>,
}

/// Provisioning state of a HAN device (design.md §5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum DeviceState {
    /// Install code registered, join window not yet used.
    Pending,
    /// The device is joining.
    Joining,
    /// CBKE finished.
    KeyEstablished,
    /// Usable.
    Paired,
    /// Join window passed without a join.
    Expired,
}

/// A provisioned device and the ESI slot it occupies (design.md §5, BR-068, BR-081, BR-084).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The ESI.
    pub esi_id: EsiId,
    /// The device.
    #[serde(with = "eui64_as_u64")]
    pub eui64: Eui64,
    /// Slot index in the ESI's table, once reserved.
    pub slot: Option<u8>,
    /// Provisioning state.
    pub state: DeviceState,
    /// Human label.
    pub label: String,
    /// End of the join window.
    pub join_deadline: Option<Timestamp>,
    /// Last frame heard from it.
    pub last_seen: Option<Timestamp>,
    /// Last link quality.
    pub lqi: Option<u8>,
    /// Time of the last change.
    pub updated_at: Timestamp,
}

/// An ESI known to the gateway: meter number for grant checks (BR-080) and its slot capacity.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EsiRecord {
    /// The ESI ID.
    pub esi_id: EsiId,
    /// The meter number, when known.
    pub meter_number: Option<String>,
    /// Number of device slots in its firmware (5–16), when known.
    pub slot_capacity: Option<u8>,
}

/// A named group of ESIs to message at once (BR-025.006).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Group {
    /// Unique name.
    pub name: String,
    /// Members.
    pub esi_ids: Vec<EsiId>,
    /// Owner, if the group belongs to one party.
    pub owner: Option<PartyId>,
    /// Last change.
    pub updated_at: Timestamp,
}

/// The schema version record kept in the store's meta table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SchemaVersion(pub u64);

/// serde helper: an [`Eui64`] as its numeric value (8 bytes or fewer in postcard, where zse's
/// own serde form is the 16-digit text for JSON).
pub mod eui64_as_u64 {
    use super::Eui64;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize the numeric value.
    pub fn serialize<S: Serializer>(e: &Eui64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(e.0)
    }

    /// Deserialize the numeric value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Eui64, D::Error> {
        u64::deserialize(d).map(Eui64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_class_round_trip_and_order() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_class(p.class()), Some(p));
        }
        assert!(Priority::High < Priority::Medium && Priority::Medium < Priority::Low);
        assert_eq!(Priority::from_class(3), None);
    }

    #[test]
    fn deadlines_follow_br053_and_end_time() {
        let d = PriorityDeadlines::default();
        let t = Timestamp(1_000);
        assert_eq!(d.deadline(Priority::Medium, t, None), Timestamp(1_000 + 2 * 3600 * 1000));
        assert_eq!(d.deadline(Priority::Low, t, None), Timestamp(1_000 + 24 * 3600 * 1000));
        assert_eq!(d.deadline(Priority::Low, t, Some(Timestamp(5_000))), Timestamp(5_000));
    }

    #[test]
    fn states_open_and_final() {
        use DeliveryState::*;
        for s in [Accepted, Queued, Sent] {
            assert!(s.is_open());
        }
        for s in [Delivered, Confirmed, Failed, Undeliverable, Expired, Cancelled] {
            assert!(s.is_final());
        }
        assert_eq!(Undeliverable.as_str(), "undeliverable");
    }

    #[test]
    fn request_delivery_ids_are_consecutive() {
        let r = Request {
            id: RequestId(1),
            body: NewRequest {
                kind: RequestKind::Message,
                priority: Priority::Low,
                accepted_at: Timestamp(0),
                deadline: Timestamp(1),
                party: PartyId("rep".into()),
                transaction: None,
                payload: vec![],
            },
            first_delivery: DeliveryId(10),
            delivery_count: 3,
        };
        let ids: Vec<_> = r.delivery_ids().collect();
        assert_eq!(ids, vec![DeliveryId(10), DeliveryId(11), DeliveryId(12)]);
    }

    #[test]
    fn device_record_postcard_round_trip() {
        let d = DeviceRecord {
            esi_id: EsiId::new("10443720000000001"),
            eui64: Eui64(0x000D_6F00_0123_4567),
            slot: Some(2),
            state: DeviceState::Paired,
            label: "IHD kitchen".into(),
            join_deadline: None,
            last_seen: Some(Timestamp(5)),
            lqi: Some(200),
            updated_at: Timestamp(6),
        };
        let bytes = postcard::to_allocvec(&d).unwrap();
        assert_eq!(postcard::from_bytes::<DeviceRecord>(&bytes).unwrap(), d);
    }
}
