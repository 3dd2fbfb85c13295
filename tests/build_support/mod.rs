//! Helpers for the `build_*` tests: build executables with `pyembed build`
//! and run them the way a user would, somewhere else, with nothing set.
//!
//! Packing the standard library takes seconds, so it is packed once per
//! `pyembed` binary (keyed by its size and modification time) into Cargo's
//! per-target temporary directory and reused through `--stdlib-container`
//! by every build of every test binary. Built executables are cached the
//! same way, keyed by the binaries involved and the build arguments.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The `pyembed` CLI.
pub const PYEMBED: &str = env!("CARGO_BIN_EXE_pyembed");
/// The bare launcher `pyembed build` appends payloads to.
pub const LAUNCHER: &str = env!("CARGO_BIN_EXE_pyembed-launcher");
/// The `python` executable of the CPython build the crate links (never the
/// `python3` on `PATH`): Debian's `/usr/bin/python3.11` by default.
pub const SYSTEM_PYTHON: &str = env!("PYEMBED_LINKED_PYTHON_EXECUTABLE");
/// Its standard library (`/usr/lib/python3.11` for Debian's).
pub const STDLIB: &str = env!("PYEMBED_LINKED_STDLIB");

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("build-tests");
    std::fs::create_dir_all(&dir).expect("creating the build-test cache");
    dir
}

fn binary_key(path: &str) -> String {
    let meta = std::fs::metadata(path).expect("the binary exists");
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{}-{modified}", meta.len())
}

/// The standard library packed once (no compressed tier), shared by every
/// build in every test binary.
pub fn stdlib_container() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let output = cache_dir().join(format!("stdlib-{}.pyembed", binary_key(PYEMBED)));
        if !output.exists() {
            let partial = output.with_extension(format!("partial-{}", std::process::id()));
            let result = Command::new(PYEMBED)
                .args(["pack", "--stdlib", STDLIB, "-o"])
                .arg(&partial)
                .output()
                .expect("running pyembed pack");
            assert!(
                result.status.success(),
                "pyembed pack failed:\n{}",
                text(&result)
            );
            std::fs::rename(&partial, &output).expect("moving the container into place");
        }
        output
    })
    .clone()
}

/// A fresh directory under the system temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory named after `label`.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pyembed-build-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir(std::fs::canonicalize(&path).expect("canonical temporary directory"))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to the relative path `name`, creating directories.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("writing a test file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stdout and stderr of `output`, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `pyembed build` with `args` (the stdlib container is added unless
/// the arguments name a stdlib) in `cwd`.
pub fn pyembed_build(cwd: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(PYEMBED);
    command.arg("build").current_dir(cwd);
    if !args.iter().any(|a| a.starts_with("--stdlib")) {
        command.arg("--stdlib-container").arg(stdlib_container());
    }
    command.args(args);
    if !args.contains(&"--launcher") {
        command.arg("--launcher").arg(LAUNCHER);
    }
    command.output().expect("running pyembed build")
}

/// FNV-1a, for cache keys that stay the same across processes.
fn fnv(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain([0u8].iter()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Builds an executable from `args`, run in `cwd`, and returns its path.
///
/// Built once per `label` and argument list for a given set of binaries
/// (`pyembed`, the launcher and this test binary, which holds the test
/// trees): nextest runs every test in its own process, so the cache is a
/// directory, and a file is renamed into place only when complete.
pub fn built(label: &str, cwd: &Path, args: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let binaries = fnv(&[
        binary_key(PYEMBED).as_bytes(),
        binary_key(LAUNCHER).as_bytes(),
        binary_key(exe.to_str().expect("UTF-8 path")).as_bytes(),
    ]);
    // Test binaries run in parallel and share the cache: each owns the
    // entries under its own name (`build_app`, `build_python`, ...), so one
    // never removes what another is about to run.
    let owner = exe
        .file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(|stem| stem.rsplit_once('-').map(|(name, _hash)| name.to_owned()))
        .unwrap_or_else(|| "tests".to_owned());
    let dir = cache_dir().join("executables");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let prefix = format!("{owner}.{binaries}");
    remove_stale_executables(&dir, &owner, &prefix);
    let key = fnv(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
    let output = dir.join(format!("{prefix}-{label}-{key}"));
    if output.exists() {
        return output;
    }
    let partial = dir.join(format!("partial-{}-{label}", std::process::id()));
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", partial.to_str().expect("UTF-8 path")]);
    let result = pyembed_build(cwd, &all);
    assert!(
        result.status.success(),
        "pyembed build {args:?} failed:\n{}",
        text(&result)
    );
    std::fs::rename(&partial, &output).expect("moving the executable into place");
    output
}

/// Removes this test binary's executables built by other binaries (a
/// previous build of the tests or of pyembed), and partial files of
/// processes that are gone: each is tens of megabytes.
fn remove_stale_executables(dir: &Path, owner: &str, current: &str) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let stale = match name.strip_prefix("partial-") {
                Some(rest) => rest
                    .split('-')
                    .next()
                    .is_some_and(|pid| !Path::new("/proc").join(pid).exists()),
                None => name.starts_with(&format!("{owner}.")) && !name.starts_with(current),
            };
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
}

/// The hermetic python.
pub fn built_python() -> PathBuf {
    built(
        "python",
        Path::new("/"),
        &["--python", "--compress", "none"],
    )
}

/// A command for `exe` with an empty environment, run from a scratch
/// directory that is neither the executable's nor the repository's.
pub fn clean(exe: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(exe);
    command.env_clear().current_dir(cwd);
    command
}

/// Runs `command` with `stdin` as its standard input.
pub fn run_with_stdin(command: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the command");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin).expect("writing stdin");
    drop(pipe);
    child.wait_with_output().expect("waiting for the command")
}

/// Whether `unshare -rm` can bind-mount here (user namespaces allowed).
pub fn namespaces_work() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        Command::new("unshare")
            .args(["-rm", "sh", "-c", "mount -t tmpfs none /mnt"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// `exe args...` in a private mount namespace where an empty directory
/// hides the host's standard library, with an empty environment.
pub fn with_stdlib_hidden(exe: &Path, args: &[&str], cwd: &Path) -> Command {
    let mut command = Command::new("unshare");
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(cwd)
        .args([
            "-rm",
            "sh",
            "-c",
            r#"mount -t tmpfs none "$1" && [ ! -e "$1/os.py" ] && shift && exec env -i "$@""#,
            "sh",
            STDLIB,
        ])
        .arg(exe)
        .args(args);
    command
}

/// A directory holding only `exe` (as `/<name>`), the C libraries `ldd`
/// lists for it, at their paths, and an empty `/proc` for the kernel's
/// process filesystem (extension modules are loaded from memory through
/// `/proc/self/fd`, as in any container runtime).
pub fn empty_root(exe: &Path, name: &str) -> TempDir {
    let root = TempDir::new("root");
    std::fs::create_dir(root.path().join("proc")).expect("mkdir proc");
    std::fs::copy(exe, root.path().join(name)).expect("copying the executable");
    let ldd = Command::new("ldd").arg(exe).output().expect("running ldd");
    assert!(ldd.status.success(), "ldd failed:\n{}", text(&ldd));
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let Some(path) = line.split_whitespace().find(|w| w.starts_with('/')) else {
            continue;
        };
        let target = root.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(path, &target).expect("copying a library");
    }
    root
}

/// `/<name> args...` chrooted into `root` (as an unprivileged user's
/// namespace root, in new mount and PID namespaces with `/proc` mounted),
/// with an empty environment.
pub fn in_root(root: &Path, name: &str, args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .args(["-rmpf"])
        .arg(format!("--mount-proc={}", root.join("proc").display()))
        .arg("chroot")
        .arg(root)
        .arg(format!("/{name}"))
        .args(args);
    command
}
