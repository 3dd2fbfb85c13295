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

/// The standard library the tests pack: the linked CPython's own
/// (`/usr/lib/python3.11` for Debian's).
pub const STDLIB: &str = env!("PYEMBED_LINKED_STDLIB");

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

/// A configuration (argv `prog`, `parse_argv` off) with the packed-resources
/// importer on, indexing `containers` (memory-mapped, in order), and the
/// filesystem importer on only when `filesystem_importer`.
pub fn importer_config<P: AsRef<Path>>(
    containers: &[P],
    filesystem_importer: bool,
) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    let mut config = pyembed::OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.parse_argv = Some(false);
    config.argv = Some(vec!["prog".into()]);
    config.oxidized_importer = true;
    config.filesystem_importer = filesystem_importer;
    if filesystem_importer {
        config.interpreter_config.home = super::support::linked_home();
    }
    config.packed_resources = containers
        .iter()
        .map(|path| pyembed::PackedResourcesSource::MemoryMappedPath(path.as_ref().to_path_buf()))
        .collect();
    config
}

/// [`importer_config`] with no filesystem importer: everything is imported
/// from `containers`.
pub fn hermetic_config<P: AsRef<Path>>(
    containers: &[P],
) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    importer_config(containers, false)
}

/// [`importer_config`] over [`stdlib_and_app`] followed by `more`.
pub fn stdlib_and_app_config(
    more: &[PathBuf],
    filesystem_importer: bool,
) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    let containers: Vec<PathBuf> = std::iter::once(stdlib_and_app())
        .chain(more.iter().cloned())
        .collect();
    importer_config(&containers, filesystem_importer)
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

/// Marker a test body prints once it has run inside the hidden-stdlib child.
#[allow(dead_code)] // not every importer test binary hides the stdlib
pub const HIDDEN_STDLIB_BODY_RAN: &str = "pyembed-test: hidden-stdlib body ran";

/// Re-run test `test_name` of this binary in a private user and mount
/// namespace where an empty directory is bind-mounted over the host stdlib,
/// with `child_var=1` and `env` set and every `PYTHON*` variable removed.
/// The child's body must print [`HIDDEN_STDLIB_BODY_RAN`].
///
/// Returns the child's combined output, or `None` (after printing why) when
/// this sandbox cannot create such a namespace.
#[allow(dead_code)]
pub fn run_with_stdlib_hidden(
    test_name: &str,
    child_var: &str,
    env: &[(String, String)],
) -> Option<String> {
    if !unshare_works() {
        eprintln!(
            "skipped: `unshare -rm` cannot create a user and mount namespace here, so the host \
             stdlib cannot be hidden"
        );
        return None;
    }
    let empty = super::support::TempDir::new("hidden-stdlib");
    let exe = std::env::current_exe().expect("the test executable");
    let mut command = Command::new("unshare");
    command
        .args([
            "-rm",
            "sh",
            "-c",
            r#"mount --bind "$0" "$1" && shift && exec "$@""#,
        ])
        .arg(empty.path())
        .arg(STDLIB)
        .arg(&exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(child_var, "1");
    for (name, value) in env {
        command.env(name, value);
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PYTHON") {
            command.env_remove(name);
        }
    }
    let output = command.output().expect("running unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the hidden-stdlib child failed:\n{text}"
    );
    assert!(
        text.contains(HIDDEN_STDLIB_BODY_RAN),
        "the child did not run the test body:\n{text}"
    );
    Some(text)
}

/// Whether this sandbox lets an unprivileged process bind-mount over the
/// host stdlib in a private namespace.
fn unshare_works() -> bool {
    Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount --bind /tmp /mnt 2>/dev/null || mount -t tmpfs none /mnt",
        ])
        .output()
        .is_ok_and(|output| output.status.success())
}
