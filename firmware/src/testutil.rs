//! Fixtures shared by the ESI core tests (`esi::tests`) and the coordinator tests
//! (`coordinator::tests`).

use crate::esi::{ApsIndication, ApsSecurity, MeterStatus, Metrology};
use zse::zcl::{ClusterId, Eui64};

/// 2026-01-01 00:00:00 UTC in ZigBee time.
pub const T0: u32 = 820_454_400;
pub const IHD: Eui64 = Eui64(0x000D_6F00_0000_0001);
pub const PCT: Eui64 = Eui64(0x000D_6F00_0000_0002);
pub const KEY: [u8; 16] = [
    0x66, 0xB6, 0x90, 0x09, 0x81, 0xE1, 0xEE, 0x3C, 0xA4, 0x20, 0x6B, 0x6B, 0x86, 0x1C, 0x02, 0xBB,
];

/// A meter whose values the test sets.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeMeter {
    pub summation: Option<u64>,
    pub demand: Option<i32>,
    pub status: Option<MeterStatus>,
}

impl Metrology for FakeMeter {
    fn current_summation_delivered(&mut self) -> Option<u64> {
        self.summation
    }
    fn instantaneous_demand(&mut self) -> Option<i32> {
        self.demand
    }
    fn status(&mut self) -> Option<MeterStatus> {
        self.status
    }
}

/// The short address the tests give device `eui`.
pub fn short_of(eui: Eui64) -> u16 {
    (eui.0 & 0xFFFF) as u16 | 0x1000
}

/// An SE frame `zcl` from `eui` (endpoint 9 to endpoint 1, LQI 200), as the radio indicates it.
pub fn indication(
    eui: Eui64,
    cluster: ClusterId,
    security: ApsSecurity,
    broadcast: bool,
    zcl: &[u8],
) -> ApsIndication<'_> {
    ApsIndication {
        src_short: short_of(eui),
        src_eui64: Some(eui),
        src_endpoint: 9,
        dst_endpoint: 1,
        cluster,
        profile: zse::zcl::SE_PROFILE_ID,
        security,
        broadcast,
        lqi: Some(200),
        payload: zcl,
    }
}
