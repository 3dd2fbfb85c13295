//! Reading inputs: directories and wheels in, a sorted [`Inventory`] out.
//!
//! ```no_run
//! use pyembed::pack::scan::{scan, Input};
//!
//! let inventory = scan(&[
//!     Input::stdlib("/usr/lib/python3.11"),
//!     Input::path("src"),
//!     Input::wheel("wheels/six-1.16.0-py2.py3-none-any.whl"),
//! ])?;
//! for entry in inventory.modules() {
//!     println!("{}", entry.module_name().unwrap_or_default());
//! }
//! for conflict in &inventory.conflicts {
//!     eprintln!(
//!         "warning: {} from {} is shadowed by {}",
//!         conflict.claim,
//!         inventory.describe(&conflict.shadowed),
//!         inventory.describe(&conflict.kept),
//!     );
//! }
//! # Ok::<(), pyembed::pack::error::ScanError>(())
//! ```
//!
//! # Inputs
//!
//! Inputs behave like `sys.path` entries, in the order given; an [`Input`]
//! says which kind each is:
//!
//! * [`InputKind::Stdlib`]: a standard library directory such as
//!   `/usr/lib/python3.11`. Its `lib-dynload/` directory holds the stdlib's
//!   extension modules and is read as if it were part of the root (CPython
//!   puts it on `sys.path` right after the stdlib). Its `_sysconfigdata_*`
//!   modules are kept despite the `-` in their names: `sysconfig` imports them
//!   with `__import__`.
//! * [`InputKind::Path`]: a source tree, like a `PYTHONPATH` entry.
//! * [`InputKind::SitePackages`]: an installed `site-packages`; read like a
//!   path, its `.dist-info` directories become distribution metadata.
//! * [`InputKind::Wheel`]: a `.whl` file, read in place from its zip central
//!   directory. Its tags are checked against the [`Target`] first. Files
//!   under `<name>.data/purelib/` and `.../platlib/` are read as if at the
//!   root, which is where an installer would put them.
//!
//! # Walking
//!
//! Directories are listed in byte order of their names and every result is
//! sorted again afterwards, so the file system's listing order never shows.
//! `__pycache__` directories are not entered. Symlinks are followed, to files
//! and to directories; a symlink to a directory that is already being walked
//! (a loop) is reported as skipped rather than followed. File names must be
//! UTF-8: module names and resource names in packed resources are strings,
//! and guessing an encoding would make the result depend on the machine.
//!
//! What the files mean is decided by [`classify`]; the
//! result's shape is described in [`inventory`](super::inventory).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::classify;
use super::error::ScanError;
use super::inventory::{Inventory, SkipReason, Skipped};
use super::resolve;
use super::target::Target;
use super::wheel;

/// What kind of input a path is; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputKind {
    /// A standard library directory.
    Stdlib,
    /// A source tree (a `PYTHONPATH` entry).
    Path,
    /// An installed `site-packages` directory.
    SitePackages,
    /// A `.whl` file.
    Wheel,
}

impl InputKind {
    /// How error messages refer to an input of this kind.
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Stdlib => "stdlib directory",
            InputKind::Path => "source directory",
            InputKind::SitePackages => "site-packages directory",
            InputKind::Wheel => "wheel",
        }
    }
}

/// One input: a kind and the path as given.
///
/// Relative paths are resolved against the current directory when scanning
/// and when reading files later, so keep the current directory unchanged in
/// between (or pass absolute paths). The path never reaches the packed output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Input {
    /// What kind of input this is.
    pub kind: InputKind,
    /// Where it is.
    pub path: PathBuf,
}

impl Input {
    /// A standard library directory.
    pub fn stdlib(path: impl Into<PathBuf>) -> Input {
        Input {
            kind: InputKind::Stdlib,
            path: path.into(),
        }
    }

    /// A source tree.
    pub fn path(path: impl Into<PathBuf>) -> Input {
        Input {
            kind: InputKind::Path,
            path: path.into(),
        }
    }

    /// A `site-packages` directory.
    pub fn site_packages(path: impl Into<PathBuf>) -> Input {
        Input {
            kind: InputKind::SitePackages,
            path: path.into(),
        }
    }

    /// A wheel file.
    pub fn wheel(path: impl Into<PathBuf>) -> Input {
        Input {
            kind: InputKind::Wheel,
            path: path.into(),
        }
    }
}

/// The position of an input in the list given to [`scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InputId(pub usize);

impl fmt::Display for InputId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input #{}", self.0)
    }
}

/// A file found by a scan: which input, and where inside it.
///
/// `path` is relative to the input's root and `/`-separated: for a directory
/// input it is the path under that directory (through symlinks as named, not
/// as resolved); for a wheel it is the member's name in the archive. It is
/// the same whatever absolute path the input had.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileRef {
    /// The input the file belongs to.
    pub input: InputId,
    /// The path inside the input.
    pub path: String,
}

impl FileRef {
    /// Read the file's bytes; `inputs` is the list given to [`scan`]. To read
    /// many wheel members, a [`ContentReader`] avoids reopening the wheel.
    pub fn read(&self, inputs: &[Input]) -> Result<Vec<u8>, ScanError> {
        ContentReader::new(inputs).read(self)
    }

    /// A human-readable location: the path on disk, or `wheel.whl!member`.
    pub fn describe(&self, inputs: &[Input]) -> String {
        match inputs.get(self.input.0) {
            Some(input) if input.kind == InputKind::Wheel => {
                format!("{}!{}", input.path.display(), self.path)
            }
            Some(input) => input.path.join(&self.path).display().to_string(),
            None => format!("{}:{}", self.input, self.path),
        }
    }
}

/// Reads the bytes of [`FileRef`]s, keeping wheels open between reads.
pub struct ContentReader<'a> {
    inputs: &'a [Input],
    wheels: BTreeMap<InputId, ZipArchive<BufReader<File>>>,
}

impl<'a> ContentReader<'a> {
    /// A reader for files of `inputs` (the list given to [`scan`]).
    pub fn new(inputs: &'a [Input]) -> ContentReader<'a> {
        ContentReader {
            inputs,
            wheels: BTreeMap::new(),
        }
    }

    /// The bytes of `file`. Wheel members are decompressed and their CRC-32
    /// checked.
    pub fn read(&mut self, file: &FileRef) -> Result<Vec<u8>, ScanError> {
        let input = self
            .inputs
            .get(file.input.0)
            .ok_or_else(|| ScanError::UnknownInput {
                input: file.input.0,
                path: file.path.clone(),
                count: self.inputs.len(),
            })?;
        if input.kind != InputKind::Wheel {
            let path = input.path.join(&file.path);
            return fs::read(&path).map_err(|source| ScanError::Io { path, source });
        }
        let archive = match self.wheels.entry(file.input) {
            std::collections::btree_map::Entry::Occupied(open) => open.into_mut(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(wheel::open(&input.path)?)
            }
        };
        let member_error = |source| ScanError::WheelMember {
            path: input.path.clone(),
            member: file.path.clone(),
            source,
        };
        let mut member = archive.by_name(&file.path).map_err(member_error)?;
        let mut bytes = Vec::with_capacity(usize::try_from(member.size()).unwrap_or(0));
        member
            .read_to_end(&mut bytes)
            .map_err(|error| member_error(error.into()))?;
        Ok(bytes)
    }
}

/// Scan `inputs` for the CPython this build links ([`Target::LINKED`]);
/// see the module docs.
pub fn scan(inputs: &[Input]) -> Result<Inventory, ScanError> {
    scan_for(inputs, &Target::default())
}

/// Scan `inputs` for the interpreter `target`; see the module docs.
pub fn scan_for(inputs: &[Input], target: &Target) -> Result<Inventory, ScanError> {
    let mut layers = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let listing = list(InputId(index), input, target)?;
        layers.push(classify::classify(listing, input.kind, target));
    }
    Ok(resolve::resolve(inputs.to_vec(), layers))
}

/// The files of one input, before classification.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Regular files (symlinks resolved), in no particular order.
    pub files: Vec<ListedFile>,
    /// What the walk itself had to leave out.
    pub skipped: Vec<Skipped>,
}

/// One file of an input.
#[derive(Debug)]
pub(crate) struct ListedFile {
    /// `/`-separated path as an importer would see it: relative to the
    /// input's root, with `lib-dynload/` or a wheel's `.data/purelib/`
    /// removed.
    pub logical: String,
    /// Where the bytes are.
    pub file: FileRef,
}

fn list(id: InputId, input: &Input, target: &Target) -> Result<Listing, ScanError> {
    let what = input.kind.describe();
    let metadata = match fs::metadata(&input.path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ScanError::MissingInput {
                what,
                path: input.path.clone(),
            });
        }
        Err(source) => {
            return Err(ScanError::Io {
                path: input.path.clone(),
                source,
            });
        }
    };
    if input.kind == InputKind::Wheel {
        if !metadata.is_file() {
            return Err(ScanError::WrongInputType {
                what,
                path: input.path.clone(),
                expected: "file",
                hint: "pass the .whl file itself; an unpacked wheel is a source directory",
            });
        }
        return wheel::list(id, &input.path, target);
    }
    if !metadata.is_dir() {
        return Err(ScanError::WrongInputType {
            what,
            path: input.path.clone(),
            expected: "directory",
            hint: "pass the directory that contains the modules (what you would put on \
                   sys.path); wheels are passed as wheels",
        });
    }
    let mut walk = Walk {
        id,
        listing: Listing::default(),
        ancestors: vec![(metadata.dev(), metadata.ino())],
    };
    walk.dir(&input.path, "")?;
    let mut listing = walk.listing;
    if input.kind == InputKind::Stdlib {
        for file in &mut listing.files {
            if let Some(rest) = file.logical.strip_prefix("lib-dynload/") {
                file.logical = rest.to_owned();
            }
        }
    }
    Ok(listing)
}

/// A depth-first walk of one directory input.
struct Walk {
    id: InputId,
    listing: Listing,
    /// `(device, inode)` of the directories being walked, root first: a
    /// symlink to one of them is a loop.
    ancestors: Vec<(u64, u64)>,
}

impl Walk {
    fn dir(&mut self, dir: &Path, relative: &str) -> Result<(), ScanError> {
        let io_error = |source| ScanError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut children = fs::read_dir(dir)
            .map_err(io_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_error)?;
        children.sort_by_key(|child| child.file_name());
        for child in children {
            let path = child.path();
            let Some(name) = child.file_name().to_str().map(str::to_owned) else {
                return Err(ScanError::NonUtf8Name { path });
            };
            let child_relative = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            let is_symlink = child
                .file_type()
                .map_err(|source| ScanError::Io {
                    path: path.clone(),
                    source,
                })?
                .is_symlink();
            let metadata = match fs::metadata(&path) {
                Ok(metadata) => metadata,
                Err(error) if is_symlink && error.kind() == io::ErrorKind::NotFound => {
                    self.skip(child_relative, SkipReason::BrokenSymlink);
                    continue;
                }
                Err(source) => return Err(ScanError::Io { path, source }),
            };
            if metadata.is_dir() {
                if name == "__pycache__" {
                    continue;
                }
                let identity = (metadata.dev(), metadata.ino());
                if self.ancestors.contains(&identity) {
                    self.skip(child_relative, SkipReason::SymlinkLoop);
                    continue;
                }
                self.ancestors.push(identity);
                self.dir(&path, &child_relative)?;
                self.ancestors.pop();
            } else if metadata.is_file() {
                self.listing.files.push(ListedFile {
                    logical: child_relative.clone(),
                    file: FileRef {
                        input: self.id,
                        path: child_relative,
                    },
                });
            } else {
                self.skip(child_relative, SkipReason::NotARegularFile);
            }
        }
        Ok(())
    }

    fn skip(&mut self, path: String, reason: SkipReason) {
        self.listing.skipped.push(Skipped {
            file: FileRef {
                input: self.id,
                path,
            },
            reason,
        });
    }
}
