//! Build script: check that pyo3 is about to link a *static* CPython, say which
//! one (`pyembed::LINKED_CPYTHON`), and make this package's own executables
//! export their symbols for extension modules.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-env-changed=PYO3_CONFIG_FILE");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PYEMBED_CPYTHON_LTO_LINK");

    let config = pyo3_build_config::get();
    pyo3_build_config::use_pyo3_cfgs();

    if config.shared() {
        fail(
            "pyo3 is configured to link a shared libpython, but pyembed embeds a static CPython.\n\
             hint: set PYO3_CONFIG_FILE to a file with `shared=false` (the repository's \
             .cargo/config.toml does this for Debian's libpython3.11-dev)",
        );
    }

    if let (Some(dir), Some(name)) = (config.lib_dir(), config.lib_name()) {
        let archive = Path::new(dir).join(format!("lib{name}.a"));
        println!("cargo::rerun-if-changed={}", archive.display());
        if !archive.is_file() {
            fail(&format!(
                "static CPython library {} does not exist.\n\
                 hint: on Debian/Ubuntu run `apt-get install libpython3.11-dev libexpat1-dev zlib1g-dev`, \
                 or point PYO3_CONFIG_FILE at another static CPython",
                archive.display()
            ));
        }
    }

    linked_cpython(config);
    source_digest();

    // Extension modules loaded at run time (from lib-dynload or from packed
    // resources) resolve `Py*` symbols against the executable itself, so the
    // executables of this package (tests, examples, the CLI) export them.
    // Downstream binaries do the same in their own build script; see the crate docs.
    // Only CPython's API (`Py*`, `_Py*`), not `--export-dynamic`: every
    // exported symbol that code reaches through the GOT costs a symbol
    // lookup at each start, and exporting the Rust symbols as well made
    // 1,056 of the launcher's 1,535 such relocations (docs/performance.md).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg=-Wl,--export-dynamic-symbol=Py*");
        println!("cargo::rustc-link-arg=-Wl,--export-dynamic-symbol=_Py*");
        // Daemon threads park instead of `pthread_exit` at finalisation (a
        // forced unwind through pyo3 frames aborts the process); see
        // src/interpreter/daemon_threads.rs.
        println!("cargo::rustc-link-arg=-Wl,--wrap=PyThread_exit_thread");
        // The launcher of built executables is not position-independent, as
        // python3.11 is not: a PIE with libpython in it carries ~45,000
        // relative relocations, which the dynamic linker applies (copying the
        // pages) at every start. See docs/build.md.
        println!("cargo::rustc-link-arg-bin=pyembed-launcher=-no-pie");
        // Lazy binding, as python3.11 has: rustc asks for `-z now`, which
        // makes the dynamic linker resolve all ~2,800 imported symbols at
        // every start (2.3x its time; LD_DEBUG=statistics), where a run
        // calls a fraction of them. The cost is partial instead of full
        // RELRO for the launcher, the same as python3.11's.
        println!("cargo::rustc-link-arg-bin=pyembed-launcher=-Wl,-z,lazy");
    }
}

/// Names the CPython this build links in `PYEMBED_LINKED_CPYTHON` (read by
/// `pyembed::LINKED_CPYTHON`), and, for the pinned build of
/// `python-stdlib/cpython/build.sh`, optionally links with GCC's LTO.
///
/// A pinned build is recognised by the `build-info.txt` that build.sh writes
/// next to its `lib/` directory; anything else is described by its library
/// path (Debian's `libpython3.11-pic.a` by default).
fn linked_cpython(config: &pyo3_build_config::InterpreterConfig) {
    let version = format!("{}.{}", config.version().major, config.version().minor);
    println!("cargo::rustc-env=PYEMBED_LINKED_PYTHON_VERSION={version}");
    // The `python` executable of the same CPython build and its standard
    // library (`<prefix>/lib/pythonX.Y` next to `<prefix>/bin`): the tests
    // compare against them and pack that standard library, whichever CPython
    // is linked. Empty when the pyo3 config names no executable.
    let executable = config.executable().unwrap_or("");
    let stdlib = Path::new(executable)
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("lib").join(format!("python{version}")))
        .filter(|_| !executable.is_empty());
    println!("cargo::rustc-env=PYEMBED_LINKED_PYTHON_EXECUTABLE={executable}");
    println!(
        "cargo::rustc-env=PYEMBED_LINKED_CACHE_TAG=cpython-{}{}",
        config.version().major,
        config.version().minor
    );
    println!(
        "cargo::rustc-env=PYEMBED_LINKED_STDLIB={}",
        stdlib.as_deref().unwrap_or(Path::new("")).display()
    );
    let Some(lib_dir) = config.lib_dir() else {
        println!(
            "cargo::rustc-env=PYEMBED_LINKED_CPYTHON=CPython {version} (no lib_dir in the pyo3 config)"
        );
        return;
    };
    let info_path = Path::new(lib_dir).join("..").join("build-info.txt");
    println!("cargo::rerun-if-changed={}", info_path.display());
    let Ok(info) = std::fs::read_to_string(&info_path) else {
        let lib = config.lib_name().unwrap_or("python");
        println!(
            "cargo::rustc-env=PYEMBED_LINKED_CPYTHON=CPython {version} from {lib_dir}/lib{lib}.a"
        );
        return;
    };
    let field = |key: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or("?")
            .to_owned()
    };
    println!(
        "cargo::rustc-env=PYEMBED_LINKED_CPYTHON=pinned CPython {} (tarball sha256 {}, archive sha256 {}, PGO+LTO)",
        field("version"),
        field("tarball_sha256"),
        field("archive_sha256"),
    );
    // The pinned archive holds fat LTO objects: PGO-optimised machine code,
    // which rustc's default linker (rust-lld) uses as is, plus GCC's
    // intermediate code, which rust-lld ignores. With
    // PYEMBED_CPYTHON_LTO_LINK=1 the executables of this package link with
    // GNU ld and GCC's LTO plugin instead, so GCC optimises the interpreter
    // across files once more at the final link (minutes per executable: for
    // release binaries and benchmarks, not test runs). See docs/cpython.md.
    if std::env::var("PYEMBED_CPYTHON_LTO_LINK").as_deref() == Ok("1") {
        for arg in ["-fuse-ld=bfd", "-flto=auto", "-fuse-linker-plugin", "-O3"] {
            println!("cargo::rustc-link-arg={arg}");
        }
    }
}

/// A SHA-256 over this package's sources (`Cargo.toml`, `build.rs` and every
/// file under `src/`, by relative path and content) in
/// `PYEMBED_SOURCE_DIGEST`. `pyembed --version` prints it, so `pyembed build`
/// can tell whether a toolchain built elsewhere (a pinned CPython's, see
/// docs/build.md) runs the same code as itself.
fn source_digest() {
    use sha2::{Digest, Sha256};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=Cargo.toml");
    let mut files = vec![root.join("Cargo.toml"), root.join("build.rs")];
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", dir.display())));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", dir.display())))
                .path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in &files {
        let relative = file.strip_prefix(root).unwrap_or(file);
        let content = std::fs::read(file)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", file.display())));
        let name = relative.to_string_lossy();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo::rustc-env=PYEMBED_SOURCE_DIGEST={digest}");
}

fn fail(message: &str) -> ! {
    for line in message.lines() {
        println!("cargo::error={line}");
    }
    std::process::exit(1);
}
