//! Metering server for the ESI's own meter (SE 1.0 §D.3; se10.md §6), fed by a [`Metrology`]
//! implementation: the meter's measuring front end on real hardware, a simulated meter in
//! `esi-sim`.
//!
//! Values the metrology does not have are `None` and stay distinct from zero (BR-001.002): over
//! the air such an attribute reads as UNSUPPORTED_ATTRIBUTE, towards the host it is reported as
//! missing. Power and service-switch state come from the Metering Status bitmap (bit 3 Power
//! Failure, bit 6 Service Disconnect Open) and are polled every `EsiConfig::meter_poll_ms`;
//! a change is reported to the host at once (design.md §6).

use super::action::{PowerState, SwitchState};
use super::clock::Instant;
use super::command::{CommandError, RequestId};
use super::{Esi, Pending};
use zse::field::{Int24, Uint24, Uint48};
use zse::zcl::{UtcTime, Value};

pub use zse::cluster::metering::MeterStatus;

/// Mains power from the Status bitmap (bit 3, Power Failure).
pub const fn power_state(status: MeterStatus) -> PowerState {
    if status.power_failure() {
        PowerState::Off
    } else {
        PowerState::On
    }
}

/// Service switch from the Status bitmap (bit 6, Service Disconnect Open).
pub const fn switch_state(status: MeterStatus) -> SwitchState {
    if status.service_disconnect_open() {
        SwitchState::Open
    } else {
        SwitchState::Closed
    }
}

/// Formatting attributes (se10.md §6.4): how raw values become engineering units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterFormatting {
    /// UnitOfMeasure (se10.md §6.6); 0x00 = kWh.
    pub unit_of_measure: u8,
    /// uint24; value × multiplier / divisor.
    pub multiplier: u32,
    /// uint24, never 0.
    pub divisor: u32,
    /// Bits 0–2 right digits, 3–6 left digits, 7 suppress leading zeros.
    pub summation_formatting: u8,
    pub demand_formatting: u8,
    /// 0 = electric.
    pub metering_device_type: u8,
}

impl Default for MeterFormatting {
    /// kWh with Wh resolution: multiplier 1, divisor 1000, 3 decimals (BR-001.011).
    fn default() -> Self {
        Self {
            unit_of_measure: 0x00,
            multiplier: 1,
            divisor: 1000,
            summation_formatting: 0xAB,
            demand_formatting: 0xAB,
            metering_device_type: 0x00,
        }
    }
}

/// The meter's measuring side, as the ESI core sees it.
pub trait Metrology {
    /// CurrentSummationDelivered (raw, uint48), `None` if unavailable.
    fn current_summation_delivered(&mut self) -> Option<u64>;
    /// CurrentSummationReceived (export), `None` if the meter does not measure it.
    fn current_summation_received(&mut self) -> Option<u64> {
        None
    }
    /// InstantaneousDemand (raw, int24; negative = export).
    fn instantaneous_demand(&mut self) -> Option<i32> {
        None
    }
    /// Metering Status bitmap; `None` if the metrology cannot tell (then power and switch are
    /// unknown).
    fn status(&mut self) -> Option<MeterStatus>;
    fn formatting(&self) -> MeterFormatting {
        MeterFormatting::default()
    }
}

/// An ESI without a meter behind it: every value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoMetrology;

impl Metrology for NoMetrology {
    fn current_summation_delivered(&mut self) -> Option<u64> {
        None
    }
    fn status(&mut self) -> Option<MeterStatus> {
        None
    }
}

/// Metering server attribute ids the ESI serves (se10.md §6.1–6.5).
pub mod attr {
    pub use zse::cluster::metering::attr::{
        CURRENT_SUMMATION_DELIVERED, CURRENT_SUMMATION_RECEIVED, DEMAND_FORMATTING, DIVISOR,
        INSTANTANEOUS_DEMAND, METERING_DEVICE_TYPE, MULTIPLIER, STATUS, SUMMATION_FORMATTING,
        UNIT_OF_MEASURE,
    };

    /// All of them, in id order; a host `ReadMeter` may name only these.
    pub const SERVED: [u16; 10] = [
        CURRENT_SUMMATION_DELIVERED,
        CURRENT_SUMMATION_RECEIVED,
        STATUS,
        UNIT_OF_MEASURE,
        MULTIPLIER,
        DIVISOR,
        SUMMATION_FORMATTING,
        DEMAND_FORMATTING,
        METERING_DEVICE_TYPE,
        INSTANTANEOUS_DEMAND,
    ];

    /// Read when the host names no attribute.
    pub const DEFAULT: [u16; 3] = [CURRENT_SUMMATION_DELIVERED, STATUS, INSTANTANEOUS_DEMAND];
}

/// A value read from the metrology for the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterValue {
    Unsigned(u64),
    Signed(i64),
    /// Bitmap or enumeration.
    Bits(u8),
}

/// One attribute of a host meter read; `value: None` = missing (not zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterAttribute {
    pub id: u16,
    pub value: Option<MeterValue>,
}

/// The answer to `ReadMeter`: the requested attributes plus the formatting needed to scale them,
/// stamped with the ESI's UTC (`None` if the host never set the time) and instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterReading {
    pub read_at: Option<UtcTime>,
    pub at: Instant,
    pub formatting: MeterFormatting,
    pub attributes: heapless::Vec<MeterAttribute, { attr::SERVED.len() }>,
}

/// Bit set over `attr::SERVED` (compact form of a host read request kept in the output queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AttrSet(u16);

impl AttrSet {
    /// `Err(id)` for the first id the ESI does not serve.
    pub(crate) fn from_ids(ids: &[u16]) -> Result<Self, u16> {
        let ids = if ids.is_empty() { &attr::DEFAULT[..] } else { ids };
        let mut bits = 0u16;
        for &id in ids {
            let i = attr::SERVED.iter().position(|&a| a == id).ok_or(id)?;
            bits |= 1 << i;
        }
        Ok(Self(bits))
    }

    fn ids(self) -> impl Iterator<Item = u16> {
        attr::SERVED
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, a)| a)
    }
}

/// The ZCL data type the ESI serves Metering attribute `id` with, and `v` as such a value
/// (uint48 summations, int24 demand, uint24 multiplier/divisor, enum8/bitmap8 codes). Used for
/// Read Attributes over the air and for the host's `MeterReading` records alike.
pub fn zcl_value(id: u16, v: MeterValue) -> Value<'static> {
    match (id, v) {
        (attr::MULTIPLIER | attr::DIVISOR, MeterValue::Unsigned(x)) => {
            Value::Uint24(Uint24(x as u32))
        }
        (_, MeterValue::Unsigned(x)) => Value::Uint48(Uint48(x)),
        (_, MeterValue::Signed(x)) => Value::Int24(Int24(x as i32)),
        (attr::UNIT_OF_MEASURE | attr::METERING_DEVICE_TYPE, MeterValue::Bits(b)) => {
            if id == attr::METERING_DEVICE_TYPE {
                Value::Bitmap8(b)
            } else {
                Value::Enum8(b)
            }
        }
        (_, MeterValue::Bits(b)) => Value::Bitmap8(b),
    }
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    fn meter_value(&mut self, id: u16) -> Option<MeterValue> {
        let f = self.meter.formatting();
        Some(match id {
            attr::CURRENT_SUMMATION_DELIVERED => {
                MeterValue::Unsigned(self.meter.current_summation_delivered()?.min(Uint48::MAX))
            }
            attr::CURRENT_SUMMATION_RECEIVED => {
                MeterValue::Unsigned(self.meter.current_summation_received()?.min(Uint48::MAX))
            }
            attr::STATUS => MeterValue::Bits(self.meter.status()?.0),
            attr::UNIT_OF_MEASURE => MeterValue::Bits(f.unit_of_measure),
            attr::MULTIPLIER => MeterValue::Unsigned(u64::from(f.multiplier.min(Uint24::MAX))),
            attr::DIVISOR => MeterValue::Unsigned(u64::from(f.divisor.min(Uint24::MAX))),
            attr::SUMMATION_FORMATTING => MeterValue::Bits(f.summation_formatting),
            attr::DEMAND_FORMATTING => MeterValue::Bits(f.demand_formatting),
            attr::METERING_DEVICE_TYPE => MeterValue::Bits(f.metering_device_type),
            attr::INSTANTANEOUS_DEMAND => {
                let d = self.meter.instantaneous_demand()?;
                MeterValue::Signed(i64::from(d.clamp(Int24::MIN, Int24::MAX)))
            }
            _ => return None,
        })
    }

    /// A Metering server attribute as a typed ZCL value, for Read Attributes.
    pub(crate) fn meter_attribute(&mut self, id: u16) -> Option<Value<'static>> {
        self.meter_value(id).map(|v| zcl_value(id, v))
    }

    /// `ReadMeter` from the host: validated now, read when the result is polled.
    pub(crate) fn cmd_read_meter(&mut self, request_id: RequestId, ids: &[u16]) {
        match AttrSet::from_ids(ids) {
            Ok(set) => self.push_pending(Pending::MeterReading { request_id, attrs: set }),
            Err(id) => self.fail(request_id, CommandError::UnsupportedAttribute(id)),
        }
    }

    pub(crate) fn meter_reading(&mut self, attrs: AttrSet) -> MeterReading {
        let mut attributes = heapless::Vec::new();
        for id in attrs.ids() {
            // Capacity equals the number of served attributes, so this cannot fail.
            let _ = attributes.push(MeterAttribute { id, value: self.meter_value(id) });
        }
        MeterReading {
            read_at: self.clock.utc(self.now).map(UtcTime),
            at: self.now,
            formatting: self.meter.formatting(),
            attributes,
        }
    }

    /// Current power and switch state, `None` if the metrology cannot tell.
    pub(crate) fn power_switch(&mut self) -> Option<(PowerState, SwitchState)> {
        self.meter.status().map(|s| (power_state(s), switch_state(s)))
    }

    /// Polls the metrology status and reports a change (or the first observation).
    pub(crate) fn poll_meter_status(&mut self, now: Instant) {
        let interval = self.config.meter_poll_ms;
        if interval == 0 || self.meter_next_poll.is_some_and(|t| t > now) {
            return;
        }
        self.meter_next_poll = Some(now.add_millis(interval));
        let current = self.power_switch();
        if current != self.meter_last {
            self.meter_last = current;
            if let Some((power, switch)) = current {
                let at = self.clock.utc(now).map(UtcTime);
                self.push_pending(Pending::PowerSwitch { power, switch, at });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_set_selects_served_ids_only() {
        let s = AttrSet::from_ids(&[0x0400, 0x0000]).unwrap();
        let mut ids = s.ids();
        assert_eq!((ids.next(), ids.next(), ids.next()), (Some(0x0000), Some(0x0400), None));
        assert_eq!(AttrSet::from_ids(&[0x0000, 0x0999]), Err(0x0999));
        assert_eq!(AttrSet::from_ids(&[]).unwrap().ids().count(), 3);
    }

    #[test]
    fn status_bits_give_power_and_switch() {
        assert_eq!(power_state(MeterStatus(0x08)), PowerState::Off);
        assert_eq!(switch_state(MeterStatus(0x40)), SwitchState::Open);
        assert_eq!(power_state(MeterStatus(0)), PowerState::On);
    }
}
