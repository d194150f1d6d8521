//! `abuse [--flood N] [--race N]`: the MQTT abuse suite and secret scan (docs/reliability.md).

use clap::Parser;
use reliability::suites::abuse::{run, AbuseOptions};

#[derive(Debug, Parser)]
#[command(
    about = "forged/replayed/expired requests, foreign grants, move-out race, oversize, flood; secret scan"
)]
struct Args {
    #[arg(long, default_value_t = 600)]
    flood: usize,
    #[arg(long, default_value_t = 100)]
    race: usize,
    #[arg(long, default_value_t = 3)]
    seed: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    reliability::report::finish(
        run(&AbuseOptions { flood: a.flood, race: a.race, seed: a.seed }).await,
    )
}
