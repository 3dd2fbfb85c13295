//! The `jemalloc` backend (feature `allocator-jemalloc`).
//!
//! Built from `tikv-jemalloc-sys`, the maintained fork of `jemalloc-sys`
//! (the original crate has had no release since 2019; TiKV's fork tracks
//! jemalloc 5.3 and is what `tikv-jemallocator`, the Rust ecosystem's
//! jemalloc global allocator, uses). Its symbols are prefixed (`_rjem_malloc`
//! ...), so linking it does not replace the C library's `malloc` for the rest
//! of the process. Statistics are compiled in (`stats`, jemalloc's own
//! default) so applications and tests can read `stats.*` through `mallctl`.

use std::ffi::c_void;

use tikv_jemalloc_sys as sys;

use super::contract::Backend;

pub(crate) struct Jemalloc;

impl Backend for Jemalloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        // SAFETY: size >= 1, which mallocx requires; flags 0 = malloc's alignment.
        unsafe { sys::mallocx(size, 0) }
    }

    unsafe fn zalloc(size: usize) -> *mut c_void {
        // SAFETY: size >= 1; MALLOCX_ZERO asks for zeroed memory.
        unsafe { sys::mallocx(size, sys::MALLOCX_ZERO) }
    }

    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: `ptr` is a live jemalloc block and size >= 1, as rallocx
        // requires; on failure it returns NULL and leaves `ptr` alone.
        unsafe { sys::rallocx(ptr, size, 0) }
    }

    unsafe fn free(ptr: *mut c_void) {
        // SAFETY: `ptr` is a live, non-NULL jemalloc block.
        unsafe { sys::dallocx(ptr, 0) }
    }

    unsafe fn arena_free(ptr: *mut c_void, size: usize) {
        // SAFETY: `ptr` came from mallocx(size, 0); sized deallocation skips
        // the size lookup.
        unsafe { sys::sdallocx(ptr, size, 0) }
    }
}
