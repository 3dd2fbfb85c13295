//! Tier 1: zstd-compressed groups, decompressed on first touch.
//!
//! Resources assigned to tier 1 are sorted by name, cut into groups of about
//! [`WriteOptions::group_target_size`](super::WriteOptions) bytes, and each
//! group is written as its own python-packed-resources blob and compressed as
//! one zstd frame, optionally with a dictionary trained on the tier-1 data.
//! Grouping sorted names keeps a package's modules together, so the first
//! import from a package pays for one decompression that its siblings reuse.
//!
//! When any tier-1 resource has a module source, sources go into groups of
//! their own after the code groups (header flag `SOURCE_GROUPS`), so imports,
//! which read bytecode, never decompress sources.
//!
//! Reading a group: check the frame's SHA-256, decompress into a buffer of the
//! exact recorded size, parse the blob and check that it holds exactly the
//! names and flags the index lists for the group. The decompressed SHA-256 is
//! checked by eager verification only (see [`Checks`]). The outcome, success or failure, is stored in a `OnceLock` per
//! group, so the work happens once no matter how many threads ask, and the
//! resources handed out borrow from the cached buffer.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
};

use python_packed_resources::Resource;
use zstd::zstd_safe;

use super::{
    digest::Digest,
    error::{Fault, FormatError, Location, Mismatch, Region, Space, WriteError},
    index::{GroupDescriptor, Layout, Tier1Name},
    packed::{self, PackedIndex, ResourceFlags},
    writer::{DictionaryPolicy, WriteOptions},
};

/// A decompressed, verified and parsed tier-1 group.
#[derive(Debug)]
pub(crate) struct DecodedGroup {
    pub(crate) bytes: Box<[u8]>,
    pub(crate) index: PackedIndex,
}

/// Lazily filled caches for tier 1.
#[derive(Debug)]
pub(crate) struct Tier1Cache {
    groups: Box<[OnceLock<Result<DecodedGroup, Fault>>]>,
    dictionary: OnceLock<Result<Dictionary, Fault>>,
    decompressed_bytes: AtomicU64,
    /// Lazy verification off (benchmarks only): groups decoded on first use
    /// skip both digest checks. Eager decoding ([`Self::decode`]) always
    /// checks.
    trusted: AtomicBool,
}

/// Which digests decoding a group compares.
///
/// Decoding on first use checks the frame only: the decompressed bytes are a
/// deterministic function of the frame and the dictionary, both checked
/// against the verified index before zstd reads them, so hashing the output
/// as well (about four times as many bytes) would prove nothing new about
/// what reaches Python. Eager verification checks both, which also catches a
/// writer whose recorded decompressed digest disagrees with its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checks {
    /// Lazy verification off (benchmarks only).
    None,
    /// The frame digest (and the dictionary's).
    Frame,
    /// The frame and the decompressed digest.
    Both,
}

/// The decoder dictionary, if tier 1 uses one.
struct Dictionary(Option<zstd_safe::DDict<'static>>);

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Dictionary(loaded)"
        } else {
            "Dictionary(none)"
        })
    }
}

impl Tier1Cache {
    pub(crate) fn new(group_count: usize) -> Tier1Cache {
        Tier1Cache {
            groups: (0..group_count).map(|_| OnceLock::new()).collect(),
            dictionary: OnceLock::new(),
            decompressed_bytes: AtomicU64::new(0),
            trusted: AtomicBool::new(false),
        }
    }

    /// Turns off the digest checks of groups decoded on first use from now
    /// on (see `Container::skip_lazy_verification`).
    pub(crate) fn trust_all(&self) {
        self.trusted.store(true, Ordering::Relaxed);
    }

    /// Number of groups decoded and cached so far.
    pub(crate) fn loaded_count(&self) -> usize {
        self.groups
            .iter()
            .filter(|cell| matches!(cell.get(), Some(Ok(_))))
            .count()
    }

    /// Bytes decompressed so far (cached or not).
    pub(crate) fn decompressed_bytes(&self) -> u64 {
        self.decompressed_bytes.load(Ordering::Relaxed)
    }

    /// The decoded group `group`, decoding it on first use.
    pub(crate) fn group(
        &self,
        container: &[u8],
        layout: &Layout,
        names: &[Tier1Name],
        group: usize,
    ) -> Result<&DecodedGroup, Fault> {
        let cell = self.groups.get(group).ok_or(FormatError::Invalid {
            field: "tier-1 group number",
            at: Location::container(0),
            actual: group as u64,
            requirement: "it must name a group in the index",
        })?;
        let verify = !self.trusted.load(Ordering::Relaxed);
        let checks = if verify { Checks::Frame } else { Checks::None };
        cell.get_or_init(|| self.decode_checked(container, layout, names, group, checks))
            .as_ref()
            .map_err(|fault| *fault)
    }

    /// Decodes group `group` without caching it (for eager verification).
    pub(crate) fn decode(
        &self,
        container: &[u8],
        layout: &Layout,
        names: &[Tier1Name],
        group: usize,
    ) -> Result<DecodedGroup, Fault> {
        self.decode_checked(container, layout, names, group, Checks::Both)
    }

    /// Decodes group `group`, checking the digests `checks` asks for.
    fn decode_checked(
        &self,
        container: &[u8],
        layout: &Layout,
        names: &[Tier1Name],
        group: usize,
        checks: Checks,
    ) -> Result<DecodedGroup, Fault> {
        let number = u32::try_from(group).unwrap_or(u32::MAX);
        let descriptor = layout.groups.get(group).ok_or(FormatError::Invalid {
            field: "tier-1 group number",
            at: Location::container(0),
            actual: group as u64,
            requirement: "it must name a group in the index",
        })?;
        let start = layout
            .tier1
            .offset
            .saturating_add(descriptor.compressed_offset);
        let frame = slice(
            container,
            start,
            descriptor.compressed_length,
            "tier-1 group",
        )?;
        if checks != Checks::None {
            check(
                frame,
                descriptor.compressed_digest,
                Region::Tier1Group { group: number },
            )?;
        }
        let dictionary = self
            .dictionary
            .get_or_init(|| load_dictionary(container, layout, number))
            .as_ref()
            .map_err(|fault| *fault)?;
        let bytes = decompress(frame, descriptor, dictionary.0.as_ref(), number)?;
        self.decompressed_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if checks == Checks::Both {
            check(
                &bytes,
                descriptor.decompressed_digest,
                Region::Tier1GroupDecompressed { group: number },
            )?;
        }
        let index = packed::parse_blob(&bytes, Space::Tier1Group(number), 0)?;
        check_membership(&index, &bytes, container, descriptor, names, number)?;
        Ok(DecodedGroup {
            bytes: bytes.into_boxed_slice(),
            index,
        })
    }
}

fn slice<'c>(
    container: &'c [u8],
    start: u64,
    length: u64,
    what: &'static str,
) -> Result<&'c [u8], FormatError> {
    usize::try_from(start)
        .ok()
        .zip(usize::try_from(length).ok())
        .and_then(|(start, length)| container.get(start..start.checked_add(length)?))
        .ok_or(FormatError::Truncated {
            what,
            at: Location::container(start),
            needed: length,
            available: (container.len() as u64).saturating_sub(start),
        })
}

fn check(bytes: &[u8], expected: Digest, region: Region) -> Result<(), Mismatch> {
    let actual = Digest::of(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(Mismatch {
            region,
            expected,
            actual,
        })
    }
}

fn load_dictionary(container: &[u8], layout: &Layout, group: u32) -> Result<Dictionary, Fault> {
    if layout.dictionary.length == 0 {
        return Ok(Dictionary(None));
    }
    let bytes = slice(
        container,
        layout.dictionary.offset,
        layout.dictionary.length,
        "dictionary",
    )?;
    check(bytes, layout.dictionary.digest, Region::Dictionary)?;
    let dictionary = zstd_safe::DDict::try_create(bytes).ok_or(FormatError::Decompress {
        group,
        reason: "zstd could not load the dictionary",
    })?;
    Ok(Dictionary(Some(dictionary)))
}

fn decompress(
    frame: &[u8],
    descriptor: &GroupDescriptor,
    dictionary: Option<&zstd_safe::DDict<'static>>,
    group: u32,
) -> Result<Vec<u8>, FormatError> {
    let expected = descriptor.decompressed_length;
    let at = Location::container(0);
    match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size == expected => {}
        Ok(Some(size)) => {
            return Err(FormatError::Mismatch {
                field: "zstd frame content size",
                at,
                expected,
                actual: size,
            });
        }
        _ => {
            return Err(FormatError::Decompress {
                group,
                reason: "the frame header does not record its content size",
            });
        }
    }
    // `expected` is at most MAX_GROUP_LEN (checked when the index was parsed),
    // and comes from a digest-verified index.
    let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    let mut context = zstd_safe::DCtx::try_create().ok_or(FormatError::Decompress {
        group,
        reason: "cannot allocate a zstd decompression context",
    })?;
    let result = match dictionary {
        Some(dictionary) => context.decompress_using_ddict(&mut out, frame, dictionary),
        None => context.decompress(&mut out, frame),
    };
    let written = result.map_err(|code| FormatError::Decompress {
        group,
        reason: zstd_safe::get_error_name(code),
    })?;
    if written as u64 != expected || out.len() as u64 != expected {
        return Err(FormatError::Mismatch {
            field: "decompressed group length",
            at,
            expected,
            actual: out.len() as u64,
        });
    }
    Ok(out)
}

/// Checks that a decoded group holds exactly the resources the index lists
/// for it, with the same flags.
fn check_membership(
    index: &PackedIndex,
    bytes: &[u8],
    container: &[u8],
    descriptor: &GroupDescriptor,
    names: &[Tier1Name],
    group: u32,
) -> Result<(), FormatError> {
    let listed = names.get(descriptor.resources()).unwrap_or_default();
    let at = |offset: usize| Location {
        space: Space::Tier1Group(group),
        offset: offset as u64,
    };
    if index.entries.len() != listed.len() {
        return Err(FormatError::Mismatch {
            field: "resources in tier-1 group",
            at: at(0),
            expected: listed.len() as u64,
            actual: index.entries.len() as u64,
        });
    }
    for (entry, listed) in index.entries.iter().zip(listed) {
        let name = bytes.get(entry.name.range());
        let expected = container.get(listed.name.range());
        if name.is_none() || name != expected {
            return Err(FormatError::Invalid {
                field: "tier-1 resource name",
                at: at(entry.name.start),
                actual: entry.name.len as u64,
                requirement: "it must match the name the index lists at this position",
            });
        }
        if entry.flags != listed.flags {
            return Err(FormatError::Mismatch {
                field: "tier-1 resource flags",
                at: at(entry.at),
                expected: listed.flags.bits().into(),
                actual: entry.flags.bits().into(),
            });
        }
    }
    Ok(())
}

/// Tier 1 as written: optional dictionary, concatenated frames, and groups.
pub(crate) struct CompressedTier1 {
    /// Whether source groups follow the code groups.
    pub(crate) source_groups: bool,
    pub(crate) dictionary: Vec<u8>,
    pub(crate) frames: Vec<u8>,
    pub(crate) groups: Vec<GroupDescriptor>,
}

/// Splits sorted `resources` into groups of about `target` bytes of data.
///
/// A resource larger than `target` gets a group of its own.
pub(crate) fn plan_groups(
    resources: &[&Resource<'_, u8>],
    target: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut size = 0u64;
    for (position, resource) in resources.iter().enumerate() {
        let weight = packed::data_len(resource);
        if position > start && size + weight > target as u64 {
            groups.push(start..position);
            start = position;
            size = 0;
        }
        size += weight;
    }
    if start < resources.len() {
        groups.push(start..resources.len());
    }
    groups
}

/// Source groups are this many times larger than the group target: sources
/// are read rarely (tracebacks, `inspect`), so they are cut for compression
/// rather than for the cost of a first read.
pub(crate) const SOURCE_GROUP_FACTOR: usize = 4;

/// Compresses sorted tier-1 `resources`.
///
/// When any of them has a source, sources go into groups of their own: the
/// code groups hold every resource without its source, then the source
/// groups hold every resource's name, flags and source (see
/// [`split_sources`]).
pub(crate) fn compress(
    resources: &[&Resource<'_, u8>],
    options: &WriteOptions,
) -> Result<CompressedTier1, WriteError> {
    let (code, sources) = split_sources(resources);
    let code_refs: Vec<&Resource<'_, u8>> = code.iter().collect();
    let mut plan = plan_groups(&code_refs, options.group_target_size);
    let mut blobs = plan
        .iter()
        .map(|range| packed::write_blob(&code_refs[range.clone()]))
        .collect::<Result<Vec<_>, _>>()?;
    let code_groups = plan.len();
    if let Some(sources) = &sources {
        let source_refs: Vec<&Resource<'_, u8>> = sources.iter().collect();
        let target = options
            .group_target_size
            .saturating_mul(SOURCE_GROUP_FACTOR);
        let source_plan = plan_groups(&source_refs, target);
        for range in &source_plan {
            blobs.push(packed::write_blob(&source_refs[range.clone()])?);
        }
        plan.extend(source_plan);
    }
    if let Some(blob) = blobs
        .iter()
        .find(|blob| blob.len() as u64 > super::index::MAX_GROUP_LEN)
    {
        return Err(WriteError::FieldTooLarge {
            resource: String::from("(a tier-1 group)"),
            field: "decompressed tier-1 group",
            length: blob.len() as u64,
            max: super::index::MAX_GROUP_LEN,
        });
    }

    let (max_size, required) = match options.dictionary {
        DictionaryPolicy::Never => (0, false),
        DictionaryPolicy::Auto { max_size } => (max_size, false),
        DictionaryPolicy::Always { max_size } => (max_size, true),
    };
    let plain = if required {
        None
    } else {
        Some(compress_all(&blobs, &[], options.compression_level)?)
    };
    let mut choice = (Vec::new(), plain);
    if max_size > 0 {
        let samples = training_samples(resources);
        match zstd::dict::from_samples(&samples, max_size) {
            Ok(dictionary) => {
                let frames = compress_all(&blobs, &dictionary, options.compression_level)?;
                let with = dictionary.len() + frames.iter().map(Vec::len).sum::<usize>();
                let without = choice
                    .1
                    .as_ref()
                    .map_or(usize::MAX, |frames| frames.iter().map(Vec::len).sum());
                if required || with < without {
                    choice = (dictionary, Some(frames));
                }
            }
            Err(source) if required => {
                return Err(WriteError::DictionaryTraining {
                    samples: samples.len(),
                    source,
                });
            }
            Err(_) => {}
        }
    }
    let (dictionary, frames) = choice;
    let frames = frames.unwrap_or_default();

    let mut out = CompressedTier1 {
        source_groups: code_groups < plan.len(),
        dictionary,
        frames: Vec::with_capacity(frames.iter().map(Vec::len).sum()),
        groups: Vec::with_capacity(frames.len()),
    };
    for ((range, blob), frame) in plan.iter().zip(&blobs).zip(&frames) {
        out.groups.push(GroupDescriptor {
            compressed_offset: out.frames.len() as u64,
            compressed_length: frame.len() as u64,
            decompressed_length: blob.len() as u64,
            first_resource: range.start as u32,
            resource_count: range.len() as u32,
            compressed_digest: Digest::of(frame),
            decompressed_digest: Digest::of(blob),
        });
        out.frames.extend_from_slice(frame);
    }
    Ok(out)
}

/// Splits tier-1 resources into what import reads and what it does not.
///
/// The first list holds each resource without its source; the second, only
/// when some resource has a source, holds each resource's name, flags and
/// source. Both list every resource, in order, so both sets of groups tile
/// the index's name table and carry the same names and flags.
fn split_sources<'r>(
    resources: &[&'r Resource<'_, u8>],
) -> (Vec<Resource<'r, u8>>, Option<Vec<Resource<'r, u8>>>) {
    let borrowed = |value: &'r Option<std::borrow::Cow<'_, [u8]>>| {
        value.as_deref().map(std::borrow::Cow::Borrowed)
    };
    let code = resources
        .iter()
        .map(|resource| {
            let mut code = Resource::clone(resource);
            code.in_memory_source = None;
            code
        })
        .collect();
    if resources
        .iter()
        .all(|resource| resource.in_memory_source.is_none())
    {
        return (code, None);
    }
    let sources = resources
        .iter()
        .map(|resource| Resource {
            name: std::borrow::Cow::Borrowed(resource.name.as_ref()),
            is_python_module: resource.is_python_module,
            is_python_builtin_extension_module: resource.is_python_builtin_extension_module,
            is_python_frozen_module: resource.is_python_frozen_module,
            is_python_extension_module: resource.is_python_extension_module,
            is_shared_library: resource.is_shared_library,
            is_utf8_filename_data: resource.is_utf8_filename_data,
            is_python_package: resource.is_python_package,
            is_python_namespace_package: resource.is_python_namespace_package,
            file_executable: resource.file_executable,
            in_memory_source: borrowed(&resource.in_memory_source),
            ..Resource::default()
        })
        .collect();
    (code, Some(sources))
}

/// Dictionary training samples: every payload of every tier-1 resource
/// (bytecode, source, data files), which is what the groups are made of.
fn training_samples<'r>(resources: &[&'r Resource<'_, u8>]) -> Vec<std::borrow::Cow<'r, [u8]>> {
    resources
        .iter()
        .flat_map(|resource| packed::payloads_of(resource))
        .filter(|payload| payload.len() >= 8)
        .collect()
}

/// Below this many uncompressed bytes in all, [`compress_all`] compresses on
/// the calling thread: starting threads (and asking the system how many to
/// start) costs more than it saves.
const PARALLEL_MIN_BYTES: usize = 64 * 1024;

/// Compresses each blob as one frame, spreading the work over threads.
///
/// Each frame depends only on its blob, the dictionary and the level, so the
/// output is the same whatever the thread count.
fn compress_all(
    blobs: &[Vec<u8>],
    dictionary: &[u8],
    level: i32,
) -> Result<Vec<Vec<u8>>, WriteError> {
    if blobs.iter().map(Vec::len).sum::<usize>() < PARALLEL_MIN_BYTES {
        return compress_batch(blobs, 0, dictionary, level);
    }
    let threads = thread::available_parallelism()
        .map_or(1, usize::from)
        .min(blobs.len())
        .max(1);
    let per_thread = blobs.len().div_ceil(threads).max(1);
    thread::scope(|scope| {
        let workers: Vec<_> = blobs
            .chunks(per_thread)
            .enumerate()
            .map(|(batch, chunk)| {
                scope.spawn(move || compress_batch(chunk, batch * per_thread, dictionary, level))
            })
            .collect();
        let mut frames = Vec::with_capacity(blobs.len());
        for worker in workers {
            let batch = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            frames.extend(batch);
        }
        Ok(frames)
    })
}

/// Compresses `blobs`, groups `first..`, one frame each, with one context.
fn compress_batch(
    blobs: &[Vec<u8>],
    first: usize,
    dictionary: &[u8],
    level: i32,
) -> Result<Vec<Vec<u8>>, WriteError> {
    let mut compressor =
        zstd::bulk::Compressor::with_dictionary(level, dictionary).map_err(|source| {
            WriteError::Compress {
                group: first as u32,
                source,
            }
        })?;
    for parameter in [
        zstd_safe::CParameter::ContentSizeFlag(true),
        zstd_safe::CParameter::ChecksumFlag(false),
        zstd_safe::CParameter::DictIdFlag(false),
    ] {
        compressor
            .set_parameter(parameter)
            .map_err(|source| WriteError::Compress {
                group: first as u32,
                source,
            })?;
    }
    blobs
        .iter()
        .enumerate()
        .map(|(offset, blob)| {
            compressor
                .compress(blob)
                .map_err(|source| WriteError::Compress {
                    group: (first + offset) as u32,
                    source,
                })
        })
        .collect()
}

/// Flags of the tier-1 resources, for the index name table.
pub(crate) fn name_table<'r>(resources: &[&'r Resource<'_, u8>]) -> Vec<(&'r str, ResourceFlags)> {
    resources
        .iter()
        .map(|resource| (resource.name.as_ref(), ResourceFlags::of(resource)))
        .collect()
}
