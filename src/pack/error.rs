//! Errors of the input side of the packer.
//!
//! [`ScanError`] is what [`scan`](super::scan::scan) and reading a
//! [`FileRef`](super::scan::FileRef) return; [`PolicyError`] is what loading a
//! stdlib policy returns. Every variant names the file at fault (a path, or a
//! wheel and a member in it) and says what to do about it after `hint:`.
//!
//! What the packer can go on without is not an error: unimportable files,
//! broken symlinks or name clashes between inputs end up in the inventory's
//! `skipped` and `conflicts` lists, for the CLI to report.

use std::{io, path::PathBuf};

/// Scanning an input, or reading a file found by a scan, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// An input named on the command line does not exist.
    #[error(
        "{what} {path} does not exist; \
         hint: check the path, relative paths are resolved from the current directory"
    )]
    MissingInput {
        /// What the input was given as (`stdlib directory`, `wheel`, ...).
        what: &'static str,
        /// The path as given.
        path: PathBuf,
    },

    /// A directory input is a file, or a wheel input is a directory.
    #[error("{what} {path} is not a {expected}; hint: {hint}")]
    WrongInputType {
        /// What the input was given as.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// `directory` or `file`.
        expected: &'static str,
        /// What to do instead.
        hint: &'static str,
    },

    /// A file or directory name is not UTF-8. Module and resource names in
    /// packed resources are UTF-8 strings, so such a file cannot be packed
    /// under its own name.
    #[error(
        "file name is not valid UTF-8: {} (shown with replacement characters); \
         hint: rename it, or move it out of the input",
        .path.display()
    )]
    NonUtf8Name {
        /// The path, as given by the operating system.
        path: PathBuf,
    },

    /// Reading the file system failed.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file or directory being read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A wheel's file name does not have the `name-version[-build]-python-abi-platform.whl`
    /// shape of PEP 427.
    #[error(
        "{} is not a wheel file name ({reason}); \
         hint: wheels are named `{{name}}-{{version}}-{{python}}-{{abi}}-{{platform}}.whl`, \
         keep the name pip or `python -m build` gave it",
        .path.display()
    )]
    WheelFileName {
        /// The wheel.
        path: PathBuf,
        /// What is wrong with the name.
        reason: &'static str,
    },

    /// A wheel is built for another Python version or platform.
    #[error(
        "wheel {} is tagged `{tag}`, which CPython 3.{python_minor} on {arch} Linux \
         cannot use: {reason}; hint: download the wheel for this interpreter, e.g. \
         `pip download --only-binary=:all: --python-version 3.{python_minor} \
         --platform manylinux2014_{arch} <package>`",
        .path.display()
    )]
    IncompatibleWheel {
        /// The wheel.
        path: PathBuf,
        /// Its `python-abi-platform` tag triple.
        tag: String,
        /// Which part does not fit, and why.
        reason: String,
        /// The minor version of the target CPython 3.
        python_minor: u8,
        /// The target architecture.
        arch: &'static str,
    },

    /// A wheel is not a readable zip archive.
    #[error("cannot read wheel {}: {source}; hint: is the download complete?", .path.display())]
    Wheel {
        /// The wheel.
        path: PathBuf,
        /// What the zip reader reported.
        #[source]
        source: zip::result::ZipError,
    },

    /// A wheel member's name could escape the wheel's root (absolute, `..`,
    /// `\`, empty components) or is not UTF-8.
    #[error(
        "wheel {} has a member with an unsafe or non-UTF-8 name {member:?}; \
         hint: the wheel is damaged or malicious, rebuild it",
        .path.display()
    )]
    UnsafeWheelMember {
        /// The wheel.
        path: PathBuf,
        /// The member's name, lossily decoded.
        member: String,
    },

    /// Reading one member of a wheel failed (damaged data, bad checksum).
    #[error("cannot read {member} from wheel {}: {source}", .path.display())]
    WheelMember {
        /// The wheel.
        path: PathBuf,
        /// The member.
        member: String,
        /// What the zip reader reported.
        #[source]
        source: zip::result::ZipError,
    },

    /// A [`FileRef`](super::scan::FileRef) names an input the inventory
    /// does not have.
    #[error("file reference {path:?} names input #{input}, but there are only {count} inputs")]
    UnknownInput {
        /// The referenced input number.
        input: usize,
        /// The path inside it.
        path: String,
        /// How many inputs there are.
        count: usize,
    },
}

/// A stdlib policy file is malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {}: {source}", .path.display())]
    Io {
        /// The policy file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The file is not TOML.
    #[error("policy file {} is not valid TOML: {source}", .path.display())]
    Toml {
        /// The policy file.
        path: PathBuf,
        /// The parser's report, with line and column.
        #[source]
        source: toml::de::Error,
    },

    /// The TOML does not follow the policy schema.
    #[error(
        "policy file {}: `{key}` {problem}; \
         hint: python-stdlib/README.md describes every key",
        .path.display()
    )]
    Schema {
        /// The policy file.
        path: PathBuf,
        /// Where in the document (`exclude[2].modules[0]`).
        key: String,
        /// What is wrong there.
        problem: String,
    },
}
