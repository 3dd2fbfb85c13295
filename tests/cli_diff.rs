//! `pyembed diff`: identical builds exit 0; differing builds name every
//! resource and field that differs.

#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{flip, middle_of, pack, pyembed, redact, sample_tree, write_tree};
use pyembed::resources::DataField;

#[test]
fn two_packs_of_the_same_tree_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let (a, b) = (dir.path().join("a.pyembed"), dir.path().join("b.pyembed"));
    pack(&src, Some(&site), &a, &[]);
    pack(&src, Some(&site), &b, &[]);
    let run = pyembed(["diff".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("identical: "), "{run:?}");

    let run = pyembed([
        "diff".as_ref(),
        "--json".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["identical"], true);
    assert_eq!(report["changed"], serde_json::json!([]));
}

#[test]
fn an_edited_module_is_named_with_its_source_and_bytecode() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let (a, b) = (dir.path().join("a.pyembed"), dir.path().join("b.pyembed"));
    pack(&src, Some(&site), &a, &[]);
    write_tree(&src, &[("app/core.py", b"def answer():\n    return 43\n")]);
    pack(&src, Some(&site), &b, &[]);

    let run = pyembed(["diff".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, "");
    cli_support::with_version_snapshots(|| {
        insta::assert_snapshot!("diff_edited_module", redact(&run.stdout, dir.path(), &[]))
    });

    let run = pyembed([
        "diff".as_ref(),
        "--json".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["identical"], false);
    assert_eq!(report["added"], serde_json::json!([]));
    assert_eq!(report["removed"], serde_json::json!([]));
    let changed = report["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{report:#}");
    assert_eq!(changed[0]["name"], "app.core");
    let fields: Vec<&str> = changed[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["source", "bytecode"]);
    let source = &changed[0]["changes"][0];
    assert_eq!(source["change"], "changed");
    // "def answer():\n    return 4" is 26 bytes; the digit after differs.
    assert_eq!(source["first_difference"], 26);
    assert_eq!(source["a"]["length"], 28);
    assert_ne!(source["a"]["sha256"], source["b"]["sha256"]);
}

#[test]
fn added_removed_and_package_data_changes_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let (a, b) = (dir.path().join("a.pyembed"), dir.path().join("b.pyembed"));
    pack(&src, Some(&site), &a, &[]);
    std::fs::remove_file(src.join("top.py")).unwrap();
    write_tree(
        &src,
        &[
            ("extra.py", b"Z = 3\n"),
            ("app/data/config.json", b"{\"debug\": true}\n"),
        ],
    );
    pack(&src, Some(&site), &b, &["--compress", "all"]);

    let run = pyembed([
        "diff".as_ref(),
        "--json".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["added"][0]["name"], "extra");
    assert_eq!(report["removed"][0]["name"], "top");
    let app = report["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "app")
        .unwrap();
    assert_eq!(
        app["changes"],
        serde_json::json!([
            { "field": "tier", "a": 0, "b": 1 },
            {
                "field": "package_resource",
                "key": "data/config.json",
                "change": "changed",
                "first_difference": 10,
                "a": app["changes"][1]["a"],
                "b": app["changes"][1]["b"],
            },
        ])
    );
    // Every resource moved to tier 1, so the layout says so too.
    let layout: Vec<&str> = report["layout"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["field"].as_str().unwrap())
        .collect();
    assert!(layout.contains(&"flags"), "{layout:?}");
    assert!(layout.contains(&"tier1.groups"), "{layout:?}");
}

#[test]
fn a_damaged_side_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    // Big enough that its bytecode has chunks of its own, which opening the
    // container does not verify: the damage is found while comparing.
    let big = |digit: char| format!("DATA = {:?}\n", digit.to_string().repeat(50_000));
    let (a, b) = (dir.path().join("a.pyembed"), dir.path().join("b.pyembed"));
    write_tree(&src, &[("big.py", big('1').as_bytes())]);
    pack(&src, Some(&site), &a, &[]);
    write_tree(&src, &[("big.py", big('2').as_bytes())]);
    pack(&src, Some(&site), &b, &[]);
    flip(&b, middle_of(&b, "big", DataField::Bytecode));

    let run = pyembed(["diff".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains(&format!(
            "cannot compare {} with {}: {} is damaged: tier-0 chunk ",
            a.display(),
            b.display(),
            b.display()
        )),
        "{run:?}"
    );
    assert!(run.stderr.contains("(resource \"big\")"), "{run:?}");
    assert!(run.stderr.contains("hint: run `pyembed verify"), "{run:?}");

    // Damage found at open names the file too.
    flip(&a, 4096 + 10);
    let run = pyembed(["diff".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: {} is damaged", a.display())),
        "{run:?}"
    );
}
