//! Fuzz target: the CLI's `inspect` (human, `--resources`, `--json`) and
//! `verify` (human, `--json`) on the input as a file, through the same
//! command modules and argument parsing as the `pyembed` binary. Exit codes
//! and messages are the CLI's business; a panic, hang or outsized allocation
//! is a bug.
#![no_main]

#[allow(dead_code, unused_imports, unreachable_pub, missing_docs)]
#[path = "../../src/bin/pyembed/commands/mod.rs"]
mod commands;

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Parser;

fn input_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("pyembed-fuzz-cli-{}.pyembed", std::process::id()))
    })
}

libfuzzer_sys::fuzz_target!(
    init: {
        // The reports go to stdout; keep libFuzzer's stderr.
        // SAFETY: plain descriptor calls on this process's own descriptors.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if null >= 0 {
                libc::dup2(null, 1);
                libc::close(null);
            }
        }
    },
    |data: &[u8]| {
        let path = input_path();
        if std::fs::write(path, data).is_err() {
            return;
        }
        let file = path.to_str().expect("a UTF-8 temporary path");
        for args in [
            &["inspect", file][..],
            &["inspect", "--resources", file],
            &["inspect", "--json", file],
            &["verify", file],
            &["verify", "--json", file],
        ] {
            let cli = commands::Cli::try_parse_from(std::iter::once("pyembed").chain(args.iter().copied()))
                .expect("valid arguments");
            let _ = commands::run(cli);
        }
    }
);
