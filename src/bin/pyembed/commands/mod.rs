//! Argument parsing and dispatch for each subcommand.

pub mod pack;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pack Python code into verified, reproducible containers.
#[derive(Debug, Parser)]
#[command(name = "pyembed", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pack a standard library, source trees, site-packages and wheels into a container.
    Pack(pack::PackArgs),
}

/// Run the parsed command; `Ok` carries the exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Pack(args) => pack::run(args),
    }
}
