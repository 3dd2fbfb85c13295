//! Damaged packed resources never reach `marshal`: importing a module whose
//! bytes fail their digest raises an `ImportError` naming the module, the
//! container and both digests, while every other module still imports.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::{Path, PathBuf};

use pyembed::resources::{Container, ContainerError, DataField, PackedResourcesSource, Tier};
use pyembed::{NewInterpreterError, OxidizedPythonInterpreterConfig};
use support::{TempDir, config, python, start_err};

fn hermetic(container: &Path) -> OxidizedPythonInterpreterConfig<'static> {
    let mut config = config(&["prog"]);
    config.oxidized_importer = true;
    config.filesystem_importer = false;
    config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
        container.to_path_buf(),
    )];
    config
}

/// A stable place for a damaged copy (the forked child re-runs the test
/// function and must find the same file).
fn damaged_copy(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("importer-damaged");
    std::fs::create_dir_all(&dir).expect("creating the directory for damaged containers");
    dir.join(name)
}

/// The digest error reading `field` of `name` from the container at `path`
/// reports: `(expected, actual)` as hex.
fn digest_error(path: &Path, name: &str, field: DataField) -> (String, String) {
    let container = Container::open(&PackedResourcesSource::MemoryMappedPath(path.to_path_buf()))
        .expect("the damaged container still opens");
    match container.data(name, field) {
        Err(ContainerError::DigestMismatch {
            expected, actual, ..
        }) => (expected.to_string(), actual.to_string()),
        other => panic!("expected a digest mismatch reading {name}, got {other:?}"),
    }
}

/// A copy of the stdlib-and-app container, written to `damaged_copy(name)`,
/// with one bit flipped in a tier-0 chunk that holds bytes of `victim`'s
/// bytecode and of nothing else.
fn victim_damaged(name: &str) -> PathBuf {
    let original = importer_support::stdlib_and_app();
    let damaged = damaged_copy(name);
    // Flip a bit in a tier-0 chunk that holds bytes of victim's bytecode and
    // of nothing else (its 96 KiB constant spans several whole chunks).
    let container = Container::open(&PackedResourcesSource::MemoryMappedPath(original.clone()))
        .expect("opening the container");
    let base = container.as_bytes().as_ptr() as usize;
    let bytecode = container
        .data("victim", DataField::Bytecode)
        .expect("readable")
        .expect("victim has bytecode");
    let start = bytecode.as_ptr() as usize - base;
    let end = start + bytecode.len();
    let chunk = container.chunk_size();
    let tier0 = container.layout().tier0.offset as usize;
    let first_whole = tier0 + (start - tier0).div_ceil(chunk) * chunk;
    assert!(
        first_whole + chunk <= end,
        "victim's bytecode spans a whole chunk"
    );
    importer_support::flip_bit(&original, first_whole + chunk / 2, 3, &damaged);
    damaged
}

#[test]
fn a_flipped_bit_in_bytecode_fails_that_module_only() {
    let damaged = victim_damaged("victim-bytecode.pyembed");
    let (expected, actual) = digest_error(&damaged, "victim", DataField::Bytecode);

    let damaged_path = damaged.clone();
    forked!(
        a_flipped_bit_in_bytecode_fails_that_module_only,
        &[],
        || {
            let (first, second, name, path, loaded, others, source): (
                String,
                String,
                String,
                String,
                bool,
                bool,
                bool,
            ) = python(
                hermetic(&damaged_path),
                r#"
                import sys
                def attempt():
                    try:
                        import victim
                    except ImportError as e:
                        return e
                first = attempt()
                second = attempt()
                import greet, victim_neighbour, json, pkgdemo.sub
                (str(first), str(second), first.name, first.path, "victim" in sys.modules,
                 greet.hello() == "hello" and victim_neighbour.OK and json.dumps(1) == "1",
                 "MARK = \"victim\"" in sys.meta_path[0].get_source("victim"))
                "#,
            );
            let container = damaged_path.to_str().expect("UTF-8");
            assert!(
                first.starts_with(&format!(
                    "cannot import 'victim' from packed resources {container}: reading its \
                     bytecode (optimization level 0): integrity check failed for tier-0 chunk "
                )),
                "{first}"
            );
            assert!(
                first.contains(&format!("expected SHA-256 {expected}, computed {actual}")),
                "{first}"
            );
            assert_eq!(first, second, "every attempt fails the same way");
            assert_eq!((name.as_str(), path.as_str()), ("victim", container));
            assert!(!loaded, "a failed import leaves nothing in sys.modules");
            assert!(others, "other modules still import");
            // The source lives in other chunks and is intact.
            assert!(source);
        }
    )
    .assert_success();
}

/// The benchmark-only switch really turns lazy verification off (so the
/// bench measures what it claims), and says so on standard error.
#[test]
fn the_benchmark_switch_skips_verification_and_warns() {
    let damaged = victim_damaged("victim-unverified.pyembed");
    let damaged_path = damaged.clone();
    forked!(
        the_benchmark_switch_skips_verification_and_warns,
        &[("PYEMBED_UNSAFE_SKIP_VERIFICATION", Some("1"))],
        || {
            let imported: bool = python(
                hermetic(&damaged_path),
                r#"
                import victim
                victim.MARK == "victim"
                "#,
            );
            assert!(imported, "the damaged module imported unverified");
        }
    )
    .assert_success()
    .assert_output_contains(
        "PYEMBED_UNSAFE_SKIP_VERIFICATION=1: packed resources are NOT verified",
    );
}

#[test]
fn a_damaged_compressed_group_fails_its_modules_only() {
    let original = importer_support::stdlib_compressed();
    let damaged = damaged_copy("tabnanny-group.pyembed");
    let container = Container::open(&PackedResourcesSource::MemoryMappedPath(original.clone()))
        .expect("opening the container");
    assert_eq!(
        container.summary("tabnanny").map(|s| s.tier),
        Some(Tier::Compressed),
        "the stdlib policy compresses tabnanny"
    );
    // Tier-1 names are in name order; groups tile them in that order.
    let tier1: Vec<&str> = container
        .summaries()
        .filter(|s| s.tier == Tier::Compressed)
        .map(|s| s.name)
        .collect();
    let group_of = |name: &str| {
        let position = tier1
            .iter()
            .position(|n| *n == name)
            .expect("a tier-1 name");
        container
            .layout()
            .groups
            .iter()
            .position(|g| g.resources().contains(&position))
            .expect("a group holds every tier-1 name")
    };
    let group = group_of("tabnanny");
    assert_ne!(group_of("bdb"), group, "bdb is in another group");
    let descriptor = container.layout().groups[group];
    let offset = container.layout().tier1.offset + descriptor.compressed_offset;
    importer_support::flip_bit(
        &original,
        (offset + descriptor.compressed_length / 2) as usize,
        0,
        &damaged,
    );
    drop(container);
    let (expected, actual) = digest_error(&damaged, "tabnanny", DataField::Bytecode);

    let damaged_path = damaged.clone();
    forked!(
        a_damaged_compressed_group_fails_its_modules_only,
        &[],
        || {
            let (error, others): (String, bool) = python(
                hermetic(&damaged_path),
                r#"
                try:
                    import tabnanny
                except ImportError as e:
                    error = str(e)
                import bdb, json
                (error, json.dumps([1]) == "[1]" and bdb.Bdb is not None)
                "#,
            );
            assert!(
                error.contains(&format!(
                    "integrity check failed for compressed tier-1 group {group} (resource \
                     \"tabnanny\"): expected SHA-256 {expected}, computed {actual}"
                )),
                "{error}"
            );
            assert!(error.starts_with("cannot import 'tabnanny' from packed resources"));
            assert!(others);
        }
    )
    .assert_success();
}

forked_test! {
    fn a_damaged_index_is_refused_before_cpython_starts() {
        let original = importer_support::app_only();
        let dir = TempDir::new("importer-index");
        let damaged = dir.path().join("index.pyembed");
        // Byte 200 is inside the index, which is verified when opening.
        importer_support::flip_bit(&original, 200, 0, &damaged);
        let err = start_err(hermetic(&damaged));
        let text = err.to_string();
        assert!(
            matches!(&err, NewInterpreterError::PackedResources { container, error }
                if *container == damaged.display().to_string() && error.is_integrity_failure()),
            "{err:?}"
        );
        assert!(
            text.starts_with(&format!(
                "error during Python importer installation: cannot use packed resources {}: \
                 integrity check failed for the container index",
                damaged.display()
            )),
            "{text}"
        );
        // Nothing was started: a good configuration still works.
        let answer: i64 = python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }
}
