//! Process-wide interpreter state and the private CPython entry points.
//!
//! CPython has one main interpreter per process, and re-initialising it after
//! `Py_FinalizeEx()` is unreliable (extension modules keep static state), so a
//! process moves through [`State`] once: idle, running, finished.

use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::ffi;

use crate::error::{InitPhase, NewInterpreterError};

const IDLE: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;
const FINISHED: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(IDLE);

/// Proof that this thread holds the process's single interpreter slot.
/// Dropping it without [`Slot::running`] or [`Slot::finished`] (an error
/// before CPython was touched) returns the slot to idle.
pub(crate) struct Slot {
    touched_cpython: bool,
}

impl Slot {
    /// Claim the slot, or say why the process cannot have a new interpreter.
    pub(crate) fn claim() -> Result<Self, NewInterpreterError> {
        match STATE.compare_exchange(IDLE, STARTING, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {}
            Err(FINISHED) => return Err(NewInterpreterError::AlreadyFinalized),
            Err(_) => return Err(NewInterpreterError::AlreadyRunning),
        }
        // SAFETY: Py_IsInitialized may be called at any time.
        if unsafe { ffi::Py_IsInitialized() } != 0 {
            // Someone else (pyo3's `Python::initialize`, another embedding
            // library) started CPython; it is not ours to configure or finalize.
            STATE.store(IDLE, Ordering::Release);
            return Err(NewInterpreterError::AlreadyRunning);
        }
        Ok(Slot {
            touched_cpython: false,
        })
    }

    /// Note that CPython's state has been changed: from now on a failure
    /// leaves the process unable to start another interpreter.
    pub(crate) fn touch(&mut self) {
        self.touched_cpython = true;
    }

    /// The interpreter is fully initialised.
    pub(crate) fn running(self) {
        STATE.store(RUNNING, Ordering::Release);
        std::mem::forget(self);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        STATE.store(
            if self.touched_cpython { FINISHED } else { IDLE },
            Ordering::Release,
        );
    }
}

/// Mark the running interpreter as finalized.
pub(crate) fn finished() {
    STATE.store(FINISHED, Ordering::Release);
}

unsafe extern "C" {
    // Private CPython API: finishes initialisation started with
    // `PyConfig._init_main = 0`. There is no public way to run code between the
    // core and main phases (PEP 587 lists this as the "multi-phase" API);
    // checked against CPython 3.11 and 3.12, where it exists with this signature.
    fn _Py_InitializeMain() -> ffi::PyStatus;

    // Private CPython API: the running interpreter's configuration, which the
    // main phase reads to build `sys.flags` and which `io.text_encoding()`
    // consults. Declared `const` but pointing into the (non-const)
    // interpreter state; checked against CPython 3.11 and 3.12.
    fn _PyInterpreterState_GetConfig(interp: *mut ffi::PyInterpreterState) -> *const ffi::PyConfig;
}

/// Re-apply settings that CPython's core phase overwrites.
///
/// CPython 3.11 copies `warn_default_encoding` from its own command-line
/// pre-parse (`-X warn_default_encoding` in a *parsed* argv, or
/// `PYTHONWARNDEFAULTENCODING`) over the value the embedder set, so an
/// explicit `Some(true)` would be lost. Setting it on the interpreter's
/// configuration between the core and main phases makes it stick: the main
/// phase derives `sys.flags` from that configuration.
///
/// # Safety
/// The core phase must have completed on this thread, which holds the GIL, and
/// the main phase must not have started.
pub(crate) unsafe fn apply_core_overrides(warn_default_encoding: Option<bool>) {
    if warn_default_encoding != Some(true) {
        return;
    }
    // SAFETY: the caller holds the GIL of the initialised core interpreter, so
    // PyInterpreterState_Get returns it and its configuration is live. No
    // other thread runs Python before the main phase, so the write cannot race.
    unsafe {
        let config = _PyInterpreterState_GetConfig(ffi::PyInterpreterState_Get()).cast_mut();
        (*config).warn_default_encoding = 1;
    }
}

/// Finish the main initialisation phase.
///
/// # Safety
/// The core phase must have completed on this thread, which holds the GIL.
pub(crate) unsafe fn initialize_main() -> Result<(), NewInterpreterError> {
    // SAFETY: guaranteed by the caller.
    let status = unsafe { _Py_InitializeMain() };
    super::pyconfig::check_status(status, InitPhase::Main)
}
