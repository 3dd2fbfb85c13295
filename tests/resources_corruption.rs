//! Damaged and malformed containers: every failure is a typed error that says
//! what and where, and nothing panics.

mod resources_support;

use proptest::prelude::*;
use pyembed::resources::{
    Container, ContainerError, DataField, FormatError, Location, Region, Space,
};
use resources_support::{find, fixture, reseal};

fn open(bytes: &[u8]) -> Result<Container<'_>, ContainerError> {
    Container::from_bytes(bytes)
}

/// Opens and reads everything; the first error, if any.
fn open_and_verify(bytes: &[u8]) -> Result<(), ContainerError> {
    let container = open(bytes)?;
    for resource in container.resources() {
        resource?;
    }
    container.verify_all().map(drop)
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut damaged = bytes.to_vec();
    damaged[bit / 8] ^= 1 << (bit % 8);
    damaged
}

fn tier0_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let layout = open(bytes).unwrap().layout().clone();
    layout.tier0.offset as usize..layout.tier0.end() as usize
}

#[test]
fn fixture_is_sound() {
    let bytes = fixture();
    let container = open(&bytes).unwrap();
    let layout = container.layout();
    assert!(layout.chunk_count > 3, "{layout:?}");
    assert!(layout.groups.len() > 3, "{layout:?}");
    assert!(layout.dictionary.length > 0);
    assert_eq!(container.verify_all().unwrap().resources, 42);
}

#[test]
fn every_header_bit_flip_is_detected() {
    let bytes = fixture();
    for bit in 0..128 * 8 {
        let error = open(&flip(&bytes, bit)).unwrap_err();
        let expected = match bit / 8 {
            0..8 => matches!(
                error,
                ContainerError::Format {
                    problem: FormatError::BadMagic { .. },
                    ..
                }
            ),
            8..12 => matches!(
                error,
                ContainerError::Format {
                    problem: FormatError::UnsupportedVersion { .. },
                    ..
                }
            ),
            _ => matches!(
                error,
                ContainerError::DigestMismatch {
                    region: Region::Header,
                    ..
                }
            ),
        };
        assert!(expected, "bit {bit}: {error}");
    }
}

#[test]
fn every_index_bit_flip_is_detected() {
    let bytes = fixture();
    let index_end = 128 + open(&bytes).unwrap().layout().header.index_length as usize;
    for bit in 128 * 8..index_end * 8 {
        let error = open(&flip(&bytes, bit)).unwrap_err();
        assert!(
            matches!(
                error,
                ContainerError::DigestMismatch {
                    region: Region::Index,
                    resource: None,
                    ..
                }
            ),
            "bit {bit}: {error}"
        );
    }
}

#[test]
fn padding_must_be_zero() {
    let bytes = fixture();
    let container = open(&bytes).unwrap();
    let index_end = 128 + container.layout().header.index_length as usize;
    let tier0 = container.layout().tier0.offset as usize;
    for offset in (index_end..tier0).step_by(97) {
        let mut damaged = bytes.clone();
        damaged[offset] = 0x5a;
        let error = open(&damaged).unwrap_err();
        assert!(
            matches!(
                error,
                ContainerError::Format {
                    problem: FormatError::NonZeroPadding { offset: o, value: 0x5a },
                    ..
                } if o == offset as u64
            ),
            "{error}"
        );
    }
}

#[test]
fn tier0_bit_flips_are_caught_in_the_right_chunk() {
    let bytes = fixture();
    let tier0 = tier0_range(&bytes);
    let chunk_size = 4096;
    for bit in (tier0.start * 8..tier0.end * 8).step_by(331) {
        let damaged = flip(&bytes, bit);
        let chunk = (bit / 8 - tier0.start) / chunk_size;
        let error = open_and_verify(&damaged).unwrap_err();
        match error {
            ContainerError::DigestMismatch {
                region: Region::Tier0Chunk { index, offset, .. },
                expected,
                actual,
                ..
            } => {
                assert_eq!(index as usize, chunk, "bit {bit}");
                assert_eq!(offset as usize, tier0.start + chunk * chunk_size);
                assert_ne!(expected, actual);
            }
            other => panic!("bit {bit}: {other}"),
        }
    }
}

#[test]
fn a_damaged_resource_is_named_and_its_neighbours_still_load() {
    let bytes = fixture();
    let marker = find(&bytes, b"<<hot.m07>>");
    let damaged = flip(&bytes, (marker + 3) * 8);
    let container = open(&damaged).expect("damage outside the index chunks opens");
    let error = container.resource("hot.m07").unwrap_err();
    assert!(error.is_integrity_failure());
    assert_eq!(error.resource(), Some("hot.m07"));
    let message = error.to_string();
    assert!(
        message.contains("hot.m07") && message.contains("tier-0 chunk"),
        "{message}"
    );
    assert!(message.contains("hint:"), "{message}");
    let error = container.data("hot.m07", DataField::Bytecode).unwrap_err();
    assert_eq!(error.resource(), Some("hot.m07"));
    // The source of the same module lives in another section and is intact.
    assert!(
        container
            .data("hot.m07", DataField::Source)
            .unwrap()
            .is_some()
    );
    // A module far away in the bytecode section is unaffected.
    assert!(
        container
            .data("hot.m00", DataField::Bytecode)
            .unwrap()
            .is_some()
    );
    assert!(container.resource("cold.m00").unwrap().is_some());
    assert!(container.verify_all().unwrap_err().is_integrity_failure());
}

#[test]
fn a_damaged_tier1_group_is_named_and_other_groups_still_load() {
    let bytes = fixture();
    let container = open(&bytes).unwrap();
    let layout = container.layout().clone();
    let group = &layout.groups[2];
    let in_group: Vec<_> = container
        .summaries()
        .filter(|s| s.name.starts_with("cold"))
        .map(|s| s.name.to_owned())
        .collect();
    let victim = &in_group[group.first_resource as usize];
    let bystander = &in_group[layout.groups[0].first_resource as usize];
    let frame_start = (layout.tier1.offset + group.compressed_offset) as usize;
    for offset in [
        frame_start,
        frame_start + group.compressed_length as usize - 1,
    ] {
        let damaged = flip(&bytes, offset * 8 + 1);
        let container = open(&damaged).unwrap();
        let error = container.resource(victim).unwrap_err();
        assert!(
            matches!(
                error,
                ContainerError::DigestMismatch {
                    region: Region::Tier1Group { group: 2 },
                    resource: Some(ref name),
                    ..
                } if name == victim
            ),
            "{error}"
        );
        // Asking again reports the same cached failure.
        assert_eq!(
            container.resource(victim).unwrap_err().to_string(),
            error.to_string()
        );
        assert!(container.resource(bystander).unwrap().is_some());
        assert!(container.verify_all().is_err());
    }
}

#[test]
fn a_damaged_dictionary_is_reported() {
    let bytes = fixture();
    let dictionary = open(&bytes).unwrap().layout().dictionary;
    let damaged = flip(&bytes, (dictionary.offset as usize + 100) * 8);
    let container = open(&damaged).unwrap();
    assert!(container.resource("hot.m00").unwrap().is_some());
    let error = container.resource("cold.m00").unwrap_err();
    assert!(
        matches!(
            error,
            ContainerError::DigestMismatch {
                region: Region::Dictionary,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn every_truncation_of_header_and_index_and_sampled_tier_offsets_fail() {
    let bytes = fixture();
    let tier0_start = tier0_range(&bytes).start;
    let sampled = (tier0_start..bytes.len()).step_by(61);
    for length in (0..tier0_start).chain(sampled) {
        let error = open(&bytes[..length]).unwrap_err();
        assert!(
            matches!(
                error,
                ContainerError::Format {
                    problem: FormatError::Truncated { .. },
                    ..
                }
            ),
            "length {length}: {error}"
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"trailer");
    assert!(matches!(
        open(&longer),
        Err(ContainerError::Format {
            problem: FormatError::TrailingData { .. },
            ..
        })
    ));
}

#[test]
fn structural_errors_behind_valid_digests_are_precise() {
    let bytes = fixture();
    // Chunk size doubled: the chunk table no longer matches tier 0.
    let mut wrong = bytes.clone();
    wrong[28..32].copy_from_slice(&8192u32.to_le_bytes());
    reseal(&mut wrong);
    let error = open(&wrong).unwrap_err();
    assert!(
        matches!(
            error,
            ContainerError::Format {
                problem: FormatError::Mismatch {
                    field: "tier-0 chunk count",
                    ..
                },
                ..
            }
        ),
        "{error}"
    );

    // An unknown header flag.
    let mut wrong = bytes.clone();
    wrong[12] |= 0x80;
    reseal(&mut wrong);
    let error = open(&wrong).unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed packed resources: header flags at container offset 12 is 135, \
         but only bits 0 (tier 1), 1 (dictionary) and 2 (source groups) are defined"
    );

    // A group's decompressed digest that does not match what it decompresses to.
    let container = open(&bytes).unwrap();
    let layout = container.layout().clone();
    let groups_at = 128 + 160 + layout.chunk_count as usize * 32;
    let mut wrong = bytes.clone();
    wrong[groups_at + 96 + 64] ^= 1;
    reseal(&mut wrong);
    let container = open(&wrong).unwrap();
    let error = container.verify_all().unwrap_err();
    assert!(
        matches!(
            error,
            ContainerError::DigestMismatch {
                region: Region::Tier1GroupDecompressed { group: 1 },
                ..
            }
        ),
        "{error}"
    );

    // A tier-1 name in the index that its group does not contain.
    let mut wrong = bytes.clone();
    let name_at = find(&wrong[..layout.tier0.offset as usize], b"cold.m29");
    wrong[name_at + 7] = b'8' + 2; // "cold.m2:" still sorts last
    reseal(&mut wrong);
    let container = open(&wrong).unwrap();
    let error = container.resource("cold.m2:").unwrap_err();
    assert!(
        matches!(
            error,
            ContainerError::Format {
                problem: FormatError::Invalid {
                    field: "tier-1 resource name",
                    at: Location {
                        space: Space::Tier1Group(_),
                        ..
                    },
                    ..
                },
                ..
            }
        ),
        "{error}"
    );

    // A tier-1 name that duplicates a tier-0 name: rewrite the last tier-1
    // name ("cold.m29", 8 bytes) as "hot.m07" (7 bytes), shrinking the name
    // table, the index and its length fields by one byte.
    let mut wrong = bytes.clone();
    let name_at = find(&wrong[..layout.tier0.offset as usize], b"cold.m29");
    wrong[name_at - 2..name_at].copy_from_slice(&7u16.to_le_bytes());
    wrong[name_at..name_at + 8].copy_from_slice(b"hot.m07\0");
    let names_length = u32::from_le_bytes(wrong[128 + 156..128 + 160].try_into().unwrap());
    wrong[128 + 156..128 + 160].copy_from_slice(&(names_length - 1).to_le_bytes());
    let index_length = u64::from_le_bytes(wrong[40..48].try_into().unwrap());
    wrong[40..48].copy_from_slice(&(index_length - 1).to_le_bytes());
    reseal(&mut wrong);
    let error = open(&wrong).unwrap_err();
    assert!(
        matches!(
            error,
            ContainerError::Format {
                problem: FormatError::DuplicateName {
                    at: Location { offset, .. }
                },
                ..
            } if offset == name_at as u64
        ),
        "{error}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
        seal in any::<bool>(),
    ) {
        let mut bytes = fixture_cached().clone();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if seal && bytes.len() > 4096 {
            reseal(&mut bytes);
        }
        let _ = open_and_verify(&bytes);
    }

    /// Damage to tier 0's own v3 indices, with every digest recomputed so the
    /// bytes reach the v3 parser.
    #[test]
    fn resealed_damage_to_tier0_indices_never_panics(
        edits in prop::collection::vec((0..700usize, any::<u8>()), 1..6),
    ) {
        let mut bytes = fixture_cached().clone();
        let tier0 = tier0_range(&bytes).start;
        for (at, value) in edits {
            bytes[tier0 + at] = value;
        }
        reseal(&mut bytes);
        let _ = open_and_verify(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = open_and_verify(&bytes);
        let mut with_magic = b"\x89PYRC\r\n\x1a\x01\x00\x00\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = open_and_verify(&with_magic);
    }
}

fn fixture_cached() -> &'static Vec<u8> {
    static FIXTURE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(fixture)
}
