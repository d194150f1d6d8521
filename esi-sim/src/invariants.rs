//! Invariants checked after every step (style.md §3). A violation stops the run; its message
//! names the seed and the step, and rerunning with the seed replays the run exactly.
//!
//! * Slots: no EUI-64 holds two slots, no slot index is used twice or out of range, no more
//!   occupants than capacity (BR-068: a slot is never double-booked).
//! * DR events: the ESI stores no event whose end has passed (by its own UTC), and no device
//!   keeps running an event past its end.
//! * Host requests: none answered twice, none answered without having been received
//!   ([`crate::tap`]); at quiescence [`crate::sim::Sim::unanswered`] must be empty.

use crate::device::Behavior;
use crate::sim::Sim;
use std::collections::BTreeSet;
use std::fmt;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub seed: u64,
    pub step: u64,
    /// Virtual ms.
    pub at: u64,
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant violated at step {} (t = {} ms) with seed {}: {}\n(rerun with --seed {} to replay it)",
            self.step, self.at, self.seed, self.what, self.seed
        )
    }
}

impl std::error::Error for Violation {}

/// Checks every invariant of `sim` now.
pub fn check(sim: &mut Sim) -> Result<(), Violation> {
    let mut problems = Vec::new();
    for (i, e) in sim.esis.iter_mut().enumerate() {
        let snap = e.node.snapshot(sim.now);
        let mut euis = BTreeSet::new();
        let mut indices = BTreeSet::new();
        for s in &snap.slots {
            if !euis.insert(s.eui64) {
                problems.push(format!("esi {i}: {} holds two slots", s.eui64));
            }
            if !indices.insert(s.slot) || s.slot >= snap.capacity {
                problems.push(format!("esi {i}: slot {} double-booked or out of range", s.slot));
            }
        }
        if snap.slots.len() > usize::from(snap.capacity) {
            problems.push(format!(
                "esi {i}: {} occupants for {} slots",
                snap.slots.len(),
                snap.capacity
            ));
        }
        if let Some(utc) = snap.utc {
            for ev in snap.dr_events.iter().filter(|ev| ev.end <= utc) {
                problems.push(format!(
                    "esi {i}: DR event {} still stored at utc {utc}, after its end {}",
                    ev.issuer_event_id, ev.end
                ));
            }
        }
        for v in e.tap.take_violations() {
            problems.push(format!("esi {i}: {v}"));
        }
    }
    for (i, d) in sim.devices.iter().enumerate() {
        let dr = match &d.behavior {
            Behavior::Pct(p) => &p.dr,
            Behavior::Lcs(l) => &l.dr,
            Behavior::Ihd(_) => continue,
        };
        for ev in dr.events.iter().filter(|ev| ev.started && ev.end_ms <= sim.now) {
            problems.push(format!(
                "device {}: DR event {} still running past its end",
                i + 1,
                ev.event.issuer_event_id
            ));
        }
    }
    match problems.into_iter().next() {
        None => Ok(()),
        Some(what) => Err(Violation { seed: sim.config.seed, step: sim.step, at: sim.now, what }),
    }
}
