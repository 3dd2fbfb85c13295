//! Fuzz target: the CLI's `inspect` (human, `--resources`, `--json`) and
//! `verify` (human, `--json`) on the input as a file, through the same
//! command modules and argument parsing as the `pyembed` binary. Exit codes
//! and messages are the CLI's business; a panic, hang or outsized allocation
//! is a bug.
//!
//! Per execution the cost is the commands' own: the five command lines are
//! parsed by clap once, at start-up (they never change: the file name is
//! fixed), and each execution turns the parsed matches into the `Cli` value
//! with clap's derived `FromArgMatches`, as `Cli::parse` does. The input goes
//! into one memfd, rewritten in place and named `/proc/self/fd/N`, so no
//! file is created, left behind or flushed to disk. stdout goes to
//! `/dev/null`; messages the commands print on stderr (verify's summary of
//! a damaged container) go there too when libFuzzer runs with
//! `-close_fd_mask=2`, and a panic's message is still written to the real
//! stderr.
#![no_main]

#[allow(dead_code, unused_imports, unreachable_pub, missing_docs)]
#[path = "../../src/bin/pyembed/commands/mod.rs"]
mod commands;

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

/// The command lines run on every input; `FILE` is replaced by the input's
/// path.
const COMMAND_LINES: [&[&str]; 5] = [
    &["inspect", "FILE"],
    &["inspect", "--resources", "FILE"],
    &["inspect", "--json", "FILE"],
    &["verify", "FILE"],
    &["verify", "--json", "FILE"],
];

struct Setup {
    /// The memfd holding the current input.
    input: File,
    /// Each of [`COMMAND_LINES`], parsed.
    matches: Vec<ArgMatches>,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

fn setup() -> Setup {
    // SAFETY: `memfd_create` with a NUL-terminated name and valid flags; the
    // descriptor it returns is owned by nothing else, so `File` may own it.
    let input = unsafe {
        let fd = libc::memfd_create(c"pyembed-fuzz-input".as_ptr(), libc::MFD_CLOEXEC);
        assert!(
            fd >= 0,
            "memfd_create failed: {}",
            std::io::Error::last_os_error()
        );
        File::from_raw_fd(fd)
    };
    let path = format!("/proc/self/fd/{}", input.as_raw_fd());
    let command = commands::Cli::command();
    let matches = COMMAND_LINES
        .iter()
        .map(|line| {
            let argv = std::iter::once("pyembed").chain(
                line.iter()
                    .map(|arg| if *arg == "FILE" { path.as_str() } else { arg }),
            );
            command
                .clone()
                .try_get_matches_from(argv)
                .expect("valid arguments")
        })
        .collect();
    Setup { input, matches }
}

libfuzzer_sys::fuzz_target!(
    init: {
        // The commands' errors are `anyhow` errors, which capture a
        // backtrace whenever RUST_BACKTRACE is set (cargo fuzz sets it):
        // an unwind per failed command, most of an execution's time. Panics
        // still print theirs.
        // SAFETY: no other thread exists yet to read the environment.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
        // SAFETY: plain descriptor calls on this process's own descriptors.
        let stderr = unsafe {
            // The reports go to stdout; keep libFuzzer's stderr.
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if null >= 0 {
                libc::dup2(null, 1);
                libc::close(null);
            }
            // A copy of stderr as it is now, before `-close_fd_mask=2`
            // points descriptor 2 at /dev/null.
            libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3)
        };
        if stderr >= 0 {
            let aborting = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                // SAFETY: `dup2` of a descriptor this process keeps open.
                unsafe { libc::dup2(stderr, 2) };
                aborting(info);
            }));
        }
        let _ = SETUP.get_or_init(setup);
    },
    |data: &[u8]| {
        let setup = SETUP.get_or_init(setup);
        if setup.input.set_len(0).is_err() || setup.input.write_all_at(data, 0).is_err() {
            return;
        }
        for matches in &setup.matches {
            let cli = commands::Cli::from_arg_matches(matches).expect("parsed arguments");
            let _ = commands::run(cli);
        }
    }
);
