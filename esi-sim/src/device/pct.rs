//! Programmable communicating thermostat: a DRLC client for HVAC (Device Class bits 0–1) that
//! applies an event's set points or offsets (or duty cycle / load adjustment) to its own set
//! points and draws less power while an event runs.

use super::drlc::{Applied, DrClient, DrHooks};
use zse::cluster::drlc::LoadControlEvent;

/// Normal set points, hundredths of °C (se10.md §4.2 units).
pub const COOLING_SET_POINT: i16 = 2_400;
pub const HEATING_SET_POINT: i16 = 2_000;

/// The thermostat.
#[derive(Debug, Default)]
pub struct Pct {
    pub dr: DrClient,
    pub state: PctState,
}

/// Set points and the event being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PctState {
    /// `Some` while an event is applied: (issuer event id, cooling, heating, load factor %).
    pub applied: Option<(u32, i16, i16, u8)>,
}

impl PctState {
    /// HVAC draws 60 % of its rated load on average, scaled by the event's load factor.
    pub fn load_w(&self, rated_w: u32) -> u32 {
        let factor = self.applied.map_or(100, |a| u32::from(a.3));
        rated_w * 60 / 100 * factor / 100
    }

    fn set_points(&self) -> (i16, i16) {
        self.applied.map_or((COOLING_SET_POINT, HEATING_SET_POINT), |a| (a.1, a.2))
    }
}

/// The thermostat's response to an event.
fn response(e: &LoadControlEvent) -> (i16, i16, u8) {
    let offset = |o: u8| if o == LoadControlEvent::OFFSET_NOT_USED { 0 } else { i16::from(o) * 10 };
    let cooling = if e.cooling_temperature_set_point == LoadControlEvent::SET_POINT_NOT_USED {
        COOLING_SET_POINT.saturating_add(offset(e.cooling_temperature_offset))
    } else {
        e.cooling_temperature_set_point
    };
    let heating = if e.heating_temperature_set_point == LoadControlEvent::SET_POINT_NOT_USED {
        HEATING_SET_POINT.saturating_sub(offset(e.heating_temperature_offset))
    } else {
        e.heating_temperature_set_point
    };
    let factor = if e.duty_cycle != LoadControlEvent::DUTY_CYCLE_NOT_USED {
        e.duty_cycle.min(100)
    } else if e.average_load_adjustment_percentage
        != LoadControlEvent::AVERAGE_LOAD_ADJUSTMENT_NOT_USED
    {
        (100 + i16::from(e.average_load_adjustment_percentage)).clamp(0, 100) as u8
    } else {
        50
    };
    (cooling, heating, factor)
}

/// [`DrHooks`] over the thermostat's state.
#[derive(Debug)]
pub struct PctHooks<'a>(pub &'a mut PctState);

impl DrHooks for PctHooks<'_> {
    fn applied(&self, e: &LoadControlEvent) -> Applied {
        let (cooling, heating, _) = response(e);
        Applied {
            cooling_set_point: cooling,
            heating_set_point: heating,
            average_load_adjustment: e.average_load_adjustment_percentage,
            duty_cycle: e.duty_cycle,
        }
    }

    fn on_start(&mut self, e: &LoadControlEvent) {
        let (cooling, heating, factor) = response(e);
        self.0.applied = Some((e.issuer_event_id, cooling, heating, factor));
    }

    fn on_end(&mut self, issuer_event_id: u32) {
        if self.0.applied.is_some_and(|a| a.0 == issuer_event_id) {
            self.0.applied = None;
        }
    }
}

impl Pct {
    pub fn status(&self) -> String {
        let (c, h) = self.state.set_points();
        format!(
            "set points cool {}.{:02} °C heat {}.{:02} °C; {}",
            c / 100,
            c.rem_euclid(100),
            h / 100,
            h.rem_euclid(100),
            self.dr.status()
        )
    }
}
