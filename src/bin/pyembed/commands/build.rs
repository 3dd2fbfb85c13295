//! `pyembed build`: the standard library and an application → one executable.
//!
//! The output is a copy of the `pyembed-launcher` binary with a payload
//! appended (see `pyembed::resources::trailer` and docs/build.md): the
//! standard-library container (packed here, or reused with
//! `--stdlib-container`), the application's container when there are
//! application inputs, and the build configuration the launcher reads.
//!
//! Arguments come from the command line and, with `--config app.toml`, from
//! a TOML file with the same keys (flags win). The plan is validated before
//! anything is compiled: an entry point must name a packed module (and, for
//! `module:function`, a top-level name of it), a console-script name must
//! be declared by a packed `.dist-info`, and a wheel for another Python or
//! platform is refused by the scanner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use pyembed::launcher::{BuildConfig, EntryPoint, LaunchMode};
use pyembed::pack::packer::{Compression, PackOptions, Sources, SyntaxErrors};
use pyembed::pack::policy::Policy;
use pyembed::pack::scan::Input;
use pyembed::resources::{Container, DataField, PackedResourcesSource, trailer};
use pyembed::{BytecodeOptimizationLevel, MainPythonInterpreter, MemoryAllocatorBackend};
use pyo3::prelude::*;

use super::pack::{check_output, pack_inputs};
use super::toolchain::{self, CpythonArgs, CpythonChoice};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum CompressArg {
    /// Compress what the stdlib policy marks as rarely imported.
    Auto,
    /// Compress everything.
    All,
    /// Compress nothing.
    None,
}

/// Arguments of `pyembed build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build a `python3.11`-like interpreter (CPython's own command line).
    #[arg(long, conflicts_with = "entry")]
    python: bool,
    /// Build an application running `module`, `module:function` or a console
    /// script declared by a packed `.dist-info`; every argument goes to it.
    #[arg(long, value_name = "ENTRY")]
    entry: Option<String>,
    /// A source tree, like an entry of PYTHONPATH (repeatable).
    #[arg(long = "path", value_name = "DIR")]
    paths: Vec<PathBuf>,
    /// A site-packages directory (repeatable).
    #[arg(long = "site-packages", value_name = "DIR")]
    site_packages: Vec<PathBuf>,
    /// A wheel file (repeatable).
    #[arg(long = "wheel", value_name = "FILE")]
    wheels: Vec<PathBuf>,
    /// The standard library to pack [default: the one of the CPython pyembed links].
    #[arg(long, value_name = "DIR", conflicts_with = "stdlib_container")]
    stdlib: Option<PathBuf>,
    /// Reuse a standard-library container written by `pyembed pack --stdlib`.
    #[arg(long, value_name = "FILE")]
    stdlib_container: Option<PathBuf>,
    /// Which resources go to the zstd-compressed tier [default: auto].
    #[arg(long, value_enum, value_name = "WHICH")]
    compress: Option<CompressArg>,
    /// Bytecode optimization levels to store, comma-separated [default: 0].
    #[arg(long, value_delimiter = ',', value_parser = parse_level)]
    opt: Vec<BytecodeOptimizationLevel>,
    /// The memory allocator the executable's interpreter uses [default: default].
    #[arg(long, value_name = "BACKEND", value_parser = parse_allocator)]
    allocator: Option<MemoryAllocatorBackend>,
    /// Let this environment variable, when set at run time, name container
    /// files to use instead of the payload (off unless given).
    #[arg(long, value_name = "VAR")]
    resources_env: Option<String>,
    /// The launcher binary to append the payload to [default: pyembed-launcher
    /// next to this pyembed].
    #[arg(long, value_name = "FILE")]
    launcher: Option<PathBuf>,
    #[command(flatten)]
    cpython: CpythonArgs,
    /// A TOML file with the same keys as these options (flags win).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Parallel compile processes [default: number of CPUs].
    #[arg(short, long)]
    jobs: Option<usize>,
    /// The executable to write.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The `--config` file: the options' long names as keys. Relative paths are
/// relative to the file's directory.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    python: Option<bool>,
    entry: Option<String>,
    #[serde(default)]
    path: Vec<PathBuf>,
    #[serde(default)]
    site_packages: Vec<PathBuf>,
    #[serde(default)]
    wheel: Vec<PathBuf>,
    stdlib: Option<PathBuf>,
    stdlib_container: Option<PathBuf>,
    compress: Option<CompressArg>,
    opt: Option<Vec<u8>>,
    allocator: Option<String>,
    resources_env: Option<String>,
    launcher: Option<PathBuf>,
    output: Option<PathBuf>,
    python_version: Option<String>,
    cpython: Option<CpythonChoice>,
}

fn parse_level(s: &str) -> Result<BytecodeOptimizationLevel, String> {
    BytecodeOptimizationLevel::try_from(s).map_err(|e| e.to_string())
}

fn parse_allocator(s: &str) -> Result<MemoryAllocatorBackend, String> {
    MemoryAllocatorBackend::try_from(s).map_err(|e| e.to_string())
}

/// Where the standard library comes from.
#[derive(Debug)]
enum StdlibSource {
    Dir(PathBuf),
    Container(PathBuf),
}

/// The validated plan a build carries out.
#[derive(Debug)]
struct Plan {
    python: bool,
    entry: Option<String>,
    app_inputs: Vec<Input>,
    stdlib: Option<StdlibSource>,
    compression: Compression,
    levels: Vec<BytecodeOptimizationLevel>,
    allocator: MemoryAllocatorBackend,
    resources_env: Option<String>,
    launcher: PathBuf,
    output: PathBuf,
    jobs: Option<usize>,
}

fn absolute(path: &Path, base: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    };
    std::path::absolute(&path).with_context(|| format!("cannot resolve {}", path.display()))
}

fn plan(args: BuildArgs) -> anyhow::Result<Plan> {
    let (file, base) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let file: ConfigFile = toml::from_str(&text).with_context(|| {
                format!("{} is not a valid build configuration", path.display())
            })?;
            let base = absolute(path, None)?
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            (file, Some(base))
        }
        None => (ConfigFile::default(), None),
    };
    let base = base.as_deref();

    // Which CPython compiles and runs the output: here, or hand the whole
    // command to a pinned toolchain (see toolchain.rs). A launcher named
    // explicitly decides it, unless --cpython says otherwise.
    let explicit_launcher = args.launcher.is_some() || file.launcher.is_some();
    let cpython = CpythonArgs {
        python_version: match (args.cpython.python_version, file.python_version) {
            (Some(v), _) => Some(v),
            (None, Some(v)) => Some(
                toolchain::parse_series(&v)
                    .map_err(|e| anyhow!("python-version in the configuration: {e}"))?,
            ),
            (None, None) => None,
        },
        cpython: args
            .cpython
            .cpython
            .or(file.cpython)
            .or(if explicit_launcher {
                Some(CpythonChoice::Linked)
            } else {
                None
            }),
    };
    toolchain::select(&cpython, "build")?;

    let paths_of = |flags: &[PathBuf], file: &[PathBuf]| -> anyhow::Result<Vec<PathBuf>> {
        if flags.is_empty() {
            file.iter().map(|p| absolute(p, base)).collect()
        } else {
            flags.iter().map(|p| absolute(p, None)).collect()
        }
    };

    let entry = args.entry.or(file.entry);
    let python = args.python || (entry.is_none() && file.python.unwrap_or(false));
    if python && entry.is_some() {
        bail!("choose one of --python and --entry (the configuration file sets the other)");
    }
    if !python && entry.is_none() {
        bail!(
            "nothing to build\nhint: pass --python for a python3.11-like interpreter, or \
             --entry <module>[:<function>] for an application"
        );
    }

    let mut app_inputs = Vec::new();
    for p in paths_of(&args.paths, &file.path)? {
        app_inputs.push(Input::path(p));
    }
    for p in paths_of(&args.site_packages, &file.site_packages)? {
        app_inputs.push(Input::site_packages(p));
    }
    for p in paths_of(&args.wheels, &file.wheel)? {
        app_inputs.push(Input::wheel(p));
    }

    let stdlib = match (args.stdlib, args.stdlib_container) {
        (Some(dir), _) => Some(StdlibSource::Dir(absolute(&dir, None)?)),
        (None, Some(c)) => Some(StdlibSource::Container(absolute(&c, None)?)),
        (None, None) => match (file.stdlib, file.stdlib_container) {
            (Some(_), Some(_)) => bail!("the configuration sets both stdlib and stdlib-container"),
            (Some(dir), None) => Some(StdlibSource::Dir(absolute(&dir, base)?)),
            (None, Some(c)) => Some(StdlibSource::Container(absolute(&c, base)?)),
            (None, None) => None,
        },
    };

    let compression = match args.compress.or(file.compress).unwrap_or(CompressArg::Auto) {
        CompressArg::Auto => Compression::Auto,
        CompressArg::All => Compression::All,
        CompressArg::None => Compression::None,
    };
    let levels = if !args.opt.is_empty() {
        args.opt
    } else if let Some(levels) = file.opt {
        levels
            .iter()
            .map(|l| parse_level(&l.to_string()).map_err(|e| anyhow!("opt: {e}")))
            .collect::<anyhow::Result<_>>()?
    } else {
        vec![BytecodeOptimizationLevel::Zero]
    };
    let allocator = match (args.allocator, file.allocator) {
        (Some(a), _) => a,
        (None, Some(name)) => parse_allocator(&name).map_err(|e| anyhow!("allocator: {e}"))?,
        (None, None) => MemoryAllocatorBackend::Default,
    };
    let launcher = match args.launcher {
        Some(l) => absolute(&l, None)?,
        None => match file.launcher {
            Some(l) => absolute(&l, base)?,
            None => default_launcher()?,
        },
    };
    if !launcher.is_file() {
        bail!(
            "the launcher {} does not exist\nhint: build it with `cargo build --release --bin \
             pyembed-launcher` (it is built next to pyembed), or pass --launcher",
            launcher.display()
        );
    }
    let output = match args.output {
        Some(o) => o,
        None => match file.output {
            Some(o) => absolute(&o, base)?,
            None => bail!("no output file\nhint: pass -o <executable>"),
        },
    };
    check_output(&output)?;
    Ok(Plan {
        python,
        entry,
        app_inputs,
        stdlib,
        compression,
        levels,
        allocator,
        resources_env: args.resources_env.or(file.resources_env),
        launcher,
        output,
        jobs: args.jobs,
    })
}

fn default_launcher() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the pyembed executable")?;
    Ok(exe.with_file_name(format!("pyembed-launcher{}", std::env::consts::EXE_SUFFIX)))
}

/// Runs `pyembed build`.
pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(args)?;
    let launcher = std::fs::read(&plan.launcher)
        .with_context(|| format!("cannot read the launcher {}", plan.launcher.display()))?;
    if cfg!(target_os = "linux") && !launcher.starts_with(b"\x7fELF") {
        bail!(
            "the launcher {} is not an ELF executable\nhint: pass the pyembed-launcher binary \
             built with this pyembed",
            plan.launcher.display()
        );
    }
    if trailer::has_trailer(&launcher) {
        bail!(
            "{} already carries a payload (it is a built executable)\nhint: pass the bare \
             pyembed-launcher with --launcher",
            plan.launcher.display()
        );
    }
    // Before anything is compiled: the launcher runs the bytecode, so it must
    // link this pyembed's Python version.
    let cpython = launcher_cpython(&plan.launcher)?;

    let options = PackOptions {
        levels: plan.levels.clone(),
        sources: Sources::Keep,
        compression: plan.compression,
        syntax_errors: SyntaxErrors::Fail,
        write: Default::default(),
    };
    let policy = Policy::bundled()?;

    let stdlib = match &plan.stdlib {
        Some(StdlibSource::Container(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Container::open(&PackedResourcesSource::Memory(&bytes))
                .map_err(|e| anyhow!("{} is not a valid container: {e}", path.display()))?
                .verify_all()
                .map_err(|e| anyhow!("{} is damaged: {e}", path.display()))?;
            bytes
        }
        Some(StdlibSource::Dir(dir)) => pack_stdlib(dir, &policy, &options, plan.jobs)?,
        None => pack_stdlib(&linked_stdlib()?, &policy, &options, plan.jobs)?,
    };
    let stdlib_container = Container::open(&PackedResourcesSource::Memory(&stdlib))
        .map_err(|e| anyhow!("the standard-library container does not read back: {e}"))?;
    if !stdlib_container.contains("encodings") {
        bail!(
            "the standard-library container has no `encodings` package, so the interpreter \
             could not start\nhint: pass a container written by `pyembed pack --stdlib <dir>`"
        );
    }

    let app = if plan.app_inputs.is_empty() {
        None
    } else {
        Some(pack_inputs(&plan.app_inputs, &policy, options.clone(), plan.jobs)?.bytes)
    };
    let app_container = match &app {
        Some(bytes) => Some(
            Container::open(&PackedResourcesSource::Memory(bytes))
                .map_err(|e| anyhow!("the application container does not read back: {e}"))?,
        ),
        None => None,
    };
    // Priority order: the stdlib first, as on `sys.path`, so an application
    // cannot shadow it by accident.
    let mut containers: Vec<&Container<'_>> = vec![&stdlib_container];
    containers.extend(app_container.as_ref());

    let mode = match &plan.entry {
        None => LaunchMode::Python,
        Some(entry) => LaunchMode::App(resolve_entry(entry, &containers)?),
    };
    if !plan.python {
        if let LaunchMode::App(entry) = &mode {
            check_entry(entry, &containers)?;
        }
    }
    let config = BuildConfig {
        mode,
        allocator_backend: plan.allocator,
        resources_env: plan.resources_env.clone(),
        cpython: Some(cpython),
    };

    let mut parts: Vec<&[u8]> = vec![&stdlib];
    parts.extend(app.as_deref());
    let executable = trailer::assemble(&launcher, &parts, config.encode().as_bytes())
        .map_err(|e| anyhow!("cannot assemble the executable: {e}"))?;
    write_executable(&plan.output, &executable)?;
    eprintln!(
        "built {} ({} bytes: launcher {}, {} container(s)); {}; {}",
        plan.output.display(),
        executable.len(),
        launcher.len(),
        parts.len(),
        match &config.mode {
            LaunchMode::Python => "python mode".to_string(),
            LaunchMode::App(entry) => format!("entry point {entry}"),
        },
        config.cpython.as_deref().unwrap_or("CPython unknown"),
    );
    Ok(ExitCode::SUCCESS)
}

fn pack_stdlib(
    dir: &Path,
    policy: &Policy,
    options: &PackOptions,
    jobs: Option<usize>,
) -> anyhow::Result<Vec<u8>> {
    if !dir.join("os.py").is_file() {
        bail!(
            "{} is not a standard library directory (it has no os.py)\nhint: pass --stdlib <dir> \
             or --stdlib-container <file>",
            dir.display()
        );
    }
    Ok(pack_inputs(
        &[Input::stdlib(dir.to_path_buf())],
        policy,
        options.clone(),
        jobs,
    )?
    .bytes)
}

/// The CPython `launcher` links, as it describes itself, checked against
/// the one this pyembed compiles bytecode with: same `major.minor`, or the
/// bytecode would not load.
fn launcher_cpython(launcher: &Path) -> anyhow::Result<String> {
    let output = std::process::Command::new(launcher)
        .arg(pyembed::launcher::DESCRIBE_ARG)
        .env_clear()
        .output()
        .with_context(|| format!("cannot run the launcher {}", launcher.display()))?;
    let described = output
        .status
        .success()
        .then(|| parse_description(&String::from_utf8_lossy(&output.stdout)))
        .flatten();
    let Some((version, cpython)) = described else {
        bail!(
            "the launcher {} did not describe itself ({}{})\nhint: pass the pyembed-launcher \
             built with this pyembed",
            launcher.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .next()
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        );
    };
    check_launcher_version(launcher, &version, pyembed::LINKED_PYTHON_VERSION)?;
    Ok(cpython)
}

/// The `python-version` and `cpython` lines of a launcher's description.
fn parse_description(text: &str) -> Option<(String, String)> {
    use super::toolchain::described;
    Some((
        described(text, "python-version")?,
        described(text, "cpython")?,
    ))
}

fn check_launcher_version(launcher: &Path, version: &str, ours: &str) -> anyhow::Result<()> {
    if version != ours {
        bail!(
            "the launcher {} links CPython {version}, but this pyembed compiles bytecode for \
             {ours}\nhint: use the toolchain of {version} (--python-version {version})",
            launcher.display()
        );
    }
    Ok(())
}

/// Starts the linked CPython in this process once (isolated, no `site`),
/// for questions only it can answer. It is never finalized: the process
/// exits soon after.
fn linked_python() -> anyhow::Result<()> {
    static STARTED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    STARTED
        .get_or_init(|| {
            let mut config = super::toolchain::linked_interpreter_config("pyembed");
            config.interpreter_config.pathconfig_warnings = Some(false);
            let interpreter = MainPythonInterpreter::new(config).map_err(|e| e.to_string())?;
            std::mem::forget(interpreter);
            Ok(())
        })
        .clone()
        .map_err(|e| anyhow!("cannot start the linked CPython: {e}"))
}

/// The standard library of the CPython this pyembed links, as that
/// interpreter found it (`sys._stdlib_dir`).
fn linked_stdlib() -> anyhow::Result<PathBuf> {
    linked_python()?;
    let dir: PyResult<Option<String>> =
        Python::attach(|py| py.import("sys")?.getattr("_stdlib_dir")?.extract());
    match dir {
        Ok(Some(dir)) if Path::new(&dir).join("os.py").is_file() => Ok(PathBuf::from(dir)),
        _ => bail!(
            "cannot find the standard library of the linked CPython {}\nhint: pass --stdlib <dir> \
             (e.g. /usr/lib/python{}) or --stdlib-container <file>",
            pyembed::LINKED_PYTHON_VERSION,
            pyembed::LINKED_PYTHON_VERSION
        ),
    }
}

/// `entry` as an entry point: `module[:function]`, or the name of a console
/// script declared by a packed `.dist-info`'s `entry_points.txt`.
fn resolve_entry(entry: &str, containers: &[&Container<'_>]) -> anyhow::Result<EntryPoint> {
    let parsed = EntryPoint::parse(entry);
    let is_module = |name: &str| {
        containers.iter().any(|c| {
            c.summary(name).is_some_and(|s| {
                s.flags
                    .contains(pyembed::resources::ResourceFlags::PYTHON_MODULE)
                    || s.flags
                        .contains(pyembed::resources::ResourceFlags::EXTENSION_MODULE)
            })
        })
    };
    if let Ok(parsed) = &parsed {
        if parsed.function.is_some() || is_module(&parsed.module) {
            return Ok(parsed.clone());
        }
    }
    if let Some(target) = console_scripts(containers)?.remove(entry) {
        return EntryPoint::parse(&target)
            .map_err(|e| anyhow!("console script `{entry}` has an invalid target: {e}"));
    }
    match parsed {
        Ok(parsed) => Ok(parsed),
        Err(e) => Err(anyhow!(
            "{e}\nhint: name a module, module:function, or a console script of a packed \
             distribution"
        )),
    }
}

/// Every `[console_scripts]` entry of every packed `.dist-info`, by name.
fn console_scripts(containers: &[&Container<'_>]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut scripts = BTreeMap::new();
    for container in containers {
        for summary in container.summaries() {
            if !summary.name.ends_with(".dist-info") {
                continue;
            }
            let Some(resource) = container.resource(summary.name)? else {
                continue;
            };
            let Some(files) = &resource.in_memory_distribution_resources else {
                continue;
            };
            let Some(text) = files.get("entry_points.txt") else {
                continue;
            };
            let mut in_section = false;
            for line in String::from_utf8_lossy(text).lines() {
                let line = line.trim();
                if line.starts_with('[') {
                    in_section = line == "[console_scripts]";
                } else if in_section {
                    if let Some((name, target)) = line.split_once('=') {
                        // `module:function [extra]`: extras do not matter here.
                        let target = target.split('[').next().unwrap_or("").trim();
                        scripts
                            .entry(name.trim().to_string())
                            .or_insert_with(|| target.to_string());
                    }
                }
            }
        }
    }
    Ok(scripts)
}

/// Refuses an entry point whose module is not packed, or whose function is
/// not bound at the module's top level (checked on the source with `ast`).
fn check_entry(entry: &EntryPoint, containers: &[&Container<'_>]) -> anyhow::Result<()> {
    let holder = containers.iter().find(|c| c.contains(&entry.module));
    let Some(holder) = holder else {
        bail!(
            "entry point {entry}: no module `{}` in the packed inputs\nhint: add the directory \
             holding it with --path, --site-packages or --wheel",
            entry.module
        );
    };
    let summary = holder.summary(&entry.module).expect("contains");
    let flags = summary.flags;
    use pyembed::resources::ResourceFlags;
    if !flags.contains(ResourceFlags::PYTHON_MODULE)
        && !flags.contains(ResourceFlags::EXTENSION_MODULE)
    {
        bail!(
            "entry point {entry}: `{}` is packed, but not as a module",
            entry.module
        );
    }
    let Some(function) = &entry.function else {
        if flags.contains(ResourceFlags::PYTHON_PACKAGE)
            && !containers
                .iter()
                .any(|c| c.contains(&format!("{}.__main__", entry.module)))
        {
            bail!(
                "entry point {entry}: package `{}` has no __main__ module to run\nhint: name a \
                 function with {}:<function>",
                entry.module,
                entry.module
            );
        }
        return Ok(());
    };
    let Some(source) = holder.data(&entry.module, DataField::Source)? else {
        return Ok(()); // An extension module, or sources stripped: checked at run time.
    };
    let first = function.split('.').next().unwrap_or(function);
    if !binds_top_level(source, first)? {
        bail!(
            "entry point {entry}: module `{}` defines no `{first}` at its top level",
            entry.module
        );
    }
    Ok(())
}

/// Whether Python `source` binds `name` at module level (def, class,
/// assignment, import, or a star import that might), using `ast` in a
/// short-lived interpreter of the linked CPython.
fn binds_top_level(source: &[u8], name: &str) -> anyhow::Result<bool> {
    linked_python()?;
    Python::attach(|py| binds_with(py, source, name))
}

fn binds_with(py: Python<'_>, source: &[u8], name: &str) -> anyhow::Result<bool> {
    let code = c"
import ast
def binds(source, name):
    tree = ast.parse(source)
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub.name == name:
                return True
            if isinstance(sub, ast.Name) and sub.id == name and isinstance(sub.ctx, ast.Store):
                return True
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                for alias in sub.names:
                    if alias.name == '*' or (alias.asname or alias.name.split('.')[0]) == name:
                        return True
            if isinstance(sub, ast.Global) and name in sub.names:
                return True
    return False
";
    let result: PyResult<bool> = (|| {
        let globals = pyo3::types::PyDict::new(py);
        py.run(code, Some(&globals), None)?;
        globals
            .get_item("binds")?
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("binds"))?
            .call1((pyo3::types::PyBytes::new(py, source), name))?
            .extract()
    })();
    // A module that does not parse is reported when it is compiled.
    Ok(result.unwrap_or(true))
}

/// Writes the executable next to `path` with mode 0755 and renames it over.
fn write_executable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = super::pack::output_dir(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("pyembed"),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launcher_of_another_version_is_refused() {
        let described = parse_description("python-version: 3.13\ncpython: pinned CPython 3.13.5\n");
        assert_eq!(
            described,
            Some(("3.13".to_owned(), "pinned CPython 3.13.5".to_owned()))
        );
        assert_eq!(parse_description("cpython: x\n"), None);
        let error = check_launcher_version(Path::new("/l"), "3.13", "3.11")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "the launcher /l links CPython 3.13, but this pyembed compiles bytecode for 3.11"
            ),
            "{error}"
        );
        assert!(check_launcher_version(Path::new("/l"), "3.11", "3.11").is_ok());
    }
}
