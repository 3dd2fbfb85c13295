//! Recognising bytes that live in the executable's read-only image.
//!
//! A container compiled in with `include_bytes!` is `'static`, but by the
//! time it reaches [`PackedResourcesSource::Memory`](super::PackedResourcesSource)
//! its lifetime is the configuration's `'a`, which may be shorter. Something
//! that must keep the bytes beyond `'a` — the importer, a Python object that
//! nothing stops from outliving the configuration (`mem::forget` of the
//! interpreter is safe Rust) — either proves they are `'static` or copies
//! them.
//!
//! [`static_image_slice`] is the proof: on Linux it asks the dynamic linker
//! (`dl_iterate_phdr`) for the main executable's loaded segments and accepts
//! a slice that lies entirely inside one that is not writable. Such a segment
//! is mapped when the program starts and stays mapped, unchanged, until the
//! process exits: the main executable is never unloaded, and nothing in safe
//! code can write to a read-only mapping. Shared libraries are not accepted
//! (`dlclose` can unmap them), nor is anything on the heap or the stack.

/// `bytes` with a `'static` lifetime, if they lie inside a non-writable
/// loaded segment of the main executable; `None` otherwise (and on platforms
/// where this is not implemented).
pub(crate) fn static_image_slice(bytes: &[u8]) -> Option<&'static [u8]> {
    let start = bytes.as_ptr() as usize;
    let end = start.checked_add(bytes.len())?;
    if !main_image_contains(start, end) {
        return None;
    }
    // SAFETY: `bytes` is a valid slice, so `start..end` is readable now; it
    // lies within a non-writable PT_LOAD segment of the main executable,
    // which stays mapped with the same contents until the process exits (see
    // the module docs). No `&mut` to those bytes can exist, because the
    // mapping is read-only. The slice is therefore valid for `'static`.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) })
}

#[cfg(target_os = "linux")]
fn main_image_contains(start: usize, end: usize) -> bool {
    use std::ffi::{c_int, c_void};

    struct Query {
        start: usize,
        end: usize,
        found: bool,
    }

    /// Called by `dl_iterate_phdr` for each loaded object, the main
    /// executable first. Returning non-zero stops the iteration.
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the `&mut Query` passed to `dl_iterate_phdr`
        // below, which outlives the iteration; `info` points to a valid
        // `dl_phdr_info` for the duration of this call.
        let (query, info) = unsafe { (&mut *data.cast::<Query>(), &*info) };
        // SAFETY: `dlpi_name` is a valid NUL-terminated string (empty for
        // the main executable) or null.
        let is_main = info.dlpi_name.is_null() || unsafe { *info.dlpi_name } == 0;
        if is_main && !info.dlpi_phdr.is_null() {
            let base = info.dlpi_addr as usize;
            for i in 0..usize::from(info.dlpi_phnum) {
                // SAFETY: `dlpi_phdr` points to `dlpi_phnum` program headers.
                let header = unsafe { &*info.dlpi_phdr.add(i) };
                if header.p_type != libc::PT_LOAD || header.p_flags & libc::PF_W != 0 {
                    continue;
                }
                let Some(segment_start) = base.checked_add(header.p_vaddr as usize) else {
                    continue;
                };
                let Some(segment_end) = segment_start.checked_add(header.p_memsz as usize) else {
                    continue;
                };
                if segment_start <= query.start && query.end <= segment_end {
                    query.found = true;
                }
            }
        }
        // The main executable is reported first: nothing after it counts.
        1
    }

    let mut query = Query {
        start,
        end,
        found: false,
    };
    // SAFETY: `visit` matches the callback signature and only reads what the
    // dynamic linker hands it; `query` outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&raw mut query).cast::<c_void>()) };
    query.found
}

#[cfg(not(target_os = "linux"))]
fn main_image_contains(_start: usize, _end: usize) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    static IN_IMAGE: [u8; 64] = [7; 64];

    #[test]
    #[cfg(target_os = "linux")]
    fn constants_of_the_executable_are_static() {
        let slice = static_image_slice(&IN_IMAGE).expect("a static is in the image");
        assert_eq!(slice.as_ptr(), IN_IMAGE.as_ptr());
        let bytes: &'static [u8] = include_bytes!("image.rs");
        assert!(static_image_slice(bytes).is_some());
    }

    #[test]
    fn heap_and_stack_bytes_are_not() {
        let heap = vec![7u8; 64];
        assert!(static_image_slice(&heap).is_none());
        let stack = [7u8; 64];
        assert!(static_image_slice(&stack).is_none());
    }
}
