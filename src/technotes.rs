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
//! (`+whole-archive`), and executables export CPython's symbols
//! (`-Wl,--export-dynamic-symbol=Py*` and `=_Py*`): a C extension module
//! loaded later with `dlopen` (from `lib-dynload` or from packed resources)
//! calls `Py*` functions that the Rust program itself may never call, so they
//! must be present and visible in the executable's dynamic symbol table.
//! Nothing else is exported: `-Wl,--export-dynamic` would also export every
//! Rust symbol, and each one the code reaches through the GOT then costs the
//! dynamic linker a symbol lookup at every start (1,056 of them in the
//! launcher).
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
//!    Right after it, the configured memory allocator is installed
//!    (`PyMem_SetAllocator` per domain, `PyObject_SetArenaAllocator`, then
//!    `PyMem_SetupDebugHooks`): CPython documents this window, after
//!    pre-initialisation and before the core phase, as the one where an
//!    allocator may be replaced, because nothing allocated in those domains
//!    is alive yet (pre-initialisation frees what it allocates with the
//!    default raw allocator it switches to explicitly). See
//!    `docs/allocators.md`.
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
//! # Single-file executables
//!
//! `pyembed build` appends a payload (containers, a build configuration, a
//! trailer) to a copy of `pyembed-launcher`; docs/build.md has the layout
//! and [`crate::resources::trailer`] the byte-level table. Why this shape:
//!
//! - Appending needs no linker: the ELF loader maps only what the program
//!   headers name, so bytes after the last segment are invisible to it and
//!   the launcher runs unchanged. The alternative (an ELF section or an
//!   `include_bytes!` build per application) needs a toolchain at build
//!   time and makes the stdlib part of the compiled image, which would be
//!   paged in through the page cache anyway.
//! - The launcher maps its own file once (`/proc/self/exe`, so a renamed or
//!   symlinked binary finds itself; `AT_EXECFN` in a root without `/proc`)
//!   and each container is a [`crate::resources::SharedBytes`] range of that
//!   map: page-aligned, so tier 0 is served from the page cache with no copy,
//!   and kept alive by an `Arc`, so nothing is stretched to `'static`.
//! - python mode keeps CPython's own command-line parsing (`parse_argv`,
//!   Python profile): reimplementing `-c/-m/-X/-W/...` would drift from
//!   `python3.11`. Setting `home` to the executable's directory keeps the
//!   host's stdlib off `sys.path` without turning the filesystem importer
//!   off (scripts import their neighbours).
//! - app mode runs `module:function` as a `-c` program that calls it and
//!   passes the result to `sys.exit`, so exit codes, `SystemExit`,
//!   tracebacks, `atexit` and finalization are `Py_RunMain`'s, exactly as
//!   for a console script.
//! - Start-up runs no Python of this crate's: the source excepthook the
//!   importer needs is a Rust function, and `startup.py` (multiprocessing
//!   start method, loaded-module recording) is compiled only when one of its
//!   hooks is configured. Compiling it cost ~0.4 ms per start, a tenth of
//!   `python3.11 -I -S -c pass`.
//!
//! # Environment variables
//!
//! A statically linked ncurses knows only the terminfo directory of the
//! machine it was built on. `TerminfoResolution::Dynamic` looks at the
//! running system (Debian and derivatives keep terminfo in `/etc/terminfo`,
//! `/lib/terminfo` and `/usr/share/terminfo`; Red Hat and most others in
//! `/usr/share/terminfo`) and sets `TERMINFO_DIRS` unless the user already
//! did. `tcl_library` sets `TCL_LIBRARY` for a bundled Tcl.
//!
//! # The packed-resources importer
//!
//! With `oxidized_importer`, `new()` opens every `packed_resources` source
//! before CPython starts (a file is memory-mapped; each container's header,
//! index and tier-0 index are verified, so a missing or damaged file is a
//! `PackedResources` error and the process may try again) and indexes them
//! into one [`PythonResourcesState`](crate::resources::PythonResourcesState):
//! a name → (container, flags) map in which the first source listing a name
//! wins. Between the core and main phases, `install_importers` wraps the
//! index in an `oxidized_importer.OxidizedFinder` (a pyo3 class; the module
//! is built in, registered on the inittab before initialisation) and inserts
//! it at `sys.meta_path[0]`. The main phase then imports `encodings`
//! through it.
//!
//! ## The resulting import machinery
//!
//! | `oxidized_importer` | `filesystem_importer` | `sys.meta_path` after `new()` |
//! |---|---|---|
//! | off | on  | `BuiltinImporter`, `FrozenImporter`, `PathFinder` |
//! | off | off | `BuiltinImporter`, `FrozenImporter` |
//! | on  | on  | `OxidizedFinder`, `BuiltinImporter`, `FrozenImporter`, `PathFinder` |
//! | on  | off | `OxidizedFinder`, `BuiltinImporter`, `FrozenImporter` |
//!
//! | `oxidized_importer` | `filesystem_importer` | `sys.path_hooks` after `new()` |
//! |---|---|---|
//! | off | on  | `zipimporter`, `FileFinder.path_hook(...)` |
//! | off | off | `zipimporter`, `FileFinder.path_hook(...)` |
//! | on  | on  | `OxidizedFinder.path_hook`, `zipimporter`, `FileFinder.path_hook(...)` |
//! | on  | off | `OxidizedFinder.path_hook`, `zipimporter`, `FileFinder.path_hook(...)` |
//!
//! The packed-resources hook is inserted with the finder and moved back to
//! index 0 after the main phase (which inserts `zipimporter` at 0). With the
//! filesystem importer off the hooks stay but nothing consults them for
//! imports; `pkgutil` still uses them (see "Path entries" below).
//!
//! How the layouts come about: `PathFinder` is installed by the main phase
//! (`_install_external_importers`), after the finder; with the filesystem
//! importer off, `after_main` removes it again. The main phase therefore
//! runs with `PathFinder` present in every layout, but with `oxidized_importer`
//! on and `filesystem_importer` off, `resolve()` has set `home` to the origin,
//! so `sys.path` names directories below the origin that normally do not
//! exist, and everything the main phase imports comes from the containers.
//! If they lack the standard library, the main phase fails with CPython's
//! "failed to get the Python codec of the filesystem encoding", to which
//! `new()` adds a hint saying so. With both importers on, `home` stays
//! unset: a name that is packed comes from the container, anything else
//! from the installed standard library or `sys.path`.
//!
//! `site` runs after this crate's set-up order is fixed and may add finders
//! of its own: setuptools' `distutils-precedence.pth` in a system
//! site-packages directory inserts `DistutilsMetaFinder` at
//! `sys.meta_path[0]`, ahead of `OxidizedFinder`. It only answers for
//! `distutils`, so the order of everything else is unchanged; code looking
//! for the finder should search `sys.meta_path` by type, not take index 0.
//!
//! ## Which importer wins
//!
//! Built in, then frozen, then packed, then the filesystem. The finder sees
//! every import first; for a name that is packed *and* built in
//! (`sys.builtin_module_names`) or frozen (`_imp.is_frozen`, asked once per
//! indexed name when the finder is created — CPython 3.11 has no list of
//! its frozen modules to read), it returns what `BuiltinImporter` or
//! `FrozenImporter` finds. So `os`, `codecs`, `io`, `abc`, `site`, `stat`,
//! `posixpath` and the other modules CPython 3.11 freezes keep coming from
//! the interpreter image even though the standard library container holds
//! them; with `-X frozen_modules=off` they come from the container. Among
//! packed names, an extension module wins over a Python module of the same
//! name, as CPython's `FileFinder` prefers `_json.cpython-311-*.so` to
//! `_json.py` (the packer already resolves such a pair to the extension
//! module within one input; the finder checks the extension flag first in
//! case a resource carries both).
//!
//! ## Paths, source lines and tracebacks
//!
//! A packed module gets the path it would have if the container were
//! unpacked next to the executable: `__file__` and `__spec__.origin` are
//! `<origin>/pkg/mod.py` (`.../pkg/__init__.py` for a package,
//! `has_location` true), a package's `__path__` is `[<origin>/pkg]`, and a
//! namespace package has a `__path__` but no file. Because `has_location`
//! is true, importlib also derives `__cached__`
//! (`<origin>/pkg/__pycache__/mod.cpython-311.pyc`), which, like the source
//! path, does not exist. The packer stores the
//! relative `pkg/mod.py` as `co_filename`; the loader rewrites it to the
//! absolute path with `_imp._fix_co_filename` as it loads the code.
//!
//! Those files do not exist, so `linecache` falls back to the module's
//! `__loader__.get_source(name)` (its `lazycache`), which returns the
//! packed source decoded by PEP 263 rules. `traceback`, `inspect.getsource`,
//! `pdb`, `logging` and `unittest` therefore show source lines when sources
//! are packed. CPython's *C* traceback printer, used by the default
//! `sys.excepthook`, reads files only (zipimported modules have the same
//! problem), so with the importer installed `sys.excepthook` is replaced,
//! unless something already replaced it, by a function printing with the
//! `traceback` module (falling back to `sys.__excepthook__` if that fails):
//! an uncaught exception shows its source lines. `threading.excepthook` and
//! `sys.unraisablehook` still print in C, without them.
//! An uncaught `KeyboardInterrupt` goes straight to `sys.__excepthook__`:
//! importing `traceback` at that moment runs code through CPython paths
//! that clear its "unhandled `KeyboardInterrupt`" flag, and `Py_RunMain`
//! would then exit with 1 instead of killing the process with SIGINT as
//! `python` does (CPython's `test_runpy` checks this).
//!
//! Module code runs through `importlib._bootstrap._call_with_frames_removed`,
//! as CPython's own loaders do, so CPython trims the import machinery's
//! frames from the traceback of an exception raised while a module
//! executes.
//!
//! ## Bytes, lifetimes and verification
//!
//! `get_code` takes the bytecode for `sys.flags.optimize`. The container
//! returns it as a verified `&[u8]` borrowing from the container: the
//! chunks it lies in are hashed (once each) and compared with the index
//! first, so damaged bytes become an `ImportError` naming the module, the
//! container, the region and both SHA-256 digests, and never reach
//! `marshal`. The slice goes straight to `PyMarshal_ReadObjectFromString`
//! (`pyo3::marshal::loads`), which copies what it needs into new objects and
//! keeps no reference, so no Python object ever points into the container.
//! If the container has no bytecode for that level but has the source, the
//! source is compiled; with neither, the `ImportError` names the module and
//! the level.
//!
//! The finder is a Python object: nothing stops it from outliving the
//! configuration it was built from (`mem::forget` of the interpreter is
//! safe, and Python keeps running). So it holds only `'static` containers,
//! each in an `Arc` that every call clones for its duration:
//! `Container::open_static` memory-maps a file (the mapping is owned), and
//! for a `PackedResourcesSource::Memory` slice asks the dynamic linker
//! whether the bytes lie in a non-writable segment of the main executable
//! (`include_bytes!` data does), which is mapped, unchanged, until the
//! process exits; only then is the slice used as `&'static [u8]`. Any other
//! memory is copied once, since nothing would keep it alive. Python code
//! can index more containers (`index_file_memory_mapped`, `index_bytes`,
//! which copies).
//!
//! ### Turning verification off, for benchmarks only
//!
//! `PYEMBED_UNSAFE_SKIP_VERIFICATION=1` in the environment makes
//! `PythonResourcesState::index_container` call
//! `Container::skip_lazy_verification`: every tier-0 chunk is marked verified
//! up front (the per-read check stays one atomic load, so the hot path is the
//! same code) and tier-1 groups decoded on first use skip both digest checks.
//! A warning is printed to standard error. It exists so that
//! `benches/compare.sh` can measure what verification costs in the same
//! run; a damaged or tampered container then reaches `marshal` and `dlopen`
//! unchecked, so it must never be set in production. A test proves it really
//! lets a damaged module through, so the benchmark measures what it claims.
//!
//! ## Threads
//!
//! The index is immutable. A call takes the finder's read lock only to
//! clone the `Arc` of the current index and releases it before doing
//! anything else; indexing another container builds a new index and swaps
//! it in under the write lock. No Rust lock is held while calling into
//! Python, so the finder cannot take part in a deadlock with the GIL or
//! importlib's per-module locks. Tier-1 groups are decompressed once behind
//! a `OnceLock` while the calling thread holds the GIL.
//!
//! ## Path entries, `pkgutil` and `runpy`
//!
//! `pkgutil` does not ask meta path finders about packages; it walks path
//! entries (`sys.path`, a package's `__path__`) and asks `sys.path_hooks`
//! for a finder for each. A packed package's `__path__` (and its spec's
//! `submodule_search_locations`, the same list) is its virtual directory
//! `[<origin>/pkg]`, and `OxidizedFinder.path_hook` turns exactly two kinds
//! of path into an `OxidizedPathEntryFinder`:
//!
//! | path entry | serves |
//! |---|---|
//! | `<origin>` (`path_hook_base_str`) | the packed top-level modules |
//! | `<origin>/pkg/sub` | the modules directly inside packed package `pkg.sub` |
//!
//! Anything else raises `ImportError`, so the next hook gets its chance. The
//! check is textual and strict: a `str` without NUL, `<origin>` then `/`
//! and components that are not empty, `.` or `..` and contain no `.`, which
//! joined by dots must name a packed regular or namespace package; a packed
//! *module* is refused. The entry's `find_spec(fullname, target=None)`
//! answers only for names directly inside its package (returning the meta
//! path finder's spec, so `import` and `pkgutil` see the same spec), and its
//! `iter_modules(prefix='')` lists them sorted. So
//! `pkgutil.iter_modules(pkg.__path__)`, `pkgutil.walk_packages()` and
//! `pkgutil.iter_modules([finder.path_hook_base_str])` work as over files;
//! walking `email` gives the same names as the installed standard library.
//!
//! The origin is the executable's directory, a real one: a path entry that
//! exists on disk also gets a *fallback*, the finder the other hooks give
//! for it (normally `FileFinder`), asked after the packed modules, so files
//! next to the executable still import and `iter_modules` lists both.
//!
//! The origin is **not** added to `sys.path`. PyOxidizer users saw the
//! executable's directory there when the filesystem importer was on, but
//! adding it here would make any `.py` file next to the executable
//! importable, which the configuration did not ask for, and packed
//! top-level modules are found through `sys.meta_path` anyway (and listed
//! by `pkgutil.iter_modules()`, which asks meta path finders first). Code
//! that wants the entry can `sys.path.append(finder.path_hook_base_str)`.
//!
//! `runpy` (and so `python -m pkg`, i.e. `run_module` in the configuration)
//! needs only `find_spec` and `get_code`: `run_module('pkg')` runs the
//! packed `pkg.__main__` with `__file__` `<origin>/pkg/__main__.py`.
//!
//! Names ending in `.__init__`: CPython's `FileFinder` imports `pkg.__init__`
//! as a module of its own, a plain module that runs `pkg/__init__.py` a
//! second time. PyOxidizer's importer mapped such names to the package's
//! resource. The finder does both: when `pkg.__init__` itself is not packed
//! but `pkg` is a regular package, `find_spec('pkg.__init__')` returns a
//! non-package spec whose origin is `<origin>/pkg/__init__.py`, and
//! `get_code`, `get_source`, `get_filename` and `exec_module` serve `pkg`'s
//! code. A namespace package has no `__init__`, so `ns.__init__` is not
//! found.
//!
//! Namespace packages (PEP 420) spanning several inputs, or several
//! containers, work because the finder answers for full names: `ns.a` from
//! one container and `ns.b` from another both import, and since every
//! portion has the same virtual directory, `pkgutil.iter_modules(ns.__path__)`
//! lists both. With the filesystem importer off, a packed namespace
//! package has the packed `__path__` only. With it on, `find_spec` appends
//! the portions `PathFinder.find_spec` reports on `sys.path`, so `ns.disk`
//! from a directory on `sys.path` imports next to the packed `ns.a`, as
//! CPython merges portions across `sys.path` entries. Two differences from
//! CPython, both deliberate: the list is computed once, at import (CPython's
//! `_NamespacePath` recomputes when `sys.path` changes; ours is a plain
//! list, which is what the packed virtual directory needs), and a *regular*
//! package of the same name on disk does not replace the packed namespace
//! package (CPython prefers a regular package anywhere on `sys.path`; here
//! the packed package was found first, on the first `sys.meta_path`
//! entry, and then no portion joins).
//!
//! ## `importlib.resources` and `importlib.metadata`
//!
//! Both work over packed data with the filesystem importer off. The packer
//! attaches a package's data files to the package's resource, under their
//! `/`-separated names relative to the package's directory, and the files
//! of a `.dist-info` or `.egg-info` directory to a resource named after the
//! directory (`six-1.16.0.dist-info`). The finder serves them through the
//! two importlib hooks for this:
//!
//! - `get_resource_reader(fullname)` returns an `OxidizedResourceReader`, a
//!   `TraversableResources`, for a packed regular or namespace package
//!   (`None` otherwise). `files()` is a `Traversable` whose directories
//!   come from the relative names, plus one directory per packed child
//!   package holding that package's data, so
//!   `files(pkg) / 'sub' / 'data.txt'` reads subpackage `pkg.sub`'s file,
//!   as it would on disk. Modules are not files in the tree (`.py` names do
//!   not appear): they are packed as code. `open('r'|'rb')` wraps the bytes
//!   in `BytesIO`/`TextIOWrapper`; `as_file` writes a temporary copy (there
//!   is no real path); the legacy `read_text`, `open_binary`, `is_resource`,
//!   `contents` and `path` go through `files()` as in CPython 3.11.
//!   A namespace package's tree joins the data of its portions in every
//!   container, as its directories on `sys.path` would (for a name in
//!   several portions, the earlier container wins); a regular package's
//!   data comes from the container that serves its code.
//!   Resource names are untrusted: a `..` component, an absolute name or a
//!   NUL raises `ValueError`, `.` and empty components are skipped, and
//!   since every lookup is by name in the package's own map, nothing
//!   outside its tree can be named.
//! - `get_data(path)` (`ResourceLoader`, what `pkgutil.get_data` calls)
//!   reads a virtual path: `<origin>/pkg/sub/rest` is data file `rest` of
//!   the longest packed package prefix that has it, else `<origin>/pkg/mod.py`
//!   or `<origin>/pkg/__init__.py` is that module's packed source. The path
//!   is taken textually; an empty, `.` or `..` component, a NUL, or a path
//!   not below the origin is a `FileNotFoundError`.
//! - `find_distributions(context)` yields `OxidizedDistribution`s (an
//!   `importlib.metadata.Distribution`) for the packed metadata
//!   directories. A directory matches `context.name` as in 3.11's `Lookup`:
//!   the part of its name before the first `-`, through
//!   `Prepared.normalize` (PEP 503 with `_`), must equal the normalised
//!   query. `context.path` is ignored. `read_text(name)` returns the packed
//!   file (`None` if absent); `locate_file(path)` returns `<origin>/path`,
//!   where a packed module's `__file__` is. That location does not exist on
//!   disk, so it is a `PackedPath`: a `pathlib.Path` subclass (one class per
//!   distribution, so paths derived with `/` or `.parent` keep it) whose
//!   `open`, `read_text`, `read_bytes`, `exists` and `is_file` answer from
//!   the container — the distribution's metadata files, package data and
//!   module sources (as `get_data` reads them). So `PackagePath.read_text()`
//!   and `.locate()` work for the `files()` entries of `RECORD`, as tools
//!   like license scanners use them; opening for writing is `EROFS`, and a
//!   path with nothing packed behind it behaves as a plain `pathlib.Path`.
//!
//! With the filesystem importer on, `PathFinder.find_distributions` also
//! reports what is on `sys.path`. The packed finder comes first on
//! `sys.meta_path`, so `version()`, `metadata()`, `distribution()` and
//! `requires()` (which take the first match) and `entry_points()` (which
//! keeps the first distribution of each normalised name) use the packed
//! copy; `distributions()` lists every copy, packed ones first, as CPython
//! does for a distribution installed twice on `sys.path`.
//!
//! The protocol classes are Python (`src/importer/resources.py`,
//! `metadata.py`): they subclass importlib's abstract classes and inherit
//! their default methods. Each is compiled into the binary with
//! `include_str!` and run once, on first use, into
//! `oxidized_importer._resources` / `._metadata` (not at installation,
//! when `importlib.resources.abc` cannot be imported yet), with the Rust
//! functions that read a resource's verified bytes put in its namespace.
//! The classes are also attributes of `oxidized_importer`
//! (`OxidizedResourceReader`, `OxidizedTraversable`, `OxidizedDistribution`),
//! served by a module `__getattr__` (PEP 562) that compiles on first access.
//! A damaged container is an `OSError` naming the package or distribution,
//! the container and the digests.
//!
//! ## Extension modules from memory
//!
//! On Linux a packed extension module loads without ever touching a file
//! system: `create_module` copies its verified bytes into an anonymous
//! memory file (`memfd_create`, close-on-exec, sealed against writes and
//! resizing once filled) and calls CPython's own `_imp.create_dynamic` with
//! a copy of the spec whose `origin` is `/proc/self/fd/<N>`; `exec_module`
//! calls `_imp.exec_dynamic`. Letting CPython do the `dlopen` keeps its
//! whole protocol: `sys.getdlopenflags()`, the `PyInit_<name>` lookup
//! (punycode names included), single-phase init with its `m_copy` cache,
//! multi-phase init (PEP 489) split between `create_module` and
//! `exec_module`, and its error messages, which carry `dlerror()`'s text. A
//! temporary file would be simpler but leaves copies behind on a crash,
//! needs a writable, exec-mounted directory, and opens a window in which
//! another process can swap the file between verification and `dlopen`.
//!
//! The module's `__spec__.origin` and `__file__` are its stable virtual
//! path, `<origin>/<pkg>/<name>.cpython-311-x86_64-linux-gnu.so` (the
//! interpreter's first extension suffix, whatever suffix the packed file
//! had; `.../__init__<suffix>` for an extension package), next to where the
//! module's `.py` would be. Single-phase init sets `__file__` to the path it
//! loaded from, so `create_module` sets it back. `/proc/self/maps` shows the
//! mappings as `/memfd:pyembed:<name><suffix> (deleted)`.
//!
//! The memory files are never closed. glibc's `dlopen` matches the path
//! string against the names of loaded objects before opening anything, so a
//! closed descriptor's number, reused for the next memory file, would make
//! `dlopen("/proc/self/fd/<N>")` return the previous library; and CPython
//! keys its single-phase cache by that path. A process-wide table keyed by
//! (module name, the container's content digest, which commits to every
//! byte, so nothing is hashed again) keeps each file open and gives a
//! re-import (`del sys.modules[name]`) the same path, so it behaves as a
//! re-import from disk does. The cost is one descriptor per loaded module.
//!
//! Shared libraries packed with an extension module (auditwheel's
//! `<dist>.libs/`, normally found through an `$ORIGIN`-relative RPATH,
//! which means nothing for `/proc/self/fd`) are loaded first: the
//! extension's `DT_NEEDED` names are read from its ELF program headers
//! (bounds-checked; bytes that do not parse just have no dependencies, and
//! the dynamic linker reports what is wrong), each one that matches the
//! file name of a packed shared library is loaded, after its own packed
//! dependencies, from a memory file of its own with `RTLD_NOW |
//! RTLD_GLOBAL`. When the extension is then loaded, glibc finds the
//! dependency among loaded objects by its `DT_SONAME` and searches no
//! directory. The limitation: the packed file name must be the soname, as
//! auditwheel arranges (it renames the library and sets the soname to
//! match). A packed library that matches a need by file name but has
//! another soname would load without satisfying it, so that is an
//! `ImportError` naming both names; a need that no packed file matches is
//! left to the dynamic linker's usual search of the system's libraries.
//!
//! Failures are `ImportError`s with `name` set: damaged bytes give the
//! digest error Python modules give; a refused `dlopen` or a missing
//! `PyInit_<name>` gives `cannot load extension module '<name>' from packed
//! resources <container> (memory file /proc/self/fd/<N>): <dlerror text>;
//! hint: ...`, with CPython's error as the cause. Elsewhere than Linux the
//! finder returns `None` for packed extension modules, as before.
//!
//! A resource may instead locate its library on disk, by a path relative
//! to the executable's directory (`relative_path_extension_module_shared_library`
//! in the python-packed-resources format, PyOxidizer's "filesystem-relative"
//! location), for libraries that must stay files (licence terms, code that
//! reads its own `__file__` neighbours). When the resource holds no library
//! in memory but has that path, `find_spec` gives the real file as `origin`
//! and `__file__` (it exists, so `has_location` is honest), and
//! `create_module` hands it to `_imp.create_dynamic` as it is; its own
//! `$ORIGIN` RPATH then works. The path must be plain relative (no `..`, not
//! absolute), so a container cannot point outside the application's
//! directory. Neither a library nor a path, a path that escapes, or a
//! missing file are each an `ImportError` that says which and where. The
//! file is not verified (it is not in the container); that is the price of
//! keeping it on disk. `pyembed pack` does not write such resources yet:
//! containers built with the library API (`ContainerWriter`) can.
//!
//! ## CPython's regression tests over packed resources
//!
//! `benches/regrtest_packed.sh` runs a selection of CPython's own tests
//! (`-m test`, from Debian's `libpython3.11-testsuite`) with
//! `examples/packed-python` (a `python`-like main) three ways:
//! `/usr/bin/python3.11`; our binary without a container, to separate
//! differences of the linked static libpython (an older 3.11.2 build whose
//! `_sre` lacks the gh-106052 fix, failing one `test_re` and four
//! `test_csv` sniffer cases); and our binary with the standard library
//! packed and the filesystem importer on, so that only the top-level `test`
//! package comes from disk (the script checks each module under test has
//! `OxidizedFinder` as its loader; `runpy` and `importlib.util` are frozen
//! into the interpreter). Test subpackages of stdlib packages
//! (`unittest.test`, ...) are packed for that run: a packed package's
//! `__path__` is virtual, so none of its subpackages can come from disk.
//!
//! Packed-only differences, all from code assuming modules are files:
//! `unittest.test.suite()` lists its own directory with `os.listdir`, so
//! `test_unittest` cannot load; `test_importlib` expects the stdlib's
//! loader to have a `.path` (`test_reload_missing_loader`) and
//! `sys.path_hooks` to be consulted while importing stdlib modules
//! (`test_parallel_path_hooks`); two `test_zipfile` cases skip because
//! `email.__file__` does not exist. `test_pkgutil`, `test_runpy`,
//! `test_inspect`, `test_traceback`, `test_json`, `test_email`,
//! `test_typing` and the rest of the selection pass as with the installed
//! standard library.
