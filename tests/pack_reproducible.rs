//! `pyembed pack` is byte-for-byte reproducible.
//!
//! Each test builds a small but realistic input tree (an application under
//! `--path`, a `site-packages` with a `.dist-info`, a wheel, a namespace
//! package split across two inputs, package data, set and frozenset
//! constants, nested code, PEP 263 encoding declarations and non-ASCII
//! identifiers), packs it once as the reference and again under one kind of
//! perturbation, and requires the same bytes and the same content digest.
//! `docs/reproducibility.md` lists the mechanism that neutralises each one.
//!
//! When two containers differ, the failure says which resources and which of
//! their fields differ (see [`explain`]), so a regression points at its cause.
#![cfg(feature = "cli")]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use pyembed::resources::Container;
use python_packed_resources::Resource;
use tempfile::TempDir;

const PYEMBED: &str = env!("CARGO_BIN_EXE_pyembed");

/// The wheel's file name, inside `<root>/wheels/`.
const WHEEL: &str = "chardet_lite-2.0-py3-none-any.whl";

// ---- the input tree --------------------------------------------------------

/// `<root>/src`, packed with `--path`: the application.
const APP: &[(&str, &[u8])] = &[
    (
        "app/__init__.py",
        br#""""The demo application."""
from app.core import main

__all__ = ["main"]
__version__ = "1.0"
"#,
    ),
    (
        "app/__main__.py",
        b"from app import main\n\nraise SystemExit(main())\n",
    ),
    (
        "app/core.py",
        br#""""Sets, frozensets and nested code: what marshal canonicalisation is for."""
import re

# A set display of constants compiles to a frozenset constant, whose marshal
# order is the one thing a hash seed could change.
METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}
SEPARATORS = {".", "-", "_", "/", "", " ", "\t", "\u00e9"}
BYTES = {b"\x00", b"\xff", b"abc", b"", b"GET"}
NUMBERS = {1, 2.5, 3j, -7, 10**30, 0.0, True}
PAIRS = {("a", "b"), ("b", "c"), ("c", "a"), ("GET", "/")}
TEXT = "\u00e9t\u00e9 \u2603 \U0001f40d"
NUMBER = re.compile("\d+(\.\d+)?")  # an invalid escape: a DeprecationWarning


def classify(word):
    if word in {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}:
        return "greek"
    if word not in frozenset(("x", "y", "z")):
        return "other"
    return "axis"


class Router:
    """A class body, methods, closures, comprehensions and lambdas."""

    verbs = ("get", "post")

    def __init__(self):
        self.routes = {}

    def route(self, path, methods=frozenset({"GET"})):
        def decorator(func):
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)

            self.routes[path] = (wrapper, sorted(set(methods) & METHODS))
            return wrapper

        return decorator

    def table(self):
        return {
            k: [m for m in v[1] if m in {"GET", "HEAD", "OPTIONS"}]
            for k, v in self.routes.items()
        }

    async def serve(self, requests):
        async for request in requests:
            yield [lambda r=r: r.upper() for r in request if r not in {"", " ", "-"}]


def main():
    router = Router()
    router.route("/")(lambda: "home")
    print(classify("beta"), sorted(router.table()))
    return 0
"#,
    ),
    (
        // PEP 263 on the first line; the body is Latin-1, not UTF-8.
        "app/legacy.py",
        b"# -*- coding: latin-1 -*-\n\
\"\"\"Written in Latin-1 long ago: caf\xe9, na\xefve.\"\"\"\n\
GREETING = \"Gr\xfc\xdf Gott\"\n\
VOWELS = {\"\xe4\", \"\xf6\", \"\xfc\", \"\xe9\", \"a\"}\n",
    ),
    (
        // PEP 263 on the second line, after a shebang: cp1252's 0x80 is the euro sign.
        "app/tool.py",
        b"#!/usr/bin/env python3\n# vim: set fileencoding=cp1252 :\nEURO = \"\x80\"\nQUOTES = {\"\x93\", \"\x94\"}\n",
    ),
    (
        "app/names.py",
        r#""""Non-ASCII identifiers, including one NFKC folds (ﬁ is `fi`)."""
π = 3.14159
größe = {"klein", "groß", "riesig"}


class Ünïcode:
    def naïve(self, café="☕"):
        return {café, "thé", "maté"}


ﬁle = "NFKC makes this name `file`"
"#
        .as_bytes(),
    ),
    (
        // One-letter Latin-1 identifiers. CPython shares one string object
        // per Latin-1 character process-wide, and interning the identifier
        // interns that object: a later module's "é" constant would marshal
        // as interned or not depending on what its worker compiled before.
        "app/alpha.py",
        r#""""One-letter identifiers from Latin-1."""
é = 1
ß = 2


def ÿ(ñ):
    return ñ
"#
        .as_bytes(),
    ),
    (
        "app/omega.py",
        r#""""The same letters as constants, sorted after app.alpha."""
ACCENTS = ("é", "ß", "ñ", "ÿ", "à", "")
"#
        .as_bytes(),
    ),
    (
        "app/café.py",
        r#""""A module whose name is not ASCII."""
MENU = {"crème", "brûlée", "thé"}
"#
        .as_bytes(),
    ),
    ("app/sub/__init__.py", b"from . import deep\n"),
    ("app/sub/deep/__init__.py", b""),
    (
        "app/sub/deep/leaf.py",
        b"def leaf():\n    def inner():\n        return lambda: {\"x\", \"y\", \"z\"}\n    return inner\n",
    ),
    ("app/py.typed", b""),
    ("app/data/config.json", b"{\"debug\": false, \"name\": \"demo\"}\n"),
    (
        "app/data/templates/page.html",
        "<!doctype html><title>d\u{e9}mo</title>\n".as_bytes(),
    ),
    ("app/data/blob.bin", b"\x00\x01\x02\xff\xfe\xfd\x89PNG\r\n\x1a\n"),
    (
        "nsp/plugins/alpha.py",
        b"NAME = 'alpha'\nTAGS = {'fast', 'small', 'alpha'}\n",
    ),
    ("top.py", b"import app\n\nVALUE = frozenset({'top', 'level'})\n"),
];

/// `<root>/site`, packed with `--site-packages`: an installed distribution
/// and a second portion of the `nsp` namespace package.
const SITE: &[(&str, &[u8])] = &[
    (
        "requests_lite/__init__.py",
        b"from .adapters import HTTPAdapter\n\n__version__ = '2.31.0'\n",
    ),
    (
        "requests_lite/adapters.py",
        b"class HTTPAdapter:\n    SCHEMES = {'http', 'https', 'ws', 'wss'}\n\n    def send(self, request):\n        return request.method in {'GET', 'HEAD'}\n",
    ),
    (
        "requests_lite/cacert.pem",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    ),
    (
        "requests_lite-2.31.0.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: requests-lite\nVersion: 2.31.0\nSummary: A demo.\n",
    ),
    (
        "requests_lite-2.31.0.dist-info/RECORD",
        b"requests_lite/__init__.py,sha256=abc,55\nrequests_lite/adapters.py,sha256=def,120\nrequests_lite-2.31.0.dist-info/RECORD,,\n",
    ),
    (
        "requests_lite-2.31.0.dist-info/entry_points.txt",
        b"[console_scripts]\nrequests-lite = requests_lite:main\n",
    ),
    (
        "requests_lite-2.31.0.dist-info/top_level.txt",
        b"requests_lite\n",
    ),
    (
        "requests_lite-2.31.0.dist-info/WHEEL",
        b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    ),
    ("requests_lite-2.31.0.dist-info/INSTALLER", b"pip\n"),
    (
        "requests_lite-2.31.0.dist-info/licenses/LICENSE",
        b"MIT License\n",
    ),
    ("nsp/plugins/beta.py", b"NAME = 'beta'\n"),
];

/// Members of `<root>/wheels/WHEEL`.
const WHEEL_MEMBERS: &[(&str, &[u8])] = &[
    (
        "chardet_lite/__init__.py",
        b"from .enums import ENCODINGS\n\ndef detect(data):\n    return 'ascii' if data.isascii() else 'utf-8'\n",
    ),
    (
        "chardet_lite/enums.py",
        b"ENCODINGS = frozenset({'ascii', 'utf-8', 'latin-1', 'cp1252', 'shift_jis'})\n",
    ),
    ("chardet_lite/py.typed", b""),
    (
        "chardet_lite-2.0.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: chardet-lite\nVersion: 2.0\n",
    ),
    (
        "chardet_lite-2.0.dist-info/WHEEL",
        b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    ),
    (
        "chardet_lite-2.0.dist-info/entry_points.txt",
        b"[console_scripts]\nchardetect = chardet_lite:detect\n",
    ),
    (
        "chardet_lite-2.0.dist-info/RECORD",
        b"chardet_lite/__init__.py,,\nchardet_lite/enums.py,,\n",
    ),
];

/// In which order files (and with them directories and wheel members) are
/// created. On ext4 a directory lists in the order of a per-file-system
/// hash of the names; on tmpfs newest first: both differ from byte order.
#[derive(Clone, Copy, Debug)]
enum Order {
    Forward,
    Reverse,
    /// A fixed pseudo-random permutation.
    Shuffled,
}

fn ordered<T: Copy>(items: &[T], order: Order) -> Vec<T> {
    let mut items = items.to_vec();
    match order {
        Order::Forward => {}
        Order::Reverse => items.reverse(),
        Order::Shuffled => {
            // A small LCG: the same permutation on every run.
            let mut state: u64 = 0x2545_f491_4f6c_dd1d;
            for i in (1..items.len()).rev() {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                items.swap(i, (state >> 33) as usize % (i + 1));
            }
        }
    }
    items
}

/// Writes the tree (`src/`, `site/`, `wheels/`) under `root`, creating
/// files, directories and wheel members in `order`.
fn create_tree(root: &Path, order: Order) {
    for (dir, files) in [("src", APP), ("site", SITE)] {
        for (relative, contents) in ordered(files, order) {
            let path = root.join(dir).join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, contents).unwrap();
        }
    }
    let wheels = root.join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    // Member timestamps follow the order too, so both the central directory
    // order and every member's DOS time differ between orders.
    let stamp = match order {
        Order::Forward => (1980, 1, 1),
        Order::Reverse => (2024, 6, 30),
        Order::Shuffled => (2107, 12, 31),
    };
    write_wheel(&wheels.join(WHEEL), &ordered(WHEEL_MEMBERS, order), stamp);
}

fn write_wheel(path: &Path, members: &[(&str, &[u8])], (year, month, day): (u16, u8, u8)) {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
    let time = zip::DateTime::from_date_and_time(year, month, day, 12, 34, 56).unwrap();
    for (i, (name, contents)) in members.iter().enumerate() {
        // Alternate compression methods: the packer reads contents, not bytes.
        let method = if i % 2 == 0 {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(time)
            .unix_permissions(0o644);
        zip.start_file(*name, options).unwrap();
        zip.write_all(contents).unwrap();
    }
    zip.finish().unwrap();
}

/// Every file and directory under `root`, `root` included.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() {
            let mut children: Vec<PathBuf> = fs::read_dir(&out[i])
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            children.sort();
            out.extend(children);
        }
        i += 1;
    }
    out
}

/// Sets the access and modification times of everything under `root`.
fn touch_all(root: &Path, time: SystemTime) {
    let times = FileTimes::new().set_accessed(time).set_modified(time);
    // Children first, so setting a directory's time is the last change to it.
    for path in walk(root).into_iter().rev() {
        File::open(&path).unwrap().set_times(times).unwrap();
    }
}

/// The directories under `root` that `readdir` does not list in byte order.
fn unsorted_listings(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|dir| dir.is_dir())
        .filter(|dir| {
            let listed: Vec<OsString> = fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            let mut sorted = listed.clone();
            sorted.sort();
            listed != sorted
        })
        .collect()
}

// ---- packing ---------------------------------------------------------------

/// A container and the content digest `pyembed pack` printed for it.
struct Packed {
    bytes: Vec<u8>,
    printed_digest: String,
}

/// The input arguments for a tree at `root`, as given (absolute or relative).
fn inputs(root: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    for (flag, path) in [
        ("--path", root.join("src")),
        ("--site-packages", root.join("site")),
        ("--wheel", root.join("wheels").join(WHEEL)),
    ] {
        args.push(flag.into());
        args.push(path.into());
    }
    args
}

/// One `pyembed pack` run: `wrapper` (a program and its arguments that
/// `exec`s the rest, or nothing), then `pyembed pack <args> -o <output>` in
/// `cwd`, with `PYTHONHASHSEED` removed unless `tweak` sets it.
struct Run<'a> {
    label: &'a str,
    wrapper: &'a [&'a str],
    cwd: &'a Path,
    args: Vec<OsString>,
    output: PathBuf,
}

impl Run<'_> {
    fn pack(self, tweak: impl FnOnce(&mut Command)) -> Packed {
        let mut cmd = match self.wrapper.split_first() {
            None => Command::new(PYEMBED),
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(PYEMBED);
                cmd
            }
        };
        cmd.arg("pack")
            .args(&self.args)
            .arg("-o")
            .arg(&self.output)
            .current_dir(self.cwd)
            .env_remove("PYTHONHASHSEED");
        tweak(&mut cmd);
        let out = cmd.output().expect("start pyembed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{}: pyembed pack failed ({}):\n{stderr}",
            self.label,
            out.status
        );
        let printed_digest = stderr
            .lines()
            .find_map(|line| line.strip_prefix("content digest "))
            .unwrap_or_else(|| panic!("{}: no content digest printed:\n{stderr}", self.label))
            .to_string();
        let bytes = fs::read(self.cwd.join(&self.output)).unwrap();
        Packed {
            bytes,
            printed_digest,
        }
    }
}

/// A scratch directory with the reference tree at `<scratch>/ref`.
struct Fixture {
    scratch: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let scratch = tempfile::Builder::new()
            .prefix("pack-repro-")
            .tempdir()
            .unwrap();
        create_tree(&scratch.path().join("ref"), Order::Forward);
        Fixture { scratch }
    }

    fn path(&self) -> &Path {
        self.scratch.path()
    }

    fn reference_root(&self) -> PathBuf {
        self.path().join("ref")
    }

    /// A run packing the tree at `root` with absolute paths, from the scratch
    /// directory, with `extra` arguments.
    fn run<'a>(&'a self, label: &'a str, root: &Path, extra: &[&str]) -> Run<'a> {
        let mut args = inputs(root);
        args.extend(extra.iter().map(OsString::from));
        Run {
            label,
            wrapper: &[],
            cwd: self.path(),
            args,
            output: self.output(label),
        }
    }

    fn output(&self, label: &str) -> PathBuf {
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        self.path().join(format!("out-{name}.pyembed"))
    }

    /// The reference container of the reference tree, packed with `extra`.
    fn reference(&self, extra: &[&str]) -> Packed {
        self.run("reference", &self.reference_root(), extra)
            .pack(|_| {})
    }
}

// ---- comparing -------------------------------------------------------------

/// Panics, explaining the difference, unless `other` is byte-identical to
/// `reference` and printed the same digest.
fn assert_identical(label: &str, reference: &Packed, other: &Packed) {
    assert!(
        reference.bytes == other.bytes,
        "{label}: the container differs from the reference\n{}",
        explain(&reference.bytes, &other.bytes)
    );
    assert_eq!(
        reference.printed_digest, other.printed_digest,
        "{label}: identical bytes, different printed digest"
    );
    let container = Container::from_bytes(&other.bytes).unwrap();
    assert_eq!(
        container.content_digest().to_string(),
        other.printed_digest,
        "{label}: printed digest is not the container's"
    );
}

/// Every payload of a resource, by field (`source`, `bytecode`,
/// `package resource config.json`, ...), and its flags.
fn fields(resource: &Resource<'_, u8>) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let flags = format!(
        "module={} package={} namespace={} extension={} shared_library={}",
        resource.is_python_module,
        resource.is_python_package,
        resource.is_python_namespace_package,
        resource.is_python_extension_module,
        resource.is_shared_library
    );
    out.insert("flags".to_string(), flags.into_bytes());
    for (field, data) in [
        ("source", &resource.in_memory_source),
        ("bytecode", &resource.in_memory_bytecode),
        ("bytecode opt1", &resource.in_memory_bytecode_opt1),
        ("bytecode opt2", &resource.in_memory_bytecode_opt2),
        (
            "extension module",
            &resource.in_memory_extension_module_shared_library,
        ),
        ("shared library", &resource.in_memory_shared_library),
    ] {
        if let Some(data) = data {
            out.insert(field.to_string(), data.to_vec());
        }
    }
    for (kind, map) in [
        ("package resource", &resource.in_memory_package_resources),
        (
            "distribution resource",
            &resource.in_memory_distribution_resources,
        ),
    ] {
        for (name, data) in map.iter().flatten() {
            out.insert(format!("{kind} {name}"), data.to_vec());
        }
    }
    out
}

/// Which resources (and fields) of two containers differ, or where their
/// bytes first differ if the resources are all equal.
fn explain(a: &[u8], b: &[u8]) -> String {
    let mut report = vec![format!("sizes {} and {} bytes", a.len(), b.len())];
    let first_difference = a.iter().zip(b).position(|(x, y)| x != y);
    let (ca, cb) = match (Container::from_bytes(a), Container::from_bytes(b)) {
        (Ok(ca), Ok(cb)) => (ca, cb),
        (ra, rb) => {
            report.push(format!("cannot open both: {:?} / {:?}", ra.err(), rb.err()));
            return report.join("\n");
        }
    };
    report.push(format!(
        "content digests {} and {}",
        ca.content_digest(),
        cb.content_digest()
    ));
    let (la, lb) = (ca.layout(), cb.layout());
    if let Some(offset) = first_difference {
        let offset = offset as u64;
        let region = if offset < 128 {
            "header"
        } else if offset < la.tier0.offset {
            "index"
        } else if offset < la.tier0.end() {
            "tier 0"
        } else if offset < la.dictionary.end() {
            "zstd dictionary"
        } else {
            "tier 1"
        };
        report.push(format!(
            "first differing byte at offset {offset} ({region})"
        ));
    }
    for (region, x, y) in [
        ("tier 0", la.tier0, lb.tier0),
        ("zstd dictionary", la.dictionary, lb.dictionary),
        ("tier 1", la.tier1, lb.tier1),
    ] {
        if x.digest != y.digest {
            report.push(format!(
                "{region} differs ({} and {} bytes)",
                x.length, y.length
            ));
        }
    }
    let by_name = |c: &Container<'_>| -> BTreeMap<String, (String, BTreeMap<String, Vec<u8>>)> {
        c.summaries()
            .map(|s| {
                let resource = c.resource(s.name).unwrap().unwrap();
                (
                    s.name.to_string(),
                    (format!("{:?}", s.tier), fields(&resource)),
                )
            })
            .collect()
    };
    let (ra, rb) = (by_name(&ca), by_name(&cb));
    let names: BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
    let mut differing = 0;
    for name in names {
        let (Some((ta, fa)), Some((tb, fb))) = (ra.get(name), rb.get(name)) else {
            differing += 1;
            report.push(format!(
                "resource {name}: only in the {}",
                if ra.contains_key(name) {
                    "reference"
                } else {
                    "other"
                }
            ));
            continue;
        };
        if ta != tb {
            differing += 1;
            report.push(format!("resource {name}: tier {ta} vs {tb}"));
        }
        let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
        for key in keys {
            let (x, y) = (fa.get(key), fb.get(key));
            if x != y {
                differing += 1;
                let at = match (x, y) {
                    (Some(x), Some(y)) => format!(
                        "{} vs {} bytes, first difference at {:?}",
                        x.len(),
                        y.len(),
                        x.iter().zip(y).position(|(p, q)| p != q)
                    ),
                    _ => "present in only one".to_string(),
                };
                report.push(format!("resource {name}: {key} differs ({at})"));
            }
        }
    }
    if differing == 0 {
        report.push(
            "every resource decodes to equal values: the difference is in how they are \
             stored (entry order of a map, layout, grouping or compression)"
                .into(),
        );
    }
    report.join("\n")
}

// ---- perturbations ---------------------------------------------------------

#[test]
fn hash_seed_does_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    for seed in ["0", "1", "4294967295", "random"] {
        let label = format!("PYTHONHASHSEED={seed}");
        let other = fx.run(&label, &fx.reference_root(), &[]).pack(|cmd| {
            cmd.env("PYTHONHASHSEED", seed);
        });
        assert_identical(&label, &reference, &other);
    }
}

#[test]
fn mtimes_do_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    let root = fx.reference_root();
    // 1980-01-02 (just inside the zip epoch), now, and the far future.
    for (label, time) in [
        (
            "mtime 1980",
            SystemTime::UNIX_EPOCH + Duration::from_secs(315_619_200),
        ),
        ("mtime now", SystemTime::now()),
        (
            "mtime 2100",
            SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800),
        ),
    ] {
        touch_all(&root, time);
        let other = fx.run(label, &root, &[]).pack(|_| {});
        assert_identical(label, &reference, &other);
    }
}

#[test]
fn umask_and_file_modes_do_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    let root = fx.reference_root();

    let mut run = fx.run("umask 077", &root, &[]);
    run.wrapper = &["sh", "-c", "umask 077; exec \"$0\" \"$@\""];
    let output = run.output.clone();
    let other = run.pack(|_| {});
    assert_identical("umask 077", &reference, &other);
    // Proof the umask reached the writer: the container is private.
    let mode = fs::metadata(&output).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "umask 077 did not apply");

    // Read-only and executable inputs pack the same as 0644 ones.
    for path in walk(&root) {
        let mode = if path.is_dir() { 0o555 } else { 0o755 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let other = fx.run("modes 0555/0755", &root, &[]).pack(|_| {});
    assert_identical("modes 0555/0755", &reference, &other);
    for path in walk(&root).into_iter().rev() {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Another user (`nobody`) packs the same tree: ownership of the inputs and
/// of the worker processes does not reach the container. Needs root and
/// `setpriv`; skipped otherwise.
#[test]
fn user_does_not_matter() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    if !is_root || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to run as another user");
        return;
    }
    // The checkout may sit in a directory only its owner can enter (a
    // `mktemp -d` clone is mode 0700); then `nobody` cannot run the binary.
    // Probe by exec'ing from a process that already runs as `nobody`, as the
    // packer does when it starts its compile workers.
    let reachable = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["sh", "-c", r#"exec "$0" --version"#, PYEMBED])
        .output()
        .is_ok_and(|out| out.status.success());
    if !reachable {
        eprintln!("skipped: user nobody cannot execute the pyembed binary in this checkout");
        return;
    }
    // The compile workers need the linked CPython's standard library, which
    // for the pinned build is in its owner's cache (~/.cache, often 0700).
    let stdlib_readable = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["test", "-r"])
        .arg(Path::new(STDLIB).join("os.py"))
        .status()
        .is_ok_and(|status| status.success());
    if !stdlib_readable {
        eprintln!("skipped: user nobody cannot read the linked standard library {STDLIB}");
        return;
    }
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    // Let `nobody` read the tree and write the output.
    fs::set_permissions(fx.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let mut run = fx.run("user nobody", &fx.reference_root(), &[]);
    run.wrapper = &[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let output = run.output.clone();
    let other = run.pack(|_| {});
    assert_identical("user nobody", &reference, &other);
    // Proof the child ran as `nobody`: it owns the container it wrote.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&output).unwrap().uid(), 65534);
}

#[test]
fn cwd_and_relative_paths_do_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    let root = fx.reference_root();

    // Relative inputs and output, from the tree's own directory.
    let mut run = fx.run("relative from the tree", Path::new("."), &[]);
    run.cwd = &root;
    run.output = PathBuf::from("relative.pyembed");
    let other = run.pack(|_| {});
    assert_identical("relative from the tree", &reference, &other);

    // Relative inputs with `..` in them, from a sibling directory.
    let elsewhere = fx.path().join("elsewhere/deeper");
    fs::create_dir_all(&elsewhere).unwrap();
    let mut run = fx.run("relative via ..", Path::new("../../ref"), &[]);
    run.cwd = &elsewhere;
    run.output = PathBuf::from("../out.pyembed");
    let other = run.pack(|_| {});
    assert_identical("relative via ..", &reference, &other);

    // Absolute everything, from `/`.
    let mut run = fx.run("cwd /", &root, &[]);
    run.cwd = Path::new("/");
    let other = run.pack(|_| {});
    assert_identical("cwd /", &reference, &other);
}

#[test]
fn absolute_input_path_does_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    // A copy at a longer, non-ASCII path (paths never reach the container).
    let copy = fx
        .path()
        .join("a much/longer pläce/for the same")
        .join("tree");
    create_tree(&copy, Order::Forward);
    let other = fx.run("copied elsewhere", &copy, &[]).pack(|_| {});
    assert_identical("copied elsewhere", &reference, &other);

    // The same tree reached through a symlink.
    let link = fx.path().join("link");
    std::os::unix::fs::symlink(&copy, &link).unwrap();
    let other = fx.run("through a symlink", &link, &[]).pack(|_| {});
    assert_identical("through a symlink", &reference, &other);
}

#[test]
fn directory_listing_order_does_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    let mut unsorted = unsorted_listings(&fx.reference_root());
    let mut roots = Vec::new();
    for order in [Order::Reverse, Order::Shuffled] {
        let root = fx.path().join(format!("{order:?}"));
        create_tree(&root, order);
        roots.push((format!("created in {order:?} order"), root));
    }
    // tmpfs lists newest first, ext4 (the usual /tmp) in hash order: trees
    // on both make sure some listing is not in byte order, whatever the
    // scratch directory's file system.
    let shm = tempfile::Builder::new()
        .prefix("pack-repro-")
        .tempdir_in("/dev/shm")
        .ok();
    if let Some(shm) = &shm {
        for order in [Order::Forward, Order::Reverse] {
            let root = shm.path().join(format!("{order:?}"));
            create_tree(&root, order);
            roots.push((format!("tmpfs, created in {order:?} order"), root));
        }
    }
    for (label, root) in &roots {
        unsorted.extend(unsorted_listings(root));
        let other = fx.run(label, root, &[]).pack(|_| {});
        assert_identical(label, &reference, &other);
    }
    assert!(
        !unsorted.is_empty(),
        "every directory listed in byte order: this test proved nothing"
    );
}

#[test]
fn locale_and_python_environment_do_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&[]);
    let root = fx.reference_root();
    let environments: &[(&str, &[(&str, &str)])] = &[
        ("LC_ALL=C", &[("LC_ALL", "C")]),
        ("LC_ALL=C.UTF-8", &[("LC_ALL", "C.UTF-8")]),
        ("LC_ALL=POSIX", &[("LC_ALL", "POSIX")]),
        // Usually not installed: a missing locale must not matter either.
        ("LANG=de_DE.UTF-8", &[("LANG", "de_DE.UTF-8")]),
        (
            "LANG=tr_TR.ISO-8859-9",
            &[
                ("LANG", "tr_TR.ISO-8859-9"),
                ("LC_CTYPE", "tr_TR.ISO-8859-9"),
            ],
        ),
        // The compile workers run isolated: Python's variables are ignored.
        (
            "PYTHON* variables",
            &[
                ("PYTHONOPTIMIZE", "2"),
                ("PYTHONWARNINGS", "error"),
                ("PYTHONUTF8", "0"),
                ("PYTHONIOENCODING", "latin-1"),
                ("PYTHONPATH", "/nonexistent"),
                ("PYTHONDONTWRITEBYTECODE", "1"),
                ("PYTHONINTMAXSTRDIGITS", "640"),
            ],
        ),
        (
            "HOME, TMPDIR, USER",
            &[
                ("HOME", "/nonexistent"),
                ("TMPDIR", "/nonexistent"),
                ("USER", "somebody-else"),
            ],
        ),
        ("TZ=Pacific/Kiritimati", &[("TZ", "Pacific/Kiritimati")]),
        ("SOURCE_DATE_EPOCH=0", &[("SOURCE_DATE_EPOCH", "0")]),
    ];
    for (label, vars) in environments {
        let other = fx.run(label, &root, &[]).pack(|cmd| {
            for var in ["LC_ALL", "LC_CTYPE", "LANG", "LANGUAGE"] {
                cmd.env_remove(var);
            }
            cmd.envs(vars.iter().copied());
        });
        assert_identical(label, &reference, &other);
    }
}

/// Worker count changes which modules each compile worker sees before the
/// next one: with `-j1` one worker compiles `app.alpha` (identifier `é`)
/// before `app.omega` (constant `"é"`), with `-j64` every module gets a
/// fresh worker. See `intern_shared_strings` in `src/pack/compile.rs`.
#[test]
fn parallelism_does_not_matter() {
    let fx = Fixture::new();
    let reference = fx.reference(&["-j3"]);
    let root = fx.reference_root();
    for jobs in ["-j1", "-j2", "-j7", "-j64"] {
        let other = fx.run(jobs, &root, &[jobs]).pack(|_| {});
        assert_identical(jobs, &reference, &other);
    }
    // One CPU: the default job count and the zstd thread count both change.
    if Command::new("taskset").arg("-V").output().is_ok() {
        let mut run = fx.run("taskset one CPU", &root, &[]);
        run.wrapper = &["taskset", "-c", "0"];
        let other = run.pack(|_| {});
        assert_identical("taskset one CPU", &reference, &other);
    }
}

/// Compressed containers (zstd, with dictionary training under `all`) are as
/// reproducible as raw ones, under the perturbations most likely to reach
/// the compressor: order of inputs, worker count, CPU count, hash seed.
#[test]
fn compressed_containers_are_reproducible() {
    let fx = Fixture::new();
    let reversed = fx.path().join("reversed");
    create_tree(&reversed, Order::Reverse);
    let ref_root = fx.reference_root();
    let options: &[&[&str]] = &[
        &["--compress"],
        &["--compress", "auto"],
        &["--compress", "all"],
        &["--compress", "all", "--opt", "0,1,2", "--sources", "strip"],
        &["--opt", "2,0", "--sources", "keep"],
    ];
    for extra in options {
        let reference = fx.reference(extra);
        let label = |what: &str| format!("{} {what}", extra.join(" "));
        let mut extra_j1: Vec<&str> = extra.to_vec();
        extra_j1.push("-j1");
        let mut extra_j5: Vec<&str> = extra.to_vec();
        extra_j5.push("-j5");

        let other = fx
            .run(&label("seed 7 -j1"), &ref_root, &extra_j1)
            .pack(|cmd| {
                cmd.env("PYTHONHASHSEED", "7");
            });
        assert_identical(&label("seed 7 -j1"), &reference, &other);

        let other = fx
            .run(&label("reversed tree -j5"), &reversed, &extra_j5)
            .pack(|_| {});
        assert_identical(&label("reversed tree -j5"), &reference, &other);

        if Command::new("taskset").arg("-V").output().is_ok() {
            let one_cpu = label("one CPU");
            let mut run = fx.run(&one_cpu, &ref_root, extra);
            run.wrapper = &["taskset", "-c", "0"];
            let other = run.pack(|_| {});
            assert_identical(&one_cpu, &reference, &other);
        }
    }
    // `all` really compressed: the container has tier-1 groups.
    let all = fx.reference(&["--compress", "all"]);
    let container = Container::from_bytes(&all.bytes).unwrap();
    assert!(!container.layout().groups.is_empty(), "nothing compressed");
}

/// Everything at once: another place, another creation order, old mtimes,
/// another seed, locale, umask, cwd, output name and job count.
#[test]
fn all_perturbations_at_once() {
    let fx = Fixture::new();
    let reference = fx.reference(&["--compress", "all"]);
    let root = fx.path().join("another/place");
    create_tree(&root, Order::Shuffled);
    touch_all(
        &root,
        SystemTime::UNIX_EPOCH + Duration::from_secs(315_619_200),
    );
    let mut run = fx.run(
        "everything",
        Path::new("place"),
        &["--compress", "all", "-j2"],
    );
    run.cwd = root.parent().unwrap();
    run.wrapper = &["sh", "-c", "umask 027; exec \"$0\" \"$@\""];
    run.output = PathBuf::from("elsewhere.bin");
    let other = run.pack(|cmd| {
        cmd.env("PYTHONHASHSEED", "123").env("LC_ALL", "C");
    });
    assert_identical("everything", &reference, &other);
}

/// Every input of the fixture reached the container, so the tests above
/// compare something meaningful.
#[test]
fn the_fixture_packs_what_it_should() {
    let fx = Fixture::new();
    let packed = fx.reference(&[]);
    let container = Container::from_bytes(&packed.bytes).unwrap();
    let names: Vec<&str> = container.summaries().map(|s| s.name).collect();
    for expected in [
        "app",
        "app.__main__",
        "app.alpha",
        "app.omega",
        "app.caf\u{e9}",
        "app.core",
        "app.legacy",
        "app.names",
        "app.sub",
        "app.sub.deep",
        "app.sub.deep.leaf",
        "app.tool",
        "chardet_lite",
        "chardet_lite-2.0.dist-info",
        "chardet_lite.enums",
        "nsp",
        "nsp.plugins",
        "nsp.plugins.alpha",
        "nsp.plugins.beta",
        "requests_lite",
        "requests_lite-2.31.0.dist-info",
        "requests_lite.adapters",
        "top",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let app = container.resource("app").unwrap().unwrap();
    let data = app.in_memory_package_resources.as_ref().unwrap();
    let mut keys: Vec<&str> = data.keys().map(|k| k.as_ref()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "data/blob.bin",
            "data/config.json",
            "data/templates/page.html",
            "py.typed"
        ]
    );
    let dist = container
        .resource("requests_lite-2.31.0.dist-info")
        .unwrap()
        .unwrap();
    let mut keys: Vec<&str> = dist
        .in_memory_distribution_resources
        .as_ref()
        .unwrap()
        .keys()
        .map(|k| k.as_ref())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "INSTALLER",
            "METADATA",
            "RECORD",
            "WHEEL",
            "entry_points.txt",
            "licenses/LICENSE",
            "top_level.txt"
        ]
    );
    let nsp = container.resource("nsp.plugins").unwrap().unwrap();
    assert!(nsp.is_python_namespace_package);
    for module in [
        "app.legacy",
        "app.tool",
        "app.names",
        "app.caf\u{e9}",
        "app.core",
    ] {
        let resource = container.resource(module).unwrap().unwrap();
        assert!(
            resource.in_memory_bytecode.is_some(),
            "{module} not compiled"
        );
    }
}

// ---- the real standard library ---------------------------------------------

/// The linked CPython's standard library (Debian's 3.11 by default).
const STDLIB: &str = env!("PYEMBED_LINKED_STDLIB");

/// The whole standard library, with the bundled policy and `--compress auto`
/// (so dictionary training runs on real data), under two hash seeds and
/// worker counts. Each worker compiles a different share of the modules, so
/// this also shows that nothing a worker compiled earlier (interned strings,
/// caches) leaks into a later module's bytecode.
#[test]
fn stdlib_packs_identically_across_seeds_and_jobs() {
    if !Path::new(STDLIB).join("os.py").is_file() {
        eprintln!("skipped: no standard library at {STDLIB}");
        return;
    }
    let scratch = TempDir::new().unwrap();
    let pack = |label: &str, seed: &str, jobs: &str| {
        let run = Run {
            label,
            wrapper: &[],
            cwd: scratch.path(),
            args: ["--stdlib", STDLIB, "--compress", "auto", jobs]
                .iter()
                .map(OsString::from)
                .collect(),
            output: scratch.path().join(format!("{label}.pyembed")),
        };
        run.pack(|cmd| {
            cmd.env("PYTHONHASHSEED", seed);
        })
    };
    let reference = pack("seed0-j1", "0", "-j1");
    let other = pack("seed1-j2", "1", "-j2");
    assert_identical("stdlib: seed 1, -j2", &reference, &other);
    let container = Container::from_bytes(&reference.bytes).unwrap();
    assert!(container.resource_count() > 500, "too few resources");
    // 3.11's standard library has enough in tier 1 for `auto` to train a
    // dictionary; 3.13's (without PEP 594's modules) may not.
    if pyembed::LINKED_PYTHON_VERSION == "3.11" {
        assert!(
            container.layout().dictionary.length > 0,
            "no dictionary was trained, so training was not compared"
        );
    } else if container.layout().dictionary.length == 0 {
        eprintln!("note: no dictionary was trained for this standard library");
    }
}
