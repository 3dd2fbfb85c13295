//! Helpers shared by the `cli_*` integration tests: small Python trees in
//! temporary directories, the `pyembed` binary run on them, and redaction of
//! what varies between runs (temporary paths, digests) before snapshots.

// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pyembed::resources::{Container, DataField};

/// The cache tag of the linked CPython (`cpython-311` for 3.11): the names of
/// its pycs and, with the platform, of its extension modules.
pub const TAG: &str = env!("PYEMBED_LINKED_CACHE_TAG");

/// The extension module of [`sample_tree`], named for the linked CPython.
pub const FAST_EXTENSION: &str = concat!(
    "fast.",
    env!("PYEMBED_LINKED_CACHE_TAG"),
    "-x86_64-linux-gnu.so"
);

/// `names` with the cache tag `cpython-311` replaced by [`TAG`].
pub fn tagged(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|name| name.replace("cpython-311", TAG))
        .collect()
}

/// Runs `check` (which asserts snapshots) with the snapshots of the linked
/// CPython: sizes of bytecode differ between versions, so versions other
/// than 3.11 keep theirs under a suffix (`name@py3.13.snap`).
pub fn with_version_snapshots<R>(check: impl FnOnce() -> R) -> R {
    let mut settings = insta::Settings::clone_current();
    if pyembed::LINKED_PYTHON_VERSION != "3.11" {
        settings.set_snapshot_suffix(format!("py{}", pyembed::LINKED_PYTHON_VERSION));
    }
    settings.bind(check)
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `pyembed` with `args`, without the caller's `PYTHON*` variables.
pub fn pyembed<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_pyembed"));
    command.args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PYTHON") {
            command.env_remove(key);
        }
    }
    let output = command.output().expect("pyembed runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `files` (relative path, contents) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (path, contents) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
}

/// A small application tree with one of each kind of resource the packer
/// makes: package, module, package data, namespace package, extension
/// module, shared library; `site` holds a module and its `.dist-info`.
pub fn sample_tree(root: &Path) -> (PathBuf, PathBuf) {
    let src = root.join("src");
    let site = root.join("site");
    write_tree(
        &src,
        &[
            (
                "app/__init__.py",
                b"\"\"\"The app.\"\"\"\nVERSION = \"1.0\"\n",
            ),
            ("app/core.py", b"def answer():\n    return 42\n"),
            ("app/data/config.json", b"{\"debug\": false}\n"),
            ("app/py.typed", b""),
            ("ns/portion.py", b"PORTION = 1\n"),
            ("top.py", b"print(\"top\")\n"),
            ("app.libs/libfoo.so.1", b"not really ELF"),
            (FAST_EXTENSION, b"not really ELF"),
        ],
    );
    write_tree(
        &site,
        &[
            ("demo.py", b"DEMO = True\n"),
            (
                "demo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            ),
            ("demo-1.0.dist-info/RECORD", b"demo.py,,\n"),
        ],
    );
    (src, site)
}

/// Packs `--path src --site-packages site` (plus `extra` arguments) into
/// `output`, asserting success.
pub fn pack(src: &Path, site: Option<&Path>, output: &Path, extra: &[&str]) {
    let mut args: Vec<OsString> = ["pack", "--jobs", "1", "--path"]
        .into_iter()
        .map(OsString::from)
        .collect();
    args.push(src.into());
    if let Some(site) = site {
        args.extend(["--site-packages".into(), site.into()]);
    }
    args.extend(extra.iter().map(OsString::from));
    args.extend(["-o".into(), output.into()]);
    let run = pyembed(&args);
    assert_eq!(run.code, 0, "pack failed: {run:?}");
}

/// The content digest of the container at `path`.
pub fn content_digest(path: &Path) -> String {
    let bytes = fs::read(path).unwrap();
    Container::from_bytes(&bytes)
        .unwrap()
        .content_digest()
        .to_string()
}

/// Container offset of the middle of `name`'s `field`.
pub fn middle_of(path: &Path, name: &str, field: DataField) -> usize {
    let bytes = fs::read(path).unwrap();
    let container = Container::from_bytes(&bytes).unwrap();
    let data = container.data(name, field).unwrap().expect("field present");
    data.as_ptr() as usize - bytes.as_ptr() as usize + data.len() / 2
}

/// Flips the low bit of the byte at `offset` of the file at `path`.
pub fn flip(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 1;
    fs::write(path, bytes).unwrap();
}

/// `text` with `dir` replaced by `[TMP]`, the content digests of
/// `containers` by `[CONTENT DIGEST]` and every other SHA-256 by `[SHA256]`.
pub fn redact(text: &str, dir: &Path, containers: &[&Path]) -> String {
    let mut text = text.replace(&dir.display().to_string(), "[TMP]");
    for container in containers {
        text = text.replace(&content_digest(container), "[CONTENT DIGEST]");
    }
    redact_sha256(&text)
}

/// Every run of exactly 64 lowercase hexadecimal digits replaced.
fn redact_sha256(text: &str) -> String {
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| is_hex(**b)).count();
        if run == 64 {
            out.push_str("[SHA256]");
            i += run;
        } else if run > 0 {
            out.push_str(&text[i..i + run]);
            i += run;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Every file under `root`, as sorted `/`-separated relative paths, with
/// directories marked by a trailing `/`.
pub fn listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push(format!("{relative}/"));
                walk(root, &path, out);
            } else {
                out.push(relative);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
