//! Actions (from the control channel, scenario files and the fault plan) and status queries.

use super::{PortEvent, Sim};
use crate::command::{Action, DeviceRef, Target};
use crate::device::{DeviceKind, DeviceSpec};
use firmware::host_link::{AddDevice, Command, LinkKey as WireKey};
use std::fmt::Write as _;

impl Sim {
    /// The device index `r` names.
    pub fn resolve(&self, r: DeviceRef) -> Result<usize, String> {
        match r {
            DeviceRef::Index(i) if i < self.devices.len() => Ok(i),
            DeviceRef::Index(i) => {
                Err(format!("there is no device {} ({} devices)", i + 1, self.devices.len()))
            }
            DeviceRef::Kind(k, n) => self
                .devices
                .iter()
                .enumerate()
                .filter(|(_, d)| d.spec.kind == k)
                .nth(n)
                .map(|(i, _)| i)
                .ok_or_else(|| format!("there is no {} {}", k.name(), n + 1)),
        }
    }

    fn targets(&self, t: Target) -> Result<Vec<usize>, String> {
        match t {
            Target::All => Ok((0..self.esis.len()).collect()),
            Target::One(i) if i < self.esis.len() => Ok(vec![i]),
            Target::One(i) => Err(format!("there is no ESI {i} (ESIs are 0..{})", self.esis.len())),
        }
    }

    /// Does `action` now; the text says what happened.
    pub fn apply(&mut self, action: &Action) -> Result<String, String> {
        let now = self.now;
        match *action {
            Action::Confirm { device, .. }
            | Action::OptOut { device, .. }
            | Action::OptIn { device, .. } => {
                let i = self.resolve(device)?;
                let dev = self.devices.get_mut(i).ok_or("no such device")?;
                let r = dev.act(now, action);
                self.drain(now);
                r
            }
            Action::Leave { device } => {
                let i = self.resolve(device)?;
                self.device_left(now, i, None);
                Ok(format!("{device} left the network"))
            }
            Action::Rejoin { device } => {
                let i = self.resolve(device)?;
                let dev = self.devices.get_mut(i).ok_or("no such device")?;
                if dev.short().is_some() {
                    return Err(format!("{device} is already on the network"));
                }
                dev.rejoin(now);
                Ok(format!("{device} searching for its network"))
            }
            Action::Power { esi, on } => {
                for e in self.targets(esi)? {
                    if let Some(rt) = self.esis.get(e) {
                        rt.meter.set_power(on);
                    }
                }
                Ok(format!("power {}", if on { "restored" } else { "failed" }))
            }
            Action::Switch { esi, closed } => {
                for e in self.targets(esi)? {
                    if let Some(rt) = self.esis.get(e) {
                        rt.meter.set_switch(closed);
                    }
                }
                Ok(format!("service switch {}", if closed { "closed" } else { "open" }))
            }
            Action::ToggleSwitch { esi } => {
                for e in self.targets(esi)? {
                    if let Some(rt) = self.esis.get(e) {
                        let closed = rt.meter.state().switch_closed;
                        rt.meter.set_switch(!closed);
                    }
                }
                Ok("service switch toggled".into())
            }
            Action::Reset { esi } => {
                for e in self.targets(esi)? {
                    if let Some(rt) = self.esis.get_mut(e) {
                        rt.node.reset(now);
                        rt.tap.note_reset();
                        rt.radio.retry.clear();
                        rt.resets += 1;
                    }
                }
                self.drain(now);
                Ok("coordinator reset".into())
            }
            Action::Unplug { esi, for_ms } => {
                for e in self.targets(esi)? {
                    if let Some(rt) = self.esis.get_mut(e) {
                        rt.line.unplug(now + for_ms);
                        rt.host_out.clear();
                    }
                    self.port_events.push(PortEvent::Unplugged { esi: e });
                }
                Ok(format!("serial line unplugged for {for_ms} ms"))
            }
        }
    }

    /// Provisions device `i` on its ESI through the in-process host (the install code on its
    /// label, hashed as the gateway would); returns the request id.
    pub fn provision(&mut self, i: usize) -> Option<u32> {
        let spec = self.devices.get(i)?.spec.clone();
        self.provision_spec(&spec, AddDevice::DEFAULT_JOIN_WINDOW_S)
    }

    /// Provisions `spec` with a given join window (seconds).
    pub fn provision_spec(&mut self, spec: &DeviceSpec, join_window_s: u32) -> Option<u32> {
        let key = spec.label_link_key()?;
        let cmd = Command::AddDevice(AddDevice {
            eui64: spec.eui64.into(),
            link_key: WireKey::new(*key.as_bytes()),
            join_window_s,
        });
        Some(self.host(spec.esi)?.send(cmd))
    }

    /// Headless start: every in-process host sets the ESI's clock to the configured epoch and
    /// provisions every device on its ESI from the install code on its label.
    pub fn bootstrap_hosts(&mut self) {
        let utc = zse::zcl::UtcTime::from_unix(self.config.epoch_unix_ms / 1000).map_or(0, |u| u.0);
        for e in 0..self.esis.len() {
            if let Some(h) = self.host(e) {
                h.send(Command::SetTime(firmware::host_link::SetTime { utc }));
            }
        }
        for i in 0..self.devices.len() {
            let _ = self.provision(i);
        }
    }

    /// Devices of a kind, in order.
    pub fn devices_of(&self, kind: DeviceKind) -> Vec<usize> {
        self.devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.spec.kind == kind)
            .map(|(i, _)| i)
            .collect()
    }

    /// The ESIs: PAN, network key, link and meter state.
    pub fn status_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "t={} ms step {} seed {}", self.now, self.step, self.config.seed);
        for (i, e) in self.esis.iter().enumerate() {
            let snap = e.node.snapshot(self.now);
            let m = e.meter.state();
            let _ = writeln!(
                s,
                "esi {i}: eui64 {} pan 0x{:04X} link {} utc {} slots {}/{} power {} switch {} summation {} Wh demand {} W resets {}",
                e.radio.eui64,
                e.radio.pan_id,
                if snap.link_connected { "up" } else { "down" },
                snap.utc.map_or_else(|| "unset".into(), |u| u.to_string()),
                snap.slots.len(),
                snap.capacity,
                if m.power_on { "on" } else { "off" },
                if m.switch_closed { "closed" } else { "open" },
                m.summation_wh,
                m.demand_w,
                e.resets,
            );
        }
        s
    }

    /// Every pushed SE command each device received (after APS duplicate rejection; answers to
    /// the device's own polls not counted), on one line: `d<N>:<Command>:<id>=<count> ...`.
    pub fn received_text(&self) -> String {
        let mut s = String::new();
        for (i, d) in self.devices.iter().enumerate() {
            for (k, n) in &d.pushes {
                let _ = write!(s, "d{}:{}={n} ", i + 1, k.replace(' ', ":"));
            }
        }
        s.trim_end().to_string()
    }

    /// One line per device.
    pub fn devices_text(&self) -> String {
        let mut s = String::new();
        for (i, d) in self.devices.iter().enumerate() {
            let _ = writeln!(
                s,
                "device {} ({} {}) esi {} eui64 {} install code {}{}: {}",
                i + 1,
                d.spec.kind.name(),
                self.devices.iter().take(i + 1).filter(|x| x.spec.kind == d.spec.kind).count(),
                d.spec.esi,
                d.spec.eui64,
                d.spec.label_hex(),
                if d.spec.wrong_key { " (holds a wrong key)" } else { "" },
                d.status(self.now)
            );
        }
        s
    }
}
