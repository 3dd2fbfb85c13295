//! `pyembed`: pack Python code into verified, reproducible containers and
//! inspect, verify, compare and extract them.
//!
//! Exit codes: 0 success; 1 the operation failed (bad input, damaged
//! container, containers differ for `diff`); 2 usage error.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A compile worker started by `pyembed pack` (see pyembed::pack::compile).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == pyembed::pack::compile::WORKER_ARG)
    {
        return commands::pack::run_worker();
    }
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
