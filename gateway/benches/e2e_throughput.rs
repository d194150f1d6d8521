//! End-to-end throughput through `esi-sim` (design.md §10: "end-to-end delivery through esi-sim
//! ≥ 90 % of the serial link's byte capacity").
//!
//! Runs the ESI simulator in real time on a pty (one ESI, `--devices` paired in-home displays,
//! 115200 baud paced by the simulated serial line) and the gateway daemon in-process on that pty,
//! provisions the displays, then submits `--messages` text messages (one display each, round
//! robin) and measures over the steady-state window (between the `--warmup`-th and the last-but-
//! `--warmup` delivered message):
//!
//! * (a) delivered messages/s;
//! * (b) bytes/s actually carried on the simulated serial line, both directions (the line's
//!   own counters, sampled by the simulator loop of this file);
//! * (c) the fraction of the line's capacity (baud / 10 bytes/s per direction) used by the busier
//!   direction;
//! * (d) the useful-payload fraction: message text bytes / all bytes host → ESI, with a break-down
//!   of the frames on the line by kind (each frame decoded with the host-link deframer).
//!
//! Then, on the same simulator (the displays stay paired), the **baseline**: a bare host-role
//! `LinkEndpoint` on the same pty streaming DisplayMessage requests of the same size with the
//! window kept full and every report acknowledged, no gateway in between.
//!
//! `cargo bench -p gateway --bench e2e_throughput -- [--messages N] [--devices D]
//! [--text-len L] [--priority low|medium|high] [--baseline-messages N] [--warmup N] [--seed S]`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::too_many_lines,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::format_push_string,
    clippy::format_collect,
    clippy::match_wildcard_for_single_variants,
    clippy::collapsible_match
)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esi_sim::control::handle_line;
use esi_sim::device::{DeviceKind, DeviceSpec};
use esi_sim::pty::PtyPort;
use esi_sim::sim::build::default_device;
use esi_sim::tap::Deframer;
use esi_sim::{Sim, SimConfig};
use firmware::host_link::host::Clock;
use firmware::host_link::{
    Command, DisplayMessage, Eui64 as LinkEui, HostEndpoint, LinkConfig, LinkError, LinkEvent,
    NodeInfo, Packet, Report, Request, Role, SoftwareVersion, Targets as LinkTargets, MAX_WIRE_LEN,
};
use gateway::config::Config;
use gateway::daemon::Daemon;
use gateway::grants::Role as GwRole;
use gateway::ops::types::{Provision, SendMessage, Targets};
use gateway::ops::{Caller, Event, Gateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_serial::SerialPortBuilderExt;

const BAUD: u32 = 115_200;

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Debug, Clone)]
struct Opts {
    messages: usize,
    devices: usize,
    text_len: usize,
    priority: String,
    baseline_messages: usize,
    warmup: usize,
    seed: u64,
    /// Extra `[scheduler]` keys for the daemon (`--max-in-flight`, `--rate-per-second`).
    scheduler: String,
    /// Every message to every display (one host-link request, `devices` deliveries).
    fanout_all: bool,
}

impl Opts {
    fn parse() -> Self {
        let mut o = Self {
            messages: 500,
            devices: 3,
            text_len: 59,
            priority: "low".into(),
            baseline_messages: 500,
            warmup: 50,
            seed: 7,
            scheduler: String::new(),
            fanout_all: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
            match a.as_str() {
                "--messages" => o.messages = val().parse().unwrap(),
                "--devices" => o.devices = val().parse().unwrap(),
                "--text-len" => o.text_len = val().parse().unwrap(),
                "--priority" => o.priority = val(),
                "--baseline-messages" => o.baseline_messages = val().parse().unwrap(),
                "--warmup" => o.warmup = val().parse().unwrap(),
                "--seed" => o.seed = val().parse().unwrap(),
                "--max-in-flight" => {
                    let n: u32 = val().parse().unwrap();
                    o.scheduler.push_str(&format!("max_in_flight = {n}\n"));
                }
                "--rate-per-second" => {
                    let n: u32 = val().parse().unwrap();
                    o.scheduler.push_str(&format!("rate_per_second = {n}\n"));
                }
                "--fanout-all" => o.fanout_all = true,
                // cargo bench passes --bench; ignore it and unknown flags of the harness.
                _ => {}
            }
        }
        assert!(o.messages > 2 * o.warmup + 10, "--messages must exceed 2 × --warmup + 10");
        assert!((1..=80).contains(&o.text_len));
        o
    }
}

// ---------------------------------------------------------------------------------------------
// Line accounting: the simulated serial line's byte counters and a frame-by-frame break-down.

/// Bytes on the line by frame kind, one direction.
#[derive(Debug, Clone, Default)]
struct Kinds {
    /// kind name → (frames, wire bytes).
    by_kind: BTreeMap<&'static str, (u64, u64)>,
    /// Message text bytes inside DisplayMessage requests (host → ESI only).
    text: u64,
    display_messages: u64,
}

impl Kinds {
    fn add(&mut self, kind: &'static str, wire: u64) {
        let e = self.by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += wire;
    }

    fn minus(&self, earlier: &Self) -> Self {
        let mut by_kind = BTreeMap::new();
        for (k, (f, b)) in &self.by_kind {
            let (f0, b0) = earlier.by_kind.get(k).copied().unwrap_or_default();
            by_kind.insert(*k, (f - f0, b - b0));
        }
        Self {
            by_kind,
            text: self.text - earlier.text,
            display_messages: self.display_messages - earlier.display_messages,
        }
    }
}

/// Splits one direction into frames and classifies each.
#[derive(Debug, Default)]
struct Classifier {
    frame: Vec<u8>,
    kinds: Kinds,
}

impl Classifier {
    fn feed(&mut self, bytes: &[u8], to_node: bool) {
        for &b in bytes {
            self.frame.push(b);
            if b != 0 {
                continue;
            }
            let frame = std::mem::take(&mut self.frame);
            let wire = frame.len() as u64;
            if frame.len() == 1 {
                // A lone delimiter (before a Hello): framing.
                self.kinds.add("delimiter", 1);
                continue;
            }
            let mut d = Deframer::default();
            let kind = if to_node {
                match d.feed::<Request>(&frame).pop() {
                    Some(Packet::Data { msg, .. }) => {
                        if let Command::DisplayMessage(m) = &msg.command {
                            self.kinds.text += m.message.len() as u64;
                            self.kinds.display_messages += 1;
                        }
                        command_name(&msg.command)
                    }
                    Some(p) => packet_name(&p),
                    None => "damaged",
                }
            } else {
                match d.feed::<Report>(&frame).pop() {
                    Some(Packet::Data { msg, .. }) => report_name(&msg),
                    Some(Packet::Datagram(msg)) => match msg {
                        Report::Heartbeat(_) => "datagram Heartbeat",
                        _ => "datagram other",
                    },
                    Some(p) => packet_name(&p),
                    None => "damaged",
                }
            };
            self.kinds.add(kind, wire);
        }
    }
}

fn packet_name<M>(p: &Packet<M>) -> &'static str {
    match p {
        Packet::Hello(_) => "Hello",
        Packet::HelloReply { .. } => "HelloReply",
        Packet::Refuse(_) => "Refuse",
        Packet::Data { .. } => "Data",
        Packet::Ack { .. } => "Ack",
        Packet::Datagram(_) => "Datagram",
        Packet::Error(_) => "Error",
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::DisplayMessage(_) => "Data DisplayMessage",
        Command::ListDevices => "Data ListDevices",
        Command::GetStatus => "Data GetStatus",
        Command::ReadMeter(_) => "Data ReadMeter",
        Command::SetTime(_) => "Data SetTime",
        Command::AddDevice(_) => "Data AddDevice",
        _ => "Data other request",
    }
}

fn report_name(r: &Report) -> &'static str {
    match r {
        Report::Result(_) => "Data Result",
        Report::DeliveryResult(_) => "Data DeliveryResult",
        Report::DeviceList(_) => "Data DeviceList",
        Report::DeviceEvent(_) => "Data DeviceEvent",
        Report::MeterReading(_) => "Data MeterReading",
        Report::PowerSwitchStatus(_) => "Data PowerSwitchStatus",
        Report::Heartbeat(_) => "Data Heartbeat",
        _ => "Data other report",
    }
}

/// A snapshot of the line.
#[derive(Debug, Clone, Default)]
struct LineSample {
    to_node: u64,
    to_host: u64,
    kinds_to_node: Kinds,
    kinds_to_host: Kinds,
}

#[derive(Debug, Default)]
struct Shared {
    /// (when, bytes to node, bytes to host) after every step of the loop.
    samples: Vec<(Instant, u64, u64)>,
    up: Classifier,
    down: Classifier,
}

impl Shared {
    fn snapshot(&self) -> LineSample {
        let (to_node, to_host) = self.samples.last().map_or((0, 0), |s| (s.1, s.2));
        LineSample {
            to_node,
            to_host,
            kinds_to_node: self.up.kinds.clone(),
            kinds_to_host: self.down.kinds.clone(),
        }
    }

    /// Line counters at the last sample at or before `t`.
    fn at(&self, t: Instant) -> (u64, u64) {
        let i = self.samples.partition_point(|s| s.0 <= t);
        self.samples.get(i.saturating_sub(1)).map_or((0, 0), |s| (s.1, s.2))
    }
}

// ---------------------------------------------------------------------------------------------
// The simulator, driven in real time by this file (as `esi_sim::realtime::Realtime` does, plus
// sampling of the line counters and classification of every byte crossing the pty).

type ControlReq = (String, std_mpsc::Sender<String>);

struct SimThread {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    control: std_mpsc::Sender<ControlReq>,
    shared: Arc<Mutex<Shared>>,
    link: PathBuf,
    devices: Vec<DeviceSpec>,
}

impl SimThread {
    fn start(dir: &Path, cfg: SimConfig) -> Self {
        let devices = cfg.devices.clone();
        let link = dir.join("esi0");
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (ctl_tx, ctl_rx) = std_mpsc::channel::<ControlReq>();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (stop2, shared2, link2) = (stop.clone(), shared.clone(), link.clone());
        let thread = std::thread::spawn(move || {
            let mut sim = Sim::new(cfg).unwrap();
            let mut port = PtyPort::open(Some(&link2)).unwrap();
            ready_tx.send(()).unwrap();
            let start_wall = Instant::now();
            let start_virtual = sim.now;
            while !stop2.load(Ordering::Relaxed) {
                let target = start_virtual + start_wall.elapsed().as_millis() as u64;
                let input = port.read();
                if !input.is_empty() {
                    sim.host_input(0, &input);
                }
                while let Ok((line, reply)) = ctl_rx.try_recv() {
                    let _ = reply.send(handle_line(&mut sim, &line));
                }
                if let Err(v) = sim.advance_to(target) {
                    panic!("simulator invariant violated: {v:?}");
                }
                let out = sim.take_host_output(0);
                if !out.is_empty() {
                    port.write(&out);
                }
                {
                    let c = sim.esis[0].line.counters;
                    let mut s = shared2.lock().unwrap();
                    s.up.feed(&input, true);
                    s.down.feed(&out, false);
                    s.samples.push((Instant::now(), c.bytes_to_node, c.bytes_to_host));
                }
                assert!(sim.take_port_events().is_empty(), "no unplug in this benchmark");
                let wait_virtual =
                    sim.next_event().map_or(2.0, |t| t.saturating_sub(target) as f64);
                let wait = wait_virtual.clamp(0.2, 2.0);
                std::thread::sleep(Duration::from_secs_f64(wait / 1000.0));
            }
        });
        ready_rx.recv().unwrap();
        Self { stop, thread: Some(thread), control: ctl_tx, shared, link, devices }
    }

    fn control(&self, line: &str) -> String {
        let (tx, rx) = std_mpsc::channel();
        self.control.send((line.to_owned(), tx)).unwrap();
        let answer = rx.recv().unwrap();
        assert!(answer.starts_with("ok"), "sim refused {line:?}: {answer}");
        answer
    }

    fn snapshot(&self) -> LineSample {
        self.shared.lock().unwrap().snapshot()
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting

struct Window {
    name: &'static str,
    secs: f64,
    messages: usize,
    to_node: u64,
    to_host: u64,
    kinds_to_node: Kinds,
    kinds_to_host: Kinds,
}

impl Window {
    fn print(&self) {
        let cap = f64::from(BAUD) / 10.0;
        let up = self.to_node as f64 / self.secs;
        let down = self.to_host as f64 / self.secs;
        let busier = up.max(down);
        println!("--- {} ---", self.name);
        println!(
            "window: {:.3} s, {} messages delivered → (a) {:.1} messages/s",
            self.secs,
            self.messages,
            self.messages as f64 / self.secs
        );
        println!(
            "(b) host → ESI {up:.0} B/s ({} B), ESI → host {down:.0} B/s ({} B)",
            self.to_node, self.to_host
        );
        println!(
            "(c) capacity {cap:.0} B/s per direction: host → ESI {:.1} %, ESI → host {:.1} %, busier direction {:.1} %",
            100.0 * up / cap,
            100.0 * down / cap,
            100.0 * busier / cap
        );
        let k = &self.kinds_to_node;
        let up_classified: u64 = k.by_kind.values().map(|v| v.1).sum();
        println!(
            "(d) message text {} B in {} DisplayMessage frames = {:.1} % of host → ESI bytes \
             ({:.1} B/s of text; {:.1} % of the direction's capacity)",
            k.text,
            k.display_messages,
            100.0 * k.text as f64 / self.to_node.max(1) as f64,
            k.text as f64 / self.secs,
            100.0 * k.text as f64 / self.secs / cap
        );
        println!("    frames host → ESI (classified {up_classified} B):");
        for (name, (f, b)) in &k.by_kind {
            if *f > 0 {
                println!(
                    "      {name:<26} {f:>6} frames {b:>8} B  {:>6.1} B/frame  {:>5.1} %",
                    *b as f64 / *f as f64,
                    100.0 * *b as f64 / self.to_node.max(1) as f64
                );
            }
        }
        println!("    frames ESI → host:");
        for (name, (f, b)) in &self.kinds_to_host.by_kind {
            if *f > 0 {
                println!(
                    "      {name:<26} {f:>6} frames {b:>8} B  {:>6.1} B/frame  {:>5.1} %",
                    *b as f64 / *f as f64,
                    100.0 * *b as f64 / self.to_host.max(1) as f64
                );
            }
        }
    }

    fn busier_fraction(&self) -> f64 {
        let cap = f64::from(BAUD) / 10.0;
        (self.to_node.max(self.to_host) as f64 / self.secs) / cap
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway run

fn esi_id() -> String {
    "10443720000000000".into()
}

fn config(dir: &Path, link: &Path, scheduler: &str) -> Config {
    let text = format!(
        "gateway_id = \"gw-bench\"\ndata_dir = \"{}\"\n\
         [[coordinator]]\nport = \"{}\"\nesi_id = \"{}\"\nmeter_number = \"M0\"\nbaud = {BAUD}\n\
         [messages]\nmax_text_length = 80\n\
         [link]\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\n\
         [scheduler]\n{scheduler}\
         [ctl]\nsocket = \"{}\"\n",
        dir.join("data").display(),
        link.display(),
        esi_id(),
        dir.join("ctl.sock").display()
    );
    Config::parse(&text).unwrap()
}

fn tdsp() -> Caller {
    Caller::new("bench", GwRole::Tdsp)
}

fn text_of(i: usize, len: usize) -> String {
    let head = format!("Msg {i:05} ");
    let mut t: String = head.chars().chain(std::iter::repeat('x')).take(len).collect();
    t.truncate(len);
    t
}

async fn wait_online(gw: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !gw.health().all().iter().all(|h| h.link == gateway::coordinator::LinkStatus::Online) {
        assert!(Instant::now() < deadline, "coordinator not online");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pair(gw: &Gateway, sim: &SimThread, i: usize) {
    let mut rx = gw.subscribe();
    let d = &sim.devices[i];
    let eui = format!("{:016x}", d.eui64.0);
    let code: String = d.install_code.iter().map(|b| format!("{b:02X}")).collect();
    let p = Provision {
        esi_id: esi_id(),
        meter_number: "M0".into(),
        eui64: eui.clone(),
        install_code: code,
        label: format!("display {}", i + 1),
        join_window_minutes: Some(60),
    };
    gw.provision(&tdsp(), p).await.unwrap();
    sim.control(&format!("device {} rejoin", i + 1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::Device(e))) if e.eui64 == eui && e.state == "paired" => return,
            Ok(_) => {}
            Err(e) => panic!("display {} did not pair: {e}", i + 1),
        }
    }
}

async fn gateway_run(o: &Opts, dir: &Path, sim: &SimThread) -> Pending {
    let daemon = Daemon::start(config(dir, &sim.link, &o.scheduler)).await.unwrap();
    let gw = daemon.gateway().clone();
    wait_online(&gw).await;
    let t0 = Instant::now();
    for i in 0..o.devices {
        pair(&gw, sim, i).await;
    }
    eprintln!("{} displays paired in {:.1} s", o.devices, t0.elapsed().as_secs_f64());
    // Let the resync and first polls settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let euis: Vec<String> = sim.devices.iter().map(|d| format!("{:016x}", d.eui64.0)).collect();
    let mut rx = gw.subscribe();
    let before = sim.snapshot();
    let submit_start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..o.messages {
        let gw = gw.clone();
        let m = SendMessage {
            targets: Targets {
                esi_ids: vec![esi_id()],
                devices: (!o.fanout_all).then(|| vec![euis[i % o.devices].clone()]),
                ..Targets::default()
            },
            priority: Some(o.priority.clone()),
            text: text_of(i, o.text_len),
            duration_minutes: Some(60),
            ..SendMessage::default()
        };
        tasks.push(tokio::spawn(async move { gw.send_message(&tdsp(), m).await }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap().unwrap().request_id);
    }
    let submitted = submit_start.elapsed();
    eprintln!("{} messages accepted in {:.3} s", o.messages, submitted.as_secs_f64());
    // Delivery times of every request, from the event stream.
    let mut done: Vec<Instant> = Vec::new();
    let mut failed = 0usize;
    let mut seen = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    // One delivery per message, or one per display with --fanout-all (counted per delivery).
    let expected = if o.fanout_all { o.messages * o.devices } else { o.messages };
    while done.len() + failed < expected {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::Delivery(d))) if ids.contains(&d.request_id) => {
                let fin = matches!(
                    d.state.as_str(),
                    "delivered"
                        | "confirmed"
                        | "failed"
                        | "undeliverable"
                        | "expired"
                        | "cancelled"
                );
                if fin && seen.insert(d.delivery_id) {
                    if d.state == "delivered" {
                        done.push(Instant::now());
                    } else {
                        failed += 1;
                        eprintln!("request {} ended {}: {:?}", d.request_id, d.state, d.error);
                    }
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                panic!("event stream lagged by {n}: results unknown")
            }
            Ok(Err(e)) => panic!("event stream closed: {e}"),
            Err(e) => panic!("{e}: {} delivered, {failed} failed", done.len()),
        }
    }
    let after = sim.snapshot();
    let total = submit_start.elapsed().as_secs_f64();
    eprintln!(
        "all {} ended in {total:.2} s ({} delivered, {failed} not); whole run: {:.1} messages/s, \
         host → ESI {} B, ESI → host {} B",
        o.messages,
        done.len(),
        done.len() as f64 / total,
        after.to_node - before.to_node,
        after.to_host - before.to_host
    );
    daemon.shutdown().await;

    let (a, b) = (done[o.warmup], done[done.len() - 1 - o.warmup]);
    ("gateway end to end (steady state)", a, b, done.len() - 1 - 2 * o.warmup)
}

/// Counters of `sim` between instants `a` and `b` (frame kinds: recomputed from the whole run
/// proportionally is not possible, so the break-down covers the same window by re-sampling).
fn window_between(
    sim: &SimThread,
    name: &'static str,
    a: Instant,
    b: Instant,
    messages: usize,
) -> Window {
    let s = sim.shared.lock().unwrap();
    let (n0, h0) = s.at(a);
    let (n1, h1) = s.at(b);
    drop(s);
    let ka = KINDS_AT.with(|k| k.borrow().iter().rev().find(|x| x.0 <= a).map(|x| x.1.clone()));
    let kb = KINDS_AT.with(|k| k.borrow().iter().rev().find(|x| x.0 <= b).map(|x| x.1.clone()));
    let (ka, kb) = (ka.unwrap_or_default(), kb.unwrap_or_default());
    Window {
        name,
        secs: (b - a).as_secs_f64(),
        messages,
        to_node: n1 - n0,
        to_host: h1 - h0,
        kinds_to_node: kb.0.minus(&ka.0),
        kinds_to_host: kb.1.minus(&ka.1),
    }
}

thread_local! {
    /// Frame-kind snapshots taken by the sampler task (when, (to node, to host)).
    static KINDS_AT: std::cell::RefCell<Vec<(Instant, (Kinds, Kinds))>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn main() {
    let o = Opts::parse();
    println!("e2e_throughput: {o:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = SimConfig::new(o.seed, 1, o.devices);
    cfg.baud = BAUD;
    cfg.devices = (0..o.devices).map(|i| default_device(o.seed, i, DeviceKind::Ihd, 0)).collect();
    for d in &mut cfg.devices {
        d.auto_join = false;
    }
    let sim = SimThread::start(dir.path(), cfg);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // A sampler of frame kinds every 10 ms, on this thread between runs (the classifier lives
    // with the simulator; snapshots are cheap clones).
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let shared = sim.shared.clone();
    let stop2 = stop_sampler.clone();
    let sampler = std::thread::spawn(move || {
        let mut out = Vec::new();
        while !stop2.load(Ordering::Relaxed) {
            let s = shared.lock().unwrap().snapshot();
            out.push((Instant::now(), (s.kinds_to_node, s.kinds_to_host)));
            std::thread::sleep(Duration::from_millis(10));
        }
        out
    });
    let take_kinds = |sampler: std::thread::JoinHandle<Vec<(Instant, (Kinds, Kinds))>>| {
        let v = sampler.join().unwrap();
        KINDS_AT.with(|k| *k.borrow_mut() = v);
    };

    let gw_result = rt.block_on(async {
        let w = gateway_run(&o, dir.path(), &sim).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        w
    });
    let base_result = rt.block_on(baseline(&o, &sim));
    stop_sampler.store(true, Ordering::Relaxed);
    take_kinds(sampler);
    let gw = finish(&sim, gw_result);
    let base = finish(&sim, base_result);
    gw.print();
    base.print();
    println!(
        "=> busier direction: gateway {:.1} % vs bare link endpoint {:.1} % of {} B/s (ratio {:.2}); \
         delivered {:.1} vs {:.1} messages/s",
        100.0 * gw.busier_fraction(),
        100.0 * base.busier_fraction(),
        BAUD / 10,
        gw.busier_fraction() / base.busier_fraction(),
        gw.messages as f64 / gw.secs,
        base.messages as f64 / base.secs
    );
    drop(sim);
}

/// What a run hands back before the frame-kind snapshots are collected.
type Pending = (&'static str, Instant, Instant, usize);

fn finish(sim: &SimThread, p: Pending) -> Window {
    window_between(sim, p.0, p.1, p.2, p.3)
}

// ---------------------------------------------------------------------------------------------
// Baseline: a bare host endpoint on the same pty.

async fn baseline(o: &Opts, sim: &SimThread) -> Pending {
    let port = tokio_serial::new(sim.link.to_string_lossy(), BAUD).open_native_async().unwrap();
    let (mut rd, mut wr) = tokio::io::split(port);
    let clock = Clock::new();
    let node = NodeInfo {
        role: Role::Host,
        software: SoftwareVersion { major: 0, minor: 0, patch: 1 },
        esi_eui64: LinkEui(0),
        slot_capacity: 0,
    };
    let mut ep = HostEndpoint::new(LinkConfig::new(node, 0x5EED_0001));
    let euis: Vec<LinkEui> = sim.devices.iter().map(|d| LinkEui(d.eui64.0)).collect();
    let mut rbuf = vec![0u8; 1024];
    let mut tbuf = vec![0u8; MAX_WIRE_LEN];
    let mut connected = false;
    let mut next = 0usize;
    let mut done: Vec<Instant> = Vec::new();
    let mut other = BTreeMap::<String, usize>::new();
    let base_id = 1_000_000u32;
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut refused = 0usize;
    while done.len() + refused < o.baseline_messages {
        assert!(Instant::now() < deadline, "baseline timed out");
        while connected && next < o.baseline_messages {
            let mut targets = heapless::Vec::new();
            let _ = targets.push(euis[next % euis.len()]);
            let text = text_of(next, o.text_len);
            let cmd = Command::DisplayMessage(DisplayMessage {
                message_id: base_id + next as u32,
                message_control: 0,
                start_time: 0,
                duration_in_minutes: 60,
                message: text.as_str().try_into().unwrap(),
                targets: LinkTargets::Devices(targets),
            });
            let req = Request { request_id: base_id + next as u32, command: cmd };
            match ep.send(clock.now_ms(), &req) {
                Ok(_) => next += 1,
                Err(LinkError::WindowFull | LinkError::NotConnected) => break,
                Err(e) => panic!("send: {e:?}"),
            }
        }
        while let Some(n) = ep.poll_transmit(&mut tbuf) {
            wr.write_all(&tbuf[..n]).await.unwrap();
        }
        let wake = clock.until(ep.poll_timeout()).unwrap_or(Duration::from_millis(100));
        tokio::select! {
            r = rd.read(&mut rbuf) => {
                let n = r.unwrap();
                ep.handle_bytes(clock.now_ms(), &rbuf[..n]);
            }
            () = tokio::time::sleep(wake) => ep.handle_timeout(clock.now_ms()),
        }
        while let Some(ev) = ep.poll_event() {
            match ev {
                LinkEvent::Connected(_) => connected = true,
                LinkEvent::Disconnected => connected = false,
                LinkEvent::Received(Report::DeliveryResult(d)) if d.request_id >= base_id => {
                    done.push(Instant::now());
                }
                LinkEvent::Received(Report::Result(r)) if r.request_id >= base_id => {
                    if r.code != firmware::host_link::ResultCode::SUCCESS {
                        refused += 1;
                        *other.entry(format!("{:?}", r.code)).or_default() += 1;
                    }
                }
                LinkEvent::Failed { seq, reason } => panic!("frame {seq:?} failed: {reason:?}"),
                _ => {}
            }
        }
    }
    if !other.is_empty() {
        eprintln!("baseline: results other than SUCCESS: {other:?}");
    }
    // BUSY answers end requests without a DeliveryResult: shrink the warm-up if few arrived.
    let n = done.len();
    assert!(n >= 2, "baseline: fewer than 2 messages delivered");
    let w = o.warmup.min((n - 2) / 2);
    ("baseline: bare host LinkEndpoint, same pty", done[w], done[n - 1 - w], n - 1 - 2 * w)
}
