//! Containers for the `importer_*` tests, packed with the `pyembed` CLI.
//!
//! Packing the standard library takes seconds, so each container is packed
//! once and kept under Cargo's per-target temporary directory, named after a
//! digest of everything that determines its bytes (the `pyembed` binary's
//! size and modification time, the arguments, the application tree). A
//! forked child re-running a test function finds the parent's file there
//! instead of packing again. Files are written under a temporary name and
//! renamed into place, so a reader never sees a partial container.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest as _, Sha256};

/// The `pyembed` CLI built for these tests.
pub const PYEMBED: &str = env!("CARGO_BIN_EXE_pyembed");

/// The standard library the tests pack.
pub const STDLIB: &str = "/usr/lib/python3.11";

/// The application tree packed next to the standard library, as
/// `(relative path, contents)`.
pub fn app_tree() -> Vec<(&'static str, Vec<u8>)> {
    let mut victim =
        String::from("\"\"\"A module whose bytecode the corruption test damages.\"\"\"\n");
    // A 96 KiB constant: the bytecode spans several whole 16 KiB chunks, so
    // a chunk in its middle holds bytes of no other module.
    victim.push_str("BLOB = \"");
    for i in 0..96 * 1024 / 8 {
        victim.push_str(&format!("{:08x}", i * 2_654_435_761usize % 4_294_967_296));
    }
    victim.push_str("\"\nMARK = \"victim\"\n");
    vec![
        (
            "greet.py",
            b"\"\"\"A packed module.\"\"\"\n\
              GREETING = \"hello\"\n\
              \n\
              \n\
              def hello():\n    \
                  return GREETING\n\
              \n\
              \n\
              def fail():\n    \
                  raise ValueError(\"boom from greet\")\n"
                .to_vec(),
        ),
        ("pkgdemo/__init__.py", b"VALUE = 21\n".to_vec()),
        (
            "pkgdemo/sub.py",
            b"from . import VALUE\n\nDOUBLE = VALUE * 2\n".to_vec(),
        ),
        (
            "pkgdemo/inner/__init__.py",
            b"from ..sub import DOUBLE as ANSWER\n".to_vec(),
        ),
        ("nsdemo/part.py", b"WHERE = 'namespace portion'\n".to_vec()),
        (
            "latin1mod.py",
            b"# -*- coding: latin-1 -*-\nTEXT = '\xe9t\xe9'\n".to_vec(),
        ),
        ("optdemo.py", b"DEBUG = __debug__\n".to_vec()),
        (
            "boom.py",
            b"X = 1\nraise RuntimeError(\"boom at import\")\n".to_vec(),
        ),
        ("victim.py", victim.into_bytes()),
        ("victim_neighbour.py", b"OK = True\n".to_vec()),
    ]
}

/// A container of the standard library and [`app_tree`].
pub fn stdlib_and_app() -> PathBuf {
    packed("stdlib-app", &["--stdlib", STDLIB], true)
}

/// A container of [`app_tree`] alone.
pub fn app_only() -> PathBuf {
    packed("app", &[], true)
}

/// A container of [`app_tree`] without sources: bytecode only.
pub fn app_stripped() -> PathBuf {
    packed("app-stripped", &["--sources", "strip"], true)
}

/// A container of the standard library alone, with its rarely used modules
/// compressed (tier 1).
pub fn stdlib_compressed() -> PathBuf {
    packed(
        "stdlib-compressed",
        &["--stdlib", STDLIB, "--compress"],
        false,
    )
}

/// Packs (once) a container from `args`, plus `--path <app tree>` when
/// `with_app`, and returns its path.
pub fn packed(label: &str, args: &[&str], with_app: bool) -> PathBuf {
    static PACKED: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let cache = PACKED.get_or_init(Default::default);
    // One packing at a time in this process; other processes may race, and
    // the atomic rename below settles that.
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = cache.get(label) {
        return path.clone();
    }

    let tree = app_tree();
    let mut hasher = Sha256::new();
    let binary = std::fs::metadata(PYEMBED).expect("the pyembed binary exists");
    hasher.update(format!("{}:{:?}", binary.len(), binary.modified().ok()));
    for arg in args {
        hasher.update(arg.as_bytes());
        hasher.update([0]);
    }
    if with_app {
        for (name, contents) in &tree {
            hasher.update(name.as_bytes());
            hasher.update((contents.len() as u64).to_le_bytes());
            hasher.update(contents);
        }
    }
    let key: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("importer-containers");
    std::fs::create_dir_all(&dir).expect("creating the container cache");
    let output = dir.join(format!("{label}-{key}.pyembed"));
    if !output.exists() {
        let mut command = Command::new(PYEMBED);
        command.arg("pack").args(args);
        let app = dir.join(format!("{label}-{key}-app-{}", std::process::id()));
        if with_app {
            let _ = std::fs::remove_dir_all(&app);
            for (name, contents) in &tree {
                let path = app.join(name);
                std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
                std::fs::write(&path, contents).expect("writing the app tree");
            }
            command.arg("--path").arg(&app);
        }
        let partial = dir.join(format!("{label}-{key}.{}.partial", std::process::id()));
        let result = command
            .arg("-o")
            .arg(&partial)
            .output()
            .expect("running pyembed pack");
        let _ = std::fs::remove_dir_all(&app);
        assert!(
            result.status.success(),
            "pyembed pack {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::rename(&partial, &output).expect("moving the container into place");
    }
    cache.insert(label.to_string(), output.clone());
    output
}

/// A copy of the container at `path` with bit `bit` of the byte at
/// `offset` flipped, written to `out`.
pub fn flip_bit(path: &Path, offset: usize, bit: u8, out: &Path) {
    let mut bytes = std::fs::read(path).expect("reading the container");
    bytes[offset] ^= 1 << bit;
    std::fs::write(out, bytes).expect("writing the damaged container");
}
