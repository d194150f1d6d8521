//! `hil`: runs named scenarios against a real coordinator or the simulator. See the crate docs.
//!
//! ```text
//! hil --sim --report out/ --junit out/hil.xml      # every scenario against esi-sim
//! hil --sim --ncp ezsp                              # … with esi-sim as an EZSP NCP
//! hil --port /dev/ttyACM0 --scenario meter-read    # one scenario on a real coordinator
//! hil --list
//! ```
//!
//! Exit codes: 0 every scenario passed or was skipped; 1 a scenario failed or the set-up did
//! (port not there, gateway not online); 2 bad usage (unknown scenario, bad flags).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hil::gwproc::Ncp;
use hil::report::Report;
use hil::runner::{self, Options, Target};
use hil::scenarios::{self, SCENARIOS};

#[derive(Debug, Parser)]
#[command(name = "hil", version, about = "Hardware-in-the-loop scenarios for the HAN gateway")]
struct Args {
    /// Run against the simulator (spawns `esi-sim`).
    #[arg(long, conflicts_with = "port")]
    sim: bool,
    /// Run against a real coordinator speaking the host-link protocol on this serial port.
    #[arg(long, value_name = "PATH")]
    port: Option<PathBuf>,
    /// Serial bit rate of --port.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// ESI ID the gateway gives the real coordinator.
    #[arg(long, default_value = "10443720000000000")]
    esi_id: String,
    /// Meter number of the real coordinator's meter (grants are checked against it).
    #[arg(long, default_value = "M0")]
    meter_number: String,
    /// Slots per simulated ESI (5, 8, 10, 16).
    #[arg(long, default_value_t = 5)]
    slots: u8,
    /// What the simulated coordinators speak: `host-link` (the firmware coordinator, default)
    /// or `ezsp` (esi-sim's emulated Silicon Labs NCP; the gateway gets `kind = "ezsp"`).
    #[arg(long, value_name = "KIND", default_value = "host-link")]
    ncp: String,
    /// Highest EZSP version the emulated NCP speaks (8..=13), with `--ncp ezsp`.
    #[arg(long, value_name = "V")]
    ezsp_version: Option<u8>,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use this MQTT broker instead of the gateway's embedded one.
    #[arg(long, value_name = "HOST:PORT")]
    broker: Option<String>,
    /// First topic level.
    #[arg(long, default_value = "han")]
    base_topic: String,
    /// Run only this scenario (repeatable); default: all.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write report.md and report.json into this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// The gateway executable (default: next to this one, or $HIL_GATEWAY).
    #[arg(long, value_name = "PATH")]
    gateway: Option<PathBuf>,
    /// The esi-sim executable (default: next to this one, or $HIL_ESI_SIM).
    #[arg(long, value_name = "PATH")]
    esi_sim: Option<PathBuf>,
    /// Keep logs, stores and the simulator's files here.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Seconds the coordinators may take to come online (answer the host-link Hello).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    online_timeout: u64,
    /// Seconds a device may take to pair, or a delivery to arrive, before the scenario fails.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    device_timeout: u64,
}

fn parse_broker(s: &str) -> Result<(String, u16), String> {
    let (h, p) = s.rsplit_once(':').ok_or_else(|| format!("--broker {s}: expected HOST:PORT"))?;
    let port = p.parse().map_err(|_| format!("--broker {s}: `{p}` is not a port number"))?;
    if h.is_empty() {
        return Err(format!("--broker {s}: no host"));
    }
    Ok((h.to_owned(), port))
}

fn write_outputs(args: &Args, report: &Report) -> Result<(), String> {
    if let Some(f) = &args.junit {
        if let Some(dir) = f.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(f, report.to_junit())
            .map_err(|e| format!("--junit {}: {e}", f.display()))?;
    }
    if let Some(d) = &args.report {
        std::fs::create_dir_all(d).map_err(|e| format!("--report {}: {e}", d.display()))?;
        let json = serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
        std::fs::write(d.join("report.json"), json + "\n").map_err(|e| format!("--report: {e}"))?;
        std::fs::write(d.join("report.md"), report.to_markdown())
            .map_err(|e| format!("--report: {e}"))?;
    }
    Ok(())
}

/// The simulated coordinators' kind from `--ncp` and `--ezsp-version`.
fn ncp(args: &Args) -> Result<Ncp, String> {
    match (args.ncp.as_str(), args.ezsp_version) {
        ("host-link" | "firmware", None) => Ok(Ncp::HostLink),
        ("host-link" | "firmware", Some(_)) => Err("--ezsp-version needs --ncp ezsp".into()),
        ("ezsp", None) => Ok(Ncp::Ezsp { version: 13 }),
        ("ezsp", Some(v)) if (8..=13).contains(&v) => Ok(Ncp::Ezsp { version: v }),
        ("ezsp", Some(v)) => Err(format!("--ezsp-version {v}: must be 8..=13")),
        (other, _) => Err(format!("--ncp {other}: must be `host-link` or `ezsp`")),
    }
}

/// The run's options from the command line; `Err` is a usage error.
fn options(args: &Args) -> Result<Options, String> {
    let mut selected = Vec::new();
    for name in &args.scenarios {
        if let Some(s) = scenarios::find(name) {
            selected.push(s);
        } else {
            let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            return Err(format!(
                "unknown scenario `{name}`; known scenarios: {}",
                known.join(", ")
            ));
        }
    }
    // Catalogue order, each once.
    let selected: Vec<_> = if selected.is_empty() {
        SCENARIOS.iter().collect()
    } else {
        SCENARIOS.iter().filter(|s| selected.iter().any(|x| x.name == s.name)).collect()
    };
    let target = match (&args.port, args.sim) {
        (Some(_), false) if ncp(args)? != Ncp::HostLink => {
            return Err(
                "--ncp and --ezsp-version choose what the simulator speaks (--sim); a --port is a host-link coordinator".into(),
            )
        }
        (Some(p), false) => Target::Port {
            path: p.clone(),
            baud: args.baud,
            esi_id: args.esi_id.clone(),
            meter_number: args.meter_number.clone(),
        },
        (None, true) => Target::Sim { slots: args.slots, ncp: ncp(args)? },
        _ => {
            return Err("say what to run against: --sim, or --port /dev/ttyACM0 (see --help)".into())
        }
    };
    let broker = args.broker.as_deref().map(parse_broker).transpose()?;
    Ok(Options {
        target,
        broker,
        base_topic: args.base_topic.clone(),
        scenarios: selected,
        gateway: args.gateway.clone(),
        esi_sim: args.esi_sim.clone(),
        seed: args.seed,
        work_dir: args.work_dir.clone(),
        online_timeout: std::time::Duration::from_secs(args.online_timeout.max(1)),
        device_timeout: std::time::Duration::from_secs(args.device_timeout.max(1)),
    })
}

/// The run, unless Ctrl-C or SIGTERM ends it first (`None`): dropping it kills the gateway and
/// the simulator.
async fn interruptible(opts: &Options) -> Option<Result<hil::report::Report, String>> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = runner::run(opts) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
        () = terminated => None,
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for s in SCENARIOS {
            let sim = s.needs_sim.map_or("", |_| " [sim only]");
            let host_link = s.needs_host_link.map_or("", |_| " [not on --ncp ezsp]");
            println!("{:24} {}{sim}{host_link}", s.name, s.about);
        }
        return ExitCode::SUCCESS;
    }
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hil: {e}");
            return ExitCode::from(2);
        }
    };
    let rt =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("hil: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
    let started = std::time::Instant::now();
    let outcome = rt.block_on(interruptible(&opts));
    let report = match outcome {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            eprintln!("hil: {e}");
            runner::failed_report(&opts, &runner::target_text(&opts), &e, started)
        }
        None => {
            eprintln!("hil: interrupted; the gateway and the simulator were stopped");
            return ExitCode::from(130);
        }
    };
    if let Err(e) = write_outputs(&args, &report) {
        eprintln!("hil: {e}");
        return ExitCode::FAILURE;
    }
    let (p, f, s) = (
        report.count(hil::report::Status::Pass),
        report.count(hil::report::Status::Fail),
        report.count(hil::report::Status::Skip),
    );
    println!("hil: {p} passed, {f} failed, {s} skipped in {:.1} s", report.duration.as_secs_f64());
    if f > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses() {
        assert_eq!(parse_broker("127.0.0.1:1883"), Ok(("127.0.0.1".into(), 1883)));
        assert!(parse_broker("localhost").is_err());
        assert!(parse_broker(":1883").is_err());
        assert!(parse_broker("h:99999").is_err());
    }
}
