//! Turning queued work into [`Action`]s: `poll_action` drains, in order, host outcomes and
//! radio actions, immediate replies, GetScheduled* answers (one frame per call), finished
//! deliveries, and the next queued push (built from the current tables at send time).

use super::counters::bump;
use super::delivery::{Delivery, Push, State};
use super::drlc;
use super::metering::Metrology;
use super::{
    Action, ApsFrame, CommandOk, DeliveryOutcome, Esi, EsiStatus, Outcome, Pending, ReplyTo,
    SlotState, SmallOk,
};
use zse::zcl::UtcTime;

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    /// The next thing to do, or `None` when idle. Call until it returns `None` after every input.
    pub fn poll_action(&mut self) -> Option<Action> {
        while let Some(p) = self.queue.pop_front() {
            if let Some(action) = self.materialize(p) {
                return Some(action);
            }
        }
        if let Some(frame) = self.replies.pop_front() {
            bump(&mut self.counters.tx_frames);
            return Some(Action::SendAps(frame));
        }
        if let Some(frame) = self.next_scheduled_reply() {
            bump(&mut self.counters.tx_frames);
            return Some(Action::SendAps(frame));
        }
        loop {
            if let Some((request_id, eui64, outcome)) = self.deliveries.take_done() {
                return Some(Action::Host(Outcome::DeliveryResult { request_id, eui64, outcome }));
            }
            let index = self.deliveries.next_queued()?;
            let delivery = *self.deliveries.get_mut(index)?;
            let built = self.build_push(&delivery);
            let deadline = self.now.add_millis(self.config.retry.confirm_timeout_ms);
            let d = self.deliveries.get_mut(index)?;
            match built {
                Ok(frame) => {
                    d.state = State::InFlight { handle: frame.handle, deadline };
                    bump(&mut self.counters.tx_frames);
                    return Some(Action::SendAps(frame));
                }
                Err(outcome) => d.state = State::Done(outcome),
            }
        }
    }

    fn materialize(&mut self, p: Pending) -> Option<Action> {
        let outcome = match p {
            Pending::Result { request_id, result } => Outcome::CommandResult {
                request_id,
                result: result.map(|ok| match ok {
                    SmallOk::DeviceAdded { slot, slots_free } => {
                        CommandOk::DeviceAdded { slot, slots_free }
                    }
                    SmallOk::DeviceRemoved { slot } => CommandOk::DeviceRemoved { slot },
                    SmallOk::Accepted { deliveries, superseded } => {
                        CommandOk::Accepted { deliveries, superseded }
                    }
                    SmallOk::TimeSet => CommandOk::TimeSet,
                }),
            },
            Pending::MeterReading { request_id, attrs } => Outcome::CommandResult {
                request_id,
                result: Ok(CommandOk::MeterReading(self.meter_reading(attrs))),
            },
            Pending::Status { request_id } => {
                Outcome::CommandResult { request_id, result: Ok(CommandOk::Status(self.status())) }
            }
            Pending::DeviceList { request_id, next } => {
                let found = (usize::from(next)..SLOTS).find_map(|i| self.device_info(i));
                match found {
                    Some(device) => {
                        let next = device.slot.saturating_add(1);
                        // Room is certain: this entry was just popped.
                        let _ = self.queue.push_front(Pending::DeviceList { request_id, next });
                        Outcome::DeviceInfo { request_id, device }
                    }
                    None => Outcome::CommandResult {
                        request_id,
                        result: Ok(CommandOk::DeviceList {
                            capacity: SLOTS as u8,
                            occupied: self.slots.occupied() as u8,
                        }),
                    },
                }
            }
            Pending::DeviceState { eui64, event } => Outcome::DeviceState { eui64, event },
            Pending::EventStatus { eui64, report } => Outcome::EventStatus { eui64, report },
            Pending::MessageConfirmed { eui64, message_id, confirmation_time } => {
                Outcome::MessageConfirmed { eui64, message_id, confirmation_time }
            }
            Pending::PowerSwitch { power, switch, at } => {
                Outcome::PowerSwitchStatus { power, switch, at }
            }
            Pending::Leave { eui64, short } => return Some(Action::Leave { eui64, short }),
            Pending::InstallKey { eui64 } => {
                // The slot may have been freed before the key was installed: nothing to do.
                let key = self.slots.by_eui(eui64)?.key;
                return Some(Action::InstallKey { eui64, key });
            }
            Pending::EraseKey { eui64 } => return Some(Action::EraseKey { eui64 }),
        };
        Some(Action::Host(outcome))
    }

    fn next_scheduled_reply(&mut self) -> Option<ApsFrame> {
        if self.scheduled_prices.is_some() {
            if let Some(f) = self.next_scheduled_price() {
                return Some(f);
            }
            self.scheduled_prices = None;
        }
        let f = self.next_scheduled_event();
        if f.is_none() {
            self.scheduled_events = None;
        }
        f
    }

    fn status(&mut self) -> EsiStatus {
        let count = |st: SlotState| self.slots.iter().filter(|(_, s)| s.state == st).count() as u8;
        let (pending, paired) = (count(SlotState::Pending), count(SlotState::Paired));
        let ps = self.power_switch();
        EsiStatus {
            capacity: SLOTS as u8,
            occupied: self.slots.occupied() as u8,
            pending,
            paired,
            utc: self.clock.utc(self.now).map(UtcTime),
            in_flight: self.deliveries.in_flight() as u8,
            active_message: self.message.map(|m| m.message_id),
            prices: self.prices.len() as u8,
            dr_events: self.events.len() as u8,
            power: ps.map(|p| p.0),
            switch: ps.map(|p| p.1),
            counters: self.counters,
        }
    }

    /// The frame for one transmission of a delivery, or why it ends instead.
    fn build_push(&mut self, d: &Delivery) -> Result<ApsFrame, DeliveryOutcome> {
        let slot = self
            .slots
            .by_eui(d.eui64)
            .filter(|s| s.state == SlotState::Paired)
            .ok_or(DeliveryOutcome::NotPaired)?;
        let to = ReplyTo {
            short: slot.short.unwrap_or(0xFFFF),
            eui64: d.eui64,
            endpoint: slot.endpoint,
            our_endpoint: self.config.endpoint,
            cluster: d.push.cluster(),
            secure: true,
            broadcast: false,
        };
        let ddr = self.config.push_disable_default_response;
        let payload = match d.push {
            Push::DisplayMessage { message_id } => {
                self.display_message_frame(message_id, d.tsn, ddr)
            }
            Push::CancelMessage { message_id, message_control } => {
                Self::cancel_message_frame(message_id, message_control, d.tsn, ddr)
            }
            Push::PublishPrice { issuer_event_id } => {
                self.publish_price_frame(issuer_event_id, d.tsn, ddr)
            }
            Push::LoadControlEvent { issuer_event_id } => {
                self.load_control_event_frame(issuer_event_id, d.tsn, ddr)
            }
            Push::CancelLoadControlEvent { .. } | Push::CancelAllLoadControlEvents { .. } => {
                drlc::cancel_frame(d.push, d.tsn, ddr)
            }
        }
        .ok_or(DeliveryOutcome::Superseded)?;
        Ok(self.aps_frame(&to, payload))
    }
}
