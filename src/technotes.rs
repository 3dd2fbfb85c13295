//! Technical notes: how the embedded interpreter starts, and why it starts
//! that way.
//!
//! This module holds no code. It is the place to read before changing
//! `src/interpreter/`.
//!
//! # Static linking
//!
//! CPython is linked into the executable as a static archive (on Debian,
//! `libpython3.11-pic.a` from `libpython3.11-dev`; the non-PIC `libpython3.11.a`
//! cannot go into a position-independent executable). pyo3 reads the link
//! settings from the file named by `PYO3_CONFIG_FILE` rather than probing a
//! `python3` on `$PATH`, which might be a different build than the one whose
//! headers and bytecode format we depend on. The archive is linked whole
//! (`+whole-archive`), and executables export their dynamic symbols
//! (`-Wl,--export-dynamic`): a C extension module loaded later with `dlopen`
//! (from `lib-dynload` or from packed resources) calls `Py*` functions that
//! the Rust program itself may never call, so they must be present and
//! visible in the executable's dynamic symbol table.
//!
//! # One interpreter per process
//!
//! CPython has one *main* interpreter, tied to the thread that initialised
//! it. Finalizing and initialising again is documented as possible but leaks
//! and breaks extension modules that keep static state (most of them), so
//! `MainPythonInterpreter::new` refuses a second interpreter: while one is
//! alive the error is `AlreadyRunning`, afterwards `AlreadyFinalized`. The
//! check is an atomic state machine (idle → starting → running → finished)
//! plus `Py_IsInitialized()`, so a racing second call fails at once instead
//! of blocking on the GIL. Configuration errors (phase `Configuration`: a
//! missing path, a NUL byte in a string, an out-of-range value) are all found
//! before CPython is touched and return the process to idle, so a corrected
//! configuration can be tried; a failure inside CPython does not, because
//! CPython's state is then unknown.
//!
//! # Multi-phase initialisation
//!
//! PEP 587 splits start-up into phases, and `new()` follows them:
//!
//! 1. **Configuration.** `resolve()` makes `exe` absolute and canonical,
//!    derives `origin`, expands `$ORIGIN`, and (with
//!    `set_missing_path_configuration`) sets `program_name` to the executable
//!    so that `sys.executable` is this binary, which `multiprocessing` and
//!    `subprocess.run([sys.executable, ...])` rely on. `home` is only set to
//!    the origin when packed resources serve the standard library; otherwise
//!    CPython's compiled-in prefix keeps finding the installed one (setting
//!    `home` blindly is what made earlier embedders fail with "failed to get
//!    the Python codec of the filesystem encoding"). Fields that CPython
//!    would reject obscurely (a missing `home`, an `int_max_str_digits` under
//!    640, arena allocation combined with mem/obj domains) are rejected here
//!    with the field's name.
//! 2. **Pre-initialisation** (`Py_PreInitialize*`): the `PyPreConfig` fields
//!    (allocator, locale coercion, UTF-8 mode, isolation). With `parse_argv`,
//!    the arguments are passed too because `-E`, `-I`, `-X utf8` and `-X dev`
//!    change pre-initialisation. Once pre-initialised, CPython can decode
//!    bytes with the locale encoding, which the next step needs.
//! 3. **Extension modules.** `PyImport_AppendInittab` for each
//!    `ExtensionModule`, which must happen before the core phase.
//! 4. **Core** (`Py_InitializeFromConfig` with `_init_main = 0`). All strings
//!    go in as bytes (`PyConfig_SetBytesString`, `PyConfig_SetBytesArgv`,
//!    `Py_DecodeLocale`), so CPython decodes them exactly as it decodes its
//!    own command line: a non-UTF-8 argument becomes a surrogate-escaped
//!    `str` in `sys.argv`, and the raw bytes stay available in `sys.argvb`.
//!    After this phase, `sys`, builtins and the frozen `importlib._bootstrap`
//!    exist; `sys.meta_path` holds only `BuiltinImporter` and
//!    `FrozenImporter`; nothing has been read from disk.
//! 5. **Importer injection.** This is the one moment a finder can be put on
//!    `sys.meta_path` ahead of everything that the main phase imports,
//!    `encodings` first of all. The packed-resources importer goes here, so
//!    a binary can run with no standard library on disk.
//!    It is also where settings that the core phase overwrote are restored:
//!    CPython 3.11 copies `warn_default_encoding` from its own command-line
//!    pre-parse over the embedder's value, so an explicit `Some(true)` is
//!    written to the interpreter's configuration again before `sys.flags` is
//!    built.
//! 6. **Main** (`_Py_InitializeMain`): installs the path-based importer,
//!    imports `encodings`, sets up `sys.stdout` and friends, signal handlers
//!    and `site`. There is no public API for "finish initialising"; the
//!    private function is declared in one place (`lifecycle.rs`), with the
//!    CPython versions it was checked against.
//! 7. **Post-initialisation.** `sys.oxidized`, `sys.frozen`, `sys._MEIPASS`,
//!    `sys.argvb`; removal of `PathFinder` when `filesystem_importer` is off;
//!    the `multiprocessing` start-method hook and the loaded-modules writer
//!    (an `atexit` handler, so it also runs when `Py_RunMain` finalizes).
//!
//! Finally the GIL is released with `PyEval_SaveThread`. `with_gil` attaches
//! through pyo3 (`PyGILState_Ensure`), which works from the main thread and
//! from any other. `Drop` restores the main thread state and calls
//! `Py_FinalizeEx` exactly once; `py_runmain` lets `Py_RunMain` finalize and
//! records that, so the later drop does nothing.
//!
//! Every error carries its [`crate::InitPhase`] and what CPython said: the
//! `PyStatus` function and message, or the exception and traceback.
//!
//! # Multiprocessing from a frozen executable
//!
//! With `sys.frozen` set, `multiprocessing`'s `spawn` start method runs a
//! worker as `[sys.executable, "--multiprocessing-fork", "pipe_handle=7",
//! ...]`. `MainPythonInterpreter::run` recognises that first argument and
//! calls `multiprocessing.spawn.spawn_main(**kwargs)` with the `key=value`
//! pairs parsed as integers (or `None`), turning its `SystemExit` into the
//! exit code. `multiprocessing_start_method` changes the *default* start
//! method when `multiprocessing` is first imported, by replacing the default
//! context's fallback: unlike `set_start_method()`, this leaves an
//! application free to call `set_start_method()` itself later.
//!
//! # Environment variables
//!
//! A statically linked ncurses knows only the terminfo directory of the
//! machine it was built on. `TerminfoResolution::Dynamic` looks at the
//! running system (Debian and derivatives keep terminfo in `/etc/terminfo`,
//! `/lib/terminfo` and `/usr/share/terminfo`; Red Hat and most others in
//! `/usr/share/terminfo`) and sets `TERMINFO_DIRS` unless the user already
//! did. `tcl_library` sets `TCL_LIBRARY` for a bundled Tcl.
