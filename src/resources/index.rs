//! The index: where every region is, and the digests that cover it.
//!
//! The index follows the header at offset 128. Its SHA-256 is in the header,
//! so it is verified in full when a container is opened; it is small (32
//! bytes per 16 KiB chunk of tier 0, 96 bytes per tier-1 group, and the tier-1
//! names) and everything else is checked against it.
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0   | 48 | tier 0: offset u64, length u64, SHA-256 |
//! | 48  | 48 | dictionary: offset u64, length u64, SHA-256 |
//! | 96  | 48 | tier 1: offset u64, length u64, SHA-256 |
//! | 144 | 4  | tier-0 chunk count u32 |
//! | 148 | 4  | tier-1 group count u32 |
//! | 152 | 4  | tier-1 resource count u32 |
//! | 156 | 4  | tier-1 name table length u32 |
//! | 160 | 32 × chunks | tier-0 chunk SHA-256s |
//! | …   | 96 × groups | tier-1 groups (see [`GroupDescriptor`]) |
//! | …   | name table length | tier-1 names: flags u16, length u16, UTF-8 bytes; sorted |
//!
//! Regions are laid out canonically and the reader insists on it: tier 0
//! starts at the first 4096-aligned offset after the index (the gap is zero
//! padding), the dictionary directly follows tier 0, tier 1 directly follows
//! the dictionary and ends the container. An absent region has its offset at
//! the end of the region before it, length 0 and an all-zero digest.

use std::ops::Range;

use super::{
    cursor::Cursor,
    digest::{DIGEST_LEN, Digest},
    error::{ContainerError, FormatError, Location, Mismatch, Region, Space},
    header::{HEADER_LEN, Header, HeaderFlags, TIER0_ALIGNMENT},
    packed::{ResourceFlags, Span},
};

/// Bytes before the chunk digest table.
pub(crate) const INDEX_FIXED_LEN: usize = 160;

/// Bytes per tier-1 group record.
pub(crate) const GROUP_RECORD_LEN: usize = 96;

/// Largest decompressed size of one tier-1 group (256 MiB). A reader
/// allocates this much at most for one group, and only after the group's
/// compressed bytes have matched their digest.
pub const MAX_GROUP_LEN: u64 = 256 << 20;

/// Which tier a resource is stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Tier 0: stored raw, page-aligned, served as slices of the mapping with
    /// no copy. For everything that is imported at startup or often.
    Raw,
    /// Tier 1: zstd-compressed in groups, decompressed on first access to a
    /// resource of the group. For code that is rarely imported.
    Compressed,
}

impl Tier {
    /// The tier number used in the format documentation (0 or 1).
    pub fn number(self) -> u8 {
        match self {
            Tier::Raw => 0,
            Tier::Compressed => 1,
        }
    }
}

/// Position, length and digest of one region of the container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionDescriptor {
    /// Container offset of the first byte.
    pub offset: u64,
    /// Length in bytes (0 if the region is absent).
    pub length: u64,
    /// SHA-256 of the region's bytes (all zero if the region is absent).
    pub digest: Digest,
}

impl RegionDescriptor {
    /// Container offset just past the region.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

/// One tier-1 group: a python-packed-resources blob compressed as one zstd
/// frame.
///
/// On disk, 96 bytes: compressed offset u64 (relative to the start of tier
/// 1), compressed length u64, decompressed length u64, first resource u32,
/// resource count u32, compressed SHA-256, decompressed SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupDescriptor {
    /// Offset of the zstd frame from the start of tier 1.
    pub compressed_offset: u64,
    /// Length of the zstd frame.
    pub compressed_length: u64,
    /// Length of the blob once decompressed.
    pub decompressed_length: u64,
    /// Position of the group's first resource in the tier-1 name table.
    pub first_resource: u32,
    /// Number of resources in the group.
    pub resource_count: u32,
    /// SHA-256 of the zstd frame.
    pub compressed_digest: Digest,
    /// SHA-256 of the decompressed blob.
    pub decompressed_digest: Digest,
}

impl GroupDescriptor {
    /// Positions of the group's resources in the tier-1 name table.
    pub fn resources(&self) -> Range<usize> {
        let first = self.first_resource as usize;
        first..first.saturating_add(self.resource_count as usize)
    }
}

/// Where everything in a container is, as recorded by its header and index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The header.
    pub header: Header,
    /// Tier 0 (raw python-packed-resources blob).
    pub tier0: RegionDescriptor,
    /// The zstd dictionary tier 1 was compressed with.
    pub dictionary: RegionDescriptor,
    /// Tier 1 (concatenated zstd frames).
    pub tier1: RegionDescriptor,
    /// Number of tier-0 chunks.
    pub chunk_count: u32,
    /// Tier-1 groups, in order: the code groups, then (with the
    /// source-groups flag) the source groups.
    pub groups: Vec<GroupDescriptor>,
    /// How many of `groups` are code groups: all of them unless the
    /// source-groups flag is set.
    pub(crate) code_groups: usize,
    /// Container offset of the tier-0 chunk digest table.
    pub(crate) chunk_digests: u64,
}

/// A tier-1 name from the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tier1Name {
    /// Container span of the UTF-8 name.
    pub(crate) name: Span,
    pub(crate) flags: ResourceFlags,
}

/// Input to [`encode`].
pub(crate) struct IndexParts<'p> {
    pub(crate) tier0: RegionDescriptor,
    pub(crate) dictionary: RegionDescriptor,
    pub(crate) tier1: RegionDescriptor,
    pub(crate) chunk_digests: &'p [Digest],
    pub(crate) groups: &'p [GroupDescriptor],
    pub(crate) names: &'p [(&'p str, ResourceFlags)],
}

/// Length of an encoded index.
pub(crate) fn encoded_len(chunks: usize, groups: usize, names: &[(&str, ResourceFlags)]) -> usize {
    INDEX_FIXED_LEN + chunks * DIGEST_LEN + groups * GROUP_RECORD_LEN + name_table_len(names)
}

fn name_table_len(names: &[(&str, ResourceFlags)]) -> usize {
    names.iter().map(|(name, _)| 4 + name.len()).sum()
}

/// Encodes the index. Counts must fit their fields (the writer checks).
pub(crate) fn encode(parts: &IndexParts<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(
        parts.chunk_digests.len(),
        parts.groups.len(),
        parts.names,
    ));
    for region in [parts.tier0, parts.dictionary, parts.tier1] {
        out.extend_from_slice(&region.offset.to_le_bytes());
        out.extend_from_slice(&region.length.to_le_bytes());
        out.extend_from_slice(region.digest.as_bytes());
    }
    let count = |n: usize| (n as u32).to_le_bytes();
    out.extend_from_slice(&count(parts.chunk_digests.len()));
    out.extend_from_slice(&count(parts.groups.len()));
    out.extend_from_slice(&count(parts.names.len()));
    out.extend_from_slice(&count(name_table_len(parts.names)));
    for digest in parts.chunk_digests {
        out.extend_from_slice(digest.as_bytes());
    }
    for group in parts.groups {
        out.extend_from_slice(&group.compressed_offset.to_le_bytes());
        out.extend_from_slice(&group.compressed_length.to_le_bytes());
        out.extend_from_slice(&group.decompressed_length.to_le_bytes());
        out.extend_from_slice(&group.first_resource.to_le_bytes());
        out.extend_from_slice(&group.resource_count.to_le_bytes());
        out.extend_from_slice(group.compressed_digest.as_bytes());
        out.extend_from_slice(group.decompressed_digest.as_bytes());
    }
    for (name, flags) in parts.names {
        out.extend_from_slice(&flags.bits().to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    out
}

/// Offset of tier 0 for an index of `index_length` bytes.
pub(crate) fn tier0_offset(index_length: u64) -> Option<u64> {
    (HEADER_LEN as u64)
        .checked_add(index_length)?
        .checked_next_multiple_of(TIER0_ALIGNMENT)
}

/// Verifies the index against the header and parses it.
///
/// `bytes` is the whole container and `header` its parsed header, so the
/// index is known to lie within `bytes`.
pub(crate) fn parse(
    bytes: &[u8],
    header: &Header,
) -> Result<(Layout, Vec<Tier1Name>), ContainerError> {
    let start = HEADER_LEN;
    let index = usize::try_from(header.index_length)
        .ok()
        .and_then(|length| bytes.get(start..start.checked_add(length)?))
        .ok_or(FormatError::Truncated {
            what: "index",
            at: Location::container(start as u64),
            needed: header.index_length,
            available: bytes.len().saturating_sub(start) as u64,
        })?;
    let actual = Digest::of(index);
    if actual != header.index_digest {
        return Err(Mismatch {
            region: Region::Index,
            expected: header.index_digest,
            actual,
        }
        .into());
    }
    Ok(parse_verified(bytes, index, header)?)
}

fn parse_verified(
    bytes: &[u8],
    index: &[u8],
    header: &Header,
) -> Result<(Layout, Vec<Tier1Name>), FormatError> {
    let base = HEADER_LEN as u64;
    let mut cursor = Cursor::new(index, Space::Container, base);
    let mut region = |what: &'static str| -> Result<(Location, RegionDescriptor), FormatError> {
        let at = cursor.location();
        let descriptor = RegionDescriptor {
            offset: cursor.u64(what)?,
            length: cursor.u64(what)?,
            digest: cursor.digest(what)?,
        };
        Ok((at, descriptor))
    };
    let (tier0_at, tier0) = region("tier-0 descriptor")?;
    let (dictionary_at, dictionary) = region("dictionary descriptor")?;
    let (tier1_at, tier1) = region("tier-1 descriptor")?;
    let counts_at = cursor.location();
    let chunk_count = cursor.u32("tier-0 chunk count")?;
    let group_count = cursor.u32("tier-1 group count")?;
    let tier1_count = cursor.u32("tier-1 resource count")?;
    let names_length = cursor.u32("tier-1 name table length")?;

    // Canonical placement of every region.
    let expected_tier0 = tier0_offset(header.index_length).unwrap_or(u64::MAX);
    expect("tier-0 offset", tier0_at, expected_tier0, tier0.offset)?;
    let tier0_end = tier0
        .offset
        .checked_add(tier0.length)
        .ok_or(FormatError::Invalid {
            field: "tier-0 length",
            at: tier0_at,
            actual: tier0.length,
            requirement: "the region must end within the container",
        })?;
    expect(
        "dictionary offset",
        dictionary_at,
        tier0_end,
        dictionary.offset,
    )?;
    let dictionary_end = dictionary.end();
    expect("tier-1 offset", tier1_at, dictionary_end, tier1.offset)?;
    let tier1_end = tier1.end();
    expect(
        "end of tier 1",
        tier1_at,
        header.container_length,
        tier1_end,
    )?;
    let flags = header.flags;
    check_presence(
        &tier1,
        flags.contains(HeaderFlags::TIER1),
        "tier 1",
        tier1_at,
    )?;
    check_presence(
        &dictionary,
        flags.contains(HeaderFlags::DICTIONARY),
        "dictionary",
        dictionary_at,
    )?;
    let padding_start = base + index.len() as u64;
    for offset in padding_start..tier0.offset {
        let value = bytes.get(offset as usize).copied().unwrap_or(0);
        if value != 0 {
            return Err(FormatError::NonZeroPadding { offset, value });
        }
    }

    let expected_chunks = tier0.length.div_ceil(u64::from(header.chunk_size));
    expect(
        "tier-0 chunk count",
        counts_at,
        expected_chunks,
        chunk_count.into(),
    )?;
    if tier0.length == 0 {
        return Err(FormatError::Invalid {
            field: "tier-0 length",
            at: tier0_at,
            actual: 0,
            requirement: "tier 0 always holds at least a python-packed-resources preamble",
        });
    }
    if flags.contains(HeaderFlags::TIER1) != (group_count > 0) {
        return Err(FormatError::Invalid {
            field: "tier-1 group count",
            at: counts_at,
            actual: group_count.into(),
            requirement: "tier 1 has groups exactly when the tier-1 header flag is set",
        });
    }

    // Fixed-size tables: check they fit before reading or allocating.
    let tables = u64::from(chunk_count) * DIGEST_LEN as u64
        + u64::from(group_count) * GROUP_RECORD_LEN as u64
        + u64::from(names_length);
    expect(
        "index length",
        Location::container(40),
        INDEX_FIXED_LEN as u64 + tables,
        index.len() as u64,
    )?;
    let chunk_digests = cursor.location().offset;
    cursor.take(chunk_count as usize * DIGEST_LEN, "tier-0 chunk digests")?;

    let mut groups = Vec::with_capacity(group_count as usize);
    let mut next_offset = 0u64;
    let mut next_resource = 0u64;
    let source_groups = flags.contains(HeaderFlags::SOURCE_GROUPS);
    let mut code_groups = None;
    for number in 0..group_count {
        let at = cursor.location();
        if source_groups && code_groups.is_none() && next_resource == u64::from(tier1_count) {
            // The code groups tile all names; the source groups start over.
            code_groups = Some(number as usize);
            next_resource = 0;
        }
        let group = GroupDescriptor {
            compressed_offset: cursor.u64("group compressed offset")?,
            compressed_length: cursor.u64("group compressed length")?,
            decompressed_length: cursor.u64("group decompressed length")?,
            first_resource: cursor.u32("group first resource")?,
            resource_count: cursor.u32("group resource count")?,
            compressed_digest: cursor.digest("group compressed digest")?,
            decompressed_digest: cursor.digest("group decompressed digest")?,
        };
        expect(
            "group compressed offset",
            at,
            next_offset,
            group.compressed_offset,
        )?;
        expect(
            "group first resource",
            at,
            next_resource,
            group.first_resource.into(),
        )?;
        if group.resource_count == 0 || group.compressed_length == 0 {
            return Err(FormatError::Invalid {
                field: "tier-1 group",
                at,
                actual: 0,
                requirement: "a group holds at least one resource and one byte",
            });
        }
        if group.decompressed_length > MAX_GROUP_LEN {
            return Err(FormatError::Invalid {
                field: "group decompressed length",
                at,
                actual: group.decompressed_length,
                requirement: "a group decompresses to at most 256 MiB",
            });
        }
        next_offset = next_offset.saturating_add(group.compressed_length);
        next_resource += u64::from(group.resource_count);
        groups.push(group);
    }
    expect(
        "total tier-1 group length",
        tier1_at,
        tier1.length,
        next_offset,
    )?;
    expect(
        "tier-1 resource count",
        counts_at,
        next_resource,
        tier1_count.into(),
    )?;
    if source_groups && code_groups.is_none() {
        return Err(FormatError::Invalid {
            field: "tier-1 group count",
            at: counts_at,
            actual: group_count.into(),
            requirement: "with the source-groups flag, the groups' resources must tile the \
                          tier-1 names twice (code groups, then source groups)",
        });
    }

    let names = parse_names(&mut cursor, tier1_count, names_length)?;
    let layout = Layout {
        header: *header,
        tier0,
        dictionary,
        tier1,
        chunk_count,
        code_groups: code_groups.unwrap_or(groups.len()),
        groups,
        chunk_digests,
    };
    Ok((layout, names))
}

fn parse_names(
    cursor: &mut Cursor<'_>,
    count: u32,
    table_length: u32,
) -> Result<Vec<Tier1Name>, FormatError> {
    let table_start = cursor.position();
    // Each name takes at least 4 bytes, so `count` is bounded by the index
    // length checked above; grow as names are read all the same.
    let mut names = Vec::new();
    let mut previous: Option<&[u8]> = None;
    for _ in 0..count {
        let at = cursor.location();
        let bits = cursor.u16("tier-1 resource flags")?;
        let flags = ResourceFlags::from_bits(bits).ok_or(FormatError::Invalid {
            field: "tier-1 resource flags",
            at,
            actual: bits.into(),
            requirement: "only bits 0 to 8 are defined",
        })?;
        let length = cursor.u16("tier-1 name length")?;
        let name_at = cursor.location();
        let name = cursor.take(length.into(), "tier-1 name")?;
        if std::str::from_utf8(name).is_err() {
            return Err(FormatError::InvalidUtf8 {
                field: "tier-1 name",
                at: name_at,
            });
        }
        if name.is_empty() || previous.is_some_and(|previous| previous >= name) {
            return Err(FormatError::NamesOutOfOrder { at: name_at });
        }
        previous = Some(name);
        names.push(Tier1Name {
            name: Span {
                start: name_at.offset as usize,
                len: name.len(),
            },
            flags,
        });
    }
    if cursor.remaining() != 0 {
        return Err(FormatError::Mismatch {
            field: "tier-1 name table length",
            at: Location::container(HEADER_LEN as u64 + 156),
            expected: (cursor.position() - table_start) as u64,
            actual: table_length.into(),
        });
    }
    Ok(names)
}

fn check_presence(
    region: &RegionDescriptor,
    present: bool,
    what: &'static str,
    at: Location,
) -> Result<(), FormatError> {
    if present != (region.length > 0) {
        return Err(FormatError::Invalid {
            field: what,
            at,
            actual: region.length,
            requirement: if present {
                "the header flag says the region is present, so its length must not be 0"
            } else {
                "the header flag says the region is absent, so its length must be 0"
            },
        });
    }
    if !present && region.digest != Digest::ZERO {
        return Err(FormatError::Invalid {
            field: what,
            at,
            actual: 0,
            requirement: "an absent region has an all-zero digest",
        });
    }
    Ok(())
}

fn expect(
    field: &'static str,
    at: Location,
    expected: u64,
    actual: u64,
) -> Result<(), FormatError> {
    if expected == actual {
        Ok(())
    } else {
        Err(FormatError::Mismatch {
            field,
            at,
            expected,
            actual,
        })
    }
}
