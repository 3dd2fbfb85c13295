//! `pyembed verify`: intact containers pass in one line; damage is reported
//! for every resource it touches, with the digests that disagree.

#![cfg(feature = "cli")]

mod cli_support;

use std::path::Path;

use cli_support::{flip, middle_of, pack, pyembed, write_tree};
use pyembed::resources::{Container, DataField, Tier};

/// A tree whose two big modules each have bytecode spanning several 16 KiB
/// chunks of their own, next to small ones.
fn big_tree(root: &Path) -> std::path::PathBuf {
    let src = root.join("src");
    let constant = |seed: u32| {
        let mut state = seed;
        (0..60_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'a' + (state >> 16) as u8 % 26)
            })
            .collect::<String>()
    };
    let big_a = format!("DATA = {:?}\n", constant(1));
    let big_b = format!("DATA = {:?}\n", constant(2));
    write_tree(
        &src,
        &[
            ("big_a.py", big_a.as_bytes()),
            ("big_b.py", big_b.as_bytes()),
            ("small.py", b"X = 1\n"),
            ("pkg/__init__.py", b""),
            ("pkg/mod.py", b"def f():\n    return 1\n"),
        ],
    );
    src
}

#[test]
fn an_intact_container_passes_with_a_one_line_summary() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_tree(dir.path());
    let container = dir.path().join("c.pyembed");
    pack(&src, None, &container, &[]);
    let run = pyembed(["verify".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    assert!(run.stdout.contains(": intact: 5 resources"), "{run:?}");
    assert_eq!(run.stderr, "");

    let run = pyembed(["verify".as_ref(), "--json".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["checked"]["resources"], 5);
    assert_eq!(report["resources"], serde_json::json!([]));
}

#[test]
fn a_flipped_byte_in_one_module_names_that_module_and_its_digests() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_tree(dir.path());
    let container = dir.path().join("c.pyembed");
    pack(&src, None, &container, &[]);
    flip(
        &container,
        middle_of(&container, "big_a", DataField::Bytecode),
    );

    let run = pyembed(["verify".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    let damaged = run
        .stdout
        .split("damaged resources:\n")
        .nth(1)
        .expect("a list of damaged resources");
    assert!(
        damaged.contains("  big_a (tier 0)\n    bytecode: tier-0 chunk "),
        "{run:?}"
    );
    for intact in ["big_b", "small", "pkg"] {
        assert!(!damaged.contains(intact), "{intact} listed: {run:?}");
    }
    assert!(run.stdout.contains("expected SHA-256 "), "{run:?}");
    assert!(run.stdout.contains(", computed "), "{run:?}");
    assert!(
        run.stderr
            .contains("c.pyembed failed verification: 1 of 5 resources damaged"),
        "{run:?}"
    );
    assert!(run.stderr.contains("hint: "), "{run:?}");
}

#[test]
fn every_damaged_resource_is_listed_not_just_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_tree(dir.path());
    let container = dir.path().join("c.pyembed");
    pack(&src, None, &container, &[]);
    let a = middle_of(&container, "big_a", DataField::Bytecode);
    let b = middle_of(&container, "big_b", DataField::Source);
    flip(&container, a);
    flip(&container, b);

    let run = pyembed(["verify".as_ref(), "--json".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["intact"], false);
    let resources = report["resources"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = resources
        .iter()
        .flat_map(|resource| {
            resource["failures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|failure| {
                    (
                        resource["name"].as_str().unwrap(),
                        failure["field"].as_str().unwrap_or("resource"),
                    )
                })
        })
        .collect();
    assert_eq!(summary, [("big_a", "bytecode"), ("big_b", "source")]);
    for failure in resources
        .iter()
        .flat_map(|r| r["failures"].as_array().unwrap())
    {
        assert_eq!(failure["kind"], "digest_mismatch");
        assert_eq!(failure["expected"].as_str().unwrap().len(), 64);
        assert_eq!(failure["actual"].as_str().unwrap().len(), 64);
        assert_ne!(failure["expected"], failure["actual"]);
        assert!(
            failure["region"]
                .as_str()
                .unwrap()
                .starts_with("tier-0 chunk ")
        );
    }
    // Tier 0 as a whole and the two chunks.
    assert_eq!(report["regions"].as_array().unwrap().len(), 3, "{report:#}");
}

#[test]
fn a_damaged_tier1_group_lists_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_tree(dir.path());
    let container = dir.path().join("c.pyembed");
    pack(&src, None, &container, &["--compress", "all"]);
    let bytes = std::fs::read(&container).unwrap();
    let (offset, members) = {
        let opened = Container::from_bytes(&bytes).unwrap();
        let layout = opened.layout();
        let group = layout.groups[0];
        let members: Vec<String> = opened
            .summaries()
            .filter(|s| s.tier == Tier::Compressed)
            .take(group.resource_count as usize)
            .map(|s| s.name.to_owned())
            .collect();
        let offset = layout.tier1.offset + group.compressed_offset + group.compressed_length / 2;
        (offset as usize, members)
    };
    flip(&container, offset);

    let run = pyembed(["verify".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("  compressed tier-1 group 0: expected SHA-256"),
        "{run:?}"
    );
    for member in &members {
        assert!(
            run.stdout.contains(&format!("  {member} (tier 1)\n")),
            "{member} missing: {run:?}"
        );
    }
}

#[test]
fn a_truncated_container_is_a_clear_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_tree(dir.path());
    let container = dir.path().join("c.pyembed");
    pack(&src, None, &container, &[]);
    let bytes = std::fs::read(&container).unwrap();
    std::fs::write(&container, &bytes[..bytes.len() / 2]).unwrap();

    let run = pyembed(["verify".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    let expected = format!(
        "error: {} is truncated: its header declares {} bytes but the file has {}\n\
         hint: the file was cut short",
        container.display(),
        bytes.len(),
        bytes.len() / 2
    );
    assert!(run.stderr.starts_with(&expected), "{run:?}");

    let run = pyembed(["verify".as_ref(), "--json".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["regions"][0]["kind"], "unreadable");

    std::fs::write(&container, b"").unwrap();
    let run = pyembed(["verify".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("c.pyembed"), "{run:?}");
}

#[test]
fn damage_to_the_header_is_reported_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_tree(dir.path());
    let container = dir.path().join("c.pyembed");
    pack(&src, None, &container, &[]);
    flip(&container, 50);
    let run = pyembed(["verify".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("c.pyembed is damaged: the container header"),
        "{run:?}"
    );
    assert!(run.stderr.contains("hint:"), "{run:?}");
}
