//! The firmware's coordinator (`firmware::coordinator::Coordinator`: ESI core + host-link
//! endpoint) as the simulator's [`EsiNode`].

use super::{EsiNode, NodeSnapshot, RadioAction, SlotView};
use crate::metrology::SimMeter;
use firmware::coordinator::{Coordinator, CoordinatorConfig};
use firmware::esi::{ApsHandle, ApsIndication, ApsStatus, Instant, JoinDecision};
use zse::zcl::Eui64;

/// The coordinator the simulator runs: `SLOTS` slots, 8 DR events, 5 prices, a simulated meter.
pub type SimCoordinator<const SLOTS: usize> = Coordinator<SLOTS, 8, 5, SimMeter>;

/// A coordinator with the default configuration for `eui64`.
pub fn new<const SLOTS: usize>(
    eui64: Eui64,
    session_seed: u32,
    meter: SimMeter,
) -> SimCoordinator<SLOTS> {
    Coordinator::new(CoordinatorConfig::new(eui64, session_seed), meter)
}

impl<const SLOTS: usize> EsiNode for SimCoordinator<SLOTS> {
    fn handle_serial_bytes(&mut self, now: u64, bytes: &[u8]) {
        Coordinator::handle_serial_bytes(self, Instant(now), bytes);
    }
    fn poll_serial_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        Coordinator::poll_serial_transmit(self, buf)
    }
    fn handle_aps_indication(&mut self, now: u64, ind: ApsIndication<'_>) {
        Coordinator::handle_aps_indication(self, Instant(now), ind);
    }
    fn handle_aps_confirm(&mut self, now: u64, handle: ApsHandle, status: ApsStatus) {
        Coordinator::handle_aps_confirm(self, Instant(now), handle, status);
    }
    fn handle_join_request(&mut self, now: u64, eui64: Eui64, short: u16) -> JoinDecision {
        Coordinator::handle_join_request(self, Instant(now), eui64, short)
    }
    fn handle_device_left(&mut self, now: u64, eui64: Eui64) {
        Coordinator::handle_device_left(self, Instant(now), eui64);
    }
    fn handle_timeout(&mut self, now: u64) {
        Coordinator::handle_timeout(self, Instant(now));
    }
    fn poll_timeout(&self) -> Option<u64> {
        Coordinator::poll_timeout(self).map(Instant::as_millis)
    }
    fn poll_radio(&mut self) -> Option<RadioAction> {
        Coordinator::poll_radio(self)
    }
    fn reset(&mut self, _now: u64) {
        Coordinator::reset(self);
    }
    fn snapshot(&self, now: u64) -> NodeSnapshot {
        let esi = self.esi();
        NodeSnapshot {
            capacity: SLOTS as u8,
            slots: esi
                .devices()
                .map(|(i, s)| SlotView { slot: i as u8, eui64: s.eui64, state: s.state })
                .collect(),
            utc: esi.utc(Instant(now)).map(|u| u.0),
            dr_events: esi.dr_events().to_vec(),
            link_receive_errors: self.link().counters().receive_errors(),
            link_connected: self.link().is_connected(),
        }
    }
}
