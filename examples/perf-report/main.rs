//! `perf-report`: pyembed's built python against Debian's `python3.11`, whole
//! processes, in one run. Run it through `benches/compare.sh`, which builds
//! what it needs; `docs/performance.md` explains every row.
//!
//! ```text
//! perf-report [run]                      # measure; N, PYEMBED, ... below
//! perf-report chart RESULTS.json OUT.svg # redraw the chart from a results file
//! ```
//!
//! `run` packs the standard library three ways (`--compress none`, `auto`,
//! `all`), builds a hermetic python from each with `pyembed build --python
//! --launcher $PYEMBED_LAUNCHER`, prepares a zip of the warm `.pyc` files and
//! a marshalled table for the dict-finder floor, then runs N rounds. Each
//! round runs every variant once, in an order rotated by one on every round,
//! each in a fresh process with an empty environment; the harness times the
//! process (wall time around spawn and `wait4`, CPU time from `wait4`), the
//! process times its own import loop, and what follows the
//! script (finalisation, exit) is the process's end minus the script's last
//! `CLOCK_MONOTONIC` reading. Peak RSS comes from three more runs of each
//! variant under `/usr/bin/time -f %M`. Then `pyembed pack` against `python3.11 -m
//! compileall -j0` over the same files (rounds alternating), `strace -c -f`
//! syscall counts, and sizes. It prints medians, min/max and ratios of
//! medians and writes `results.json` and `performance.svg` under `$OUT`.
//! Nothing fails on a time.
//!
//! Environment: `N` rounds (default 7), `PACK_N` pack rounds (default 5;
//! `0` skips), `PYTHON` (`/usr/bin/python3.11`), `STDLIB`
//! (`/usr/lib/python3.11`), `PYEMBED` (`target/release/pyembed`),
//! `PYEMBED_LAUNCHER` (`target/release/pyembed-launcher`), `OUT`
//! (`target/perf-report`), `STRACE=0` skips the syscall counts,
//! `REGENERATE=1` rewrites `benches/stdlib-modules.txt` first.

mod chart;
mod scripts;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

type Result<T> = std::result::Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None | Some("run") => run(),
        Some("chart") if args.len() == 3 => chart_command(Path::new(&args[1]), Path::new(&args[2])),
        _ => Err("usage: perf-report [run] | perf-report chart RESULTS.json OUT.svg".into()),
    };
    if let Err(e) = outcome {
        eprintln!("perf-report: error: {e}");
        std::process::exit(1);
    }
}

fn chart_command(results: &Path, svg: &Path) -> Result<()> {
    let text = std::fs::read_to_string(results)
        .map_err(|e| format!("cannot read {}: {e}", results.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a results file: {e}", results.display()))?;
    chart::draw(&value, svg)
}

struct Config {
    rounds: usize,
    pack_rounds: usize,
    python: PathBuf,
    stdlib: PathBuf,
    pyembed: PathBuf,
    launcher: PathBuf,
    out: PathBuf,
    list: PathBuf,
    strace: bool,
    regenerate: bool,
}

fn env_path(name: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(name).map_or_else(|| PathBuf::from(default), PathBuf::from);
    if path.is_relative() {
        std::env::current_dir().map_or(path.clone(), |dir| dir.join(&path))
    } else {
        path
    }
}

fn env_number(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => text
            .parse()
            .map_err(|_| format!("{name}={text:?} is not a number")),
    }
}

impl Config {
    fn from_env() -> Result<Config> {
        let config = Config {
            rounds: env_number("N", 7)?.max(1),
            pack_rounds: env_number("PACK_N", 5)?,
            python: env_path("PYTHON", "/usr/bin/python3.11"),
            stdlib: env_path("STDLIB", "/usr/lib/python3.11"),
            pyembed: env_path("PYEMBED", &format!("{REPO}/target/release/pyembed")),
            launcher: env_path(
                "PYEMBED_LAUNCHER",
                &format!("{REPO}/target/release/pyembed-launcher"),
            ),
            out: env_path("OUT", &format!("{REPO}/target/perf-report")),
            list: PathBuf::from(format!("{REPO}/benches/stdlib-modules.txt")),
            strace: std::env::var("STRACE").map_or(true, |v| v != "0"),
            regenerate: std::env::var("REGENERATE").is_ok_and(|v| v == "1"),
        };
        for (what, path) in [
            ("PYTHON", &config.python),
            ("PYEMBED", &config.pyembed),
            ("PYEMBED_LAUNCHER", &config.launcher),
        ] {
            if !path.is_file() {
                return Err(format!(
                    "{what}: {} does not exist\nhint: cargo build --release --features cli, or set {what}",
                    path.display()
                ));
            }
        }
        if !config.stdlib.join("os.py").is_file() {
            return Err(format!(
                "STDLIB: {} is not a standard library (no os.py)",
                config.stdlib.display()
            ));
        }
        Ok(config)
    }
}

/// One finished process.
struct Sample {
    wall_ms: f64,
    cpu_ms: f64,
    stdout: String,
    /// `CLOCK_MONOTONIC` when the harness had reaped the process, seconds.
    end: f64,
}

fn monotonic() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Runs `argv` with exactly `env` as its environment, in `cwd`, and waits
/// for it with `wait4`. A non-zero exit is an error carrying its stderr.
fn run_once(argv: &[OsString], env: &[(&str, &str)], cwd: &Path) -> Result<Sample> {
    let err_path = cwd.join("stderr.txt");
    let stderr = File::create(&err_path)
        .map_err(|e| format!("cannot create {}: {e}", err_path.display()))?;
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    let start = monotonic();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", argv[0].to_string_lossy()))?;
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .map_err(|e| format!("reading the output of {}: {e}", argv[0].to_string_lossy()))?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child (std never waited for it);
    // `status` and `usage` are valid, writable locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let end = monotonic();
    if rc != pid {
        return Err(format!(
            "wait4 on {}: {}",
            argv[0].to_string_lossy(),
            std::io::Error::last_os_error()
        ));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let text = std::fs::read_to_string(&err_path).unwrap_or_default();
        let shown: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Err(format!(
            "{} failed (wait status {status}):\n{}",
            shown.join(" "),
            text.trim_end()
        ));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 * 1e-3;
    Ok(Sample {
        wall_ms: (end - start) * 1e3,
        cpu_ms: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        stdout,
        end,
    })
}

/// A ratio to print: label, numerator, denominator, metric, the CPU metric
/// beside it, the issue's target.
type RatioRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<f64>,
);

/// How many times each variant's peak RSS is measured.
const RSS_ROUNDS: usize = 3;

/// The peak RSS of `argv` in KiB, as `/usr/bin/time -f %M` reports it.
fn peak_rss(argv: &[OsString], env: &[(&str, &str)], work: &Path) -> Result<f64> {
    let out = work.join("time.txt");
    let mut full = vec![
        os("/usr/bin/time"),
        os("-f"),
        os("%M"),
        os("-o"),
        out.clone().into(),
    ];
    full.extend(argv.iter().cloned());
    run_once(&full, env, work)?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    text.trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("/usr/bin/time wrote {text:?}, not a size"))
}

/// What an import-all script reported on its `PERF` line.
struct Perf {
    loop_wall_ms: f64,
    loop_cpu_ms: f64,
    failed: Vec<String>,
    names: usize,
    anon_kib: f64,
    file_kib: f64,
    /// Monotonic seconds at the script's end.
    script_end: f64,
}

fn parse_perf(stdout: &str) -> Result<Perf> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("PERF "))
        .ok_or_else(|| format!("no PERF line in the output: {stdout:?}"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let bad = || format!("malformed PERF line: {line:?}");
    if f.len() != 9 {
        return Err(bad());
    }
    let num = |i: usize| f[i].parse::<f64>().map_err(|_| bad());
    Ok(Perf {
        loop_wall_ms: num(1)? * 1e3,
        loop_cpu_ms: num(2)? * 1e3,
        names: f[3].parse().map_err(|_| bad())?,
        failed: if f[7] == "-" {
            Vec::new()
        } else {
            f[7].split(',').map(String::from).collect()
        },
        anon_kib: num(5)?,
        file_kib: num(6)?,
        script_end: num(8)?,
    })
}

/// One measured command line.
struct Variant {
    id: &'static str,
    label: &'static str,
    argv: Vec<OsString>,
    env: Vec<(&'static str, &'static str)>,
    /// Does it run the import-all script?
    imports: bool,
}

#[derive(Default)]
struct Series {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss: Vec<f64>,
    loop_wall: Vec<f64>,
    loop_cpu: Vec<f64>,
    finalise: Vec<f64>,
    anon: Vec<f64>,
    file: Vec<f64>,
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn stats(values: &[f64]) -> Value {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    json!({"median": median(values), "min": min, "max": max, "samples": values})
}

fn os(s: impl Into<OsString>) -> OsString {
    s.into()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Runs a preparation command (not measured), inheriting the environment's
/// absence: a failure is an error with its output.
fn prepare(argv: &[OsString], cwd: &Path) -> Result<String> {
    let sample = run_once(argv, &[], cwd)?;
    Ok(sample.stdout)
}

/// The CPython a launcher links, as recorded by the build script
/// (`pyembed::LINKED_CPYTHON`), when the launcher's bytes contain it. Read
/// in small pieces: a child's peak RSS includes this process's peak (it
/// starts as a copy of it), so the harness must never hold a large buffer.
fn linked_cpython(launcher: &Path) -> Option<String> {
    const PATTERNS: [(&[u8], &[u8]); 2] = [
        (b"pinned CPython ", b"LTO)"),
        (b"CPython 3.11 from ", b".a"),
    ];
    let mut file = File::open(launcher).ok()?;
    let mut window: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut buffer = vec![0u8; 1 << 15];
    loop {
        let n = file.read(&mut buffer).ok()?;
        window.extend_from_slice(&buffer[..n]);
        for (prefix, end) in PATTERNS {
            if let Some(at) = window.windows(prefix.len()).position(|w| w == prefix) {
                let rest = &window[at..window.len().min(at + 400)];
                if let Some(stop) = rest.windows(end.len()).position(|w| w == end) {
                    return Some(String::from_utf8_lossy(&rest[..stop + end.len()]).into_owned());
                }
                if n > 0 && rest.len() < 400 {
                    continue; // the rest is in the next piece
                }
            }
        }
        if n == 0 {
            return None;
        }
        let keep = window.len().saturating_sub(512);
        window.drain(..keep);
    }
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

fn remove_pycache(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if kind.is_dir() {
            if entry.file_name() == "__pycache__" {
                std::fs::remove_dir_all(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            } else {
                remove_pycache(&path)?;
            }
        }
    }
    Ok(())
}

fn count_files(dir: &Path, suffix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => count_files(&path, suffix),
                Ok(_) if path.to_string_lossy().ends_with(suffix) => 1,
                _ => 0,
            }
        })
        .sum()
}

/// `strace -c -f` of `argv`: calls per syscall name, plus `total`.
fn strace_counts(argv: &[OsString], work: &Path) -> Result<BTreeMap<String, u64>> {
    let out = work.join("strace.txt");
    let mut full = vec![
        os("strace"),
        os("-f"),
        os("-c"),
        os("-o"),
        out.clone().into(),
    ];
    full.push(os("--"));
    full.extend(argv.iter().cloned());
    run_once(&full, &[], work)?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("strace output: {e}"))?;
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() >= 5 && fields[0].parse::<f64>().is_ok() {
            if let (Ok(calls), Some(name)) = (fields[3].parse::<u64>(), fields.last()) {
                counts.insert((*name).to_string(), calls);
            }
        }
    }
    Ok(counts)
}

fn run() -> Result<()> {
    let config = Config::from_env()?;
    std::fs::create_dir_all(&config.out)
        .map_err(|e| format!("cannot create {}: {e}", config.out.display()))?;
    let work = config.out.join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .map_err(|e| format!("cannot remove {}: {e}", work.display()))?;
    }
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let load_start = load_average();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // ---- build what is measured ------------------------------------------------
    let py = |args: &[&str]| -> Vec<OsString> {
        let mut v = vec![config.python.clone().into_os_string()];
        v.extend(args.iter().map(|a| os(*a)));
        v
    };
    let mut sizes = BTreeMap::new();
    for mode in ["none", "auto", "all"] {
        let container = work.join(format!("stdlib-{mode}.pyembed"));
        eprintln!("packing the stdlib, --compress={mode}");
        prepare(
            &[
                config.pyembed.clone().into(),
                os("pack"),
                os("--stdlib"),
                config.stdlib.clone().into(),
                os(format!("--compress={mode}")),
                os("-o"),
                container.clone().into(),
            ],
            &work,
        )?;
        let exe = work.join(format!("python-{mode}"));
        prepare(
            &[
                config.pyembed.clone().into(),
                os("build"),
                os("--python"),
                os("--stdlib-container"),
                container.clone().into(),
                os("--launcher"),
                config.launcher.clone().into(),
                os("-o"),
                exe.clone().into(),
            ],
            &work,
        )?;
        sizes.insert(
            format!("container --compress={mode}"),
            file_size(&container)?,
        );
        sizes.insert(format!("python --compress={mode}"), file_size(&exe)?);
    }
    sizes.insert("launcher".into(), file_size(&config.launcher)?);
    sizes.insert("python3.11 executable".into(), file_size(&config.python)?);
    let t0 = work.join("python-none");
    let t1 = work.join("python-all");
    let auto = work.join("python-auto");
    let script = work.join("import_all.py");
    std::fs::write(&script, scripts::IMPORT_ALL).map_err(|e| format!("cannot write: {e}"))?;
    let list = work.join("modules.txt");

    if config.regenerate {
        let host = work.join("modules.host");
        let path = |p: &Path| p.to_string_lossy().into_owned();
        prepare(
            &py(&[
                "-I",
                "-S",
                "-W",
                "ignore",
                "-c",
                scripts::REGENERATE,
                &path(&config.stdlib),
                &path(&host),
            ]),
            &work,
        )?;
        let sample = run_once(
            &[
                t0.clone().into(),
                os("-I"),
                os("-S"),
                os("-W"),
                os("ignore"),
                script.clone().into(),
                os("default"),
                host.clone().into(),
            ],
            &[],
            &work,
        )?;
        let failed = parse_perf(&sample.stdout)?.failed;
        let text = std::fs::read_to_string(&host).map_err(|e| format!("{e}"))?;
        let kept: Vec<&str> = text
            .lines()
            .filter(|n| !n.is_empty() && !failed.iter().any(|f| f == n))
            .collect();
        std::fs::write(&config.list, kept.join("\n") + "\n")
            .map_err(|e| format!("cannot write {}: {e}", config.list.display()))?;
        eprintln!(
            "regenerated {}: {} modules (dropped, not in the container: {})",
            config.list.display(),
            kept.len(),
            if failed.is_empty() {
                "none".into()
            } else {
                failed.join(" ")
            }
        );
    }
    let names: Vec<String> = std::fs::read_to_string(&config.list)
        .map_err(|e| format!("cannot read {}: {e}", config.list.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    std::fs::write(&list, names.join("\n") + "\n").map_err(|e| format!("{e}"))?;
    let prepared = prepare(
        &py(&[
            "-I",
            "-S",
            "-c",
            scripts::PREPARE,
            &config.stdlib.to_string_lossy(),
            &list.to_string_lossy(),
            &work.to_string_lossy(),
        ]),
        &work,
    )?;
    eprint!("{prepared}");

    // ---- identify the interpreters ----------------------------------------------
    let version = |exe: &Path| -> Result<String> {
        let out = prepare(
            &[
                exe.into(),
                os("-I"),
                os("-S"),
                os("-c"),
                os("import sys; print(sys.version.replace(chr(10), ' '))"),
            ],
            &work,
        )?;
        Ok(out.trim().to_string())
    };
    let linked = linked_cpython(&config.launcher).unwrap_or_else(|| {
        format!(
            "not recorded in the launcher's bytes; this checkout links {}",
            pyembed::LINKED_CPYTHON
        )
    });
    let ours_version = version(&t0)?;
    let python_version = version(&config.python)?;
    println!("machine: {} CPUs, load average {load_start}", num_cpus());
    println!("pyembed:   {}", config.pyembed.display());
    println!("launcher:  {}", config.launcher.display());
    println!("  links:   {linked}");
    println!("  sys.version: {ours_version}");
    println!("python3.11: {}", config.python.display());
    println!("  sys.version: {python_version}");
    println!(
        "module list: {} ({} names)",
        config.list.display(),
        names.len()
    );
    println!();

    // ---- the variants ---------------------------------------------------------------
    let arg = |p: &Path| p.as_os_str().to_os_string();
    let imp = |exe: &Path, mode: &[OsString]| -> Vec<OsString> {
        let mut v = vec![
            arg(exe),
            os("-I"),
            os("-S"),
            os("-W"),
            os("ignore"),
            arg(&script),
        ];
        v.extend(mode.iter().cloned());
        v.insert(6 + 1, arg(&list)); // after the mode
        v
    };
    let zip = work.join("stdlib.zip");
    let table = work.join("floor.marshal");
    let floor_args = [os("floor"), arg(&table), arg(&config.stdlib)];
    const SKIP: (&str, &str) = ("PYEMBED_UNSAFE_SKIP_VERIFICATION", "1");
    let pass = |exe: &Path| vec![arg(exe), os("-I"), os("-S"), os("-c"), os("pass")];
    let variants = vec![
        Variant {
            id: "pass-ours",
            label: "ours -I -S -c pass",
            argv: pass(&t0),
            env: vec![],
            imports: false,
        },
        Variant {
            id: "pass-py",
            label: "python3.11 -I -S -c pass",
            argv: pass(&config.python),
            env: vec![],
            imports: false,
        },
        Variant {
            id: "t0",
            label: "ours, tier 0 (--compress none)",
            argv: imp(&t0, &[os("default")]),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "t1",
            label: "ours, tier 1 (--compress all)",
            argv: imp(&t1, &[os("default")]),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "auto",
            label: "ours, --compress auto",
            argv: imp(&auto, &[os("default")]),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "fs",
            label: "python3.11, filesystem, warm __pycache__",
            argv: imp(&config.python, &[os("default")]),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "zip",
            label: "python3.11, zipimport",
            argv: imp(&config.python, &[os("zip"), arg(&zip)]),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "floor-py",
            label: "python3.11, dict-finder floor",
            argv: imp(&config.python, &floor_args),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "floor-ours",
            label: "ours, dict-finder floor",
            argv: imp(&t0, &floor_args),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "fs-ours",
            label: "ours, CPython's filesystem importer",
            argv: imp(&t0, &[os("fs"), arg(&config.stdlib)]),
            env: vec![],
            imports: true,
        },
        Variant {
            id: "t0-noverify",
            label: "ours, tier 0, verification off",
            argv: imp(&t0, &[os("default")]),
            env: vec![SKIP],
            imports: true,
        },
        Variant {
            id: "t1-noverify",
            label: "ours, tier 1, verification off",
            argv: imp(&t1, &[os("default")]),
            env: vec![SKIP],
            imports: true,
        },
    ];

    // Warm the page cache, and check every variant imports the whole list.
    for v in &variants {
        let sample = run_once(&v.argv, &v.env, &work)?;
        if v.imports {
            let perf = parse_perf(&sample.stdout)?;
            if perf.names != names.len() || !perf.failed.is_empty() {
                eprintln!(
                    "warning: {}: {} of {} names failed to import: {}",
                    v.id,
                    perf.failed.len(),
                    perf.names,
                    perf.failed.join(" ")
                );
            }
        }
    }

    let harness_peak = own_peak_rss();
    let mut series: BTreeMap<&str, Series> = BTreeMap::new();
    for round in 0..config.rounds {
        eprintln!(
            "round {}/{} (load {})",
            round + 1,
            config.rounds,
            load_average()
        );
        let n = variants.len();
        for k in 0..n {
            let v = &variants[(k + round) % n];
            let sample = run_once(&v.argv, &v.env, &work)?;
            let s = series.entry(v.id).or_default();
            s.wall.push(sample.wall_ms);
            s.cpu.push(sample.cpu_ms);
            if v.imports {
                let perf = parse_perf(&sample.stdout)?;
                s.loop_wall.push(perf.loop_wall_ms);
                s.loop_cpu.push(perf.loop_cpu_ms);
                s.finalise.push((sample.end - perf.script_end) * 1e3);
                s.anon.push(perf.anon_kib);
                s.file.push(perf.file_kib);
            }
        }
    }

    // ---- pack against compileall ----------------------------------------------------
    // Peak RSS, through `/usr/bin/time -f %M` (which forks from a process
    // of about 1 MiB): wait4's ru_maxrss of a child spawned from here would
    // include this harness's own peak, since posix_spawn starts the child
    // in this process's memory.
    eprintln!("peak RSS, {RSS_ROUNDS} runs each through /usr/bin/time");
    for _ in 0..RSS_ROUNDS {
        for v in &variants {
            let rss = peak_rss(&v.argv, &v.env, &work)?;
            series.entry(v.id).or_default().rss.push(rss);
        }
    }

    let pack = if config.pack_rounds > 0 {
        Some(pack_vs_compileall(&config, &work)?)
    } else {
        None
    };

    // ---- syscalls ---------------------------------------------------------------------
    let mut strace = BTreeMap::new();
    if config.strace {
        for id in ["pass-ours", "pass-py", "t0", "t1", "fs", "zip"] {
            let v = variants.iter().find(|v| v.id == id).expect("known id");
            match strace_counts(&v.argv, &work) {
                Ok(counts) => {
                    strace.insert(id, counts);
                }
                Err(e) => {
                    eprintln!("note: strace skipped: {e}");
                    break;
                }
            }
        }
    }

    // ---- results ------------------------------------------------------------------------
    let load_end = load_average();
    let mut variants_json = serde_json::Map::new();
    for v in &variants {
        let s = &series[v.id];
        let mut entry = json!({
            "label": v.label,
            "argv": v.argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
            "env": v.env.iter().map(|(k, val)| format!("{k}={val}")).collect::<Vec<_>>(),
            "wall_ms": stats(&s.wall),
            "cpu_ms": stats(&s.cpu),
            "peak_rss_kib": stats(&s.rss),
        });
        if v.imports {
            entry["loop_wall_ms"] = stats(&s.loop_wall);
            entry["loop_cpu_ms"] = stats(&s.loop_cpu);
            entry["finalise_ms"] = stats(&s.finalise);
            entry["end_anon_kib"] = stats(&s.anon);
            entry["end_file_kib"] = stats(&s.file);
        }
        variants_json.insert(v.id.to_string(), entry);
    }
    let m = |id: &str, metric: &str| -> f64 {
        variants_json[id][metric]["median"]
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    // (label, numerator, denominator, metric, cpu metric, target)
    let ratio_rows: Vec<RatioRow> = vec![
        (
            "start-up -c pass: ours / python3.11",
            "pass-ours",
            "pass-py",
            "wall_ms",
            Some("cpu_ms"),
            Some(0.80),
        ),
        (
            "import-all, whole process: tier 0 / filesystem",
            "t0",
            "fs",
            "wall_ms",
            Some("cpu_ms"),
            Some(0.85),
        ),
        (
            "import-all, whole process: tier 0 / zipimport",
            "t0",
            "zip",
            "wall_ms",
            Some("cpu_ms"),
            Some(0.75),
        ),
        (
            "import-all, whole process: tier 1 / filesystem",
            "t1",
            "fs",
            "wall_ms",
            Some("cpu_ms"),
            None,
        ),
        (
            "import-all, whole process: auto / filesystem",
            "auto",
            "fs",
            "wall_ms",
            Some("cpu_ms"),
            None,
        ),
        (
            "in-process: tier 0 / filesystem",
            "t0",
            "fs",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            Some(0.80),
        ),
        (
            "in-process: tier 0 / zipimport",
            "t0",
            "zip",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "in-process: tier 0 / floor (python3.11)",
            "t0",
            "floor-py",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            Some(0.95),
        ),
        (
            "in-process: tier 0 / floor in ours",
            "t0",
            "floor-ours",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "in-process: floor in ours / in python3.11",
            "floor-ours",
            "floor-py",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "in-process: tier 0 / filesystem in ours",
            "t0",
            "fs-ours",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "in-process: filesystem in ours / in python3.11",
            "fs-ours",
            "fs",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "in-process: tier 1 / tier 0",
            "t1",
            "t0",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            Some(1.25),
        ),
        (
            "in-process: auto / tier 0",
            "auto",
            "t0",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "in-process: tier 0 verified / not",
            "t0",
            "t0-noverify",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            Some(1.03),
        ),
        (
            "in-process: tier 1 verified / not",
            "t1",
            "t1-noverify",
            "loop_wall_ms",
            Some("loop_cpu_ms"),
            None,
        ),
        (
            "peak RSS after import-all: tier 0 / python3.11",
            "t0",
            "fs",
            "peak_rss_kib",
            None,
            Some(1.10),
        ),
        (
            "peak RSS after import-all: tier 1 / python3.11",
            "t1",
            "fs",
            "peak_rss_kib",
            None,
            None,
        ),
        (
            "anonymous memory at the end: tier 0 / python3.11",
            "t0",
            "fs",
            "end_anon_kib",
            None,
            None,
        ),
        (
            "finalisation after import-all: ours / python3.11",
            "t0",
            "fs",
            "finalise_ms",
            None,
            None,
        ),
    ];
    let mut ratios = Vec::new();
    for (label, a, b, metric, cpu_metric, target) in &ratio_rows {
        let value = m(a, metric) / m(b, metric);
        let cpu = cpu_metric.map(|c| m(a, c) / m(b, c));
        ratios.push(json!({
            "label": label, "numerator": a, "denominator": b, "metric": metric,
            "ratio": value, "cpu_ratio": cpu, "target": target,
        }));
    }
    if let Some(pack) = &pack {
        let w = pack["pack"]["wall_s"]["median"]
            .as_f64()
            .unwrap_or(f64::NAN)
            / pack["compileall"]["wall_s"]["median"]
                .as_f64()
                .unwrap_or(f64::NAN);
        let c = pack["pack"]["cpu_s"]["median"].as_f64().unwrap_or(f64::NAN)
            / pack["compileall"]["cpu_s"]["median"]
                .as_f64()
                .unwrap_or(f64::NAN);
        ratios.push(json!({
            "label": "pack.stdlib: pyembed pack / compileall -j0", "numerator": "pack",
            "denominator": "compileall", "metric": "wall_s", "ratio": w, "cpu_ratio": c,
            "target": 1.0,
        }));
    }
    let results = json!({
        "meta": {
            "unix_time": started,
            "rounds": config.rounds,
            "cpus": num_cpus(),
            "load_average_start": load_start,
            "load_average_end": load_end,
            "pyembed": config.pyembed.to_string_lossy(),
            "launcher": config.launcher.to_string_lossy(),
            "linked_cpython": linked,
            "ours_sys_version": ours_version,
            "python": config.python.to_string_lossy(),
            "python_sys_version": python_version,
            "modules": names.len(),
            "harness_peak_rss_kib": harness_peak,
        },
        "variants": Value::Object(variants_json),
        "ratios": ratios,
        "sizes": sizes,
        "strace": strace,
        "pack": pack,
    });
    print_report(&results);
    let json_path = config.out.join("results.json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&results).expect("JSON") + "\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    let svg = config.out.join("performance.svg");
    chart::draw(&results, &svg)?;
    println!();
    println!("wrote {} and {}", json_path.display(), svg.display());
    std::fs::remove_dir_all(&work).map_err(|e| format!("cannot remove {}: {e}", work.display()))?;
    Ok(())
}

/// This process's peak resident set (`VmHWM`, KiB). A child started with
/// `vfork` (as `posix_spawn` does) counts it in its own peak RSS.
fn own_peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `pyembed pack --stdlib COPY` against `python3.11 -m compileall -q -j0
/// COPY`, alternating, over a copy of the stdlib without what the policy
/// excludes; every `__pycache__` is removed before each timed command.
fn pack_vs_compileall(config: &Config, work: &Path) -> Result<Value> {
    let copy = work.join("stdlib-copy");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&config.stdlib)
        .arg(&copy)
        .status()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if !status.success() {
        return Err(format!("cp -r {} failed", config.stdlib.display()));
    }
    let policy = PathBuf::from(format!("{REPO}/python-stdlib/policy.toml"));
    prepare(
        &[
            config.python.clone().into(),
            os("-I"),
            os("-c"),
            os(scripts::POLICY_COPY),
            policy.into(),
            copy.clone().into(),
        ],
        work,
    )?;
    let pack: Vec<OsString> = vec![
        config.pyembed.clone().into(),
        os("pack"),
        os("--stdlib"),
        copy.clone().into(),
        os("-o"),
        work.join("pack-timed.pyembed").into(),
    ];
    let compileall: Vec<OsString> = vec![
        config.python.clone().into(),
        os("-m"),
        os("compileall"),
        os("-q"),
        os("-j0"),
        copy.clone().into(),
    ];
    // Same files on both sides?
    remove_pycache(&copy)?;
    run_once(&compileall, &[], work)?;
    let pyc = count_files(&copy, ".pyc");
    remove_pycache(&copy)?;
    run_once(&pack, &[], work)?;
    let summary = std::fs::read_to_string(work.join("stderr.txt"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("packed"))
        .unwrap_or("")
        .to_string();
    let mut wall: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..config.pack_rounds {
        eprintln!(
            "pack round {}/{} (load {})",
            round + 1,
            config.pack_rounds,
            load_average()
        );
        let order: [(&str, &Vec<OsString>); 2] = if round % 2 == 0 {
            [("pack", &pack), ("compileall", &compileall)]
        } else {
            [("compileall", &compileall), ("pack", &pack)]
        };
        for (name, argv) in order {
            remove_pycache(&copy)?;
            let sample = run_once(argv, &[], work)?;
            wall.entry(name).or_default().push(sample.wall_ms / 1e3);
            cpu.entry(name).or_default().push(sample.cpu_ms / 1e3);
        }
    }
    std::fs::remove_dir_all(&copy).map_err(|e| format!("cannot remove {}: {e}", copy.display()))?;
    Ok(json!({
        "pack": {"wall_s": stats(&wall["pack"]), "cpu_s": stats(&cpu["pack"])},
        "compileall": {"wall_s": stats(&wall["compileall"]), "cpu_s": stats(&cpu["compileall"])},
        "pack_summary": summary,
        "compileall_pyc_files": pyc,
        "rounds": config.pack_rounds,
    }))
}

fn print_report(r: &Value) {
    let meta = &r["meta"];
    println!(
        "{} rounds, order rotated each round; load average {} at the start, {} at the end",
        meta["rounds"],
        meta["load_average_start"].as_str().unwrap_or(""),
        meta["load_average_end"].as_str().unwrap_or("")
    );
    println!();
    println!(
        "{:<42} {:>24} {:>9} {:>9} {:>20} {:>9} {:>9} {:>9}",
        "variant (ms; RSS KiB)",
        "wall med [min, max]",
        "CPU",
        "peak RSS",
        "loop med [min, max]",
        "loop CPU",
        "finalise",
        "anon end"
    );
    let order = [
        "pass-ours",
        "pass-py",
        "t0",
        "t1",
        "auto",
        "fs",
        "zip",
        "floor-py",
        "floor-ours",
        "fs-ours",
        "t0-noverify",
        "t1-noverify",
    ];
    for id in order {
        let v = &r["variants"][id];
        let g = |metric: &str, key: &str| v[metric][key].as_f64().unwrap_or(f64::NAN);
        let range = |metric: &str| {
            if v[metric].is_null() {
                String::new()
            } else {
                format!(
                    "{:.1} [{:.1}, {:.1}]",
                    g(metric, "median"),
                    g(metric, "min"),
                    g(metric, "max")
                )
            }
        };
        let single = |metric: &str| {
            if v[metric].is_null() {
                String::new()
            } else {
                format!("{:.1}", g(metric, "median"))
            }
        };
        println!(
            "{:<42} {:>24} {:>9} {:>9.0} {:>20} {:>9} {:>9} {:>9}",
            v["label"].as_str().unwrap_or(id),
            range("wall_ms"),
            single("cpu_ms"),
            g("peak_rss_kib", "median"),
            range("loop_wall_ms"),
            single("loop_cpu_ms"),
            single("finalise_ms"),
            single("end_anon_kib"),
        );
    }
    println!();
    println!(
        "{:<52} {:>7} {:>7} {:>8}",
        "ratio of medians", "wall", "CPU", "target"
    );
    for row in r["ratios"].as_array().into_iter().flatten() {
        let cpu = row["cpu_ratio"]
            .as_f64()
            .map_or(String::new(), |c| format!("{c:.3}"));
        let target = row["target"]
            .as_f64()
            .map_or(String::new(), |t| format!("<= {t:.2}"));
        println!(
            "{:<52} {:>7.3} {:>7} {:>8}",
            row["label"].as_str().unwrap_or(""),
            row["ratio"].as_f64().unwrap_or(f64::NAN),
            cpu,
            target
        );
    }
    println!();
    println!("sizes (bytes):");
    for (name, size) in r["sizes"].as_object().into_iter().flatten() {
        println!("  {name:<32} {:>12}", size);
    }
    if let Some(strace) = r["strace"].as_object().filter(|s| !s.is_empty()) {
        println!();
        println!("syscalls (strace -c -f):");
        let calls = [
            "openat",
            "newfstatat",
            "statx",
            "stat",
            "lstat",
            "read",
            "mmap",
            "total",
        ];
        print!("  {:<10}", "");
        for c in calls {
            print!(" {c:>10}");
        }
        println!();
        for (id, counts) in strace {
            print!("  {id:<10}");
            for c in calls {
                print!(" {:>10}", counts[c].as_u64().unwrap_or(0));
            }
            println!();
        }
    }
    if let Some(pack) = r["pack"].as_object() {
        println!();
        println!(
            "pack.stdlib, {} rounds alternating ({}; compileall wrote {} .pyc):",
            pack["rounds"],
            pack["pack_summary"].as_str().unwrap_or(""),
            pack["compileall_pyc_files"]
        );
        for name in ["pack", "compileall"] {
            let s = &pack[name];
            println!(
                "  {name:<12} wall {:.3} s [{:.3}, {:.3}]   CPU {:.3} s",
                s["wall_s"]["median"].as_f64().unwrap_or(f64::NAN),
                s["wall_s"]["min"].as_f64().unwrap_or(f64::NAN),
                s["wall_s"]["max"].as_f64().unwrap_or(f64::NAN),
                s["cpu_s"]["median"].as_f64().unwrap_or(f64::NAN),
            );
        }
    }
}
