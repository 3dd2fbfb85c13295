//! Reading v3 blobs: preamble, indices, names, and resources on demand.
//!
//! Parsing records *where* each resource's bytes are ([`Span`]s) and reads
//! only the two indices and the names section. The data itself is looked at
//! by [`PackedIndex::decode`], which the container calls after verifying the
//! spans it is about to read. Every length is checked against the bytes that
//! hold it before it is used, and collections grow only as their items are
//! read from the index, so no count from the input decides an allocation.

use std::{borrow::Cow, collections::HashMap, path::Path};

use python_packed_resources::Resource;

use super::{HEADER_V3, PackedEntry, PackedIndex, Record, ResourceFlags, Span, code};
use crate::resources::{
    cursor::Cursor,
    error::{FormatError, Location, Space},
};

/// Length of the fixed part at the start of a v3 blob.
pub(crate) const PREAMBLE_LEN: usize = 8 + 1 + 4 + 4 + 4;

const SECTION_COUNT_AT: usize = 8;
const BLOB_INDEX_LENGTH_AT: usize = 9;
const RESOURCE_COUNT_AT: usize = 13;
const RESOURCE_INDEX_LENGTH_AT: usize = 17;

/// The fixed fields at the start of a v3 blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Preamble {
    section_count: u8,
    blob_index_length: u32,
    resource_count: u32,
    resource_index_length: u32,
}

impl Preamble {
    /// Parses the first [`PREAMBLE_LEN`] bytes of `blob`, whose first byte is
    /// at `base` in `space`.
    pub(crate) fn parse(blob: &[u8], space: Space, base: u64) -> Result<Preamble, FormatError> {
        let mut cursor = Cursor::new(blob, space, base);
        let magic = cursor.array::<8>("packed resources magic")?;
        if &magic != HEADER_V3 {
            return Err(FormatError::Invalid {
                field: "packed resources magic",
                at: cursor.location_of(0),
                actual: u64::from_be_bytes(magic),
                requirement: "a python-packed-resources v3 blob starts with \"pyembed\\x03\"",
            });
        }
        Ok(Preamble {
            section_count: cursor.u8("blob section count")?,
            blob_index_length: cursor.u32("blob index length")?,
            resource_count: cursor.u32("resource count")?,
            resource_index_length: cursor.u32("resource index length")?,
        })
    }

    /// Offset just past both indices, where the blob sections start.
    pub(crate) fn indices_end(&self) -> usize {
        let end = PREAMBLE_LEN as u64
            + u64::from(self.blob_index_length)
            + u64::from(self.resource_index_length);
        // On 32-bit targets an absurd length saturates and then fails the
        // bounds check in `parse_indices`.
        usize::try_from(end).unwrap_or(usize::MAX)
    }
}

/// Parses a fully verified blob: preamble, indices and names.
pub(crate) fn parse_blob(blob: &[u8], space: Space, base: u64) -> Result<PackedIndex, FormatError> {
    let preamble = Preamble::parse(blob, space, base)?;
    let index = parse_indices(blob, &preamble, space, base)?;
    index.check_names(blob, space, base)?;
    Ok(index)
}

/// A blob section being consumed by the resource index.
#[derive(Clone, Copy, Debug)]
struct Section {
    cursor: usize,
    end: usize,
    /// 1 if every element is followed by a NUL byte, else 0.
    padding: usize,
    /// Where the section's blob-index entry is, for error messages.
    declared_at: Location,
}

/// Parses the blob index and resource index of `blob`.
///
/// Reads bytes `0..preamble.indices_end()` only.
pub(crate) fn parse_indices(
    blob: &[u8],
    preamble: &Preamble,
    space: Space,
    base: u64,
) -> Result<PackedIndex, FormatError> {
    let at = |offset: usize| Location {
        space,
        offset: base.saturating_add(offset as u64),
    };
    let indices_end = preamble.indices_end();
    if indices_end > blob.len() {
        return Err(FormatError::Truncated {
            what: "packed resources indices",
            at: at(0),
            needed: indices_end as u64,
            available: blob.len() as u64,
        });
    }
    let blob_index_end = PREAMBLE_LEN + preamble.blob_index_length as usize;
    let mut sections =
        parse_blob_index(&blob[PREAMBLE_LEN..blob_index_end], preamble, space, base)?;
    // Lay the sections out one after another from the end of the indices.
    let mut next = indices_end;
    let mut names = Span::default();
    for &(field, length) in &sections.order {
        let Some(state) = &mut sections.by_field[usize::from(field)] else {
            continue;
        };
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| next.checked_add(length))
            .filter(|&end| end <= blob.len())
            .ok_or(FormatError::Invalid {
                field: "blob section length",
                at: state.declared_at,
                actual: length,
                requirement: "the section must end within the blob",
            })?;
        if field == code::NAME {
            names = Span {
                start: next,
                len: end - next,
            };
        }
        state.cursor = next;
        state.end = end;
        next = end;
    }
    if next != blob.len() {
        return Err(FormatError::Mismatch {
            field: "total blob section length",
            at: at(indices_end),
            expected: (blob.len() - indices_end) as u64,
            actual: (next - indices_end) as u64,
        });
    }

    let mut index = parse_resource_index(
        &blob[blob_index_end..indices_end],
        &mut sections.by_field,
        space,
        base,
        blob_index_end,
    )?;
    index.names = names;
    if index.entries.len() as u64 != u64::from(preamble.resource_count) {
        return Err(FormatError::Mismatch {
            field: "resource count",
            at: at(RESOURCE_COUNT_AT),
            expected: index.entries.len() as u64,
            actual: preamble.resource_count.into(),
        });
    }
    for section in sections.by_field.iter().flatten() {
        if section.cursor != section.end {
            return Err(FormatError::Invalid {
                field: "blob section length",
                at: section.declared_at,
                actual: (section.end - section.cursor) as u64,
                requirement: "every byte of a section must belong to a resource \
                              (this many bytes are left over)",
            });
        }
    }
    Ok(index)
}

struct Sections {
    by_field: [Option<Section>; 256],
    /// (field, declared length) in blob-index order.
    order: Vec<(u8, u64)>,
}

fn parse_blob_index(
    bytes: &[u8],
    preamble: &Preamble,
    space: Space,
    base: u64,
) -> Result<Sections, FormatError> {
    let mut sections = Sections {
        by_field: [None; 256],
        order: Vec::new(),
    };
    let mut cursor = Cursor::new(bytes, space, base.saturating_add(PREAMBLE_LEN as u64));
    if !bytes.is_empty() {
        loop {
            let entry_at = cursor.location();
            match cursor.u8("blob index marker")? {
                code::END_OF_INDEX => break,
                code::START_OF_ENTRY => {}
                other => {
                    return Err(FormatError::Invalid {
                        field: "blob index marker",
                        at: entry_at,
                        actual: other.into(),
                        requirement: "expected 0x01 (start of entry) or 0x00 (end of index)",
                    });
                }
            }
            let (field, length, padding) = parse_blob_entry(&mut cursor, entry_at)?;
            if !code::DATA_FIELDS.contains(&field) {
                return Err(FormatError::Invalid {
                    field: "blob section field",
                    at: entry_at,
                    actual: field.into(),
                    requirement: "only fields that carry bytes have blob sections",
                });
            }
            let slot = &mut sections.by_field[usize::from(field)];
            if slot.is_some() {
                return Err(FormatError::Duplicate {
                    field: "blob section",
                    at: entry_at,
                });
            }
            *slot = Some(Section {
                cursor: 0,
                end: 0,
                padding,
                declared_at: entry_at,
            });
            sections.order.push((field, length));
        }
        if cursor.remaining() != 0 {
            return Err(FormatError::Mismatch {
                field: "blob index length",
                at: Location {
                    space,
                    offset: base.saturating_add(BLOB_INDEX_LENGTH_AT as u64),
                },
                expected: cursor.position() as u64,
                actual: bytes.len() as u64,
            });
        }
    }
    if sections.order.len() != usize::from(preamble.section_count) {
        return Err(FormatError::Mismatch {
            field: "blob section count",
            at: Location {
                space,
                offset: base.saturating_add(SECTION_COUNT_AT as u64),
            },
            expected: sections.order.len() as u64,
            actual: preamble.section_count.into(),
        });
    }
    Ok(sections)
}

fn parse_blob_entry(
    cursor: &mut Cursor<'_>,
    entry_at: Location,
) -> Result<(u8, u64, usize), FormatError> {
    let (mut field, mut length, mut padding) = (None, None, None);
    loop {
        let at = cursor.location();
        let tag = cursor.u8("blob index field")?;
        let duplicate = match tag {
            code::END_OF_ENTRY => break,
            code::BLOB_FIELD => field.replace(cursor.u8("blob section field")?).is_some(),
            code::BLOB_LENGTH => length.replace(cursor.u64("blob section length")?).is_some(),
            code::BLOB_PADDING => {
                let value = match cursor.u8("blob interior padding")? {
                    code::PADDING_NONE => 0,
                    code::PADDING_NULL => 1,
                    other => {
                        return Err(FormatError::Invalid {
                            field: "blob interior padding",
                            at,
                            actual: other.into(),
                            requirement: "expected 0x01 (none) or 0x02 (NUL)",
                        });
                    }
                };
                padding.replace(value).is_some()
            }
            other => {
                return Err(FormatError::Invalid {
                    field: "blob index field",
                    at,
                    actual: other.into(),
                    requirement: "expected 0x02, 0x03, 0x04 or 0xff",
                });
            }
        };
        if duplicate {
            return Err(FormatError::Duplicate {
                field: "blob index field",
                at,
            });
        }
    }
    let field = field.ok_or(FormatError::MissingField {
        field: "blob section field",
        at: entry_at,
    })?;
    let length = length.ok_or(FormatError::MissingField {
        field: "blob section length",
        at: entry_at,
    })?;
    Ok((field, length, padding.unwrap_or(0)))
}

/// Parses the resource index, `bytes`, which starts at `start` in the blob
/// whose first byte is at `base` in `space`.
fn parse_resource_index(
    bytes: &[u8],
    sections: &mut [Option<Section>; 256],
    space: Space,
    base: u64,
    start: usize,
) -> Result<PackedIndex, FormatError> {
    let mut index = PackedIndex::default();
    let mut cursor = Cursor::new(bytes, space, base.saturating_add(start as u64));
    if bytes.is_empty() {
        return Ok(index);
    }
    loop {
        let entry_at = cursor.location();
        match cursor.u8("resource index marker")? {
            code::END_OF_INDEX => break,
            code::START_OF_ENTRY => {}
            other => {
                return Err(FormatError::Invalid {
                    field: "resource index marker",
                    at: entry_at,
                    actual: other.into(),
                    requirement: "expected 0x01 (start of entry) or 0x00 (end of index)",
                });
            }
        }
        let entry = parse_entry(&mut cursor, sections, &mut index.records, entry_at)?;
        index.entries.push(entry);
    }
    if cursor.remaining() != 0 {
        return Err(FormatError::Mismatch {
            field: "resource index length",
            at: Location {
                space,
                offset: base.saturating_add(RESOURCE_INDEX_LENGTH_AT as u64),
            },
            expected: cursor.position() as u64,
            actual: bytes.len() as u64,
        });
    }
    Ok(index)
}

fn parse_entry(
    cursor: &mut Cursor<'_>,
    sections: &mut [Option<Section>; 256],
    records: &mut Vec<Record>,
    entry_at: Location,
) -> Result<PackedEntry, FormatError> {
    let first_record = records.len();
    let mut name = None;
    let mut flags = ResourceFlags::default();
    let mut seen = 0u64;
    loop {
        let at = cursor.location();
        let field = cursor.u8("resource field")?;
        if field == code::END_OF_ENTRY {
            break;
        }
        let bit = 1u64 << (field & 63);
        if field < 64 && seen & bit != 0 {
            return Err(FormatError::Duplicate {
                field: code::name(field),
                at,
            });
        }
        seen |= bit;
        if let Some(flag) = ResourceFlags::from_code(field) {
            flags.insert(flag);
            continue;
        }
        let mut take = |length: u64, at: Location| claim(sections, field, length, at);
        match field {
            code::NAME => {
                let length = cursor.u16("resource name length")?;
                name = Some(take(length.into(), at)?);
            }
            code::SOURCE
            | code::BYTECODE
            | code::BYTECODE_OPT1
            | code::BYTECODE_OPT2
            | code::EXTENSION_MODULE
            | code::PATH_SOURCE
            | code::PATH_BYTECODE
            | code::PATH_BYTECODE_OPT1
            | code::PATH_BYTECODE_OPT2
            | code::PATH_EXTENSION_MODULE
            | code::FILE_DATA_PATH => {
                let length = cursor.u32(code::name(field))?;
                let span = take(length.into(), at)?;
                records.push(Record::Value { field, span });
            }
            code::SHARED_LIBRARY | code::FILE_DATA => {
                let length = cursor.u64(code::name(field))?;
                let span = take(length, at)?;
                records.push(Record::Value { field, span });
            }
            code::PACKAGE_RESOURCES
            | code::DISTRIBUTION_RESOURCES
            | code::PATH_PACKAGE_RESOURCES
            | code::PATH_DISTRIBUTION_RESOURCES => {
                let count = cursor.u32("resource map entry count")?;
                records.push(Record::Collection { field, count });
                for _ in 0..count {
                    let item_at = cursor.location();
                    let key_length = cursor.u16("resource map key length")?;
                    let key = take(key_length.into(), item_at)?;
                    let value_length = if field == code::PACKAGE_RESOURCES
                        || field == code::DISTRIBUTION_RESOURCES
                    {
                        cursor.u64("resource map value length")?
                    } else {
                        cursor.u32("resource map path length")?.into()
                    };
                    let value = take(value_length, item_at)?;
                    records.push(Record::Pair { key, value });
                }
            }
            code::SHARED_LIBRARY_DEPENDENCIES => {
                let count = cursor.u16("dependency name count")?;
                records.push(Record::Collection {
                    field,
                    count: count.into(),
                });
                for _ in 0..count {
                    let item_at = cursor.location();
                    let length = cursor.u16("dependency name length")?;
                    let span = take(length.into(), item_at)?;
                    records.push(Record::Item { span });
                }
            }
            other => {
                return Err(FormatError::Invalid {
                    field: "resource field",
                    at,
                    actual: other.into(),
                    requirement: "it is not a field code of the v3 format",
                });
            }
        }
    }
    let name = name.ok_or(FormatError::MissingField {
        field: "resource name",
        at: entry_at,
    })?;
    Ok(PackedEntry {
        name,
        flags,
        records: first_record..records.len(),
        at: usize::try_from(entry_at.offset).unwrap_or(usize::MAX),
    })
}

/// Takes the next `length` bytes (plus interior padding) of `field`'s section.
fn claim(
    sections: &mut [Option<Section>; 256],
    field: u8,
    length: u64,
    at: Location,
) -> Result<Span, FormatError> {
    let Some(section) = &mut sections[usize::from(field)] else {
        return if length == 0 {
            Ok(Span::default())
        } else {
            Err(FormatError::Invalid {
                field: code::name(field),
                at,
                actual: length,
                requirement: "a field with data needs a blob section, and there is none",
            })
        };
    };
    let available = section.end - section.cursor;
    let fits = usize::try_from(length).ok().filter(|&length| {
        length
            .checked_add(section.padding)
            .is_some_and(|n| n <= available)
    });
    let Some(length) = fits else {
        return Err(FormatError::Invalid {
            field: code::name(field),
            at,
            actual: length,
            requirement: "the length overruns the field's blob section",
        });
    };
    let span = Span {
        start: section.cursor,
        len: length,
    };
    section.cursor += length + section.padding;
    Ok(span)
}

impl PackedIndex {
    /// Checks that names are UTF-8 and strictly increasing.
    ///
    /// Reads the names section only.
    pub(crate) fn check_names(
        &self,
        blob: &[u8],
        space: Space,
        base: u64,
    ) -> Result<(), FormatError> {
        let mut previous: Option<&[u8]> = None;
        for entry in &self.entries {
            let at = Location {
                space,
                offset: base.saturating_add(entry.name.start as u64),
            };
            let name = blob.get(entry.name.range()).ok_or(FormatError::Truncated {
                what: "resource name",
                at,
                needed: entry.name.len as u64,
                available: blob.len().saturating_sub(entry.name.start) as u64,
            })?;
            if std::str::from_utf8(name).is_err() {
                return Err(FormatError::InvalidUtf8 {
                    field: "resource name",
                    at,
                });
            }
            if previous.is_some_and(|previous| previous >= name) {
                return Err(FormatError::NamesOutOfOrder { at });
            }
            previous = Some(name);
        }
        Ok(())
    }

    /// Builds the [`Resource`] for `entry`, borrowing from `blob`.
    ///
    /// The caller must have verified every span of the entry.
    pub(crate) fn decode<'b>(
        &self,
        blob: &'b [u8],
        entry: &PackedEntry,
        space: Space,
        base: u64,
    ) -> Result<Resource<'b, u8>, FormatError> {
        let decoder = Decoder { blob, space, base };
        let mut resource = Resource {
            name: Cow::Borrowed(decoder.text(entry.name, code::NAME)?),
            ..Resource::default()
        };
        entry.flags.apply(&mut resource);
        let mut collection = None;
        for record in self.records_of(entry) {
            match *record {
                Record::Value { field, span } => decoder.set_value(&mut resource, field, span)?,
                Record::Collection { field, .. } => {
                    collection = Some(field);
                    match field {
                        code::PACKAGE_RESOURCES => {
                            resource.in_memory_package_resources = Some(HashMap::new());
                        }
                        code::DISTRIBUTION_RESOURCES => {
                            resource.in_memory_distribution_resources = Some(HashMap::new());
                        }
                        code::PATH_PACKAGE_RESOURCES => {
                            resource.relative_path_package_resources = Some(HashMap::new());
                        }
                        code::PATH_DISTRIBUTION_RESOURCES => {
                            resource.relative_path_distribution_resources = Some(HashMap::new());
                        }
                        _ => resource.shared_library_dependency_names = Some(Vec::new()),
                    }
                }
                Record::Pair { key, value } => {
                    let field = collection.unwrap_or(code::PACKAGE_RESOURCES);
                    decoder.insert_pair(&mut resource, field, key, value)?;
                }
                Record::Item { span } => {
                    let name = decoder.text(span, code::SHARED_LIBRARY_DEPENDENCIES)?;
                    if let Some(names) = &mut resource.shared_library_dependency_names {
                        names.push(Cow::Borrowed(name));
                    }
                }
            }
        }
        Ok(resource)
    }
}

struct Decoder<'b> {
    blob: &'b [u8],
    space: Space,
    base: u64,
}

impl<'b> Decoder<'b> {
    fn at(&self, span: Span) -> Location {
        Location {
            space: self.space,
            offset: self.base.saturating_add(span.start as u64),
        }
    }

    fn bytes(&self, span: Span) -> Result<&'b [u8], FormatError> {
        self.blob.get(span.range()).ok_or(FormatError::Truncated {
            what: "resource data",
            at: self.at(span),
            needed: span.len as u64,
            available: self.blob.len().saturating_sub(span.start) as u64,
        })
    }

    fn text(&self, span: Span, field: u8) -> Result<&'b str, FormatError> {
        std::str::from_utf8(self.bytes(span)?).map_err(|_| FormatError::InvalidUtf8 {
            field: code::name(field),
            at: self.at(span),
        })
    }

    fn path(&self, span: Span, field: u8) -> Result<Cow<'b, Path>, FormatError> {
        path_from_bytes(self.bytes(span)?).ok_or(FormatError::Invalid {
            field: code::name(field),
            at: self.at(span),
            actual: span.len as u64,
            requirement: "a path must be valid for this platform's encoding",
        })
    }

    fn set_value(
        &self,
        resource: &mut Resource<'b, u8>,
        field: u8,
        span: Span,
    ) -> Result<(), FormatError> {
        let bytes = || self.bytes(span).map(Cow::Borrowed).map(Some);
        let path = || self.path(span, field).map(Some);
        match field {
            code::SOURCE => resource.in_memory_source = bytes()?,
            code::BYTECODE => resource.in_memory_bytecode = bytes()?,
            code::BYTECODE_OPT1 => resource.in_memory_bytecode_opt1 = bytes()?,
            code::BYTECODE_OPT2 => resource.in_memory_bytecode_opt2 = bytes()?,
            code::EXTENSION_MODULE => {
                resource.in_memory_extension_module_shared_library = bytes()?;
            }
            code::SHARED_LIBRARY => resource.in_memory_shared_library = bytes()?,
            code::FILE_DATA => resource.file_data_embedded = bytes()?,
            code::PATH_SOURCE => resource.relative_path_module_source = path()?,
            code::PATH_BYTECODE => resource.relative_path_module_bytecode = path()?,
            code::PATH_BYTECODE_OPT1 => resource.relative_path_module_bytecode_opt1 = path()?,
            code::PATH_BYTECODE_OPT2 => resource.relative_path_module_bytecode_opt2 = path()?,
            code::PATH_EXTENSION_MODULE => {
                resource.relative_path_extension_module_shared_library = path()?;
            }
            code::FILE_DATA_PATH => {
                resource.file_data_utf8_relative_path =
                    Some(Cow::Borrowed(self.text(span, field)?));
            }
            _ => {}
        }
        Ok(())
    }

    fn insert_pair(
        &self,
        resource: &mut Resource<'b, u8>,
        field: u8,
        key: Span,
        value: Span,
    ) -> Result<(), FormatError> {
        let name = Cow::Borrowed(self.text(key, field)?);
        let replaced = match field {
            code::PACKAGE_RESOURCES | code::DISTRIBUTION_RESOURCES => {
                let map = if field == code::PACKAGE_RESOURCES {
                    &mut resource.in_memory_package_resources
                } else {
                    &mut resource.in_memory_distribution_resources
                };
                let data = Cow::Borrowed(self.bytes(value)?);
                map.get_or_insert_default().insert(name, data).is_some()
            }
            _ => {
                let map = if field == code::PATH_PACKAGE_RESOURCES {
                    &mut resource.relative_path_package_resources
                } else {
                    &mut resource.relative_path_distribution_resources
                };
                let path = self.path(value, field)?;
                map.get_or_insert_default().insert(name, path).is_some()
            }
        };
        if replaced {
            return Err(FormatError::Duplicate {
                field: code::name(field),
                at: self.at(key),
            });
        }
        Ok(())
    }
}

/// Paths are stored as the platform's native bytes (the v3 format's rule):
/// raw bytes on Unix.
#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Option<Cow<'_, Path>> {
    use std::os::unix::ffi::OsStrExt;
    Some(Cow::Borrowed(Path::new(std::ffi::OsStr::from_bytes(bytes))))
}

/// Paths are stored as the platform's native bytes (the v3 format's rule):
/// UTF-16LE on Windows.
#[cfg(windows)]
fn path_from_bytes(bytes: &[u8]) -> Option<Cow<'_, Path>> {
    use std::os::windows::ffi::OsStringExt;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let wide: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    Some(Cow::Owned(std::ffi::OsString::from_wide(&wide).into()))
}

/// Elsewhere the format defines no encoding; UTF-8 is used.
#[cfg(not(any(unix, windows)))]
fn path_from_bytes(bytes: &[u8]) -> Option<Cow<'_, Path>> {
    std::str::from_utf8(bytes)
        .ok()
        .map(|text| Cow::Borrowed(Path::new(text)))
}
