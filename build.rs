//! Build script: check that pyo3 is about to link a *static* CPython, and make
//! this package's own executables export their symbols for extension modules.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-env-changed=PYO3_CONFIG_FILE");
    println!("cargo::rerun-if-changed=build.rs");

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

    // Extension modules loaded at run time (from lib-dynload or from packed
    // resources) resolve `Py*` symbols against the executable itself, so the
    // executables of this package (tests, examples, the CLI) export them.
    // Downstream binaries do the same in their own build script; see the crate docs.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg=-Wl,--export-dynamic");
        // Daemon threads park instead of `pthread_exit` at finalisation (a
        // forced unwind through pyo3 frames aborts the process); see
        // src/interpreter/daemon_threads.rs.
        println!("cargo::rustc-link-arg=-Wl,--wrap=PyThread_exit_thread");
        // The launcher of built executables is not position-independent, as
        // python3.11 is not: a PIE with libpython in it carries ~45,000
        // relative relocations, which the dynamic linker applies (copying the
        // pages) at every start. See docs/build.md.
        println!("cargo::rustc-link-arg-bin=pyembed-launcher=-no-pie");
    }
}

fn fail(message: &str) -> ! {
    for line in message.lines() {
        println!("cargo::error={line}");
    }
    std::process::exit(1);
}
