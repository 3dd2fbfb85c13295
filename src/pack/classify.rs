//! What each file of one input is: module, package, data, metadata, ...
//!
//! Classification reads one input's files as CPython's path-based importer
//! would read one `sys.path` entry, and produces a layer: the modules it
//! offers and the files that go with them. Merging the layers of all inputs
//! (earlier inputs shadow later ones) is [`resolve`](super::resolve)'s job.
//!
//! # Rules
//!
//! At the root of an input (outside any package):
//!
//! * `name.py` and extension modules (see [`filename`](super::filename)) are
//!   top-level modules, if `name` is an identifier; otherwise they are
//!   skipped, as is an `__init__.py` (the input is probably the package
//!   itself rather than its parent).
//! * A directory `name/` with an `__init__` module is a regular package.
//! * A directory `name/` without one is a PEP 420 namespace package if it
//!   contains something importable (a module, or a directory that is itself
//!   a package or namespace package); otherwise it is skipped.
//! * `*.dist-info/` and `*.egg-info/` directories hold distribution metadata;
//!   a single-file `*.egg-info` is read as its directory's `PKG-INFO`.
//! * `*.libs/` directories (auditwheel's) and `lib*.so*` files are shared
//!   libraries.
//! * Anything else is skipped with a reason: other files, directories whose
//!   name is not an identifier, `.pth` files, bytecode.
//!
//! Inside a package (regular or namespace):
//!
//! * modules, subpackages and namespace subpackages follow the same rules;
//! * every other file in the package's directory tree, down to the next
//!   package, is package data of the nearest package, with a `/`-separated
//!   name relative to that package's directory. That includes `.py` files
//!   whose names are not identifiers and directories that are not packages
//!   (`data/`, `templates/`, `py.typed`, `.pyi` stubs);
//! * except shared libraries (`lib*.so*`, anything under `*.libs/`),
//!   extension modules for other interpreters and bytecode, which are
//!   handled as at the root.
//!
//! When one directory holds several forms of a module, CPython's preference
//! decides (package, then extension module, then source, then namespace
//! directory) and the losers are reported as conflicts.

use std::collections::BTreeMap;

use super::filename::{FileKind, Rank, is_identifier};
use super::inventory::{Claim, Conflict, ConflictReason, SkipReason, Skipped};
use super::scan::{FileRef, InputKind, Listing};
use super::target::Target;

/// What one input offers, before other inputs are taken into account.
#[derive(Debug, Default)]
pub(crate) struct Layer {
    /// Module name → its form in this input.
    pub modules: BTreeMap<String, Candidate>,
    /// (package, relative name) → file.
    pub data: BTreeMap<(String, String), FileRef>,
    /// Distribution directory name → its files.
    pub distributions: BTreeMap<String, Distribution>,
    /// Root-relative path → shared library.
    pub shared_libraries: BTreeMap<String, FileRef>,
    /// Files left out.
    pub skipped: Vec<Skipped>,
    /// Same-directory conflicts.
    pub conflicts: Vec<Conflict>,
}

/// A module as one input provides it.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    /// Its form.
    pub form: Form,
    /// The `.py`/`.so` file, or the directory of a namespace package.
    pub file: FileRef,
}

/// The forms a module can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    Source { is_package: bool },
    Extension { is_package: bool },
    Namespace,
}

impl Form {
    /// Whether submodules are searched for under this module.
    pub(crate) fn is_package(self) -> bool {
        match self {
            Form::Source { is_package } | Form::Extension { is_package } => is_package,
            Form::Namespace => true,
        }
    }
}

/// A `.dist-info`/`.egg-info` directory of one input.
#[derive(Debug)]
pub(crate) struct Distribution {
    /// The directory (or single `.egg-info` file).
    pub dir: FileRef,
    /// Relative name → file.
    pub files: BTreeMap<String, FileRef>,
}

/// Classify the files of one input; see the module docs.
pub(crate) fn classify(mut listing: Listing, kind: InputKind, target: &Target) -> Layer {
    let mut classifier = Classifier {
        target,
        is_stdlib: kind == InputKind::Stdlib,
        layer: Layer {
            skipped: listing.skipped,
            ..Layer::default()
        },
    };
    // Sorted, so that which of two files with one logical path is kept, and
    // which physical directory stands for a logical one, never depends on
    // listing order.
    listing
        .files
        .sort_by(|a, b| (&a.logical, &a.file).cmp(&(&b.logical, &b.file)));
    let mut root = Dir::default();
    for listed in listing.files {
        if let Some((kept, shadowed)) = root.insert(&listed.logical, listed.file) {
            classifier.layer.conflicts.push(Conflict {
                claim: Claim::Path(listed.logical),
                kept,
                shadowed,
                reason: ConflictReason::SamePath,
            });
        }
    }
    classifier.package_dir(&root, None);
    classifier.layer
}

/// A directory of the logical tree built from the listed files.
#[derive(Debug, Default)]
struct Dir {
    /// Where the directory is, for reports (the first file's directory).
    place: Option<FileRef>,
    /// Root-relative logical path, `/`-separated (empty for the root).
    logical: String,
    files: BTreeMap<String, FileRef>,
    dirs: BTreeMap<String, Dir>,
}

impl Dir {
    /// Add a file at `logical`. If one is already there it stays, and the
    /// pair (kept, refused) is returned.
    fn insert(&mut self, logical: &str, file: FileRef) -> Option<(FileRef, FileRef)> {
        let components: Vec<&str> = logical.split('/').collect();
        let (name, parents) = components.split_last()?;
        // The logical path is a suffix of the physical one (re-rooting only
        // removes a prefix), so a directory's physical path is the file's
        // path minus as many trailing components as lie below it.
        let physical: Vec<&str> = file.path.split('/').collect();
        let base = physical.len().saturating_sub(components.len());
        let mut dir = self;
        for (depth, parent) in parents.iter().enumerate() {
            let logical_dir = components[..=depth].join("/");
            dir = dir.dirs.entry((*parent).to_owned()).or_default();
            if dir.place.is_none() {
                dir.logical = logical_dir;
                dir.place = Some(FileRef {
                    input: file.input,
                    path: physical[..(base + depth + 1).min(physical.len())].join("/"),
                });
            }
        }
        match dir.files.entry((*name).to_owned()) {
            std::collections::btree_map::Entry::Occupied(kept) => Some((kept.get().clone(), file)),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(file);
                None
            }
        }
    }

    fn place(&self) -> FileRef {
        self.place.clone().unwrap_or(FileRef {
            input: super::scan::InputId(0),
            path: String::new(),
        })
    }
}

/// A form competing for a module name in one directory.
enum Local<'a> {
    /// A source or extension module file.
    File { file: &'a FileRef, form: Form },
    /// A directory with an `__init__` (`form` says which kind).
    Package {
        dir: &'a Dir,
        init: &'a FileRef,
        form: Form,
    },
    /// A directory without `__init__` that holds importable modules.
    Namespace(&'a Dir),
}

impl Local<'_> {
    /// The file a report or an entry points at.
    fn file(&self) -> FileRef {
        match self {
            Local::File { file, .. } | Local::Package { init: file, .. } => (*file).clone(),
            Local::Namespace(dir) => dir.place(),
        }
    }
}

struct Classifier<'t> {
    target: &'t Target,
    is_stdlib: bool,
    layer: Layer,
}

impl Classifier<'_> {
    /// Whether `stem` names an importable module here.
    fn importable_stem(&self, stem: &str, at_root: bool) -> bool {
        if stem == "__init__" {
            return false;
        }
        is_identifier(stem) || (self.is_stdlib && at_root && stem.starts_with("_sysconfigdata_"))
    }

    /// The best `__init__` of a directory and the package form it gives.
    /// Losers are reported against `name`.
    fn init_of<'d>(&mut self, dir: &'d Dir, name: &str) -> Option<(&'d FileRef, Form)> {
        let mut inits: Vec<(Rank, &FileRef)> = Vec::new();
        for (file_name, file) in &dir.files {
            match FileKind::of(file_name, self.target) {
                FileKind::Source { stem: "__init__" } => inits.push((Rank::Source, file)),
                FileKind::Extension {
                    stem: "__init__",
                    rank,
                } => inits.push((rank, file)),
                _ => {}
            }
        }
        inits.sort_by_key(|(rank, _)| *rank);
        let (best_rank, best) = *inits.first()?;
        for (_, loser) in &inits[1..] {
            self.conflict(name, best, loser, ConflictReason::SameDirectory);
        }
        let form = if best_rank == Rank::Source {
            Form::Source { is_package: true }
        } else {
            Form::Extension { is_package: true }
        };
        Some((best, form))
    }

    /// Whether a namespace candidate holds anything importable.
    fn has_importable_content(&self, dir: &Dir) -> bool {
        dir.files
            .keys()
            .any(|name| match FileKind::of(name, self.target) {
                FileKind::Source { stem } | FileKind::Extension { stem, .. } => is_identifier(stem),
                _ => false,
            })
            || dir
                .dirs
                .iter()
                .any(|(name, sub)| is_identifier(name) && self.has_importable_content(sub))
    }

    /// Classify the contents of the root (`package` is `None`) or of a
    /// package's directory.
    fn package_dir(&mut self, dir: &Dir, package: Option<&str>) {
        let at_root = package.is_none();
        let full_name = |local: &str| match package {
            Some(package) => format!("{package}.{local}"),
            None => local.to_owned(),
        };

        // Every form each name takes in this directory.
        let mut forms: BTreeMap<&str, Vec<(Rank, Local<'_>)>> = BTreeMap::new();
        for (file_name, file) in &dir.files {
            match FileKind::of(file_name, self.target) {
                FileKind::Source { stem } if self.importable_stem(stem, at_root) => {
                    let form = Form::Source { is_package: false };
                    let local = Local::File { file, form };
                    forms.entry(stem).or_default().push((Rank::Source, local));
                }
                FileKind::Extension { stem, rank } if self.importable_stem(stem, at_root) => {
                    let form = Form::Extension { is_package: false };
                    let local = Local::File { file, form };
                    forms.entry(stem).or_default().push((rank, local));
                }
                _ => {}
            }
        }
        let mut claimed_dirs: Vec<&str> = Vec::new();
        for (dir_name, sub) in &dir.dirs {
            if !is_identifier(dir_name) {
                continue;
            }
            let name = full_name(dir_name);
            if let Some((init, form)) = self.init_of(sub, &name) {
                let local = Local::Package {
                    dir: sub,
                    init,
                    form,
                };
                forms
                    .entry(dir_name)
                    .or_default()
                    .push((Rank::Package, local));
            } else if self.has_importable_content(sub) {
                forms
                    .entry(dir_name)
                    .or_default()
                    .push((Rank::Namespace, Local::Namespace(sub)));
            } else {
                continue;
            }
            claimed_dirs.push(dir_name);
        }

        // The preferred form wins; a losing directory is not entered.
        for (local, mut candidates) in forms {
            candidates.sort_by_key(|(rank, _)| *rank);
            let name = full_name(local);
            let mut candidates = candidates.into_iter();
            let Some((_, winner)) = candidates.next() else {
                continue;
            };
            let winner_file = winner.file();
            for (_, loser) in candidates {
                let reason = ConflictReason::SameDirectory;
                self.conflict(&name, &winner_file, &loser.file(), reason);
            }
            let form = match winner {
                Local::File { form, .. } => form,
                Local::Package { dir, form, .. } => {
                    self.package_dir(dir, Some(&name));
                    form
                }
                Local::Namespace(dir) => {
                    self.package_dir(dir, Some(&name));
                    Form::Namespace
                }
            };
            self.layer.modules.insert(
                name,
                Candidate {
                    form,
                    file: winner_file,
                },
            );
        }

        // Files that are not modules.
        for (file_name, file) in &dir.files {
            let kind = FileKind::of(file_name, self.target);
            let is_module = match kind {
                FileKind::Source { stem } | FileKind::Extension { stem, .. } => {
                    self.importable_stem(stem, at_root) || (!at_root && stem == "__init__")
                }
                _ => false,
            };
            if is_module {
                continue;
            }
            match package {
                Some(package) => {
                    let logical = join(&dir.logical, file_name);
                    self.data_file(package, file_name, logical, file, kind);
                }
                None => self.root_file(file_name, file, kind),
            }
        }

        // Directories that are not packages.
        for (dir_name, sub) in &dir.dirs {
            if claimed_dirs.contains(&dir_name.as_str()) {
                continue;
            }
            if dir_name.ends_with(".libs") {
                self.shared_library_dir(sub);
                continue;
            }
            match package {
                Some(package) => self.data_dir(package, dir_name, sub),
                None => self.root_dir(dir_name, sub),
            }
        }
    }

    /// A non-module file directly under `package` or in one of its data
    /// directories: `relative` is its name relative to the package, `logical`
    /// relative to the input's root.
    fn data_file(
        &mut self,
        package: &str,
        relative: &str,
        logical: String,
        file: &FileRef,
        kind: FileKind<'_>,
    ) {
        match kind {
            FileKind::SharedLibrary => self.shared_library(file, logical),
            FileKind::ForeignExtension { tag } => self.skip(
                file,
                SkipReason::ForeignExtension {
                    tag: tag.to_owned(),
                },
            ),
            FileKind::Bytecode => self.skip(file, SkipReason::Bytecode),
            _ => {
                self.layer
                    .data
                    .insert((package.to_owned(), relative.to_owned()), file.clone());
            }
        }
    }

    /// A directory under a package that is not a package: its whole tree is
    /// data of `package`.
    fn data_dir(&mut self, package: &str, prefix: &str, dir: &Dir) {
        for (file_name, file) in &dir.files {
            let relative = format!("{prefix}/{file_name}");
            let kind = FileKind::of(file_name, self.target);
            let logical = join(&dir.logical, file_name);
            self.data_file(package, &relative, logical, file, kind);
        }
        for (dir_name, sub) in &dir.dirs {
            if dir_name.ends_with(".libs") {
                self.shared_library_dir(sub);
            } else {
                self.data_dir(package, &format!("{prefix}/{dir_name}"), sub);
            }
        }
    }

    fn root_file(&mut self, file_name: &str, file: &FileRef, kind: FileKind<'_>) {
        let reason = match kind {
            FileKind::SharedLibrary => {
                self.shared_library(file, file_name.to_owned());
                return;
            }
            FileKind::Other if file_name.ends_with(".egg-info") => {
                let files = BTreeMap::from([("PKG-INFO".to_owned(), file.clone())]);
                self.layer.distributions.insert(
                    file_name.to_owned(),
                    Distribution {
                        dir: file.clone(),
                        files,
                    },
                );
                return;
            }
            FileKind::Source { stem: "__init__" }
            | FileKind::Extension {
                stem: "__init__", ..
            } => SkipReason::InitAtRoot,
            FileKind::Source { .. } | FileKind::Extension { .. } => SkipReason::InvalidModuleName,
            FileKind::ForeignExtension { tag } => SkipReason::ForeignExtension {
                tag: tag.to_owned(),
            },
            FileKind::Bytecode => SkipReason::Bytecode,
            FileKind::PathConfiguration => SkipReason::PathConfiguration,
            FileKind::Other => SkipReason::NotInPackage,
        };
        self.skip(file, reason);
    }

    fn root_dir(&mut self, dir_name: &str, dir: &Dir) {
        if dir_name.ends_with(".dist-info") || dir_name.ends_with(".egg-info") {
            let mut files = BTreeMap::new();
            collect_files(dir, "", &mut files);
            self.layer.distributions.insert(
                dir_name.to_owned(),
                Distribution {
                    dir: dir.place(),
                    files,
                },
            );
        } else if !is_identifier(dir_name) {
            self.skip(&dir.place(), SkipReason::InvalidDirectoryName);
        } else if !self.has_importable_content(dir) {
            self.skip(&dir.place(), SkipReason::NoImportableContent);
        }
        // Otherwise the directory lost to a module of the same name, which
        // is already reported as a conflict.
    }

    /// Every file under a `*.libs` directory is a shared library.
    fn shared_library_dir(&mut self, dir: &Dir) {
        let mut files = BTreeMap::new();
        collect_files(dir, &dir.logical, &mut files);
        for (path, file) in files {
            self.shared_library(&file, path);
        }
    }

    fn shared_library(&mut self, file: &FileRef, path: String) {
        self.layer.shared_libraries.insert(path, file.clone());
    }

    fn skip(&mut self, file: &FileRef, reason: SkipReason) {
        self.layer.skipped.push(Skipped {
            file: file.clone(),
            reason,
        });
    }

    fn conflict(&mut self, name: &str, kept: &FileRef, shadowed: &FileRef, reason: ConflictReason) {
        self.layer.conflicts.push(Conflict {
            claim: Claim::Module(name.to_owned()),
            kept: kept.clone(),
            shadowed: shadowed.clone(),
            reason,
        });
    }
}

/// All files under `dir`, keyed by `prefix/relative/path`.
fn collect_files(dir: &Dir, prefix: &str, out: &mut BTreeMap<String, FileRef>) {
    for (name, file) in &dir.files {
        out.insert(join(prefix, name), file.clone());
    }
    for (name, sub) in &dir.dirs {
        collect_files(sub, &join(prefix, name), out);
    }
}

/// `prefix/name`, or `name` when `prefix` is empty.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}
