//! Metering server attribute ids (SE 1.0 §D.3.2.2; se10.md §6.1–6.5) and the attribute table.
//!
//! Ids are `set << 8 | index`: 0x00 Reading Information, 0x01 TOU Information, 0x02 Meter Status,
//! 0x03 Formatting, 0x04 Historical Consumption (ESP Historical), 0x05 Load Profile Configuration.
//! The SE 1.0 set is listed together with the SE 1.1 additions named in se10.md; later ones
//! (0x0010 onwards, 0x0204 ExtendedStatus, 0x0409 onwards, tiers 7–15) are not.

use crate::cluster::AttributeDef;
use crate::zcl::DataType;

// Reading Information set (se10.md §6.1).
/// uint48, mandatory: energy delivered to the premises (raw; apply Multiplier / Divisor).
pub const CURRENT_SUMMATION_DELIVERED: u16 = 0x0000;
/// uint48: energy received from the premises (export).
pub const CURRENT_SUMMATION_RECEIVED: u16 = 0x0001;
pub const CURRENT_MAX_DEMAND_DELIVERED: u16 = 0x0002;
pub const CURRENT_MAX_DEMAND_RECEIVED: u16 = 0x0003;
/// uint48: summation at the daily freeze time.
pub const DFT_SUMMATION: u16 = 0x0004;
pub const DAILY_FREEZE_TIME: u16 = 0x0005;
/// int8, −100..+100.
pub const POWER_FACTOR: u16 = 0x0006;
pub const READING_SNAPSHOT_TIME: u16 = 0x0007;
pub const CURRENT_MAX_DEMAND_DELIVERED_TIME: u16 = 0x0008;
pub const CURRENT_MAX_DEMAND_RECEIVED_TIME: u16 = 0x0009;
/// SE 1.1: seconds between updates outside fast poll mode.
pub const DEFAULT_UPDATE_PERIOD: u16 = 0x000A;
/// SE 1.1: shortest update period the meter supports in fast poll mode (seconds).
pub const FAST_POLL_UPDATE_PERIOD: u16 = 0x000B;
/// SE 1.1.
pub const CURRENT_BLOCK_PERIOD_CONSUMPTION_DELIVERED: u16 = 0x000C;
/// SE 1.1.
pub const DAILY_CONSUMPTION_TARGET: u16 = 0x000D;
/// SE 1.1.
pub const CURRENT_BLOCK: u16 = 0x000E;
/// SE 1.1: enum8, see [`super::ProfileIntervalPeriod`].
pub const PROFILE_INTERVAL_PERIOD: u16 = 0x000F;

// TOU Information set (se10.md §6.2): tiers 1–6 of SE 1.0, all uint48.
pub const CURRENT_TIER1_SUMMATION_DELIVERED: u16 = 0x0100;
pub const CURRENT_TIER1_SUMMATION_RECEIVED: u16 = 0x0101;
pub const CURRENT_TIER2_SUMMATION_DELIVERED: u16 = 0x0102;
pub const CURRENT_TIER2_SUMMATION_RECEIVED: u16 = 0x0103;
pub const CURRENT_TIER3_SUMMATION_DELIVERED: u16 = 0x0104;
pub const CURRENT_TIER3_SUMMATION_RECEIVED: u16 = 0x0105;
pub const CURRENT_TIER4_SUMMATION_DELIVERED: u16 = 0x0106;
pub const CURRENT_TIER4_SUMMATION_RECEIVED: u16 = 0x0107;
pub const CURRENT_TIER5_SUMMATION_DELIVERED: u16 = 0x0108;
pub const CURRENT_TIER5_SUMMATION_RECEIVED: u16 = 0x0109;
pub const CURRENT_TIER6_SUMMATION_DELIVERED: u16 = 0x010A;
pub const CURRENT_TIER6_SUMMATION_RECEIVED: u16 = 0x010B;

/// Highest tier number SE 1.0 defines a register for.
pub const SE10_MAX_TIER: u8 = 6;

/// CurrentTier*n*SummationDelivered for tier `n` in 1..=6 (SE 1.0), e.g. the register the Price
/// cluster's "register tier" nibble names. `None` outside that range.
pub const fn current_tier_summation_delivered(tier: u8) -> Option<u16> {
    if tier == 0 || tier > SE10_MAX_TIER {
        return None;
    }
    Some(CURRENT_TIER1_SUMMATION_DELIVERED + 2 * (tier as u16 - 1))
}

/// CurrentTier*n*SummationReceived for tier `n` in 1..=6 (SE 1.0). `None` outside that range.
pub const fn current_tier_summation_received(tier: u8) -> Option<u16> {
    if tier == 0 || tier > SE10_MAX_TIER {
        return None;
    }
    Some(CURRENT_TIER1_SUMMATION_RECEIVED + 2 * (tier as u16 - 1))
}

// Meter Status set (se10.md §6.3).
/// bitmap8, mandatory: see [`super::MeterStatus`].
pub const STATUS: u16 = 0x0200;
/// SE 1.1: percent, 0xFF = unknown.
pub const REMAINING_BATTERY_LIFE: u16 = 0x0201;
/// SE 1.1.
pub const HOURS_IN_OPERATION: u16 = 0x0202;
/// SE 1.1.
pub const HOURS_IN_FAULT: u16 = 0x0203;

// Formatting set (se10.md §6.4).
/// enum8, mandatory: see [`super::UnitOfMeasure`].
pub const UNIT_OF_MEASURE: u16 = 0x0300;
/// uint24.
pub const MULTIPLIER: u16 = 0x0301;
/// uint24, never 0 when present.
pub const DIVISOR: u16 = 0x0302;
/// bitmap8, mandatory: see [`super::Formatting`].
pub const SUMMATION_FORMATTING: u16 = 0x0303;
pub const DEMAND_FORMATTING: u16 = 0x0304;
pub const HISTORICAL_CONSUMPTION_FORMATTING: u16 = 0x0305;
/// bitmap8 used as an enumeration, mandatory: see [`super::MeteringDeviceType`].
pub const METERING_DEVICE_TYPE: u16 = 0x0306;
/// SE 1.1: octet string ≤ 32.
pub const SITE_ID: u16 = 0x0307;
/// SE 1.1: octet string ≤ 24.
pub const METER_SERIAL_NUMBER: u16 = 0x0308;

// Historical Consumption set (se10.md §6.5).
/// int24 (signed): positive = delivered (import), negative = received (export).
pub const INSTANTANEOUS_DEMAND: u16 = 0x0400;
pub const CURRENT_DAY_CONSUMPTION_DELIVERED: u16 = 0x0401;
pub const CURRENT_DAY_CONSUMPTION_RECEIVED: u16 = 0x0402;
pub const PREVIOUS_DAY_CONSUMPTION_DELIVERED: u16 = 0x0403;
pub const PREVIOUS_DAY_CONSUMPTION_RECEIVED: u16 = 0x0404;
/// Numbering of 0x0405–0x0408 follows the SE 1.1 split into delivered/received pairs; the TI
/// SE 1.0 header numbers only one pair (se10.md §6.5, one source per revision).
pub const CURRENT_PARTIAL_PROFILE_INTERVAL_START_TIME_DELIVERED: u16 = 0x0405;
pub const CURRENT_PARTIAL_PROFILE_INTERVAL_START_TIME_RECEIVED: u16 = 0x0406;
pub const CURRENT_PARTIAL_PROFILE_INTERVAL_VALUE_DELIVERED: u16 = 0x0407;
pub const CURRENT_PARTIAL_PROFILE_INTERVAL_VALUE_RECEIVED: u16 = 0x0408;

// Load Profile Configuration set (se10.md §6.5).
/// uint8: most intervals one GetProfileResponse carries (default 24).
pub const MAX_NUMBER_OF_PERIODS_DELIVERED: u16 = 0x0500;

/// Server attribute table: id, spec name, data type (se10.md §6.1–6.5).
pub const ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef::new(CURRENT_SUMMATION_DELIVERED, "CurrentSummationDelivered", DataType::UINT48),
    AttributeDef::new(CURRENT_SUMMATION_RECEIVED, "CurrentSummationReceived", DataType::UINT48),
    AttributeDef::new(CURRENT_MAX_DEMAND_DELIVERED, "CurrentMaxDemandDelivered", DataType::UINT48),
    AttributeDef::new(CURRENT_MAX_DEMAND_RECEIVED, "CurrentMaxDemandReceived", DataType::UINT48),
    AttributeDef::new(DFT_SUMMATION, "DFTSummation", DataType::UINT48),
    AttributeDef::new(DAILY_FREEZE_TIME, "DailyFreezeTime", DataType::UINT16),
    AttributeDef::new(POWER_FACTOR, "PowerFactor", DataType::INT8),
    AttributeDef::new(READING_SNAPSHOT_TIME, "ReadingSnapshotTime", DataType::UTC_TIME),
    AttributeDef::new(
        CURRENT_MAX_DEMAND_DELIVERED_TIME,
        "CurrentMaxDemandDeliveredTime",
        DataType::UTC_TIME,
    ),
    AttributeDef::new(
        CURRENT_MAX_DEMAND_RECEIVED_TIME,
        "CurrentMaxDemandReceivedTime",
        DataType::UTC_TIME,
    ),
    AttributeDef::new(DEFAULT_UPDATE_PERIOD, "DefaultUpdatePeriod", DataType::UINT8),
    AttributeDef::new(FAST_POLL_UPDATE_PERIOD, "FastPollUpdatePeriod", DataType::UINT8),
    AttributeDef::new(
        CURRENT_BLOCK_PERIOD_CONSUMPTION_DELIVERED,
        "CurrentBlockPeriodConsumptionDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(DAILY_CONSUMPTION_TARGET, "DailyConsumptionTarget", DataType::UINT24),
    AttributeDef::new(CURRENT_BLOCK, "CurrentBlock", DataType::ENUM8),
    AttributeDef::new(PROFILE_INTERVAL_PERIOD, "ProfileIntervalPeriod", DataType::ENUM8),
    AttributeDef::new(
        CURRENT_TIER1_SUMMATION_DELIVERED,
        "CurrentTier1SummationDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER1_SUMMATION_RECEIVED,
        "CurrentTier1SummationReceived",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER2_SUMMATION_DELIVERED,
        "CurrentTier2SummationDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER2_SUMMATION_RECEIVED,
        "CurrentTier2SummationReceived",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER3_SUMMATION_DELIVERED,
        "CurrentTier3SummationDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER3_SUMMATION_RECEIVED,
        "CurrentTier3SummationReceived",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER4_SUMMATION_DELIVERED,
        "CurrentTier4SummationDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER4_SUMMATION_RECEIVED,
        "CurrentTier4SummationReceived",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER5_SUMMATION_DELIVERED,
        "CurrentTier5SummationDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER5_SUMMATION_RECEIVED,
        "CurrentTier5SummationReceived",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER6_SUMMATION_DELIVERED,
        "CurrentTier6SummationDelivered",
        DataType::UINT48,
    ),
    AttributeDef::new(
        CURRENT_TIER6_SUMMATION_RECEIVED,
        "CurrentTier6SummationReceived",
        DataType::UINT48,
    ),
    AttributeDef::new(STATUS, "Status", DataType::BITMAP8),
    AttributeDef::new(REMAINING_BATTERY_LIFE, "RemainingBatteryLife", DataType::UINT8),
    AttributeDef::new(HOURS_IN_OPERATION, "HoursInOperation", DataType::UINT24),
    AttributeDef::new(HOURS_IN_FAULT, "HoursInFault", DataType::UINT24),
    AttributeDef::new(UNIT_OF_MEASURE, "UnitOfMeasure", DataType::ENUM8),
    AttributeDef::new(MULTIPLIER, "Multiplier", DataType::UINT24),
    AttributeDef::new(DIVISOR, "Divisor", DataType::UINT24),
    AttributeDef::new(SUMMATION_FORMATTING, "SummationFormatting", DataType::BITMAP8),
    AttributeDef::new(DEMAND_FORMATTING, "DemandFormatting", DataType::BITMAP8),
    AttributeDef::new(
        HISTORICAL_CONSUMPTION_FORMATTING,
        "HistoricalConsumptionFormatting",
        DataType::BITMAP8,
    ),
    AttributeDef::new(METERING_DEVICE_TYPE, "MeteringDeviceType", DataType::BITMAP8),
    AttributeDef::new(SITE_ID, "SiteID", DataType::OCTET_STRING),
    AttributeDef::new(METER_SERIAL_NUMBER, "MeterSerialNumber", DataType::OCTET_STRING),
    AttributeDef::new(INSTANTANEOUS_DEMAND, "InstantaneousDemand", DataType::INT24),
    AttributeDef::new(
        CURRENT_DAY_CONSUMPTION_DELIVERED,
        "CurrentDayConsumptionDelivered",
        DataType::UINT24,
    ),
    AttributeDef::new(
        CURRENT_DAY_CONSUMPTION_RECEIVED,
        "CurrentDayConsumptionReceived",
        DataType::UINT24,
    ),
    AttributeDef::new(
        PREVIOUS_DAY_CONSUMPTION_DELIVERED,
        "PreviousDayConsumptionDelivered",
        DataType::UINT24,
    ),
    AttributeDef::new(
        PREVIOUS_DAY_CONSUMPTION_RECEIVED,
        "PreviousDayConsumptionReceived",
        DataType::UINT24,
    ),
    AttributeDef::new(
        CURRENT_PARTIAL_PROFILE_INTERVAL_START_TIME_DELIVERED,
        "CurrentPartialProfileIntervalStartTimeDelivered",
        DataType::UTC_TIME,
    ),
    AttributeDef::new(
        CURRENT_PARTIAL_PROFILE_INTERVAL_START_TIME_RECEIVED,
        "CurrentPartialProfileIntervalStartTimeReceived",
        DataType::UTC_TIME,
    ),
    AttributeDef::new(
        CURRENT_PARTIAL_PROFILE_INTERVAL_VALUE_DELIVERED,
        "CurrentPartialProfileIntervalValueDelivered",
        DataType::UINT24,
    ),
    AttributeDef::new(
        CURRENT_PARTIAL_PROFILE_INTERVAL_VALUE_RECEIVED,
        "CurrentPartialProfileIntervalValueReceived",
        DataType::UINT24,
    ),
    AttributeDef::new(
        MAX_NUMBER_OF_PERIODS_DELIVERED,
        "MaxNumberOfPeriodsDelivered",
        DataType::UINT8,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_are_unique_and_sorted() {
        assert!(ATTRIBUTES.windows(2).all(|w| matches!(w, [a, b] if a.id < b.id)));
        assert_eq!(ATTRIBUTES.len(), 16 + 12 + 4 + 9 + 9 + 1);
    }

    #[test]
    fn types_of_the_values_the_gateway_reads() {
        let ty = |id| ATTRIBUTES.iter().find(|a| a.id == id).map(|a| a.data_type);
        assert_eq!(ty(CURRENT_SUMMATION_DELIVERED), Some(DataType::UINT48));
        assert_eq!(ty(INSTANTANEOUS_DEMAND), Some(DataType::INT24));
        assert_eq!(ty(MULTIPLIER), Some(DataType::UINT24));
        assert_eq!(ty(DIVISOR), Some(DataType::UINT24));
        assert_eq!(ty(STATUS), Some(DataType::BITMAP8));
        assert_eq!(ty(CURRENT_TIER6_SUMMATION_RECEIVED), Some(DataType::UINT48));
    }

    #[test]
    fn tier_registers() {
        assert_eq!(current_tier_summation_delivered(1), Some(0x0100));
        assert_eq!(current_tier_summation_received(1), Some(0x0101));
        assert_eq!(current_tier_summation_delivered(6), Some(0x010A));
        assert_eq!(current_tier_summation_received(6), Some(0x010B));
        assert_eq!(current_tier_summation_delivered(0), None);
        assert_eq!(current_tier_summation_delivered(7), None);
    }
}
