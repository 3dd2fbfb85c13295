//! `pyembed inspect`: golden output for a small container, human and JSON.

#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{pack, pyembed, redact, sample_tree};

#[test]
fn human_report_lists_regions_counts_sizes_and_resources() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let container = dir.path().join("app.pyembed");
    pack(&src, Some(&site), &container, &[]);

    let run = pyembed([
        "inspect".as_ref(),
        "--resources".as_ref(),
        container.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    cli_support::with_version_snapshots(|| {
        insta::assert_snapshot!(
            "inspect_human_resources",
            redact(&run.stdout, dir.path(), &[&container])
        )
    });
}

#[test]
fn human_report_of_a_compressed_container() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let container = dir.path().join("app.pyembed");
    pack(&src, Some(&site), &container, &["--compress", "all"]);

    let run = pyembed(["inspect".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 0, "{run:?}");
    cli_support::with_version_snapshots(|| {
        insta::assert_snapshot!(
            "inspect_human_compressed",
            redact(&run.stdout, dir.path(), &[&container])
        )
    });
}

#[test]
fn json_report_is_stable_and_lists_every_resource() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let container = dir.path().join("app.pyembed");
    pack(&src, Some(&site), &container, &["--compress", "all"]);

    let run = pyembed(["inspect".as_ref(), "--json".as_ref(), container.as_os_str()]);
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["resources"].as_array().unwrap().len(), 9);
    assert_eq!(report["counts"]["tier1"], 9);
    cli_support::with_version_snapshots(|| {
        insta::assert_snapshot!(
            "inspect_json",
            redact(&run.stdout, dir.path(), &[&container])
        )
    });

    // The same container inspected twice gives the same bytes.
    let again = pyembed(["inspect".as_ref(), "--json".as_ref(), container.as_os_str()]);
    assert_eq!(again.stdout, run.stdout);
}

#[test]
fn unreadable_inputs_are_user_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pyembed");
    let run = pyembed(["inspect".as_ref(), missing.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("missing.pyembed"), "{run:?}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, this is not a container at all").unwrap();
    let run = pyembed(["inspect".as_ref(), text.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("notes.txt"), "{run:?}");
    assert!(run.stderr.contains("hint:"), "{run:?}");

    let run = pyembed(["inspect", "--no-such-flag"]);
    assert_eq!(run.code, 2, "{run:?}");
}
