//! Compatibility with the `python-packed-resources` crate, and hostile input.

use std::{borrow::Cow, collections::HashMap, path::Path};

use python_packed_resources::{Resource, load_resources, write_packed_resources_v3};

use super::{PREAMBLE_LEN, ResourceFlags, parse_blob, write_blob};
use crate::resources::error::{FormatError, Space};

/// A resource using every field, with at most one entry per map (so the
/// crate's `HashMap` iteration order cannot differ from ours).
fn everything(name: &'static str) -> Resource<'static, u8> {
    let one = |key: &'static str, value: &'static [u8]| {
        Some(HashMap::from([(Cow::Borrowed(key), Cow::Borrowed(value))]))
    };
    let one_path = |key: &'static str, value: &'static str| {
        Some(HashMap::from([(
            Cow::Borrowed(key),
            Cow::Borrowed(Path::new(value)),
        )]))
    };
    Resource {
        name: Cow::Borrowed(name),
        is_python_module: true,
        is_python_builtin_extension_module: true,
        is_python_frozen_module: true,
        is_python_extension_module: true,
        is_shared_library: true,
        is_utf8_filename_data: true,
        is_python_package: true,
        is_python_namespace_package: true,
        in_memory_source: Some(Cow::Borrowed(b"source")),
        in_memory_bytecode: Some(Cow::Borrowed(b"bytecode")),
        in_memory_bytecode_opt1: Some(Cow::Borrowed(b"opt1")),
        in_memory_bytecode_opt2: Some(Cow::Borrowed(b"opt2")),
        in_memory_extension_module_shared_library: Some(Cow::Borrowed(b"\x7fELF ext")),
        in_memory_package_resources: one("data.txt", b"resource bytes"),
        in_memory_distribution_resources: one("METADATA", b"Name: x"),
        in_memory_shared_library: Some(Cow::Borrowed(b"\x7fELF lib")),
        shared_library_dependency_names: Some(vec![
            Cow::Borrowed("libz.so.1"),
            Cow::Borrowed("libm.so.6"),
        ]),
        relative_path_module_source: Some(Cow::Borrowed(Path::new("lib/x.py"))),
        relative_path_module_bytecode: Some(Cow::Borrowed(Path::new("lib/x.pyc"))),
        relative_path_module_bytecode_opt1: Some(Cow::Borrowed(Path::new("lib/x.opt-1.pyc"))),
        relative_path_module_bytecode_opt2: Some(Cow::Borrowed(Path::new("lib/x.opt-2.pyc"))),
        relative_path_extension_module_shared_library: Some(Cow::Borrowed(Path::new("lib/x.so"))),
        relative_path_package_resources: one_path("data.txt", "lib/x/data.txt"),
        relative_path_distribution_resources: one_path("RECORD", "lib/x.dist-info/RECORD"),
        file_executable: true,
        file_data_embedded: Some(Cow::Borrowed(b"#!/bin/sh")),
        file_data_utf8_relative_path: Some(Cow::Borrowed("bin/x")),
    }
}

fn sample() -> Vec<Resource<'static, u8>> {
    vec![
        everything("a"),
        Resource {
            name: Cow::Borrowed("b"),
            is_python_module: true,
            in_memory_bytecode: Some(Cow::Borrowed(b"only bytecode")),
            ..Resource::default()
        },
        everything("c.d"),
    ]
}

fn refs<'s, 'r>(resources: &'s [Resource<'r, u8>]) -> Vec<&'s Resource<'r, u8>> {
    resources.iter().collect()
}

fn parse_all(blob: &[u8]) -> Result<Vec<Resource<'_, u8>>, FormatError> {
    let index = parse_blob(blob, Space::Container, 0)?;
    index
        .entries
        .iter()
        .map(|entry| index.decode(blob, entry, Space::Container, 0))
        .collect()
}

#[test]
fn bytes_match_the_crate_writer() {
    let resources = sample();
    let ours = write_blob(&refs(&resources)).unwrap();
    let mut theirs = Vec::new();
    write_packed_resources_v3(&resources, &mut theirs, None).unwrap();
    assert_eq!(ours, theirs);

    let empty: Vec<Resource<'static, u8>> = Vec::new();
    let mut theirs = Vec::new();
    write_packed_resources_v3(&empty, &mut theirs, None).unwrap();
    assert_eq!(write_blob(&[]).unwrap(), theirs);
}

#[test]
fn the_crate_parser_reads_our_blobs() {
    let mut resources = sample();
    // Several map entries: only the order differs from the crate's writer.
    resources[0]
        .in_memory_package_resources
        .as_mut()
        .unwrap()
        .extend((0..20).map(|i| (Cow::Owned(format!("f{i}")), Cow::Owned(vec![i as u8; i]))));
    let blob = write_blob(&refs(&resources)).unwrap();
    let parsed: Vec<_> = load_resources(&blob)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(parsed, resources);
    assert_eq!(parse_all(&blob).unwrap(), resources);
}

#[test]
fn we_read_the_crate_blobs() {
    let resources = sample();
    let mut theirs = Vec::new();
    write_packed_resources_v3(&resources, &mut theirs, None).unwrap();
    assert_eq!(parse_all(&theirs).unwrap(), resources);
}

#[test]
fn flags_round_trip() {
    let resource = everything("x");
    let flags = ResourceFlags::of(&resource);
    assert_eq!(flags.bits(), 0x1ff);
    let mut blank = Resource::<u8>::default();
    flags.apply(&mut blank);
    assert_eq!(ResourceFlags::of(&blank), flags);
    assert_eq!(ResourceFlags::from_bits(0x200), None);
}

#[test]
fn empty_payload_without_a_section_is_read() {
    // The crate's parser panics on this (no blob section for a zero-length
    // field); ours returns the empty value.
    let resources = vec![Resource {
        name: Cow::Borrowed("m"),
        in_memory_source: Some(Cow::Borrowed(b"")),
        ..Resource::default()
    }];
    let blob = write_blob(&refs(&resources)).unwrap();
    assert_eq!(parse_all(&blob).unwrap(), resources);
}

#[test]
fn every_truncation_is_an_error() {
    let blob = write_blob(&refs(&sample())).unwrap();
    for len in 0..blob.len() {
        assert!(parse_all(&blob[..len]).is_err(), "length {len}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(matches!(
        parse_all(&longer),
        Err(FormatError::Mismatch {
            field: "total blob section length",
            ..
        })
    ));
}

#[test]
fn bit_flips_never_panic() {
    let blob = write_blob(&refs(&sample())).unwrap();
    for bit in 0..blob.len() * 8 {
        let mut damaged = blob.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        // Data bytes may flip without a structural error (integrity is the
        // container's job); the parser only must not panic or misbehave.
        let _ = parse_all(&damaged);
    }
}

#[test]
fn structural_errors_name_the_field() {
    let resources = sample();
    let blob = write_blob(&refs(&resources)).unwrap();
    // Resource count one too high.
    let mut wrong = blob.clone();
    wrong[13] += 1;
    assert_eq!(
        parse_all(&wrong),
        Err(FormatError::Mismatch {
            field: "resource count",
            at: crate::resources::Location::container(13),
            expected: 3,
            actual: 4,
        })
    );
    // Unknown field code in the first resource entry (after 0x01 and the
    // 3-byte name field).
    let blob_index_length = u32::from_le_bytes(blob[9..13].try_into().unwrap()) as usize;
    let entry = PREAMBLE_LEN + blob_index_length;
    let mut wrong = blob.clone();
    wrong[entry + 4] = 0x42;
    assert!(matches!(
        parse_all(&wrong),
        Err(FormatError::Invalid {
            field: "resource field",
            actual: 0x42,
            ..
        })
    ));
    // A second name field in one entry.
    let mut wrong = blob.clone();
    wrong[entry + 4] = 0x03;
    assert!(matches!(
        parse_all(&wrong),
        Err(FormatError::Duplicate { .. }) | Err(FormatError::Invalid { .. })
    ));
    // Names out of order.
    let mut reversed = resources.clone();
    reversed.reverse();
    let blob = write_blob(&refs(&reversed)).unwrap();
    assert!(matches!(
        parse_all(&blob),
        Err(FormatError::NamesOutOfOrder { .. })
    ));
}

#[test]
fn invalid_utf8_is_rejected_not_trusted() {
    let resources = vec![Resource {
        name: Cow::Borrowed("n"),
        file_data_utf8_relative_path: Some(Cow::Borrowed("p")),
        ..Resource::default()
    }];
    let mut blob = write_blob(&refs(&resources)).unwrap();
    let last = blob.len() - 1;
    blob[last] = 0xff;
    assert!(matches!(
        parse_all(&blob),
        Err(FormatError::InvalidUtf8 { .. })
    ));
    let name_at = last - 1;
    blob[name_at] = 0xc3;
    assert!(matches!(
        parse_all(&blob),
        Err(FormatError::InvalidUtf8 {
            field: "resource name",
            ..
        })
    ));
}
