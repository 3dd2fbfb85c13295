//! The `rust` backend: Rust's global allocator (`std::alloc`), whatever the
//! program installed with `#[global_allocator]`.
//!
//! `GlobalAlloc::dealloc` and `realloc` need the [`Layout`] the block was
//! allocated with, but CPython's `free(ptr)` passes only the pointer. Each
//! block therefore starts with a 16-byte header holding the requested size;
//! the pointer handed to CPython is just past it, so it keeps the 16-byte
//! alignment CPython expects of `malloc` (`ALIGNOF_MAX_ALIGN_T` on 64-bit
//! targets). The header costs 16 bytes per block and no shared state: no lock,
//! no map from pointers to layouts that every thread would contend on (the
//! design `docs/allocators.md` measures this against).
//!
//! Arenas need no header: pymalloc passes their size back when it frees them.

use std::alloc::{self, Layout};
use std::ffi::c_void;
use std::ptr;

use super::contract::Backend;

/// Bytes before each block; also the alignment of every block.
pub(crate) const HEADER: usize = 16;

/// Alignment of pymalloc arenas: a page, like the `mmap`ed arenas CPython
/// makes itself, so pools do not straddle pages.
const ARENA_ALIGN: usize = 4096;

pub(crate) struct Rust;

/// The layout of a block serving `size` bytes, or `None` if it overflows.
fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// Record `size` in the header at `base` and return the user pointer.
///
/// # Safety
/// `base` is non-NULL and points to at least `HEADER + size` writable bytes
/// aligned to `HEADER`.
unsafe fn finish(base: *mut u8, size: usize) -> *mut c_void {
    // SAFETY: guaranteed by the caller; `usize` needs at most 16-byte alignment.
    unsafe {
        base.cast::<usize>().write(size);
        base.add(HEADER).cast()
    }
}

/// The block start and its layout for a user pointer.
///
/// # Safety
/// `ptr` was returned by this backend's `malloc`, `zalloc` or `realloc` and is
/// live.
unsafe fn block(ptr: *mut c_void) -> (*mut u8, Layout) {
    // SAFETY: the user pointer is HEADER bytes into its block, whose first
    // word holds the size the layout was built from (so it is valid).
    unsafe {
        let base = ptr.cast::<u8>().sub(HEADER);
        let size = base.cast::<usize>().read();
        (
            base,
            Layout::from_size_align_unchecked(size + HEADER, HEADER),
        )
    }
}

impl Backend for Rust {
    unsafe fn malloc(size: usize) -> *mut c_void {
        let Some(layout) = layout(size) else {
            return ptr::null_mut();
        };
        // SAFETY: the layout has a non-zero size (at least HEADER).
        let base = unsafe { alloc::alloc(layout) };
        if base.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `base` holds `layout.size() == HEADER + size` bytes.
        unsafe { finish(base, size) }
    }

    unsafe fn zalloc(size: usize) -> *mut c_void {
        let Some(layout) = layout(size) else {
            return ptr::null_mut();
        };
        // SAFETY: as in `malloc`.
        let base = unsafe { alloc::alloc_zeroed(layout) };
        if base.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: as in `malloc`.
        unsafe { finish(base, size) }
    }

    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        let Some(new_layout) = layout(size) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block of this backend.
        let (base, old_layout) = unsafe { block(ptr) };
        // SAFETY: `base` was allocated with `old_layout` by the global
        // allocator; the new size is non-zero and, being a valid Layout size
        // with the same alignment, does not overflow isize when rounded.
        let base = unsafe { alloc::realloc(base, old_layout, new_layout.size()) };
        if base.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `base` now holds `HEADER + size` bytes.
        unsafe { finish(base, size) }
    }

    unsafe fn free(ptr: *mut c_void) {
        // SAFETY: the caller passes a live block of this backend.
        unsafe {
            let (base, layout) = block(ptr);
            alloc::dealloc(base, layout);
        }
    }

    unsafe fn arena_alloc(size: usize) -> *mut c_void {
        let Ok(layout) = Layout::from_size_align(size, ARENA_ALIGN) else {
            return ptr::null_mut();
        };
        // SAFETY: size >= 1.
        unsafe { alloc::alloc(layout).cast() }
    }

    unsafe fn arena_free(ptr: *mut c_void, size: usize) {
        // SAFETY: `ptr` came from `arena_alloc(size)`, whose layout was valid.
        unsafe {
            alloc::dealloc(
                ptr.cast(),
                Layout::from_size_align_unchecked(size, ARENA_ALIGN),
            )
        }
    }
}
