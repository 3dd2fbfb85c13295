//! Memory allocators registered with CPython.
//!
//! CPython routes its allocations through three *domains* (PEP 445): `raw`
//! (`PyMem_RawMalloc`, callable without the GIL), `mem` (`PyMem_Malloc`) and
//! `obj` (`PyObject_Malloc`). By default `raw` is the C library's `malloc` and
//! `mem`/`obj` are pymalloc, a small-object allocator that carves 1 MiB
//! *arenas* (obtained with `mmap`) into pools and hands blocks of up to 512
//! bytes from them; anything larger falls through to the `raw` domain.
//!
//! A [`PythonMemoryAllocator`] is one allocator implementation (a
//! [`MemoryAllocatorBackend`]) packaged as the function tables CPython
//! accepts. [`MainPythonInterpreter::new`](crate::MainPythonInterpreter::new)
//! installs the configured backend after pre-initialisation and before core
//! initialisation, the window CPython documents for `PyMem_SetAllocator()`:
//! into each domain chosen by the `allocator_raw` / `allocator_mem` /
//! `allocator_obj` fields of
//! [`OxidizedPythonInterpreterConfig`](crate::OxidizedPythonInterpreterConfig),
//! as pymalloc's arena allocator when `allocator_pymalloc_arena` is set, and
//! finally CPython's debug hooks on top when `allocator_debug` is set.
//!
//! | backend | compiled in by | what it is |
//! |---|---|---|
//! | `system` | always | the C library's `malloc`, `calloc`, `realloc`, `free` |
//! | `rust` | always | Rust's global allocator (`std::alloc`), with a 16-byte size header per block |
//! | `jemalloc` | feature `allocator-jemalloc` | jemalloc 5.3 (`tikv-jemalloc-sys`, prefixed symbols) |
//! | `mimalloc` | feature `allocator-mimalloc` | mimalloc (`libmimalloc-sys`) |
//! | `snmalloc` | feature `allocator-snmalloc` | snmalloc (`snmalloc-sys`) |
//!
//! `default` means the per-target choice of
//! [`PythonMemoryAllocator::target_default_backend`]; when that choice is
//! `system`, the interpreter installs nothing and CPython keeps its own
//! allocators (so `PYTHONMALLOC` and `PyPreConfig.allocator` still apply). A
//! backend that is requested but not compiled in is a
//! [`NewInterpreterError::Unsupported`] error naming the feature to enable.
//!
//! Every backend honours CPython's contract (a unique non-NULL pointer for size
//! 0, `realloc(NULL, n)`, `free(NULL)`, overflow-checked `calloc`) and keeps
//! its state in process-wide statics, so the installed tables stay valid for
//! the life of the process. `docs/allocators.md` has the per-target table, the
//! measurements and how to check a backend under valgrind.
//!
//! Free-threaded CPython (3.13t and later, `Py_GIL_DISABLED`) requires its own
//! mimalloc-based allocators for the `mem` and `obj` domains; on such a build
//! every explicit backend is refused and `default` installs nothing.

mod contract;
#[cfg(feature = "allocator-jemalloc")]
mod jemalloc;
#[cfg(feature = "allocator-mimalloc")]
mod mimalloc;
mod rust;
#[cfg(feature = "allocator-snmalloc")]
mod snmalloc;
mod system;

use std::ffi::c_void;
use std::ptr;

use pyo3::ffi;

use crate::config::{MemoryAllocatorBackend, ResolvedOxidizedPythonInterpreterConfig};
use crate::error::NewInterpreterError;

/// One of CPython's allocator domains (`PyMemAllocatorDomain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryAllocatorDomain {
    /// `PYMEM_DOMAIN_RAW`: `PyMem_RawMalloc()` and friends, used without the
    /// GIL and by pymalloc for blocks larger than 512 bytes.
    Raw,
    /// `PYMEM_DOMAIN_MEM`: `PyMem_Malloc()` (pymalloc by default).
    Mem,
    /// `PYMEM_DOMAIN_OBJ`: `PyObject_Malloc()` (pymalloc by default).
    Obj,
}

impl MemoryAllocatorDomain {
    fn as_raw(self) -> ffi::PyMemAllocatorDomain {
        match self {
            MemoryAllocatorDomain::Raw => ffi::PyMemAllocatorDomain::PYMEM_DOMAIN_RAW,
            MemoryAllocatorDomain::Mem => ffi::PyMemAllocatorDomain::PYMEM_DOMAIN_MEM,
            MemoryAllocatorDomain::Obj => ffi::PyMemAllocatorDomain::PYMEM_DOMAIN_OBJ,
        }
    }
}

/// A memory allocator implementation in the form CPython accepts.
///
/// [`MainPythonInterpreter::new`](crate::MainPythonInterpreter::new) installs
/// the configured backend after pre-initialisation and before core
/// initialisation: into the raw, mem and obj domains chosen by the
/// `allocator_raw` / `allocator_mem` / `allocator_obj` fields of
/// [`OxidizedPythonInterpreterConfig`](crate::OxidizedPythonInterpreterConfig),
/// as pymalloc's arena allocator with `allocator_pymalloc_arena`, then
/// CPython's debug hooks with `allocator_debug`.
///
/// [`MemoryAllocatorBackend::Default`] is the per-target choice of
/// [`target_default_backend`](Self::target_default_backend); when that is
/// `System`, nothing is installed and CPython keeps its own allocators (so
/// `PYTHONMALLOC` still applies). A backend whose Cargo feature
/// (`allocator-jemalloc`, `allocator-mimalloc`, `allocator-snmalloc`) is off is
/// a [`NewInterpreterError::Unsupported`] error; on a free-threaded CPython
/// (`Py_GIL_DISABLED`) every backend is. Every backend gives a unique block
/// for size 0, checks `calloc` for overflow, accepts `realloc(NULL, n)` and
/// `free(NULL)`, and returns 16-byte aligned memory. `docs/allocators.md`
/// has the measurements.
///
/// ```
/// use pyembed::{MemoryAllocatorBackend, PythonMemoryAllocator};
///
/// let allocator = PythonMemoryAllocator::rust();
/// assert_eq!(allocator.backend(), MemoryAllocatorBackend::Rust);
///
/// // The raw function table obeys CPython's contract: size 0 is a unique
/// // block, calloc overflow is NULL.
/// let table = allocator.memory_allocator();
/// let (malloc, calloc, free) = (table.malloc.unwrap(), table.calloc.unwrap(), table.free.unwrap());
/// let block = malloc(table.ctx, 0);
/// assert!(!block.is_null());
/// assert!(calloc(table.ctx, usize::MAX, 2).is_null());
/// free(table.ctx, block);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PythonMemoryAllocator {
    /// Never `Default`: resolved when the value is made.
    backend: MemoryAllocatorBackend,
}

impl PythonMemoryAllocator {
    /// The allocator for `backend`, with `Default` resolved through
    /// [`target_default_backend`](Self::target_default_backend).
    ///
    /// Fails with [`NewInterpreterError::Unsupported`] when the backend's
    /// Cargo feature is not enabled, or on a free-threaded CPython (which only
    /// accepts its own allocators; there `Default` fails too, since there is
    /// no allocator this crate could install).
    pub fn from_backend(backend: MemoryAllocatorBackend) -> Result<Self, NewInterpreterError> {
        refuse_on_free_threaded(backend)?;
        let backend = match backend {
            MemoryAllocatorBackend::Default => Self::target_default_backend(),
            other => other,
        };
        let feature = match backend {
            MemoryAllocatorBackend::Jemalloc if !cfg!(feature = "allocator-jemalloc") => {
                Some("allocator-jemalloc")
            }
            MemoryAllocatorBackend::Mimalloc if !cfg!(feature = "allocator-mimalloc") => {
                Some("allocator-mimalloc")
            }
            MemoryAllocatorBackend::Snmalloc if !cfg!(feature = "allocator-snmalloc") => {
                Some("allocator-snmalloc")
            }
            _ => None,
        };
        match feature {
            Some(feature) => Err(NewInterpreterError::Unsupported {
                what: format!("memory allocator backend `{backend}`"),
                hint: format!(
                    "build pyembed with the Cargo feature `{feature}`, or choose `default`, \
                     `system` or `rust`"
                ),
            }),
            None => Ok(PythonMemoryAllocator { backend }),
        }
    }

    /// The backend `MemoryAllocatorBackend::Default` stands for on the target
    /// this crate was compiled for, among the backends compiled in.
    ///
    /// | target | default | why |
    /// |---|---|---|
    /// | Linux, glibc | `system` | glibc's malloc is fast and pymalloc already serves small objects; CPython untouched |
    /// | Linux, musl | `mimalloc` if compiled in, else `system` | musl's `mallocng` trades speed for hardening and is reported to be several times slower under allocation churn (not measured here) |
    /// | macOS | `system` | jemalloc assumes the page size it was configured with and breaks on Apple Silicon's 16 KiB pages when built for 4 KiB; the system allocator is well tuned |
    /// | Windows | `system` | the CRT heap is what CPython is tested with; extensions that free CPython's memory with `free()` keep working |
    /// | others | `system` | |
    ///
    /// `system` as the default means "leave CPython's allocators alone": see
    /// [`PythonMemoryAllocator`].
    pub const fn target_default_backend() -> MemoryAllocatorBackend {
        if cfg!(all(
            target_os = "linux",
            target_env = "musl",
            feature = "allocator-mimalloc"
        )) {
            MemoryAllocatorBackend::Mimalloc
        } else {
            MemoryAllocatorBackend::System
        }
    }

    /// jemalloc (feature `allocator-jemalloc`).
    #[cfg(feature = "allocator-jemalloc")]
    pub const fn jemalloc() -> Self {
        PythonMemoryAllocator {
            backend: MemoryAllocatorBackend::Jemalloc,
        }
    }

    /// mimalloc (feature `allocator-mimalloc`).
    #[cfg(feature = "allocator-mimalloc")]
    pub const fn mimalloc() -> Self {
        PythonMemoryAllocator {
            backend: MemoryAllocatorBackend::Mimalloc,
        }
    }

    /// snmalloc (feature `allocator-snmalloc`).
    #[cfg(feature = "allocator-snmalloc")]
    pub const fn snmalloc() -> Self {
        PythonMemoryAllocator {
            backend: MemoryAllocatorBackend::Snmalloc,
        }
    }

    /// Rust's global allocator.
    pub const fn rust() -> Self {
        PythonMemoryAllocator {
            backend: MemoryAllocatorBackend::Rust,
        }
    }

    /// The C library's `malloc` family.
    pub const fn system() -> Self {
        PythonMemoryAllocator {
            backend: MemoryAllocatorBackend::System,
        }
    }

    /// Which backend this is (never `Default`).
    pub const fn backend(&self) -> MemoryAllocatorBackend {
        self.backend
    }

    /// The `PyMemAllocatorEx` table for `PyMem_SetAllocator()`. Its functions
    /// live for the whole process; its `ctx` identifies the backend (see
    /// [`installed`](Self::installed)) and is never dereferenced.
    ///
    /// The functions follow the C contract: `free` and `realloc` accept only
    /// NULL or a live block that this table's `malloc`, `calloc` or
    /// `realloc` returned.
    pub fn memory_allocator(&self) -> ffi::PyMemAllocatorEx {
        let ctx = context(self.backend);
        match self.backend {
            #[cfg(feature = "allocator-jemalloc")]
            MemoryAllocatorBackend::Jemalloc => contract::memory_table::<jemalloc::Jemalloc>(ctx),
            #[cfg(feature = "allocator-mimalloc")]
            MemoryAllocatorBackend::Mimalloc => contract::memory_table::<mimalloc::Mimalloc>(ctx),
            #[cfg(feature = "allocator-snmalloc")]
            MemoryAllocatorBackend::Snmalloc => contract::memory_table::<snmalloc::Snmalloc>(ctx),
            MemoryAllocatorBackend::Rust => contract::memory_table::<rust::Rust>(ctx),
            // `from_backend` only makes the backends above and `System`.
            _ => contract::memory_table::<system::System>(ctx),
        }
    }

    /// The `PyObjectArenaAllocator` table for `PyObject_SetArenaAllocator()`
    /// (functions that live for the whole process, `ctx` as in
    /// [`memory_allocator`](Self::memory_allocator)).
    pub fn arena_allocator(&self) -> ffi::PyObjectArenaAllocator {
        let ctx = context(self.backend);
        match self.backend {
            #[cfg(feature = "allocator-jemalloc")]
            MemoryAllocatorBackend::Jemalloc => contract::arena_table::<jemalloc::Jemalloc>(ctx),
            #[cfg(feature = "allocator-mimalloc")]
            MemoryAllocatorBackend::Mimalloc => contract::arena_table::<mimalloc::Mimalloc>(ctx),
            #[cfg(feature = "allocator-snmalloc")]
            MemoryAllocatorBackend::Snmalloc => contract::arena_table::<snmalloc::Snmalloc>(ctx),
            MemoryAllocatorBackend::Rust => contract::arena_table::<rust::Rust>(ctx),
            _ => contract::arena_table::<system::System>(ctx),
        }
    }

    /// The allocator of this crate that serves `domain` right now
    /// (`PyMem_GetAllocator()`), or `None` when the domain has CPython's own
    /// allocator, another embedder's, or debug hooks on top.
    pub fn installed(domain: MemoryAllocatorDomain) -> Option<Self> {
        let mut table = ffi::PyMemAllocatorEx {
            ctx: ptr::null_mut(),
            malloc: None,
            calloc: None,
            realloc: None,
            free: None,
        };
        // SAFETY: PyMem_GetAllocator only copies the domain's current table
        // into `table`; it may be called at any time.
        unsafe { ffi::PyMem_GetAllocator(domain.as_raw(), &mut table) };
        backend_of(table.ctx).map(|backend| PythonMemoryAllocator { backend })
    }

    /// The allocator of this crate that provides pymalloc's arenas right now
    /// (`PyObject_GetArenaAllocator()`), or `None`.
    pub fn installed_arena() -> Option<Self> {
        let mut table = ffi::PyObjectArenaAllocator {
            ctx: ptr::null_mut(),
            alloc: None,
            free: None,
        };
        // SAFETY: as in `installed`.
        unsafe { ffi::PyObject_GetArenaAllocator(&mut table) };
        backend_of(table.ctx).map(|backend| PythonMemoryAllocator { backend })
    }

    /// Make this allocator serve `domain` (`PyMem_SetAllocator()`).
    ///
    /// # Safety
    /// Call it only between `Py_PreInitialize*()` and `Py_InitializeFromConfig()`
    /// (or before CPython allocates anything in `domain`): memory allocated by
    /// the previous allocator of the domain would otherwise be freed by this
    /// one. After `allocator_debug`-style debug hooks, call
    /// `PyMem_SetupDebugHooks()` again.
    pub unsafe fn set_allocator(&self, domain: MemoryAllocatorDomain) {
        let mut table = self.memory_allocator();
        // SAFETY: CPython copies the table; its functions are 'static. The
        // timing is the caller's obligation.
        unsafe { ffi::PyMem_SetAllocator(domain.as_raw(), &mut table) };
    }

    /// Make this allocator provide pymalloc's arenas
    /// (`PyObject_SetArenaAllocator()`).
    ///
    /// # Safety
    /// As [`set_allocator`](Self::set_allocator): before pymalloc has
    /// allocated an arena.
    pub unsafe fn set_arena_allocator(&self) {
        let mut table = self.arena_allocator();
        // SAFETY: CPython copies the table; its functions are 'static.
        unsafe { ffi::PyObject_SetArenaAllocator(&mut table) };
    }
}

/// One byte per backend whose address is the `ctx` of the backend's tables,
/// so [`PythonMemoryAllocator::installed`] can tell which backend serves a
/// domain. Nothing reads or writes through these pointers.
static CONTEXTS: [u8; 5] = [0; 5];

fn context(backend: MemoryAllocatorBackend) -> *mut c_void {
    let index = match backend {
        MemoryAllocatorBackend::Jemalloc => 0,
        MemoryAllocatorBackend::Mimalloc => 1,
        MemoryAllocatorBackend::Snmalloc => 2,
        MemoryAllocatorBackend::Rust => 3,
        MemoryAllocatorBackend::System | MemoryAllocatorBackend::Default => 4,
    };
    ptr::from_ref(&CONTEXTS[index]).cast_mut().cast()
}

/// The backend whose `ctx` this is, if any.
fn backend_of(ctx: *mut c_void) -> Option<MemoryAllocatorBackend> {
    [
        MemoryAllocatorBackend::Jemalloc,
        MemoryAllocatorBackend::Mimalloc,
        MemoryAllocatorBackend::Snmalloc,
        MemoryAllocatorBackend::Rust,
        MemoryAllocatorBackend::System,
    ]
    .into_iter()
    .find(|&backend| context(backend) == ctx)
}

/// On a free-threaded CPython, refuse every backend: its `mem` and `obj`
/// domains must stay mimalloc-based (CPython's garbage collector walks
/// mimalloc's heaps to find objects), and `PyMem_SetAllocator()` there is
/// unsupported for them. Not exercised by this repository's tests, which link
/// CPython 3.11.
#[cfg(Py_GIL_DISABLED)]
fn refuse_on_free_threaded(backend: MemoryAllocatorBackend) -> Result<(), NewInterpreterError> {
    Err(NewInterpreterError::Unsupported {
        what: format!("memory allocator backend `{backend}`"),
        hint: "free-threaded CPython (Py_GIL_DISABLED) accepts only its own allocators; \
               set allocator_backend to `default`"
            .into(),
    })
}

#[cfg(not(Py_GIL_DISABLED))]
fn refuse_on_free_threaded(_: MemoryAllocatorBackend) -> Result<(), NewInterpreterError> {
    Ok(())
}

/// What the interpreter will install: `None` leaves CPython's allocators as
/// they are (`default` on a target whose default is `system`, and always on a
/// free-threaded CPython).
fn configured(
    backend: MemoryAllocatorBackend,
) -> Result<Option<PythonMemoryAllocator>, NewInterpreterError> {
    if backend == MemoryAllocatorBackend::Default
        && (cfg!(Py_GIL_DISABLED)
            || PythonMemoryAllocator::target_default_backend() == MemoryAllocatorBackend::System)
    {
        return Ok(None);
    }
    PythonMemoryAllocator::from_backend(backend).map(Some)
}

/// Fail with a clear error when `backend` is not available in this build.
pub(crate) fn check_backend(backend: MemoryAllocatorBackend) -> Result<(), NewInterpreterError> {
    configured(backend).map(drop)
}

/// Install the configured allocators and debug hooks.
///
/// # Safety
/// CPython is pre-initialised and its core initialisation has not started.
pub(crate) unsafe fn install(
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    if let Some(allocator) = configured(config.allocator_backend)? {
        let domains = [
            (config.allocator_raw, MemoryAllocatorDomain::Raw),
            (config.allocator_mem, MemoryAllocatorDomain::Mem),
            (config.allocator_obj, MemoryAllocatorDomain::Obj),
        ];
        for (wanted, domain) in domains {
            if wanted {
                // SAFETY: the caller guarantees the pre-init/core window.
                unsafe { allocator.set_allocator(domain) };
            }
        }
        if config.allocator_pymalloc_arena {
            // SAFETY: as above; no arena exists before core initialisation.
            unsafe { allocator.set_arena_allocator() };
        }
    }
    if config.allocator_debug {
        // SAFETY: pre-initialised CPython; the hooks wrap whatever allocators
        // the domains now have.
        unsafe { ffi::PyMem_SetupDebugHooks() };
    }
    Ok(())
}
