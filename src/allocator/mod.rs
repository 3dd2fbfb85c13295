//! Memory allocators registered with CPython.
//!
//! This build supports CPython's own allocators (`system`) and chooses them as
//! the per-target `default`; the other backends arrive with their cargo
//! features.

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
