//! Errors of the container layer.
//!
//! Three types, one per audience:
//!
//! * [`FormatError`] is what the parsers return. It is a small `Copy` value
//!   (no allocation on the failure path, cheap to cache next to a lazily
//!   decoded tier-1 group) that names the field, where it is ([`Location`]),
//!   and what was expected versus found.
//! * [`ContainerError`] is what [`Container`](super::Container) returns: a
//!   `FormatError` or an integrity failure, with the resource being read when
//!   there is one, plus I/O failures that name the path.
//! * [`WriteError`] is what [`ContainerWriter`](super::ContainerWriter)
//!   returns.
//!
//! Integrity failures are kept apart from structural ones
//! ([`ContainerError::DigestMismatch`]): a structural error in a container
//! whose digests all match means the writer was wrong, a digest mismatch means
//! the bytes were damaged after writing.

use std::{fmt, io, path::PathBuf};

use super::{digest::Digest, header::FORMAT_VERSION, header::MAGIC};

/// The address space an offset in an error refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    /// Bytes of the container itself, counted from its first byte.
    Container,
    /// Bytes of a decompressed tier-1 group, counted from its first byte.
    Tier1Group(u32),
}

/// Where in the container a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// What `offset` counts from.
    pub space: Space,
    /// Byte offset within `space`.
    pub offset: u64,
}

impl Location {
    /// An offset counted from the start of the container.
    pub const fn container(offset: u64) -> Location {
        Location {
            space: Space::Container,
            offset,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.space {
            Space::Container => write!(f, "container offset {}", self.offset),
            Space::Tier1Group(group) => write!(
                f,
                "offset {} of decompressed tier-1 group {group}",
                self.offset
            ),
        }
    }
}

/// A span of the container covered by one stored digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The fixed header (its digest is the container's content digest).
    Header,
    /// The index that follows the header.
    Index,
    /// All of tier 0.
    Tier0,
    /// One chunk of tier 0.
    Tier0Chunk {
        /// Chunk number, from 0.
        index: u32,
        /// Container offset of the chunk's first byte.
        offset: u64,
        /// Length of the chunk in bytes.
        length: u64,
    },
    /// The zstd dictionary used by tier 1.
    Dictionary,
    /// All of tier 1 (compressed).
    Tier1,
    /// The compressed bytes of one tier-1 group.
    Tier1Group {
        /// Group number, from 0.
        group: u32,
    },
    /// One tier-1 group after decompression.
    Tier1GroupDecompressed {
        /// Group number, from 0.
        group: u32,
    },
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Region::Header => f.write_str("the container header"),
            Region::Index => f.write_str("the container index"),
            Region::Tier0 => f.write_str("tier 0"),
            Region::Tier0Chunk {
                index,
                offset,
                length,
            } => write!(
                f,
                "tier-0 chunk {index} (container bytes {offset}..{})",
                offset.saturating_add(length)
            ),
            Region::Dictionary => f.write_str("the tier-1 zstd dictionary"),
            Region::Tier1 => f.write_str("tier 1"),
            Region::Tier1Group { group } => write!(f, "compressed tier-1 group {group}"),
            Region::Tier1GroupDecompressed { group } => {
                write!(f, "decompressed tier-1 group {group}")
            }
        }
    }
}

/// A stored digest that does not match the bytes it covers.
///
/// The `Copy` form used inside the reader; callers see it as
/// [`ContainerError::DigestMismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub(crate) region: Region,
    pub(crate) expected: Digest,
    pub(crate) actual: Digest,
}

/// A structural problem found while parsing a container.
///
/// Offsets are exact: they point at the first byte of the offending field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The first eight bytes are not the container magic.
    #[error(
        "not a pyembed resources container: bytes 0..8 are {found:02x?}, expected {:02x?}",
        MAGIC
    )]
    BadMagic {
        /// The bytes found at offset 0.
        found: [u8; 8],
    },
    /// The header declares a format version this reader does not implement.
    #[error(
        "unsupported container format version {found} at container offset 8 \
         (this reader implements version {FORMAT_VERSION})"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// A field or region extends past the end of the available bytes.
    #[error("{what} (at {at}) is truncated: needs {needed} bytes, only {available} available")]
    Truncated {
        /// The field or region being read.
        what: &'static str,
        /// Where it starts.
        at: Location,
        /// Bytes it needs.
        needed: u64,
        /// Bytes there are.
        available: u64,
    },
    /// A field must hold one exact value and holds another.
    #[error("{field} at {at}: expected {expected}, found {actual}")]
    Mismatch {
        /// The field.
        field: &'static str,
        /// Where it is.
        at: Location,
        /// The value the layout requires.
        expected: u64,
        /// The value found.
        actual: u64,
    },
    /// A field holds a value outside what the format allows.
    #[error("{field} at {at} is {actual}, but {requirement}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Where it is.
        at: Location,
        /// The value found.
        actual: u64,
        /// What the format requires of it.
        requirement: &'static str,
    },
    /// A string field is not UTF-8.
    #[error("{field} at {at} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
        /// Where it starts.
        at: Location,
    },
    /// A required field is absent.
    #[error("{field} is missing from the entry at {at}")]
    MissingField {
        /// The field.
        field: &'static str,
        /// Where the entry starts.
        at: Location,
    },
    /// A field appears twice in one entry, or a map has a key twice.
    #[error("{field} at {at} appears twice (fields and map keys must be unique)")]
    Duplicate {
        /// The field or map.
        field: &'static str,
        /// Where the second occurrence starts.
        at: Location,
    },
    /// Resource names must be strictly increasing (sorted, no duplicates).
    #[error(
        "resource name at {at} does not sort after the name before it \
         (names must be sorted and unique)"
    )]
    NamesOutOfOrder {
        /// Where the offending name starts.
        at: Location,
    },
    /// A tier-1 resource name also appears in tier 0.
    #[error("tier-1 resource name at {at} also appears in tier 0")]
    DuplicateName {
        /// Where the tier-1 name starts.
        at: Location,
    },
    /// Padding between regions must be zero.
    #[error("padding byte at container offset {offset} is {value:#04x}, expected 0x00")]
    NonZeroPadding {
        /// Container offset of the byte.
        offset: u64,
        /// Its value.
        value: u8,
    },
    /// More bytes were supplied than the header declares.
    #[error(
        "{actual} bytes were supplied but the header declares a {declared}-byte container; \
         hint: pass exactly the container bytes, without a trailer"
    )]
    TrailingData {
        /// Length declared by the header.
        declared: u64,
        /// Length of the input.
        actual: u64,
    },
    /// A verified tier-1 group is not a valid zstd frame.
    #[error("tier-1 group {group} does not decompress: zstd reports \"{reason}\"")]
    Decompress {
        /// The group.
        group: u32,
        /// zstd's error name.
        reason: &'static str,
    },
}

/// An error reading a container.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// The container file could not be opened.
    #[error("cannot open packed resources file {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The container file could not be memory-mapped.
    #[error("cannot memory-map packed resources file {}", path.display())]
    Map {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The container is malformed.
    #[error("malformed packed resources{}: {problem}", for_resource(resource))]
    Format {
        /// The resource being read, if the problem was found while reading one.
        resource: Option<String>,
        /// What is wrong and where.
        problem: FormatError,
    },
    /// Bytes do not match their stored digest: they were damaged or modified
    /// after the container was written.
    #[error(
        "integrity check failed for {region}{}: expected SHA-256 {expected}, computed {actual}; \
         hint: the file was damaged or modified after it was built, rebuild it",
        for_resource(resource)
    )]
    DigestMismatch {
        /// The resource being read, if the damage was found while reading one.
        resource: Option<String>,
        /// The span the digest covers.
        region: Region,
        /// The stored digest.
        expected: Digest,
        /// The digest of the bytes present.
        actual: Digest,
    },
    /// [`Container::verified_slice`](super::Container::verified_slice) was
    /// asked for bytes outside tier 0.
    #[error("byte range {start}..{end} is not within tier 0 ({length} bytes)")]
    RangeOutOfBounds {
        /// Requested start.
        start: usize,
        /// Requested end.
        end: usize,
        /// Length of tier 0.
        length: usize,
    },
}

fn for_resource(resource: &Option<String>) -> String {
    match resource {
        Some(name) => format!(" (resource {name:?})"),
        None => String::new(),
    }
}

impl ContainerError {
    /// Whether this error reports damaged bytes (a digest mismatch).
    pub fn is_integrity_failure(&self) -> bool {
        matches!(self, ContainerError::DigestMismatch { .. })
    }

    /// The resource being read when the error occurred, if any.
    pub fn resource(&self) -> Option<&str> {
        match self {
            ContainerError::Format { resource, .. }
            | ContainerError::DigestMismatch { resource, .. } => resource.as_deref(),
            _ => None,
        }
    }

    /// Attaches the name of the resource being read.
    pub(crate) fn in_resource(self, name: &str) -> ContainerError {
        match self {
            ContainerError::Format {
                resource: None,
                problem,
            } => ContainerError::Format {
                resource: Some(name.to_owned()),
                problem,
            },
            ContainerError::DigestMismatch {
                resource: None,
                region,
                expected,
                actual,
            } => ContainerError::DigestMismatch {
                resource: Some(name.to_owned()),
                region,
                expected,
                actual,
            },
            other => other,
        }
    }
}

impl From<FormatError> for ContainerError {
    fn from(problem: FormatError) -> Self {
        ContainerError::Format {
            resource: None,
            problem,
        }
    }
}

impl From<Mismatch> for ContainerError {
    fn from(mismatch: Mismatch) -> Self {
        ContainerError::DigestMismatch {
            resource: None,
            region: mismatch.region,
            expected: mismatch.expected,
            actual: mismatch.actual,
        }
    }
}

/// Either kind of failure a lazily decoded part of the container can hit.
///
/// `Copy`, so the outcome of decoding a tier-1 group can be cached and handed
/// to every caller that asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Format(FormatError),
    Digest(Mismatch),
}

impl From<FormatError> for Fault {
    fn from(error: FormatError) -> Self {
        Fault::Format(error)
    }
}

impl From<Mismatch> for Fault {
    fn from(mismatch: Mismatch) -> Self {
        Fault::Digest(mismatch)
    }
}

impl From<Fault> for ContainerError {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::Format(error) => error.into(),
            Fault::Digest(mismatch) => mismatch.into(),
        }
    }
}

/// An error writing a container.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Two resources share a name.
    #[error("resource {name:?} was added twice; hint: merge the two resources first")]
    DuplicateResource {
        /// The name.
        name: String,
    },
    /// A resource has an empty name.
    #[error("a resource has an empty name")]
    EmptyName,
    /// A field is longer than its length field can express.
    #[error(
        "{field} of resource {resource:?} is {length} bytes or items, more than the format's maximum {max}"
    )]
    FieldTooLarge {
        /// The resource.
        resource: String,
        /// The field.
        field: &'static str,
        /// Its length.
        length: u64,
        /// The most the format can store.
        max: u64,
    },
    /// A writer option is out of range.
    #[error("write option {option} is {value}, but {requirement}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Its value.
        value: u64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// zstd failed to compress a tier-1 group.
    #[error("zstd failed to compress tier-1 group {group}")]
    Compress {
        /// The group.
        group: u32,
        /// zstd's error.
        #[source]
        source: io::Error,
    },
    /// A zstd dictionary was required but could not be trained.
    #[error(
        "cannot train a zstd dictionary on {samples} tier-1 samples; \
         hint: use DictionaryPolicy::Auto or Never for small tier-1 sets"
    )]
    DictionaryTraining {
        /// How many samples were offered.
        samples: usize,
        /// zstd's error.
        #[source]
        source: io::Error,
    },
}
