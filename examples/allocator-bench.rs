//! One run of an allocation-heavy Python workload on a chosen allocator
//! backend, for `benches/allocators.sh`.
//!
//! ```sh
//! cargo run --release --example allocator-bench \
//!     --features allocator-jemalloc,allocator-mimalloc,allocator-snmalloc \
//!     -- jemalloc raw+mem+obj churn
//! ```
//!
//! Arguments: the backend (`cpython` for `default` on glibc, i.e. CPython's
//! own allocators, or any `MemoryAllocatorBackend` name), the domains
//! (`raw`, `raw+arena`, `raw+mem+obj`; ignored for `cpython`), and the
//! workload (see [`WORKLOADS`]). Prints one line: `seconds peak_rss_kib`,
//! the time of the workload alone (interpreter start-up excluded) and the
//! process's peak resident set (`getrusage`).
//!
//! `allocator-bench micro` instead times the raw function tables directly
//! (malloc/free pairs of mixed sizes, one and two threads) for every
//! compiled-in backend and for a baseline `rust` design that finds each
//! block's size in a mutex-guarded `HashMap`: the design the size header of
//! the `rust` backend replaces.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Mutex;
use std::time::Instant;

use pyembed::{
    MainPythonInterpreter, MemoryAllocatorBackend, OxidizedPythonInterpreterConfig,
    PythonMemoryAllocator,
};
use pyo3::ffi;

/// `(name, Python code)`. Each workload is a few hundred milliseconds of
/// CPython 3.11 on a 2020s x86-64 core.
const WORKLOADS: &[(&str, &str)] = &[
    (
        "churn",
        // Object churn: short-lived tuples, lists, dicts and instances.
        r#"
class Point:
    __slots__ = ("x", "y")
    def __init__(self, x, y):
        self.x = x; self.y = y
total = 0
for round in range(30):
    items = [(i, str(i), [i] * 3, {"k": i}, Point(i, -i)) for i in range(20_000)]
    total += sum(t[4].x for t in items)
    del items
"#,
    ),
    (
        "strings",
        // Large strings: building, joining, replacing, splitting megabytes.
        r#"
total = 0
for round in range(6):
    parts = [str(i) * (i % 50) for i in range(40_000)]
    text = "\n".join(parts)
    text = text.replace("1", "one").upper()
    total += len(text.split("\n"))
    blob = text.encode() * 4
    total += len(blob.decode())
"#,
    ),
    (
        "dicts",
        // Dict growth: build large dicts key by key, then shrink them.
        r#"
total = 0
for round in range(4):
    d = {}
    for i in range(300_000):
        d[i] = i
    s = {str(k): v for k, v in d.items() if k % 3}
    total += len(s)
    for k in list(d)[::2]:
        del d[k]
    total += len(d)
"#,
    ),
    (
        "nbody",
        // pyperformance-style: floating-point object churn (n-body).
        r#"
import math
bodies = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 39.47],
          [[4.84, -1.16, -0.10], [0.606, 2.81, -0.02], 0.037],
          [[8.34, 4.12, -0.40], [-1.01, 1.82, 0.008], 0.011],
          [[12.89, -15.11, -0.22], [1.08, 0.868, -0.01], 0.0017],
          [[15.37, -25.91, 0.179], [0.979, 0.594, -0.034], 0.002]]
pairs = [(bodies[i], bodies[j]) for i in range(5) for j in range(i + 1, 5)]
for step in range(60_000):
    for ((r1, v1, m1), (r2, v2, m2)) in pairs:
        dx = r1[0] - r2[0]; dy = r1[1] - r2[1]; dz = r1[2] - r2[2]
        mag = 0.01 * ((dx * dx + dy * dy + dz * dz) ** -1.5)
        b1 = m1 * mag; b2 = m2 * mag
        v1[0] -= dx * b2; v1[1] -= dy * b2; v1[2] -= dz * b2
        v2[0] += dx * b1; v2[1] += dy * b1; v2[2] += dz * b1
    for (r, v, m) in bodies:
        r[0] += 0.01 * v[0]; r[1] += 0.01 * v[1]; r[2] += 0.01 * v[2]
"#,
    ),
    (
        "json",
        // pyperformance-style: json dumps and loads of nested data.
        r#"
import json
data = {"items": [{"id": i, "name": "item %d" % i, "tags": ["a", "b", str(i)],
                   "price": i * 1.25, "nested": {"x": [i, i + 1]}} for i in range(5_000)]}
for round in range(20):
    text = json.dumps(data)
    back = json.loads(text)
    assert len(back["items"]) == 5_000
"#,
    ),
    (
        "fannkuch",
        // pyperformance-style: list permutation churn (fannkuch-redux, n=9).
        r#"
def fannkuch(n):
    count = list(range(1, n + 1))
    max_flips = 0
    m = n - 1
    r = n
    perm1 = list(range(n))
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1
        if perm1[0] != 0 and perm1[m] != m:
            perm = perm1[:]
            flips = 0
            k = perm[0]
            while k:
                perm[:k + 1] = perm[k::-1]
                flips += 1
                k = perm[0]
            max_flips = max(max_flips, flips)
        while r != n:
            perm1.insert(r, perm1.pop(0))
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        else:
            return max_flips
fannkuch(9)
"#,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["micro"] => {
            micro();
            0
        }
        ["workloads"] => {
            for (name, _) in WORKLOADS {
                println!("{name}");
            }
            0
        }
        [backend, domains, workload] => run(backend, domains, workload),
        _ => {
            eprintln!(
                "usage: allocator-bench BACKEND DOMAINS WORKLOAD | micro | workloads\n\
                 BACKEND: cpython or a MemoryAllocatorBackend name; \
                 DOMAINS: raw, raw+arena, raw+mem+obj"
            );
            2
        }
    };
    std::process::exit(code);
}

/// A small mix of the workloads, for runs under valgrind
/// (`benches/allocators_valgrind.sh`); not part of the benchmark.
const SMOKE: (&str, &str) = (
    "smoke",
    r#"
import json
d = {str(i): [i] * (i % 5) for i in range(20_000)}
text = "\n".join(d) * 20
back = json.loads(json.dumps(d))
assert len(back) == 20_000 and len(text.split("\n")) > 20_000
"#,
);

fn run(backend: &str, domains: &str, workload: &str) -> i32 {
    let found = WORKLOADS
        .iter()
        .chain([&SMOKE])
        .find(|(name, _)| *name == workload);
    let Some((_, code)) = found else {
        eprintln!("allocator-bench: unknown workload `{workload}`");
        return 2;
    };
    let mut config = OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.parse_argv = Some(false);
    config.argv = Some(vec!["allocator-bench".into()]);
    if backend == "cpython" {
        config.allocator_backend = MemoryAllocatorBackend::Default;
    } else {
        match MemoryAllocatorBackend::try_from(backend) {
            Ok(b) => config.allocator_backend = b,
            Err(err) => {
                eprintln!("allocator-bench: {err}");
                return 2;
            }
        }
        let parts: Vec<&str> = domains.split('+').collect();
        config.allocator_raw = parts.contains(&"raw");
        config.allocator_mem = parts.contains(&"mem");
        config.allocator_obj = parts.contains(&"obj");
        config.allocator_pymalloc_arena = parts.contains(&"arena");
    }
    let interpreter = match MainPythonInterpreter::new(config) {
        Ok(interpreter) => interpreter,
        Err(err) => {
            eprintln!("allocator-bench: {err}");
            return 1;
        }
    };
    let source = std::ffi::CString::new(*code).expect("no NUL in workloads");
    let seconds = interpreter.with_gil(|py| {
        let globals = pyo3::types::PyDict::new(py);
        let start = Instant::now();
        if let Err(err) = py.run(&source, Some(&globals), None) {
            err.print(py);
            return None;
        }
        Some(start.elapsed().as_secs_f64())
    });
    drop(interpreter);
    let Some(seconds) = seconds else {
        return 1;
    };
    println!("{seconds:.6} {}", peak_rss_kib());
    0
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage.ru_maxrss
    }
}

/// A `PyMemAllocatorEx`-shaped malloc/free pair.
type Pair = (
    extern "C" fn(*mut c_void, usize) -> *mut c_void,
    extern "C" fn(*mut c_void, *mut c_void),
    *mut c_void,
);

/// The baseline: Rust's allocator with each block's layout in a global,
/// mutex-guarded map, as an embedding without size headers must do.
static LAYOUTS: Mutex<Option<HashMap<usize, std::alloc::Layout>>> = Mutex::new(None);

extern "C" fn map_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    let Ok(layout) = std::alloc::Layout::from_size_align(size.max(1), 16) else {
        return std::ptr::null_mut();
    };
    // SAFETY: non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    if !p.is_null() {
        let mut map = LAYOUTS.lock().unwrap_or_else(|e| e.into_inner());
        map.get_or_insert_with(HashMap::new)
            .insert(p as usize, layout);
    }
    p.cast()
}

extern "C" fn map_free(_: *mut c_void, p: *mut c_void) {
    if p.is_null() {
        return;
    }
    let layout = {
        let mut map = LAYOUTS.lock().unwrap_or_else(|e| e.into_inner());
        map.get_or_insert_with(HashMap::new).remove(&(p as usize))
    };
    if let Some(layout) = layout {
        // SAFETY: `p` was allocated with `layout` by map_malloc.
        unsafe { std::alloc::dealloc(p.cast(), layout) };
    }
}

fn micro() {
    let mut candidates: Vec<(String, Pair)> = vec![(
        "rust-mutex-map".into(),
        (map_malloc, map_free, std::ptr::null_mut()),
    )];
    for &backend in MemoryAllocatorBackend::ALL {
        if backend == MemoryAllocatorBackend::Default {
            continue;
        }
        if let Ok(allocator) = PythonMemoryAllocator::from_backend(backend) {
            let table: ffi::PyMemAllocatorEx = allocator.memory_allocator();
            let pair = (
                table.malloc.expect("malloc"),
                table.free.expect("free"),
                table.ctx,
            );
            candidates.push((backend.to_string(), pair));
        }
    }
    println!("backend threads ns_per_malloc_free");
    for threads in [1, 2] {
        for (name, pair) in &candidates {
            let ns = time_pairs(*pair, threads);
            println!("{name} {threads} {ns:.1}");
        }
    }
}

/// Median over 5 runs of the time per malloc+free, with `threads` threads
/// each keeping a window of 64 live blocks of mixed sizes.
fn time_pairs(pair: Pair, threads: usize) -> f64 {
    const OPS: usize = 400_000;
    let (malloc, free, ctx) = (pair.0, pair.1, pair.2 as usize);
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for t in 0..threads {
                    scope.spawn(move || {
                        let ctx = ctx as *mut c_void;
                        let mut window = [std::ptr::null_mut::<c_void>(); 64];
                        for i in 0..OPS {
                            let slot = i % 64;
                            free(ctx, window[slot]);
                            let size = [24, 48, 64, 100, 200, 520, 1000, 4096][(i + t) % 8];
                            window[slot] = malloc(ctx, size);
                        }
                        for p in window {
                            free(ctx, p);
                        }
                    });
                }
            });
            start.elapsed().as_nanos() as f64 / (OPS * threads) as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}
