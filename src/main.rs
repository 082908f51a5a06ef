//! The `omnikb` command: parses the command line and hands over to [`omnikb::cli`].

use clap::Parser;

/// mimalloc instead of the system allocator: rendering makes many small, short-lived
/// allocations on every core at once, and glibc's malloc spent about a fifth of a render
/// there (docs/performance.md, render throughput).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = omnikb::cli::Cli::parse();
    omnikb::cli::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(omnikb::cli::run(cli))
}
