//! `storage [--seed S]`: the disk-full / read-only suite (docs/reliability.md; needs root for
//! the size-limited tmpfs, else it reports itself skipped).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "disk full and read-only data directory: typed refusals, reads kept, recovery")]
struct Args {
    #[arg(long, default_value_t = 5)]
    seed: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    reliability::report::finish(reliability::suites::storage::run(a.seed).await)
}
