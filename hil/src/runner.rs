//! One run: start the simulator (or check the real port), start the gateway with its broker,
//! connect as a portal, run the selected scenarios one after the other, collect the figures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::gwproc::{Broker, Coordinator, GatewayProcess, GatewaySetup, Ncp};
use crate::portal::Portal;
use crate::report::{Figures, Report, ScenarioResult, Status};
use crate::scenarios::{self, Ctx, Esi, Parties, Scenario, SCENARIO_TIMEOUT};
use crate::sim::SimProcess;
use crate::{bins, contract};

/// What the scenarios run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `esi-sim`, one simulated ESI per scenario, each pty speaking `ncp`.
    Sim { slots: u8, ncp: Ncp },
    /// A real coordinator on a serial port.
    Port { path: PathBuf, baud: u32, esi_id: String, meter_number: String },
}

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// An external broker (`None`: the gateway's embedded one).
    pub broker: Option<(String, u16)>,
    pub base_topic: String,
    pub scenarios: Vec<&'static Scenario>,
    pub gateway: Option<PathBuf>,
    pub esi_sim: Option<PathBuf>,
    pub seed: u64,
    /// Keep logs and stores here (default: a temporary directory, removed after a clean run).
    pub work_dir: Option<PathBuf>,
    /// How long the coordinators may take to come online.
    pub online_timeout: Duration,
    /// How long a device may take to answer (see [`Ctx::device_timeout`]).
    pub device_timeout: Duration,
}

impl Options {
    pub fn mode(&self) -> &'static str {
        match self.target {
            Target::Sim { .. } => "sim",
            Target::Port { .. } => "port",
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn unique() -> String {
    let n = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}-{n}", std::process::id())
}

/// A report in which every selected scenario failed for `reason` (set-up failures).
pub fn failed_report(opts: &Options, target: &str, reason: &str, started: Instant) -> Report {
    Report {
        mode: opts.mode().to_owned(),
        target: target.to_owned(),
        broker: broker_text(opts),
        started_unix: unix_now(),
        duration: started.elapsed(),
        results: opts
            .scenarios
            .iter()
            .map(|s| ScenarioResult {
                name: s.name.to_owned(),
                status: Status::Fail,
                reason: Some(format!("set-up failed: {reason}")),
                notes: Vec::new(),
                duration: Duration::ZERO,
            })
            .collect(),
        figures: Figures::default(),
    }
}

fn broker_text(opts: &Options) -> String {
    opts.broker.as_ref().map_or_else(
        || "embedded (in the gateway process)".to_owned(),
        |(h, p)| format!("external {h}:{p}"),
    )
}

/// What the run is against, in words.
pub fn target_text(opts: &Options) -> String {
    match &opts.target {
        Target::Sim { ncp: Ncp::HostLink, .. } => {
            format!("esi-sim, one ESI per scenario, seed {}", opts.seed)
        }
        Target::Sim { ncp: Ncp::Ezsp { version }, .. } => format!(
            "esi-sim --ncp ezsp (EZSP v{version} over ASH, ESI core in the gateway), one ESI per scenario, seed {}",
            opts.seed
        ),
        Target::Port { path, baud, .. } => format!("{} at {baud} baud", path.display()),
    }
}

/// The outcome of one scenario, printed as it ends.
fn print_result(r: &ScenarioResult) {
    let head = format!(
        "{:4} {} ({:.1} s)",
        r.status.as_str().to_uppercase(),
        r.name,
        r.duration.as_secs_f64()
    );
    match &r.reason {
        Some(why) => println!("{head}: {why}"),
        None => println!("{head}"),
    }
    for n in &r.notes {
        println!("       {n}");
    }
}

/// How long the gateway process may take to start, open its broker and say `online`
/// (`--online-timeout` is for the coordinators).
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(30);

/// The simulator (if any), the ESI of each selected scenario, and the gateway's coordinators.
type Plan = (Option<SimProcess>, Vec<Esi>, Vec<Coordinator>);

/// Starts the simulator with one ESI per scenario, or checks the real port.
fn plan(opts: &Options, work: &Path) -> Result<Plan, String> {
    match &opts.target {
        Target::Sim { slots, ncp } => {
            let exe = bins::locate(bins::ESI_SIM, opts.esi_sim.as_deref())?;
            let n = opts.scenarios.len().max(1);
            let wishes = scenarios::sim_devices(&opts.scenarios);
            let sim = SimProcess::start(&exe, work, opts.seed, n, *slots, &wishes, *ncp)?;
            let esis: Vec<Esi> = (0..n).map(Esi::simulated).collect();
            let coordinators = esis
                .iter()
                .zip(&sim.links)
                .map(|(e, l)| Coordinator {
                    port: l.clone(),
                    baud: 115_200,
                    esi_id: e.esi_id.clone(),
                    meter_number: e.meter.clone(),
                    kind: *ncp,
                })
                .collect();
            Ok((Some(sim), esis, coordinators))
        }
        Target::Port { path, baud, esi_id, meter_number } => {
            // Fail early and plainly on a port that is not there or not ours.
            std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| {
                format!(
                    "cannot open {}: {e} (is the coordinator plugged in, and may this user use it — e.g. group dialout?)",
                    path.display()
                )
            })?;
            let esi = Esi { index: 0, esi_id: esi_id.clone(), meter: meter_number.clone() };
            let c = Coordinator {
                port: path.clone(),
                baud: *baud,
                esi_id: esi_id.clone(),
                meter_number: meter_number.clone(),
                kind: Ncp::HostLink,
            };
            Ok((None, vec![esi; opts.scenarios.len()], vec![c]))
        }
    }
}

/// Starts the gateway, connects the portal and waits until every coordinator is online.
async fn start(
    opts: &Options,
    work: &Path,
    sim: Option<SimProcess>,
    esis: &[Esi],
    coordinators: Vec<Coordinator>,
) -> Result<Ctx, String> {
    let gateway_exe = bins::locate(bins::GATEWAY, opts.gateway.as_deref())?;
    let broker = match &opts.broker {
        Some((h, p)) => Broker::External { host: h.clone(), port: *p },
        None => Broker::embedded()?,
    };
    let parties = Parties::new();
    let gateway_id = format!("hil-{}", unique());
    let setup = GatewaySetup {
        gateway_id: gateway_id.clone(),
        base_topic: opts.base_topic.clone(),
        coordinators,
        broker: broker.clone(),
        parties_toml: parties.config_toml(),
    };
    let mut gw = GatewayProcess::start(&gateway_exe, work, &setup)?;
    let (host, port) = broker.address();
    let root = format!("{}/{gateway_id}", opts.base_topic);
    let client_id = format!("hil-portal-{}", unique());
    let filters = [format!("{root}/#")];
    let portal =
        match Portal::connect(&host, port, &client_id, &root, &filters, GATEWAY_TIMEOUT).await {
            Ok(p) => p,
            Err(e) => {
                let alive = gw.check_alive().err().unwrap_or_default();
                return Err(format!("{e} {alive}"));
            }
        };
    let mut ctx = Ctx::new(portal, parties, gw, sim);
    ctx.device_timeout = opts.device_timeout;
    if let Err(e) = wait_gateway_online(&ctx, 0, GATEWAY_TIMEOUT).await {
        return Err(format!("{e}: {}", ctx.gw.log_tail(5)));
    }
    let mut unique_esis = esis.to_vec();
    unique_esis.dedup();
    for e in &unique_esis {
        if let Err(err) = ctx.wait_online(e, 0, opts.online_timeout).await {
            let hint = match &opts.target {
                Target::Port { path, baud, .. } => format!(
                    " — nothing on {} at {baud} baud answered the host-link Hello; is it a coordinator speaking the host-link protocol?",
                    path.display()
                ),
                Target::Sim { .. } => String::new(),
            };
            return Err(format!("{err}{hint} (gateway log: {})", ctx.gw.log_path().display()));
        }
    }
    println!(
        "hil: gateway {gateway_id} online with {} ESI(s) on {}; broker {host}:{port}",
        unique_esis.len(),
        target_text(opts)
    );
    Ok(ctx)
}

/// Waits for the retained `bridge/state` `online` among the messages from `from` on.
async fn wait_gateway_online(ctx: &Ctx, from: usize, timeout: Duration) -> Result<(), String> {
    let state = format!("{}/bridge/state", ctx.portal.root);
    ctx.portal
        .wait_from(from, timeout, "the gateway online", |s| {
            s.topic == state && &s.payload[..] == b"online"
        })
        .await
        .map(|_| ())
}

/// Runs one scenario (or skips it) and checks the processes afterwards.
async fn run_one(opts: &Options, ctx: &mut Ctx, s: &Scenario, esi: &Esi) -> ScenarioResult {
    let t = Instant::now();
    ctx.notes.clear();
    ctx.hold = false;
    let mut outcome = match (&opts.target, s.needs_sim, s.needs_host_link) {
        (Target::Port { .. }, Some(why), _)
        | (Target::Sim { ncp: Ncp::Ezsp { .. }, .. }, _, Some(why)) => {
            Err((Status::Skip, why.to_owned()))
        }
        _ => match tokio::time::timeout(SCENARIO_TIMEOUT, scenarios::run(s.name, ctx, esi)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err((Status::Fail, e)),
            Err(_) => Err((
                Status::Fail,
                format!("did not finish within {}s", SCENARIO_TIMEOUT.as_secs()),
            )),
        },
    };
    // A gateway or simulator that died fails the scenario it died in; the gateway is started
    // again for the next one.
    if let Err(e) = ctx.gw.check_alive() {
        outcome = Err((Status::Fail, e));
        ctx.gw.kill();
        let m = ctx.portal.mark();
        if ctx.gw.spawn().is_ok() {
            let _ = wait_gateway_online(ctx, m, GATEWAY_TIMEOUT).await;
        }
    }
    if let Some(sim) = ctx.sim.as_mut() {
        if let Err(e) = sim.check_alive() {
            outcome = Err((Status::Fail, e));
        }
    }
    let (status, reason) = match outcome {
        Ok(()) => (Status::Pass, None),
        Err((st, why)) => (st, Some(why)),
    };
    ScenarioResult {
        name: s.name.to_owned(),
        status,
        reason,
        notes: std::mem::take(&mut ctx.notes),
        duration: t.elapsed(),
    }
}

/// Name of the result row of the contract check.
pub const CONTRACT: &str = "payload-contract";

/// Every payload seen, checked against the JSON Schemas and for install codes.
fn contract_result(ctx: &Ctx) -> ScenarioResult {
    let t = Instant::now();
    let secrets: Vec<String> = ctx
        .sim
        .as_ref()
        .map(|s| s.devices.iter().map(|d| d.install_code.clone()).collect())
        .unwrap_or_default();
    let c = contract::check(&ctx.portal.seen(), &ctx.portal.root, &secrets);
    let mut notes = vec![format!(
        "{} payloads checked against docs/schemas; no install code on MQTT: {}",
        c.checked,
        !c.violations.iter().any(|v| v.contains("install code"))
    )];
    let (status, reason) = if c.violations.is_empty() {
        (Status::Pass, None)
    } else {
        notes.extend(c.violations.iter().take(20).cloned());
        (Status::Fail, Some(format!("{} contract violation(s)", c.violations.len())))
    };
    ScenarioResult { name: CONTRACT.to_owned(), status, reason, notes, duration: t.elapsed() }
}

/// Runs the scenarios. `Err` only for set-up failures (nothing ran).
pub async fn run(opts: &Options) -> Result<Report, String> {
    let started = Instant::now();
    let started_unix = unix_now();
    bins::locate(bins::GATEWAY, opts.gateway.as_deref())?;
    let (work, temporary) = match &opts.work_dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("hil-{}", unique())), true),
    };
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let (sim, esis, coordinators) = plan(opts, &work)?;
    let mut ctx = start(opts, &work, sim, &esis, coordinators).await?;
    let mut results = Vec::new();
    for (s, esi) in opts.scenarios.iter().zip(&esis) {
        let r = run_one(opts, &mut ctx, s, esi).await;
        print_result(&r);
        results.push(r);
    }
    let figures = ctx.figures().await;
    ctx.gw.kill();
    results.push(contract_result(&ctx));
    if let Some(r) = results.last() {
        print_result(r);
    }
    let failed = results.iter().any(|r| r.status == Status::Fail);
    let log = ctx.gw.log_path().to_path_buf();
    drop(ctx);
    if failed {
        println!("hil: logs kept in {} (gateway log {})", work.display(), log.display());
    } else if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(Report {
        mode: opts.mode().to_owned(),
        target: target_text(opts),
        broker: broker_text(opts),
        started_unix,
        duration: started.elapsed(),
        results,
        figures,
    })
}
