//! `outage [--short] [--seed S]`: the broker-outage suite (docs/reliability.md).

use clap::Parser;
use reliability::suites::outage::{run, OutageOptions};

#[derive(Debug, Parser)]
#[command(
    about = "stop the suite's own Mosquitto for 1-60 s under load; events and requests survive"
)]
struct Args {
    #[arg(long, default_value_t = 4)]
    seed: u64,
    /// The CI form (outages of 1 and 4 s).
    #[arg(long)]
    short: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let o = if a.short { OutageOptions::short(a.seed) } else { OutageOptions::long(a.seed) };
    reliability::report::finish(run(&o).await)
}
