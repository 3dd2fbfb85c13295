//! The `mimalloc` backend (feature `allocator-mimalloc`), through
//! `libmimalloc-sys`, the crate behind the `mimalloc` global allocator.

use std::ffi::c_void;

use libmimalloc_sys as sys;

use super::contract::Backend;

pub(crate) struct Mimalloc;

impl Backend for Mimalloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        // SAFETY: any size may be passed to mi_malloc.
        unsafe { sys::mi_malloc(size) }
    }

    unsafe fn zalloc(size: usize) -> *mut c_void {
        // SAFETY: any size may be passed to mi_zalloc.
        unsafe { sys::mi_zalloc(size) }
    }

    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: `ptr` is a live mimalloc block; on failure mi_realloc
        // returns NULL and leaves it alone.
        unsafe { sys::mi_realloc(ptr, size) }
    }

    unsafe fn free(ptr: *mut c_void) {
        // SAFETY: `ptr` is a live mimalloc block.
        unsafe { sys::mi_free(ptr) }
    }
}
