//! `esi-sim`: simulated ESIs and HAN devices behind pseudo-terminals. See `docs/esi-sim.md`.
//!
//! ```text
//! esi-sim --esis 2 --devices 5 --seed 1                 # prints pty paths and network keys
//! esi-sim --link /tmp/esi{n} --pcap han.pcap            # stable paths, capture of the radio
//! esi-sim --scenario lab.toml --headless --duration 1h  # no gateway: built-in host, fast
//! ```

use clap::Parser;
use esi_sim::command::{parse_duration, parse_line, Line};
use esi_sim::control::Control;
use esi_sim::faults::FaultPlan;
use esi_sim::pcap::Capture;
use esi_sim::realtime::Realtime;
use esi_sim::scenario::Scenario;
use esi_sim::{Sim, SimConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Parser)]
#[command(
    name = "esi-sim",
    version,
    about = "ESI simulator: firmware core + simulated meter and HAN devices behind a pty"
)]
struct Args {
    /// Number of ESIs (each gets its own pty and PAN).
    #[arg(long)]
    esis: Option<usize>,
    /// Number of HAN devices (IHD, PCT, LCS in turn, spread over the ESIs).
    #[arg(long)]
    devices: Option<usize>,
    /// Seed for every random choice (printed; rerun with it to replay). Default: 1.
    #[arg(long)]
    seed: Option<u64>,
    /// Device slots per ESI: 5, 8, 10 or 16.
    #[arg(long)]
    slots: Option<u8>,
    /// What each pty speaks: `firmware` (the host-link protocol of the firmware coordinator,
    /// default) or `ezsp` (an emulated Silicon Labs NCP: EZSP over ASH, docs/ezsp.md).
    #[arg(long, default_value = "firmware", value_name = "KIND")]
    ncp: String,
    /// Highest EZSP protocol version the emulated NCP speaks (8..=13) with `--ncp ezsp`.
    #[arg(long, default_value_t = 13, value_name = "V")]
    ezsp_version: u8,
    /// Serial bit rate; bytes are paced at baud/10 per second.
    #[arg(long)]
    baud: Option<u32>,
    /// Symlink to each ESI's pty (repeat per ESI, or use `{n}` for the ESI number).
    #[arg(long = "link", value_name = "PATH")]
    links: Vec<String>,
    /// Write all radio traffic to this pcap file (802.15.4, link type 230).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Also APS-encrypt SE frames in the capture with each device's install-code link key (as
    /// on the air); prints the link keys Wireshark then needs besides the network key.
    #[arg(long)]
    pcap_link_keys: bool,
    /// Scenario file (TOML): simulation, devices, faults, timed actions.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Fault-plan file (TOML): [faults.*] tables and [[at]] entries.
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    /// Radio frame loss probability.
    #[arg(long)]
    loss: Option<f64>,
    /// Radio frame corruption probability.
    #[arg(long)]
    corruption: Option<f64>,
    /// Probability that a radio frame is delayed (by up to --delay-max).
    #[arg(long)]
    delay: Option<f64>,
    /// Longest extra radio delay, e.g. 200ms.
    #[arg(long, value_name = "DURATION")]
    delay_max: Option<String>,
    /// Serial byte drop probability.
    #[arg(long)]
    serial_drop: Option<f64>,
    /// Serial byte corruption probability.
    #[arg(long)]
    serial_corruption: Option<f64>,
    /// A timed action, e.g. "power fail at 30s" or "ihd 1 confirm at 2m" (repeatable).
    #[arg(long = "at", value_name = "ACTION")]
    at: Vec<String>,
    /// Device N (from 1) holds a key that differs from its label (repeatable).
    #[arg(long = "wrong-key", value_name = "N")]
    wrong_key: Vec<usize>,
    /// Displays confirm messages this long after showing them, e.g. 20s.
    #[arg(long, value_name = "DURATION")]
    confirm_after: Option<String>,
    /// Virtual time runs this many times faster than real time.
    #[arg(long)]
    speed: Option<f64>,
    /// Stop after this much virtual time, e.g. 10m (headless default: 10m).
    #[arg(long, value_name = "DURATION")]
    duration: Option<String>,
    /// No pty: a built-in host sets the time and provisions every device; runs as fast as it
    /// can and prints the host transcript.
    #[arg(long)]
    headless: bool,
    /// Control channel: `stdin`, `none`, or a unix socket path.
    #[arg(long, default_value = "stdin")]
    control: String,
    /// Log filter (tracing), e.g. `info` or `esi_sim=debug`.
    #[arg(long, default_value = "warn")]
    log: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("esi-sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn duration_flag(name: &str, v: Option<&String>) -> Result<Option<u64>, String> {
    v.map(|s| parse_duration(s).map_err(|e| format!("--{name}: {e}"))).transpose()
}

fn config(args: &Args) -> Result<(SimConfig, Option<u64>, Option<f64>), String> {
    let mut files = Vec::new();
    for path in [&args.scenario, &args.faults].into_iter().flatten() {
        files.push(Scenario::load(path).map_err(|e| e.to_string())?);
    }
    let seed = args.seed.or(files.iter().find_map(|s| s.seed)).unwrap_or(1);
    let esis = args.esis.or(files.iter().find_map(|s| s.esis)).unwrap_or(1);
    let n = args.devices.or(files.iter().find_map(|s| s.device_count)).unwrap_or(3);
    let mut cfg = SimConfig::new(seed, esis, n);
    let mut duration = None;
    let mut speed = None;
    for s in &files {
        if let (Some(d), None) = (&s.devices, args.devices) {
            cfg.devices.clone_from(d);
        }
        cfg.slots = s.slots.unwrap_or(cfg.slots);
        cfg.baud = s.baud.unwrap_or(cfg.baud);
        let plan = &s.faults;
        if plan.radio != esi_sim::faults::RadioFaults::default() {
            cfg.faults.radio = plan.radio;
        }
        if plan.serial != esi_sim::faults::SerialFaults::default() {
            cfg.faults.serial = plan.serial;
        }
        if plan.random != esi_sim::faults::RandomFaults::default() {
            cfg.faults.random = plan.random;
        }
        cfg.faults.schedule.extend(plan.schedule.iter().copied());
        duration = s.duration_ms.or(duration);
        speed = s.speed.or(speed);
    }
    if let Some(s) = args.slots {
        cfg.slots = s;
    }
    cfg.node = match args.ncp.as_str() {
        "firmware" => esi_sim::node::NodeKind::Firmware,
        "ezsp" if (8..=13).contains(&args.ezsp_version) => {
            esi_sim::node::NodeKind::Ezsp { max_version: args.ezsp_version }
        }
        "ezsp" => return Err(format!("--ezsp-version {}: must be 8..=13", args.ezsp_version)),
        other => return Err(format!("--ncp {other}: must be `firmware` or `ezsp`")),
    };
    if args.headless && cfg.node != esi_sim::node::NodeKind::Firmware {
        return Err(
            "--headless needs --ncp firmware (the built-in host speaks the host link)".into()
        );
    }
    if let Some(b) = args.baud {
        cfg.baud = b;
    }
    let f: &mut FaultPlan = &mut cfg.faults;
    f.radio.loss = args.loss.unwrap_or(f.radio.loss);
    f.radio.corruption = args.corruption.unwrap_or(f.radio.corruption);
    f.radio.delay_probability = args.delay.unwrap_or(f.radio.delay_probability);
    if let Some(ms) = duration_flag("delay-max", args.delay_max.as_ref())? {
        f.radio.delay_max_ms = ms;
    }
    if f.radio.delay_probability > 0.0 && f.radio.delay_max_ms == 0 {
        f.radio.delay_max_ms = 200;
    }
    f.serial.drop = args.serial_drop.unwrap_or(f.serial.drop);
    f.serial.corruption = args.serial_corruption.unwrap_or(f.serial.corruption);
    for (i, text) in args.at.iter().enumerate() {
        match parse_line(text) {
            Ok(Line::Action { action, at: Some(t) }) => f.schedule.push((t, action)),
            Ok(Line::Action { at: None, .. }) => {
                return Err(format!(
                    "--at #{} {text:?}: needs `at TIME`, e.g. \"power fail at 30s\"",
                    i + 1
                ))
            }
            Ok(Line::Query(_)) => return Err(format!("--at #{} {text:?}: not an action", i + 1)),
            Err(e) => return Err(format!("--at #{} {text:?}: {e}", i + 1)),
        }
    }
    f.validate().map_err(|e| format!("fault plan: {e}"))?;
    for &n in &args.wrong_key {
        let d = cfg.devices.get_mut(n.wrapping_sub(1)).ok_or_else(|| {
            format!("--wrong-key {n}: there is no device {n} (devices count from 1)")
        })?;
        d.wrong_key = true;
    }
    if let Some(ms) = duration_flag("confirm-after", args.confirm_after.as_ref())? {
        for d in &mut cfg.devices {
            d.confirm_after_ms = Some(ms);
        }
    }
    if let Some(d) = duration_flag("duration", args.duration.as_ref())? {
        duration = Some(d);
    }
    if let Some(s) = args.speed {
        if !(s.is_finite() && s > 0.0) {
            return Err(format!("--speed {s}: must be > 0"));
        }
        speed = Some(s);
    }
    cfg.validate()?;
    Ok((cfg, duration, speed))
}

fn links(args: &Args, esis: usize) -> Result<Vec<Option<PathBuf>>, String> {
    match args.links.as_slice() {
        [] => Ok(vec![None; esis]),
        [one] if one.contains("{n}") => {
            Ok((0..esis).map(|i| Some(PathBuf::from(one.replace("{n}", &i.to_string())))).collect())
        }
        [one] if esis == 1 => Ok(vec![Some(PathBuf::from(one))]),
        many if many.len() == esis => Ok(many.iter().map(|l| Some(PathBuf::from(l))).collect()),
        many => Err(format!(
            "--link given {} times for {esis} ESIs: give one per ESI, or one with {{n}}",
            many.len()
        )),
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02X}");
        s
    })
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let (mut cfg, duration, speed) = config(args)?;
    cfg.in_process_hosts = args.headless;
    let mut sim = Sim::new(cfg.clone())?;
    if let Some(path) = &args.pcap {
        let mut cap = Capture::create(path, cfg.epoch_unix_ms, sim.pan_keys())
            .map_err(|e| format!("--pcap {}: {e}", path.display()))?;
        if args.pcap_link_keys {
            let keys: std::collections::BTreeMap<_, _> =
                cfg.devices.iter().filter_map(|d| Some((d.eui64, d.label_link_key()?))).collect();
            for (eui, k) in &keys {
                println!("link key {eui}: {}", hex(k.as_bytes()));
            }
            cap = cap.with_link_keys(keys);
        }
        sim.medium.set_capture(cap);
    }
    println!(
        "esi-sim seed {}: {} ESI(s), {} device(s), {} slots, {} baud",
        cfg.seed,
        cfg.esis,
        cfg.devices.len(),
        cfg.slots,
        cfg.baud
    );
    if args.headless {
        return headless(sim, duration.unwrap_or(600_000), args);
    }
    let control = match args.control.as_str() {
        "stdin" => Some(Control::stdin()),
        "none" => None,
        path => Some(
            Control::unix_socket(std::path::Path::new(path))
                .map_err(|e| format!("--control {path}: {e}"))?,
        ),
    };
    let links = links(args, cfg.esis)?;
    let mut rt = Realtime::new(sim, links, control, speed.unwrap_or(1.0))
        .map_err(|e| format!("pty: {e}"))?;
    for (i, ((path, link), e)) in rt.port_paths().into_iter().zip(&rt.sim.esis).enumerate() {
        let link = link.map(|l| format!(" (link {})", l.display())).unwrap_or_default();
        let kind = match cfg.node {
            esi_sim::node::NodeKind::Firmware => String::new(),
            esi_sim::node::NodeKind::Ezsp { max_version } => {
                format!(" (EZSP NCP, ASH, protocol 8..={max_version})")
            }
        };
        println!(
            "esi {i}: {}{link}{kind} eui64 {} pan 0x{:04X} network key {}",
            path.display(),
            e.radio.eui64,
            e.radio.pan_id,
            hex(&e.radio.network_key)
        );
    }
    print!("{}", rt.sim.devices_text());
    if let Some(p) = &args.pcap {
        println!("capturing radio traffic to {}", p.display());
    }
    if args.control != "none" {
        println!("control: `help` lists the commands");
    }
    let stop = AtomicBool::new(false);
    match rt.run(duration, &stop) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(v) => {
            eprintln!("{v}");
            Ok(ExitCode::from(1))
        }
    }
}

fn headless(mut sim: Sim, duration: u64, args: &Args) -> Result<ExitCode, String> {
    for (i, e) in sim.esis.iter().enumerate() {
        println!(
            "esi {i}: eui64 {} pan 0x{:04X} network key {}",
            e.radio.eui64,
            e.radio.pan_id,
            hex(&e.radio.network_key)
        );
    }
    sim.bootstrap_hosts();
    let result = sim.run_for(duration);
    if let Some(c) = sim.medium.capture_mut() {
        c.flush().map_err(|e| format!("pcap: {e}"))?;
    }
    for (i, e) in sim.esis.iter().enumerate() {
        if let Some(h) = &e.host {
            println!("--- esi {i} host transcript ---");
            print!("{}", h.transcript_text());
        }
    }
    println!("--- devices ---");
    print!("{}", sim.devices_text());
    print!("{}", sim.status_text());
    if let Some(p) = &args.pcap {
        println!("capture: {} ({} frames)", p.display(), sim.medium.counters.transmitted);
    }
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(v) => {
            eprintln!("{v}");
            Ok(ExitCode::from(1))
        }
    }
}
