//! The fault plan (style.md §3): what goes wrong, and when, decided by the seed.
//!
//! * Per-frame radio faults: loss, corruption (the receiver drops the frame), extra delay.
//! * Per-byte serial faults on the host link: drops and corruption (bit flips).
//! * Discrete faults, scheduled at fixed times (`[[at]]` entries or `--at` flags, see
//!   [`crate::command`]) or drawn at random with a mean rate per hour: device leave (and rejoin
//!   after `rejoin_after`), power failure (restored after `outage`), service-switch change,
//!   coordinator reset, and "unplug" (the serial line, or pty, goes away for `unplug_ms`; the
//!   ESI, powered by its meter, keeps running — combine with a reset for a USB stick that
//!   loses power).
//!
//! The same plan can come from a TOML table (`[faults]` in a scenario file, or a file of its
//! own) or from flags; unknown keys are errors naming the key.

use crate::command::{Action, DeviceRef, Target};
use crate::rng::SimRng;
use serde::Deserialize;

/// Radio faults, probabilities per transmission.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadioFaults {
    /// A frame is lost (never received).
    pub loss: f64,
    /// A frame is corrupted (captured as such, dropped by the receiver's FCS check).
    pub corruption: f64,
    /// A frame is delayed by 1..=`delay_max_ms` extra milliseconds (may reorder).
    pub delay_probability: f64,
    pub delay_max_ms: u64,
}

/// Serial-line faults, probabilities per byte.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SerialFaults {
    pub drop: f64,
    pub corruption: f64,
}

/// Mean number of discrete faults per hour of virtual time (0 = never).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomFaults {
    pub device_leave: f64,
    pub power_failure: f64,
    pub switch_change: f64,
    pub coordinator_reset: f64,
    pub unplug: f64,
    /// How long a left device stays away, ms.
    pub rejoin_after_ms: u64,
    /// How long a power failure lasts, ms.
    pub outage_ms: u64,
    /// How long an unplug lasts, ms.
    pub unplug_ms: u64,
}

impl Default for RandomFaults {
    fn default() -> Self {
        Self {
            device_leave: 0.0,
            power_failure: 0.0,
            switch_change: 0.0,
            coordinator_reset: 0.0,
            unplug: 0.0,
            rejoin_after_ms: 20_000,
            outage_ms: 60_000,
            unplug_ms: 5_000,
        }
    }
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultPlan {
    pub radio: RadioFaults,
    pub serial: SerialFaults,
    pub random: RandomFaults,
    /// Scheduled actions (virtual ms, action), in any order.
    pub schedule: Vec<(u64, Action)>,
}

impl FaultPlan {
    /// Checks probabilities are within 0..=1 and rates are not negative; names the field.
    pub fn validate(&self) -> Result<(), String> {
        let probs = [
            ("radio.loss", self.radio.loss),
            ("radio.corruption", self.radio.corruption),
            ("radio.delay_probability", self.radio.delay_probability),
            ("serial.drop", self.serial.drop),
            ("serial.corruption", self.serial.corruption),
        ];
        for (name, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} = {p}: a probability must be within 0..=1"));
            }
        }
        let rates = [
            ("random.device_leave", self.random.device_leave),
            ("random.power_failure", self.random.power_failure),
            ("random.switch_change", self.random.switch_change),
            ("random.coordinator_reset", self.random.coordinator_reset),
            ("random.unplug", self.random.unplug),
        ];
        for (name, r) in rates {
            if !r.is_finite() || r < 0.0 {
                return Err(format!("{name} = {r}: a rate per hour must be ≥ 0"));
            }
        }
        Ok(())
    }

    /// True when the plan injects nothing.
    pub fn is_clean(&self) -> bool {
        self.radio == RadioFaults::default()
            && self.serial == SerialFaults::default()
            && self.schedule.is_empty()
            && self.random.device_leave == 0.0
            && self.random.power_failure == 0.0
            && self.random.switch_change == 0.0
            && self.random.coordinator_reset == 0.0
            && self.random.unplug == 0.0
    }
}

/// Draws the random discrete faults, one kind at a time, as a Poisson process per kind.
#[derive(Debug)]
pub struct RandomFaultSource {
    rng: SimRng,
    plan: RandomFaults,
    /// Next occurrence per kind (virtual ms); `None` = never.
    next: [Option<u64>; 5],
}

const KINDS: usize = 5;

impl RandomFaultSource {
    pub fn new(mut rng: SimRng, plan: RandomFaults, now: u64) -> Self {
        let mut next = [None; KINDS];
        for (k, slot) in next.iter_mut().enumerate() {
            *slot = draw_next(&mut rng, rate_of(&plan, k), now);
        }
        Self { rng, plan, next }
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.next.iter().flatten().min().copied()
    }

    /// The faults due at `now`, each with its target drawn from the seed. `esis` and `devices`
    /// are the population sizes.
    pub fn due(&mut self, now: u64, esis: usize, devices: usize) -> Vec<(u64, Action)> {
        let mut out = Vec::new();
        for k in 0..KINDS {
            while let Some(at) = self.next.get(k).copied().flatten().filter(|&t| t <= now) {
                let esi = self.rng.below(esis.max(1) as u64) as usize;
                let device = self.rng.below(devices.max(1) as u64) as usize;
                let p = self.plan;
                match k {
                    0 if devices > 0 => {
                        let d = DeviceRef::Index(device);
                        out.push((at, Action::Leave { device: d }));
                        out.push((at + p.rejoin_after_ms, Action::Rejoin { device: d }));
                    }
                    1 => {
                        out.push((at, Action::Power { esi: Target::One(esi), on: false }));
                        out.push((
                            at + p.outage_ms,
                            Action::Power { esi: Target::One(esi), on: true },
                        ));
                    }
                    2 => out.push((at, Action::ToggleSwitch { esi: Target::One(esi) })),
                    3 => out.push((at, Action::Reset { esi: Target::One(esi) })),
                    4 => out
                        .push((at, Action::Unplug { esi: Target::One(esi), for_ms: p.unplug_ms })),
                    _ => {}
                }
                let rate = rate_of(&self.plan, k);
                if let Some(slot) = self.next.get_mut(k) {
                    *slot = draw_next(&mut self.rng, rate, at);
                }
            }
        }
        out
    }
}

fn rate_of(p: &RandomFaults, kind: usize) -> f64 {
    [p.device_leave, p.power_failure, p.switch_change, p.coordinator_reset, p.unplug]
        .get(kind)
        .copied()
        .unwrap_or(0.0)
}

/// Exponential inter-arrival time for `per_hour` events per hour, from `after`.
fn draw_next(rng: &mut SimRng, per_hour: f64, after: u64) -> Option<u64> {
    let u = rng.unit();
    if per_hour <= 0.0 {
        return None;
    }
    let hours = -(1.0 - u).ln() / per_hour;
    let ms = (hours * 3_600_000.0).clamp(1.0, 1e15) as u64;
    Some(after.saturating_add(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let mut p = FaultPlan::default();
        assert!(p.is_clean() && p.validate().is_ok());
        p.serial.drop = 1.5;
        assert!(p.validate().unwrap_err().starts_with("serial.drop"));
        p.serial.drop = 0.0;
        p.random.unplug = -1.0;
        assert!(p.validate().unwrap_err().starts_with("random.unplug"));
    }

    #[test]
    fn random_faults_replay_with_the_seed() {
        let plan = RandomFaults { power_failure: 10.0, device_leave: 5.0, ..Default::default() };
        let run = |seed| {
            let mut src = RandomFaultSource::new(SimRng::new(seed), plan, 0);
            let mut all = Vec::new();
            while let Some(t) = src.poll_timeout().filter(|&t| t < 10 * 3_600_000) {
                all.extend(src.due(t, 2, 4));
            }
            all
        };
        let a = run(5);
        assert_eq!(a, run(5));
        assert_ne!(a, run(6));
        // ~150 faults expected in 10 h; each leave and outage schedules its end too.
        let fails = a.iter().filter(|(_, x)| matches!(x, Action::Power { on: false, .. })).count();
        assert!((50..=150).contains(&fails), "{fails}");
    }
}
