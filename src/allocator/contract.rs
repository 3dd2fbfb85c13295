//! CPython's allocator contract, enforced once for every backend.
//!
//! A backend implements [`Backend`] with the plain operations of its C (or
//! Rust) API. The generic `extern "C"` functions here are what CPython calls;
//! they turn CPython's contract into preconditions the backend may rely on:
//!
//! | call | CPython expects | the backend sees |
//! |---|---|---|
//! | `malloc(0)` | a unique non-NULL pointer (`_PyMem_RawMalloc` asks for 1 byte) | `malloc(16)` |
//! | `malloc(n)`, any `n` | memory aligned for any C type (16 bytes on 64-bit targets) | `malloc(max(n, 16))` |
//! | `calloc(n, s)` with `n * s` overflowing | NULL | nothing |
//! | `calloc(0, s)` / `calloc(n, 0)` | a unique non-NULL, zeroed pointer | `zalloc(16)` |
//! | `realloc(NULL, n)` | `malloc(n)` | `malloc(max(n, 16))` |
//! | `realloc(p, 0)` | a unique non-NULL pointer, `p` moved into it | `realloc(p, 16)` |
//! | `free(NULL)` | nothing | nothing |
//! | any size above `isize::MAX` | NULL (CPython's own wrappers refuse them too) | nothing |
//!
//! None of these functions can panic: they do checked arithmetic and call
//! functions that report failure by returning NULL. (Were a panic to happen
//! anyway, Rust aborts the process at an `extern "C"` boundary rather than
//! unwinding into C.)

use std::ffi::c_void;
use std::ptr;

use pyo3::ffi;

/// The operations of one allocator implementation, with the preconditions the
/// shims in this module guarantee.
pub(crate) trait Backend {
    /// Allocate `size` bytes, aligned for any C type; NULL on failure.
    ///
    /// # Safety
    /// `1 <= size <= isize::MAX`.
    unsafe fn malloc(size: usize) -> *mut c_void;

    /// Allocate `size` zeroed bytes; NULL on failure.
    ///
    /// # Safety
    /// As [`Backend::malloc`].
    unsafe fn zalloc(size: usize) -> *mut c_void;

    /// Resize the block at `ptr` to `size` bytes, moving it if need be; NULL
    /// on failure, leaving the block intact.
    ///
    /// # Safety
    /// `ptr` came from this backend's `malloc`, `zalloc` or `realloc` and was
    /// not freed; `1 <= size <= isize::MAX`.
    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;

    /// Release the block at `ptr`.
    ///
    /// # Safety
    /// `ptr` is non-NULL, came from this backend's `malloc`, `zalloc` or
    /// `realloc`, and was not freed.
    unsafe fn free(ptr: *mut c_void);

    /// Allocate a pymalloc arena of `size` bytes.
    ///
    /// # Safety
    /// As [`Backend::malloc`].
    unsafe fn arena_alloc(size: usize) -> *mut c_void {
        // SAFETY: same precondition.
        unsafe { Self::malloc(size) }
    }

    /// Release an arena returned by [`Backend::arena_alloc`] with that `size`.
    ///
    /// # Safety
    /// `ptr` is non-NULL and came from `arena_alloc(size)`, not yet freed.
    unsafe fn arena_free(ptr: *mut c_void, size: usize) {
        let _ = size;
        // SAFETY: arena_alloc defaults to malloc, so free releases it.
        unsafe { Self::free(ptr) }
    }
}

/// The smallest block handed to a backend. CPython's own allocators return
/// 16-byte aligned memory for every size (pymalloc's `ALIGNMENT`, glibc's
/// minimum chunk); jemalloc and mimalloc align their 8-byte size class to 8
/// only. Asking for at least 16 bytes keeps every block 16-byte aligned, and
/// makes size 0 a unique block as CPython requires.
const MIN_SIZE: usize = 16;

/// A request CPython's contract answers with NULL before any allocator runs.
fn too_large(size: usize) -> bool {
    size > isize::MAX as usize
}

extern "C" fn malloc<B: Backend>(_ctx: *mut c_void, size: usize) -> *mut c_void {
    if too_large(size) {
        return ptr::null_mut();
    }
    // SAFETY: 1 <= max(size, MIN_SIZE) <= isize::MAX.
    unsafe { B::malloc(size.max(MIN_SIZE)) }
}

extern "C" fn calloc<B: Backend>(_ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let Some(size) = nelem.checked_mul(elsize) else {
        return ptr::null_mut();
    };
    if too_large(size) {
        return ptr::null_mut();
    }
    // SAFETY: 1 <= max(size, MIN_SIZE) <= isize::MAX.
    unsafe { B::zalloc(size.max(MIN_SIZE)) }
}

extern "C" fn realloc<B: Backend>(_ctx: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
    if too_large(size) {
        return ptr::null_mut();
    }
    if ptr.is_null() {
        // SAFETY: 1 <= max(size, MIN_SIZE) <= isize::MAX.
        return unsafe { B::malloc(size.max(MIN_SIZE)) };
    }
    // SAFETY: CPython only passes pointers this domain's allocator returned
    // (the allocator of a domain is installed before anything is allocated in
    // it); the size is in range.
    unsafe { B::realloc(ptr, size.max(MIN_SIZE)) }
}

extern "C" fn free<B: Backend>(_ctx: *mut c_void, ptr: *mut c_void) {
    if !ptr.is_null() {
        // SAFETY: as in `realloc`: a live block of this backend.
        unsafe { B::free(ptr) }
    }
}

extern "C" fn arena_alloc<B: Backend>(_ctx: *mut c_void, size: usize) -> *mut c_void {
    if too_large(size) {
        return ptr::null_mut();
    }
    // SAFETY: 1 <= max(size, MIN_SIZE) <= isize::MAX.
    unsafe { B::arena_alloc(size.max(MIN_SIZE)) }
}

extern "C" fn arena_free<B: Backend>(_ctx: *mut c_void, ptr: *mut c_void, size: usize) {
    if !ptr.is_null() {
        // SAFETY: pymalloc frees an arena with the size it allocated it with
        // (ARENA_SIZE, far above MIN_SIZE), so `max(size, MIN_SIZE)` is that size.
        unsafe { B::arena_free(ptr, size.max(MIN_SIZE)) }
    }
}

/// The `PyMemAllocatorEx` of backend `B` with context `ctx`, which the
/// functions ignore: every backend keeps its state in process-wide statics, so
/// the table stays valid for the life of the process, after the interpreter
/// too.
pub(crate) fn memory_table<B: Backend>(ctx: *mut c_void) -> ffi::PyMemAllocatorEx {
    ffi::PyMemAllocatorEx {
        ctx,
        malloc: Some(malloc::<B>),
        calloc: Some(calloc::<B>),
        realloc: Some(realloc::<B>),
        free: Some(free::<B>),
    }
}

/// The `PyObjectArenaAllocator` of backend `B` (with an ignored `ctx`, as above).
pub(crate) fn arena_table<B: Backend>(ctx: *mut c_void) -> ffi::PyObjectArenaAllocator {
    ffi::PyObjectArenaAllocator {
        ctx,
        alloc: Some(arena_alloc::<B>),
        free: Some(arena_free::<B>),
    }
}
