//! `pyembed pack`: inputs → container file.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use pyembed::pack::compile::{self, WorkerBackend};
use pyembed::pack::packer::{self, Compression, PackOptions, Sources, SyntaxErrors};
use pyembed::pack::policy::Policy;
use pyembed::pack::scan::{self, Input};
use pyembed::resources::{Container, DictionaryPolicy, PackedResourcesSource};
use pyembed::{BytecodeOptimizationLevel, MainPythonInterpreter};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CompressArg {
    /// Compress what the stdlib policy marks as rarely imported.
    Auto,
    /// Compress everything.
    All,
    /// Compress nothing (no tier 1).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SourcesArg {
    /// Store source next to bytecode (tracebacks and `inspect.getsource` work).
    Keep,
    /// Store bytecode only.
    Strip,
}

/// Arguments of `pyembed pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// A standard library directory (e.g. /usr/lib/python3.11); the policy in
    /// python-stdlib/policy.toml decides what is left out.
    #[arg(long, value_name = "DIR")]
    stdlib: Option<PathBuf>,
    /// A source tree, like an entry of PYTHONPATH (repeatable).
    #[arg(long = "path", value_name = "DIR")]
    paths: Vec<PathBuf>,
    /// A site-packages directory (repeatable).
    #[arg(long = "site-packages", value_name = "DIR")]
    site_packages: Vec<PathBuf>,
    /// A wheel file (repeatable).
    #[arg(long = "wheel", value_name = "FILE")]
    wheels: Vec<PathBuf>,
    /// Which resources go to the zstd-compressed tier; `--compress` alone means `auto`.
    #[arg(long, value_enum, value_name = "WHICH", num_args = 0..=1, default_missing_value = "auto", default_value = "none")]
    compress: CompressArg,
    /// Bytecode optimization levels to store, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0", value_parser = parse_level)]
    opt: Vec<BytecodeOptimizationLevel>,
    /// Keep or strip module sources.
    #[arg(long, value_enum, default_value = "keep")]
    sources: SourcesArg,
    /// Store modules with syntax errors as source only instead of failing.
    #[arg(long)]
    keep_syntax_errors: bool,
    /// A stdlib policy file to use instead of the bundled one.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Parallel compile processes [default: number of CPUs].
    #[arg(short, long)]
    jobs: Option<usize>,
    #[command(flatten)]
    cpython: super::toolchain::CpythonArgs,
    /// The container file to write.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

fn parse_level(s: &str) -> Result<BytecodeOptimizationLevel, String> {
    BytecodeOptimizationLevel::try_from(s).map_err(|e| e.to_string())
}

pub fn run(args: PackArgs) -> anyhow::Result<ExitCode> {
    // Compile with the interpreter that will run the bytecode (toolchain.rs).
    super::toolchain::select(&args.cpython, "pack")?;
    let mut inputs = Vec::new();
    let absolute = |p: &PathBuf| {
        std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
    };
    if let Some(stdlib) = &args.stdlib {
        inputs.push(Input::stdlib(absolute(stdlib)?));
    }
    for p in &args.paths {
        inputs.push(Input::path(absolute(p)?));
    }
    for p in &args.site_packages {
        inputs.push(Input::site_packages(absolute(p)?));
    }
    for p in &args.wheels {
        inputs.push(Input::wheel(absolute(p)?));
    }
    if inputs.is_empty() {
        bail!(
            "nothing to pack\nhint: name at least one of --stdlib, --path, --site-packages, --wheel"
        );
    }

    check_output(&args.output)?;

    let policy = match &args.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::bundled()?,
    };
    let options = PackOptions {
        levels: args.opt.clone(),
        sources: match args.sources {
            SourcesArg::Keep => Sources::Keep,
            SourcesArg::Strip => Sources::Strip,
        },
        compression: match args.compress {
            CompressArg::Auto => Compression::Auto,
            CompressArg::All => Compression::All,
            CompressArg::None => Compression::None,
        },
        syntax_errors: if args.keep_syntax_errors {
            SyntaxErrors::KeepSource
        } else {
            SyntaxErrors::Fail
        },
        write: Default::default(),
    };
    let output = pack_inputs(&inputs, &policy, options, args.jobs)?;
    write_atomically(&args.output, &output.bytes)?;
    let container = Container::open(&PackedResourcesSource::Memory(&output.bytes))
        .context("the container just written does not read back")?;
    eprintln!(
        "packed {} resources ({} modules compiled, {} excluded by policy) into {} ({} bytes)\ncontent digest {}",
        output.resources,
        output.modules_compiled,
        output.excluded,
        args.output.display(),
        output.bytes.len(),
        container.content_digest(),
    );
    Ok(ExitCode::SUCCESS)
}

/// What [`pack_inputs`] produced.
pub(super) struct Packed {
    /// The container.
    pub bytes: Vec<u8>,
    /// Resources written.
    pub resources: usize,
    /// Modules compiled.
    pub modules_compiled: usize,
    /// Entries the policy left out.
    pub excluded: usize,
}

/// Scans `inputs`, applies `policy`, compiles with worker processes and
/// writes a container; warnings go to stderr. Shared by `pack` and `build`.
pub(super) fn pack_inputs(
    inputs: &[Input],
    policy: &Policy,
    mut options: PackOptions,
    jobs: Option<usize>,
) -> anyhow::Result<Packed> {
    let inventory = scan::scan(inputs)?;
    for conflict in &inventory.conflicts {
        eprintln!(
            "warning: {} {} is shadowed by {}: {}",
            conflict.claim,
            inventory.describe(&conflict.shadowed),
            inventory.describe(&conflict.kept),
            conflict.reason
        );
    }
    let outcome = policy.apply(&inventory);
    if options.compression == Compression::None {
        options.write.dictionary = DictionaryPolicy::Never;
    }

    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let exe = std::env::current_exe()
        .context("cannot find the pyembed executable to start compile workers")?;
    let mut backend = WorkerBackend { exe, jobs };

    let module_count = outcome
        .kept
        .iter()
        .filter(|k| matches!(k.entry, pyembed::pack::inventory::Entry::Module { .. }))
        .count();
    let bar = progress_bar(module_count as u64);
    let tick = |n: usize| bar.inc(n as u64);
    let output = packer::pack(&inventory, &outcome.kept, &options, &mut backend, &tick)?;
    bar.finish_and_clear();

    for err in &output.source_only {
        eprintln!("warning: kept as source only: {err}");
    }
    Ok(Packed {
        bytes: output.bytes,
        resources: output.resources,
        modules_compiled: output.modules_compiled,
        excluded: outcome.excluded.len(),
    })
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(len);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "compiling {bar:40} {pos}/{len} modules {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}

/// The directory `path` is written in.
pub(super) fn output_dir(path: &std::path::Path) -> &std::path::Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
}

/// Refuse an output that cannot be written before any work is done: a
/// missing directory would otherwise surface only after compiling
/// everything, as an error about the temporary file.
pub(super) fn check_output(path: &std::path::Path) -> anyhow::Result<()> {
    let dir = output_dir(path);
    if !dir.is_dir() {
        bail!(
            "cannot write {}: directory {} does not exist\n\
             hint: create it first, or pass another --output",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        bail!(
            "cannot write {}: it is a directory\nhint: name the container file, e.g. {}",
            path.display(),
            path.join("app.pyembed").display()
        );
    }
    Ok(())
}

/// Write `bytes` next to `path` and rename over it, so a reader never sees a
/// half-written container.
pub(super) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = output_dir(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("pyembed"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
}

/// The compile worker: an isolated interpreter answering compile requests.
pub fn run_worker() -> ExitCode {
    let mut config = super::toolchain::linked_interpreter_config("pyembed-compile-worker");
    config.interpreter_config.write_bytecode = Some(false);
    let interpreter = match MainPythonInterpreter::new(config) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: compile worker: {e}");
            return ExitCode::from(1);
        }
    };
    match interpreter.with_gil(compile::worker_main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: compile worker: {e}");
            ExitCode::from(1)
        }
    }
}
