//! The function tables of every compiled-in backend, called directly (no
//! interpreter): CPython's contract for size 0, `calloc` overflow,
//! `realloc(NULL)`, `free(NULL)`, alignment, contents kept across `realloc`,
//! arenas; and the errors for backends that are not compiled in.

use std::ffi::c_void;
use std::thread;

use pyembed::{MemoryAllocatorBackend, NewInterpreterError, PythonMemoryAllocator};

/// Every backend this build includes.
fn compiled() -> Vec<PythonMemoryAllocator> {
    MemoryAllocatorBackend::ALL
        .iter()
        .filter(|&&b| b != MemoryAllocatorBackend::Default)
        .filter_map(|&b| PythonMemoryAllocator::from_backend(b).ok())
        .collect()
}

/// The table's functions, unwrapped.
struct Table {
    ctx: *mut c_void,
    malloc: extern "C" fn(*mut c_void, usize) -> *mut c_void,
    calloc: extern "C" fn(*mut c_void, usize, usize) -> *mut c_void,
    realloc: extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void,
    free: extern "C" fn(*mut c_void, *mut c_void),
}

impl Table {
    fn of(allocator: PythonMemoryAllocator) -> Table {
        let t = allocator.memory_allocator();
        Table {
            ctx: t.ctx,
            malloc: t.malloc.expect("malloc"),
            calloc: t.calloc.expect("calloc"),
            realloc: t.realloc.expect("realloc"),
            free: t.free.expect("free"),
        }
    }
    fn malloc(&self, size: usize) -> *mut u8 {
        (self.malloc)(self.ctx, size).cast()
    }
    fn calloc(&self, n: usize, size: usize) -> *mut u8 {
        (self.calloc)(self.ctx, n, size).cast()
    }
    fn realloc(&self, p: *mut u8, size: usize) -> *mut u8 {
        (self.realloc)(self.ctx, p.cast(), size).cast()
    }
    fn free(&self, p: *mut u8) {
        (self.free)(self.ctx, p.cast())
    }
}

fn for_each(test: impl Fn(MemoryAllocatorBackend, &Table)) {
    let allocators = compiled();
    assert!(
        allocators.len() >= 2,
        "system and rust are always compiled in"
    );
    for allocator in allocators {
        test(allocator.backend(), &Table::of(allocator));
    }
}

/// Fill `len` bytes at `p` with a pattern derived from `seed`.
fn fill(p: *mut u8, len: usize, seed: u8) {
    // SAFETY: the callers pass a live block of at least `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(p, len) };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
}

fn holds(p: *const u8, len: usize, seed: u8) -> bool {
    // SAFETY: the callers pass a live block of at least `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p, len) };
    bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| b == seed.wrapping_add(i as u8))
}

#[test]
fn size_zero_gives_unique_non_null_blocks() {
    for_each(|backend, t| {
        let a = t.malloc(0);
        let b = t.malloc(0);
        assert!(
            !a.is_null() && !b.is_null(),
            "{backend}: malloc(0) returned NULL"
        );
        assert_ne!(a, b, "{backend}: two malloc(0) blocks share an address");
        // One byte is usable, as in CPython's own `_PyMem_RawMalloc`.
        fill(a, 1, 7);
        let c = t.calloc(0, 8);
        let d = t.calloc(8, 0);
        assert!(
            !c.is_null() && !d.is_null(),
            "{backend}: calloc with a zero returned NULL"
        );
        assert_ne!(c, d, "{backend}");
        for p in [a, b, c, d] {
            t.free(p);
        }
    });
}

#[test]
fn calloc_overflow_is_null() {
    for_each(|backend, t| {
        for (n, size) in [
            (usize::MAX, 2),
            (2, usize::MAX),
            (1 << 33, 1 << 33),
            (usize::MAX, usize::MAX),
        ] {
            assert!(
                t.calloc(n, size).is_null(),
                "{backend}: calloc({n}, {size}) did not fail"
            );
        }
        // A product that fits but is beyond isize::MAX fails too.
        assert!(t.calloc(1 << 32, 1 << 31).is_null(), "{backend}");
    });
}

#[test]
fn oversized_requests_are_null() {
    for_each(|backend, t| {
        assert!(
            t.malloc(usize::MAX).is_null(),
            "{backend}: malloc(usize::MAX)"
        );
        assert!(t.malloc(isize::MAX as usize + 1).is_null(), "{backend}");
        let p = t.malloc(16);
        assert!(
            t.realloc(p, usize::MAX).is_null(),
            "{backend}: realloc to usize::MAX"
        );
        // The failed realloc left the block alone.
        fill(p, 16, 3);
        assert!(holds(p, 16, 3), "{backend}");
        t.free(p);
    });
}

#[test]
fn calloc_zeroes_memory_even_when_reused() {
    for_each(|backend, t| {
        for size in [1, 24, 500, 4096, 100_000, 3 << 20] {
            // Dirty a block of this size and free it, so calloc is likely to
            // be handed the same memory back.
            let dirty = t.malloc(size);
            fill(dirty, size, 0xA5);
            t.free(dirty);
            let p = t.calloc(size / 4 + 1, 4);
            assert!(!p.is_null(), "{backend}: calloc({size})");
            // SAFETY: `p` holds at least `size` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(p, size) };
            assert!(
                bytes.iter().all(|&b| b == 0),
                "{backend}: calloc({size}) not zeroed"
            );
            t.free(p);
        }
    });
}

#[test]
fn realloc_null_allocates_and_free_null_does_nothing() {
    for_each(|backend, t| {
        t.free(std::ptr::null_mut());
        let p = t.realloc(std::ptr::null_mut(), 100);
        assert!(!p.is_null(), "{backend}: realloc(NULL, 100)");
        fill(p, 100, 1);
        assert!(holds(p, 100, 1), "{backend}");
        t.free(p);
        let q = t.realloc(std::ptr::null_mut(), 0);
        assert!(!q.is_null(), "{backend}: realloc(NULL, 0)");
        t.free(q);
    });
}

#[test]
fn realloc_keeps_contents_growing_and_shrinking() {
    for_each(|backend, t| {
        let mut p = t.malloc(10);
        fill(p, 10, 9);
        let mut len = 10;
        for size in [100, 5000, 1 << 20, 8 << 20, 300, 10] {
            p = t.realloc(p, size);
            assert!(!p.is_null(), "{backend}: realloc to {size}");
            let kept = len.min(size);
            assert!(
                holds(p, kept, 9),
                "{backend}: realloc to {size} lost contents"
            );
            fill(p, size, 9);
            len = size;
        }
        // Shrinking to zero keeps a unique block.
        p = t.realloc(p, 0);
        assert!(!p.is_null(), "{backend}: realloc(p, 0)");
        t.free(p);
    });
}

#[test]
fn blocks_are_aligned_for_any_c_type() {
    for_each(|backend, t| {
        let blocks: Vec<*mut u8> = (0..200).map(|i| t.malloc(i * 7 + 1)).collect();
        for &p in &blocks {
            assert_eq!(
                p as usize % 16,
                0,
                "{backend}: block {p:p} is not 16-byte aligned"
            );
        }
        for p in blocks {
            t.free(p);
        }
        let p = t.calloc(3, 5);
        assert_eq!(p as usize % 16, 0, "{backend}: calloc");
        let q = t.realloc(p, 4000);
        assert_eq!(q as usize % 16, 0, "{backend}: realloc");
        t.free(q);
    });
}

#[test]
fn arenas_allocate_and_free_with_their_size() {
    for allocator in compiled() {
        let backend = allocator.backend();
        let arena = allocator.arena_allocator();
        let (alloc, free) = (arena.alloc.expect("alloc"), arena.free.expect("free"));
        let size = 1 << 20;
        let blocks: Vec<*mut u8> = (0..4).map(|_| alloc(arena.ctx, size).cast()).collect();
        for &p in &blocks {
            assert!(!p.is_null(), "{backend}: arena allocation failed");
            fill(p, size, 5);
        }
        for &p in &blocks {
            assert!(holds(p, size, 5), "{backend}: arenas overlap");
        }
        for p in blocks {
            free(arena.ctx, p.cast(), size);
        }
        free(arena.ctx, std::ptr::null_mut(), size);
    }
}

#[test]
fn blocks_move_between_threads() {
    // Blocks allocated on one thread and freed on another: CPython's raw
    // domain is used without the GIL, from any thread.
    for allocator in compiled() {
        let backend = allocator.backend();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                thread::spawn(move || {
                    let t = Table::of(allocator);
                    (0..2000)
                        .map(|j| {
                            let size = (i * 2000 + j) % 3000 + 1;
                            let p = t.malloc(size);
                            fill(p, size, size as u8);
                            (p as usize, size)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let t = Table::of(allocator);
        for handle in handles {
            for (p, size) in handle.join().expect("allocating thread") {
                let p = p as *mut u8;
                assert!(holds(p, size, size as u8), "{backend}: block corrupted");
                t.free(p);
            }
        }
    }
}

#[test]
fn backend_names_the_constructor() {
    assert_eq!(
        PythonMemoryAllocator::system().backend(),
        MemoryAllocatorBackend::System
    );
    assert_eq!(
        PythonMemoryAllocator::rust().backend(),
        MemoryAllocatorBackend::Rust
    );
    #[cfg(feature = "allocator-jemalloc")]
    assert_eq!(
        PythonMemoryAllocator::jemalloc().backend(),
        MemoryAllocatorBackend::Jemalloc
    );
    #[cfg(feature = "allocator-mimalloc")]
    assert_eq!(
        PythonMemoryAllocator::mimalloc().backend(),
        MemoryAllocatorBackend::Mimalloc
    );
    #[cfg(feature = "allocator-snmalloc")]
    assert_eq!(
        PythonMemoryAllocator::snmalloc().backend(),
        MemoryAllocatorBackend::Snmalloc
    );
    for &backend in MemoryAllocatorBackend::ALL {
        if let Ok(allocator) = PythonMemoryAllocator::from_backend(backend) {
            assert_ne!(allocator.backend(), MemoryAllocatorBackend::Default);
        }
    }
}

#[test]
fn default_resolves_to_the_target_default() {
    let allocator = PythonMemoryAllocator::from_backend(MemoryAllocatorBackend::Default)
        .expect("the default backend is always available");
    assert_eq!(
        allocator.backend(),
        PythonMemoryAllocator::target_default_backend()
    );
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    assert_eq!(allocator.backend(), MemoryAllocatorBackend::System);
}

#[test]
fn distinct_backends_have_distinct_contexts() {
    let contexts: Vec<*mut c_void> = compiled()
        .iter()
        .map(|a| a.memory_allocator().ctx)
        .collect();
    for (i, a) in contexts.iter().enumerate() {
        assert!(!a.is_null());
        assert!(!contexts[i + 1..].contains(a), "two backends share a ctx");
    }
}

/// The error for a backend that is not compiled in names its feature.
#[allow(dead_code)]
fn assert_missing(backend: MemoryAllocatorBackend, feature: &str) {
    let err = PythonMemoryAllocator::from_backend(backend).unwrap_err();
    assert!(
        matches!(&err, NewInterpreterError::Unsupported { what, .. } if what.contains(backend.as_str())),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "memory allocator backend `{backend}` is not available in this build: build pyembed \
             with the Cargo feature `{feature}`, or choose `default`, `system` or `rust`"
        )
    );
}

#[test]
fn backends_not_compiled_in_are_errors_naming_their_feature() {
    #[cfg(not(feature = "allocator-jemalloc"))]
    assert_missing(MemoryAllocatorBackend::Jemalloc, "allocator-jemalloc");
    #[cfg(not(feature = "allocator-mimalloc"))]
    assert_missing(MemoryAllocatorBackend::Mimalloc, "allocator-mimalloc");
    #[cfg(not(feature = "allocator-snmalloc"))]
    assert_missing(MemoryAllocatorBackend::Snmalloc, "allocator-snmalloc");
    let expected = 2
        + usize::from(cfg!(feature = "allocator-jemalloc"))
        + usize::from(cfg!(feature = "allocator-mimalloc"))
        + usize::from(cfg!(feature = "allocator-snmalloc"));
    assert_eq!(compiled().len(), expected);
}
