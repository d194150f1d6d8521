//! Load-control switch (e.g. on a water heater or pool pump, Device Class bits 2–3): a DRLC
//! client whose relay opens for an event, or cycles at the event's duty cycle.

use super::drlc::{Applied, DrClient, DrHooks};
use zse::cluster::drlc::LoadControlEvent;

/// The switch.
#[derive(Debug, Default)]
pub struct Lcs {
    pub dr: DrClient,
    pub state: LcsState,
}

/// The relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LcsState {
    /// `Some((event, duty %))` while an event holds the relay (0 % = open).
    pub shed: Option<(u32, u8)>,
}

impl LcsState {
    /// The appliance runs a third of the time normally; an event scales that by its duty cycle.
    pub fn load_w(&self, rated_w: u32) -> u32 {
        let duty = self.shed.map_or(100, |s| u32::from(s.1));
        rated_w / 3 * duty / 100
    }
}

/// [`DrHooks`] over the relay.
#[derive(Debug)]
pub struct LcsHooks<'a>(pub &'a mut LcsState);

fn duty(e: &LoadControlEvent) -> u8 {
    if e.duty_cycle == LoadControlEvent::DUTY_CYCLE_NOT_USED {
        0
    } else {
        e.duty_cycle.min(100)
    }
}

impl DrHooks for LcsHooks<'_> {
    fn applied(&self, e: &LoadControlEvent) -> Applied {
        Applied {
            cooling_set_point: LoadControlEvent::SET_POINT_NOT_USED,
            heating_set_point: LoadControlEvent::SET_POINT_NOT_USED,
            average_load_adjustment: e.average_load_adjustment_percentage,
            duty_cycle: if e.duty_cycle == LoadControlEvent::DUTY_CYCLE_NOT_USED {
                e.duty_cycle
            } else {
                duty(e)
            },
        }
    }

    fn on_start(&mut self, e: &LoadControlEvent) {
        self.0.shed = Some((e.issuer_event_id, duty(e)));
    }

    fn on_end(&mut self, issuer_event_id: u32) {
        if self.0.shed.is_some_and(|s| s.0 == issuer_event_id) {
            self.0.shed = None;
        }
    }
}

impl Lcs {
    pub fn status(&self) -> String {
        let relay = match self.state.shed {
            None => "relay closed".to_string(),
            Some((_, 0)) => "relay open (shed)".to_string(),
            Some((_, d)) => format!("relay cycling {d} %"),
        };
        format!("{relay}; {}", self.dr.status())
    }
}
