//! The wall-clock driver the binary uses: virtual time follows real time (times `speed`), each
//! ESI's serial line is a pty, and control lines are applied between steps.
//!
//! Everything random still comes from the seed, but input from a real gateway arrives when it
//! arrives, so only runs without external input replay exactly (tests use the library with
//! in-process hosts for that).

use crate::control::{handle_line, Control};
use crate::invariants::Violation;
use crate::pty::PtyPort;
use crate::sim::{PortEvent, Sim};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The driver.
#[derive(Debug)]
pub struct Realtime {
    pub sim: Sim,
    ports: Vec<Option<PtyPort>>,
    links: Vec<Option<PathBuf>>,
    control: Option<Control>,
    speed: f64,
}

impl Realtime {
    /// Opens one pty per ESI (with the symlink from `links`, if any).
    pub fn new(
        sim: Sim,
        links: Vec<Option<PathBuf>>,
        control: Option<Control>,
        speed: f64,
    ) -> io::Result<Self> {
        let mut ports = Vec::new();
        for i in 0..sim.esis.len() {
            let link = links.get(i).cloned().flatten();
            ports.push(Some(PtyPort::open(link.as_deref())?));
        }
        Ok(Self { sim, ports, links, control, speed: speed.max(0.001) })
    }

    /// (slave path, symlink) of each ESI's pty.
    pub fn port_paths(&self) -> Vec<(PathBuf, Option<PathBuf>)> {
        self.ports
            .iter()
            .map(|p| {
                p.as_ref()
                    .map_or_else(|| (PathBuf::new(), None), |p| (p.path.clone(), p.link.clone()))
            })
            .collect()
    }

    /// Runs until `duration_ms` of virtual time passed (forever if `None`) or `stop` is set.
    pub fn run(&mut self, duration_ms: Option<u64>, stop: &AtomicBool) -> Result<(), Violation> {
        let start_wall = Instant::now();
        let start_virtual = self.sim.now;
        let end = duration_ms.map(|d| start_virtual + d);
        let mut last_flush = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let elapsed = start_wall.elapsed().as_secs_f64() * 1000.0 * self.speed;
            let mut target = start_virtual + elapsed as u64;
            if let Some(e) = end {
                target = target.min(e);
            }
            for (i, p) in self.ports.iter_mut().enumerate() {
                if let Some(p) = p {
                    let bytes = p.read();
                    if !bytes.is_empty() {
                        self.sim.host_input(i, &bytes);
                    }
                }
            }
            while let Some(req) = self.control.as_ref().and_then(Control::try_recv) {
                let answer = handle_line(&mut self.sim, &req.line);
                let _ = req.reply.send(answer);
            }
            self.sim.advance_to(target)?;
            self.flush_output();
            self.port_events();
            if last_flush.elapsed() > Duration::from_secs(1) {
                if let Some(c) = self.sim.medium.capture_mut() {
                    let _ = c.flush();
                }
                last_flush = Instant::now();
            }
            if end.is_some_and(|e| self.sim.now >= e) {
                break;
            }
            let wait_virtual = self.sim.next_event().map_or(2.0, |t| {
                f64::from(u32::try_from(t.saturating_sub(target)).unwrap_or(u32::MAX))
            });
            let wait = (wait_virtual / self.speed).clamp(0.2, 2.0);
            std::thread::sleep(Duration::from_secs_f64(wait / 1000.0));
        }
        if let Some(c) = self.sim.medium.capture_mut() {
            let _ = c.flush();
        }
        Ok(())
    }

    fn flush_output(&mut self) {
        for (i, p) in self.ports.iter_mut().enumerate() {
            let out = self.sim.take_host_output(i);
            if let (Some(p), false) = (p.as_mut(), out.is_empty()) {
                p.write(&out);
            }
        }
    }

    fn port_events(&mut self) {
        for ev in self.sim.take_port_events() {
            match ev {
                PortEvent::Unplugged { esi } => {
                    if let Some(slot) = self.ports.get_mut(esi) {
                        *slot = None;
                        eprintln!("esi {esi}: pty closed (unplugged)");
                    }
                }
                PortEvent::Plugged { esi } => {
                    let link = self.links.get(esi).cloned().flatten();
                    match PtyPort::open(link.as_deref()) {
                        Ok(p) => {
                            eprintln!("esi {esi}: pty reopened at {}", p.path.display());
                            if let Some(slot) = self.ports.get_mut(esi) {
                                *slot = Some(p);
                            }
                        }
                        Err(e) => eprintln!("esi {esi}: could not reopen the pty: {e}"),
                    }
                }
            }
        }
    }
}
