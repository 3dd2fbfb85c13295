//! Each backend, installed by `MainPythonInterpreter::new`, really serves the
//! domains it was configured for, in every combination of domains and debug
//! hooks, and the interpreter runs an allocation-heavy workload and finalizes
//! cleanly on top of it.
//!
//! "Really serves" is measured with the backend's own books: jemalloc's
//! `stats.allocated`, mimalloc's `mi_is_in_heap_region`, snmalloc's
//! reservation statistics, glibc's `mallinfo2` for `system`, and for `rust` a
//! counting `#[global_allocator]` in this test binary. A domain that was not
//! configured must leave those books alone (except under `system`, where
//! CPython's own raw allocator is the same glibc `malloc`).

#[macro_use]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyembed::{
    MemoryAllocatorBackend, MemoryAllocatorDomain, OxidizedPythonInterpreterConfig,
    PythonMemoryAllocator,
};
use pyo3::ffi;
use support::{config, eval, start};

/// The global allocator of this test binary: the system allocator, counting
/// the bytes it currently holds, so the `rust` backend's use is visible.
struct Counting;

static RUST_LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the same arguments and only
// adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        RUST_LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        RUST_LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        RUST_LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        RUST_LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        RUST_LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[cfg(feature = "allocator-mimalloc")]
unsafe extern "C" {
    // mimalloc's public API (mimalloc.h); `libmimalloc-sys` declares it only
    // with its `extended` feature, the symbol is always in the library.
    fn mi_is_in_heap_region(p: *const c_void) -> bool;
}

/// Bytes the backend's books say it holds now; `None` for mimalloc, which is
/// asked about pointers instead.
fn held_bytes(backend: MemoryAllocatorBackend) -> Option<usize> {
    match backend {
        MemoryAllocatorBackend::Rust => Some(RUST_LIVE_BYTES.load(Ordering::Relaxed)),
        MemoryAllocatorBackend::System => {
            // SAFETY: mallinfo2 only reads glibc's statistics.
            let info = unsafe { libc::mallinfo2() };
            Some(info.uordblks + info.hblkhd)
        }
        #[cfg(feature = "allocator-jemalloc")]
        MemoryAllocatorBackend::Jemalloc => {
            use tikv_jemalloc_sys::mallctl;
            let mut epoch: u64 = 1;
            let mut allocated: usize = 0;
            let mut len = std::mem::size_of::<usize>();
            // SAFETY: "epoch" takes a u64 to write (refreshing the
            // statistics); "stats.allocated" reads a size_t into `allocated`,
            // whose size `len` holds.
            unsafe {
                let rc = mallctl(
                    c"epoch".as_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    (&raw mut epoch).cast(),
                    std::mem::size_of::<u64>(),
                );
                assert_eq!(rc, 0, "mallctl(epoch)");
                let rc = mallctl(
                    c"stats.allocated".as_ptr(),
                    (&raw mut allocated).cast(),
                    &mut len,
                    std::ptr::null_mut(),
                    0,
                );
                assert_eq!(rc, 0, "mallctl(stats.allocated)");
            }
            Some(allocated)
        }
        #[cfg(feature = "allocator-snmalloc")]
        MemoryAllocatorBackend::Snmalloc => {
            let (mut current, mut peak) = (0usize, 0usize);
            // SAFETY: writes two usizes through valid pointers.
            unsafe { snmalloc_sys::sn_rust_statistics(&mut current, &mut peak) };
            Some(current)
        }
        _ => None,
    }
}

/// Whether the memory `allocate` returns (`min_bytes` or more in total) came
/// from `backend`.
fn served_by(
    backend: MemoryAllocatorBackend,
    min_bytes: usize,
    allocate: impl FnOnce() -> *mut c_void,
) -> bool {
    match held_bytes(backend) {
        Some(before) => {
            let p = allocate();
            assert!(!p.is_null());
            let after = held_bytes(backend).expect("the same backend");
            after.saturating_sub(before) >= min_bytes / 2
        }
        None => {
            let p = allocate();
            assert!(!p.is_null());
            owns(backend, p)
        }
    }
}

#[allow(unused_variables)]
fn owns(backend: MemoryAllocatorBackend, p: *mut c_void) -> bool {
    match backend {
        #[cfg(feature = "allocator-mimalloc")]
        // SAFETY: mi_is_in_heap_region accepts any pointer.
        MemoryAllocatorBackend::Mimalloc => unsafe { mi_is_in_heap_region(p) },
        other => unreachable!("{other} has byte statistics"),
    }
}

/// Which domains a child configures: `PYEMBED_TEST_DOMAINS` holds the
/// comma-separated names of the enabled flags (`raw,mem,obj,arena,debug`).
#[derive(Clone, Copy, Debug, Default)]
struct Domains {
    raw: bool,
    mem: bool,
    obj: bool,
    arena: bool,
    debug: bool,
}

const DOMAINS_ENV: &str = "PYEMBED_TEST_DOMAINS";

impl Domains {
    /// Every valid combination: arena excludes mem and obj.
    fn all() -> Vec<Domains> {
        let mut all = Vec::new();
        for raw in [false, true] {
            for debug in [false, true] {
                for (mem, obj, arena) in [
                    (false, false, false),
                    (true, false, false),
                    (false, true, false),
                    (true, true, false),
                    (false, false, true),
                ] {
                    all.push(Domains {
                        raw,
                        mem,
                        obj,
                        arena,
                        debug,
                    });
                }
            }
        }
        all
    }

    fn encode(&self) -> String {
        let names = [
            (self.raw, "raw"),
            (self.mem, "mem"),
            (self.obj, "obj"),
            (self.arena, "arena"),
            (self.debug, "debug"),
        ];
        let on: Vec<&str> = names.iter().filter(|(b, _)| *b).map(|(_, n)| *n).collect();
        format!("[{}]", on.join(","))
    }

    fn from_env() -> Domains {
        let value = std::env::var(DOMAINS_ENV).expect("the parent sets the domains");
        let has = |name: &str| value.split([',', '[', ']']).any(|part| part == name);
        Domains {
            raw: has("raw"),
            mem: has("mem"),
            obj: has("obj"),
            arena: has("arena"),
            debug: has("debug"),
        }
    }

    fn apply(&self, config: &mut OxidizedPythonInterpreterConfig<'_>) {
        config.allocator_raw = self.raw;
        config.allocator_mem = self.mem;
        config.allocator_obj = self.obj;
        config.allocator_pymalloc_arena = self.arena;
        config.allocator_debug = self.debug;
    }
}

/// The Python workload every combination runs: object churn, large strings,
/// dict growth, a little of everything.
const WORKLOAD: &str = r#"
    d = {}
    for i in range(50_000):
        d[str(i)] = [i] * (i % 7)
    churn = [tuple(range(i % 40)) for i in range(20_000)]
    big = "ab" * (4 << 20)
    bigger = big.replace("a", "xyz")
    import json
    again = json.loads(json.dumps({k: v for k, v in list(d.items())[:20_000]}))
    del churn
    (len(d), len(bigger), len(again))
"#;

/// The base configuration with `backend` serving the raw, mem and obj
/// domains (pymalloc's arenas left alone).
fn serving_every_domain(
    backend: MemoryAllocatorBackend,
) -> OxidizedPythonInterpreterConfig<'static> {
    let mut config = config(&["prog"]);
    config.allocator_backend = backend;
    config.allocator_mem = true;
    config.allocator_obj = true;
    config
}

/// In a child: start the interpreter with `backend` and the domains of
/// `PYEMBED_TEST_DOMAINS`, prove which domains the backend serves, run the
/// workload, finalize.
fn run_combination(backend: MemoryAllocatorBackend) {
    let domains = Domains::from_env();
    let mut config = config(&["prog"]);
    config.allocator_backend = backend;
    domains.apply(&mut config);
    let interpreter = start(config);

    // Which table each domain has. Debug hooks wrap every domain, hiding
    // the backend underneath; arenas are never wrapped.
    let expect = |chosen: bool| (chosen && !domains.debug).then_some(backend);
    let installed = |d| PythonMemoryAllocator::installed(d).map(|a| a.backend());
    assert_eq!(
        installed(MemoryAllocatorDomain::Raw),
        expect(domains.raw),
        "raw"
    );
    assert_eq!(
        installed(MemoryAllocatorDomain::Mem),
        expect(domains.mem),
        "mem"
    );
    assert_eq!(
        installed(MemoryAllocatorDomain::Obj),
        expect(domains.obj),
        "obj"
    );
    assert_eq!(
        PythonMemoryAllocator::installed_arena().map(|a| a.backend()),
        domains.arena.then_some(backend),
        "arena"
    );

    // Where memory goes. Blocks above 512 bytes asked of pymalloc (mem and
    // obj when not replaced) fall through to the raw domain; small blocks
    // come from pymalloc's arenas. Under `system`, CPython's own raw domain
    // is glibc malloc too, so large blocks always show up in glibc's books.
    let system = backend == MemoryAllocatorBackend::System;
    let big = 32 << 20;
    let (raw, mem, obj, small) = interpreter.with_gil(|_py| {
        // SAFETY: this thread holds the GIL, which PyMem_Malloc and
        // PyObject_Malloc need; the blocks are freed below with the matching
        // functions.
        unsafe {
            let mut blocks = Vec::new();
            let raw = served_by(backend, big, || {
                blocks.push((0, ffi::PyMem_RawMalloc(big)));
                blocks[blocks.len() - 1].1
            });
            let mem = served_by(backend, big, || {
                blocks.push((1, ffi::PyMem_Malloc(big)));
                blocks[blocks.len() - 1].1
            });
            let obj = served_by(backend, big, || {
                blocks.push((2, ffi::PyObject_Malloc(big)));
                blocks[blocks.len() - 1].1
            });
            // 40,000 blocks of 128 bytes: five MiB of pymalloc pools.
            let small = served_by(backend, 5 << 20, || {
                let mut last = std::ptr::null_mut();
                for _ in 0..40_000 {
                    last = ffi::PyObject_Malloc(128);
                    blocks.push((2, last));
                }
                last
            });
            for (kind, p) in blocks {
                match kind {
                    0 => ffi::PyMem_RawFree(p),
                    1 => ffi::PyMem_Free(p),
                    _ => ffi::PyObject_Free(p),
                }
            }
            (raw, mem, obj, small)
        }
    });
    assert_eq!(
        raw,
        domains.raw || system,
        "a raw block served by {backend}"
    );
    assert_eq!(
        mem,
        domains.mem || domains.raw || system,
        "a large mem block served by {backend}"
    );
    assert_eq!(
        obj,
        domains.obj || domains.raw || system,
        "a large obj block served by {backend}"
    );
    assert_eq!(
        small,
        domains.obj || domains.arena,
        "small obj blocks served by {backend}"
    );

    let sizes: (usize, usize, usize) = interpreter.with_gil(|py| eval(py, WORKLOAD));
    assert_eq!(sizes, (50_000, 16 << 20, 20_000));
    drop(interpreter);
    eprintln!("finalized cleanly with {backend} {}", domains.encode());
}

/// Run [`run_combination`] for every combination, each in its own child.
macro_rules! every_combination {
    ($name:ident, $backend:expr) => {
        #[test]
        fn $name() {
            for domains in Domains::all() {
                let encoded = domains.encode();
                // The child re-runs this function and executes the first
                // `forked!` it reaches, which reads its domains from the
                // environment, so the loop forks once per combination.
                forked!($name, &[(DOMAINS_ENV, Some(encoded.as_str()))], || {
                    run_combination($backend)
                })
                .assert_success()
                .assert_output_contains(&format!("finalized cleanly with {}", $backend));
            }
        }
    };
}

every_combination!(
    system_serves_every_domain_combination,
    MemoryAllocatorBackend::System
);
every_combination!(
    rust_serves_every_domain_combination,
    MemoryAllocatorBackend::Rust
);
#[cfg(feature = "allocator-jemalloc")]
every_combination!(
    jemalloc_serves_every_domain_combination,
    MemoryAllocatorBackend::Jemalloc
);
#[cfg(feature = "allocator-mimalloc")]
every_combination!(
    mimalloc_serves_every_domain_combination,
    MemoryAllocatorBackend::Mimalloc
);
#[cfg(feature = "allocator-snmalloc")]
every_combination!(
    snmalloc_serves_every_domain_combination,
    MemoryAllocatorBackend::Snmalloc
);

forked_test! {
    fn the_default_backend_leaves_cpython_allocators_alone_on_glibc() {
        let mut config = config(&["prog"]);
        assert_eq!(config.allocator_backend, MemoryAllocatorBackend::Default);
        assert!(config.allocator_raw, "raw is on by default");
        config.allocator_mem = true;
        let interpreter = start(config);
        if PythonMemoryAllocator::target_default_backend() == MemoryAllocatorBackend::System {
            assert_eq!(PythonMemoryAllocator::installed(MemoryAllocatorDomain::Raw), None);
            assert_eq!(PythonMemoryAllocator::installed(MemoryAllocatorDomain::Mem), None);
            // pymalloc still serves small objects.
            let blocks: i64 = interpreter.with_gil(|py| eval(py, "import sys\nsys.getallocatedblocks()"));
            assert!(blocks > 1000, "{blocks}");
        }
    }

    fn python_objects_live_in_the_backend() {
        // A large `bytes` object made by Python code lands in the raw domain.
        let mut config = config(&["prog"]);
        config.allocator_backend = MemoryAllocatorBackend::Rust;
        let interpreter = start(config);
        let before = RUST_LIVE_BYTES.load(Ordering::Relaxed);
        let after = interpreter.with_gil(|py| {
            let object = py.eval(c"b'x' * (64 << 20)", None, None).expect("bytes");
            let after = RUST_LIVE_BYTES.load(Ordering::Relaxed);
            drop(object);
            after
        });
        assert!(after - before >= 64 << 20, "{before} -> {after}");
        drop(interpreter);
    }

    fn the_system_backend_replaces_pymalloc_for_mem_and_obj() {
        let config = serving_every_domain(MemoryAllocatorBackend::System);
        // sys.getallocatedblocks() counts pymalloc's blocks only.
        let interpreter = start(config);
        let blocks: i64 = interpreter.with_gil(|py| eval(py, "import sys\nsys.getallocatedblocks()"));
        assert_eq!(blocks, 0);
    }
}

#[cfg(not(all(
    feature = "allocator-jemalloc",
    feature = "allocator-mimalloc",
    feature = "allocator-snmalloc"
)))]
forked_test! {
    fn a_backend_not_compiled_in_is_refused_before_cpython_starts() {
        let missing = [
            (!cfg!(feature = "allocator-jemalloc"), MemoryAllocatorBackend::Jemalloc, "allocator-jemalloc"),
            (!cfg!(feature = "allocator-mimalloc"), MemoryAllocatorBackend::Mimalloc, "allocator-mimalloc"),
            (!cfg!(feature = "allocator-snmalloc"), MemoryAllocatorBackend::Snmalloc, "allocator-snmalloc"),
        ];
        let (_, backend, feature) = missing.into_iter().find(|m| m.0).expect("one is missing");
        let mut bad = config(&["prog"]);
        bad.allocator_backend = backend;
        let err = support::start_err(bad);
        assert!(err.to_string().contains(feature), "{err}");
        assert_eq!(err.phase(), pyembed::InitPhase::Configuration);
        // Nothing was touched: a corrected configuration starts.
        let answer: i64 = support::python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }
}

#[cfg(all(
    feature = "allocator-snmalloc",
    target_os = "linux",
    target_env = "gnu"
))]
forked_test! {
    fn snmalloc_threads_come_and_go_without_libstdcxx_loaded() {
        // snmalloc registers its per-thread allocator's destructor with
        // `__cxa_thread_atexit`, which this crate defines (forwarding to
        // glibc) so that no binary loads libstdc++ for that one symbol.
        let config = serving_every_domain(MemoryAllocatorBackend::Snmalloc);
        let interpreter = start(config);
        assert_eq!(
            PythonMemoryAllocator::installed(MemoryAllocatorDomain::Raw).map(|a| a.backend()),
            Some(MemoryAllocatorBackend::Snmalloc)
        );
        // Every thread allocates from snmalloc, frees blocks another thread
        // allocated, and exits, running the destructor registered through
        // `__cxa_thread_atexit`; three rounds reuse what they returned.
        let total: i64 = interpreter.with_gil(|py| {
            eval(
                py,
                "import threading\n\
                 shared = [bytearray(4096) for _ in range(2000)]\n\
                 out = []\n\
                 def work(i):\n\
                 \x20   mine = [bytes(64 * (j % 50)) for j in range(5000)]\n\
                 \x20   del shared[i::16]\n\
                 \x20   out.append(sum(map(len, mine)))\n\
                 for _ in range(3):\n\
                 \x20   shared = [bytearray(4096) for _ in range(2000)]\n\
                 \x20   ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]\n\
                 \x20   [t.start() for t in ts]\n\
                 \x20   [t.join() for t in ts]\n\
                 sum(out)",
            )
        });
        assert_eq!(total, 48 * (0..5000).map(|j| 64 * (j % 50)).sum::<i64>());
        drop(interpreter);
        let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        assert!(
            !maps.contains("libstdc++"),
            "libstdc++ is mapped into a process whose only C++ is snmalloc:\n{maps}"
        );
    }
}
