//! The `system` backend: the C library's `malloc` family, called directly.
//!
//! For the raw domain this is what CPython does itself; installed for the
//! `mem` and `obj` domains it bypasses pymalloc (like `PYTHONMALLOC=malloc`),
//! and for arenas it replaces CPython's `mmap`.

use std::ffi::c_void;

use super::contract::Backend;

pub(crate) struct System;

impl Backend for System {
    unsafe fn malloc(size: usize) -> *mut c_void {
        // SAFETY: any size may be passed to malloc.
        unsafe { libc::malloc(size) }
    }

    unsafe fn zalloc(size: usize) -> *mut c_void {
        // SAFETY: any count and size may be passed to calloc.
        unsafe { libc::calloc(1, size) }
    }

    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: `ptr` is a live block from this libc's malloc family.
        unsafe { libc::realloc(ptr, size) }
    }

    unsafe fn free(ptr: *mut c_void) {
        // SAFETY: `ptr` is a live block from this libc's malloc family.
        unsafe { libc::free(ptr) }
    }
}
