//! Argument parsing and dispatch for each subcommand.

pub mod build;
mod container;
pub mod diff;
pub mod extract;
pub mod inspect;
pub mod pack;
mod text;
pub mod toolchain;
pub mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const LONG_ABOUT: &str = "\
Pack Python code into verified, reproducible containers, and inspect, verify, compare and \
extract them.

Exit codes:
  0  success; for `verify` the container is intact, for `diff` the containers are identical
  1  failure: unreadable input, a damaged or malformed container, a refused extraction; \
for `verify` the container is damaged, for `diff` the containers differ
  2  usage error: unknown subcommand or option, missing or invalid argument";

/// Pack Python code into verified, reproducible containers, and inspect,
/// verify, compare and extract them.
#[derive(Debug, Parser)]
#[command(name = "pyembed", version, long_version = toolchain::long_version(), long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pack a standard library, source trees, site-packages and wheels into a container.
    Pack(pack::PackArgs),
    /// Build a single-file executable: a python3.11-like interpreter (`--python`) or an
    /// application (`--entry`), with the standard library and the inputs appended to the
    /// pyembed launcher.
    Build(build::BuildArgs),
    /// Show a container's header, regions, resource counts and sizes.
    ///
    /// `--resources` lists every resource with its tier, kinds and sizes; `--json` prints
    /// everything, every resource included, as JSON with sorted keys.
    Inspect(inspect::InspectArgs),
    /// Verify every byte of a container and list every damaged resource.
    ///
    /// Exit code 0 and a one-line summary when the container is intact; exit code 1 and
    /// every damaged region and resource, with the expected and computed SHA-256, when it
    /// is not.
    Verify(verify::VerifyArgs),
    /// Compare two containers resource by resource, field by field.
    ///
    /// Exit code 0 when the containers are identical (same content digest); exit code 1
    /// when they differ, listing the layout fields that differ and the resources added,
    /// removed and changed, with which fields changed and how.
    Diff(diff::DiffArgs),
    /// Write a container's resources back out as a directory tree.
    ///
    /// Modules become `a/b.py` (or `a/b/__init__.py`) plus
    /// `__pycache__/b.cpython-311[.opt-N].pyc` with a hash-based pyc header (checked
    /// against the source when the source is present, unchecked otherwise); package data,
    /// distribution files, extension modules and shared libraries go where they were
    /// found. Names that would leave the output directory (`..`, absolute paths, NUL,
    /// backslashes, empty components) are refused before anything is written. Exit code
    /// 1 on any refusal.
    Extract(extract::ExtractArgs),
}

/// Run the parsed command; `Ok` carries the exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Pack(args) => pack::run(args),
        Command::Build(args) => build::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Extract(args) => extract::run(args),
    }
}
