//! Demand Response & Load Control cluster 0x0701 (SE 1.0 Annex D.2; se10.md §4): the ESI
//! schedules load-control events on thermostats, load controllers and appliances, and the devices
//! report how each event went.
//!
//! The ESI is the server. `LoadControlEvent`, `CancelLoadControlEvent` and
//! `CancelAllLoadControlEvents` go server→client; `ReportEventStatus` and `GetScheduledEvents` go
//! client→server. Every command but ReportEventStatus has a fixed layout.

use super::AttributeDef;
use crate::error::Result;
use crate::field::{command_set, fixed_struct, newtype, Octets, Repr};
use crate::wire::{Fast, Reader, Writer};
use crate::zcl::{DataType, UtcTime};

/// Cluster id.
pub const CLUSTER_ID: u16 = 0x0701;

/// DRLC client attribute ids (on the load-control device, not the ESI; se10.md §4.9).
pub mod attr {
    pub const UTILITY_ENROLLMENT_GROUP: u16 = 0x0000;
    pub const START_RANDOMIZATION_MINUTES: u16 = 0x0001;
    /// Called DurationRandomizationMinutes in later revisions.
    pub const END_RANDOMIZATION_MINUTES: u16 = 0x0002;
    /// SE 1.1+ (one source).
    pub const DEVICE_CLASS_VALUE: u16 = 0x0003;

    /// Default of StartRandomizationMinutes (30 minutes).
    pub const START_RANDOMIZATION_MINUTES_DEFAULT: u8 = 0x1E;
    /// Default of EndRandomizationMinutes (no randomization).
    pub const END_RANDOMIZATION_MINUTES_DEFAULT: u8 = 0x00;
    /// Largest value of either randomization attribute (60 minutes).
    pub const RANDOMIZATION_MINUTES_MAX: u8 = 0x3C;
}

/// DRLC *client* attributes (se10.md §4.9). The DRLC server (the ESI) has none, so the cluster
/// has no `ATTRIBUTES` table.
pub const CLIENT_ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef::new(attr::UTILITY_ENROLLMENT_GROUP, "UtilityEnrollmentGroup", DataType::UINT8),
    AttributeDef::new(
        attr::START_RANDOMIZATION_MINUTES,
        "StartRandomizationMinutes",
        DataType::UINT8,
    ),
    AttributeDef::new(attr::END_RANDOMIZATION_MINUTES, "EndRandomizationMinutes", DataType::UINT8),
    AttributeDef::new(attr::DEVICE_CLASS_VALUE, "DeviceClassValue", DataType::UINT16),
];

newtype! {
    /// Device Class bitmap16 (SE 1.0 Annex D.2; se10.md §4.7): which kinds of load an event or
    /// cancel applies to. Bits 12–15 are reserved.
    pub struct DeviceClass(u16);
}

impl DeviceClass {
    /// Bit 0: HVAC compressor or furnace.
    pub const HVAC_COMPRESSOR_OR_FURNACE: u16 = 0x0001;
    /// Bit 1: strip heaters / baseboard heaters.
    pub const STRIP_HEATERS_BASEBOARD_HEATERS: u16 = 0x0002;
    /// Bit 2: water heater.
    pub const WATER_HEATER: u16 = 0x0004;
    /// Bit 3: pool pump / spa / jacuzzi.
    pub const POOL_PUMP_SPA_JACUZZI: u16 = 0x0008;
    /// Bit 4: smart appliances.
    pub const SMART_APPLIANCES: u16 = 0x0010;
    /// Bit 5: irrigation pump.
    pub const IRRIGATION_PUMP: u16 = 0x0020;
    /// Bit 6: managed commercial & industrial (C&I) loads.
    pub const MANAGED_COMMERCIAL_AND_INDUSTRIAL_LOADS: u16 = 0x0040;
    /// Bit 7: simple miscellaneous (residential on/off) loads.
    pub const SIMPLE_MISCELLANEOUS_LOADS: u16 = 0x0080;
    /// Bit 8: exterior lighting.
    pub const EXTERIOR_LIGHTING: u16 = 0x0100;
    /// Bit 9: interior lighting.
    pub const INTERIOR_LIGHTING: u16 = 0x0200;
    /// Bit 10: electric vehicle.
    pub const ELECTRIC_VEHICLE: u16 = 0x0400;
    /// Bit 11: generation systems.
    pub const GENERATION_SYSTEMS: u16 = 0x0800;
    /// Every defined class (bits 0–11).
    pub const ALL: Self = Self(0x0FFF);

    /// Every defined bit with a snake_case name (for configuration files and JSON APIs).
    pub const BITS: &'static [(u16, &'static str)] = &[
        (Self::HVAC_COMPRESSOR_OR_FURNACE, "hvac_compressor_or_furnace"),
        (Self::STRIP_HEATERS_BASEBOARD_HEATERS, "strip_heaters_baseboard_heaters"),
        (Self::WATER_HEATER, "water_heater"),
        (Self::POOL_PUMP_SPA_JACUZZI, "pool_pump_spa_jacuzzi"),
        (Self::SMART_APPLIANCES, "smart_appliances"),
        (Self::IRRIGATION_PUMP, "irrigation_pump"),
        (Self::MANAGED_COMMERCIAL_AND_INDUSTRIAL_LOADS, "managed_commercial_and_industrial_loads"),
        (Self::SIMPLE_MISCELLANEOUS_LOADS, "simple_miscellaneous_loads"),
        (Self::EXTERIOR_LIGHTING, "exterior_lighting"),
        (Self::INTERIOR_LIGHTING, "interior_lighting"),
        (Self::ELECTRIC_VEHICLE, "electric_vehicle"),
        (Self::GENERATION_SYSTEMS, "generation_systems"),
    ];

    /// The mask of a name from [`DeviceClass::BITS`].
    pub fn bit_from_name(name: &str) -> Option<u16> {
        Self::BITS.iter().find(|(_, n)| *n == name).map(|(b, _)| *b)
    }

    /// Names of the defined bits that are set, in bit order (reserved bits are skipped).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::BITS.iter().filter(move |(b, _)| self.0 & b != 0).map(|(_, n)| *n)
    }

    /// All bits of `mask` are set.
    pub const fn contains(self, mask: u16) -> bool {
        self.0 & mask == mask
    }

    /// At least one class is in both sets: an event for `self` concerns a device of `other`.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

newtype! {
    /// Criticality Level (SE 1.0 Annex D.2; se10.md §4.8). 0x01–0x0F are defined; 0 and
    /// 0x10–0xFF are reserved. Kept open so reserved values survive a round trip.
    pub struct CriticalityLevel(u8);
}

impl CriticalityLevel {
    /// 0x01, lowest, voluntary.
    pub const GREEN: Self = Self(0x01);
    pub const LEVEL_1: Self = Self(0x02);
    pub const LEVEL_2: Self = Self(0x03);
    pub const LEVEL_3: Self = Self(0x04);
    pub const LEVEL_4: Self = Self(0x05);
    pub const LEVEL_5: Self = Self(0x06);
    /// 0x07, mandatory.
    pub const EMERGENCY: Self = Self(0x07);
    /// 0x08, mandatory.
    pub const PLANNED_OUTAGE: Self = Self(0x08);
    /// 0x09, mandatory.
    pub const SERVICE_DISCONNECT: Self = Self(0x09);
    pub const UTILITY_DEFINED_1: Self = Self(0x0A);
    pub const UTILITY_DEFINED_2: Self = Self(0x0B);
    pub const UTILITY_DEFINED_3: Self = Self(0x0C);
    pub const UTILITY_DEFINED_4: Self = Self(0x0D);
    pub const UTILITY_DEFINED_5: Self = Self(0x0E);
    pub const UTILITY_DEFINED_6: Self = Self(0x0F);

    /// Defined level (0x01–0x0F); a LoadControlEvent with another value is invalid.
    pub const fn is_valid(self) -> bool {
        matches!(self.0, 0x01..=0x0F)
    }

    /// Green and levels 1–5 (0x01–0x06): the user may opt out (SE convention, se10.md §4.8).
    pub const fn is_voluntary(self) -> bool {
        matches!(self.0, 0x01..=0x06)
    }

    /// Emergency, planned outage, service disconnect (0x07–0x09; SE convention, se10.md §4.8).
    pub const fn is_mandatory(self) -> bool {
        matches!(self.0, 0x07..=0x09)
    }

    /// Utility defined 1–6 (0x0A–0x0F): neither voluntary nor mandatory by the spec.
    pub const fn is_utility_defined(self) -> bool {
        matches!(self.0, 0x0A..=0x0F)
    }
}

newtype! {
    /// Event Status, ReportEventStatus field 2 (SE 1.0 Annex D.2; se10.md §4.6). Kept open:
    /// 0xFA and 0xFC are reserved (an older TI stack used them differently) and other values
    /// may appear from newer revisions.
    pub struct EventStatus(u8);
}

impl EventStatus {
    pub const LOAD_CONTROL_EVENT_COMMAND_RECEIVED: Self = Self(0x01);
    pub const EVENT_STARTED: Self = Self(0x02);
    pub const EVENT_COMPLETED: Self = Self(0x03);
    pub const USER_HAS_CHOSEN_TO_OPT_OUT: Self = Self(0x04);
    pub const USER_HAS_CHOSEN_TO_OPT_IN: Self = Self(0x05);
    pub const EVENT_HAS_BEEN_CANCELLED: Self = Self(0x06);
    pub const EVENT_HAS_BEEN_SUPERSEDED: Self = Self(0x07);
    pub const EVENT_PARTIALLY_COMPLETED_WITH_USER_OPT_OUT: Self = Self(0x08);
    pub const EVENT_PARTIALLY_COMPLETED_DUE_TO_USER_OPT_IN: Self = Self(0x09);
    /// Event completed, no user participation (previous opt-out).
    pub const EVENT_COMPLETED_NO_USER_PARTICIPATION: Self = Self(0x0A);
    /// SE 1.1+ (one source).
    pub const INVALID_OPT_OUT: Self = Self(0xF6);
    /// SE 1.1+ (one source).
    pub const EVENT_NOT_FOUND: Self = Self(0xF7);
    /// Rejected – invalid Cancel command (default).
    pub const REJECTED_INVALID_CANCEL_COMMAND_DEFAULT: Self = Self(0xF8);
    /// Rejected – invalid Cancel command (invalid Effective Time).
    pub const REJECTED_INVALID_CANCEL_COMMAND_INVALID_EFFECTIVE_TIME: Self = Self(0xF9);
    /// Rejected – event received after it had expired (now > start + duration).
    pub const REJECTED_EVENT_EXPIRED: Self = Self(0xFB);
    /// Rejected – invalid Cancel command (undefined event).
    pub const REJECTED_INVALID_CANCEL_COMMAND_UNDEFINED_EVENT: Self = Self(0xFD);
    pub const LOAD_CONTROL_EVENT_COMMAND_REJECTED: Self = Self(0xFE);

    /// The meaning as se10.md §4.6 words it; `None` for reserved or unknown values.
    pub const fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            0x01 => "Load Control Event command received",
            0x02 => "Event started",
            0x03 => "Event completed",
            0x04 => "User has chosen to opt out",
            0x05 => "User has chosen to opt in",
            0x06 => "Event has been cancelled",
            0x07 => "Event has been superseded",
            0x08 => "Event partially completed with user opt-out",
            0x09 => "Event partially completed due to user opt-in",
            0x0A => "Event completed, no user participation (previous opt-out)",
            0xF6 => "Invalid opt-out",
            0xF7 => "Event not found",
            0xF8 => "Rejected - invalid Cancel command (default)",
            0xF9 => "Rejected - invalid Cancel command (invalid Effective Time)",
            0xFB => "Rejected - event received after it had expired",
            0xFD => "Rejected - invalid Cancel command (undefined event)",
            0xFE => "Load Control Event command rejected",
            _ => return None,
        })
    }

    /// In the rejection range 0xF6–0xFE (including the reserved 0xFA and 0xFC).
    pub const fn is_rejection(self) -> bool {
        matches!(self.0, 0xF6..=0xFE)
    }
}

newtype! {
    /// Event Control bitmap8 (SE 1.0 Annex D.2; se10.md §4.2 field 13, §4.5 field 9). Bits 2–7
    /// are reserved.
    pub struct EventControl(u8);
}

impl EventControl {
    /// Bit 0: the client delays the start by 0..StartRandomizationMinutes.
    pub const RANDOMIZE_START_TIME: u8 = 0x01;
    /// Bit 1: the client delays the end by 0..EndRandomizationMinutes.
    pub const RANDOMIZE_END_TIME: u8 = 0x02;

    pub const fn new(randomize_start_time: bool, randomize_end_time: bool) -> Self {
        let start = if randomize_start_time { Self::RANDOMIZE_START_TIME } else { 0 };
        let end = if randomize_end_time { Self::RANDOMIZE_END_TIME } else { 0 };
        Self(start | end)
    }

    pub const fn randomize_start_time(self) -> bool {
        self.0 & Self::RANDOMIZE_START_TIME != 0
    }

    pub const fn randomize_end_time(self) -> bool {
        self.0 & Self::RANDOMIZE_END_TIME != 0
    }
}

newtype! {
    /// Cancel Control bitmap8 (SE 1.0 Annex D.2; se10.md §4.3 field 4, §4.4).
    pub struct CancelControl(u8);
}

impl CancelControl {
    /// Bit 0: end the event with the client's end randomization; 0 = cancel at the Effective
    /// Time without randomization.
    pub const TERMINATE_WITH_RANDOMIZATION: u8 = 0x01;

    pub const fn terminate_with_randomization(self) -> bool {
        self.0 & Self::TERMINATE_WITH_RANDOMIZATION != 0
    }
}

newtype! {
    /// Signature Type, ReportEventStatus field 10 (se10.md §4.5).
    pub struct SignatureType(u8);
}

impl SignatureType {
    /// No signature; the signature bytes are filler (one source / convention).
    pub const NO_SIGNATURE: Self = Self(0x00);
    /// ECDSA over sect163k1 (r‖s, 21 + 21 bytes).
    pub const ECDSA: Self = Self(0x01);
}

/// The Device Class / Utility Enrollment Group filter of LoadControlEvent and
/// CancelLoadControlEvent (se10.md §4.2 notes, §10 "DRLC filtering").
const fn filter_matches(
    event_class: DeviceClass,
    event_group: u8,
    device_class: DeviceClass,
    device_group: u8,
) -> bool {
    event_class.intersects(device_class) && (event_group == 0 || event_group == device_group)
}

fixed_struct! {
    /// LoadControlEvent (s→c 0x00; SE 1.0 Annex D.2; se10.md §4.2): fixed 23 bytes.
    pub struct LoadControlEvent / LoadControlEventView {
        /// Unique per event (often the UTC time of issue).
        issuer_event_id: u32,
        device_class: DeviceClass,
        /// 0 = all groups; otherwise only devices in that group.
        utility_enrollment_group: u8,
        /// [`UtcTime::NOW`] = now.
        start_time: UtcTime,
        /// At most [`LoadControlEvent::MAX_DURATION_IN_MINUTES`].
        duration_in_minutes: u16,
        criticality_level: CriticalityLevel,
        /// 0.1 °C added to the cooling set point; 0xFF = not used.
        cooling_temperature_offset: u8,
        /// 0.1 °C subtracted from the heating set point; 0xFF = not used.
        heating_temperature_offset: u8,
        /// 0.01 °C; [`LoadControlEvent::SET_POINT_NOT_USED`] = not used.
        cooling_temperature_set_point: i16,
        /// 0.01 °C; [`LoadControlEvent::SET_POINT_NOT_USED`] = not used.
        heating_temperature_set_point: i16,
        /// −100..+100 %; −128 (0x80) = not used.
        average_load_adjustment_percentage: i8,
        /// 0..100 %; 0xFF = not used.
        duty_cycle: u8,
        event_control: EventControl,
    }
}

impl LoadControlEvent {
    /// Longest event: one day (se10.md §4.2, §10; DRLC has no "until changed").
    pub const MAX_DURATION_IN_MINUTES: u16 = 1440;
    /// Utility Enrollment Group value addressing every group.
    pub const ALL_GROUPS: u8 = 0x00;
    /// "Not used" for the temperature offsets and the duty cycle.
    pub const OFFSET_NOT_USED: u8 = 0xFF;
    pub const DUTY_CYCLE_NOT_USED: u8 = 0xFF;
    /// "Not used" for the temperature set points (0x8000).
    pub const SET_POINT_NOT_USED: i16 = i16::MIN;
    /// "Not used" for the average load adjustment (0x80).
    pub const AVERAGE_LOAD_ADJUSTMENT_NOT_USED: i8 = i8::MIN;

    /// Start of the event: `start_time`, or `now` when it is [`UtcTime::NOW`].
    pub fn effective_start_time(&self, now: UtcTime) -> UtcTime {
        if self.start_time == UtcTime::NOW {
            now
        } else {
            self.start_time
        }
    }

    /// End of the event (start + duration, without randomization). Saturates at the largest
    /// UTCTime.
    pub fn end_time(&self, now: UtcTime) -> UtcTime {
        let start = self.effective_start_time(now).0;
        UtcTime(start.saturating_add(u32::from(self.duration_in_minutes) * 60))
    }

    /// The event ended before `now`; a client receiving it rejects it with
    /// [`EventStatus::REJECTED_EVENT_EXPIRED`] (se10.md §10). An event starting "now" never has.
    pub fn has_expired(&self, now: UtcTime) -> bool {
        now.0 > self.end_time(now).0
    }

    /// The event concerns a device of `device_class` in `utility_enrollment_group`.
    pub const fn applies_to(
        &self,
        device_class: DeviceClass,
        utility_enrollment_group: u8,
    ) -> bool {
        filter_matches(
            self.device_class,
            self.utility_enrollment_group,
            device_class,
            utility_enrollment_group,
        )
    }
}

fixed_struct! {
    /// CancelLoadControlEvent (s→c 0x01; SE 1.0 Annex D.2; se10.md §4.3): fixed 12 bytes.
    pub struct CancelLoadControlEvent / CancelLoadControlEventView {
        /// The event to cancel.
        issuer_event_id: u32,
        device_class: DeviceClass,
        utility_enrollment_group: u8,
        cancel_control: CancelControl,
        /// [`UtcTime::NOW`] = now (later revisions always send 0).
        effective_time: UtcTime,
    }
}

impl CancelLoadControlEvent {
    /// The cancel concerns a device of `device_class` in `utility_enrollment_group`.
    pub const fn applies_to(
        &self,
        device_class: DeviceClass,
        utility_enrollment_group: u8,
    ) -> bool {
        filter_matches(
            self.device_class,
            self.utility_enrollment_group,
            device_class,
            utility_enrollment_group,
        )
    }
}

fixed_struct! {
    /// CancelAllLoadControlEvents (s→c 0x02; SE 1.0 Annex D.2; se10.md §4.4): 1 byte.
    pub struct CancelAllLoadControlEvents / CancelAllLoadControlEventsView {
        cancel_control: CancelControl,
    }
}

/// ReportEventStatus (c→s 0x00; SE 1.0 Annex D.2; se10.md §4.5): 18 bytes of status, then a
/// fixed 42-byte signature with no length prefix (60 bytes in all).
///
/// `signature` is `Some` iff bytes remain after the first 18: the TI SE header always sends the
/// 42 bytes (filler when `signature_type` is [`SignatureType::NO_SIGNATURE`]), but a device that
/// stops after field 10 is accepted too, and re-emitted the same way. 1–41 trailing bytes are a
/// truncated signature (an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReportEventStatus {
    pub issuer_event_id: u32,
    pub event_status: EventStatus,
    /// When the status changed.
    pub event_status_time: UtcTime,
    pub criticality_level_applied: CriticalityLevel,
    /// 0.01 °C; 0x8000 = not used. (One source types it uint16; the encoding is int16.)
    pub cooling_temperature_set_point_applied: i16,
    /// 0.01 °C; 0x8000 = not used.
    pub heating_temperature_set_point_applied: i16,
    /// 0x80 = not used.
    pub average_load_adjustment_percentage_applied: i8,
    /// 0xFF = not used.
    pub duty_cycle_applied: u8,
    pub event_control: EventControl,
    pub signature_type: SignatureType,
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub signature: Option<Octets<42>>,
}

impl ReportEventStatus {
    /// Length of fields 1–10; in TI's implementation the signature covers exactly these bytes
    /// (one source).
    pub const SIGNED_LEN: usize = 18;
    /// Length of the signature field.
    pub const SIGNATURE_LEN: usize = 42;
}

impl ReportEventStatus {
    /// [`Repr::parse`] of a well-formed payload: fields 1–10 as one 18-byte run checked once,
    /// then the signature if present. `None` for anything [`Self::parse_fields`] must report.
    #[inline]
    fn parse_fast(payload: &[u8]) -> Option<Self> {
        let mut r = Fast::new(payload);
        let mut f = r.run::<{ Self::SIGNED_LEN }>()?;
        Some(Self {
            issuer_event_id: f.u32()?,
            event_status: EventStatus(f.u8()?),
            event_status_time: UtcTime(f.u32()?),
            criticality_level_applied: CriticalityLevel(f.u8()?),
            cooling_temperature_set_point_applied: f.i16()?,
            heating_temperature_set_point_applied: f.i16()?,
            average_load_adjustment_percentage_applied: f.i8()?,
            duty_cycle_applied: f.u8()?,
            event_control: EventControl(f.u8()?),
            signature_type: SignatureType(f.u8()?),
            signature: r.optional(Fast::array)?.map(Octets),
        })
    }

    /// Field-by-field parse: the reference [`Self::parse_fast`] must agree with, and the path
    /// that reports the first missing field of a bad payload.
    #[cold]
    #[inline(never)]
    fn parse_fields(payload: &[u8]) -> Result<Self> {
        let mut r = Reader::new(payload);
        Ok(Self {
            issuer_event_id: r.u32("issuer_event_id")?,
            event_status: EventStatus(r.u8("event_status")?),
            event_status_time: UtcTime(r.u32("event_status_time")?),
            criticality_level_applied: CriticalityLevel(r.u8("criticality_level_applied")?),
            cooling_temperature_set_point_applied: r
                .i16("cooling_temperature_set_point_applied")?,
            heating_temperature_set_point_applied: r
                .i16("heating_temperature_set_point_applied")?,
            average_load_adjustment_percentage_applied: r
                .i8("average_load_adjustment_percentage_applied")?,
            duty_cycle_applied: r.u8("duty_cycle_applied")?,
            event_control: EventControl(r.u8("event_control")?),
            signature_type: SignatureType(r.u8("signature_type")?),
            signature: r.optional(|r| r.array("signature").map(Octets))?,
        })
    }
}

impl<'a> Repr<'a> for ReportEventStatus {
    /// The fast path, inlined into callers so the fields land directly in their frame; the
    /// field-by-field parse runs only for payloads that fail.
    #[inline]
    fn parse(payload: &'a [u8]) -> Result<Self> {
        match Self::parse_fast(payload) {
            Some(status) => Ok(status),
            None => Self::parse_fields(payload),
        }
    }

    fn buffer_len(&self) -> usize {
        Self::SIGNED_LEN + if self.signature.is_some() { Self::SIGNATURE_LEN } else { 0 }
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.issuer_event_id, "issuer_event_id")?;
        w.u8(self.event_status.0, "event_status")?;
        w.u32(self.event_status_time.0, "event_status_time")?;
        w.u8(self.criticality_level_applied.0, "criticality_level_applied")?;
        w.i16(self.cooling_temperature_set_point_applied, "cooling_temperature_set_point_applied")?;
        w.i16(self.heating_temperature_set_point_applied, "heating_temperature_set_point_applied")?;
        w.i8(
            self.average_load_adjustment_percentage_applied,
            "average_load_adjustment_percentage_applied",
        )?;
        w.u8(self.duty_cycle_applied, "duty_cycle_applied")?;
        w.u8(self.event_control.0, "event_control")?;
        w.u8(self.signature_type.0, "signature_type")?;
        if let Some(sig) = self.signature {
            w.bytes(&sig.0, "signature")?;
        }
        Ok(w.pos())
    }
}

fixed_struct! {
    /// GetScheduledEvents (c→s 0x01; SE 1.0 Annex D.2; se10.md §4.5): 5 bytes. The ESI answers
    /// with one LoadControlEvent per stored event ending at or after `start_time`.
    pub struct GetScheduledEvents / GetScheduledEventsView {
        /// Minimum end time of events to resend; [`UtcTime::NOW`] = now.
        start_time: UtcTime,
        /// 0 = all.
        number_of_events: u8,
    }
}

command_set! {
    /// Commands generated by the DRLC server (ESI → load-control devices).
    pub enum ServerCommand {
        0x00 => LoadControlEvent(LoadControlEvent),
        0x01 => CancelLoadControlEvent(CancelLoadControlEvent),
        0x02 => CancelAllLoadControlEvents(CancelAllLoadControlEvents),
    }
}

command_set! {
    /// Commands generated by the DRLC client (load-control device → ESI).
    pub enum ClientCommand {
        0x00 => ReportEventStatus(ReportEventStatus),
        0x01 => GetScheduledEvents(GetScheduledEvents),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterCommand;
    use crate::zcl::{ClusterId, Frame, Payload};
    use crate::ErrorKind;

    /// LoadControlEvent written field by field from se10.md §4.2.
    const LCE: [u8; 23] = [
        0x57, 0x04, 0x00, 0x00, // 1 issuer event id 1111
        0x05, 0x00, // 2 device class: HVAC + water heater
        0x00, // 3 all groups
        0x00, 0x00, 0x00, 0x00, // 4 start now
        0x3C, 0x00, // 5 60 minutes
        0x07, // 6 emergency
        0xFF, // 7 cooling offset not used
        0x0A, // 8 heating offset 1.0 °C
        0x00, 0x80, // 9 cooling set point not used
        0x34, 0x08, // 10 heating set point 21.00 °C (2100)
        0xEC, // 11 average load adjustment −20 %
        0xFF, // 12 duty cycle not used
        0x03, // 13 randomize start and end
    ];

    #[test]
    fn load_control_event_layout() {
        assert_eq!(LoadControlEvent::LEN, 23);
        let e = LoadControlEvent::parse(&LCE).unwrap();
        assert_eq!(e.issuer_event_id, 1111);
        assert!(e.device_class.contains(DeviceClass::HVAC_COMPRESSOR_OR_FURNACE));
        assert!(e.device_class.contains(DeviceClass::WATER_HEATER));
        assert!(!e.device_class.contains(DeviceClass::POOL_PUMP_SPA_JACUZZI));
        assert_eq!(e.utility_enrollment_group, LoadControlEvent::ALL_GROUPS);
        assert_eq!(e.start_time, UtcTime::NOW);
        assert_eq!(e.duration_in_minutes, 60);
        assert_eq!(e.criticality_level, CriticalityLevel::EMERGENCY);
        assert!(e.criticality_level.is_mandatory());
        assert_eq!(e.cooling_temperature_offset, LoadControlEvent::OFFSET_NOT_USED);
        assert_eq!(e.heating_temperature_offset, 10);
        assert_eq!(e.cooling_temperature_set_point, LoadControlEvent::SET_POINT_NOT_USED);
        assert_eq!(e.heating_temperature_set_point, 2100);
        assert_eq!(e.average_load_adjustment_percentage, -20);
        assert_eq!(e.duty_cycle, LoadControlEvent::DUTY_CYCLE_NOT_USED);
        assert_eq!(e.event_control, EventControl::new(true, true));
        let mut out = [0u8; 23];
        assert_eq!(e.emit(&mut out).unwrap(), 23);
        assert_eq!(out, LCE);

        let v = LoadControlEventView::new_checked(&LCE[..]).unwrap();
        assert_eq!(v.issuer_event_id(), 1111);
        assert_eq!(v.device_class(), DeviceClass(0x0005));
        assert_eq!(v.duration_in_minutes(), 60);
        assert_eq!(v.heating_temperature_set_point(), 2100);
        assert_eq!(v.average_load_adjustment_percentage(), -20);
        assert!(v.event_control().randomize_end_time());
        let err = LoadControlEventView::new_checked(&LCE[..22]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated { needed: 1 });
    }

    #[test]
    fn load_control_event_truncation_offsets() {
        let starts: &[(usize, &str)] = &[
            (0, "issuer_event_id"),
            (4, "device_class"),
            (6, "utility_enrollment_group"),
            (7, "start_time"),
            (11, "duration_in_minutes"),
            (13, "criticality_level"),
            (14, "cooling_temperature_offset"),
            (15, "heating_temperature_offset"),
            (16, "cooling_temperature_set_point"),
            (18, "heating_temperature_set_point"),
            (20, "average_load_adjustment_percentage"),
            (21, "duty_cycle"),
            (22, "event_control"),
        ];
        for cut in 0..23 {
            let e = LoadControlEvent::parse(&LCE[..cut]).unwrap_err();
            let &(offset, field) = starts.iter().rev().find(|(s, _)| *s <= cut).unwrap();
            assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "cut {cut}");
            assert_eq!((e.offset, e.field), (offset, field), "cut {cut}");
        }
        // Longer payloads (newer revisions) are accepted; the extra byte is not re-emitted.
        let mut long = [0xAAu8; 24];
        long[..23].copy_from_slice(&LCE);
        assert_eq!(LoadControlEvent::parse(&long).unwrap().buffer_len(), 23);
    }

    #[test]
    fn load_control_event_helpers() {
        let mut e = LoadControlEvent::parse(&LCE).unwrap();
        let now = UtcTime(1000);
        assert_eq!(e.effective_start_time(now), now);
        assert_eq!(e.end_time(now), UtcTime(1000 + 3600));
        assert!(!e.has_expired(UtcTime(u32::MAX - 1)));
        e.start_time = UtcTime(500);
        assert_eq!(e.end_time(now), UtcTime(4100));
        assert!(!e.has_expired(UtcTime(4100)));
        assert!(e.has_expired(UtcTime(4101)));
        e.start_time = UtcTime(u32::MAX - 10);
        assert_eq!(e.end_time(now), UtcTime(u32::MAX));

        assert!(e.applies_to(DeviceClass(DeviceClass::WATER_HEATER), 7));
        assert!(!e.applies_to(DeviceClass(DeviceClass::SMART_APPLIANCES), 0));
        e.utility_enrollment_group = 7;
        assert!(e.applies_to(DeviceClass::ALL, 7));
        assert!(!e.applies_to(DeviceClass::ALL, 8));
    }

    #[test]
    fn newtype_names() {
        assert_eq!(DeviceClass::BITS.len(), 12);
        let all = DeviceClass::BITS.iter().fold(0, |acc, (b, _)| acc | b);
        assert_eq!(DeviceClass(all), DeviceClass::ALL);
        for (i, (b, _)) in DeviceClass::BITS.iter().enumerate() {
            assert_eq!(*b, 1 << i);
        }
        assert_eq!(DeviceClass::bit_from_name("electric_vehicle"), Some(0x0400));
        assert_eq!(DeviceClass::bit_from_name("toaster"), None);
        let names = DeviceClass(0xF005).names();
        assert!(names.eq(["hvac_compressor_or_furnace", "water_heater"]));

        let levels = (0u8..=0xFF).map(CriticalityLevel);
        assert_eq!(levels.clone().filter(|l| l.is_valid()).count(), 15);
        assert_eq!(levels.clone().filter(|l| l.is_voluntary()).count(), 6);
        assert_eq!(levels.clone().filter(|l| l.is_mandatory()).count(), 3);
        assert_eq!(levels.filter(|l| l.is_utility_defined()).count(), 6);
        assert!(CriticalityLevel::GREEN.is_voluntary() && !CriticalityLevel::GREEN.is_mandatory());
        assert!(CriticalityLevel::SERVICE_DISCONNECT.is_mandatory());
        assert!(!CriticalityLevel(0).is_valid() && !CriticalityLevel(0x10).is_valid());

        let named = (0u8..=0xFF).filter(|&v| EventStatus(v).description().is_some()).count();
        assert_eq!(named, 17);
        assert_eq!(EventStatus(0x0B).description(), None);
        assert_eq!(EventStatus(0xFA).description(), None);
        assert!(EventStatus::REJECTED_EVENT_EXPIRED.is_rejection());
        assert!(!EventStatus::EVENT_COMPLETED.is_rejection());
        assert_eq!(EventControl::new(true, false), EventControl(0x01));
        assert_eq!(EventControl::new(false, true), EventControl(0x02));
    }

    #[test]
    fn cancel_commands_layout() {
        let bytes = [
            0x57, 0x04, 0x00, 0x00, // issuer event id 1111
            0xFF, 0x0F, // all device classes
            0x03, // group 3
            0x01, // terminate with randomization
            0x00, 0x00, 0x00, 0x00, // effective now
        ];
        assert_eq!(CancelLoadControlEvent::LEN, 12);
        let c = CancelLoadControlEvent::parse(&bytes).unwrap();
        assert_eq!(c.issuer_event_id, 1111);
        assert_eq!(c.device_class, DeviceClass::ALL);
        assert_eq!(c.utility_enrollment_group, 3);
        assert!(c.cancel_control.terminate_with_randomization());
        assert_eq!(c.effective_time, UtcTime::NOW);
        assert!(c.applies_to(DeviceClass(DeviceClass::GENERATION_SYSTEMS), 3));
        assert!(!c.applies_to(DeviceClass(DeviceClass::GENERATION_SYSTEMS), 4));
        let v = CancelLoadControlEventView::new_checked(&bytes[..]).unwrap();
        assert_eq!(v.utility_enrollment_group(), 3);
        assert_eq!(v.effective_time(), UtcTime::NOW);
        let mut out = [0u8; 12];
        assert_eq!(c.emit(&mut out).unwrap(), 12);
        assert_eq!(out, bytes);
        let e = CancelLoadControlEvent::parse(&bytes[..10]).unwrap_err();
        assert_eq!((e.offset, e.field), (8, "effective_time"));

        assert_eq!(CancelAllLoadControlEvents::LEN, 1);
        let a = CancelAllLoadControlEvents::parse(&[0x00]).unwrap();
        assert!(!a.cancel_control.terminate_with_randomization());
        let e = CancelAllLoadControlEvents::parse(&[]).unwrap_err();
        assert_eq!((e.offset, e.field), (0, "cancel_control"));
    }

    /// ReportEventStatus fields 1–10 (se10.md §4.5).
    const RES_HEAD: [u8; 18] = [
        0x57, 0x04, 0x00, 0x00, // 1 issuer event id 1111
        0x02, // 2 event started
        0x10, 0x27, 0x00, 0x00, // 3 status time 10000
        0x07, // 4 emergency applied
        0x00, 0x80, // 5 cooling set point not used
        0x34, 0x08, // 6 heating set point 21.00 °C
        0x80, // 7 average load adjustment not used
        0xFF, // 8 duty cycle not used
        0x03, // 9 event control
        0x01, // 10 ECDSA
    ];

    #[test]
    fn report_event_status_with_and_without_signature() {
        let mut full = [0u8; 60];
        full[..18].copy_from_slice(&RES_HEAD);
        for (i, b) in full[18..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let r = ReportEventStatus::parse(&full).unwrap();
        assert_eq!(r.issuer_event_id, 1111);
        assert_eq!(r.event_status, EventStatus::EVENT_STARTED);
        assert_eq!(r.event_status_time, UtcTime(10_000));
        assert_eq!(r.criticality_level_applied, CriticalityLevel::EMERGENCY);
        assert_eq!(r.cooling_temperature_set_point_applied, i16::MIN);
        assert_eq!(r.heating_temperature_set_point_applied, 2100);
        assert_eq!(r.average_load_adjustment_percentage_applied, i8::MIN);
        assert_eq!(r.duty_cycle_applied, 0xFF);
        assert_eq!(r.event_control, EventControl(0x03));
        assert_eq!(r.signature_type, SignatureType::ECDSA);
        let sig = r.signature.unwrap();
        assert_eq!((sig.0[0], sig.0[41]), (0, 41));
        let mut out = [0u8; 64];
        assert_eq!(r.emit(&mut out).unwrap(), 60);
        assert_eq!(&out[..60], &full);

        // Status-only form.
        let r = ReportEventStatus::parse(&RES_HEAD).unwrap();
        assert_eq!(r.signature, None);
        assert_eq!(r.buffer_len(), ReportEventStatus::SIGNED_LEN);
        assert_eq!(r.emit(&mut out).unwrap(), 18);
        assert_eq!(&out[..18], &RES_HEAD);

        // A partial signature is a truncation at the start of the signature field.
        let e = ReportEventStatus::parse(&full[..28]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 32 });
        assert_eq!((e.offset, e.field), (18, "signature"));
        let e = ReportEventStatus::parse(&RES_HEAD[..17]).unwrap_err();
        assert_eq!((e.offset, e.field), (17, "signature_type"));
        let e = ReportEventStatus::parse(&RES_HEAD[..11]).unwrap_err();
        assert_eq!((e.offset, e.field), (10, "cooling_temperature_set_point_applied"));
    }

    #[test]
    fn get_scheduled_events_layout() {
        let g = GetScheduledEvents::parse(&[0x00, 0x00, 0x00, 0x00, 0x00]).unwrap();
        assert_eq!((g.start_time, g.number_of_events), (UtcTime::NOW, 0));
        let v = GetScheduledEventsView::new_checked(&[0x01u8, 0x00, 0x00, 0x00, 0x03][..]).unwrap();
        assert_eq!((v.start_time(), v.number_of_events()), (UtcTime(1), 3));
        let e = GetScheduledEvents::parse(&[0, 0]).unwrap_err();
        assert_eq!((e.offset, e.field), (0, "start_time"));
    }

    #[test]
    fn dispatch_through_frame() {
        // ESI → device: fc 0x19 (cluster-specific, s→c, DDR), TSN 0x42, LoadControlEvent.
        let mut frame = [0u8; 26];
        frame[..3].copy_from_slice(&[0x19, 0x42, 0x00]);
        frame[3..].copy_from_slice(&LCE);
        let f = Frame::parse(ClusterId(0x0701), &frame).unwrap();
        assert_eq!(f.header.tsn, 0x42);
        let Payload::Cluster(cmd) = &f.payload else { panic!("{:?}", f.payload) };
        assert_eq!((cmd.name(), cmd.command_id()), ("LoadControlEvent", 0x00));
        let ClusterCommand::DrlcServer(ServerCommand::LoadControlEvent(e)) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(e.criticality_level, CriticalityLevel::EMERGENCY);
        let mut out = [0u8; 32];
        assert_eq!(f.emit(&mut out).unwrap(), 26);
        assert_eq!(&out[..26], &frame);

        // Same command id, other direction: device → ESI ReportEventStatus (fc 0x01).
        let mut frame = [0u8; 21];
        frame[..3].copy_from_slice(&[0x01, 0x43, 0x00]);
        frame[3..].copy_from_slice(&RES_HEAD);
        let f = Frame::parse(ClusterId(0x0701), &frame).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::DrlcClient(ClientCommand::ReportEventStatus(r)))
                if r.event_status == EventStatus::EVENT_STARTED && r.signature.is_none()
        ));

        // CancelAll (s→c 0x02); GetScheduledEvents (c→s 0x01).
        let f = Frame::parse(ClusterId(0x0701), &[0x09, 1, 0x02, 0x01]).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::DrlcServer(
                ServerCommand::CancelAllLoadControlEvents(_)
            ))
        ));
        let f = Frame::parse(ClusterId(0x0701), &[0x01, 1, 0x01, 0, 0, 0, 0, 0]).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::DrlcClient(ClientCommand::GetScheduledEvents(_)))
        ));

        // Truncated LCE: the offset counts from the start of the frame.
        let e = Frame::parse(ClusterId(0x0701), &[0x09, 1, 0x00, 1, 2]).unwrap_err();
        assert_eq!((e.offset, e.field), (3, "issuer_event_id"));
        // Unknown command ids stay opaque.
        let f = Frame::parse(ClusterId(0x0701), &[0x09, 1, 0x03, 0xAB]).unwrap();
        assert_eq!(f.payload, Payload::Unknown(&[0xAB]));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_shape() {
        let r = ReportEventStatus::parse(&RES_HEAD).unwrap();
        let json = serde_json::to_value(ClientCommand::ReportEventStatus(r)).unwrap();
        assert_eq!(json["command"], "ReportEventStatus");
        assert_eq!(json["fields"]["event_status"], 2);
        assert!(json["fields"].get("signature").is_none());
        let back: ClientCommand = serde_json::from_value(json).unwrap();
        assert_eq!(back, ClientCommand::ReportEventStatus(r));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            check_roundtrip::<LoadControlEvent>(&bytes);
            check_roundtrip::<CancelLoadControlEvent>(&bytes);
            check_roundtrip::<CancelAllLoadControlEvents>(&bytes);
            check_roundtrip::<ReportEventStatus>(&bytes);
            check_roundtrip::<GetScheduledEvents>(&bytes);
        }

        /// The fast path gives what the field-by-field parse gives, errors included, at every
        /// length up to and past the 60-byte form.
        #[test]
        fn report_event_status_fast_path(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            for len in 0..=bytes.len() {
                let cut = &bytes[..len];
                prop_assert_eq!(ReportEventStatus::parse(cut), ReportEventStatus::parse_fields(cut));
            }
        }

        /// The typed view reads the same values as the parsed Repr.
        #[test]
        fn view_agrees_with_repr(bytes in proptest::collection::vec(any::<u8>(), 23..30)) {
            let e = LoadControlEvent::parse(&bytes).unwrap();
            let v = LoadControlEventView::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(v.issuer_event_id(), e.issuer_event_id);
            prop_assert_eq!(v.device_class(), e.device_class);
            prop_assert_eq!(v.start_time(), e.start_time);
            prop_assert_eq!(v.criticality_level(), e.criticality_level);
            prop_assert_eq!(v.cooling_temperature_set_point(), e.cooling_temperature_set_point);
            prop_assert_eq!(v.heating_temperature_set_point(), e.heating_temperature_set_point);
            prop_assert_eq!(v.duty_cycle(), e.duty_cycle);
            prop_assert_eq!(v.event_control(), e.event_control);
            prop_assert!(check_roundtrip::<ReportEventStatus>(&bytes[..18]).is_some());
        }
    }
}
