//! The ESI simulator of the demo: `esi-sim` in real time on its own thread, one pty per ESI
//! (reached through symlinks in the demo directory, as the gateway would open `/dev/ttyACM0`),
//! and its control channel on a unix socket (`socat - UNIX-CONNECT:<dir>/sim.sock` works too).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use esi_sim::control::Control;
use esi_sim::device::{DeviceKind, DeviceSpec};
use esi_sim::realtime::Realtime;
use esi_sim::SimConfig;

/// How long the control channel may take to answer one line.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the simulator may take to build its ESIs and ptys.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The demo's simulated site: ESI 0 with an in-home display, a thermostat and a load switch;
/// ESI 1 with an in-home display. No device joins until it is told to (`device N rejoin`), as
/// an installer powers a device up after provisioning it.
pub fn demo_config(seed: u64) -> SimConfig {
    let mut cfg = SimConfig::new(seed, 2, 4);
    let layout =
        [(DeviceKind::Ihd, 0), (DeviceKind::Pct, 0), (DeviceKind::Lcs, 0), (DeviceKind::Ihd, 1)];
    for (d, (kind, esi)) in cfg.devices.iter_mut().zip(layout) {
        // SimConfig::new gives IHD, PCT, LCS, IHD in turn; only the ESIs are rearranged.
        debug_assert_eq!(d.kind, kind);
        d.esi = esi;
        d.auto_join = false;
    }
    cfg
}

/// The simulator running in real time.
#[derive(Debug)]
pub struct SimThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The control socket.
    pub control: PathBuf,
    /// One symlink to a pty per ESI.
    pub links: Vec<PathBuf>,
    pub devices: Vec<DeviceSpec>,
    failure: Arc<Mutex<Option<String>>>,
}

impl SimThread {
    /// Starts `cfg` in `dir` (links `esi0`, `esi1`, …, control socket `sim.sock`).
    pub fn start(dir: &Path, cfg: SimConfig) -> Result<Self, String> {
        let devices = cfg.devices.clone();
        let links: Vec<PathBuf> = (0..cfg.esis).map(|i| dir.join(format!("esi{i}"))).collect();
        let control = dir.join("sim.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let (stop2, failure2) = (stop.clone(), failure.clone());
        let (links2, control2) = (links.clone(), control.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        // The simulator is not `Send`: it is built on its own thread.
        let thread = std::thread::Builder::new()
            .name("esi-sim".into())
            .spawn(move || {
                let built = Control::unix_socket(&control2)
                    .map_err(|e| format!("simulator control socket {}: {e}", control2.display()))
                    .and_then(|c| {
                        let sim = esi_sim::Sim::new(cfg).map_err(|e| format!("simulator: {e}"))?;
                        Realtime::new(sim, links2.into_iter().map(Some).collect(), Some(c), 1.0)
                            .map_err(|e| format!("simulator ptys: {e}"))
                    });
                let mut rt = match built {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                if let Err(v) = rt.run(None, &stop2) {
                    if let Ok(mut f) = failure2.lock() {
                        *f = Some(format!("{v:?}"));
                    }
                }
            })
            .map_err(|e| format!("cannot start the simulator thread: {e}"))?;
        let mut me = Self { stop, thread: Some(thread), control, links, devices, failure };
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => Ok(me),
            Ok(Err(e)) => {
                me.stop();
                Err(e)
            }
            Err(_) => {
                me.stop();
                Err(format!("the simulator did not start within {}s", START_TIMEOUT.as_secs()))
            }
        }
    }

    /// One control line (`ihd 1 confirm 7`, `power fail esi 0`, …): the `ok: …` answer, or the
    /// simulator's `error: …` as an error.
    pub fn control(&self, line: &str) -> Result<String, String> {
        let fail = |e: std::io::Error| format!("simulator control channel: {e}");
        let mut s = UnixStream::connect(&self.control).map_err(fail)?;
        s.set_read_timeout(Some(CONTROL_TIMEOUT)).map_err(fail)?;
        s.set_write_timeout(Some(CONTROL_TIMEOUT)).map_err(fail)?;
        writeln!(s, "{line}").map_err(fail)?;
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).map_err(fail)?;
        let answer = answer.trim().to_owned();
        if answer.starts_with("ok") {
            Ok(answer)
        } else if answer.is_empty() {
            Err(format!("the simulator did not answer {line:?}"))
        } else {
            Err(format!("the simulator refused {line:?}: {answer}"))
        }
    }

    /// An invariant violation that stopped the simulator, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Device `i` (0-based overall): EUI-64 as 16 hex digits.
    pub fn eui(&self, i: usize) -> String {
        self.devices.get(i).map(|d| format!("{:016x}", d.eui64.0)).unwrap_or_default()
    }

    /// Device `i`'s install code as printed on its label (hex with CRC). A secret: it goes only
    /// into the signed request, never into the narration.
    pub fn install_code(&self, i: usize) -> String {
        self.devices
            .get(i)
            .map(|d| {
                d.install_code.iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02X}");
                    s
                })
            })
            .unwrap_or_default()
    }

    /// Stops the simulator thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        self.stop();
    }
}
