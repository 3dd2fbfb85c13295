//! Daemon threads at finalisation: hang them instead of `pthread_exit`.
//!
//! When the interpreter is finalised, CPython 3.11 to 3.13 end every other
//! thread that tries to take the GIL (daemon threads, threads started from
//! C) with `PyThread_exit_thread()`, that is `pthread_exit()`. glibc
//! implements it as a forced unwind of the thread's stack. If that stack
//! holds a Rust frame that catches unwinds (every pyo3 method called from
//! Python does: the packed-resources importer's `find_spec` or `exec_module`
//! running a module body, any `#[pyfunction]`), the unwind is caught and
//! dropped and the process aborts with `FATAL: exception not rethrown`. So a
//! daemon thread that happens to be importing a packed module when the main
//! thread finalises kills the whole process. CPython's own fix (gh-87135,
//! in 3.14) is to make such threads hang forever instead; they are daemon
//! threads, so the process exits without waiting for them.
//!
//! This module brings that behaviour to the older versions: linked with
//! `-Wl,--wrap=PyThread_exit_thread`, every call CPython makes to
//! `PyThread_exit_thread` reaches [`__wrap_PyThread_exit_thread`] instead,
//! which parks the thread for good. The GIL has been released by then (CPython
//! drops it before exiting a thread), so nothing waits on the parked thread.
//! This crate's `build.rs` passes the flag for its own executables; a
//! downstream binary adds it in its build script (see the crate docs and
//! `examples/embed-app/build.rs`).

/// Parks the calling thread forever; see the module docs.
///
/// Only reached through the linker's `--wrap`, never called from Rust.
#[unsafe(no_mangle)]
pub extern "C" fn __wrap_PyThread_exit_thread() -> ! {
    loop {
        // SAFETY: pause() has no preconditions; it returns only when a
        // signal handler ran, and then we wait again.
        unsafe {
            libc::pause();
        }
    }
}
