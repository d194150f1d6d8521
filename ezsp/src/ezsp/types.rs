//! EZSP data types (UG100 §3 "Named types" and "Structured data types"), little-endian, with a
//! bounds-checked reader and a writer.

use alloc::vec::Vec;
use core::fmt;

/// Why an EZSP frame did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The frame ended at `offset` where `need` more bytes were expected.
    Truncated { offset: usize, need: usize },
    /// Bytes left over after the last field.
    Trailing { offset: usize, extra: usize },
    /// A header that is neither the legacy `version` form nor the extended (v8+) form.
    BadHeader { control_high: u8 },
    /// The EZSP security bit is set (not supported: stock NCP firmware does not use it).
    Secured,
    /// A frame id this crate does not type (or not in this direction).
    UnknownFrameId(u16),
    /// The frame exists, but not in the negotiated protocol version.
    NotInVersion { frame_id: u16, version: u8 },
    /// A field outside its range (e.g. a bool that is neither 0 nor 1).
    BadValue { offset: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset, need } => {
                write!(f, "EZSP frame truncated at {offset}: {need} more bytes expected")
            }
            Self::Trailing { offset, extra } => {
                write!(f, "EZSP frame has {extra} extra bytes at {offset}")
            }
            Self::BadHeader { control_high } => {
                write!(f, "EZSP header with frame control high byte {control_high:#04x}")
            }
            Self::Secured => f.write_str("secured EZSP frames are not supported"),
            Self::UnknownFrameId(id) => write!(f, "EZSP frame id {id:#06x} not supported"),
            Self::NotInVersion { frame_id, version } => write!(
                f,
                "EZSP frame id {frame_id:#06x} does not exist in protocol version {version}"
            ),
            Self::BadValue { offset } => write!(f, "EZSP field at {offset} out of range"),
        }
    }
}

/// Cursor over an EZSP frame's parameters; every read is bounds-checked.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole frame (for error messages).
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(s) = end.and_then(|e| self.buf.get(self.pos..e)) else {
            let have = self.buf.len().saturating_sub(self.pos);
            return Err(Error::Truncated {
                offset: self.base + self.pos,
                need: n.saturating_sub(have),
            });
        };
        self.pos += n;
        Ok(s)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }
    pub fn i8(&mut self) -> Result<i8, Error> {
        Ok(self.u8()? as i8)
    }
    pub fn bool(&mut self) -> Result<bool, Error> {
        let at = self.base + self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::BadValue { offset: at }),
        }
    }
    pub fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// A length byte, then that many bytes (`LVBytes`).
    pub fn lv_bytes(&mut self) -> Result<Vec<u8>, Error> {
        let n = self.u8()? as usize;
        Ok(self.bytes(n)?.to_vec())
    }
    pub fn eui64(&mut self) -> Result<Eui64, Error> {
        Ok(Eui64(self.array()?))
    }
    pub fn key(&mut self) -> Result<Key, Error> {
        Ok(Key(self.array()?))
    }
    /// Fails if bytes are left.
    pub fn finish(&self) -> Result<(), Error> {
        let extra = self.buf.len().saturating_sub(self.pos);
        if extra == 0 {
            Ok(())
        } else {
            Err(Error::Trailing { offset: self.base + self.pos, extra })
        }
    }
}

/// Little-endian writers (the frame is a `Vec`).
pub trait Writer {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    /// Length byte then bytes; at most 255 bytes are written (callers check lengths first).
    fn put_lv(&mut self, v: &[u8]);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_lv(&mut self, v: &[u8]) {
        let n = v.len().min(255);
        self.push(n as u8);
        self.extend_from_slice(v.get(..n).unwrap_or_default());
    }
}

/// An IEEE address. EZSP sends it least significant byte first; this holds it in that (wire)
/// order, and [`Eui64::from_u64`] / [`Eui64::to_u64`] convert to the number people print.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Eui64(pub [u8; 8]);

impl Eui64 {
    pub fn from_u64(v: u64) -> Self {
        Self(v.to_le_bytes())
    }
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.0)
    }
}

impl fmt::Debug for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", self.to_u64())
    }
}

/// A 128-bit key (network key, link key). `Debug` never shows it.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Key(pub [u8; 16]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

macro_rules! status_type {
    ($(#[$m:meta])* $name:ident($t:ty) { $($(#[$cm:meta])* $c:ident = $v:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $t);
        impl $name {
            $($(#[$cm])* pub const $c: Self = Self($v);)*
            /// The constant's name, if this value has one here.
            pub fn name(self) -> Option<&'static str> {
                match self { $(Self::$c => Some(stringify!($c)),)* _ => None }
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }
    };
}

status_type!(
    /// `EmberStatus` (UG100; values as bellows' `EmberStatus`).
    EmberStatus(u8) {
        SUCCESS = 0x00,
        ERR_FATAL = 0x01,
        BAD_ARGUMENT = 0x02,
        NO_BUFFERS = 0x18,
        DELIVERY_FAILED = 0x66,
        INVALID_CALL = 0x70,
        MESSAGE_TOO_LONG = 0x74,
        NETWORK_UP = 0x90,
        NETWORK_DOWN = 0x91,
        NOT_JOINED = 0x93,
        JOIN_FAILED = 0x94,
        NETWORK_OPENED = 0x9C,
        NETWORK_CLOSED = 0x9D,
        NETWORK_BUSY = 0xA1,
        SECURITY_STATE_NOT_SET = 0xA8,
        INDEX_OUT_OF_RANGE = 0xB1,
        KEY_INVALID = 0xB2,
        TABLE_FULL = 0xB4,
        SECURITY_CONFIGURATION_INVALID = 0xB7,
    }
);

status_type!(
    /// `EzspStatus`: the serial protocol's own statuses.
    EzspStatus(u8) {
        SUCCESS = 0x00,
        ERROR_VERSION_NOT_SET = 0x30,
        ERROR_INVALID_FRAME_ID = 0x31,
        ERROR_WRONG_DIRECTION = 0x32,
        ERROR_TRUNCATED = 0x33,
        ERROR_OVERFLOW = 0x34,
        ERROR_OUT_OF_MEMORY = 0x35,
        ERROR_INVALID_VALUE = 0x36,
        ERROR_INVALID_ID = 0x37,
        ERROR_INVALID_CALL = 0x38,
        ERROR_NO_RESPONSE = 0x39,
        ERROR_COMMAND_TOO_LONG = 0x40,
        ERROR_QUEUE_FULL = 0x41,
        ERROR_UNSUPPORTED_CONTROL = 0x49,
    }
);

status_type!(
    /// `sl_status_t` (EmberZNet 7.4+; EZSP v12+ for `importTransientKey`).
    SlStatus(u32) {
        OK = 0x0000,
        FAIL = 0x0001,
        INVALID_STATE = 0x0002,
        INVALID_PARAMETER = 0x0021,
    }
);

status_type!(
    /// `EmberNetworkStatus`.
    NetworkStatus(u8) {
        NO_NETWORK = 0x00,
        JOINING_NETWORK = 0x01,
        JOINED_NETWORK = 0x02,
        JOINED_NETWORK_NO_PARENT = 0x03,
        LEAVING_NETWORK = 0x04,
    }
);

status_type!(
    /// `EmberDeviceUpdate` (in `trustCenterJoinHandler`).
    DeviceUpdate(u8) {
        STANDARD_SECURITY_SECURED_REJOIN = 0x00,
        STANDARD_SECURITY_UNSECURED_JOIN = 0x01,
        DEVICE_LEFT = 0x02,
        STANDARD_SECURITY_UNSECURED_REJOIN = 0x03,
    }
);

status_type!(
    /// `EmberJoinDecision`.
    JoinDecision(u8) {
        USE_PRECONFIGURED_KEY = 0x00,
        SEND_KEY_IN_THE_CLEAR = 0x01,
        DENY_JOIN = 0x02,
        NO_ACTION = 0x03,
    }
);

status_type!(
    /// `EmberNodeType`.
    NodeType(u8) {
        UNKNOWN = 0x00,
        COORDINATOR = 0x01,
        ROUTER = 0x02,
        END_DEVICE = 0x03,
        SLEEPY_END_DEVICE = 0x04,
    }
);

/// `EmberOutgoingMessageType::OUTGOING_DIRECT`: `indexOrDestination` is a node id.
pub const OUTGOING_DIRECT: u8 = 0x00;
/// `EmberIncomingMessageType::INCOMING_UNICAST`.
pub const INCOMING_UNICAST: u8 = 0x00;
/// `EmberIncomingMessageType::INCOMING_BROADCAST`.
pub const INCOMING_BROADCAST: u8 = 0x04;

/// `EmberApsOption` bits used here.
pub mod aps_option {
    /// Encrypt with the APS link key.
    pub const ENCRYPTION: u16 = 0x0020;
    /// Ask for an APS acknowledgement (and retry).
    pub const RETRY: u16 = 0x0040;
    pub const ENABLE_ROUTE_DISCOVERY: u16 = 0x0100;
    pub const ENABLE_ADDRESS_DISCOVERY: u16 = 0x1000;
}

/// `EmberInitialSecurityBitmask` bits.
pub mod security_bitmask {
    pub const TRUST_CENTER_GLOBAL_LINK_KEY: u16 = 0x0004;
    pub const HAVE_TRUST_CENTER_EUI64: u16 = 0x0040;
    pub const HAVE_PRECONFIGURED_KEY: u16 = 0x0100;
    pub const HAVE_NETWORK_KEY: u16 = 0x0200;
    pub const REQUIRE_ENCRYPTED_KEY: u16 = 0x0800;
    pub const TRUST_CENTER_USES_HASHED_LINK_KEY: u16 = 0x0084;
}

/// `EmberApsFrame` (11 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApsFrame {
    pub profile_id: u16,
    pub cluster_id: u16,
    pub source_endpoint: u8,
    pub destination_endpoint: u8,
    /// `EmberApsOption` bits ([`aps_option`]).
    pub options: u16,
    pub group_id: u16,
    pub sequence: u8,
}

impl ApsFrame {
    pub fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            profile_id: r.u16()?,
            cluster_id: r.u16()?,
            source_endpoint: r.u8()?,
            destination_endpoint: r.u8()?,
            options: r.u16()?,
            group_id: r.u16()?,
            sequence: r.u8()?,
        })
    }
    pub fn write(&self, w: &mut Vec<u8>) {
        w.put_u16(self.profile_id);
        w.put_u16(self.cluster_id);
        w.put_u8(self.source_endpoint);
        w.put_u8(self.destination_endpoint);
        w.put_u16(self.options);
        w.put_u16(self.group_id);
        w.put_u8(self.sequence);
    }
}

/// `EmberNetworkParameters` (20 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkParameters {
    /// Wire order (least significant byte first).
    pub extended_pan_id: [u8; 8],
    pub pan_id: u16,
    pub radio_tx_power: i8,
    pub radio_channel: u8,
    /// `EmberJoinMethod`.
    pub join_method: u8,
    pub nwk_manager_id: u16,
    pub nwk_update_id: u8,
    /// Channel mask (bit n = channel n).
    pub channels: u32,
}

impl NetworkParameters {
    pub fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            extended_pan_id: r.array()?,
            pan_id: r.u16()?,
            radio_tx_power: r.i8()?,
            radio_channel: r.u8()?,
            join_method: r.u8()?,
            nwk_manager_id: r.u16()?,
            nwk_update_id: r.u8()?,
            channels: r.u32()?,
        })
    }
    pub fn write(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.extended_pan_id);
        w.put_u16(self.pan_id);
        w.put_u8(self.radio_tx_power as u8);
        w.put_u8(self.radio_channel);
        w.put_u8(self.join_method);
        w.put_u16(self.nwk_manager_id);
        w.put_u8(self.nwk_update_id);
        w.put_u32(self.channels);
    }
}

/// `EmberInitialSecurityState` (43 bytes). Keys are redacted in `Debug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitialSecurityState {
    /// [`security_bitmask`] bits.
    pub bitmask: u16,
    pub preconfigured_key: Key,
    pub network_key: Key,
    pub network_key_sequence_number: u8,
    pub preconfigured_trust_center_eui64: Eui64,
}

impl InitialSecurityState {
    pub fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            bitmask: r.u16()?,
            preconfigured_key: r.key()?,
            network_key: r.key()?,
            network_key_sequence_number: r.u8()?,
            preconfigured_trust_center_eui64: r.eui64()?,
        })
    }
    pub fn write(&self, w: &mut Vec<u8>) {
        w.put_u16(self.bitmask);
        w.extend_from_slice(&self.preconfigured_key.0);
        w.extend_from_slice(&self.network_key.0);
        w.put_u8(self.network_key_sequence_number);
        w.extend_from_slice(&self.preconfigured_trust_center_eui64.0);
    }
}

/// `addEndpoint` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    pub endpoint: u8,
    pub profile_id: u16,
    pub device_id: u16,
    pub device_version: u8,
    pub input_clusters: Vec<u16>,
    pub output_clusters: Vec<u16>,
}
