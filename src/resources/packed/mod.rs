//! The inner data format: python-packed-resources version 3.
//!
//! Each tier of a container holds resources in the format defined by the
//! [`python_packed_resources`] crate, so a verified tier can be handed to any
//! other reader of that format unchanged. This module reads and writes that
//! format itself instead of calling the crate's `load_resources` and
//! `write_packed_resources_v3`, for two reasons found by reading the crate:
//!
//! * its parser trusts its input: names are converted with
//!   `from_utf8_unchecked` (undefined behaviour on bad bytes), slices are
//!   indexed without bounds checks and a missing blob section hits an
//!   `expect`, so damaged input can panic or worse;
//! * its writer iterates the `HashMap`s holding package and distribution
//!   resources, so the bytes it writes depend on the process's random hash
//!   seed and two identical builds differ.
//!
//! The bytes written here are the crate's bytes exactly, except that map
//! entries are sorted by key (the tests check both: byte equality with the
//! crate's writer when no map has two entries, and that the crate's parser
//! reads everything written here). Values are returned as the crate's
//! [`Resource`](python_packed_resources::Resource) type.
//!
//! # Layout (facts of the v3 format)
//!
//! ```text
//! "pyembed\x03"                      8 bytes
//! blob section count                 u8
//! blob index length                  u32 LE
//! resource count                     u32 LE
//! resource index length              u32 LE
//! blob index                         entries: 0x01, (0x02 field u8 | 0x03 length u64
//!                                    | 0x04 padding u8)*, 0xff; then 0x00
//! resource index                     entries: 0x01, (field code, lengths...)*, 0xff;
//!                                    then 0x00
//! blob sections                      one per field, in blob-index order; each holds
//!                                    that field's bytes for every resource, in
//!                                    resource-index order
//! ```
//!
//! The parser here splits into steps — [`Preamble::parse`], [`parse_indices`],
//! [`PackedIndex::check_names`] — so the container reader can verify exactly
//! the bytes each step is about to read, and no more.

mod parse;
mod write;

pub(crate) use parse::{PREAMBLE_LEN, Preamble, parse_blob, parse_indices};
pub(crate) use write::{data_len, payloads_of, write_blob};

use python_packed_resources::Resource;

/// Bytes a v3 blob starts with.
pub(crate) const HEADER_V3: &[u8; 8] = b"pyembed\x03";

/// Field codes of the v3 resource index (values fixed by the format).
pub(crate) mod code {
    pub(crate) const END_OF_INDEX: u8 = 0x00;
    pub(crate) const START_OF_ENTRY: u8 = 0x01;
    pub(crate) const END_OF_ENTRY: u8 = 0xff;
    pub(crate) const NAME: u8 = 0x03;
    pub(crate) const IS_PACKAGE: u8 = 0x04;
    pub(crate) const IS_NAMESPACE_PACKAGE: u8 = 0x05;
    pub(crate) const SOURCE: u8 = 0x06;
    pub(crate) const BYTECODE: u8 = 0x07;
    pub(crate) const BYTECODE_OPT1: u8 = 0x08;
    pub(crate) const BYTECODE_OPT2: u8 = 0x09;
    pub(crate) const EXTENSION_MODULE: u8 = 0x0a;
    pub(crate) const PACKAGE_RESOURCES: u8 = 0x0b;
    pub(crate) const DISTRIBUTION_RESOURCES: u8 = 0x0c;
    pub(crate) const SHARED_LIBRARY: u8 = 0x0d;
    pub(crate) const SHARED_LIBRARY_DEPENDENCIES: u8 = 0x0e;
    pub(crate) const PATH_SOURCE: u8 = 0x0f;
    pub(crate) const PATH_BYTECODE: u8 = 0x10;
    pub(crate) const PATH_BYTECODE_OPT1: u8 = 0x11;
    pub(crate) const PATH_BYTECODE_OPT2: u8 = 0x12;
    pub(crate) const PATH_EXTENSION_MODULE: u8 = 0x13;
    pub(crate) const PATH_PACKAGE_RESOURCES: u8 = 0x14;
    pub(crate) const PATH_DISTRIBUTION_RESOURCES: u8 = 0x15;
    pub(crate) const IS_MODULE: u8 = 0x16;
    pub(crate) const IS_BUILTIN_EXTENSION_MODULE: u8 = 0x17;
    pub(crate) const IS_FROZEN_MODULE: u8 = 0x18;
    pub(crate) const IS_EXTENSION_MODULE: u8 = 0x19;
    pub(crate) const IS_SHARED_LIBRARY: u8 = 0x1a;
    pub(crate) const IS_UTF8_FILENAME_DATA: u8 = 0x1b;
    pub(crate) const FILE_EXECUTABLE: u8 = 0x1c;
    pub(crate) const FILE_DATA: u8 = 0x1d;
    pub(crate) const FILE_DATA_PATH: u8 = 0x1e;

    /// Blob index field codes.
    pub(crate) const BLOB_FIELD: u8 = 0x02;
    pub(crate) const BLOB_LENGTH: u8 = 0x03;
    pub(crate) const BLOB_PADDING: u8 = 0x04;
    pub(crate) const PADDING_NONE: u8 = 0x01;
    pub(crate) const PADDING_NULL: u8 = 0x02;

    /// Codes that carry bytes in a blob section, in section order.
    pub(crate) const DATA_FIELDS: [u8; 19] = [
        NAME,
        SOURCE,
        BYTECODE,
        BYTECODE_OPT1,
        BYTECODE_OPT2,
        EXTENSION_MODULE,
        PACKAGE_RESOURCES,
        DISTRIBUTION_RESOURCES,
        SHARED_LIBRARY,
        SHARED_LIBRARY_DEPENDENCIES,
        PATH_SOURCE,
        PATH_BYTECODE,
        PATH_BYTECODE_OPT1,
        PATH_BYTECODE_OPT2,
        PATH_EXTENSION_MODULE,
        PATH_PACKAGE_RESOURCES,
        PATH_DISTRIBUTION_RESOURCES,
        FILE_DATA,
        FILE_DATA_PATH,
    ];

    /// Human-readable name of a field, for error messages.
    pub(crate) fn name(code: u8) -> &'static str {
        match code {
            NAME => "resource name",
            SOURCE => "in-memory source",
            BYTECODE => "in-memory bytecode",
            BYTECODE_OPT1 => "in-memory bytecode (opt 1)",
            BYTECODE_OPT2 => "in-memory bytecode (opt 2)",
            EXTENSION_MODULE => "in-memory extension module",
            PACKAGE_RESOURCES => "in-memory package resources",
            DISTRIBUTION_RESOURCES => "in-memory distribution resources",
            SHARED_LIBRARY => "in-memory shared library",
            SHARED_LIBRARY_DEPENDENCIES => "shared library dependency names",
            PATH_SOURCE => "relative path of source",
            PATH_BYTECODE => "relative path of bytecode",
            PATH_BYTECODE_OPT1 => "relative path of bytecode (opt 1)",
            PATH_BYTECODE_OPT2 => "relative path of bytecode (opt 2)",
            PATH_EXTENSION_MODULE => "relative path of extension module",
            PATH_PACKAGE_RESOURCES => "relative paths of package resources",
            PATH_DISTRIBUTION_RESOURCES => "relative paths of distribution resources",
            FILE_DATA => "embedded file data",
            FILE_DATA_PATH => "relative path of file data",
            _ => "resource field",
        }
    }
}

/// The boolean properties of a resource, as a bit set.
///
/// Mirrors the `is_*` and `file_executable` fields of
/// [`Resource`](python_packed_resources::Resource). Tier-0 flags come from the
/// tier's own resource index; tier-1 flags are also stored in the container
/// index, so the kind of every resource can be listed (for example by
/// `pkgutil.iter_modules`) without decompressing anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceFlags(u16);

impl ResourceFlags {
    /// `is_python_module`.
    pub const PYTHON_MODULE: ResourceFlags = ResourceFlags(1 << 0);
    /// `is_python_builtin_extension_module`.
    pub const BUILTIN_EXTENSION_MODULE: ResourceFlags = ResourceFlags(1 << 1);
    /// `is_python_frozen_module`.
    pub const FROZEN_MODULE: ResourceFlags = ResourceFlags(1 << 2);
    /// `is_python_extension_module`.
    pub const EXTENSION_MODULE: ResourceFlags = ResourceFlags(1 << 3);
    /// `is_shared_library`.
    pub const SHARED_LIBRARY: ResourceFlags = ResourceFlags(1 << 4);
    /// `is_utf8_filename_data`.
    pub const UTF8_FILENAME_DATA: ResourceFlags = ResourceFlags(1 << 5);
    /// `is_python_package`.
    pub const PYTHON_PACKAGE: ResourceFlags = ResourceFlags(1 << 6);
    /// `is_python_namespace_package`.
    pub const NAMESPACE_PACKAGE: ResourceFlags = ResourceFlags(1 << 7);
    /// `file_executable`.
    pub const FILE_EXECUTABLE: ResourceFlags = ResourceFlags(1 << 8);
    const KNOWN: u16 = (1 << 9) - 1;

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Flags from raw bits, or `None` if an unknown bit is set.
    pub const fn from_bits(bits: u16) -> Option<ResourceFlags> {
        if bits & !Self::KNOWN == 0 {
            Some(ResourceFlags(bits))
        } else {
            None
        }
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: ResourceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags of `resource`.
    pub fn of<X>(resource: &Resource<'_, X>) -> ResourceFlags
    where
        [X]: ToOwned<Owned = Vec<X>>,
    {
        let pairs = [
            (resource.is_python_module, Self::PYTHON_MODULE),
            (
                resource.is_python_builtin_extension_module,
                Self::BUILTIN_EXTENSION_MODULE,
            ),
            (resource.is_python_frozen_module, Self::FROZEN_MODULE),
            (resource.is_python_extension_module, Self::EXTENSION_MODULE),
            (resource.is_shared_library, Self::SHARED_LIBRARY),
            (resource.is_utf8_filename_data, Self::UTF8_FILENAME_DATA),
            (resource.is_python_package, Self::PYTHON_PACKAGE),
            (
                resource.is_python_namespace_package,
                Self::NAMESPACE_PACKAGE,
            ),
            (resource.file_executable, Self::FILE_EXECUTABLE),
        ];
        ResourceFlags(
            pairs
                .iter()
                .filter(|(set, _)| *set)
                .fold(0, |bits, (_, flag)| bits | flag.0),
        )
    }

    /// The flag set by a v3 boolean field code, if `code` is one.
    pub(crate) fn from_code(code: u8) -> Option<ResourceFlags> {
        Some(match code {
            code::IS_PACKAGE => Self::PYTHON_PACKAGE,
            code::IS_NAMESPACE_PACKAGE => Self::NAMESPACE_PACKAGE,
            code::IS_MODULE => Self::PYTHON_MODULE,
            code::IS_BUILTIN_EXTENSION_MODULE => Self::BUILTIN_EXTENSION_MODULE,
            code::IS_FROZEN_MODULE => Self::FROZEN_MODULE,
            code::IS_EXTENSION_MODULE => Self::EXTENSION_MODULE,
            code::IS_SHARED_LIBRARY => Self::SHARED_LIBRARY,
            code::IS_UTF8_FILENAME_DATA => Self::UTF8_FILENAME_DATA,
            code::FILE_EXECUTABLE => Self::FILE_EXECUTABLE,
            _ => return None,
        })
    }

    /// The names of the set flags, as the `Resource` fields they mirror
    /// (`is_python_module`, …, `file_executable`), in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMES: [&str; 9] = [
            "is_python_module",
            "is_python_builtin_extension_module",
            "is_python_frozen_module",
            "is_python_extension_module",
            "is_shared_library",
            "is_utf8_filename_data",
            "is_python_package",
            "is_python_namespace_package",
            "file_executable",
        ];
        NAMES
            .into_iter()
            .enumerate()
            .filter(move |(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| name)
    }

    /// The flags set in `self` but not in `other`.
    pub const fn difference(self, other: ResourceFlags) -> ResourceFlags {
        ResourceFlags(self.0 & !other.0)
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn insert(&mut self, other: ResourceFlags) {
        self.0 |= other.0;
    }

    /// Sets the matching booleans of `resource`.
    pub(crate) fn apply<X>(self, resource: &mut Resource<'_, X>)
    where
        [X]: ToOwned<Owned = Vec<X>>,
    {
        resource.is_python_module = self.contains(Self::PYTHON_MODULE);
        resource.is_python_builtin_extension_module = self.contains(Self::BUILTIN_EXTENSION_MODULE);
        resource.is_python_frozen_module = self.contains(Self::FROZEN_MODULE);
        resource.is_python_extension_module = self.contains(Self::EXTENSION_MODULE);
        resource.is_shared_library = self.contains(Self::SHARED_LIBRARY);
        resource.is_utf8_filename_data = self.contains(Self::UTF8_FILENAME_DATA);
        resource.is_python_package = self.contains(Self::PYTHON_PACKAGE);
        resource.is_python_namespace_package = self.contains(Self::NAMESPACE_PACKAGE);
        resource.file_executable = self.contains(Self::FILE_EXECUTABLE);
    }
}

/// A single-valued byte field of a resource, for reading one field without
/// verifying (or decompressing) the rest of the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataField {
    /// `in_memory_source`.
    Source,
    /// `in_memory_bytecode`.
    Bytecode,
    /// `in_memory_bytecode_opt1`.
    BytecodeOpt1,
    /// `in_memory_bytecode_opt2`.
    BytecodeOpt2,
    /// `in_memory_extension_module_shared_library`.
    ExtensionModule,
    /// `in_memory_shared_library`.
    SharedLibrary,
    /// `file_data_embedded`.
    FileData,
}

impl DataField {
    /// Every field, in the order tools list them.
    pub const ALL: [DataField; 7] = [
        DataField::Source,
        DataField::Bytecode,
        DataField::BytecodeOpt1,
        DataField::BytecodeOpt2,
        DataField::ExtensionModule,
        DataField::SharedLibrary,
        DataField::FileData,
    ];

    /// A short, stable name for output: `source`, `bytecode`,
    /// `bytecode_opt1`, `bytecode_opt2`, `extension_module`,
    /// `shared_library`, `file_data`.
    pub const fn name(self) -> &'static str {
        match self {
            DataField::Source => "source",
            DataField::Bytecode => "bytecode",
            DataField::BytecodeOpt1 => "bytecode_opt1",
            DataField::BytecodeOpt2 => "bytecode_opt2",
            DataField::ExtensionModule => "extension_module",
            DataField::SharedLibrary => "shared_library",
            DataField::FileData => "file_data",
        }
    }

    /// The bytes of this field in `resource`, if it has them.
    pub fn of<'r, X>(self, resource: &'r Resource<'_, X>) -> Option<&'r [X]>
    where
        [X]: ToOwned<Owned = Vec<X>>,
    {
        let field = match self {
            DataField::Source => &resource.in_memory_source,
            DataField::Bytecode => &resource.in_memory_bytecode,
            DataField::BytecodeOpt1 => &resource.in_memory_bytecode_opt1,
            DataField::BytecodeOpt2 => &resource.in_memory_bytecode_opt2,
            DataField::ExtensionModule => &resource.in_memory_extension_module_shared_library,
            DataField::SharedLibrary => &resource.in_memory_shared_library,
            DataField::FileData => &resource.file_data_embedded,
        };
        field.as_deref()
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            DataField::Source => code::SOURCE,
            DataField::Bytecode => code::BYTECODE,
            DataField::BytecodeOpt1 => code::BYTECODE_OPT1,
            DataField::BytecodeOpt2 => code::BYTECODE_OPT2,
            DataField::ExtensionModule => code::EXTENSION_MODULE,
            DataField::SharedLibrary => code::SHARED_LIBRARY,
            DataField::FileData => code::FILE_DATA,
        }
    }
}

/// A byte range within a blob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl Span {
    pub(crate) fn end(self) -> usize {
        // Cannot overflow: spans are only built after checking the end is
        // within the blob.
        self.start.saturating_add(self.len)
    }

    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start..self.end()
    }
}

/// One piece of a resource's data, in resource-index order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// A single-valued field (bytes, a path or a string).
    Value { field: u8, span: Span },
    /// Start of a map or list field; its `count` items follow.
    Collection { field: u8, count: u32 },
    /// A map entry.
    Pair { key: Span, value: Span },
    /// A list item.
    Item { span: Span },
}

/// A parsed resource-index entry: where its data is, not the data itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackedEntry {
    pub(crate) name: Span,
    pub(crate) flags: ResourceFlags,
    /// Range of this entry's records in [`PackedIndex::records`].
    pub(crate) records: std::ops::Range<usize>,
    /// Offset of the entry in the blob, for error messages.
    pub(crate) at: usize,
}

/// The parsed indices of one v3 blob.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PackedIndex {
    pub(crate) entries: Vec<PackedEntry>,
    pub(crate) records: Vec<Record>,
    /// Span of the blob section holding resource names.
    pub(crate) names: Span,
}

impl PackedIndex {
    /// The records of `entry`.
    pub(crate) fn records_of(&self, entry: &PackedEntry) -> &[Record] {
        self.records.get(entry.records.clone()).unwrap_or_default()
    }

    /// Spans of every byte an entry refers to, for verification.
    pub(crate) fn spans_of<'s>(
        &'s self,
        entry: &'s PackedEntry,
    ) -> impl Iterator<Item = Span> + 's {
        std::iter::once(entry.name).chain(self.records_of(entry).iter().flat_map(|record| {
            let (first, second) = match *record {
                Record::Value { span, .. } | Record::Item { span } => (Some(span), None),
                Record::Pair { key, value } => (Some(key), Some(value)),
                Record::Collection { .. } => (None, None),
            };
            first.into_iter().chain(second)
        }))
    }

    /// The span of a single-valued field of `entry`, if present.
    pub(crate) fn field_of(&self, entry: &PackedEntry, field: u8) -> Option<Span> {
        self.records_of(entry)
            .iter()
            .find_map(|record| match *record {
                Record::Value { field: f, span } if f == field => Some(span),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests;
