//! The `reviewlake` command: parses the command line and hands each subcommand to its crate.

mod cli;
mod cmd;
mod output;
mod progress;
mod signals;

use clap::Parser;

/// mimalloc instead of glibc's allocator: DataFusion's scans of many small files and the HTTP
/// server allocate and free many short-lived buffers, where glibc spends its time consolidating.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // No transparent huge pages: each first touch of one zeroes 2 MiB, which a command that
    // lives for tens of milliseconds pays for and never gets back, and the long queries measured
    // no gain from them either (BENCHMARKS.md, scale run 1). mimalloc's `no_thp` feature keeps
    // them out of the memory it takes before `main` (on systems that grant them on request, as
    // Debian's default does); this keeps them out of the rest where the system grants them always.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = cli::Cli::parse();
    cli::init_logging(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", lake::error_chain(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}
