//! Tamper detection end to end: flip one byte anywhere in a built
//! executable's payload (trailer, container table, build configuration, and
//! the application container's header, index, tier 0 and tier 1) and the
//! executable fails, at start-up or when the affected module is used, with
//! a message naming what is damaged. Nothing damaged runs: the application
//! prints its success line only after importing every module and reading
//! every source and data file, which it never does from a damaged payload.
#![cfg(feature = "cli")]

mod build_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use build_support::*;
use pyembed::resources::{Container, Header, trailer};

const OK: &str = "ALL-OK";

fn app_tree(dir: &TempDir) {
    dir.write("src/tamper/__init__.py", "");
    // Big enough to span several 16 KiB chunks of tier 0.
    let filler: String = (0..30_000u32)
        .map(|i| char::from(b'a' + (i * 11 % 26) as u8))
        .collect();
    dir.write("src/tamper/big.py", &format!("DATA = {filler:?}\n"));
    for name in ["alpha", "beta", "gamma", "delta"] {
        dir.write(
            &format!("src/tamper/{name}.py"),
            &format!("NAME = {name:?}\n"),
        );
    }
    dir.write("src/tamper/data.txt", "package data\n");
    dir.write(
        "src/tamper/main.py",
        "import importlib, importlib.resources, inspect, sys\n\
         \n\
         def main():\n\
         \x20   names = ['big', 'alpha', 'beta', 'gamma', 'delta', 'main']\n\
         \x20   for name in names:\n\
         \x20       module = importlib.import_module('tamper.' + name)\n\
         \x20       inspect.getsource(module)\n\
         \x20   importlib.resources.files('tamper').joinpath('data.txt').read_text()\n\
         \x20   print('ALL-OK')\n",
    );
}

fn build(compress: &str) -> PathBuf {
    let dir = TempDir::new("tamper-tree");
    app_tree(&dir);
    built(
        &format!("tamper-{compress}"),
        dir.path(),
        &[
            "--entry",
            "tamper.main:main",
            "--path",
            "src",
            "--compress",
            compress,
        ],
    )
}

fn run(exe: &Path, cwd: &Path) -> std::process::Output {
    let mut child = clean(exe, cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // A damaged payload must never hang the program.
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} hung",
            exe.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

/// Byte offsets (in the executable) to flip: spread over each region.
fn positions(bytes: &[u8]) -> Vec<(String, usize)> {
    let payload = trailer::locate(bytes).expect("a payload");
    let app = payload.containers.last().expect("an app container").clone();
    let container = Container::from_bytes(&bytes[app.clone()]).expect("intact");
    let layout = container.layout();
    let index_end = (Header::INDEX_OFFSET + layout.header.index_length) as usize;
    let mut out = Vec::new();
    let mut spread = |label: &str, start: usize, end: usize, count: usize| {
        if end > start {
            for k in 0..count {
                out.push((label.to_owned(), start + k * (end - start) / count));
            }
            out.push((label.to_owned(), end - 1));
        }
    };
    spread("header", app.start, app.start + 128, 12);
    spread("index", app.start + 128, app.start + index_end, 12);
    let tier0 = app.start + layout.tier0.offset as usize;
    spread("tier 0", tier0, tier0 + layout.tier0.length as usize, 24);
    let tier1 = app.start + layout.tier1.offset as usize;
    spread("tier 1", tier1, tier1 + layout.tier1.length as usize, 16);
    let dictionary = app.start + layout.dictionary.offset as usize;
    spread(
        "dictionary",
        dictionary,
        dictionary + layout.dictionary.length as usize,
        4,
    );
    spread("config", payload.config.start, payload.config.end, 4);
    spread("trailer and table", payload.config.end, bytes.len(), 8);
    out
}

fn flips_are_detected(compress: &str, tier1_expected: bool) {
    let exe = build(compress);
    let bytes = std::fs::read(&exe).unwrap();
    let scratch = TempDir::new("tamper-run");
    let intact = run(&exe, scratch.path());
    assert!(
        intact.status.success() && String::from_utf8_lossy(&intact.stdout).contains(OK),
        "the intact executable fails:\n{}",
        text(&intact)
    );
    let positions = positions(&bytes);
    assert_eq!(
        positions.iter().any(|(label, _)| label == "tier 1"),
        tier1_expected,
        "tier 1 presence: {positions:?}"
    );
    let damaged = scratch.path().join("damaged");
    for (label, at) in positions {
        let mut copy = bytes.clone();
        copy[at] ^= 0x04;
        std::fs::write(&damaged, &copy).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&damaged, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = run(&damaged, scratch.path());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        assert!(
            !output.status.success() && !stdout.contains(OK),
            "{label} byte {at} flipped, yet the program ran to the end:\n{}",
            text(&output)
        );
        assert!(
            ["tamper", "damaged", "digest", "modified", "payload"]
                .iter()
                .any(|word| stderr.contains(word)),
            "{label} byte {at}: the message names nothing:\n{}",
            text(&output)
        );
        assert!(
            !stderr.contains("panicked"),
            "{label} byte {at}:\n{}",
            text(&output)
        );
    }
}

#[test]
fn every_sampled_flip_in_a_tier0_app_is_detected() {
    flips_are_detected("none", false);
}

#[test]
fn every_sampled_flip_in_a_tier1_app_is_detected() {
    flips_are_detected("all", true);
}
