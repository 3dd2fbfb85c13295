//! What a file name means to CPython's import system.
//!
//! The path-based importer decides almost everything from names alone:
//! `foo.py` is the source of module `foo`, `foo/__init__.py` makes `foo` a
//! package, `foo.cpython-311-x86_64-linux-gnu.so` is an extension module. This
//! module holds those rules, so that [`classify`](super::classify) can speak
//! in terms of modules and packages rather than string suffixes.
//!
//! # Module names
//!
//! A name component is importable with an `import` statement only if it is an
//! identifier ([`is_identifier`], the same test as Python's
//! `str.isidentifier()`: a letter or `_` followed by letters, digits or `_`,
//! in the Unicode sense of XID_Start/XID_Continue). Keywords pass this test,
//! as they do in Python: `importlib.import_module("class")` works.
//!
//! # Kinds of files
//!
//! Each file name falls into one of these kinds, tested in this order:
//!
//! | name | kind |
//! |---|---|
//! | `*.pyc`, `*.pyo` | bytecode: never packed, sources are compiled in-process |
//! | `*.py` | Python source |
//! | `*{target suffix}` (`.cpython-311-x86_64-linux-gnu.so`) | extension module, rank 1 |
//! | `*.abi3.so` | extension module, rank 2 |
//! | `lib*.so`, `lib*.so.*` | shared library |
//! | `*.<tag>.so` with a tag naming an interpreter (`cpython-`, `cp3`, `pypy`, `graalpy`) | foreign extension module |
//! | `*.so` | extension module, rank 3 |
//! | `*.pyd` | foreign extension module (Windows) |
//! | `*.pth` | path configuration file (read by `site`) |
//! | anything else | other (package data, metadata, ...) |
//!
//! Ranks give CPython's preference when one directory holds several files
//! for the same module name: a package directory with an `__init__` first,
//! then extension modules by rank, then source, then a namespace directory.
//! A library named `lib*.so` is taken for a shared library rather than an
//! extension module `lib*`: that is what auditwheel and most build systems
//! produce, and no extension module is named like that in practice.

use super::target::Target;

/// Whether `name` is a Python identifier (`str.isidentifier()`).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first == '_' || unicode_ident::is_xid_start(first) => {
            chars.all(unicode_ident::is_xid_continue)
        }
        _ => false,
    }
}

/// Whether every `.`-separated component of `name` is an identifier.
pub fn is_module_name(name: &str) -> bool {
    name.split('.').all(is_identifier)
}

/// Preference among the forms a module can take in one directory; lower wins.
///
/// The order is CPython's `FileFinder` order: a package directory with an
/// `__init__`, then extension suffixes in `EXTENSION_SUFFIXES` order, then
/// source, then a namespace directory (a portion only counts when no module
/// of that name exists in the same directory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Rank {
    Package,
    TaggedExtension,
    StableAbiExtension,
    UntaggedExtension,
    Source,
    Namespace,
}

/// The meaning of one file name; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind<'a> {
    /// `.pyc`/`.pyo`.
    Bytecode,
    /// `stem.py`.
    Source { stem: &'a str },
    /// An extension module this interpreter can load.
    Extension { stem: &'a str, rank: Rank },
    /// An extension module for another interpreter or platform.
    ForeignExtension { tag: &'a str },
    /// A shared library (`lib*.so*`).
    SharedLibrary,
    /// A `.pth` file.
    PathConfiguration,
    /// Anything else.
    Other,
}

impl<'a> FileKind<'a> {
    /// Classify `name` (a file name, no directory) for `target`.
    pub(crate) fn of(name: &'a str, target: &Target) -> FileKind<'a> {
        if name.ends_with(".pyc") || name.ends_with(".pyo") {
            return FileKind::Bytecode;
        }
        if let Some(stem) = name.strip_suffix(".py") {
            return FileKind::Source { stem };
        }
        if let Some(stem) = name.strip_suffix(target.extension_suffix().as_str()) {
            return FileKind::Extension {
                stem,
                rank: Rank::TaggedExtension,
            };
        }
        if let Some(stem) = name.strip_suffix(".abi3.so") {
            return FileKind::Extension {
                stem,
                rank: Rank::StableAbiExtension,
            };
        }
        if is_shared_library(name) {
            return FileKind::SharedLibrary;
        }
        if let Some(stem) = name.strip_suffix(".so") {
            return match stem.rsplit_once('.') {
                Some((_, tag)) if names_an_interpreter(tag) => FileKind::ForeignExtension { tag },
                Some(_) => FileKind::Other,
                None => FileKind::Extension {
                    stem,
                    rank: Rank::UntaggedExtension,
                },
            };
        }
        if let Some(stem) = name.strip_suffix(".pyd") {
            let tag = stem.rsplit_once('.').map_or("pyd", |(_, tag)| tag);
            return FileKind::ForeignExtension { tag };
        }
        if name.ends_with(".pth") {
            return FileKind::PathConfiguration;
        }
        FileKind::Other
    }
}

/// `lib*.so` or `lib*.so.<version>`.
fn is_shared_library(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("lib") else {
        return false;
    };
    rest.len() > ".so".len() && (rest.ends_with(".so") || rest.contains(".so."))
}

/// Whether a `.so` name tag (`cpython-312-x86_64-linux-gnu`) names an
/// interpreter, as opposed to a dotted library name (`foo.bar.so`).
fn names_an_interpreter(tag: &str) -> bool {
    ["cpython-", "cp3", "pypy", "graalpy"]
        .iter()
        .any(|prefix| tag.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> FileKind<'_> {
        FileKind::of(name, &Target::CPYTHON_311_X86_64_LINUX_GNU)
    }

    #[test]
    fn identifiers_follow_python() {
        for good in ["a", "_", "_ctypes", "utf_8", "class", "été", "x1"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in [
            "",
            "1x",
            "a-b",
            "a.b",
            "a b",
            "lib-dynload",
            "__pycache__x-",
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
        assert!(is_module_name("encodings.utf_8"));
        assert!(!is_module_name("encodings..utf_8"));
    }

    #[test]
    fn file_kinds() {
        use FileKind::*;
        assert_eq!(kind("m.py"), Source { stem: "m" });
        assert_eq!(kind("m.pyc"), Bytecode);
        assert_eq!(
            kind("_ctypes.cpython-311-x86_64-linux-gnu.so"),
            Extension {
                stem: "_ctypes",
                rank: Rank::TaggedExtension
            }
        );
        assert_eq!(
            kind("m.abi3.so"),
            Extension {
                stem: "m",
                rank: Rank::StableAbiExtension
            }
        );
        assert_eq!(
            kind("m.so"),
            Extension {
                stem: "m",
                rank: Rank::UntaggedExtension
            }
        );
        assert_eq!(
            kind("m.cpython-312-x86_64-linux-gnu.so"),
            ForeignExtension {
                tag: "cpython-312-x86_64-linux-gnu"
            }
        );
        assert_eq!(
            kind("m.cp311-win_amd64.pyd"),
            ForeignExtension {
                tag: "cp311-win_amd64"
            }
        );
        assert_eq!(kind("libz.so"), SharedLibrary);
        assert_eq!(kind("libgfortran-040039e1.so.5.0.0"), SharedLibrary);
        assert_eq!(
            kind("lib.so"),
            Extension {
                stem: "lib",
                rank: Rank::UntaggedExtension
            }
        );
        assert_eq!(kind("foo.bar.so"), Other);
        assert_eq!(kind("site.pth"), PathConfiguration);
        assert_eq!(kind("data.json"), Other);
    }
}
