//! Shared helpers for the `resources_*` integration tests.
//!
//! None of these tests initialise Python: the container layer is pure Rust.

#![allow(dead_code)]

use std::{borrow::Cow, collections::HashMap, path::PathBuf};

use proptest::prelude::*;
use pyembed::resources::{ContainerWriter, DictionaryPolicy, Digest, Tier, WriteOptions};
use python_packed_resources::Resource;

/// A module whose bytecode is `len` bytes that embed a unique marker, so a
/// test can find the bytes of this resource inside a container.
pub fn module(name: &str, len: usize) -> Resource<'static, u8> {
    let mut bytecode = format!("<<{name}>>").into_bytes();
    let mut state = name
        .bytes()
        .fold(0x9e37_79b9u32, |h, b| h.rotate_left(5) ^ u32::from(b));
    // Words drawn from a shared vocabulary, like the names and opcodes that
    // recur across real bytecode (so a trained dictionary has something to
    // learn).
    const WORDS: [&[u8]; 16] = [
        b"__name__",
        b"__doc__",
        b"\xe3\x00\x00",
        b"return",
        b"self",
        b"import",
        b"__init__",
        b"\x97\x00d\x00",
        b"|\x00j\x01",
        b"None",
        b"isinstance",
        b"TypeError",
        b"__class__",
        b"\x02S\x00",
        b"args",
        b"kwargs",
    ];
    while bytecode.len() < len {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytecode.extend_from_slice(WORDS[(state >> 27) as usize % WORDS.len()]);
        bytecode.push((state >> 8) as u8);
    }
    bytecode.truncate(len.max(name.len() + 4));
    Resource {
        name: Cow::Owned(name.to_owned()),
        is_python_module: true,
        in_memory_bytecode: Some(Cow::Owned(bytecode)),
        in_memory_source: Some(Cow::Owned(format!("# source of {name}\n").into_bytes())),
        ..Resource::default()
    }
}

/// Where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("marker present")
}

/// A container with both tiers and a dictionary, small 4 KiB chunks and small
/// groups, so that every kind of region exists and has several parts.
pub fn fixture() -> Vec<u8> {
    let mut writer = ContainerWriter::new(WriteOptions {
        chunk_size: 4096,
        group_target_size: 8 * 1024,
        dictionary: DictionaryPolicy::Always { max_size: 4096 },
        ..WriteOptions::default()
    });
    for i in 0..12 {
        writer
            .add(module(&format!("hot.m{i:02}"), 3000), Tier::Raw)
            .unwrap();
    }
    for i in 0..30 {
        writer
            .add(module(&format!("cold.m{i:02}"), 1500), Tier::Compressed)
            .unwrap();
    }
    writer.write().unwrap()
}

fn u64_at(bytes: &[u8], at: usize) -> Option<usize> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    usize::try_from(u64::from_le_bytes(raw.try_into().ok()?)).ok()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(raw.try_into().ok()?) as usize)
}

fn digest_of(bytes: &[u8], start: usize, length: usize) -> Option<Digest> {
    Some(Digest::of(bytes.get(start..start.checked_add(length)?)?))
}

fn put_digest(bytes: &mut [u8], at: usize, digest: Option<Digest>) -> Option<()> {
    bytes
        .get_mut(at..at.checked_add(32)?)?
        .copy_from_slice(digest?.as_bytes());
    Some(())
}

/// Recomputes every digest a test may have invalidated (chunk, region, group
/// compressed, index and header digests), following `docs/format.md`. Lets a
/// test build a container that is structurally wrong but whose digests all
/// match, to reach the structural checks behind them. Digests whose fields
/// make no sense are left alone.
pub fn reseal(bytes: &mut [u8]) {
    let _ = try_reseal(bytes);
}

fn try_reseal(bytes: &mut [u8]) -> Option<()> {
    let index = 128;
    let index_length = u64_at(bytes, 40)?;
    let chunk_size = u32_at(bytes, 28)?.max(1);
    let region = |bytes: &[u8], n: usize| -> Option<(usize, usize, usize)> {
        let at = index + n * 48;
        Some((u64_at(bytes, at)?, u64_at(bytes, at + 8)?, at + 16))
    };
    let (t0_offset, t0_length, _) = region(bytes, 0)?;
    let chunks = u32_at(bytes, index + 144)?.min(bytes.len() / 32);
    for chunk in 0..chunks {
        let start = t0_offset.checked_add(chunk.checked_mul(chunk_size)?)?;
        let end = start
            .saturating_add(chunk_size)
            .min(t0_offset.saturating_add(t0_length));
        let digest = digest_of(bytes, start, end.saturating_sub(start));
        let _ = put_digest(bytes, index + 160 + chunk * 32, digest);
    }
    for n in 0..3 {
        let (offset, length, digest_at) = region(bytes, n)?;
        if length > 0 {
            let _ = put_digest(bytes, digest_at, digest_of(bytes, offset, length));
        }
    }
    let (t1_offset, _, _) = region(bytes, 2)?;
    let groups = u32_at(bytes, index + 148)?.min(bytes.len() / 96);
    let groups_at = index + 160 + chunks * 32;
    for group in 0..groups {
        let at = groups_at + group * 96;
        let offset = t1_offset.checked_add(u64_at(bytes, at)?)?;
        let length = u64_at(bytes, at + 8)?;
        let _ = put_digest(bytes, at + 32, digest_of(bytes, offset, length));
    }
    let digest = digest_of(bytes, index, index_length);
    put_digest(bytes, 48, digest)?;
    let digest = digest_of(bytes, 0, 96);
    put_digest(bytes, 96, digest)
}

/// A unique path in the system temporary directory.
pub fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "pyembed-resources-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Cow<'static, [u8]>>> {
    prop::option::of(bytes(max).prop_map(Cow::Owned))
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./-]{1,12}"
}

fn data_map() -> impl Strategy<Value = Option<HashMap<Cow<'static, str>, Cow<'static, [u8]>>>> {
    prop::option::of(
        prop::collection::btree_map(key(), bytes(64), 0..4).prop_map(|map| {
            map.into_iter()
                .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                .collect()
        }),
    )
}

fn path_map()
-> impl Strategy<Value = Option<HashMap<Cow<'static, str>, Cow<'static, std::path::Path>>>> {
    prop::option::of(
        prop::collection::btree_map(key(), key(), 0..3).prop_map(|map| {
            map.into_iter()
                .map(|(k, v)| (Cow::Owned(k), Cow::Owned(PathBuf::from(v))))
                .collect()
        }),
    )
}

fn opt_path() -> impl Strategy<Value = Option<Cow<'static, std::path::Path>>> {
    prop::option::of(key().prop_map(|p| Cow::Owned(PathBuf::from(p))))
}

/// Any resource (without its name), covering every field of the format.
pub fn resource_body() -> impl Strategy<Value = Resource<'static, u8>> {
    let flags = prop::array::uniform9(any::<bool>());
    let data = (
        opt_bytes(300),
        opt_bytes(3000),
        opt_bytes(64),
        opt_bytes(64),
        opt_bytes(64),
        opt_bytes(64),
        opt_bytes(200),
    );
    let maps = (data_map(), data_map(), path_map(), path_map());
    let paths = (
        opt_path(),
        opt_path(),
        opt_path(),
        opt_path(),
        opt_path(),
        prop::option::of(key()),
        prop::option::of(prop::collection::vec(key(), 0..3)),
    );
    (flags, data, maps, paths).prop_map(|(f, d, m, p)| Resource {
        name: Cow::Borrowed(""),
        is_python_module: f[0],
        is_python_builtin_extension_module: f[1],
        is_python_frozen_module: f[2],
        is_python_extension_module: f[3],
        is_shared_library: f[4],
        is_utf8_filename_data: f[5],
        is_python_package: f[6],
        is_python_namespace_package: f[7],
        file_executable: f[8],
        in_memory_source: d.0,
        in_memory_bytecode: d.1,
        in_memory_bytecode_opt1: d.2,
        in_memory_bytecode_opt2: d.3,
        in_memory_extension_module_shared_library: d.4,
        in_memory_shared_library: d.5,
        file_data_embedded: d.6,
        in_memory_package_resources: m.0,
        in_memory_distribution_resources: m.1,
        relative_path_package_resources: m.2,
        relative_path_distribution_resources: m.3,
        relative_path_module_source: p.0,
        relative_path_module_bytecode: p.1,
        relative_path_module_bytecode_opt1: p.2,
        relative_path_module_bytecode_opt2: p.3,
        relative_path_extension_module_shared_library: p.4,
        file_data_utf8_relative_path: p.5.map(Cow::Owned),
        shared_library_dependency_names: p
            .6
            .map(|names| names.into_iter().map(Cow::Owned).collect()),
    })
}

/// Named resources with unique names, each with a tier.
pub fn resource_set(max: usize) -> impl Strategy<Value = Vec<(Resource<'static, u8>, Tier)>> {
    prop::collection::btree_map(
        "[a-z_][a-z0-9_]{0,8}(\\.[a-z_][a-z0-9_]{0,8}){0,2}",
        (resource_body(), any::<bool>()),
        0..max,
    )
    .prop_map(|map| {
        map.into_iter()
            .map(|(name, (mut resource, compressed))| {
                resource.name = Cow::Owned(name);
                let tier = if compressed {
                    Tier::Compressed
                } else {
                    Tier::Raw
                };
                (resource, tier)
            })
            .collect()
    })
}

/// Writer options worth varying: chunk size, group size, dictionary use.
pub fn options() -> impl Strategy<Value = WriteOptions> {
    (
        prop::sample::select(vec![4096u32, 8192, 16384, 1 << 20]),
        prop::sample::select(vec![1usize, 700, 64 * 1024]),
        prop::sample::select(vec![
            DictionaryPolicy::Never,
            DictionaryPolicy::Auto { max_size: 2048 },
        ]),
        1..4i32,
    )
        .prop_map(
            |(chunk_size, group_target_size, dictionary, level)| WriteOptions {
                chunk_size,
                group_target_size,
                dictionary,
                compression_level: level,
            },
        )
}
