//! What the simulator needs from one ESI: the firmware's coordinator (host-link endpoint + ESI
//! core) seen through a small trait, so the simulator does not depend on how the firmware
//! composes them.
//!
//! Inputs are serial bytes from the host, radio indications/confirms, join requests and leaves,
//! and timeouts, each with the virtual `now` in milliseconds; outputs are serial bytes for the
//! host and [`RadioAction`]s for the simulated radio. [`NodeSnapshot`] is a read-only view for
//! invariant checks and status output.

use crate::metrology::SimMeter;
use firmware::esi::{ApsFrame, ApsHandle, ApsIndication, ApsStatus, JoinDecision, LinkKey};
use firmware::esi::{DrEvent, SlotState};
use zse::zcl::Eui64;

pub mod interim;

/// What the ESI asks its radio to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioAction {
    SendAps(ApsFrame),
    /// Tell the device to leave the network.
    Leave {
        eui64: Eui64,
        short: Option<u16>,
    },
    /// Put the device's link key into the trust-centre key table.
    InstallKey {
        eui64: Eui64,
        key: LinkKey,
    },
    /// Remove the device's key from the key table.
    EraseKey {
        eui64: Eui64,
    },
}

/// One occupied slot, for invariant checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotView {
    pub slot: u8,
    pub eui64: Eui64,
    pub state: SlotState,
}

/// A read-only view of an ESI at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSnapshot {
    pub capacity: u8,
    pub slots: Vec<SlotView>,
    /// The ESI's UTC (seconds since 2000), `None` until the host set the time.
    pub utc: Option<u32>,
    pub dr_events: Vec<DrEvent>,
    /// Host-link frames that arrived damaged or undecodable (answered or dropped, never a
    /// crash).
    pub link_receive_errors: u32,
    /// Whether a host-link session is up.
    pub link_connected: bool,
}

/// One simulated ESI as the simulator drives it (the firmware coordinator's API).
pub trait EsiNode {
    fn handle_serial_bytes(&mut self, now: u64, bytes: &[u8]);
    /// The next host-link bytes to write to the serial line (`buf` holds at least
    /// `firmware::host_link::MAX_WIRE_LEN` bytes).
    fn poll_serial_transmit(&mut self, buf: &mut [u8]) -> Option<usize>;
    fn handle_aps_indication(&mut self, now: u64, ind: ApsIndication<'_>);
    fn handle_aps_confirm(&mut self, now: u64, handle: ApsHandle, status: ApsStatus);
    fn handle_join_request(&mut self, now: u64, eui64: Eui64, short: u16) -> JoinDecision;
    fn handle_device_left(&mut self, now: u64, eui64: Eui64);
    fn handle_timeout(&mut self, now: u64);
    fn poll_timeout(&self) -> Option<u64>;
    fn poll_radio(&mut self) -> Option<RadioAction>;
    /// A coordinator restart: volatile state is lost, the link re-handshakes.
    fn reset(&mut self, now: u64);
    fn snapshot(&self, now: u64) -> NodeSnapshot;
}

/// Slot capacities the simulator can build (the core's capacity is a const generic).
pub const CAPACITIES: [u8; 4] = [5, 8, 10, 16];

/// Builds the node for one ESI.
pub fn build(
    capacity: u8,
    eui64: Eui64,
    session_seed: u32,
    meter: SimMeter,
) -> Option<Box<dyn EsiNode>> {
    Some(match capacity {
        5 => Box::new(interim::InterimNode::<5>::new(eui64, session_seed, meter)),
        8 => Box::new(interim::InterimNode::<8>::new(eui64, session_seed, meter)),
        10 => Box::new(interim::InterimNode::<10>::new(eui64, session_seed, meter)),
        16 => Box::new(interim::InterimNode::<16>::new(eui64, session_seed, meter)),
        _ => return None,
    })
}
