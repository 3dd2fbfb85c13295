//! Writing containers.
//!
//! [`ContainerWriter`] collects [`Resource`]s, each with the [`Tier`] it
//! belongs in, and writes a container. Output is a pure function of the
//! resources, their tiers and the [`WriteOptions`]: resources are kept in a
//! `BTreeMap` by name, map-valued fields are written in key order, nothing
//! records a time, a path or a host, and tier-1 compression is single-frame
//! per group (zstd output depends only on input, level and dictionary, for a
//! given zstd version; `Cargo.lock` pins it). Adding the same resources in any
//! order gives the same bytes.

use std::collections::BTreeMap;

use python_packed_resources::Resource;

use super::{
    digest::Digest,
    error::WriteError,
    header::{DEFAULT_CHUNK_SIZE, HEADER_LEN, Header, HeaderFlags, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE},
    index::{self, IndexParts, RegionDescriptor, Tier},
    packed, tier1,
};

/// Whether tier 1 is compressed with a zstd dictionary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DictionaryPolicy {
    /// Never use a dictionary.
    Never,
    /// Train a dictionary of at most `max_size` bytes on the tier-1 data and
    /// keep it only if dictionary plus compressed groups come out smaller than
    /// the groups compressed without it (or training is impossible because
    /// there is too little data).
    Auto {
        /// Largest dictionary to train, in bytes.
        max_size: usize,
    },
    /// Always train and use a dictionary; fail if training fails.
    Always {
        /// Largest dictionary to train, in bytes.
        max_size: usize,
    },
}

/// Knobs for [`ContainerWriter`]. The defaults are the measured choices
/// documented in `docs/format.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Tier-0 chunk size: a power of two from 4 KiB to 1 MiB.
    pub chunk_size: u32,
    /// zstd compression level for tier 1.
    pub compression_level: i32,
    /// Target uncompressed payload per tier-1 group, in bytes.
    pub group_target_size: usize,
    /// Whether to use a zstd dictionary for tier 1.
    pub dictionary: DictionaryPolicy,
}

/// Default [`WriteOptions::compression_level`].
pub const DEFAULT_COMPRESSION_LEVEL: i32 = 19;

/// Default [`WriteOptions::group_target_size`].
pub const DEFAULT_GROUP_TARGET_SIZE: usize = 16 * 1024;

/// Default dictionary size for [`DictionaryPolicy::Auto`].
pub const DEFAULT_DICTIONARY_SIZE: usize = 112 * 1024;

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
            group_target_size: DEFAULT_GROUP_TARGET_SIZE,
            dictionary: DictionaryPolicy::Auto {
                max_size: DEFAULT_DICTIONARY_SIZE,
            },
        }
    }
}

impl WriteOptions {
    fn validate(&self) -> Result<(), WriteError> {
        let chunk = self.chunk_size;
        if !chunk.is_power_of_two() || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk) {
            return Err(WriteError::InvalidOption {
                option: "chunk_size",
                value: chunk.into(),
                requirement: "it must be a power of two from 4096 to 1048576",
            });
        }
        if self.group_target_size == 0 {
            return Err(WriteError::InvalidOption {
                option: "group_target_size",
                value: 0,
                requirement: "it must be at least 1",
            });
        }
        let levels = zstd::zstd_safe::min_c_level()..=zstd::zstd_safe::max_c_level();
        if !levels.contains(&self.compression_level) {
            return Err(WriteError::InvalidOption {
                option: "compression_level",
                value: self.compression_level as u64,
                requirement: "it must be a level zstd supports (at most 22)",
            });
        }
        Ok(())
    }
}

/// Collects resources and writes a container.
///
/// ```
/// use std::borrow::Cow;
/// use pyembed::resources::{Container, ContainerWriter, Tier, WriteOptions};
/// use python_packed_resources::Resource;
///
/// let mut writer = ContainerWriter::new(WriteOptions::default());
/// writer.add(
///     Resource {
///         name: Cow::Borrowed("hello"),
///         is_python_module: true,
///         in_memory_source: Some(Cow::Borrowed(b"print('hi')")),
///         ..Resource::default()
///     },
///     Tier::Raw,
/// )?;
/// let bytes = writer.write()?;
/// let container = Container::from_bytes(&bytes)?;
/// let hello = container.resource("hello")?.expect("present");
/// assert_eq!(hello.in_memory_source.as_deref(), Some(&b"print('hi')"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct ContainerWriter<'r> {
    resources: BTreeMap<String, (Resource<'r, u8>, Tier)>,
    options: WriteOptions,
}

impl<'r> ContainerWriter<'r> {
    /// A writer with no resources.
    pub fn new(options: WriteOptions) -> ContainerWriter<'r> {
        ContainerWriter {
            resources: BTreeMap::new(),
            options,
        }
    }

    /// Adds a resource to be stored in `tier`.
    ///
    /// Fails if the name is empty or already added.
    pub fn add(&mut self, resource: Resource<'r, u8>, tier: Tier) -> Result<(), WriteError> {
        if resource.name.is_empty() {
            return Err(WriteError::EmptyName);
        }
        let name = resource.name.to_string();
        if self.resources.contains_key(&name) {
            return Err(WriteError::DuplicateResource { name });
        }
        self.resources.insert(name, (resource, tier));
        Ok(())
    }

    /// Number of resources added.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether no resource has been added.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Writes the container.
    pub fn write(&self) -> Result<Vec<u8>, WriteError> {
        self.options.validate()?;
        let in_tier = |tier: Tier| -> Vec<&Resource<'r, u8>> {
            self.resources
                .values()
                .filter(|(_, t)| *t == tier)
                .map(|(resource, _)| resource)
                .collect()
        };
        let tier0 = in_tier(Tier::Raw);
        let tier1 = in_tier(Tier::Compressed);

        let tier0_blob = packed::write_blob(&tier0)?;
        let compressed = if tier1.is_empty() {
            None
        } else {
            Some(tier1::compress(&tier1, &self.options)?)
        };
        let names = tier1::name_table(&tier1);
        let (dictionary, frames, groups) = match &compressed {
            Some(tier1) => (&tier1.dictionary[..], &tier1.frames[..], &tier1.groups[..]),
            None => (&[][..], &[][..], &[][..]),
        };

        let chunk_digests: Vec<Digest> = tier0_blob
            .chunks(self.options.chunk_size as usize)
            .map(Digest::of)
            .collect();
        for (field, count) in [
            ("tier-0 chunk count", chunk_digests.len()),
            ("tier-1 resource count", names.len()),
            ("tier-1 group count", groups.len()),
        ] {
            if u32::try_from(count).is_err() {
                return Err(WriteError::FieldTooLarge {
                    resource: String::from("(all resources)"),
                    field,
                    length: count as u64,
                    max: u32::MAX.into(),
                });
            }
        }
        let name_table_len: usize = names.iter().map(|(name, _)| 4 + name.len()).sum();
        if u32::try_from(name_table_len).is_err() {
            return Err(WriteError::FieldTooLarge {
                resource: String::from("(all resources)"),
                field: "tier-1 name table",
                length: name_table_len as u64,
                max: u32::MAX.into(),
            });
        }

        let index_len = index::encoded_len(chunk_digests.len(), groups.len(), &names) as u64;
        let tier0_offset = index::tier0_offset(index_len).unwrap_or(u64::MAX);
        let region = |offset: u64, bytes: &[u8]| RegionDescriptor {
            offset,
            length: bytes.len() as u64,
            digest: if bytes.is_empty() {
                Digest::ZERO
            } else {
                Digest::of(bytes)
            },
        };
        let tier0 = region(tier0_offset, &tier0_blob);
        let dictionary_region = region(tier0.end(), dictionary);
        let tier1_region = region(dictionary_region.end(), frames);
        let index_bytes = index::encode(&IndexParts {
            tier0,
            dictionary: dictionary_region,
            tier1: tier1_region,
            chunk_digests: &chunk_digests,
            groups,
            names: &names,
        });

        let mut flags = HeaderFlags::empty();
        if !groups.is_empty() {
            flags = flags.union(HeaderFlags::TIER1);
        }
        if !dictionary.is_empty() {
            flags = flags.union(HeaderFlags::DICTIONARY);
        }
        if compressed.as_ref().is_some_and(|tier1| tier1.source_groups) {
            flags = flags.union(HeaderFlags::SOURCE_GROUPS);
        }
        let total = tier1_region.end();
        let header = Header::encode(
            flags,
            total,
            self.options.chunk_size,
            index_len,
            Digest::of(&index_bytes),
        );

        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        out.extend_from_slice(&header);
        out.extend_from_slice(&index_bytes);
        out.resize(usize::try_from(tier0_offset).unwrap_or(usize::MAX), 0);
        out.extend_from_slice(&tier0_blob);
        out.extend_from_slice(dictionary);
        out.extend_from_slice(frames);
        debug_assert_eq!(out.len() as u64, total);
        debug_assert_eq!(
            HEADER_LEN as u64 + index_len,
            128 + index_bytes.len() as u64
        );
        Ok(out)
    }
}

/// Writes `resources` into a container: shorthand for a [`ContainerWriter`].
pub fn write_container<'r>(
    resources: impl IntoIterator<Item = (Resource<'r, u8>, Tier)>,
    options: &WriteOptions,
) -> Result<Vec<u8>, WriteError> {
    let mut writer = ContainerWriter::new(options.clone());
    for (resource, tier) in resources {
        writer.add(resource, tier)?;
    }
    writer.write()
}
