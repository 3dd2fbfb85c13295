//! Memory allocators registered with CPython.
//!
//! This version supports CPython's own allocators (`system`), which are also
//! the `default` on every target; requesting another backend is an
//! `Unsupported` error rather than a silent fallback.

use crate::config::MemoryAllocatorBackend;
use crate::error::NewInterpreterError;

/// Fail with a clear error when `backend` is not available in this build.
pub(crate) fn check_backend(backend: MemoryAllocatorBackend) -> Result<(), NewInterpreterError> {
    match backend {
        MemoryAllocatorBackend::Default | MemoryAllocatorBackend::System => Ok(()),
        other => Err(NewInterpreterError::Unsupported {
            what: format!("memory allocator backend `{other}`"),
            hint: "this build of pyembed registers no custom allocators; use `default` or `system`"
                .into(),
        }),
    }
}
