//! The `gateway` command line (clap 4): `run`, `demo`, `config check`, `ctl …` for field teams
//! (talks to the running daemon over its Unix socket, see [`crate::daemon::ctl`]) and
//! `audit verify`. Logs go to stderr as text or JSON lines (`--log-format json`), filtered by
//! `RUST_LOG` (default `info`; `warn` for the demo, whose narration is on stdout).

mod client;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::config::Config;

/// Default ctl socket when neither `--socket` nor `--config` is given.
pub const DEFAULT_SOCKET: &str = "/var/lib/han-gateway/ctl.sock";

#[derive(Debug, Parser)]
#[command(name = "gateway", version, about = "ZigBee Smart Energy HAN gateway")]
pub struct Cli {
    /// Log format on stderr: human-readable text or one JSON object per line (with the span
    /// fields, e.g. a request's `transaction`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Top,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the tracing subscriber (stderr; `RUST_LOG` or `default` as the filter).
pub fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi && format == LogFormat::Text);
    let _ = match format {
        LogFormat::Text => b.with_target(false).try_init(),
        LogFormat::Json => b.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Top {
    /// Run the daemon.
    Run {
        /// Configuration file (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// The whole system on this machine, narrated: embedded broker, ESI simulator, gateway;
    /// provisions devices, sends a price, a message, a DR event, reads a meter, flips power and
    /// the service switch; then stays up for your own MQTT clients until Ctrl-C.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Configuration file tools.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Talk to the running daemon (field operations).
    Ctl(CtlArgs),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCmd),
}

/// `gateway demo` options.
#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop after the scripted steps instead of waiting for Ctrl-C (exit status 0 if every
    /// step succeeded).
    #[arg(long)]
    pub exit_after_script: bool,
    /// MQTT 5 port of the embedded broker (MQTT 3.1.1 on the next port); 0 = any free port.
    /// Default: 18830 if free, else any free port.
    #[arg(long)]
    pub mqtt_port: Option<u16>,
    /// Address of /metrics and /health. Default: 127.0.0.1:9464 if free, else any free port.
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Simulator seed (device identities and install codes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Longest wait of any step, in seconds.
    #[arg(long, default_value_t = 60)]
    pub step_timeout: u64,
    /// Keep the gateway's data (store, audit log) in this directory instead of a temporary one.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate a configuration file.
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify an audit log's hash chain (and its `.head` anchor if present).
    Verify { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The daemon's ctl socket (default: from --config, else /var/lib/han-gateway/ctl.sock).
    #[arg(long, global = true, env = "GATEWAY_CTL_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Read the socket path from this configuration file.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CtlCmd,
}

#[derive(Debug, Subcommand)]
pub enum CtlCmd {
    /// Provision a HAN device on an ESI.
    Provision {
        #[arg(long)]
        esi_id: String,
        #[arg(long)]
        meter_number: String,
        #[arg(long)]
        eui64: String,
        /// Hex with or without CRC, or the label / QR text; `-` reads it from standard input
        /// (keeps it out of the shell history and the process list).
        #[arg(long)]
        install_code: String,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long)]
        join_window_minutes: Option<u32>,
    },
    /// Provision from a CSV file: esi_id,meter_number,eui64,install_code[,label][,join_window_minutes].
    BulkProvision { file: PathBuf },
    /// Remove a device (reason: customer_request, move_out, device_replaced, …).
    Deprovision {
        #[arg(long)]
        esi_id: String,
        #[arg(long)]
        eui64: String,
        #[arg(long)]
        reason: String,
    },
    /// Remove devices from a CSV file: esi_id,eui64,reason.
    BulkDeprovision { file: PathBuf },
    /// List an ESI's devices.
    Devices {
        #[arg(long)]
        esi_id: String,
    },
    /// Power and service-switch status of an ESI.
    Status {
        #[arg(long)]
        esi_id: String,
        /// Ask the meter now instead of showing the last polled status.
        #[arg(long)]
        refresh: bool,
    },
    /// Read the meter (kWh delivered).
    Read {
        #[arg(long)]
        esi_id: String,
    },
    /// Send a text message to in-home displays.
    SendMessage {
        #[arg(long = "esi-id")]
        esi_ids: Vec<String>,
        #[arg(long)]
        group: Option<String>,
        /// Only these devices (EUI-64).
        #[arg(long = "device")]
        devices: Vec<String>,
        #[arg(long)]
        text: String,
        #[arg(long)]
        priority: Option<String>,
        #[arg(long)]
        importance: Option<String>,
        #[arg(long)]
        confirm: bool,
        #[arg(long)]
        duration_minutes: Option<u32>,
        #[arg(long)]
        start_time: Option<String>,
    },
    /// Delivery status of a message (or any request).
    MessageStatus {
        #[arg(long)]
        message_id: u64,
    },
    /// Cancel a message.
    CancelMessage {
        #[arg(long)]
        message_id: u64,
    },
    /// Coordinator link health of every ESI.
    Health,
    /// Print upstream events as they happen (JSON lines) until interrupted.
    Watch,
    /// Any action with JSON params, e.g. `raw drlc/event '{"esi_ids":["…"], …}'`.
    Raw { action: String, params: Option<String> },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Top::Run { config } => {
            init_logging(cli.log_format, "info");
            run(&config)
        }
        #[cfg(feature = "demo")]
        Top::Demo(args) => {
            // rumqttd logs every client that hangs up as an error: noise next to the narration.
            init_logging(cli.log_format, "warn,rumqttd=off");
            demo(args)
        }
        Top::Config(ConfigCmd::Check { file }) => match Config::load(&file) {
            Ok(c) => {
                println!("{}: ok ({} coordinator(s))", file.display(), c.coordinators.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Top::Audit(AuditCmd::Verify { file }) => match crate::audit::verify(&file) {
            Ok(r) => {
                let head = r.head.map_or_else(
                    || "empty".to_owned(),
                    |h| format!("head seq {} hash {}", h.seq, h.hash),
                );
                let anchored = if r.anchored { ", anchored" } else { "" };
                println!("{}: ok, {} records, {head}{anchored}", file.display(), r.records);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Top::Ctl(args) => ctl(&args),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

#[cfg(feature = "demo")]
fn demo(args: DemoArgs) -> ExitCode {
    let opts = crate::demo::DemoOptions {
        mqtt_port: args.mqtt_port,
        metrics: args.metrics_listen,
        seed: args.seed,
        step_timeout: std::time::Duration::from_secs(args.step_timeout.max(1)),
        data_dir: args.data_dir,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(crate::demo::run(opts, args.exit_after_script)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn run(config: &std::path::Path) -> ExitCode {
    let cfg = match Config::load(config) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(crate::daemon::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn socket_path(args: &CtlArgs) -> Result<PathBuf, String> {
    if let Some(s) = &args.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &args.config {
        return Config::load(c).map(|c| c.ctl.socket).map_err(|e| e.to_string());
    }
    Ok(PathBuf::from(DEFAULT_SOCKET))
}

fn read_file(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The action and params of a ctl subcommand.
fn request(cmd: &CtlCmd) -> Result<(String, Value), String> {
    Ok(match cmd {
        CtlCmd::Provision {
            esi_id,
            meter_number,
            eui64,
            install_code,
            label,
            join_window_minutes,
        } => {
            let install_code = if install_code == "-" {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the install code: {e}"))?;
                line.trim().to_owned()
            } else {
                install_code.clone()
            };
            (
                "device/provision".into(),
                json!({"esi_id": esi_id, "meter_number": meter_number, "eui64": eui64,
                       "install_code": install_code, "label": label,
                       "join_window_minutes": join_window_minutes}),
            )
        }
        CtlCmd::BulkProvision { file } => {
            ("device/provision_bulk".into(), json!({"csv": read_file(file)?}))
        }
        CtlCmd::Deprovision { esi_id, eui64, reason } => (
            "device/deprovision".into(),
            json!({"esi_id": esi_id, "eui64": eui64, "reason": reason}),
        ),
        CtlCmd::BulkDeprovision { file } => {
            ("device/deprovision_bulk".into(), json!({"csv": read_file(file)?}))
        }
        CtlCmd::Devices { esi_id } => ("device/list".into(), json!({"esi_id": esi_id})),
        CtlCmd::Status { esi_id, refresh } => {
            ("meter/status".into(), json!({"esi_id": esi_id, "refresh": refresh}))
        }
        CtlCmd::Read { esi_id } => ("meter/read".into(), json!({"esi_id": esi_id})),
        CtlCmd::SendMessage {
            esi_ids,
            group,
            devices,
            text,
            priority,
            importance,
            confirm,
            duration_minutes,
            start_time,
        } => {
            let mut p = json!({"esi_ids": esi_ids, "text": text, "confirmation_required": confirm,
                               "priority": priority, "importance": importance,
                               "duration_minutes": duration_minutes, "start_time": start_time});
            if let (Some(g), Some(obj)) = (group, p.as_object_mut()) {
                obj.insert("group".into(), json!(g));
            }
            if let (false, Some(obj)) = (devices.is_empty(), p.as_object_mut()) {
                obj.insert("devices".into(), json!(devices));
            }
            ("message/send".into(), p)
        }
        CtlCmd::MessageStatus { message_id } => {
            ("message/status".into(), json!({"message_id": message_id}))
        }
        CtlCmd::CancelMessage { message_id } => {
            ("message/cancel".into(), json!({"message_id": message_id}))
        }
        CtlCmd::Health => ("gateway/health".into(), Value::Null),
        CtlCmd::Watch => ("events/subscribe".into(), Value::Null),
        CtlCmd::Raw { action, params } => {
            let p = match params {
                None => Value::Null,
                Some(t) => {
                    serde_json::from_str(t).map_err(|e| format!("params are not JSON: {e}"))?
                }
            };
            (action.clone(), p)
        }
    })
}

fn ctl(args: &CtlArgs) -> ExitCode {
    let socket = match socket_path(args) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let (action, params) = match request(&args.command) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let mut conn = match client::Client::connect(&socket) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if matches!(args.command, CtlCmd::Watch) {
        return match conn.watch(|line| println!("{line}")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let resp = match conn.call(&action, &params) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    print_response(&args.command, &resp)
}

/// The value at a JSON pointer, `null` when absent.
fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

/// Prints an answer; bulk results one line per CSV line with a summary. Exit status 1 on any
/// error.
fn print_response(cmd: &CtlCmd, resp: &Value) -> ExitCode {
    if at(resp, "/status") != "ok" {
        let code = at(resp, "/error/code").as_str().unwrap_or("ERROR");
        let msg = at(resp, "/error/message").as_str().unwrap_or("");
        eprintln!("error {code}: {msg}");
        return ExitCode::FAILURE;
    }
    let data = at(resp, "/data");
    if matches!(cmd, CtlCmd::BulkProvision { .. } | CtlCmd::BulkDeprovision { .. }) {
        let lines = data.as_array().cloned().unwrap_or_default();
        let mut failed = 0;
        for l in &lines {
            let n = at(l, "/line").as_u64().unwrap_or(0);
            let eui = at(l, "/eui64").as_str().unwrap_or("-");
            if at(l, "/status") == "ok" {
                let d = at(l, "/data");
                let extra = match (at(d, "/slot").as_u64(), at(d, "/slots_free").as_u64()) {
                    (Some(s), Some(f)) => format!(" slot {s} ({f} free)"),
                    _ => at(d, "/state").as_str().map(|s| format!(" {s}")).unwrap_or_default(),
                };
                println!("line {n}: ok {eui}{extra}");
            } else {
                failed += 1;
                let code = at(l, "/error/code").as_str().unwrap_or("ERROR");
                let msg = at(l, "/error/message").as_str().unwrap_or("");
                println!("line {n}: error {eui} {code}: {msg}");
            }
        }
        println!("{} ok, {failed} failed", lines.len() - failed);
        return if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    println!("{}", serde_json::to_string_pretty(data).unwrap_or_default());
    ExitCode::SUCCESS
}
