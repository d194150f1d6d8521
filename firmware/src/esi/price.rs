//! Price server (SE 1.0 §D.4; se10.md §3, §10 "Price replacement", "Unsolicited price").
//!
//! The table holds the current and scheduled price events (at least 5). Rules:
//! * A new price must have a higher Issuer Event ID than every stored price it overlaps in time;
//!   otherwise the host gets `StaleIssuerEventId` (or `DuplicateEvent` for an equal id). The
//!   same price again (every field equal: a host repeating a request whose result it lost) is
//!   accepted and pushed again, replacing nothing: host requests are idempotent.
//! * Stored prices that start inside the new price's period are replaced by it (removed); one
//!   that started earlier stays in force until the new one starts.
//! * The current price at time t is the stored price with the latest start ≤ t whose end is
//!   after t. A price that has ended, or has been overtaken by a later-starting price that is
//!   now in force, is dropped.
//! * A new price is pushed to every Paired device that asked with GetCurrentPrice and the
//!   "Requestor Rx On When Idle" bit (sleepy devices poll instead).

use super::clock::end_of;
use super::command::{CommandError, PriceCommand, RequestId};
use super::counters::bump;
use super::delivery::Push;
use super::metering::Metrology;
use super::tx::{self, ApsPayload};
use super::{Esi, ReplyTo, Scheduled, SlotState};
use zse::cluster::metering::UnitOfMeasure;
use zse::cluster::price::{
    ClientCommand, NumberOfPriceTiersAndRegisterTier, PriceTrailingDigitAndPriceTier, PublishPrice,
    ServerCommand,
};
use zse::cluster::ClusterCommand;
use zse::zcl::{Header, Status, UtcTime, ZclStr};

/// Longest rate label (octet string ≤ 12 bytes, se10.md §3.4).
pub const RATE_LABEL_MAX_LEN: usize = 12;

/// One stored price event (PublishPrice fields 1–14, start made absolute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceEvent {
    pub provider_id: u32,
    rate_label: [u8; RATE_LABEL_MAX_LEN],
    rate_label_len: u8,
    pub issuer_event_id: u32,
    pub unit_of_measure: u8,
    pub currency: u16,
    /// Bits 7–4 trailing digits, bits 3–0 tier.
    pub price_trailing_digit_and_price_tier: u8,
    /// Bits 7–4 number of tiers, bits 3–0 register tier.
    pub number_of_price_tiers_and_register_tier: u8,
    /// UTC start (absolute).
    pub start: u32,
    pub duration_in_minutes: u16,
    pub price: u32,
    pub price_ratio: u8,
    pub generation_price: u32,
    pub generation_price_ratio: u8,
}

impl PriceEvent {
    pub fn rate_label(&self) -> &[u8] {
        self.rate_label.get(..usize::from(self.rate_label_len)).unwrap_or(&[])
    }

    /// End in UTC seconds (`u32::MAX` = until changed).
    pub fn end(&self) -> u32 {
        end_of(self.start, self.duration_in_minutes, true)
    }

    /// PublishPrice fields 1–14 (se10.md §3.4: what an SE 1.0 ESI sends), with the sender's
    /// current time.
    fn frame(&self, now_utc: u32) -> PublishPrice<'_> {
        PublishPrice {
            provider_id: self.provider_id,
            rate_label: ZclStr::new(self.rate_label()),
            issuer_event_id: self.issuer_event_id,
            current_time: UtcTime(now_utc),
            unit_of_measure: UnitOfMeasure(self.unit_of_measure),
            currency: self.currency,
            price_trailing_digit_and_price_tier: PriceTrailingDigitAndPriceTier(
                self.price_trailing_digit_and_price_tier,
            ),
            number_of_price_tiers_and_register_tier: NumberOfPriceTiersAndRegisterTier(
                self.number_of_price_tiers_and_register_tier,
            ),
            start_time: UtcTime(self.start),
            duration_in_minutes: self.duration_in_minutes,
            price: self.price,
            price_ratio: Some(self.price_ratio),
            generation_price: Some(self.generation_price),
            generation_price_ratio: Some(self.generation_price_ratio),
            alternate_cost_delivered: None,
            alternate_cost_unit: None,
            alternate_cost_trailing_digit: None,
            number_of_block_thresholds: None,
            price_control: None,
        }
    }

    fn encode(&self, now_utc: u32, tsn: u8, ddr: bool) -> Option<ApsPayload> {
        let cmd = ClusterCommand::PriceServer(ServerCommand::PublishPrice(self.frame(now_utc)));
        tx::cluster_command(cmd, tsn, ddr)
    }

    fn overlaps(&self, start: u32, end: u32) -> bool {
        self.start < end && start < self.end()
    }

    /// Validates a host command and makes its start absolute.
    fn from_command(p: &PriceCommand<'_>, now_utc: u32) -> Result<Self, CommandError> {
        let label = p.rate_label.as_bytes();
        if label.len() > RATE_LABEL_MAX_LEN {
            return Err(CommandError::TextTooLong { max: RATE_LABEL_MAX_LEN as u8 });
        }
        let nibbles = [
            ("price_trailing_digit", p.price_trailing_digit),
            ("price_tier", p.price_tier),
            ("number_of_price_tiers", p.number_of_price_tiers),
            ("register_tier", p.register_tier),
        ];
        if let Some((name, _)) = nibbles.iter().find(|(_, v)| *v > 0x0F) {
            return Err(CommandError::InvalidField(name));
        }
        if p.duration_in_minutes == 0 {
            return Err(CommandError::InvalidField("duration_in_minutes"));
        }
        let mut rate_label = [0u8; RATE_LABEL_MAX_LEN];
        if let Some(dst) = rate_label.get_mut(..label.len()) {
            dst.copy_from_slice(label);
        }
        let start = if p.start_time.0 == 0 { now_utc } else { p.start_time.0 };
        let event = Self {
            provider_id: p.provider_id,
            rate_label,
            rate_label_len: label.len() as u8,
            issuer_event_id: p.issuer_event_id,
            unit_of_measure: p.unit_of_measure,
            currency: p.currency,
            price_trailing_digit_and_price_tier: (p.price_trailing_digit << 4) | p.price_tier,
            number_of_price_tiers_and_register_tier: (p.number_of_price_tiers << 4)
                | p.register_tier,
            start,
            duration_in_minutes: p.duration_in_minutes,
            price: p.price,
            price_ratio: p.price_ratio,
            generation_price: p.generation_price,
            generation_price_ratio: p.generation_price_ratio,
        };
        if event.end() <= now_utc {
            return Err(CommandError::Expired);
        }
        Ok(event)
    }
}

/// The stored price events.
#[derive(Debug, Clone)]
pub(crate) struct PriceTable<const N: usize> {
    events: heapless::Vec<PriceEvent, N>,
}

impl<const N: usize> PriceTable<N> {
    pub(crate) const fn new() -> Self {
        Self { events: heapless::Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn as_slice(&self) -> &[PriceEvent] {
        &self.events
    }

    pub(crate) fn get(&self, issuer_event_id: u32) -> Option<&PriceEvent> {
        self.events.iter().find(|e| e.issuer_event_id == issuer_event_id)
    }

    /// Checks the replacement rule; returns how many stored events `new` replaces.
    fn check(&self, new: &PriceEvent) -> Result<u8, CommandError> {
        let mut replaced = 0u8;
        for e in self.events.iter().filter(|e| e.overlaps(new.start, new.end())) {
            if e.issuer_event_id == new.issuer_event_id {
                return Err(CommandError::DuplicateEvent);
            }
            if e.issuer_event_id > new.issuer_event_id {
                return Err(CommandError::StaleIssuerEventId { stored: e.issuer_event_id });
            }
            if e.start >= new.start {
                replaced += 1;
            }
        }
        if self.events.iter().any(|e| e.issuer_event_id == new.issuer_event_id) {
            return Err(CommandError::DuplicateEvent);
        }
        let after = self.events.len() - usize::from(replaced);
        if after >= N {
            return Err(CommandError::TableFull { capacity: N as u8 });
        }
        Ok(replaced)
    }

    fn insert(&mut self, new: PriceEvent) {
        let end = new.end();
        self.events.retain(|e| !(e.overlaps(new.start, end) && e.start >= new.start));
        // `check` made room.
        let _ = self.events.push(new);
    }

    /// Drops ended prices and prices overtaken by a later one now in force.
    pub(crate) fn expire(&mut self, now_utc: u32) {
        let latest_started =
            self.events.iter().filter(|e| e.start <= now_utc).map(|e| e.start).max();
        self.events
            .retain(|e| e.end() > now_utc && latest_started.is_none_or(|latest| e.start >= latest));
    }

    /// The price in force at `now_utc`.
    pub(crate) fn current(&self, now_utc: u32) -> Option<&PriceEvent> {
        self.events
            .iter()
            .filter(|e| e.start <= now_utc && e.end() > now_utc)
            .max_by_key(|e| (e.start, e.issuer_event_id))
    }

    /// Next UTC second at which the table changes by itself: an end, or the start of a price
    /// that overtakes an earlier-starting one.
    pub(crate) fn next_deadline(&self) -> Option<u32> {
        let ends = self.events.iter().map(PriceEvent::end).filter(|&t| t != u32::MAX);
        let overtakes = self
            .events
            .iter()
            .filter(|e| self.events.iter().any(|o| o.start < e.start))
            .map(|e| e.start);
        ends.chain(overtakes).min()
    }

    /// The next event (by start, then id) after `after` that ends after `min_end`.
    pub(crate) fn next_scheduled(
        &self,
        min_end: u32,
        after: Option<(u32, u32)>,
    ) -> Option<&PriceEvent> {
        self.events
            .iter()
            .filter(|e| e.end() > min_end)
            .filter(|e| after.is_none_or(|a| (e.start, e.issuer_event_id) > a))
            .min_by_key(|e| (e.start, e.issuer_event_id))
    }
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    pub(crate) fn cmd_publish_price(&mut self, request_id: RequestId, p: &PriceCommand<'_>) {
        let Some(now_utc) = self.clock.utc(self.now) else {
            return self.fail(request_id, CommandError::TimeNotSet);
        };
        let parsed = PriceEvent::from_command(p, now_utc);
        let repeat = parsed.as_ref().is_ok_and(|e| self.prices.get(e.issuer_event_id) == Some(e));
        let checked = parsed.and_then(|e| {
            if repeat {
                Ok((e, 0))
            } else {
                self.prices.check(&e).map(|replaced| (e, replaced))
            }
        });
        let (event, replaced) = match checked {
            Ok(x) => x,
            Err(e) => return self.fail(request_id, e),
        };
        let mut recipients: heapless::Vec<(zse::zcl::Eui64, bool), SLOTS> = heapless::Vec::new();
        for (_, s) in self.slots.iter() {
            if s.price_client && s.state == SlotState::Paired {
                let _ = recipients.push((s.eui64, true));
            }
        }
        if !self.check_room(request_id, recipients.len()) {
            return;
        }
        if !repeat {
            self.prices.insert(event);
        }
        let push = Push::PublishPrice { issuer_event_id: event.issuer_event_id };
        self.add_pushes(request_id, push, &recipients, replaced);
    }

    /// PublishPrice for the stored event `issuer_event_id` (`None`: no longer stored).
    pub(crate) fn publish_price_frame(
        &self,
        issuer_event_id: u32,
        tsn: u8,
        ddr: bool,
    ) -> Option<ApsPayload> {
        let e = self.prices.get(issuer_event_id)?;
        let now_utc = self.clock.utc(self.now)?;
        e.encode(now_utc, tsn, ddr)
    }

    /// A Price client command. PriceAcknowledgement (SE 1.1) is accepted and otherwise
    /// ignored; GetBlockPeriods (SE 1.1 block pricing) is not offered by this ESI.
    pub(crate) fn on_price_client(
        &mut self,
        to: &ReplyTo,
        header: &Header,
        command: &ClientCommand,
    ) {
        let now_utc = self.clock.utc(self.now);
        match command {
            ClientCommand::GetCurrentPrice(c) => {
                if let Some(slot) = self.slots.by_eui_mut(to.eui64) {
                    slot.price_client = c.command_options.requestor_rx_on_when_idle();
                }
                let current = now_utc.and_then(|t| self.prices.current(t).map(|e| (*e, t)));
                match current {
                    // The answer echoes the request's TSN.
                    Some((e, t)) => {
                        let reply = e.encode(t, header.tsn, true);
                        self.reply(to, reply);
                    }
                    None => self.error_response(to, header, Status::NOT_FOUND),
                }
            }
            ClientCommand::GetScheduledPrices(g) => {
                let Some(t) = now_utc else {
                    return self.error_response(to, header, Status::NOT_FOUND);
                };
                let min_end = if g.start_time == UtcTime::NOW { t } else { g.start_time.0 };
                if self.prices.next_scheduled(min_end, None).is_none() {
                    return self.error_response(to, header, Status::NOT_FOUND);
                }
                let n = g.number_of_events;
                let remaining = if n == 0 { u8::MAX } else { n };
                self.scheduled_prices =
                    Some(Scheduled { to: *to, tsn: header.tsn, min_end, remaining, after: None });
            }
            ClientCommand::PriceAcknowledgement(_) => self.success_response(to, header),
            ClientCommand::GetBlockPeriods(_) => {
                bump(&mut self.counters.rx_unsupported);
                self.error_response(to, header, Status::UNSUP_CLUSTER_COMMAND);
            }
        }
    }

    /// The next PublishPrice of a GetScheduledPrices answer.
    pub(crate) fn next_scheduled_price(&mut self) -> Option<super::ApsFrame> {
        let mut s = self.scheduled_prices.take()?;
        let now_utc = self.clock.utc(self.now)?;
        let e = *self.prices.next_scheduled(s.min_end, s.after)?;
        s.after = Some((e.start, e.issuer_event_id));
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining > 0 {
            self.scheduled_prices = Some(s);
        }
        let payload = e.encode(now_utc, s.tsn, true)?;
        Some(self.aps_frame(&s.to, payload))
    }
}
