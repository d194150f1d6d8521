//! Field types shared by host-link messages: addresses, the link key, targets, texts and the
//! open code sets (result codes, reasons, states).
//!
//! Codes are *open* newtypes over `u8` with named constants (the `zse` convention for enums on
//! the wire): a value added by a newer minor protocol version decodes, survives a round trip
//! and prints as a number instead of failing the whole frame.

use core::fmt;
use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest number of HAN device slots a coordinator can have (design.md §2: 5–16).
pub const MAX_SLOTS: usize = 16;
/// Largest number of explicit target devices in one request (one per slot).
pub const MAX_TARGETS: usize = MAX_SLOTS;
/// Longest Messaging text in bytes (UTF-8). The gateway's default limit is 59 characters
/// (design.md §4); 80 bytes leaves room for a larger configured limit and multi-byte text.
pub const MAX_MESSAGE_LEN: usize = 80;
/// Longest Price rate label in bytes (SE 1.0 PublishPrice field 2: octet string, n ≤ 12).
pub const MAX_RATE_LABEL_LEN: usize = 12;
/// Most attributes in one `ReadMeter` request or `MeterReading` report.
pub const MAX_READ_ATTRIBUTES: usize = 16;
/// Longest raw attribute value in a `MeterReading` (uint64 / bitmap64; strings do not fit).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 8;
/// Longest free-text detail in an `Error` report.
pub const MAX_ERROR_DETAIL_LEN: usize = 48;

/// Messaging text (UTF-8, at most [`MAX_MESSAGE_LEN`] bytes).
pub type MessageText = heapless::String<MAX_MESSAGE_LEN>;
/// Price rate label (at most [`MAX_RATE_LABEL_LEN`] bytes).
pub type RateLabel = heapless::String<MAX_RATE_LABEL_LEN>;
/// Free-text error detail (at most [`MAX_ERROR_DETAIL_LEN`] bytes).
pub type ErrorDetail = heapless::String<MAX_ERROR_DETAIL_LEN>;

/// An IEEE EUI-64. On the host link it is 8 bytes, little-endian (as on the air), not a
/// postcard varint: a varint of a typical EUI-64 would take 10 bytes. Printed like
/// [`zse::zcl::Eui64`] (16 hex digits, most significant first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Eui64(pub u64);

impl Serialize for Eui64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.to_le_bytes().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Eui64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <[u8; 8]>::deserialize(d).map(|b| Self(u64::from_le_bytes(b)))
    }
}

impl MaxSize for Eui64 {
    const POSTCARD_MAX_SIZE: usize = 8;
}

impl fmt::Display for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&zse::zcl::Eui64(self.0), f)
    }
}

impl fmt::Debug for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&zse::zcl::Eui64(self.0), f)
    }
}

impl From<zse::zcl::Eui64> for Eui64 {
    fn from(e: zse::zcl::Eui64) -> Self {
        Self(e.0)
    }
}

impl From<Eui64> for zse::zcl::Eui64 {
    fn from(e: Eui64) -> Self {
        Self(e.0)
    }
}

/// A 128-bit ZigBee trust-centre link key (derived from the install code, se10.md §8.1).
///
/// It has to cross the serial link (the coordinator is the trust centre), but it never appears
/// in `Debug` output: this newtype prints `LinkKey(<redacted>)`, so a logged `AddDevice`,
/// `Request` or `LinkEvent` does not leak it. Read the bytes with [`LinkKey::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct LinkKey([u8; 16]);

impl LinkKey {
    pub const fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The key bytes, for the trust-centre key table. The name is a reminder that whatever
    /// receives them must not log them.
    pub const fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

/// Which paired HAN devices a fan-out request goes to. The coordinator answers a request with
/// one [`Result`](super::Report::Result) and then one
/// [`DeliveryResult`](super::Report::DeliveryResult) per device it sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Targets {
    /// Every paired device (key established) on this ESI.
    All,
    /// These devices only (each must be paired, else the request gets `NOT_PAIRED` /
    /// `UNKNOWN_DEVICE`).
    Devices(heapless::Vec<Eui64, MAX_TARGETS>),
}

/// Defines an open `u8` code: newtype, named constants, `name()`, and a `Debug` that prints the
/// name (or the number when this version does not know it).
macro_rules! open_code {
    (
        $(#[$m:meta])*
        pub struct $name:ident(u8) {
            $( $(#[$cm:meta])* $c:ident = $v:literal, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, MaxSize)]
        #[serde(transparent)]
        pub struct $name(pub u8);

        impl $name {
            $( $(#[$cm])* pub const $c: Self = Self($v); )*

            /// Every value this version names, in numeric order.
            pub const KNOWN: &'static [Self] = &[$(Self::$c),*];

            /// The constant's name, or `None` for a value this version does not know.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $v => Some(stringify!($c)), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}(0x{:02x})", stringify!($name), self.0),
                }
            }
        }
    };
}

open_code! {
    /// Outcome of a host request as a whole, in [`Report::Result`](super::Report::Result).
    /// The names match the gateway's MQTT error codes where one exists (design.md §7).
    pub struct ResultCode(u8) {
        /// Accepted. For fan-out requests, per-device `DeliveryResult`s follow.
        SUCCESS = 0x00,
        /// `AddDevice`: every slot is taken (BR-068.006).
        SLOTS_FULL = 0x01,
        /// `AddDevice`: the EUI-64 already has a slot.
        ALREADY_PROVISIONED = 0x02,
        /// The EUI-64 (device or target) has no slot on this ESI.
        UNKNOWN_DEVICE = 0x03,
        /// The target has a slot but has not finished key establishment.
        NOT_PAIRED = 0x04,
        /// A field is out of range (join window, duration, criticality, empty list, ...).
        INVALID_FIELD = 0x05,
        /// The text is longer than the coordinator's configured display limit.
        TEXT_TOO_LONG = 0x06,
        /// The coordinator has no valid time yet; send `SetTime` first (se10.md §10: clients
        /// ignore prices and events without synchronised time).
        TIME_NOT_SET = 0x07,
        /// The coordinator's queue for this kind of request is full; retry later.
        BUSY = 0x08,
        /// A known command this coordinator does not implement (e.g. no metrology).
        UNSUPPORTED = 0x09,
        /// `Targets::All` matched no paired device.
        NO_TARGETS = 0x0A,
        /// Cancel of a message id / issuer event id the coordinator does not hold.
        NOT_FOUND = 0x0B,
        /// Anything else; details in a following `Error` report.
        INTERNAL = 0x0C,
    }
}

open_code! {
    /// Why a device is removed (BR-084: "the notice carries a defined reason code"). The SMT
    /// reason list is not public; these are this project's codes, mirrored by the gateway's
    /// `device/deprovision` `reason`.
    pub struct RemoveReason(u8) {
        UNSPECIFIED = 0x00,
        CUSTOMER_REQUEST = 0x01,
        MOVE_OUT = 0x02,
        DEVICE_REPLACED = 0x03,
        DEVICE_FAULTY = 0x04,
        SECURITY_CONCERN = 0x05,
        PROVISIONING_ERROR = 0x06,
        /// A pending entry withdrawn before the device joined (TDSP only, BR-081).
        PENDING_CANCELLED = 0x07,
        ADMINISTRATIVE = 0x08,
    }
}

open_code! {
    /// A device's provisioning state (design.md §5), in `DeviceEvent` and `DeviceList`.
    pub struct DeviceState(u8) {
        /// Slot reserved, join window open, device not seen yet (list only).
        PENDING = 0x00,
        /// Joined with the install-code key.
        JOINED = 0x01,
        /// Key establishment (CBKE) done: the device is paired.
        KEY_ESTABLISHED = 0x02,
        /// The device left the network; the slot is kept and it may rejoin.
        LEFT = 0x03,
        /// The slot was freed and the key erased (`RemoveDevice`, or a permanent failure).
        UNPAIRED = 0x04,
        /// The join window ended before the device joined; the slot was freed.
        JOIN_WINDOW_EXPIRED = 0x05,
    }
}

open_code! {
    /// Premises power as seen by the meter (BR-006.003).
    pub struct PowerState(u8) {
        OFF = 0x00,
        ON = 0x01,
        /// Not known (no metrology answer): distinct from `OFF` (BR-001.002).
        UNKNOWN = 0xFF,
    }
}

open_code! {
    /// Service (connect/disconnect) switch position (BR-006.015).
    pub struct SwitchState(u8) {
        /// Open: supply disconnected.
        OPEN = 0x00,
        /// Closed: supply connected.
        CLOSED = 0x01,
        /// Armed for reconnection by the customer.
        ARMED = 0x02,
        UNKNOWN = 0xFF,
    }
}

open_code! {
    /// Coordinator-side faults not tied to one request, in [`Report::Error`](super::Report::Error).
    pub struct ErrorCode(u8) {
        INTERNAL = 0x00,
        RADIO_FAULT = 0x01,
        STORAGE_FAULT = 0x02,
        /// The clock was lost (e.g. power failure without RTC); send `SetTime`.
        CLOCK_LOST = 0x03,
        /// A bounded queue overflowed and reports were dropped.
        QUEUE_OVERFLOW = 0x04,
        NETWORK_DOWN = 0x05,
        METROLOGY_FAULT = 0x06,
    }
}

open_code! {
    /// Link-level complaint about a received frame, in a link `Error` frame.
    pub struct LinkErrorCode(u8) {
        /// The frame kind or message variant is unknown here (the peer is newer).
        UNSUPPORTED = 0x01,
        /// The CRC was right but the contents did not decode.
        MALFORMED = 0x02,
    }
}

open_code! {
    /// Why a `Hello` was refused.
    pub struct RefusalReason(u8) {
        /// Different protocol major version.
        INCOMPATIBLE_VERSION = 0x01,
        /// Both ends claim the same role (host–host or coordinator–coordinator).
        ROLE_MISMATCH = 0x02,
    }
}
