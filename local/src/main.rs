//! `inlet`: every Inlet function in one process, on an embedded durable log.

use std::process::ExitCode;

use clap::Parser;

// mimalloc: glibc's malloc and free took about 15% of the CPU time under
// webhook load (perf); mimalloc's thread-local free lists cost a fraction.
// Built without transparent huge pages (`no_thp`): with them, the kernel's
// huge-page compaction stalled requests for 50-125 ms now and then.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = inlet::Cli::parse();
    let logs = inlet::init_logging();
    let result = inlet::run(cli).await;
    drop(logs);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
