//! Which CPython `pyembed build` and `pyembed pack` use.
//!
//! Bytecode must come from the interpreter that will run it, and a built
//! executable is a copy of a launcher linked against one CPython. This
//! `pyembed` links one CPython itself (Debian's `libpython3.11-pic.a` by
//! default: quick to build against, but not optimised). A **toolchain** is
//! another build of this same `pyembed`, with its `pyembed-launcher`, linked
//! against a pinned CPython built from source (PGO, LTO at the final link;
//! see docs/cpython.md). `python-stdlib/cpython/toolchain.sh 3.11` makes one:
//!
//! ```text
//! <toolchains>/3.11/bin/pyembed            pyembed linked against the pinned CPython
//! <toolchains>/3.11/bin/pyembed-launcher   the launcher built executables copy
//! <toolchains>/3.11/lib/python3.11/        that CPython's standard library
//! ```
//!
//! where `<toolchains>` is `$PYEMBED_TOOLCHAINS`, else
//! `$XDG_CACHE_HOME/pyembed/toolchains`, else `~/.cache/pyembed/toolchains`.
//!
//! With `--cpython auto` (the default), `build` and `pack` hand the whole
//! command over to the toolchain of the requested Python version when one
//! exists and was built from the same sources as this `pyembed` (its
//! `--version` says so); otherwise they run here, with the linked CPython,
//! when its version is the requested one. Either way one line on stderr says
//! which CPython is used. `--cpython pinned` insists on a toolchain;
//! `--cpython linked` never uses one.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, ValueEnum};

/// Set in the environment of a toolchain's `pyembed` started by another, so
/// that it never hands the command on again.
const ACTIVE_ENV: &str = "PYEMBED_TOOLCHAIN_ACTIVE";

/// This build's `--version` text: the package version, then one `key: value`
/// line per fact a caller may check.
pub fn long_version() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{}\nsources: {}\npython-version: {}\ncpython: {}",
            env!("CARGO_PKG_VERSION"),
            pyembed::SOURCE_DIGEST,
            pyembed::LINKED_PYTHON_VERSION,
            pyembed::LINKED_CPYTHON
        )
    });
    &TEXT
}

/// Options choosing the CPython (shared by `build` and `pack`).
#[derive(Debug, Default, Args)]
pub struct CpythonArgs {
    /// The Python version to build for, e.g. 3.11 or 3.13 [default: the version
    /// this pyembed links].
    #[arg(long, value_name = "X.Y", value_parser = parse_series)]
    pub python_version: Option<String>,
    /// Which CPython compiles and runs the output [default: auto].
    #[arg(long, value_enum, value_name = "WHICH")]
    pub cpython: Option<CpythonChoice>,
}

/// `--cpython`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpythonChoice {
    /// The pinned toolchain of the version when there is a usable one, else
    /// the CPython this pyembed links.
    #[default]
    Auto,
    /// The pinned toolchain of the version; an error when there is none.
    Pinned,
    /// The CPython this pyembed links.
    Linked,
}

pub fn parse_series(s: &str) -> Result<String, String> {
    match s.split_once('.') {
        Some((major, minor))
            if !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(s.to_owned())
        }
        _ => Err(format!("`{s}` is not a Python version like 3.11 or 3.13")),
    }
}

/// What this process runs as.
fn linked_series() -> &'static str {
    pyembed::LINKED_PYTHON_VERSION
}

/// The value of the `key: value` line for `key` in `text`: the form of
/// `pyembed --version` and of a launcher's `--pyembed-describe`.
pub fn described(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
        .map(str::to_owned)
}

/// The directory holding one toolchain per Python version.
pub fn toolchains_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PYEMBED_TOOLCHAINS").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(cache.join("pyembed").join("toolchains"))
}

/// A toolchain's `pyembed --version`, parsed.
#[derive(Debug)]
struct Toolchain {
    pyembed: PathBuf,
    sources: String,
    python_version: String,
    cpython: String,
}

/// Why a toolchain directory cannot be used.
fn inspect_toolchain(dir: &Path, series: &str) -> Result<Toolchain, String> {
    let pyembed = dir.join("bin").join("pyembed");
    if !pyembed.is_file() {
        return Err(format!("{} does not exist", pyembed.display()));
    }
    let launcher = dir.join("bin").join("pyembed-launcher");
    if !launcher.is_file() {
        return Err(format!("{} does not exist", launcher.display()));
    }
    let stdlib = dir.join("lib").join(format!("python{series}"));
    if !stdlib.join("os.py").is_file() {
        return Err(format!(
            "{} is not a standard library (no os.py)",
            stdlib.display()
        ));
    }
    let output = std::process::Command::new(&pyembed)
        .arg("--version")
        .env_remove(ACTIVE_ENV)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", pyembed.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --version failed ({})",
            pyembed.display(),
            output.status
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| {
        described(&text, key)
            .ok_or_else(|| format!("{} --version does not say `{key}`", pyembed.display()))
    };
    let (sources, python_version, cpython) = (
        field("sources")?,
        field("python-version")?,
        field("cpython")?,
    );
    let toolchain = Toolchain {
        pyembed,
        sources,
        python_version,
        cpython,
    };
    if toolchain.python_version != series {
        return Err(format!(
            "{} links CPython {}, not {series}",
            toolchain.pyembed.display(),
            toolchain.python_version
        ));
    }
    let ours = pyembed::SOURCE_DIGEST;
    if toolchain.sources != ours {
        return Err(format!(
            "{} was built from other sources (digest {}, this pyembed {})",
            toolchain.pyembed.display(),
            short(&toolchain.sources),
            short(ours)
        ));
    }
    Ok(toolchain)
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Decides where the command runs. Returns normally when it runs in this
/// process; otherwise replaces this process with the toolchain's `pyembed`
/// (same arguments) and never returns, or fails.
pub fn select(args: &CpythonArgs, command: &str) -> anyhow::Result<()> {
    let series = args.python_version.as_deref().unwrap_or(linked_series());
    let choice = args.cpython.unwrap_or_default();
    let here = || {
        eprintln!(
            "pyembed {command}: CPython {series}: {} (this pyembed)",
            pyembed::LINKED_CPYTHON
        );
    };
    let hint = format!(
        "hint: build the pinned toolchain with `python-stdlib/cpython/toolchain.sh {series}` \
         (see docs/build.md)"
    );

    // Started by another pyembed as the toolchain: run here, whatever the
    // choice, as long as the version is right. That pyembed has already
    // said which CPython runs.
    if std::env::var_os(ACTIVE_ENV).is_some() {
        if series != linked_series() {
            bail!(
                "this pyembed ({}) links CPython {}, but {series} was asked for",
                current_exe_display(),
                linked_series()
            );
        }
        return Ok(());
    }

    if choice == CpythonChoice::Linked {
        if series != linked_series() {
            bail!(
                "--cpython linked: this pyembed links CPython {}, not {series}\n{hint}, or drop \
                 --cpython linked",
                linked_series()
            );
        }
        here();
        return Ok(());
    }

    let toolchain = match toolchains_root() {
        None => Err("neither PYEMBED_TOOLCHAINS, XDG_CACHE_HOME nor HOME is set".to_owned()),
        Some(root) => {
            let dir = root.join(series);
            if dir.exists() {
                inspect_toolchain(&dir, series)
            } else {
                Err(format!("there is no toolchain at {}", dir.display()))
            }
        }
    };
    match toolchain {
        Ok(toolchain) if is_current_exe(&toolchain.pyembed) => {
            here();
            Ok(())
        }
        Ok(toolchain) => {
            eprintln!(
                "pyembed {command}: CPython {series}: {} (toolchain {})",
                toolchain.cpython,
                toolchain.pyembed.display()
            );
            Err(exec(&toolchain.pyembed))
        }
        Err(why) => {
            if choice == CpythonChoice::Auto && series == linked_series() {
                if !why.starts_with("there is no toolchain") {
                    eprintln!("pyembed {command}: not using the pinned toolchain: {why}\n{hint}");
                }
                here();
                return Ok(());
            }
            if choice == CpythonChoice::Pinned {
                bail!("--cpython pinned: {why}\n{hint}");
            }
            bail!(
                "this pyembed links CPython {}, and no toolchain for {series} can be used: \
                 {why}\n{hint}",
                linked_series()
            )
        }
    }
}

fn current_exe_display() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "pyembed".into())
}

fn is_current_exe(path: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    match (std::env::current_exe().ok(), canonical(path)) {
        (Some(exe), Some(path)) => canonical(&exe).is_some_and(|exe| exe == path),
        _ => false,
    }
}

/// Replaces this process with `pyembed` and this process's own arguments.
/// Returns only on failure.
fn exec(pyembed: &Path) -> anyhow::Error {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut command = std::process::Command::new(pyembed);
    command.args(&args).env(ACTIVE_ENV, "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        anyhow::anyhow!("cannot run {}: {error}", pyembed.display())
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(error) => anyhow::anyhow!("cannot run {}: {error}", pyembed.display()),
        }
    }
}

/// The configuration of the interpreter this pyembed starts in its own
/// process (to compile bytecode, or to ask where its standard library is):
/// isolated, no `site`, `argv[0]` as given, and `home` set only when
/// CPython's own search would miss the standard library.
///
/// CPython looks for its standard library next to the executable
/// (`<exe>/../lib/pythonX.Y/os.py`: a toolchain's `lib` link) and then under
/// its compiled-in prefix (`/usr` for Debian's). The pinned build's prefix
/// (`/opt/pyembed/cpython-X.Y.Z`) is a fixed name for reproducibility, not
/// where the build cache puts it, so a pyembed linking the pinned CPython
/// outside a toolchain (`cargo build` with its `PYO3_CONFIG_FILE`) is
/// pointed at the standard library of that build, as build.rs found it.
pub fn linked_interpreter_config(argv0: &str) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    let mut config = pyembed::OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.profile = pyembed::PythonInterpreterProfile::Isolated;
    config.interpreter_config.parse_argv = Some(false);
    config.interpreter_config.site_import = Some(false);
    config.interpreter_config.home = linked_home(std::env::current_exe().ok().as_deref());
    config.argv = Some(vec![argv0.into()]);
    config.multiprocessing_start_method = pyembed::MultiprocessingStartMethod::None;
    config
}

/// The `home` for [`linked_interpreter_config`]: `None` when a standard
/// library lies next to `exe` or under the compiled-in prefix, else the
/// prefix of the standard library build.rs recorded, if it exists.
fn linked_home(exe: Option<&Path>) -> Option<PathBuf> {
    let stdlib_under = |prefix: &Path| {
        prefix
            .join("lib")
            .join(format!("python{}", pyembed::LINKED_PYTHON_VERSION))
            .join("os.py")
            .is_file()
    };
    if exe
        .and_then(Path::parent)
        .and_then(Path::parent)
        .is_some_and(stdlib_under)
    {
        return None;
    }
    let recorded = Path::new(pyembed::LINKED_STDLIB);
    let prefix = recorded.parent()?.parent()?;
    stdlib_under(prefix).then(|| prefix.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_major_dot_minor() {
        assert_eq!(parse_series("3.13").unwrap(), "3.13");
        for bad in ["3", "3.", ".11", "3.11.2", "three.x", "", "3.1a"] {
            assert!(parse_series(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_version_names_every_checked_fact() {
        for key in ["sources: ", "python-version: ", "cpython: "] {
            assert!(long_version().contains(key), "{}", long_version());
        }
        assert_eq!(pyembed::SOURCE_DIGEST.len(), 64);
    }
}
