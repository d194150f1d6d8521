//! Price cluster 0x0700 (SE 1.0 Annex D.4; se10.md §3): the ESI publishes the current and
//! scheduled tariff to meters, in-home displays and smart appliances.
//!
//! The ESI is the server. `GetCurrentPrice`, `GetScheduledPrices`, `PriceAcknowledgement` and
//! `GetBlockPeriods` go client→server; `PublishPrice` and `PublishBlockPeriod` go server→client.
//! PublishPrice grew optional trailing fields in every SE revision: fields 1–11 are mandatory,
//! everything after them is decoded as far as the payload goes and re-emitted exactly as received
//! (se10.md §3.4 "codec guidance").

use super::AttributeDef;
use crate::error::Result;
use crate::field::{command_set, fixed_struct, newtype, Repr, Uint24};
use crate::wire::{Fast, Reader, Writer};
use crate::zcl::{DataType, UtcTime, ZclStr};

/// Cluster id.
pub const CLUSTER_ID: u16 = 0x0700;

/// Duration value meaning "until changed" (PublishPrice field 10; se10.md §3.4, §10).
pub const DURATION_UNTIL_CHANGED: u16 = 0xFFFF;
/// "Not used" value of the uint8 optional fields (price ratio, generation price ratio,
/// alternate cost unit; se10.md §3.4, §10).
pub const NOT_USED_U8: u8 = 0xFF;
/// "Not used" value of the uint32 optional fields (generation price, alternate cost delivered).
pub const NOT_USED_U32: u32 = 0xFFFF_FFFF;

/// Price server attribute ids (SE 1.0/1.1 tier labels; se10.md §3.6, (one source)).
pub mod attr {
    pub const TIER1_PRICE_LABEL: u16 = 0x0000;
    pub const TIER2_PRICE_LABEL: u16 = 0x0001;
    pub const TIER3_PRICE_LABEL: u16 = 0x0002;
    pub const TIER4_PRICE_LABEL: u16 = 0x0003;
    pub const TIER5_PRICE_LABEL: u16 = 0x0004;
    pub const TIER6_PRICE_LABEL: u16 = 0x0005;
}

/// Price server attributes: the optional tier labels (octet strings of at most 12 bytes;
/// se10.md §3.6). An SE 1.0 ESI may implement none of them.
pub const ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef::new(attr::TIER1_PRICE_LABEL, "Tier1PriceLabel", DataType::OCTET_STRING),
    AttributeDef::new(attr::TIER2_PRICE_LABEL, "Tier2PriceLabel", DataType::OCTET_STRING),
    AttributeDef::new(attr::TIER3_PRICE_LABEL, "Tier3PriceLabel", DataType::OCTET_STRING),
    AttributeDef::new(attr::TIER4_PRICE_LABEL, "Tier4PriceLabel", DataType::OCTET_STRING),
    AttributeDef::new(attr::TIER5_PRICE_LABEL, "Tier5PriceLabel", DataType::OCTET_STRING),
    AttributeDef::new(attr::TIER6_PRICE_LABEL, "Tier6PriceLabel", DataType::OCTET_STRING),
];

newtype! {
    /// GetCurrentPrice Command Options bitmap (SE 1.0 Annex D.4; se10.md §3.2).
    pub struct CommandOptions(u8);
}

impl CommandOptions {
    /// Bit 0: the requester keeps its receiver on when idle, so the ESI may push later price
    /// updates to it unsolicited. Other bits are reserved.
    pub const REQUESTOR_RX_ON_WHEN_IDLE: u8 = 0x01;

    pub const fn requestor_rx_on_when_idle(self) -> bool {
        self.0 & Self::REQUESTOR_RX_ON_WHEN_IDLE != 0
    }
}

newtype! {
    /// PublishPrice field 7, "Price Trailing Digit & Price Tier" (SE 1.0 Annex D.4; se10.md
    /// §3.4): bits 7–4 are the number of decimal digits in Price, bits 3–0 the current tier
    /// (0 = no tier). Trailing digit 2 and tier 1 is `0x21`.
    pub struct PriceTrailingDigitAndPriceTier(u8);
}

impl PriceTrailingDigitAndPriceTier {
    /// Packs both nibbles; values above 15 are truncated to their low nibble.
    pub const fn new(price_trailing_digit: u8, price_tier: u8) -> Self {
        Self(((price_trailing_digit & 0x0F) << 4) | (price_tier & 0x0F))
    }

    /// Digits to the right of the decimal point in Price (bits 7–4).
    pub const fn price_trailing_digit(self) -> u8 {
        self.0 >> 4
    }

    /// Current price tier, 1–15, or 0 for "no tier" (bits 3–0).
    pub const fn price_tier(self) -> u8 {
        self.0 & 0x0F
    }
}

newtype! {
    /// PublishPrice field 8, "Number of Price Tiers & Register Tier" (SE 1.0 Annex D.4; se10.md
    /// §3.4): bits 7–4 are the number of tiers in use, bits 3–0 the Metering
    /// CurrentTierNSummationDelivered register accumulating now (0 = none). Three tiers, register
    /// tier 1 is `0x31`.
    pub struct NumberOfPriceTiersAndRegisterTier(u8);
}

impl NumberOfPriceTiersAndRegisterTier {
    /// Packs both nibbles; values above 15 are truncated to their low nibble.
    pub const fn new(number_of_price_tiers: u8, register_tier: u8) -> Self {
        Self(((number_of_price_tiers & 0x0F) << 4) | (register_tier & 0x0F))
    }

    /// Number of price tiers in use, 0–15 (bits 7–4).
    pub const fn number_of_price_tiers(self) -> u8 {
        self.0 >> 4
    }

    /// Summation register tier accumulating now, 0 = none (bits 3–0).
    pub const fn register_tier(self) -> u8 {
        self.0 & 0x0F
    }
}

newtype! {
    /// PublishPrice field 16, Alternate Cost Unit (enum8; se10.md §3.4). Kept open.
    pub struct AlternateCostUnit(u8);
}

impl AlternateCostUnit {
    /// kg of CO2 per unit of measure (unverified in se10.md).
    pub const KG_CO2_PER_UNIT_OF_MEASURE: Self = Self(0x01);
    pub const NOT_USED: Self = Self(NOT_USED_U8);
}

newtype! {
    /// PublishPrice field 17, Alternate Cost Trailing Digit (se10.md §3.4): bits 7–4 are the
    /// decimal digits of Alternate Cost Delivered; bits 3–0 are reserved.
    pub struct AlternateCostTrailingDigit(u8);
}

impl AlternateCostTrailingDigit {
    pub const fn new(alternate_cost_trailing_digit: u8) -> Self {
        Self((alternate_cost_trailing_digit & 0x0F) << 4)
    }

    pub const fn alternate_cost_trailing_digit(self) -> u8 {
        self.0 >> 4
    }
}

newtype! {
    /// PublishPrice field 19, Price Control (SE 1.1; se10.md §3.4); echoed in the Control field of
    /// PriceAcknowledgement (se10.md §3.5).
    pub struct PriceControl(u8);
}

impl PriceControl {
    /// Bit 0: the client must answer with PriceAcknowledgement.
    pub const PRICE_ACKNOWLEDGEMENT_REQUIRED: u8 = 0x01;
    /// Bit 1: the total number of tiers exceeds 15 (SE 1.2 extended tier fields follow).
    pub const TOTAL_TIERS_EXCEEDS_15: u8 = 0x02;

    pub const fn price_acknowledgement_required(self) -> bool {
        self.0 & Self::PRICE_ACKNOWLEDGEMENT_REQUIRED != 0
    }

    pub const fn total_tiers_exceeds_15(self) -> bool {
        self.0 & Self::TOTAL_TIERS_EXCEEDS_15 != 0
    }
}

fixed_struct! {
    /// GetCurrentPrice (c→s 0x00; SE 1.0 Annex D.4; se10.md §3.2). The ESI answers with
    /// PublishPrice, or a Default Response NOT_FOUND when no price is current.
    pub struct GetCurrentPrice / GetCurrentPriceView {
        command_options: CommandOptions,
    }
}

fixed_struct! {
    /// GetScheduledPrices (c→s 0x01; SE 1.0 Annex D.4; se10.md §3.3). The ESI sends one
    /// PublishPrice per stored event whose end (start + duration) is at or after `start_time`.
    pub struct GetScheduledPrices / GetScheduledPricesView {
        /// Minimum end time of events to return; [`UtcTime::NOW`] = now.
        start_time: UtcTime,
        /// Maximum number of events to send; 0 = all available.
        number_of_events: u8,
    }
}

fixed_struct! {
    /// PriceAcknowledgement (c→s 0x02, SE 1.1; se10.md §3.5): sent when PublishPrice's Price
    /// Control bit 0 asks for it.
    pub struct PriceAcknowledgement / PriceAcknowledgementView {
        provider_id: u32,
        /// uint32 as TI writes it (one source types it uint8; se10.md §3.5).
        issuer_event_id: u32,
        price_ack_time: UtcTime,
        /// Echo of the Price Control field.
        control: PriceControl,
    }
}

fixed_struct! {
    /// GetBlockPeriods (c→s 0x03, SE 1.1; se10.md §3.1): asks for PublishBlockPeriod commands.
    /// Layout (start time, number of events) as in the task brief; se10.md lists only the id.
    pub struct GetBlockPeriods / GetBlockPeriodsView {
        /// Minimum end time of block periods to return; [`UtcTime::NOW`] = now.
        start_time: UtcTime,
        /// Maximum number of block periods to send; 0 = all.
        number_of_events: u8,
    }
}

newtype! {
    /// PublishBlockPeriod "Number of Price Tiers & Number of Block Thresholds" (SE 1.1,
    /// (one source)). Nibble layout by analogy with PublishPrice field 8 (tiers in bits 7–4,
    /// block thresholds in bits 3–0); not cross-checked.
    pub struct NumberOfPriceTiersAndNumberOfBlockThresholds(u8);
}

impl NumberOfPriceTiersAndNumberOfBlockThresholds {
    pub const fn new(number_of_price_tiers: u8, number_of_block_thresholds: u8) -> Self {
        Self(((number_of_price_tiers & 0x0F) << 4) | (number_of_block_thresholds & 0x0F))
    }

    pub const fn number_of_price_tiers(self) -> u8 {
        self.0 >> 4
    }

    pub const fn number_of_block_thresholds(self) -> u8 {
        self.0 & 0x0F
    }
}

newtype! {
    /// PublishBlockPeriod Block Period Control bitmap (SE 1.1, (one source)).
    pub struct BlockPeriodControl(u8);
}

impl BlockPeriodControl {
    /// Bit 0: the client must acknowledge (one source).
    pub const PRICE_ACKNOWLEDGEMENT_REQUIRED: u8 = 0x01;
    /// Bit 1: the block period repeats (one source).
    pub const REPEATING_BLOCK: u8 = 0x02;
}

fixed_struct! {
    /// PublishBlockPeriod (s→c 0x01, SE 1.1, (one source): field list from the task brief,
    /// matching one SE 1.1 stack's parser; se10.md lists only the id). 17 bytes. Later revisions
    /// append SE 1.2 fields, which are ignored.
    pub struct PublishBlockPeriod / PublishBlockPeriodView {
        provider_id: u32,
        issuer_event_id: u32,
        /// [`UtcTime::NOW`] = now.
        block_period_start_time: UtcTime,
        block_period_duration_in_minutes: Uint24,
        number_of_price_tiers_and_number_of_block_thresholds:
            NumberOfPriceTiersAndNumberOfBlockThresholds,
        block_period_control: BlockPeriodControl,
    }
}

/// PublishPrice (s→c 0x00; SE 1.0 Annex D.4; se10.md §3.4).
///
/// Fields 1–11 are mandatory. Fields 12–19 are optional trailing fields: `Some` for each one
/// present in the received payload (they can only be absent from the end), emitted only up to the
/// last `Some`. A `None` before a later `Some` is written as its "not used" value (0xFF,
/// 0xFFFF_FFFF, or 0 for the bitmaps and the block-threshold count), because the wire has no
/// other way to skip a field. SE 1.2 fields 20–24 are not decoded (extra bytes are ignored).
///
/// When sending, se10.md §3.4 asks for fields 1–14 (see [`PublishPrice::with_se10_fields`]);
/// fields 15 and later only for clients known to speak SE 1.1 or later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PublishPrice<'a> {
    /// Field 1: Commodity provider.
    pub provider_id: u32,
    /// Field 2: Octet string, at most [`PublishPrice::RATE_LABEL_MAX_LEN`] bytes of UTF-8 text (not
    /// enforced by the codec).
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub rate_label: ZclStr<'a>,
    /// Field 3: Larger = newer for the same period (often a UTC timestamp).
    pub issuer_event_id: u32,
    /// Field 4: The sender's current time.
    pub current_time: UtcTime,
    /// Field 5: Metering UnitOfMeasure enum (se10.md §6.6): 0x00 kWh, 0x01 m³, …; 0x80+ = BCD.
    pub unit_of_measure: crate::cluster::metering::UnitOfMeasure,
    /// Field 6: ISO 4217 numeric currency code (840 USD, 826 GBP, 978 EUR).
    pub currency: u16,
    /// Field 7: Decimal digits of `price` and current tier.
    pub price_trailing_digit_and_price_tier: PriceTrailingDigitAndPriceTier,
    /// Field 8: Tiers in use and register tier.
    pub number_of_price_tiers_and_register_tier: NumberOfPriceTiersAndRegisterTier,
    /// Field 9: [`UtcTime::NOW`] = now (then the duration is the remaining minutes).
    pub start_time: UtcTime,
    /// Field 10: [`DURATION_UNTIL_CHANGED`] = until changed.
    pub duration_in_minutes: u16,
    /// Field 11: Price per unit in the currency's base unit, scaled by the trailing digit.
    pub price: u32,
    /// Field 12: Ratio to the "normal" price ×0.1; 0xFF = not used.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub price_ratio: Option<u8>,
    /// Field 13: Price paid for energy received from the premises; 0xFFFF_FFFF = not used.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub generation_price: Option<u32>,
    /// Field 14: ×0.1; 0xFF = not used.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub generation_price_ratio: Option<u8>,
    /// Field 15: E.g. CO2 per unit (SE 1.1); 0xFFFF_FFFF = not used.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub alternate_cost_delivered: Option<u32>,
    /// Field 16: (SE 1.1); 0xFF = not used.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub alternate_cost_unit: Option<AlternateCostUnit>,
    /// Field 17: (SE 1.1).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub alternate_cost_trailing_digit: Option<AlternateCostTrailingDigit>,
    /// Field 18: (SE 1.1).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub number_of_block_thresholds: Option<u8>,
    /// Field 19: (SE 1.1).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub price_control: Option<PriceControl>,
}

impl PublishPrice<'_> {
    /// Longest rate label the specification allows, in bytes.
    pub const RATE_LABEL_MAX_LEN: usize = 12;
    /// Encoded length of fields 1–11 without the rate label's bytes (its length byte included).
    pub const MANDATORY_LEN_WITHOUT_LABEL: usize = 28;
    /// Encoded widths of the optional fields 12–19, in order.
    const OPTIONAL_LENS: [usize; 8] = [1, 4, 1, 4, 1, 1, 1, 1];

    /// How many optional fields (12, 13, …) are emitted: up to and including the last `Some`.
    fn optional_count(&self) -> usize {
        let present = [
            self.price_ratio.is_some(),
            self.generation_price.is_some(),
            self.generation_price_ratio.is_some(),
            self.alternate_cost_delivered.is_some(),
            self.alternate_cost_unit.is_some(),
            self.alternate_cost_trailing_digit.is_some(),
            self.number_of_block_thresholds.is_some(),
            self.price_control.is_some(),
        ];
        present.iter().rposition(|&p| p).map_or(0, |i| i + 1)
    }

    /// Fills the SE 1.0 optional fields 12–14 with "not used" where absent, giving the 1–14
    /// form se10.md §3.4 recommends for sending.
    #[must_use]
    pub fn with_se10_fields(mut self) -> Self {
        self.price_ratio = self.price_ratio.or(Some(NOT_USED_U8));
        self.generation_price = self.generation_price.or(Some(NOT_USED_U32));
        self.generation_price_ratio = self.generation_price_ratio.or(Some(NOT_USED_U8));
        self
    }

    /// Start of the price period: `start_time`, or `now` when it is [`UtcTime::NOW`].
    pub fn effective_start_time(&self, now: UtcTime) -> UtcTime {
        if self.start_time == UtcTime::NOW {
            now
        } else {
            self.start_time
        }
    }

    /// End of the price period, or `None` for [`DURATION_UNTIL_CHANGED`]. Saturates at the
    /// largest UTCTime.
    pub fn end_time(&self, now: UtcTime) -> Option<UtcTime> {
        if self.duration_in_minutes == DURATION_UNTIL_CHANGED {
            return None;
        }
        let start = self.effective_start_time(now).0;
        Some(UtcTime(start.saturating_add(u32::from(self.duration_in_minutes) * 60)))
    }
}

impl<'a> PublishPrice<'a> {
    /// [`Repr::parse`] of a well-formed payload: provider id and rate label, then fields 3–11 as
    /// one 23-byte run checked once. `None` for anything [`Self::parse_fields`] must report.
    #[inline]
    fn parse_fast(payload: &'a [u8]) -> Option<Self> {
        let mut r = Fast::new(payload);
        let provider_id = r.u32()?;
        let rate_label = r.short_string()?;
        let mut f = r.run::<23>()?;
        Some(Self {
            provider_id,
            rate_label,
            issuer_event_id: f.u32()?,
            current_time: UtcTime(f.u32()?),
            unit_of_measure: crate::cluster::metering::UnitOfMeasure(f.u8()?),
            currency: f.u16()?,
            price_trailing_digit_and_price_tier: PriceTrailingDigitAndPriceTier(f.u8()?),
            number_of_price_tiers_and_register_tier: NumberOfPriceTiersAndRegisterTier(f.u8()?),
            start_time: UtcTime(f.u32()?),
            duration_in_minutes: f.u16()?,
            price: f.u32()?,
            price_ratio: r.optional(Fast::u8)?,
            generation_price: r.optional(Fast::u32)?,
            generation_price_ratio: r.optional(Fast::u8)?,
            alternate_cost_delivered: r.optional(Fast::u32)?,
            alternate_cost_unit: r.optional(Fast::u8)?.map(AlternateCostUnit),
            alternate_cost_trailing_digit: r.optional(Fast::u8)?.map(AlternateCostTrailingDigit),
            number_of_block_thresholds: r.optional(Fast::u8)?,
            price_control: r.optional(Fast::u8)?.map(PriceControl),
        })
    }

    /// Field-by-field parse: the reference [`Self::parse_fast`] must agree with, and the path
    /// that reports the first missing field of a bad payload.
    #[cold]
    #[inline(never)]
    fn parse_fields(payload: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(payload);
        Ok(Self {
            provider_id: r.u32("provider_id")?,
            rate_label: r.short_string("rate_label")?,
            issuer_event_id: r.u32("issuer_event_id")?,
            current_time: UtcTime(r.u32("current_time")?),
            unit_of_measure: crate::cluster::metering::UnitOfMeasure(r.u8("unit_of_measure")?),
            currency: r.u16("currency")?,
            price_trailing_digit_and_price_tier: PriceTrailingDigitAndPriceTier(
                r.u8("price_trailing_digit_and_price_tier")?,
            ),
            number_of_price_tiers_and_register_tier: NumberOfPriceTiersAndRegisterTier(
                r.u8("number_of_price_tiers_and_register_tier")?,
            ),
            start_time: UtcTime(r.u32("start_time")?),
            duration_in_minutes: r.u16("duration_in_minutes")?,
            price: r.u32("price")?,
            price_ratio: r.optional(|r| r.u8("price_ratio"))?,
            generation_price: r.optional(|r| r.u32("generation_price"))?,
            generation_price_ratio: r.optional(|r| r.u8("generation_price_ratio"))?,
            alternate_cost_delivered: r.optional(|r| r.u32("alternate_cost_delivered"))?,
            alternate_cost_unit: r
                .optional(|r| r.u8("alternate_cost_unit"))?
                .map(AlternateCostUnit),
            alternate_cost_trailing_digit: r
                .optional(|r| r.u8("alternate_cost_trailing_digit"))?
                .map(AlternateCostTrailingDigit),
            number_of_block_thresholds: r.optional(|r| r.u8("number_of_block_thresholds"))?,
            price_control: r.optional(|r| r.u8("price_control"))?.map(PriceControl),
        })
    }
}

impl<'a> Repr<'a> for PublishPrice<'a> {
    /// The fast path, inlined into callers so the fields land directly in their frame; the
    /// field-by-field parse runs only for payloads that fail.
    #[inline]
    fn parse(payload: &'a [u8]) -> Result<Self> {
        match Self::parse_fast(payload) {
            Some(price) => Ok(price),
            None => Self::parse_fields(payload),
        }
    }

    fn buffer_len(&self) -> usize {
        let optional: usize = Self::OPTIONAL_LENS.iter().take(self.optional_count()).sum();
        Self::MANDATORY_LEN_WITHOUT_LABEL - 1 + self.rate_label.short_len() + optional
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.provider_id, "provider_id")?;
        w.short_string(self.rate_label, "rate_label")?;
        w.u32(self.issuer_event_id, "issuer_event_id")?;
        w.u32(self.current_time.0, "current_time")?;
        w.u8(self.unit_of_measure.0, "unit_of_measure")?;
        w.u16(self.currency, "currency")?;
        w.u8(self.price_trailing_digit_and_price_tier.0, "price_trailing_digit_and_price_tier")?;
        w.u8(
            self.number_of_price_tiers_and_register_tier.0,
            "number_of_price_tiers_and_register_tier",
        )?;
        w.u32(self.start_time.0, "start_time")?;
        w.u16(self.duration_in_minutes, "duration_in_minutes")?;
        w.u32(self.price, "price")?;
        let n = self.optional_count();
        if n > 0 {
            w.u8(self.price_ratio.unwrap_or(NOT_USED_U8), "price_ratio")?;
        }
        if n > 1 {
            w.u32(self.generation_price.unwrap_or(NOT_USED_U32), "generation_price")?;
        }
        if n > 2 {
            w.u8(self.generation_price_ratio.unwrap_or(NOT_USED_U8), "generation_price_ratio")?;
        }
        if n > 3 {
            let v = self.alternate_cost_delivered.unwrap_or(NOT_USED_U32);
            w.u32(v, "alternate_cost_delivered")?;
        }
        if n > 4 {
            let v = self.alternate_cost_unit.unwrap_or(AlternateCostUnit::NOT_USED);
            w.u8(v.0, "alternate_cost_unit")?;
        }
        if n > 5 {
            let v = self.alternate_cost_trailing_digit.unwrap_or_default();
            w.u8(v.0, "alternate_cost_trailing_digit")?;
        }
        if n > 6 {
            w.u8(self.number_of_block_thresholds.unwrap_or(0), "number_of_block_thresholds")?;
        }
        if n > 7 {
            w.u8(self.price_control.unwrap_or_default().0, "price_control")?;
        }
        Ok(w.pos())
    }
}

command_set! {
    /// Commands generated by the Price client (meter, display, appliance → ESI).
    pub enum ClientCommand {
        0x00 => GetCurrentPrice(GetCurrentPrice),
        0x01 => GetScheduledPrices(GetScheduledPrices),
        0x02 => PriceAcknowledgement(PriceAcknowledgement),
        0x03 => GetBlockPeriods(GetBlockPeriods),
    }
}

command_set! {
    /// Commands generated by the Price server (ESI → clients).
    pub enum ServerCommand<'a> {
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x00 => PublishPrice(PublishPrice<'a>),
        0x01 => PublishBlockPeriod(PublishBlockPeriod),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterCommand;
    use crate::zcl::{ClusterId, Frame, Payload};
    use crate::ErrorKind;

    /// PublishPrice, SE 1.0 form (fields 1–14), written field by field from se10.md §3.4.
    const SE10_TOU1: [u8; 39] = [
        0x01, 0x00, 0x00, 0x00, // 1 provider id 1
        0x05, b'T', b'O', b'U', b'-', b'1', // 2 rate label "TOU-1"
        0x78, 0x56, 0x34, 0x12, // 3 issuer event id 0x12345678
        0x5D, 0x4C, 0x3B, 0x2A, // 4 current time 0x2A3B4C5D
        0x00, // 5 unit of measure kWh
        0x48, 0x03, // 6 currency 840 (USD)
        0x21, // 7 trailing digit 2, tier 1
        0x31, // 8 3 tiers, register tier 1
        0x00, 0x00, 0x00, 0x00, // 9 start now
        0xFF, 0xFF, // 10 until changed
        0xD2, 0x04, 0x00, 0x00, // 11 price 1234 (= 12.34)
        0xFF, // 12 price ratio not used
        0xFF, 0xFF, 0xFF, 0xFF, // 13 generation price not used
        0xFF, // 14 generation price ratio not used
    ];

    fn reemit(p: &PublishPrice<'_>) -> ([u8; 64], usize) {
        let mut out = [0u8; 64];
        let n = p.emit(&mut out).unwrap();
        assert_eq!(n, p.buffer_len());
        (out, n)
    }

    #[test]
    fn publish_price_se10_form() {
        let p = PublishPrice::parse(&SE10_TOU1).unwrap();
        assert_eq!(p.provider_id, 1);
        assert_eq!(p.rate_label.as_str(), Some("TOU-1"));
        assert_eq!(p.issuer_event_id, 0x1234_5678);
        assert_eq!(p.current_time, UtcTime(0x2A3B_4C5D));
        assert_eq!(p.unit_of_measure.0, 0x00);
        assert_eq!(p.currency, 840);
        assert_eq!(p.price_trailing_digit_and_price_tier.price_trailing_digit(), 2);
        assert_eq!(p.price_trailing_digit_and_price_tier.price_tier(), 1);
        assert_eq!(p.number_of_price_tiers_and_register_tier.number_of_price_tiers(), 3);
        assert_eq!(p.number_of_price_tiers_and_register_tier.register_tier(), 1);
        assert_eq!(p.start_time, UtcTime::NOW);
        assert_eq!(p.duration_in_minutes, DURATION_UNTIL_CHANGED);
        assert_eq!(p.price, 1234);
        assert_eq!(p.price_ratio, Some(NOT_USED_U8));
        assert_eq!(p.generation_price, Some(NOT_USED_U32));
        assert_eq!(p.generation_price_ratio, Some(NOT_USED_U8));
        assert_eq!(p.alternate_cost_delivered, None);
        assert_eq!(p.price_control, None);
        let (out, n) = reemit(&p);
        assert_eq!(&out[..n], &SE10_TOU1);
        assert_eq!(PriceTrailingDigitAndPriceTier::new(2, 1), PriceTrailingDigitAndPriceTier(0x21));
        assert_eq!(
            NumberOfPriceTiersAndRegisterTier::new(3, 1),
            NumberOfPriceTiersAndRegisterTier(0x31)
        );
        assert_eq!(p.end_time(UtcTime(100)), None);
    }

    #[test]
    fn publish_price_mandatory_only_and_se10_fill() {
        let p = PublishPrice::parse(&SE10_TOU1[..33]).unwrap();
        assert_eq!((p.price, p.price_ratio, p.generation_price), (1234, None, None));
        assert_eq!(p.buffer_len(), 33);
        let (out, n) = reemit(&p);
        assert_eq!(&out[..n], &SE10_TOU1[..33]);
        // Filling fields 12–14 with "not used" gives back the 1–14 form.
        let (out, n) = reemit(&p.with_se10_fields());
        assert_eq!(&out[..n], &SE10_TOU1);
        // Fields 12 and 13 only.
        let p = PublishPrice::parse(&SE10_TOU1[..38]).unwrap();
        assert_eq!((p.generation_price, p.generation_price_ratio), (Some(NOT_USED_U32), None));
        assert_eq!(p.buffer_len(), 38);
    }

    #[test]
    fn publish_price_se11_40_bytes_round_trips() {
        // Empty rate label, fields 1–17: 34 + 6 = 40 bytes (se10.md §3.4 length arithmetic).
        let bytes: [u8; 40] = [
            0x44, 0x33, 0x22, 0x11, // provider id
            0x00, // empty rate label
            0x02, 0x00, 0x00, 0x00, // issuer event id 2
            0x10, 0x00, 0x00, 0x00, // current time 16
            0x80, // unit of measure kWh, BCD
            0x3A, 0x03, // currency 826 (GBP)
            0x52, // 5 digits, tier 2
            0x42, // 4 tiers, register tier 2
            0x20, 0x00, 0x00, 0x00, // start time 32
            0x3C, 0x00, // 60 minutes
            0x0F, 0x27, 0x00, 0x00, // price 9999
            0x0A, // ratio 1.0
            0x01, 0x00, 0x00, 0x00, // generation price 1
            0x14, // generation ratio 2.0
            0x2C, 0x01, 0x00, 0x00, // alternate cost 300
            0x01, // kg CO2 per unit
            0x30, // 3 decimal digits
        ];
        let p = PublishPrice::parse(&bytes).unwrap();
        assert_eq!(p.rate_label.bytes(), Some(&[][..]));
        assert_eq!(p.currency, 826);
        assert_eq!(p.price_trailing_digit_and_price_tier.price_trailing_digit(), 5);
        assert_eq!(p.number_of_price_tiers_and_register_tier.register_tier(), 2);
        assert_eq!(p.price_ratio, Some(10));
        assert_eq!(p.generation_price, Some(1));
        assert_eq!(p.generation_price_ratio, Some(20));
        assert_eq!(p.alternate_cost_delivered, Some(300));
        assert_eq!(p.alternate_cost_unit, Some(AlternateCostUnit::KG_CO2_PER_UNIT_OF_MEASURE));
        assert_eq!(
            p.alternate_cost_trailing_digit
                .map(AlternateCostTrailingDigit::alternate_cost_trailing_digit),
            Some(3)
        );
        assert_eq!(p.number_of_block_thresholds, None);
        assert_eq!(p.end_time(UtcTime(5)), Some(UtcTime(32 + 3600)));
        let (out, n) = reemit(&p);
        assert_eq!(&out[..n], &bytes);

        // SE 1.1 fields 18–19, then five SE 1.2 bytes that are ignored.
        let mut long = [0u8; 47];
        long[..40].copy_from_slice(&bytes);
        long[40..].copy_from_slice(&[0x03, 0x01, 9, 9, 9, 9, 9]);
        let p = PublishPrice::parse(&long).unwrap();
        assert_eq!(p.number_of_block_thresholds, Some(3));
        assert!(p.price_control.unwrap().price_acknowledgement_required());
        let (out, n) = reemit(&p);
        assert_eq!(&out[..n], &long[..42]);
    }

    #[test]
    fn publish_price_gap_is_filled_with_not_used() {
        let mut p = PublishPrice::parse(&SE10_TOU1[..33]).unwrap();
        p.price_control = Some(PriceControl(PriceControl::PRICE_ACKNOWLEDGEMENT_REQUIRED));
        let (out, n) = reemit(&p);
        assert_eq!(n, 33 + 14);
        assert_eq!(
            &out[33..n],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01]
        );
    }

    #[test]
    fn publish_price_truncation_offsets() {
        // (cut, offset of the error, field): a cut inside a mandatory field names its start.
        let cases: &[(usize, usize, &str)] = &[
            (0, 0, "provider_id"),
            (3, 0, "provider_id"),
            (4, 4, "rate_label"),
            (7, 5, "rate_label"),
            (12, 10, "issuer_event_id"),
            (14, 14, "current_time"),
            (18, 18, "unit_of_measure"),
            (20, 19, "currency"),
            (21, 21, "price_trailing_digit_and_price_tier"),
            (22, 22, "number_of_price_tiers_and_register_tier"),
            (25, 23, "start_time"),
            (28, 27, "duration_in_minutes"),
            (32, 29, "price"),
            // A partly present optional field is malformed too.
            (36, 34, "generation_price"),
        ];
        for &(cut, offset, field) in cases {
            let e = PublishPrice::parse(&SE10_TOU1[..cut]).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "cut {cut}: {e:?}");
            assert_eq!((e.offset, e.field), (offset, field), "cut {cut}");
        }
        for cut in 0..33 {
            assert!(PublishPrice::parse(&SE10_TOU1[..cut]).is_err(), "cut {cut}");
        }
        let e = PublishPrice::parse(&SE10_TOU1[..7]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 3 });
    }

    #[test]
    fn client_commands_layout() {
        let gcp = GetCurrentPrice::parse(&[0x01]).unwrap();
        assert!(gcp.command_options.requestor_rx_on_when_idle());
        assert!(!GetCurrentPriceView::new_checked(&[0x00u8][..])
            .unwrap()
            .command_options()
            .requestor_rx_on_when_idle());
        assert!(GetCurrentPrice::parse(&[]).is_err());

        let gsp = GetScheduledPrices::parse(&[0x00, 0x01, 0x00, 0x00, 0x05]).unwrap();
        assert_eq!((gsp.start_time, gsp.number_of_events), (UtcTime(0x100), 5));
        let e = GetScheduledPrices::parse(&[0, 0, 0, 0]).unwrap_err();
        assert_eq!((e.offset, e.field), (4, "number_of_events"));

        let ack = [1, 0, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0, 0, 0x01];
        let ack_cmd = PriceAcknowledgement::parse(&ack).unwrap();
        assert_eq!(PriceAcknowledgement::LEN, 13);
        assert_eq!(
            (ack_cmd.provider_id, ack_cmd.issuer_event_id, ack_cmd.price_ack_time),
            (1, 0x10, UtcTime(0x20))
        );
        assert!(ack_cmd.control.price_acknowledgement_required());
        let view = PriceAcknowledgementView::new_checked(&ack[..]).unwrap();
        assert_eq!(view.issuer_event_id(), 0x10);
        let e = PriceAcknowledgementView::new_checked(&ack[..12]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 1 });

        let gbp = GetBlockPeriods::parse(&[0, 0, 0, 0, 0]).unwrap();
        assert_eq!((gbp.start_time, gbp.number_of_events), (UtcTime::NOW, 0));
    }

    #[test]
    fn publish_block_period_layout() {
        let bytes = [
            0x01, 0x00, 0x00, 0x00, // provider id
            0x02, 0x00, 0x00, 0x00, // issuer event id
            0x00, 0x00, 0x00, 0x00, // start now
            0xA0, 0x05, 0x00, // 1440 minutes (uint24)
            0x32, // 3 tiers, 2 thresholds
            0x03, // ack required, repeating
        ];
        assert_eq!(PublishBlockPeriod::LEN, 17);
        let p = PublishBlockPeriod::parse(&bytes).unwrap();
        assert_eq!(p.block_period_duration_in_minutes, Uint24(1440));
        let nt = p.number_of_price_tiers_and_number_of_block_thresholds;
        assert_eq!((nt.number_of_price_tiers(), nt.number_of_block_thresholds()), (3, 2));
        assert_eq!(NumberOfPriceTiersAndNumberOfBlockThresholds::new(3, 2), nt);
        let v = PublishBlockPeriodView::new_checked(&bytes[..]).unwrap();
        assert_eq!(v.block_period_duration_in_minutes(), Uint24(1440));
        assert_eq!(v.block_period_control(), BlockPeriodControl(0x03));
        let mut out = [0u8; 17];
        assert_eq!(p.emit(&mut out).unwrap(), 17);
        assert_eq!(out, bytes);
        let e = PublishBlockPeriod::parse(&bytes[..14]).unwrap_err();
        assert_eq!((e.offset, e.field), (12, "block_period_duration_in_minutes"));
    }

    #[test]
    fn dispatch_through_frame() {
        // Server → client, cluster-specific, default response disabled: fc 0x19, TSN 7, id 0x00.
        let mut frame = [0u8; 3 + 39];
        frame[..3].copy_from_slice(&[0x19, 0x07, 0x00]);
        frame[3..].copy_from_slice(&SE10_TOU1);
        let f = Frame::parse(ClusterId(CLUSTER_ID), &frame).unwrap();
        let Payload::Cluster(ClusterCommand::PriceServer(ServerCommand::PublishPrice(p))) =
            f.payload
        else {
            panic!("not a PublishPrice: {:?}", f.payload)
        };
        assert_eq!(p.rate_label.as_str(), Some("TOU-1"));
        let mut out = [0u8; 64];
        assert_eq!(f.emit(&mut out).unwrap(), frame.len());
        assert_eq!(&out[..frame.len()], &frame);

        // Client → server GetCurrentPrice, and an error offset counted from the frame start.
        let f = Frame::parse(ClusterId::PRICE, &[0x01, 0x08, 0x00, 0x01]).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::PriceClient(ClientCommand::GetCurrentPrice(g)))
                if g.command_options.requestor_rx_on_when_idle()
        ));
        let e = Frame::parse(ClusterId::PRICE, &[0x01, 0x08, 0x01, 0, 0, 0]).unwrap_err();
        assert_eq!((e.offset, e.field), (3, "start_time"));
        // SE 1.2 command ids stay unknown.
        let f = Frame::parse(ClusterId::PRICE, &[0x01, 0x08, 0x04]).unwrap();
        assert_eq!(f.payload, Payload::Unknown(&[]));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_shape() {
        let p = PublishPrice::parse(&SE10_TOU1[..33]).unwrap();
        let json = serde_json::to_value(ServerCommand::PublishPrice(p)).unwrap();
        assert_eq!(json["command"], "PublishPrice");
        assert_eq!(json["fields"]["rate_label"], "TOU-1");
        assert!(json["fields"].get("price_ratio").is_none());
        // Borrowed fields deserialize from text, as the CLI reads them.
        let text = serde_json::to_string(&json).unwrap();
        let back: ServerCommand<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ServerCommand::PublishPrice(p));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            check_roundtrip::<GetCurrentPrice>(&bytes);
            check_roundtrip::<GetScheduledPrices>(&bytes);
            check_roundtrip::<PriceAcknowledgement>(&bytes);
            check_roundtrip::<GetBlockPeriods>(&bytes);
            check_roundtrip::<PublishPrice<'_>>(&bytes);
            check_roundtrip::<PublishBlockPeriod>(&bytes);
            prop_assert_eq!(PublishPrice::parse(&bytes), PublishPrice::parse_fields(&bytes));
        }

        /// Random PublishPrice payloads with a short rate label, so most of them parse.
        #[test]
        fn publish_price_roundtrip(
            label in proptest::collection::vec(any::<u8>(), 0..13),
            rest in proptest::collection::vec(any::<u8>(), 20..50),
            provider in any::<u32>(),
        ) {
            let mut bytes = provider.to_le_bytes().to_vec();
            bytes.push(label.len() as u8);
            bytes.extend_from_slice(&label);
            bytes.extend_from_slice(&rest);
            // After the label: 23 mandatory bytes, then optional fields of 1, 4, 1, 4, 1, 1, 1, 1
            // bytes. The payload parses iff it ends on a field boundary or after field 19.
            let ok = [23, 24, 28, 29, 33, 34, 35, 36].contains(&rest.len()) || rest.len() >= 37;
            prop_assert_eq!(check_roundtrip::<PublishPrice<'_>>(&bytes).is_some(), ok);
            // The fast path gives what the field-by-field parse gives, errors included, for the
            // payload and every truncation of it.
            for len in 0..=bytes.len() {
                let cut = &bytes[..len];
                prop_assert_eq!(PublishPrice::parse(cut), PublishPrice::parse_fields(cut));
            }
            // The invalid rate label (0xFF, no bytes).
            bytes[4] = 0xFF;
            prop_assert_eq!(PublishPrice::parse(&bytes), PublishPrice::parse_fields(&bytes));
        }
    }
}
