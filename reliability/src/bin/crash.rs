//! `crash --kills N [--seed S]`: the crash suite (docs/reliability.md).

use std::process::ExitCode;

use clap::Parser;
use reliability::suites::crash::{run, CrashOptions};
use reliability::world::BrokerKind;

#[derive(Debug, Parser)]
#[command(
    about = "kill -9 the gateway under mixed MQTT load, N times; check nothing accepted is lost"
)]
struct Args {
    /// How many times to kill and restart the gateway.
    #[arg(long, default_value_t = 100)]
    kills: u32,
    /// Seed of the kill moments, the load mix and the simulator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Longest time (ms) between a restart and the next kill.
    #[arg(long, default_value_t = 3000)]
    max_run_ms: u64,
    /// Use the gateway's embedded broker instead of a private Mosquitto.
    #[arg(long)]
    embedded: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let a = Args::parse();
    let o = CrashOptions {
        kills: a.kills,
        seed: a.seed,
        max_run_ms: a.max_run_ms,
        broker: if a.embedded { BrokerKind::Embedded } else { BrokerKind::Mosquitto },
        ..CrashOptions::default()
    };
    reliability::report::finish(run(&o).await)
}
