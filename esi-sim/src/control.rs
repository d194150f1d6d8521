//! The control channel: one line in, one answer out, over stdin or a local unix socket, in the
//! action language of [`crate::command`] (`ihd 2 confirm`, `pct 1 opt-out 77`,
//! `power fail at 30s`, `status`, ...).
//!
//! Answers start with `ok:` or `error:`; multi-line answers (status, devices) end with an empty
//! line. Reader threads only move lines; the simulation loop applies them between steps, so
//! control input never races the simulation.

use crate::command::{parse_line, Line, Query};
use crate::sim::Sim;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

/// Help text for `help`.
pub const HELP: &str = "\
commands (devices count from 1; ESIs from 0; `at 30s` schedules on virtual time):
  ihd N confirm [MESSAGE_ID]       the display's user confirms the message
  pct N opt-out [EVENT_ID]         also opt-in; lcs N likewise
  device N leave | rejoin          also ihd/pct/lcs N leave | rejoin
  power fail | restore [esi N]
  switch open | close | toggle [esi N]
  reset [esi N]                    coordinator reset
  unplug [esi N] [for 5s]          serial line (pty) gone for a while
  status | devices | time | help
  received                         pushed commands per device: `d1:DisplayMessage:17=1 ...`";

/// One line from a client, with where to send the answer.
#[derive(Debug)]
pub struct ControlRequest {
    pub line: String,
    pub reply: Sender<String>,
}

/// Incoming control lines.
#[derive(Debug)]
pub struct Control {
    rx: Receiver<ControlRequest>,
    socket: Option<PathBuf>,
}

impl Control {
    /// Lines from stdin; answers go to stdout.
    pub fn stdin() -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let stdin = io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                let (rtx, rrx) = mpsc::channel();
                if tx.send(ControlRequest { line, reply: rtx }).is_err() {
                    break;
                }
                if let Ok(answer) = rrx.recv() {
                    println!("{answer}");
                }
            }
        });
        Self { rx, socket: None }
    }

    /// Lines from clients of a unix socket at `path` (replaced if it exists).
    pub fn unix_socket(path: &Path) -> io::Result<Self> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        let (tx, rx) = mpsc::channel::<ControlRequest>();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let Ok(mut out) = stream.try_clone() else { return };
                    for line in BufReader::new(stream).lines() {
                        let Ok(line) = line else { break };
                        let (rtx, rrx) = mpsc::channel();
                        if tx.send(ControlRequest { line, reply: rtx }).is_err() {
                            return;
                        }
                        let Ok(answer) = rrx.recv() else { return };
                        if writeln!(out, "{answer}").is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(Self { rx, socket: Some(path.to_path_buf()) })
    }

    /// The next waiting line, if any.
    pub fn try_recv(&self) -> Option<ControlRequest> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Parses and carries out one control line; returns the answer.
pub fn handle_line(sim: &mut Sim, line: &str) -> String {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return "ok".into();
    }
    match parse_line(line) {
        Err(e) => format!("error: {e}"),
        Ok(Line::Query(Query::Help)) => format!("ok:\n{HELP}\n"),
        Ok(Line::Query(Query::Status)) => format!("ok:\n{}", sim.status_text()),
        Ok(Line::Query(Query::Devices)) => format!("ok:\n{}", sim.devices_text()),
        Ok(Line::Query(Query::Received)) => format!("ok: {}", sim.received_text()),
        Ok(Line::Query(Query::Time)) => {
            let utc = sim.esis.first().and_then(|e| e.node.snapshot(sim.now).utc);
            format!(
                "ok: t={} ms, esi 0 utc {}",
                sim.now,
                utc.map_or_else(|| "unset".into(), |u| u.to_string())
            )
        }
        Ok(Line::Action { action, at: Some(t) }) => {
            if t < sim.now {
                return format!("error: t={t} ms is in the past (now {} ms)", sim.now);
            }
            sim.schedule_at(t, action);
            format!("ok: scheduled at t={t} ms")
        }
        Ok(Line::Action { action, at: None }) => match sim.apply(&action) {
            Ok(s) => format!("ok: {s}"),
            Err(e) => format!("error: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    #[test]
    fn lines_are_answered() {
        let mut sim = Sim::new(SimConfig::new(1, 1, 3)).unwrap();
        assert!(handle_line(&mut sim, "status").starts_with("ok:\nt=0"));
        assert!(handle_line(&mut sim, "devices").contains("pct 1"));
        assert_eq!(handle_line(&mut sim, "power fail"), "ok: power failed");
        assert!(!sim.esis[0].meter.state().power_on);
        assert_eq!(handle_line(&mut sim, "switch open at 10s"), "ok: scheduled at t=10000 ms");
        sim.run_for(10_000).unwrap();
        assert!(!sim.esis[0].meter.state().switch_closed);
        assert!(handle_line(&mut sim, "ihd 1 confirm").starts_with("error: "));
        assert!(handle_line(&mut sim, "ihd 9 confirm").contains("no ihd 9"));
        assert_eq!(handle_line(&mut sim, "fly"), "error: word 1: unknown action `fly` (ihd/pct/lcs/device N …, power, switch, reset, unplug, status)");
        assert!(handle_line(&mut sim, "help").contains("opt-out"));
    }
}
