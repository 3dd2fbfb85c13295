//! Helpers shared by the criterion benches (included with `#[path]`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The release `pyembed` CLI cargo builds for the bench.
pub const PYEMBED: &str = env!("CARGO_BIN_EXE_pyembed");

/// The standard library to pack: `PYEMBED_BENCH_STDLIB`, or Debian's.
pub fn stdlib() -> PathBuf {
    std::env::var_os("PYEMBED_BENCH_STDLIB")
        .map_or_else(|| PathBuf::from("/usr/lib/python3.11"), PathBuf::from)
}

/// `pyembed pack --stdlib <stdlib> --compress=<compress> -o <out>`; its
/// progress output is dropped, a failure is an error naming the command.
pub fn pack(stdlib: &Path, compress: &str, out: &Path) -> Result<(), String> {
    let status = Command::new(PYEMBED)
        .arg("pack")
        .arg("--stdlib")
        .arg(stdlib)
        .arg(format!("--compress={compress}"))
        .arg("-o")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {PYEMBED}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{PYEMBED} pack --stdlib {} --compress={compress} failed: {status}",
            stdlib.display()
        ))
    }
}
