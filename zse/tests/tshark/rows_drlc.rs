//! Demand Response & Load Control rows (see `fields.rs`).

use super::fields::{concat_rows, row, Kind, Row, Scope};

const DRLC: Scope = Scope::Cluster(0x0701);

/// The Device Class bitmap (se10.md §4.7) of LoadControlEvent and CancelLoadControlEvent.
macro_rules! device_class_rows {
    ($command:literal) => {
        [
            row(DRLC, $command, "device_class", "zbee_zcl_se.drlc.device_class", Kind::Uint),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.hvac_compressor_or_furnace",
                Kind::Flag(0x0001),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.strip_heaters_baseboard_heaters",
                Kind::Flag(0x0002),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.water_heater",
                Kind::Flag(0x0004),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.pool_pump_spa_jacuzzi",
                Kind::Flag(0x0008),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.smart_appliances",
                Kind::Flag(0x0010),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.irrigation_pump",
                Kind::Flag(0x0020),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.managed_c_i_loads",
                Kind::Flag(0x0040),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.simple_misc_loads",
                Kind::Flag(0x0080),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.exterior_lighting",
                Kind::Flag(0x0100),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.interior_lighting",
                Kind::Flag(0x0200),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.electric_vehicle",
                Kind::Flag(0x0400),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.generation_systems",
                Kind::Flag(0x0800),
            ),
            row(
                DRLC,
                $command,
                "device_class",
                "zbee_zcl_se.drlc.device_class.reserved",
                Kind::Bits(0xF000),
            ),
        ]
    };
}

/// The Event Control bitmap (se10.md §4.2 field 13); Wireshark shares the sub-fields between
/// LoadControlEvent and ReportEventStatus.
macro_rules! event_control_rows {
    ($command:literal) => {
        [
            row(
                DRLC,
                $command,
                "event_control",
                "zbee_zcl_se.drlc.randomize_start_time",
                Kind::Flag(0x01),
            ),
            row(
                DRLC,
                $command,
                "event_control",
                "zbee_zcl_se.drlc.randomize_duration_time",
                Kind::Flag(0x02),
            ),
            row(DRLC, $command, "event_control", "zbee_zcl_se.drlc.reserved", Kind::Bits(0xFC)),
        ]
    };
}

/// The Cancel Control bitmap (se10.md §4.3 field 4).
macro_rules! cancel_control_rows {
    ($command:literal) => {
        [
            row(DRLC, $command, "cancel_control", "zbee_zcl_se.drlc.cancel_control", Kind::Uint),
            row(
                DRLC,
                $command,
                "cancel_control",
                "zbee_zcl_se.drlc.cancel_control.event_in_process",
                Kind::Flag(0x01),
            ),
            row(
                DRLC,
                $command,
                "cancel_control",
                "zbee_zcl_se.drlc.cancel_control.reserved",
                Kind::Bits(0xFE),
            ),
        ]
    };
}

const LCE: &str = "LoadControlEvent";
const RES: &str = "ReportEventStatus";

/// Demand Response & Load Control (SE 1.0 Annex D.2; se10.md §4).
pub const DRLC_ROWS: &[Row] = concat_rows![
    [
        row(DRLC, LCE, "issuer_event_id", "zbee_zcl_se.drlc.issuer_id", Kind::Uint),
        row(
            DRLC,
            LCE,
            "utility_enrollment_group",
            "zbee_zcl_se.drlc.utility_enrollment_group",
            Kind::Uint
        ),
        row(DRLC, LCE, "start_time", "zbee_zcl_se.drlc.start_time", Kind::Uint),
        row(DRLC, LCE, "duration_in_minutes", "zbee_zcl_se.drlc.duration_in_minutes", Kind::Uint),
        row(DRLC, LCE, "criticality_level", "zbee_zcl_se.drlc.criticality_level", Kind::Uint),
        row(
            DRLC,
            LCE,
            "cooling_temperature_offset",
            "zbee_zcl_se.drlc.cooling_temperature_offset",
            Kind::Uint
        ),
        row(
            DRLC,
            LCE,
            "heating_temperature_offset",
            "zbee_zcl_se.drlc.heating_temperature_offset",
            Kind::Uint
        ),
        row(
            DRLC,
            LCE,
            "cooling_temperature_set_point",
            "zbee_zcl_se.drlc.cooling_temperature_set_point",
            Kind::Int
        ),
        row(
            DRLC,
            LCE,
            "heating_temperature_set_point",
            "zbee_zcl_se.drlc.heating_temperature_set_point",
            Kind::Int
        ),
        row(
            DRLC,
            LCE,
            "average_load_adjustment_percentage",
            "zbee_zcl_se.drlc.average_load_adjustment_percentage",
            Kind::Int
        ),
        row(DRLC, LCE, "duty_cycle", "zbee_zcl_se.drlc.duty_cycle", Kind::Uint),
        row(DRLC, LCE, "event_control", "zbee_zcl_se.drlc.event_control", Kind::Uint),
    ],
    device_class_rows!("LoadControlEvent"),
    event_control_rows!("LoadControlEvent"),
    [
        row(
            DRLC,
            "CancelLoadControlEvent",
            "issuer_event_id",
            "zbee_zcl_se.drlc.issuer_id",
            Kind::Uint
        ),
        row(
            DRLC,
            "CancelLoadControlEvent",
            "utility_enrollment_group",
            "zbee_zcl_se.drlc.utility_enrollment_group",
            Kind::Uint
        ),
        // Known Wireshark 4.0 deviation (toolchain.md): the Effective Time is registered as a
        // "Reserved" UINT32 with bit mask 0xFE, so tshark shows bits 7–1 of our value, shifted
        // down, as a time. That rendering is compared exactly.
        row(
            DRLC,
            "CancelLoadControlEvent",
            "effective_time",
            "zbee_zcl_se.drlc.effective_time",
            Kind::Deviation(
                &Kind::Bits(0xFE),
                "Wireshark 4.0 registers CancelLoadControlEvent's Effective Time as a \"Reserved\" \
                 field with mask 0xFE: it shows (time & 0xFE) >> 1"
            )
        ),
    ],
    device_class_rows!("CancelLoadControlEvent"),
    cancel_control_rows!("CancelLoadControlEvent"),
    cancel_control_rows!("CancelAllLoadControlEvents"),
    [
        row(DRLC, RES, "issuer_event_id", "zbee_zcl_se.drlc.report_event.issuer_id", Kind::Uint),
        row(DRLC, RES, "event_status", "zbee_zcl_se.drlc.report_event.event_status", Kind::Uint),
        row(
            DRLC,
            RES,
            "event_status_time",
            "zbee_zcl_se.drlc.report_event.event_status_time",
            Kind::ZigbeeTime
        ),
        row(
            DRLC,
            RES,
            "criticality_level_applied",
            "zbee_zcl_se.drlc.report_event.criticality_level_applied",
            Kind::Uint
        ),
        row(
            DRLC,
            RES,
            "cooling_temperature_set_point_applied",
            "zbee_zcl_se.drlc.report_event.cooling_temperature_set_point_applied",
            Kind::Int
        ),
        row(
            DRLC,
            RES,
            "heating_temperature_set_point_applied",
            "zbee_zcl_se.drlc.report_event.heating_temperature_set_point_applied",
            Kind::Int
        ),
        row(
            DRLC,
            RES,
            "average_load_adjustment_percentage_applied",
            "zbee_zcl_se.drlc.report_event.average_load_adjustment_percentage_applied",
            Kind::Int
        ),
        row(
            DRLC,
            RES,
            "duty_cycle_applied",
            "zbee_zcl_se.drlc.report_event.duty_cycle_applied",
            Kind::Uint
        ),
        row(DRLC, RES, "event_control", "zbee_zcl_se.drlc.report_event.event_control", Kind::Uint),
        row(
            DRLC,
            RES,
            "signature_type",
            "zbee_zcl_se.drlc.report_event.signature_type",
            Kind::Uint
        ),
        row(
            DRLC,
            RES,
            "signature",
            "zbee_zcl_se.drlc.report_event.signature",
            Kind::HexOrEmpty("Wireshark 4.0 always adds the signature field, empty when the 42 bytes are left out")
        ),
        row(
            DRLC,
            "GetScheduledEvents",
            "start_time",
            "zbee_zcl_se.drlc.get_scheduled_events.start_time",
            Kind::ZigbeeTime
        ),
        row(
            DRLC,
            "GetScheduledEvents",
            "number_of_events",
            "zbee_zcl_se.drlc.get_scheduled_events.numbers_of_events",
            Kind::Uint
        ),
    ],
    event_control_rows!("ReportEventStatus"),
];
