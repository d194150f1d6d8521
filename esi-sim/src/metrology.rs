//! The simulated meter behind each ESI: a [`Metrology`] whose summation advances with a daily
//! load profile plus whatever the simulated HAN devices draw, an instantaneous demand, mains
//! power that can fail and return, and a service (disconnect) switch.
//!
//! Units follow the default `MeterFormatting` (kWh, multiplier 1, divisor 1000): raw summation
//! is watt-hours and raw demand is watts (BR-001.011: 3 decimals of kWh). With the power off or
//! the switch open, demand is 0 and the summation stands still; the Status bitmap shows bit 3
//! (Power Failure) or bit 6 (Service Disconnect Open), which the ESI core polls and reports to
//! the host (design.md §6).
//!
//! Energy is integrated exactly, in watt-milliseconds, piece by piece between the instants the
//! simulator calls [`SimMeter::advance`] (demand is constant within each minute and between
//! device load changes), so the summation does not depend on how often the meter is read.
//!
//! The ESI core owns its metrology; the simulator keeps a second handle to the same state (a
//! shared `Cell`, everything runs on one thread) to drive time and faults.

use crate::rng::SimRng;
use firmware::esi::{MeterStatus, Metrology};
use std::cell::Cell;
use std::rc::Rc;

/// Milliseconds per hour: W·ms per Wh.
const MS_PER_HOUR: u64 = 3_600_000;

/// A residential daily shape: demand as a per-mille of the peak for each hour (local time is
/// taken as UTC), low at night, a morning bump and an evening peak.
pub const RESIDENTIAL_SHAPE: [u16; 24] = [
    300, 260, 240, 230, 240, 300, 450, 600, 550, 450, 400, 400, //
    420, 420, 430, 480, 600, 800, 950, 1000, 900, 750, 550, 400,
];

/// How demand varies over a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadProfile {
    /// Demand at the profile's peak hour, watts (before noise).
    pub peak_w: u32,
    /// Per-mille of the peak for each hour of the day.
    pub shape: [u16; 24],
    /// ± per-mille noise, drawn per minute from the meter's seed.
    pub noise_per_mille: u16,
}

impl Default for LoadProfile {
    fn default() -> Self {
        Self { peak_w: 4_000, shape: RESIDENTIAL_SHAPE, noise_per_mille: 100 }
    }
}

impl LoadProfile {
    /// The profile's own demand (without devices) during the minute containing `unix_ms`.
    pub fn demand_w(&self, seed: u64, unix_ms: u64) -> u32 {
        let minute = unix_ms / 60_000;
        let hour = ((minute / 60) % 24) as usize;
        let factor = u64::from(self.shape.get(hour).copied().unwrap_or(500));
        let base = u64::from(self.peak_w) * factor / 1000;
        // Noise from the seed and the minute only: reading the meter never moves a stream.
        let mut rng = SimRng::new(seed ^ minute.wrapping_mul(0x9E37_79B9));
        let span = u64::from(self.noise_per_mille) * 2 + 1;
        let noise = rng.below(span) as i64 - i64::from(self.noise_per_mille);
        let w = base as i64 + base as i64 * noise / 1000;
        w.clamp(0, i64::from(u32::MAX)) as u32
    }
}

/// Everything the meter knows; `Copy` so the shared handle is a plain `Cell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterState {
    /// CurrentSummationDelivered, Wh.
    pub summation_wh: u64,
    /// Energy not yet a whole Wh, in W·ms.
    remainder: u64,
    /// Demand in force since `last_ms`, W.
    pub demand_w: u32,
    /// Extra demand drawn by the simulated devices (thermostat, load switch), W.
    pub device_load_w: u32,
    pub power_on: bool,
    pub switch_closed: bool,
    /// Virtual time of the last `advance`.
    last_ms: u64,
    /// Unix milliseconds at virtual time 0 (for the time-of-day shape).
    epoch_unix_ms: u64,
    seed: u64,
    pub profile: LoadProfile,
}

/// The simulator's handle on one meter (clone it: every clone shares the state).
#[derive(Debug, Clone)]
pub struct SimMeter {
    state: Rc<Cell<MeterState>>,
}

impl SimMeter {
    pub fn new(
        seed: u64,
        epoch_unix_ms: u64,
        start_summation_wh: u64,
        profile: LoadProfile,
    ) -> Self {
        let mut s = MeterState {
            summation_wh: start_summation_wh,
            remainder: 0,
            demand_w: 0,
            device_load_w: 0,
            power_on: true,
            switch_closed: true,
            last_ms: 0,
            epoch_unix_ms,
            seed,
            profile,
        };
        s.demand_w = s.current_demand(0);
        Self { state: Rc::new(Cell::new(s)) }
    }

    pub fn state(&self) -> MeterState {
        self.state.get()
    }

    /// Integrates energy up to `now_ms` (virtual), then recomputes the demand in force.
    pub fn advance(&self, now_ms: u64) {
        let mut s = self.state.get();
        while s.last_ms < now_ms {
            // Piecewise per minute of the profile.
            let next_minute = (s.epoch_unix_ms + s.last_ms) / 60_000 * 60_000 + 60_000;
            let piece_end = now_ms.min(next_minute.saturating_sub(s.epoch_unix_ms));
            let piece_end = piece_end.max(s.last_ms + 1);
            let dt = piece_end - s.last_ms;
            s.remainder += u64::from(s.demand_w) * dt;
            s.summation_wh += s.remainder / MS_PER_HOUR;
            s.remainder %= MS_PER_HOUR;
            s.last_ms = piece_end;
            s.demand_w = s.current_demand(s.last_ms);
        }
        s.demand_w = s.current_demand(s.last_ms);
        self.state.set(s);
    }

    /// Sets the devices' total draw (call [`advance`](Self::advance) to `now` first).
    pub fn set_device_load(&self, watts: u32) {
        self.update(|s| s.device_load_w = watts);
    }

    pub fn set_power(&self, on: bool) {
        self.update(|s| s.power_on = on);
    }

    pub fn set_switch(&self, closed: bool) {
        self.update(|s| s.switch_closed = closed);
    }

    fn update(&self, f: impl FnOnce(&mut MeterState)) {
        let mut s = self.state.get();
        f(&mut s);
        s.demand_w = s.current_demand(s.last_ms);
        self.state.set(s);
    }
}

impl MeterState {
    fn current_demand(&self, at_ms: u64) -> u32 {
        if !self.power_on || !self.switch_closed {
            return 0;
        }
        self.profile
            .demand_w(self.seed, self.epoch_unix_ms + at_ms)
            .saturating_add(self.device_load_w)
    }

    /// Metering Status bitmap (se10.md §6.3).
    pub fn status(&self) -> MeterStatus {
        let mut bits = 0;
        if !self.power_on {
            bits |= MeterStatus::POWER_FAILURE;
        }
        if !self.switch_closed {
            bits |= MeterStatus::SERVICE_DISCONNECT_OPEN;
        }
        MeterStatus(bits)
    }
}

impl Metrology for SimMeter {
    fn current_summation_delivered(&mut self) -> Option<u64> {
        Some(self.state.get().summation_wh)
    }

    fn instantaneous_demand(&mut self) -> Option<i32> {
        Some(i32::try_from(self.state.get().demand_w).unwrap_or(i32::MAX))
    }

    fn status(&mut self) -> Option<MeterStatus> {
        Some(self.state.get().status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32) -> LoadProfile {
        LoadProfile { peak_w: w, shape: [1000; 24], noise_per_mille: 0 }
    }

    #[test]
    fn summation_integrates_demand_exactly_whatever_the_call_pattern() {
        let a = SimMeter::new(1, 0, 100, flat(3_600));
        let b = SimMeter::new(1, 0, 100, flat(3_600));
        a.advance(3_600_000);
        for t in (0..=3_600_000).step_by(7_777) {
            b.advance(t);
        }
        b.advance(3_600_000);
        // 3.6 kW for one hour = 3600 Wh.
        assert_eq!(a.state().summation_wh, 3_700);
        assert_eq!(a.state(), b.state());
    }

    #[test]
    fn outage_and_open_switch_stop_the_meter_and_show_in_status() {
        let mut m = SimMeter::new(1, 0, 0, flat(1_000));
        m.advance(60_000);
        m.set_power(false);
        assert_eq!(m.instantaneous_demand(), Some(0));
        assert_eq!(m.status(), Some(MeterStatus(MeterStatus::POWER_FAILURE)));
        let before = m.state().summation_wh;
        m.advance(3_600_000);
        assert_eq!(m.state().summation_wh, before);
        m.set_power(true);
        m.set_switch(false);
        assert_eq!(m.status(), Some(MeterStatus(MeterStatus::SERVICE_DISCONNECT_OPEN)));
        m.set_switch(true);
        m.set_device_load(500);
        assert_eq!(m.instantaneous_demand(), Some(1_500));
    }

    #[test]
    fn profile_follows_the_hour_and_noise_is_bounded() {
        let p = LoadProfile::default();
        let night = p.demand_w(3, 3 * 3_600_000);
        let evening = p.demand_w(3, 19 * 3_600_000);
        assert!(evening > night * 2, "{night} {evening}");
        for minute in 0..60 {
            let w = p.demand_w(9, minute * 60_000);
            assert!((1_080..=1_320).contains(&w), "{w}");
        }
    }
}
