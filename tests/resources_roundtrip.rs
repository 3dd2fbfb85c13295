//! Write → read round trips, determinism, and interoperability of tier 0 with
//! the `python-packed-resources` crate.

mod resources_support;

use std::borrow::Cow;

use proptest::prelude::*;
use pyembed::resources::{
    Container, ContainerWriter, DictionaryPolicy, HeaderFlags, ResourceFlags, Tier, WriteError,
    WriteOptions, write_container,
};
use python_packed_resources::{Resource, load_resources};
use resources_support::{module, options, resource_set};

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_returns_the_input(set in resource_set(24), options in options()) {
        let bytes = write_container(set.clone(), &options).unwrap();
        let container = Container::from_bytes(&bytes).unwrap();
        prop_assert_eq!(container.resource_count(), set.len());
        for (expected, tier) in &set {
            let actual = container.resource(&expected.name).unwrap().unwrap();
            prop_assert_eq!(&actual, expected);
            let summary = container.summary(&expected.name).unwrap();
            prop_assert_eq!(summary.tier, *tier);
            prop_assert_eq!(summary.flags, ResourceFlags::of(expected));
        }
        // Listing is sorted by name and covers both tiers.
        let listed: Vec<_> = container.summaries().map(|s| s.name.to_owned()).collect();
        let mut names: Vec<_> = set.iter().map(|(r, _)| r.name.to_string()).collect();
        names.sort();
        prop_assert_eq!(listed, names);
        let report = container.verify_all().unwrap();
        prop_assert_eq!(report.resources, set.len());

        // Tier 0 is a plain v3 blob the crate's own parser reads, except for
        // one case where that parser panics (see `crate_can_read`).
        let expected: Vec<_> = set.iter().filter(|(_, t)| *t == Tier::Raw).map(|(r, _)| r).collect();
        if crate_can_read(&expected) {
            let tier0: Vec<_> = load_resources(container.tier0().unwrap())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(tier0.len(), expected.len());
            for (actual, expected) in tier0.iter().zip(expected) {
                prop_assert_eq!(actual, expected);
            }
        }
    }

    #[test]
    fn input_order_does_not_change_the_bytes(
        set in resource_set(16),
        shuffled_seed in any::<u64>(),
        options in options(),
    ) {
        let mut shuffled = set.clone();
        // Deterministic Fisher–Yates from the seed.
        let mut state = shuffled_seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let first = write_container(set, &options).unwrap();
        let second = write_container(shuffled, &options).unwrap();
        prop_assert_eq!(first, second);
    }
}

/// The crate's parser `expect`s a blob section for every field it reads,
/// even a zero-length one, and the v3 writer (the crate's and ours) emits no
/// section for a field whose payloads are all empty. Such blobs are valid and
/// our reader handles them; the crate's parser panics.
fn crate_can_read(resources: &[&Resource<'_, u8>]) -> bool {
    type Field = for<'a> fn(&'a Resource<'_, u8>) -> Option<&'a [u8]>;
    let fields: [Field; 7] = [
        |r| r.in_memory_source.as_deref(),
        |r| r.in_memory_bytecode.as_deref(),
        |r| r.in_memory_bytecode_opt1.as_deref(),
        |r| r.in_memory_bytecode_opt2.as_deref(),
        |r| r.in_memory_extension_module_shared_library.as_deref(),
        |r| r.in_memory_shared_library.as_deref(),
        |r| r.file_data_embedded.as_deref(),
    ];
    fields.iter().all(|field| {
        let values: Vec<_> = resources.iter().filter_map(|r| field(r)).collect();
        values.is_empty() || values.iter().any(|v| !v.is_empty())
    })
}

/// Zero-length payloads, including ones that leave a field without a blob
/// section, round-trip through our reader in both tiers.
#[test]
fn empty_payloads_round_trip() {
    let resource = Resource {
        name: Cow::Borrowed("empty"),
        in_memory_source: Some(Cow::Borrowed(b"")),
        in_memory_package_resources: Some(Default::default()),
        shared_library_dependency_names: Some(Vec::new()),
        ..Resource::default()
    };
    for tier in [Tier::Raw, Tier::Compressed] {
        let bytes = write_container([(resource.clone(), tier)], &WriteOptions::default()).unwrap();
        let container = Container::from_bytes(&bytes).unwrap();
        assert_eq!(container.resource("empty").unwrap().unwrap(), resource);
    }
}

#[test]
fn an_empty_container_is_valid() {
    let bytes = ContainerWriter::new(WriteOptions::default())
        .write()
        .unwrap();
    assert_eq!(bytes.len(), 4096 + 23);
    let container = Container::from_bytes(&bytes).unwrap();
    assert_eq!(container.resource_count(), 0);
    assert_eq!(container.layout().header.flags, HeaderFlags::empty());
    container.verify_all().unwrap();
}

fn many_small_modules(tier: Tier) -> Vec<(Resource<'static, u8>, Tier)> {
    (0..200)
        .map(|i| {
            (
                module(&format!("pkg{}.mod{i:03}", i % 7), 400 + (i * 37) % 900),
                tier,
            )
        })
        .collect()
}

#[test]
fn dictionary_training_is_deterministic_and_used_when_it_pays() {
    let options = WriteOptions {
        group_target_size: 2048,
        dictionary: DictionaryPolicy::Auto { max_size: 8192 },
        ..WriteOptions::default()
    };
    let first = write_container(many_small_modules(Tier::Compressed), &options).unwrap();
    let second = write_container(many_small_modules(Tier::Compressed), &options).unwrap();
    assert_eq!(
        first, second,
        "training must not depend on anything but its input"
    );
    let container = Container::from_bytes(&first).unwrap();
    assert!(
        container
            .layout()
            .header
            .flags
            .contains(HeaderFlags::DICTIONARY)
    );
    assert!(container.layout().dictionary.length > 0);
    container.verify_all().unwrap();

    let never = WriteOptions {
        dictionary: DictionaryPolicy::Never,
        ..options
    };
    let plain = write_container(many_small_modules(Tier::Compressed), &never).unwrap();
    assert!(
        first.len() < plain.len(),
        "Auto keeps the dictionary only if smaller"
    );
    let plain = Container::from_bytes(&plain).unwrap();
    assert!(
        !plain
            .layout()
            .header
            .flags
            .contains(HeaderFlags::DICTIONARY)
    );
    for resource in plain.resources() {
        let resource = resource.unwrap();
        assert_eq!(
            container.resource(&resource.name).unwrap().unwrap(),
            resource
        );
    }
}

#[test]
fn dictionary_always_fails_clearly_on_too_little_data() {
    let options = WriteOptions {
        dictionary: DictionaryPolicy::Always { max_size: 65536 },
        ..WriteOptions::default()
    };
    let error = write_container([(module("lonely", 100), Tier::Compressed)], &options).unwrap_err();
    assert!(
        matches!(error, WriteError::DictionaryTraining { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("hint:"), "{error}");
}

#[test]
fn writer_rejects_what_the_format_cannot_hold() {
    let mut writer = ContainerWriter::new(WriteOptions::default());
    writer.add(module("a", 10), Tier::Raw).unwrap();
    let duplicate = writer.add(module("a", 20), Tier::Compressed).unwrap_err();
    assert!(matches!(duplicate, WriteError::DuplicateResource { ref name } if name == "a"));
    assert!(matches!(
        writer.add(module("", 1), Tier::Raw),
        Err(WriteError::EmptyName)
    ));
    let long_name = "x".repeat(70_000);
    let mut writer = ContainerWriter::new(WriteOptions::default());
    writer.add(module(&long_name, 1), Tier::Raw).unwrap();
    assert!(matches!(
        writer.write(),
        Err(WriteError::FieldTooLarge {
            field: "resource name",
            max: 65535,
            ..
        })
    ));
    for options in [
        WriteOptions {
            chunk_size: 1000,
            ..WriteOptions::default()
        },
        WriteOptions {
            chunk_size: 2048,
            ..WriteOptions::default()
        },
        WriteOptions {
            group_target_size: 0,
            ..WriteOptions::default()
        },
        WriteOptions {
            compression_level: 99,
            ..WriteOptions::default()
        },
    ] {
        let error = write_container([(module("a", 1), Tier::Raw)], &options).unwrap_err();
        assert!(matches!(error, WriteError::InvalidOption { .. }), "{error}");
    }
}

#[test]
fn content_digest_tracks_content() {
    let options = WriteOptions::default();
    let a = write_container([(module("a", 100), Tier::Raw)], &options).unwrap();
    let b = write_container([(module("a", 101), Tier::Raw)], &options).unwrap();
    let a = Container::from_bytes(&a).unwrap();
    let b = Container::from_bytes(&b).unwrap();
    assert_ne!(a.content_digest(), b.content_digest());
    assert_eq!(a.content_digest().to_string().len(), 64);
}
