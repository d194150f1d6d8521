//! Provisioning state machine (design.md §5; BR-068, BR-081, BR-084): add, join, key
//! establishment, pairing, leave, removal and join-window expiry.
//!
//! ```text
//!  AddDevice ─► Pending ──join accepted──► Joined ──link-key frame──► KeyEstablished
//!                 │ window closes                                         │ SE frame with link key,
//!                 ▼                                                       ▼ or handle_key_established
//!        slot freed (JoinWindowExpired)                                 Paired
//!  any on-network state ──device left──► Left ──rejoin──► Joined
//!  any state ──RemoveDevice──► Leave + EraseKey, slot freed (Removed)
//! ```
//!
//! **Pairing without CBKE.** Certificate-based key establishment (se10.md §7) is out of scope for
//! the core, so it infers progress from the security of the frames it sees:
//! * `Joined → KeyEstablished`: the first frame from the device that arrives APS-secured with its
//!   link key (any cluster, typically Key Establishment 0x0800): the device demonstrably holds
//!   the trust-centre link key.
//! * `KeyEstablished → Paired`: the first link-key-secured frame on an SE cluster other than
//!   Key Establishment (the device has finished key establishment and uses the SE service), or
//!   an explicit [`Esi::handle_key_established`] from a stack that runs CBKE itself (allowed
//!   from any on-network state).
//!
//! Pushes (messages, prices, DR events) go to Paired devices only; requests from a device are
//! served as soon as their security suffices for the cluster (see `intake`).

use super::action::{ApsSecurity, DeviceEvent, DeviceInfo, JoinDecision};
use super::clock::Instant;
use super::command::{CommandError, RemovalReason, RequestId};
use super::metering::Metrology;
use super::slot::{LinkKey, Slot, SlotState};
use super::{Esi, Pending, SmallOk};
use zse::zcl::{ClusterId, Eui64};

/// Shortest and longest join window (design.md §5: 1 minute ..= 30 days).
pub const JOIN_WINDOW_SECS: core::ops::RangeInclusive<u32> = 60..=30 * 24 * 3600;

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    pub(crate) fn cmd_add_device(
        &mut self,
        request_id: RequestId,
        eui64: Eui64,
        link_key: LinkKey,
        join_window_secs: u32,
    ) {
        if let Some(slot) = self.slots.find(eui64) {
            return self.fail(request_id, CommandError::AlreadyProvisioned { slot: slot as u8 });
        }
        if !JOIN_WINDOW_SECS.contains(&join_window_secs) {
            return self.fail(request_id, CommandError::InvalidJoinWindow);
        }
        let slot = Slot {
            eui64,
            key: link_key,
            state: SlotState::Pending,
            short: None,
            endpoint: self.config.default_device_endpoint,
            join_deadline: Some(self.now.add_millis(u64::from(join_window_secs) * 1000)),
            last_seen: None,
            lqi: None,
            price_client: false,
        };
        let Some(index) = self.slots.insert(slot) else {
            let capacity = SLOTS as u8;
            let occupants = self.slots.occupied() as u8;
            return self.fail(request_id, CommandError::SlotsFull { capacity, occupants });
        };
        self.push_pending(Pending::InstallKey { eui64 });
        let slots_free = (SLOTS - self.slots.occupied()) as u8;
        self.ok(request_id, SmallOk::DeviceAdded { slot: index as u8, slots_free });
    }

    pub(crate) fn cmd_remove_device(
        &mut self,
        request_id: RequestId,
        eui64: Eui64,
        reason: RemovalReason,
    ) {
        let Some(index) = self.slots.find(eui64) else {
            return self.fail(request_id, CommandError::NotFound);
        };
        self.free_slot(index, DeviceEvent::Removed { reason }, true);
        self.ok(request_id, SmallOk::DeviceRemoved { slot: index as u8 });
    }

    /// Frees a slot: leave (if on the network), key erase, pending deliveries ended, host told.
    fn free_slot(&mut self, index: usize, event: DeviceEvent, leave: bool) {
        let Some(slot) = self.slots.remove(index) else { return };
        if leave && slot.state.is_on_network() {
            self.push_pending(Pending::Leave { eui64: slot.eui64, short: slot.short });
        }
        self.push_pending(Pending::EraseKey { eui64: slot.eui64 });
        self.deliveries.device_removed(slot.eui64);
        self.device_event(slot.eui64, event);
    }

    pub(crate) fn device_info(&self, index: usize) -> Option<DeviceInfo> {
        let s = self.slots.get(index)?;
        Some(DeviceInfo {
            slot: index as u8,
            eui64: s.eui64,
            state: s.state,
            short: s.short,
            join_deadline: s.join_deadline,
            last_seen: s.last_seen,
            lqi: s.lqi,
        })
    }

    /// The radio asks whether `eui64` may join. Accepted for a provisioned device whose join
    /// window is open, or that was on the network before (rejoin / after leaving); the stack
    /// then transports the network key under the returned link key.
    pub fn handle_join_request(&mut self, now: Instant, eui64: Eui64, short: u16) -> JoinDecision {
        self.now = now;
        self.expire_join_windows(now);
        let Some(slot) = self.slots.by_eui_mut(eui64) else {
            super::counters::bump(&mut self.counters.joins_refused);
            self.device_event(eui64, DeviceEvent::JoinRefused { short });
            return JoinDecision::Refuse;
        };
        let key = slot.key;
        self.mark_joined(now, eui64, short);
        JoinDecision::Accept { link_key: key }
    }

    /// The stack reports that `eui64` joined (for stacks that admit devices from their key table
    /// without asking). A device that is not provisioned is told to leave.
    pub fn handle_device_joined(&mut self, now: Instant, eui64: Eui64, short: u16) {
        self.now = now;
        self.expire_join_windows(now);
        if self.slots.find(eui64).is_some() {
            self.mark_joined(now, eui64, short);
        } else {
            super::counters::bump(&mut self.counters.joins_refused);
            self.device_event(eui64, DeviceEvent::JoinRefused { short });
            self.push_pending(Pending::Leave { eui64, short: Some(short) });
        }
    }

    fn mark_joined(&mut self, now: Instant, eui64: Eui64, short: u16) {
        let Some(slot) = self.slots.by_eui_mut(eui64) else { return };
        slot.short = Some(short);
        slot.last_seen = Some(now);
        if matches!(slot.state, SlotState::Pending | SlotState::Left) {
            slot.state = SlotState::Joined;
            slot.join_deadline = None;
            self.device_event(eui64, DeviceEvent::Joined { short });
        }
    }

    /// The stack reports that `eui64` left the network. The device stays provisioned.
    pub fn handle_device_left(&mut self, now: Instant, eui64: Eui64) {
        self.now = now;
        let Some(slot) = self.slots.by_eui_mut(eui64) else { return };
        if slot.state.is_on_network() {
            slot.state = SlotState::Left;
            slot.price_client = false;
            self.device_event(eui64, DeviceEvent::Left);
        }
    }

    /// The stack reports that CBKE with `eui64` completed: the device is Paired.
    pub fn handle_key_established(&mut self, now: Instant, eui64: Eui64) {
        self.now = now;
        let Some(slot) = self.slots.by_eui_mut(eui64) else { return };
        if slot.state.is_on_network() && slot.state != SlotState::Paired {
            slot.state = SlotState::Paired;
            self.device_event(eui64, DeviceEvent::Paired);
        }
    }

    /// Provisioning progress inferred from a received frame (see the module docs). A frame from
    /// a device we believed off the network means it is on it.
    pub(crate) fn note_frame(&mut self, index: usize, cluster: ClusterId, security: ApsSecurity) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(index) else { return };
        let (eui64, short) = (slot.eui64, slot.short.unwrap_or(0xFFFF));
        if !slot.state.is_on_network() {
            self.mark_joined(now, eui64, short);
        }
        if security != ApsSecurity::LinkKey {
            return;
        }
        let Some(slot) = self.slots.get_mut(index) else { return };
        let event = match slot.state {
            SlotState::Joined => {
                slot.state = SlotState::KeyEstablished;
                DeviceEvent::KeyEstablished
            }
            SlotState::KeyEstablished if cluster != ClusterId::KEY_ESTABLISHMENT => {
                slot.state = SlotState::Paired;
                DeviceEvent::Paired
            }
            _ => return,
        };
        self.device_event(eui64, event);
    }

    /// Frees Pending slots whose join window has closed.
    pub(crate) fn expire_join_windows(&mut self, now: Instant) {
        loop {
            let due = self.slots.iter().find_map(|(i, s)| {
                (s.state == SlotState::Pending && s.join_deadline.is_some_and(|d| d <= now))
                    .then_some(i)
            });
            let Some(index) = due else { break };
            self.free_slot(index, DeviceEvent::JoinWindowExpired, false);
        }
    }

    pub(crate) fn next_join_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|(_, s)| s.state == SlotState::Pending)
            .filter_map(|(_, s)| s.join_deadline)
            .min()
    }

    fn device_event(&mut self, eui64: Eui64, event: DeviceEvent) {
        self.push_pending(Pending::DeviceState { eui64, event });
    }
}
