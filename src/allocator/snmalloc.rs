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
