//! The `omnikb` command: parses the command line and hands over to [`omnikb::cli`].

use clap::Parser;

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
