//! The deterministic simulation (style.md §3): ESIs (firmware coordinator + simulated meter),
//! HAN devices, the radio medium, the serial lines, the fault plan, and a clock that only moves
//! when the simulator moves it.
//!
//! One step = jump to the earliest thing due, then, in a fixed order: meters catch up,
//! scheduled and random faults fire, serial bytes arrive, radio frames arrive, APS retries run,
//! devices try to join and run their timers, the coordinators and hosts run theirs, and every
//! output is drained until nothing moves. Then the invariants are checked ([`crate::invariants`]);
//! a violation stops the run and names the seed and the step. Nothing reads a wall clock or an
//! unseeded random source, so the same configuration and seed replay byte for byte.

mod actions;
pub mod build;
mod deliver;

pub use build::{SimConfig, DEFAULT_EPOCH_UNIX_MS};

use crate::command::Action;
use crate::device::Device;
use crate::faults::RandomFaultSource;
use crate::host::SimHost;
use crate::invariants::{self, Violation};
use crate::medium::Medium;
use crate::metrology::SimMeter;
use crate::node::EsiNode;
use crate::radio::{DeviceRadio, Radio};
use crate::rng::SimRng;
use crate::serial::{Direction, SerialLine};
use crate::tap::LinkTap;
use std::collections::BTreeMap;

/// Changes to the serial port a real-time driver must mirror on its pty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortEvent {
    Unplugged { esi: usize },
    Plugged { esi: usize },
}

/// One simulated ESI with everything around it.
pub struct EsiRt {
    pub node: Box<dyn EsiNode>,
    pub meter: SimMeter,
    pub radio: Radio,
    pub line: SerialLine,
    pub tap: LinkTap,
    /// The in-process host, when the simulation has one (tests, headless runs).
    pub host: Option<SimHost>,
    /// Bytes for an external host (pty), when there is no in-process one.
    host_out: Vec<u8>,
    pub resets: u32,
}

impl std::fmt::Debug for EsiRt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsiRt")
            .field("radio", &self.radio.pan_id)
            .field("line", &self.line.counters)
            .field("tap", &self.tap)
            .finish_non_exhaustive()
    }
}

/// The simulation.
#[derive(Debug)]
pub struct Sim {
    pub config: SimConfig,
    /// Virtual milliseconds since the start.
    pub now: u64,
    /// Steps taken.
    pub step: u64,
    rng: SimRng,
    pub esis: Vec<EsiRt>,
    pub devices: Vec<Device>,
    dev_radios: Vec<DeviceRadio>,
    pub medium: Medium,
    /// Scheduled actions by (time, order of scheduling).
    schedule: BTreeMap<(u64, u64), Action>,
    scheduled: u64,
    random_faults: RandomFaultSource,
    port_events: Vec<PortEvent>,
    /// Notable events (joins, faults, actions), for status output and logs.
    pub events: Vec<(u64, String)>,
}

impl Sim {
    /// Virtual time of the next thing due, if anything is.
    pub fn next_event(&self) -> Option<u64> {
        let mut t: Vec<Option<u64>> = vec![
            self.schedule.keys().next().map(|k| k.0),
            self.random_faults.poll_timeout(),
            self.medium.poll_timeout(),
        ];
        for e in &self.esis {
            t.push(e.line.poll_timeout());
            t.push(e.node.poll_timeout());
            t.push(e.radio.retry.poll_timeout());
            t.push(e.host.as_ref().and_then(SimHost::poll_timeout));
        }
        for (d, r) in self.devices.iter().zip(&self.dev_radios) {
            t.push(d.poll_timeout());
            t.push(r.retry.poll_timeout());
        }
        t.into_iter().flatten().min()
    }

    /// Runs one step: the next event (not before `now + 1`) unless it is after `limit`.
    /// Returns whether a step was taken.
    pub fn step_until(&mut self, limit: u64) -> Result<bool, Violation> {
        let Some(t) = self.next_event() else { return Ok(false) };
        let t = t.max(self.now + 1);
        if t > limit {
            return Ok(false);
        }
        self.process(t)?;
        Ok(true)
    }

    /// Runs every event up to `t` and leaves the clock at `t`.
    pub fn advance_to(&mut self, t: u64) -> Result<(), Violation> {
        while self.step_until(t)? {}
        if t > self.now {
            self.process(t)?;
        }
        Ok(())
    }

    /// Runs for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) -> Result<(), Violation> {
        self.advance_to(self.now + ms)
    }

    /// Runs until `done` holds (checked after every step) or `max_ms` of virtual time passed.
    pub fn run_until(
        &mut self,
        max_ms: u64,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> Result<bool, Violation> {
        let limit = self.now + max_ms;
        loop {
            if done(self) {
                return Ok(true);
            }
            if !self.step_until(limit)? {
                self.advance_to(limit)?;
                return Ok(done(self));
            }
        }
    }

    /// Everything due at `now`.
    fn process(&mut self, now: u64) -> Result<(), Violation> {
        self.now = now;
        self.step += 1;
        for e in &self.esis {
            e.meter.advance(now);
        }
        self.run_scheduled(now);
        self.run_serial(now);
        while let Some(d) = self.medium.poll_delivery(now) {
            self.deliver(now, d);
        }
        self.run_retries(now);
        for i in 0..self.devices.len() {
            if self.devices.get(i).is_some_and(|d| d.wants_join(now)) {
                self.join(now, i);
            }
            if let Some(d) =
                self.devices.get_mut(i).filter(|d| d.poll_timeout().is_some_and(|t| t <= now))
            {
                d.handle_timeout(now);
            }
        }
        for e in &mut self.esis {
            if e.node.poll_timeout().is_some_and(|t| t <= now) {
                e.node.handle_timeout(now);
            }
            if let Some(h) = e.host.as_mut().filter(|h| h.poll_timeout().is_some_and(|t| t <= now))
            {
                h.handle_timeout(now);
            }
        }
        self.drain(now);
        self.update_loads();
        invariants::check(self)
    }

    /// Scheduled actions and random faults due at `now`.
    fn run_scheduled(&mut self, now: u64) {
        let (esis, devices) = (self.esis.len(), self.devices.len());
        for (at, action) in self.random_faults.due(now, esis, devices) {
            self.schedule_at(at, action);
        }
        while let Some((&key, _)) = self.schedule.iter().next().filter(|(k, _)| k.0 <= now) {
            if let Some(action) = self.schedule.remove(&key) {
                let outcome = self.apply(&action);
                let line = match outcome {
                    Ok(s) => format!("{action:?}: {s}"),
                    Err(e) => format!("{action:?}: failed: {e}"),
                };
                self.note(line);
            }
        }
    }

    /// Schedules `action` at virtual `at` (ms).
    pub fn schedule_at(&mut self, at: u64, action: Action) {
        self.scheduled += 1;
        self.schedule.insert((at, self.scheduled), action);
    }

    /// Serial bytes that have arrived.
    fn run_serial(&mut self, now: u64) {
        // The tap decodes the host-link protocol; an EZSP NCP speaks ASH instead.
        let tap = self.config.node == crate::node::NodeKind::Firmware;
        for (i, e) in self.esis.iter_mut().enumerate() {
            if e.line.plug_if_due(now) {
                self.port_events.push(PortEvent::Plugged { esi: i });
            }
            let to_node = e.line.read(now, Direction::ToNode);
            if !to_node.is_empty() {
                if tap {
                    e.tap.to_node(&to_node);
                }
                e.node.handle_serial_bytes(now, &to_node);
            }
            let to_host = e.line.read(now, Direction::ToHost);
            if !to_host.is_empty() {
                match e.host.as_mut() {
                    Some(h) => h.handle_bytes(now, &to_host),
                    None => e.host_out.extend_from_slice(&to_host),
                }
            }
        }
    }

    /// Drains every output until nothing moves.
    fn drain(&mut self, now: u64) {
        let mut buf = [0u8; firmware::host_link::MAX_WIRE_LEN];
        let tap = self.config.node == crate::node::NodeKind::Firmware;
        loop {
            let mut moved = false;
            for i in 0..self.esis.len() {
                while let Some(action) = self.esis.get_mut(i).and_then(|e| e.node.poll_radio()) {
                    moved = true;
                    self.radio_action(now, i, action);
                }
                let Some(e) = self.esis.get_mut(i) else { continue };
                while let Some(n) = e.node.poll_serial_transmit(&mut buf) {
                    moved = true;
                    let bytes = buf.get(..n).unwrap_or_default();
                    if tap {
                        e.tap.from_node(bytes);
                    }
                    e.line.write(now, Direction::ToHost, bytes);
                }
                if let Some(h) = e.host.as_mut() {
                    let bytes = h.poll_transmit(now);
                    if !bytes.is_empty() {
                        moved = true;
                        e.line.write(now, Direction::ToNode, &bytes);
                    }
                }
            }
            for i in 0..self.devices.len() {
                let out = self.devices.get_mut(i).map(Device::take_outgoing).unwrap_or_default();
                for o in out {
                    moved = true;
                    self.device_send(now, i, o);
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Sets each meter's device load from its devices.
    fn update_loads(&mut self) {
        for (i, e) in self.esis.iter().enumerate() {
            let w = self.devices.iter().filter(|d| d.spec.esi == i).map(Device::load_w).sum();
            if e.meter.state().device_load_w != w {
                e.meter.set_device_load(w);
            }
        }
    }

    fn note(&mut self, line: String) {
        tracing::info!(t = self.now, "{line}");
        self.events.push((self.now, line));
        if self.events.len() > 10_000 {
            self.events.drain(..5_000);
        }
    }

    // ---- for the outside world (real-time driver, tests) ----

    /// Bytes from an external host (pty) for ESI `esi`, arriving now.
    pub fn host_input(&mut self, esi: usize, bytes: &[u8]) {
        let now = self.now;
        if let Some(e) = self.esis.get_mut(esi) {
            e.line.write(now, Direction::ToNode, bytes);
        }
    }

    /// Bytes for an external host on ESI `esi`.
    pub fn take_host_output(&mut self, esi: usize) -> Vec<u8> {
        self.esis.get_mut(esi).map(|e| std::mem::take(&mut e.host_out)).unwrap_or_default()
    }

    pub fn take_port_events(&mut self) -> Vec<PortEvent> {
        std::mem::take(&mut self.port_events)
    }

    /// The in-process host of ESI `esi`.
    pub fn host(&mut self, esi: usize) -> Option<&mut SimHost> {
        self.esis.get_mut(esi).and_then(|e| e.host.as_mut())
    }

    /// Requests every ESI received and has not answered (reset-lost ones excepted).
    pub fn unanswered(&self) -> Vec<(usize, u32)> {
        self.esis
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.tap.unanswered().into_iter().map(move |id| (i, id)))
            .collect()
    }
}
