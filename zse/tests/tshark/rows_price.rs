//! Price rows (see `fields.rs`).

use super::fields::{row, Kind, Row, Scope};

const PRICE: Scope = Scope::Cluster(0x0700);

/// Price (SE 1.0 Annex D.4; se10.md §3). Wireshark 4.0 names its fields after SE 1.2.
pub const PRICE_ROWS: &[Row] = &[
    row(
        PRICE,
        "GetCurrentPrice",
        "command_options",
        "zbee_zcl_se.price.command_options",
        Kind::Uint,
    ),
    row(
        PRICE,
        "GetScheduledPrices",
        "start_time",
        "zbee_zcl_se.price.start_time",
        Kind::ZigbeeTime,
    ),
    row(
        PRICE,
        "GetScheduledPrices",
        "number_of_events",
        "zbee_zcl_se.price.number_of_events",
        Kind::Uint,
    ),
    row(PRICE, "PriceAcknowledgement", "provider_id", "zbee_zcl_se.price.provider_id", Kind::Uint),
    row(
        PRICE,
        "PriceAcknowledgement",
        "issuer_event_id",
        "zbee_zcl_se.price.issuer_event_id",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PriceAcknowledgement",
        "price_ack_time",
        "zbee_zcl_se.price.price_ack_time",
        Kind::ZigbeeTime,
    ),
    row(PRICE, "PriceAcknowledgement", "control", "zbee_zcl_se.price.control", Kind::Uint),
    row(PRICE, "GetBlockPeriods", "start_time", "zbee_zcl_se.price.start_time", Kind::ZigbeeTime),
    row(
        PRICE,
        "GetBlockPeriods",
        "number_of_events",
        "zbee_zcl_se.price.number_of_events",
        Kind::Uint,
    ),
    // PublishPrice fields 1–11, then the optional fields 12–19 (absent ones must be absent).
    row(PRICE, "PublishPrice", "provider_id", "zbee_zcl_se.price.provider_id", Kind::Uint),
    row(PRICE, "PublishPrice", "rate_label", "zbee_zcl_se.price.rate_label", Kind::TextOrInvalid),
    row(PRICE, "PublishPrice", "issuer_event_id", "zbee_zcl_se.price.issuer_event_id", Kind::Uint),
    row(PRICE, "PublishPrice", "current_time", "zbee_zcl_se.price.current_time", Kind::ZigbeeTime),
    row(PRICE, "PublishPrice", "unit_of_measure", "zbee_zcl_se.price.unit_of_measure", Kind::Uint),
    row(PRICE, "PublishPrice", "currency", "zbee_zcl_se.price.currency", Kind::Uint),
    row(
        PRICE,
        "PublishPrice",
        "price_trailing_digit_and_price_tier",
        "zbee_zcl_se.price.trailing_digit_and_price_tier",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishPrice",
        "price_trailing_digit_and_price_tier",
        "zbee_zcl_se.price.trailing_digit",
        Kind::Bits(0xF0),
    ),
    row(
        PRICE,
        "PublishPrice",
        "price_trailing_digit_and_price_tier",
        "zbee_zcl_se.price.tier",
        Kind::Bits(0x0F),
    ),
    row(
        PRICE,
        "PublishPrice",
        "number_of_price_tiers_and_register_tier",
        "zbee_zcl_se.price.number_of_price_tiers_and_register_tier",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishPrice",
        "number_of_price_tiers_and_register_tier",
        "zbee_zcl_se.price.number_of_price_tiers",
        Kind::Bits(0xF0),
    ),
    row(
        PRICE,
        "PublishPrice",
        "number_of_price_tiers_and_register_tier",
        "zbee_zcl_se.price.register_tier",
        Kind::Bits(0x0F),
    ),
    row(PRICE, "PublishPrice", "start_time", "zbee_zcl_se.price.start_time", Kind::ZigbeeTime),
    row(
        PRICE,
        "PublishPrice",
        "duration_in_minutes",
        "zbee_zcl_se.price.duration_in_minutes",
        Kind::Uint,
    ),
    row(PRICE, "PublishPrice", "price", "zbee_zcl_se.price.price", Kind::Uint),
    row(PRICE, "PublishPrice", "price_ratio", "zbee_zcl_se.price.price.ratio", Kind::Uint),
    row(
        PRICE,
        "PublishPrice",
        "generation_price",
        "zbee_zcl_se.price.generation_price",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishPrice",
        "generation_price_ratio",
        "zbee_zcl_se.price.generation_price.ratio",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishPrice",
        "alternate_cost_delivered",
        "zbee_zcl_se.price.alternate_cost_delivered",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishPrice",
        "alternate_cost_unit",
        "zbee_zcl_se.price.alternate_cost.unit",
        Kind::Uint,
    ),
    // Wireshark uses one field name for the whole byte and for its digit nibble: the byte is
    // shown first (decimal), then bits 7–4.
    row(
        PRICE,
        "PublishPrice",
        "alternate_cost_trailing_digit",
        "zbee_zcl_se.price.alternate_cost.trailing_digit",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishPrice",
        "alternate_cost_trailing_digit",
        "zbee_zcl_se.price.alternate_cost.trailing_digit",
        Kind::Bits(0xF0),
    ),
    row(
        PRICE,
        "PublishPrice",
        "number_of_block_thresholds",
        "zbee_zcl_se.price.number_of_block_thresholds",
        Kind::Uint,
    ),
    row(PRICE, "PublishPrice", "price_control", "zbee_zcl_se.price.control", Kind::Uint),
    // PublishBlockPeriod: the codec writes SE 1.1's layout; Wireshark 4.0 reads SE 1.2's (see
    // MALFORMED_ALLOWED). Fields 1–4 are common. Wireshark takes our byte 15 (Number of Price
    // Tiers & Number of Block Thresholds) as SE 1.2's Block Period Control and our byte 16
    // (Block Period Control) as Block Period Duration Type: the rows below pin exactly that, so
    // a shift of any byte still fails.
    row(PRICE, "PublishBlockPeriod", "provider_id", "zbee_zcl_se.price.provider_id", Kind::Uint),
    row(
        PRICE,
        "PublishBlockPeriod",
        "issuer_event_id",
        "zbee_zcl_se.price.issuer_event_id",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "block_period_start_time",
        "zbee_zcl_se.price.block_period.start_time",
        Kind::ZigbeeTime,
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "block_period_duration_in_minutes",
        "zbee_zcl_se.price.block_period.duration",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "number_of_price_tiers_and_number_of_block_thresholds",
        "zbee_zcl_se.price.block_period.control",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "number_of_price_tiers_and_number_of_block_thresholds",
        "zbee_zcl_se.price.block_period.control.price_acknowledgement",
        Kind::Bits(0x01),
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "number_of_price_tiers_and_number_of_block_thresholds",
        "zbee_zcl_se.price.block_period.control.repeating_block",
        Kind::Bits(0x02),
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "block_period_control",
        "zbee_zcl_se.price.block_period.duration.type",
        Kind::Uint,
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "block_period_control",
        "zbee_zcl_se.price.block_period.duration.timebase",
        Kind::Bits(0x0F),
    ),
    row(
        PRICE,
        "PublishBlockPeriod",
        "block_period_control",
        "zbee_zcl_se.price.block_period.duration.control",
        Kind::Bits(0xF0),
    ),
];
