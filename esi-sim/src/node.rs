//! What the simulator needs from one ESI: the firmware's coordinator
//! (`firmware::coordinator::Coordinator`: ESI core + host-link endpoint) seen through a small
//! trait, so the simulator's loop does not depend on the firmware's generic parameters.
//!
//! Inputs are serial bytes from the host, radio indications/confirms, join requests and leaves,
//! and timeouts, each with the virtual `now` in milliseconds; outputs are serial bytes for the
//! host and [`RadioAction`]s for the simulated radio. [`NodeSnapshot`] is a read-only view for
//! invariant checks and status output.

use crate::metrology::SimMeter;
use firmware::esi::{ApsHandle, ApsIndication, ApsStatus, JoinDecision};
use firmware::esi::{DrEvent, SlotState};
use zse::zcl::Eui64;

pub mod coordinator;
pub mod ncp;

/// What sits behind each ESI's serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeKind {
    /// The firmware coordinator (ESI core + host link): the default.
    #[default]
    Firmware,
    /// An emulated EZSP network co-processor ([`ncp::EzspNcp`]) speaking up to `max_version`.
    Ezsp { max_version: u8 },
}

/// What the ESI asks its radio to do (send an APS frame, make a device leave, install or erase
/// a trust-centre link key).
pub use firmware::coordinator::RadioAction;

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
        5 => Box::new(coordinator::new::<5>(eui64, session_seed, meter)),
        8 => Box::new(coordinator::new::<8>(eui64, session_seed, meter)),
        10 => Box::new(coordinator::new::<10>(eui64, session_seed, meter)),
        16 => Box::new(coordinator::new::<16>(eui64, session_seed, meter)),
        _ => return None,
    })
}
