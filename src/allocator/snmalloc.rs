//! The `snmalloc` backend (feature `allocator-snmalloc`), through
//! `snmalloc-sys` with its C API (`sn_malloc` ...) compiled in.
//!
//! The crate is built with its `cc` build path rather than CMake, so a C++17
//! compiler is the only tool it needs.

use std::ffi::c_void;

use snmalloc_sys as sys;

use super::contract::Backend;

pub(crate) struct Snmalloc;

impl Backend for Snmalloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        // SAFETY: any size may be passed to sn_malloc.
        unsafe { sys::sn_malloc(size) }
    }

    unsafe fn zalloc(size: usize) -> *mut c_void {
        // SAFETY: any count and size may be passed to sn_calloc.
        unsafe { sys::sn_calloc(1, size) }
    }

    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: `ptr` is a live snmalloc block; on failure sn_realloc
        // returns NULL and leaves it alone.
        unsafe { sys::sn_realloc(ptr, size) }
    }

    unsafe fn free(ptr: *mut c_void) {
        // SAFETY: `ptr` is a live snmalloc block.
        unsafe { sys::sn_free(ptr) }
    }
}

/// snmalloc without libstdc++ at run time.
///
/// snmalloc keeps an allocator per thread in a C++ `thread_local` whose
/// destructor the compiler registers through `__cxa_thread_atexit`, the one
/// symbol of the whole program that only `libstdc++.so.6` exports. Loading
/// libstdc++ for it cost every start of every binary linking this crate
/// (the `pyembed` launcher included, whatever allocator it runs): the
/// dynamic linker maps the library and resolves its own ~3,000
/// relocations, about 60 % of the launcher's time in `ld.so` (perf,
/// `-I -S -c pass`). libstdc++'s definition forwards to glibc's
/// `__cxa_thread_atexit_impl` (glibc 2.18 and later); this one does the
/// same, so the linker resolves snmalloc's reference here and, linking with
/// `--as-needed` as rustc does, drops `libstdc++.so.6` from the executable's
/// dependencies. Where libstdc++ is loaded anyway (other C++ code), the two
/// definitions behave identically. The definition sits in this module, next
/// to the backend's functions, so every link that uses the backend has it
/// (with rust-lld and with GNU ld, `PYEMBED_CPYTHON_LTO_LINK=1`). See
/// docs/performance.md ("Start-up").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod thread_atexit {
    use std::ffi::{c_int, c_void};

    /// A thread-local object's destructor, as the C++ ABI passes it.
    type Destructor = unsafe extern "C" fn(*mut c_void);

    unsafe extern "C" {
        fn __cxa_thread_atexit_impl(
            dtor: Destructor,
            obj: *mut c_void,
            dso_symbol: *mut c_void,
        ) -> c_int;
    }

    /// `__cxa_thread_atexit` of the Itanium C++ ABI, as libstdc++ defines it
    /// on glibc: registers `dtor(obj)` to run when the calling thread exits.
    ///
    /// # Safety
    /// The C++ ABI's contract: `dtor` may be called with `obj` when the
    /// thread exits, and `dso_symbol` is the `__dso_handle` of the calling
    /// object (glibc keeps that object loaded until the destructor ran).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __cxa_thread_atexit(
        dtor: Destructor,
        obj: *mut c_void,
        dso_symbol: *mut c_void,
    ) -> c_int {
        // SAFETY: the caller upholds the same contract glibc's function has;
        // the arguments are passed through unchanged.
        unsafe { __cxa_thread_atexit_impl(dtor, obj, dso_symbol) }
    }
}
