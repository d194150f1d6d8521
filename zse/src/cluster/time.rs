//! Time cluster 0x000A (ZCL §3.12; se10.md §2.2). The ESI is the HAN's time master; SE clients
//! synchronise from it before acting on start times. The cluster has attributes only.

use super::AttributeDef;
use crate::field::newtype;
use crate::zcl::DataType;

pub const CLUSTER_ID: u16 = 0x000A;

pub mod attr {
    pub const TIME: u16 = 0x0000;
    pub const TIME_STATUS: u16 = 0x0001;
    pub const TIME_ZONE: u16 = 0x0002;
    pub const DST_START: u16 = 0x0003;
    pub const DST_END: u16 = 0x0004;
    pub const DST_SHIFT: u16 = 0x0005;
    pub const STANDARD_TIME: u16 = 0x0006;
    pub const LOCAL_TIME: u16 = 0x0007;
    pub const LAST_SET_TIME: u16 = 0x0008;
    pub const VALID_UNTIL_TIME: u16 = 0x0009;
}

pub const ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef::new(attr::TIME, "Time", DataType::UTC_TIME),
    AttributeDef::new(attr::TIME_STATUS, "TimeStatus", DataType::BITMAP8),
    AttributeDef::new(attr::TIME_ZONE, "TimeZone", DataType::INT32),
    AttributeDef::new(attr::DST_START, "DstStart", DataType::UINT32),
    AttributeDef::new(attr::DST_END, "DstEnd", DataType::UINT32),
    AttributeDef::new(attr::DST_SHIFT, "DstShift", DataType::INT32),
    AttributeDef::new(attr::STANDARD_TIME, "StandardTime", DataType::UINT32),
    AttributeDef::new(attr::LOCAL_TIME, "LocalTime", DataType::UINT32),
    AttributeDef::new(attr::LAST_SET_TIME, "LastSetTime", DataType::UTC_TIME),
    AttributeDef::new(attr::VALID_UNTIL_TIME, "ValidUntilTime", DataType::UTC_TIME),
];

newtype! {
    /// TimeStatus bitmap (ZCL §3.12.2.2.2).
    pub struct TimeStatus(u8);
}

impl TimeStatus {
    /// The server's time comes from an authoritative source (an ESI sets this).
    pub const MASTER: u8 = 0x01;
    /// Time is synchronised to a master over the network.
    pub const SYNCHRONIZED: u8 = 0x02;
    /// TimeZone / Dst attributes are authoritative.
    pub const MASTER_ZONE_DST: u8 = 0x04;
    /// Prefer this source over other masters (SE).
    pub const SUPERSEDING: u8 = 0x08;

    pub const fn is_master(self) -> bool {
        self.0 & Self::MASTER != 0
    }
}
