//! `serial [--short] [--seed S]`: the serial-fault suite (docs/reliability.md).

use clap::Parser;
use reliability::suites::serial::{run, SerialOptions};

#[derive(Debug, Parser)]
#[command(
    about = "byte drops, corruption, coordinator resets and 1-30 s unplugs under load; recovery times"
)]
struct Args {
    #[arg(long, default_value_t = 2)]
    seed: u64,
    /// The CI form (one reset, unplugs of 1 and 3 s).
    #[arg(long)]
    short: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let o = if a.short { SerialOptions::short(a.seed) } else { SerialOptions::long(a.seed) };
    reliability::report::finish(run(&o).await)
}
