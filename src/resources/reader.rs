//! Reading containers: [`Container`].
//!
//! Opening a container does a fixed, small amount of work: parse and check
//! the 128-byte header, hash and parse the index, then verify and parse the
//! tier-0 indices and names section (the chunks covering them, nothing more).
//! After that, reading a resource verifies only the chunks its bytes sit in
//! (tier 0) or decodes only its group (tier 1). [`Container::verify_all`]
//! checks everything eagerly.

use std::{fmt, ops::Range};

use python_packed_resources::Resource;

use super::{
    digest::Digest,
    error::{ContainerError, FormatError, Mismatch, Region, Space},
    header::Header,
    index::{self, Layout, Tier, Tier1Name},
    packed::{self, DataField, PackedEntry, PackedIndex, ResourceFlags, Span},
    source::{Backing, PackedResourcesSource},
    tier1::{DecodedGroup, Tier1Cache},
    verify::ChunkVerifier,
};

/// An open, validated container.
///
/// Owns (or borrows, for [`PackedResourcesSource::Memory`]) the container
/// bytes; every slice and [`Resource`] it returns borrows from it. It is
/// `Send + Sync`: verification state and tier-1 caches are atomics and
/// `OnceLock`s, so one container can serve every thread.
pub struct Container<'a> {
    backing: Backing<'a>,
    layout: Layout,
    tier0: PackedIndex,
    verifier: ChunkVerifier,
    tier1_names: Vec<Tier1Name>,
    tier1: Tier1Cache,
    /// Whether verification ahead of use was started (see
    /// [`Container::verify_field_ahead`]).
    ahead_claimed: std::sync::atomic::AtomicBool,
}

/// A resource's name, tier and flags, known without reading its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceSummary<'c> {
    /// The resource name.
    pub name: &'c str,
    /// Where its data is stored.
    pub tier: Tier,
    /// Its `is_*` flags.
    pub flags: ResourceFlags,
}

/// What [`Container::verify_all`] checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationReport {
    /// Resources decoded and checked.
    pub resources: usize,
    /// Tier-0 chunks verified.
    pub chunks: u32,
    /// Tier-1 groups decompressed and verified.
    pub groups: u32,
    /// Bytes run through SHA-256 by this call, including both tier-wide
    /// digests.
    pub bytes_hashed: u64,
}

/// How much verification and decompression has happened so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessStats {
    /// Tier-0 chunks verified.
    pub chunks_verified: usize,
    /// Tier-0 chunks in total.
    pub chunk_count: usize,
    /// Bytes hashed to verify tier-0 chunks.
    pub chunk_bytes_hashed: u64,
    /// Tier-1 groups decoded and cached.
    pub groups_loaded: usize,
    /// Tier-1 groups in total.
    pub group_count: usize,
    /// Bytes produced by tier-1 decompression.
    pub bytes_decompressed: u64,
}

/// Where a resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Entry number in tier 0.
    Tier0(usize),
    /// Position in the tier-1 name table.
    Tier1(usize),
}

impl<'a> Container<'a> {
    /// Opens the container `source` names: borrows memory bytes, or
    /// memory-maps a file (errors name the path), then validates it.
    pub fn open(source: &PackedResourcesSource<'a>) -> Result<Container<'a>, ContainerError> {
        Container::from_backing(Backing::open(source)?)
    }

    /// Validates a container held in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Container<'a>, ContainerError> {
        Container::from_backing(Backing::Borrowed(bytes))
    }
}

impl Container<'static> {
    /// Validates a container whose bytes `owner` holds, taking ownership.
    ///
    /// `owner.as_ref()` must return the same bytes every time it is called
    /// (true of `Vec<u8>`, `Box<[u8]>`, `Arc<[u8]>`); the container checks
    /// digests against what it returns.
    pub fn from_owned(
        owner: impl AsRef<[u8]> + Send + Sync + 'static,
    ) -> Result<Container<'static>, ContainerError> {
        Container::from_backing(Backing::Owned(Box::new(owner)))
    }

    /// Opens the container `source` names, for as long as the caller wants,
    /// whatever the source's lifetime.
    ///
    /// A file is memory-mapped, as by [`Container::open`]. Memory is borrowed
    /// when it lies in the executable's read-only image (a container compiled
    /// in with `include_bytes!`), which stays mapped and unchanged until the
    /// process exits; any other memory is copied, since nothing would keep
    /// it alive. The packed-resources importer opens its sources this way:
    /// it is a Python object, and may outlive the configuration it came from.
    pub fn open_static(
        source: &PackedResourcesSource<'_>,
    ) -> Result<Container<'static>, ContainerError> {
        Container::from_backing(Backing::open_static(source)?)
    }

    /// Whether the container borrows its bytes (rather than mapping or
    /// owning them): true for a `'static` container only when its bytes lie
    /// in the executable's image.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.backing, Backing::Borrowed(_))
    }
}

impl<'a> Container<'a> {
    fn from_backing(backing: Backing<'a>) -> Result<Container<'a>, ContainerError> {
        let bytes = backing.bytes();
        let header = Header::parse(bytes)?;
        let (layout, tier1_names) = index::parse(bytes, &header)?;
        let verifier = ChunkVerifier::new(header.chunk_size, layout.chunk_count as usize);
        let tier1 = Tier1Cache::new(layout.groups.len());
        let mut container = Container {
            backing,
            layout,
            tier0: PackedIndex::default(),
            verifier,
            tier1_names,
            tier1,
            ahead_claimed: std::sync::atomic::AtomicBool::new(false),
        };
        container.tier0 = container.parse_tier0()?;
        container.check_disjoint()?;
        Ok(container)
    }

    /// Parses tier 0's indices and names, verifying exactly the chunks read.
    fn parse_tier0(&self) -> Result<PackedIndex, ContainerError> {
        let tier = self.tier0_bytes();
        let base = self.layout.tier0.offset;
        self.verify_tier0(0..packed::PREAMBLE_LEN.min(tier.len()))?;
        let preamble = packed::Preamble::parse(tier, Space::Container, base)?;
        self.verify_tier0(0..preamble.indices_end().min(tier.len()))?;
        let index = packed::parse_indices(tier, &preamble, Space::Container, base)?;
        self.verify_tier0(index.names.range())?;
        index.check_names(tier, Space::Container, base)?;
        Ok(index)
    }

    /// Rejects a name present in both tiers.
    fn check_disjoint(&self) -> Result<(), FormatError> {
        let mut tier0 = self
            .tier0
            .entries
            .iter()
            .map(|entry| self.tier0_name(entry))
            .peekable();
        for name in &self.tier1_names {
            let bytes = self.span(name.name);
            while tier0.next_if(|candidate| *candidate < bytes).is_some() {}
            if tier0.peek() == Some(&bytes) {
                return Err(FormatError::DuplicateName {
                    at: super::error::Location::container(name.name.start as u64),
                });
            }
        }
        Ok(())
    }

    /// The raw container bytes, as supplied. Not verified beyond what has
    /// been read so far; use [`Container::verify_all`] first if that matters.
    pub fn as_bytes(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// Whether the bytes are a memory-mapped file.
    pub fn is_memory_mapped(&self) -> bool {
        self.backing.is_mapped()
    }

    /// Where everything is, as recorded by the header and index.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The container's content digest: the SHA-256 of header bytes 0..96,
    /// which commit, through the index digest and the digests the index
    /// holds, to every byte of the container. Verified when the container
    /// was opened; identical containers have identical digests.
    pub fn content_digest(&self) -> Digest {
        self.layout.header.header_digest
    }

    /// Number of resources in both tiers.
    pub fn resource_count(&self) -> usize {
        self.tier0.entries.len() + self.tier1_names.len()
    }

    /// Name, tier and flags of `name`, without reading or verifying its data.
    pub fn summary(&self, name: &str) -> Option<ResourceSummary<'_>> {
        self.find(name).map(|slot| self.summary_of(slot))
    }

    /// Whether a resource called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Every resource's summary, sorted by name, across both tiers.
    pub fn summaries(&self) -> impl Iterator<Item = ResourceSummary<'_>> + '_ {
        self.slots().map(|slot| self.summary_of(slot))
    }

    /// The resource `name`, with all its bytes verified (tier 0) or its group
    /// decoded (tier 1). `Ok(None)` if there is no such resource.
    pub fn resource(&self, name: &str) -> Result<Option<Resource<'_, u8>>, ContainerError> {
        match self.find(name) {
            Some(slot) => self.resource_at(slot).map(Some),
            None => Ok(None),
        }
    }

    /// Every resource, sorted by name, each verified as it is produced.
    pub fn resources(&self) -> impl Iterator<Item = Result<Resource<'_, u8>, ContainerError>> + '_ {
        self.slots().map(|slot| self.resource_at(slot))
    }

    /// One field of `name`, verifying only the bytes of that field (tier 0)
    /// or decoding its group (tier 1). `Ok(None)` if there is no such
    /// resource or it lacks the field.
    ///
    /// This is the importer's hot path: fetching bytecode does not verify the
    /// module's source.
    pub fn data(&self, name: &str, field: DataField) -> Result<Option<&[u8]>, ContainerError> {
        let in_resource = |error: ContainerError| error.in_resource(name);
        match self.find(name) {
            None => Ok(None),
            Some(Slot::Tier0(entry)) => {
                let Some(entry) = self.tier0.entries.get(entry) else {
                    return Ok(None);
                };
                let Some(span) = self.tier0.field_of(entry, field.code()) else {
                    return Ok(None);
                };
                self.verified_slice(span.range())
                    .map(Some)
                    .map_err(in_resource)
            }
            Some(Slot::Tier1(position)) => {
                let (group, entry) = if field == DataField::Source {
                    self.tier1_source_entry(position)
                } else {
                    self.tier1_entry(position)
                }
                .map_err(in_resource)?;
                Ok(group
                    .index
                    .field_of(entry, field.code())
                    .and_then(|span| group.bytes.get(span.range())))
            }
        }
    }

    /// Bytes `range` of tier 0, after verifying every chunk they touch.
    ///
    /// Chunks already verified are not hashed again.
    pub fn verified_slice(&self, range: Range<usize>) -> Result<&[u8], ContainerError> {
        let tier = self.tier0_bytes();
        let bytes = tier
            .get(range.clone())
            .ok_or(ContainerError::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                length: tier.len(),
            })?;
        self.verify_tier0(range)?;
        Ok(bytes)
    }

    /// All of tier 0, a python-packed-resources v3 blob, verified. This can
    /// be handed as is to any reader of that format.
    pub fn tier0(&self) -> Result<&[u8], ContainerError> {
        self.verified_slice(0..self.tier0_bytes().len())
    }

    /// Turns lazy verification off for this container: from now on, reads
    /// hand out tier-0 bytes and tier-1 groups decoded on first use without
    /// comparing digests (the header and index were checked when it was
    /// opened, as always).
    ///
    /// **For benchmarks only**: it exists to measure what lazy verification
    /// costs. A damaged or tampered container then reaches Python unchecked.
    /// The importer calls it when the environment variable
    /// `PYEMBED_UNSAFE_SKIP_VERIFICATION` is `1` (see
    /// [`PythonResourcesState::index_container`](super::PythonResourcesState::index_container)).
    /// [`Container::verify_all`] afterwards still checks tier 1 but no longer
    /// re-hashes tier-0 chunks.
    pub fn skip_lazy_verification(&self) {
        self.verifier.trust_all();
        self.tier1.trust_all();
    }

    /// Verifies, in order, the tier-0 chunks holding `field` of every tier-0
    /// resource, skipping those already verified, and returns how many bytes
    /// it hashed. Stops at the first mismatch, leaving that chunk unmarked,
    /// so the read that needs it reports the error.
    ///
    /// This is verification *ahead of use*: run on a background thread
    /// ([`PythonResourcesState::verify_ahead`](super::PythonResourcesState::verify_ahead)),
    /// it marks chunks verified before the importer asks for them, so the
    /// importer's reads find their bits set. Nothing is handed out here, and
    /// a read still checks its chunks' bits (hashing any that are not set),
    /// so it changes when hashing happens, never what is verified.
    pub fn verify_field_ahead(&self, field: DataField) -> u64 {
        let before = self.verifier.hashed_bytes();
        let code = field.code();
        let mut section: Option<Range<usize>> = None;
        for entry in &self.tier0.entries {
            if let Some(span) = self.tier0.field_of(entry, code) {
                let range = span.range();
                section = Some(match section {
                    Some(known) => known.start.min(range.start)..known.end.max(range.end),
                    None => range,
                });
            }
        }
        if let Some(section) = section {
            let _ = self.verify_tier0(section);
        }
        self.verifier.hashed_bytes() - before
    }

    /// Claims the right to start verification ahead of use for this
    /// container: true the first time only.
    pub(crate) fn claim_verify_ahead(&self) -> bool {
        !self
            .ahead_claimed
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// Verifies every byte of the container and decodes every resource.
    ///
    /// Tier-0 chunks verified here are remembered, like lazy verification.
    /// Tier-1 groups are decoded, checked and dropped rather than cached, so
    /// memory use does not grow to the size of tier 1.
    pub fn verify_all(&self) -> Result<VerificationReport, ContainerError> {
        let hashed_before = self.verifier.hashed_bytes();
        let tier = self.tier0_bytes();
        self.verify_tier0(0..tier.len())?;
        let mut bytes_hashed = self.verifier.hashed_bytes() - hashed_before;
        let bytes = self.backing.bytes();
        for (region, descriptor) in [
            (Region::Tier0, &self.layout.tier0),
            (Region::Dictionary, &self.layout.dictionary),
            (Region::Tier1, &self.layout.tier1),
        ] {
            if descriptor.length == 0 {
                continue;
            }
            let span = region_bytes(bytes, descriptor.offset, descriptor.length);
            bytes_hashed += span.len() as u64;
            let actual = Digest::of(span);
            if actual != descriptor.digest {
                return Err(Mismatch {
                    region,
                    expected: descriptor.digest,
                    actual,
                }
                .into());
            }
        }
        let mut resources = 0;
        for entry in &self.tier0.entries {
            self.decode_tier0(entry)?;
            resources += 1;
        }
        for (number, descriptor) in self.layout.groups.iter().enumerate() {
            let group = self
                .tier1
                .decode(bytes, &self.layout, &self.tier1_names, number)?;
            bytes_hashed += descriptor.compressed_length + descriptor.decompressed_length;
            for entry in &group.index.entries {
                if number < self.layout.code_groups {
                    resources += 1;
                }
                let name = String::from_utf8_lossy(
                    group.bytes.get(entry.name.range()).unwrap_or_default(),
                );
                group
                    .index
                    .decode(&group.bytes, entry, Space::Tier1Group(number as u32), 0)
                    .map_err(|error| ContainerError::from(error).in_resource(&name))?;
            }
        }
        Ok(VerificationReport {
            resources,
            chunks: self.layout.chunk_count,
            groups: self.layout.groups.len() as u32,
            bytes_hashed,
        })
    }

    /// Verification and decompression done so far.
    pub fn stats(&self) -> AccessStats {
        AccessStats {
            chunks_verified: self.verifier.verified_count(),
            chunk_count: self.verifier.chunk_count(),
            chunk_bytes_hashed: self.verifier.hashed_bytes(),
            groups_loaded: self.tier1.loaded_count(),
            group_count: self.layout.groups.len(),
            bytes_decompressed: self.tier1.decompressed_bytes(),
        }
    }

    /// The tier-0 chunk size in bytes.
    pub fn chunk_size(&self) -> usize {
        self.verifier.chunk_size()
    }

    fn tier0_bytes(&self) -> &[u8] {
        region_bytes(
            self.backing.bytes(),
            self.layout.tier0.offset,
            self.layout.tier0.length,
        )
    }

    fn verify_tier0(&self, range: Range<usize>) -> Result<(), Mismatch> {
        let digests = region_bytes(
            self.backing.bytes(),
            self.layout.chunk_digests,
            u64::from(self.layout.chunk_count) * super::digest::DIGEST_LEN as u64,
        );
        self.verifier
            .verify(self.tier0_bytes(), digests, range, self.layout.tier0.offset)
    }

    fn span(&self, span: Span) -> &[u8] {
        self.backing.bytes().get(span.range()).unwrap_or_default()
    }

    fn tier0_name(&self, entry: &PackedEntry) -> &[u8] {
        self.tier0_bytes()
            .get(entry.name.range())
            .unwrap_or_default()
    }

    fn find(&self, name: &str) -> Option<Slot> {
        let name = name.as_bytes();
        if let Ok(entry) = self
            .tier0
            .entries
            .binary_search_by(|entry| self.tier0_name(entry).cmp(name))
        {
            return Some(Slot::Tier0(entry));
        }
        self.tier1_names
            .binary_search_by(|candidate| self.span(candidate.name).cmp(name))
            .ok()
            .map(Slot::Tier1)
    }

    fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        let (mut i, mut j) = (0, 0);
        std::iter::from_fn(move || {
            let left = self
                .tier0
                .entries
                .get(i)
                .map(|entry| self.tier0_name(entry));
            let right = self.tier1_names.get(j).map(|name| self.span(name.name));
            let take_left = match (left, right) {
                (None, None) => return None,
                (Some(left), Some(right)) => left < right,
                (left, _) => left.is_some(),
            };
            if take_left {
                i += 1;
                Some(Slot::Tier0(i - 1))
            } else {
                j += 1;
                Some(Slot::Tier1(j - 1))
            }
        })
    }

    fn summary_of(&self, slot: Slot) -> ResourceSummary<'_> {
        let (bytes, tier, flags) = match slot {
            Slot::Tier0(entry) => match self.tier0.entries.get(entry) {
                Some(entry) => (self.tier0_name(entry), Tier::Raw, entry.flags),
                None => (&[][..], Tier::Raw, ResourceFlags::default()),
            },
            Slot::Tier1(position) => match self.tier1_names.get(position) {
                Some(name) => (self.span(name.name), Tier::Compressed, name.flags),
                None => (&[][..], Tier::Compressed, ResourceFlags::default()),
            },
        };
        ResourceSummary {
            // Names were checked to be UTF-8 when the container was opened.
            name: std::str::from_utf8(bytes).unwrap_or_default(),
            tier,
            flags,
        }
    }

    fn resource_at(&self, slot: Slot) -> Result<Resource<'_, u8>, ContainerError> {
        let name = self.summary_of(slot).name;
        let decoded = match slot {
            Slot::Tier0(entry) => match self.tier0.entries.get(entry) {
                Some(entry) => self.decode_tier0(entry),
                None => Err(FormatError::MissingField {
                    field: "resource",
                    at: super::error::Location::container(0),
                }
                .into()),
            },
            Slot::Tier1(position) => self.tier1_entry(position).and_then(|(group, entry)| {
                let number = self.group_of(position) as u32;
                let mut resource =
                    group
                        .index
                        .decode(&group.bytes, entry, Space::Tier1Group(number), 0)?;
                if self.layout.code_groups < self.layout.groups.len() {
                    let (group, entry) = self.tier1_source_entry(position)?;
                    let number = self.source_group_of(position) as u32;
                    let source =
                        group
                            .index
                            .decode(&group.bytes, entry, Space::Tier1Group(number), 0)?;
                    resource.in_memory_source = source.in_memory_source;
                }
                Ok(resource)
            }),
        };
        decoded.map_err(|error| error.in_resource(name))
    }

    fn decode_tier0(&self, entry: &PackedEntry) -> Result<Resource<'_, u8>, ContainerError> {
        let name = String::from_utf8_lossy(self.tier0_name(entry));
        let in_resource = |error: ContainerError| error.in_resource(&name);
        for span in self.tier0.spans_of(entry) {
            self.verify_tier0(span.range())
                .map_err(|mismatch| in_resource(mismatch.into()))?;
        }
        self.tier0
            .decode(
                self.tier0_bytes(),
                entry,
                Space::Container,
                self.layout.tier0.offset,
            )
            .map_err(|error| in_resource(error.into()))
    }

    /// The code group holding tier-1 position `position`.
    fn group_of(&self, position: usize) -> usize {
        let code = self.layout.groups.get(..self.layout.code_groups);
        code.unwrap_or_default()
            .partition_point(|group| group.resources().end <= position)
    }

    /// The group holding the source of tier-1 position `position`: its
    /// source group, or its code group when there are no source groups.
    fn source_group_of(&self, position: usize) -> usize {
        match self.layout.groups.get(self.layout.code_groups..) {
            Some(sources) if !sources.is_empty() => {
                self.layout.code_groups
                    + sources.partition_point(|group| group.resources().end <= position)
            }
            _ => self.group_of(position),
        }
    }

    /// The entry of tier-1 position `position` in its code group.
    fn tier1_entry(
        &self,
        position: usize,
    ) -> Result<(&DecodedGroup, &PackedEntry), ContainerError> {
        self.tier1_entry_in(position, self.group_of(position))
    }

    /// The entry of tier-1 position `position` in the group with its source.
    fn tier1_source_entry(
        &self,
        position: usize,
    ) -> Result<(&DecodedGroup, &PackedEntry), ContainerError> {
        self.tier1_entry_in(position, self.source_group_of(position))
    }

    fn tier1_entry_in(
        &self,
        position: usize,
        number: usize,
    ) -> Result<(&DecodedGroup, &PackedEntry), ContainerError> {
        let group = self.tier1.group(
            self.backing.bytes(),
            &self.layout,
            &self.tier1_names,
            number,
        )?;
        let first = self
            .layout
            .groups
            .get(number)
            .map_or(0, |group| group.first_resource as usize);
        let entry = group
            .index
            .entries
            .get(position.saturating_sub(first))
            .ok_or(FormatError::MissingField {
                field: "tier-1 resource",
                at: super::error::Location {
                    space: Space::Tier1Group(number as u32),
                    offset: 0,
                },
            })?;
        Ok((group, entry))
    }
}

/// `length` bytes at `offset`, or an empty slice if out of range (the index
/// parser has already proved every region lies within the container).
fn region_bytes(bytes: &[u8], offset: u64, length: u64) -> &[u8] {
    usize::try_from(offset)
        .ok()
        .zip(usize::try_from(length).ok())
        .and_then(|(offset, length)| bytes.get(offset..offset.checked_add(length)?))
        .unwrap_or_default()
}

impl fmt::Debug for Container<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Container")
            .field("content_digest", &self.content_digest())
            .field("memory_mapped", &self.is_memory_mapped())
            .field("tier0_resources", &self.tier0.entries.len())
            .field("tier1_resources", &self.tier1_names.len())
            .field("layout", &self.layout)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::resources::{ContainerWriter, DictionaryPolicy, HeaderFlags, WriteOptions};

    fn module(name: String, bytecode_len: usize) -> Resource<'static, u8> {
        let seed = name.len() as u8;
        Resource {
            is_python_module: true,
            in_memory_source: Some(Cow::Owned(vec![b's'; bytecode_len / 4])),
            in_memory_bytecode: Some(Cow::Owned(
                (0..bytecode_len)
                    .map(|i| (i as u8).wrapping_mul(seed))
                    .collect(),
            )),
            name: Cow::Owned(name),
            ..Resource::default()
        }
    }

    fn build(tier0: usize, tier1: usize) -> Vec<u8> {
        let mut writer = ContainerWriter::new(WriteOptions {
            group_target_size: 32 * 1024,
            dictionary: DictionaryPolicy::Never,
            ..WriteOptions::default()
        });
        for i in 0..tier0 {
            writer
                .add(module(format!("hot{i:03}"), 10_000), Tier::Raw)
                .unwrap();
        }
        for i in 0..tier1 {
            writer
                .add(module(format!("cold{i:03}"), 3_000), Tier::Compressed)
                .unwrap();
        }
        writer.write().unwrap()
    }

    #[test]
    fn container_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Container<'static>>();
    }

    #[test]
    fn opening_and_reading_verify_only_what_they_touch() {
        let bytes = build(200, 0);
        let container = Container::from_bytes(&bytes).unwrap();
        let opened = container.stats();
        assert!(opened.chunk_count > 150, "{opened:?}");
        // The v3 indices and names of 200 resources fit in one chunk.
        assert_eq!(opened.chunks_verified, 1, "{opened:?}");

        let bytecode = container
            .data("hot100", DataField::Bytecode)
            .unwrap()
            .unwrap();
        assert_eq!(bytecode.len(), 10_000);
        let after = container.stats();
        assert!(
            after.chunks_verified <= opened.chunks_verified + 2,
            "{after:?}"
        );
        assert!(after.chunk_bytes_hashed <= opened.chunk_bytes_hashed + 2 * 16384);

        // Reading the same bytes again hashes nothing.
        container.data("hot100", DataField::Bytecode).unwrap();
        assert_eq!(container.stats(), after);

        // Source lives in another section: fetching it verifies other chunks.
        container
            .data("hot100", DataField::Source)
            .unwrap()
            .unwrap();
        assert!(container.stats().chunks_verified > after.chunks_verified);

        let report = container.verify_all().unwrap();
        assert_eq!(report.resources, 200);
        assert_eq!(container.stats().chunks_verified, opened.chunk_count);
    }

    #[test]
    fn a_tier1_group_is_decoded_once_for_all_threads() {
        let bytes = build(1, 40);
        let container = Container::from_bytes(&bytes).unwrap();
        assert!(container.layout().groups.len() > 2);
        assert_eq!(container.stats().groups_loaded, 0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let bytecode = container
                        .data("cold005", DataField::Bytecode)
                        .unwrap()
                        .unwrap();
                    assert_eq!(bytecode.len(), 3_000);
                });
            }
        });
        let stats = container.stats();
        assert_eq!(stats.groups_loaded, 1);
        let group = &container.layout().groups[0];
        assert_eq!(stats.bytes_decompressed, group.decompressed_length);
        // A sibling in the same group costs nothing more.
        container
            .data("cold000", DataField::Bytecode)
            .unwrap()
            .unwrap();
        assert_eq!(container.stats(), stats);

        // Sources are in groups of their own, after the code groups: reading
        // bytecode decompressed none of them, reading a source decodes one.
        let layout = container.layout();
        assert!(layout.header.flags.contains(HeaderFlags::SOURCE_GROUPS));
        assert!(layout.code_groups > 0 && layout.code_groups < layout.groups.len());
        let source = container
            .data("cold005", DataField::Source)
            .unwrap()
            .unwrap();
        assert_eq!(source, vec![b's'; 750]);
        let after = container.stats();
        assert_eq!(after.groups_loaded, 2);
        let full = container.resource("cold005").unwrap().unwrap();
        assert_eq!(full.in_memory_source.as_deref(), Some(source));
        assert_eq!(full.in_memory_bytecode.unwrap().len(), 3_000);
        assert_eq!(container.stats(), after);
        assert_eq!(container.verify_all().unwrap().resources, 41);
    }

    #[test]
    fn verifying_ahead_marks_the_field_and_leaves_damage_for_the_read() {
        let bytes = build(200, 0);
        let container = Container::from_bytes(&bytes).unwrap();
        assert!(container.claim_verify_ahead());
        assert!(!container.claim_verify_ahead());
        let hashed = container.verify_field_ahead(DataField::Bytecode);
        // 200 × 10 000 bytes of bytecode, rounded out to whole chunks.
        assert!(
            (2_000_000..2_000_000 + 2 * 16384).contains(&hashed),
            "{hashed}"
        );
        let stats = container.stats();
        container
            .data("hot100", DataField::Bytecode)
            .unwrap()
            .unwrap();
        assert_eq!(
            container.stats(),
            stats,
            "the read found its chunks verified"
        );
        // Sources were not touched.
        container
            .data("hot100", DataField::Source)
            .unwrap()
            .unwrap();
        assert!(container.stats().chunks_verified > stats.chunks_verified);
        assert_eq!(container.verify_field_ahead(DataField::Bytecode), 0);

        // A damaged chunk in the field stops the walk unmarked; the read
        // that needs it fails.
        let mut damaged = build(200, 0);
        let container = Container::from_bytes(&bytes).unwrap();
        let span = container
            .data("hot150", DataField::Bytecode)
            .unwrap()
            .unwrap();
        let at = span.as_ptr() as usize - bytes.as_ptr() as usize;
        damaged[at + 5] ^= 1;
        let container = Container::from_bytes(&damaged).unwrap();
        container.verify_field_ahead(DataField::Bytecode);
        let error = container
            .data("hot150", DataField::Bytecode)
            .unwrap_err()
            .to_string();
        assert!(error.contains("hot150"), "{error}");
        assert!(container.data("hot000", DataField::Bytecode).is_ok());
    }

    #[test]
    fn summaries_merge_both_tiers_in_name_order() {
        let bytes = build(3, 3);
        let container = Container::from_bytes(&bytes).unwrap();
        let names: Vec<_> = container.summaries().map(|s| (s.name, s.tier)).collect();
        assert_eq!(
            names,
            [
                ("cold000", Tier::Compressed),
                ("cold001", Tier::Compressed),
                ("cold002", Tier::Compressed),
                ("hot000", Tier::Raw),
                ("hot001", Tier::Raw),
                ("hot002", Tier::Raw),
            ]
        );
        assert_eq!(container.resource_count(), 6);
        assert!(container.contains("cold001"));
        assert!(!container.contains("cold"));
        assert_eq!(container.resource("missing").unwrap(), None);
        assert_eq!(container.data("missing", DataField::Source).unwrap(), None);
        assert_eq!(container.data("hot000", DataField::FileData).unwrap(), None);
        let summary = container.summary("hot001").unwrap();
        assert!(summary.flags.contains(ResourceFlags::PYTHON_MODULE));
        let all: Vec<_> = container.resources().collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].name, "cold000");
    }

    #[test]
    fn verified_slice_checks_its_range() {
        let bytes = build(2, 0);
        let container = Container::from_bytes(&bytes).unwrap();
        let length = container.layout().tier0.length as usize;
        assert!(matches!(
            container.verified_slice(length - 1..length + 1),
            Err(ContainerError::RangeOutOfBounds { .. })
        ));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 5..1;
        assert!(container.verified_slice(backwards).is_err());
        assert_eq!(container.verified_slice(length..length).unwrap(), b"");
        assert_eq!(container.tier0().unwrap().len(), length);
    }
}
