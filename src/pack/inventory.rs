//! The classified, sorted model of everything the inputs offer.
//!
//! An [`Inventory`] is what [`scan`](super::scan::scan) returns: the inputs
//! that were read, every importable thing found in them as an [`Entry`], the
//! files left out as [`Skipped`] (each with a [`SkipReason`]), and the
//! [`Conflict`]s where two files claimed the same name and one of them won.
//!
//! # Determinism
//!
//! Nothing in `entries`, `skipped` or `conflicts` depends on where the inputs
//! live or in what order a directory listed them: files are referred to by
//! [`FileRef`] (the input's number plus a `/`-separated path relative to the
//! input's root), and all three lists are sorted. Two scans of equal trees in
//! different directories compare equal field by field; only
//! [`Inventory::inputs`] holds the paths as given.
//!
//! # Entry order
//!
//! Modules, extension modules and namespace packages come first, sorted by
//! dotted name (so a package comes right before its submodules); then
//! package data by package and relative name; then distribution metadata by
//! directory and relative name; then shared libraries by path.

use std::fmt;

use super::error::ScanError;
use super::scan::{ContentReader, FileRef, Input, InputId};

/// Everything found in a set of inputs; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inventory {
    /// The inputs, in the order given; [`InputId`] `n` is `inputs[n]`.
    pub inputs: Vec<Input>,
    /// What will be packed, sorted (see the module docs).
    pub entries: Vec<Entry>,
    /// Files that are not importable and not data, sorted by file.
    pub skipped: Vec<Skipped>,
    /// Names claimed by more than one file, sorted by claim.
    pub conflicts: Vec<Conflict>,
}

/// One thing to pack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A Python source module, or a package's `__init__.py`.
    Module {
        /// Dotted module name (`json.decoder`; `json` for `json/__init__.py`).
        name: String,
        /// Whether this is a package's `__init__.py`.
        is_package: bool,
        /// The `.py` file.
        source: FileRef,
    },
    /// A PEP 420 namespace package: one or more directories without
    /// `__init__.py` that hold importable modules.
    NamespacePackage {
        /// Dotted package name.
        name: String,
        /// The directories that make up the package, in search order.
        portions: Vec<FileRef>,
    },
    /// A compiled extension module that this interpreter can load.
    ExtensionModule {
        /// Dotted module name (`_ctypes`, `numpy.core._multiarray_umath`).
        name: String,
        /// Whether this is a package's `__init__` (Cython packages do this).
        is_package: bool,
        /// The `.so` file.
        data: FileRef,
    },
    /// A file inside a package that is not a module: what
    /// `importlib.resources.files(package)` returns.
    PackageData {
        /// The package the file belongs to (its nearest enclosing package).
        package: String,
        /// `/`-separated path relative to the package's directory.
        relative_name: String,
        /// The file.
        data: FileRef,
    },
    /// A file of a `.dist-info` or `.egg-info` directory, for
    /// `importlib.metadata`.
    DistributionFile {
        /// The directory name, e.g. `six-1.16.0.dist-info`.
        distribution_dir: String,
        /// `/`-separated path inside it, e.g. `METADATA`. A single-file
        /// `.egg-info` is presented as its `PKG-INFO`.
        relative_name: String,
        /// The file.
        data: FileRef,
    },
    /// A shared library an extension module links against, such as those
    /// auditwheel puts in `<name>.libs/`.
    SharedLibrary {
        /// `/`-separated path relative to the input's root, which is where
        /// the extension module's `$ORIGIN`-relative RPATH expects it.
        path: String,
        /// The file.
        data: FileRef,
    },
}

impl Entry {
    /// The dotted name of the module this entry is or belongs to: the name of
    /// a module or package, the package of package data, `None` for
    /// distribution files and shared libraries.
    pub fn module_name(&self) -> Option<&str> {
        match self {
            Entry::Module { name, .. }
            | Entry::NamespacePackage { name, .. }
            | Entry::ExtensionModule { name, .. } => Some(name),
            Entry::PackageData { package, .. } => Some(package),
            Entry::DistributionFile { .. } | Entry::SharedLibrary { .. } => None,
        }
    }

    /// The file holding this entry's bytes (`None` for a namespace package).
    pub fn file(&self) -> Option<&FileRef> {
        match self {
            Entry::Module { source: file, .. }
            | Entry::ExtensionModule { data: file, .. }
            | Entry::PackageData { data: file, .. }
            | Entry::DistributionFile { data: file, .. }
            | Entry::SharedLibrary { data: file, .. } => Some(file),
            Entry::NamespacePackage { .. } => None,
        }
    }

    /// The input this entry comes from (a namespace package's first portion).
    pub fn input(&self) -> InputId {
        match self {
            Entry::NamespacePackage { portions, .. } => {
                portions.first().map_or(InputId(0), |portion| portion.input)
            }
            other => other.file().map_or(InputId(0), |file| file.input),
        }
    }

    /// The key entries are sorted by; unique within an inventory.
    pub(crate) fn sort_key(&self) -> (u8, &str, &str) {
        match self {
            Entry::Module { name, .. }
            | Entry::NamespacePackage { name, .. }
            | Entry::ExtensionModule { name, .. } => (0, name, ""),
            Entry::PackageData {
                package,
                relative_name,
                ..
            } => (1, package, relative_name),
            Entry::DistributionFile {
                distribution_dir,
                relative_name,
                ..
            } => (2, distribution_dir, relative_name),
            Entry::SharedLibrary { path, .. } => (3, path, ""),
        }
    }
}

/// A file (or directory) that was found but will not be packed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skipped {
    /// What was skipped.
    pub file: FileRef,
    /// Why.
    pub reason: SkipReason,
}

/// Why a file was not packed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// A top-level `.py` or extension module whose name is not an identifier.
    InvalidModuleName,
    /// An `__init__.py` at the root of an input.
    InitAtRoot,
    /// A top-level file that is neither a module nor metadata.
    NotInPackage,
    /// A top-level directory whose name is not an identifier.
    InvalidDirectoryName,
    /// A top-level directory with no `__init__.py` and nothing importable.
    NoImportableContent,
    /// An extension module built for another interpreter or platform.
    ForeignExtension {
        /// The tag in its name (`cpython-312-x86_64-linux-gnu`, `cp311-win_amd64`).
        tag: String,
    },
    /// A `.pyc`/`.pyo` outside `__pycache__` (sources are compiled instead).
    Bytecode,
    /// A top-level `.pth` file.
    PathConfiguration,
    /// A symlink whose target does not exist.
    BrokenSymlink,
    /// A symlink to a directory that contains it.
    SymlinkLoop,
    /// A FIFO, socket or device.
    NotARegularFile,
    /// A wheel's `.data/<scheme>/` file for a scheme other than
    /// `purelib`/`platlib` (`scripts`, `headers`, `data`).
    WheelDataScheme {
        /// The scheme directory name.
        scheme: String,
    },
    /// A symlink stored in a wheel.
    WheelSymlink,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::InvalidModuleName => {
                f.write_str("module name is not a Python identifier, so `import` cannot name it")
            }
            SkipReason::InitAtRoot => f.write_str(
                "`__init__` at the root of an input; pass the package's parent directory instead",
            ),
            SkipReason::NotInPackage => f.write_str(
                "top-level file is not a module and not inside a package, \
                 so `importlib.resources` cannot reach it",
            ),
            SkipReason::InvalidDirectoryName => {
                f.write_str("directory name is not a Python identifier, so it is not importable")
            }
            SkipReason::NoImportableContent => {
                f.write_str("directory has no `__init__.py` and no importable modules")
            }
            SkipReason::ForeignExtension { tag } => write!(
                f,
                "extension module is built for another interpreter or platform (`{tag}`)"
            ),
            SkipReason::Bytecode => {
                f.write_str("bytecode file; modules are compiled from source when packing")
            }
            SkipReason::PathConfiguration => f.write_str(
                "`.pth` files are processed by `site` at start-up, which packed resources bypass",
            ),
            SkipReason::BrokenSymlink => f.write_str("symlink target does not exist"),
            SkipReason::SymlinkLoop => {
                f.write_str("symlink points to a directory that contains it (a loop)")
            }
            SkipReason::NotARegularFile => f.write_str("not a regular file or directory"),
            SkipReason::WheelDataScheme { scheme } => write!(
                f,
                "wheel `.data/{scheme}/` files are installed outside site-packages"
            ),
            SkipReason::WheelSymlink => f.write_str("symlinks inside wheels are not supported"),
        }
    }
}

/// What two files both claimed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Claim {
    /// A module or package name.
    Module(String),
    /// A resource of a package.
    PackageData {
        /// The package.
        package: String,
        /// The resource's path relative to the package.
        relative_name: String,
    },
    /// A distribution, by its normalized project name (PEP 503).
    Distribution(String),
    /// A shared library, by its path relative to the input's root.
    SharedLibrary(String),
    /// A path inside one input that two files map to (a wheel's root and its
    /// `.data/purelib/`, or a stdlib's root and its `lib-dynload/`).
    Path(String),
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::Module(name) => write!(f, "module `{name}`"),
            Claim::PackageData {
                package,
                relative_name,
            } => write!(f, "resource `{relative_name}` of package `{package}`"),
            Claim::Distribution(name) => write!(f, "distribution `{name}`"),
            Claim::SharedLibrary(path) => write!(f, "shared library `{path}`"),
            Claim::Path(path) => write!(f, "path `{path}`"),
        }
    }
}

/// Two files claimed the same name; `kept` is packed, `shadowed` is not.
///
/// When a package is shadowed, everything beneath it in the same input is
/// shadowed too; only the package itself is reported.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Conflict {
    /// The contested name.
    pub claim: Claim,
    /// The file that won.
    pub kept: FileRef,
    /// The file that lost.
    pub shadowed: FileRef,
    /// Which rule decided.
    pub reason: ConflictReason,
}

/// The rule that decided a [`Conflict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConflictReason {
    /// One directory holds several forms of a module; CPython prefers a
    /// package, then an extension module, then source.
    SameDirectory,
    /// An earlier input (or namespace portion) provides the name, as an
    /// earlier `sys.path` entry would.
    EarlierInput,
    /// A regular package or module in a later input beats namespace-package
    /// portions in earlier ones, as CPython's path finder does.
    PackageOverNamespace,
    /// Two files of one input map to the same path; the one whose own path
    /// sorts first is kept.
    SamePath,
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConflictReason::SameDirectory => {
                "the same directory has a preferred form (package > extension > source)"
            }
            ConflictReason::EarlierInput => "an earlier input provides it",
            ConflictReason::PackageOverNamespace => {
                "a regular package or module takes precedence over namespace portions"
            }
            ConflictReason::SamePath => "another file of the same input maps to the same path",
        })
    }
}

/// How many entries of each kind an inventory holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Source modules that are not packages.
    pub modules: usize,
    /// Source packages (`__init__.py`).
    pub packages: usize,
    /// PEP 420 namespace packages.
    pub namespace_packages: usize,
    /// Extension modules (including extension packages).
    pub extension_modules: usize,
    /// Package data files.
    pub package_data: usize,
    /// Distribution metadata files.
    pub distribution_files: usize,
    /// Shared libraries.
    pub shared_libraries: usize,
}

impl Counts {
    /// Tally `entries`.
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Counts {
        let mut counts = Counts::default();
        for entry in entries {
            match entry {
                Entry::Module {
                    is_package: false, ..
                } => counts.modules += 1,
                Entry::Module {
                    is_package: true, ..
                } => counts.packages += 1,
                Entry::NamespacePackage { .. } => counts.namespace_packages += 1,
                Entry::ExtensionModule { .. } => counts.extension_modules += 1,
                Entry::PackageData { .. } => counts.package_data += 1,
                Entry::DistributionFile { .. } => counts.distribution_files += 1,
                Entry::SharedLibrary { .. } => counts.shared_libraries += 1,
            }
        }
        counts
    }
}

impl Inventory {
    /// The module, package, extension module or namespace package `name`.
    pub fn module(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|entry| entry.sort_key().cmp(&(0, name, "")))
            .ok()
            .map(|index| &self.entries[index])
    }

    /// Entries that are modules, extension modules or namespace packages.
    pub fn modules(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|entry| entry.sort_key().0 == 0)
    }

    /// How many entries of each kind there are.
    pub fn counts(&self) -> Counts {
        Counts::of(&self.entries)
    }

    /// A human-readable location for `file`: the path on disk, or
    /// `wheel.whl!member` for a wheel member.
    pub fn describe(&self, file: &FileRef) -> String {
        file.describe(&self.inputs)
    }

    /// A reader for the bytes of this inventory's files (it keeps wheels
    /// open between reads).
    pub fn reader(&self) -> ContentReader<'_> {
        ContentReader::new(&self.inputs)
    }

    /// The bytes of one file.
    pub fn read(&self, file: &FileRef) -> Result<Vec<u8>, ScanError> {
        self.reader().read(file)
    }
}
