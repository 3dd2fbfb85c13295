//! Scanning and classifying Python inputs (`pyembed::pack::scan`), and the
//! stdlib policy applied to the real standard library.
//!
//! Most tests build a small tree in a temporary directory and compare a
//! one-line-per-item rendering of the inventory with what the rules in
//! `src/pack/classify.rs` say it must be.
#![cfg(feature = "cli")]

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use pyembed::pack::error::ScanError;
use pyembed::pack::inventory::{Entry, Inventory};
use pyembed::pack::policy::{Policy, Tier};
use pyembed::pack::scan::{Input, scan_for};
use pyembed::pack::target::Target;
use tempfile::TempDir;

fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn render(inventory: &Inventory) -> Vec<String> {
    let at = |file: &pyembed::pack::scan::FileRef| format!("#{}:{}", file.input.0, file.path);
    let mut lines = Vec::new();
    for entry in &inventory.entries {
        lines.push(match entry {
            Entry::Module {
                name,
                is_package,
                source,
            } => format!(
                "module {name}{} <- {}",
                if *is_package { " (package)" } else { "" },
                at(source)
            ),
            Entry::NamespacePackage { name, portions } => format!(
                "namespace {name} <- {}",
                portions.iter().map(at).collect::<Vec<_>>().join(" ")
            ),
            Entry::ExtensionModule {
                name,
                is_package,
                data,
            } => format!(
                "extension {name}{} <- {}",
                if *is_package { " (package)" } else { "" },
                at(data)
            ),
            Entry::PackageData {
                package,
                relative_name,
                data,
            } => format!("data {package}:{relative_name} <- {}", at(data)),
            Entry::DistributionFile {
                distribution_dir,
                relative_name,
                data,
            } => format!("dist {distribution_dir}/{relative_name} <- {}", at(data)),
            Entry::SharedLibrary { path, data } => format!("shlib {path} <- {}", at(data)),
        });
    }
    for skipped in &inventory.skipped {
        lines.push(format!("skip {}: {:?}", at(&skipped.file), skipped.reason));
    }
    for conflict in &inventory.conflicts {
        lines.push(format!(
            "conflict {}: kept {}, shadowed {} ({:?})",
            conflict.claim,
            at(&conflict.kept),
            at(&conflict.shadowed),
            conflict.reason
        ));
    }
    lines
}

/// Scans for CPython 3.11 on x86-64 Linux whatever this build links: the
/// file names below carry that interpreter's tags.
fn scan(inputs: &[Input]) -> Result<Inventory, ScanError> {
    scan_for(inputs, &Target::CPYTHON_311_X86_64_LINUX_GNU)
}

fn assert_lines(actual: &[String], expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|line| line.to_string()).collect();
    if actual != expected {
        panic!(
            "inventory differs\n--- actual\n{}\n--- expected\n{}",
            actual.join("\n"),
            expected.join("\n")
        );
    }
}

/// Files covering every classification rule, as (path, contents).
const TREE: &[(&str, &str)] = &[
    ("top.py", "x = 1\n"),
    ("bad-name.py", ""),
    ("README.txt", ""),
    ("site.pth", "import os\n"),
    ("stray.pyc", ""),
    ("__pycache__/top.cpython-311.pyc", ""),
    ("pkg/__init__.py", ""),
    ("pkg/__pycache__/__init__.cpython-311.pyc", ""),
    ("pkg/mod.py", ""),
    ("pkg/data.json", "{}"),
    ("pkg/py.typed", ""),
    ("pkg/bad-name.py", ""),
    ("pkg/templates/page.html", ""),
    ("pkg/templates/deep/er.txt", ""),
    ("pkg/sub/__init__.py", ""),
    ("pkg/sub/x.txt", ""),
    ("pkg/nsdir/mod2.py", ""),
    ("pkg/nsdir/info.txt", ""),
    ("pkg/_speedups.cpython-311-x86_64-linux-gnu.so", ""),
    ("pkg/_stable.abi3.so", ""),
    ("pkg/_plain.so", ""),
    ("pkg/_other.cpython-312-x86_64-linux-gnu.so", ""),
    ("pkg/_win.cp311-win_amd64.pyd", ""),
    ("pkg/libhelper.so.1", ""),
    ("pkg/leftover.pyc", ""),
    ("ns/inner/leaf.py", ""),
    ("empty_dir/notes.txt", ""),
    ("not-a-pkg/x.py", ""),
    ("six-1.16.0.dist-info/METADATA", "Name: six\n"),
    ("six-1.16.0.dist-info/RECORD", ""),
    ("old-1.0.egg-info", "Name: old\n"),
    ("mypkg.libs/libfoo-ab12.so.1", ""),
    ("dup.py", ""),
    ("dup.cpython-311-x86_64-linux-gnu.so", ""),
    ("both.py", ""),
    ("both/__init__.py", ""),
    ("both/inner.py", ""),
    ("shadowed_ns.py", ""),
    ("shadowed_ns/hidden.py", ""),
    ("extpkg/__init__.cpython-311-x86_64-linux-gnu.so", ""),
    ("extpkg/__init__.py", ""),
    ("extpkg/helper.py", ""),
];

const TREE_EXPECTED: &[&str] = &[
    "module both (package) <- #0:both/__init__.py",
    "module both.inner <- #0:both/inner.py",
    "extension dup <- #0:dup.cpython-311-x86_64-linux-gnu.so",
    "extension extpkg (package) <- #0:extpkg/__init__.cpython-311-x86_64-linux-gnu.so",
    "module extpkg.helper <- #0:extpkg/helper.py",
    "module linkdir (package) <- #0:linkdir/__init__.py",
    "module linked <- #0:linked.py",
    "namespace ns <- #0:ns",
    "namespace ns.inner <- #0:ns/inner",
    "module ns.inner.leaf <- #0:ns/inner/leaf.py",
    "module pkg (package) <- #0:pkg/__init__.py",
    "extension pkg._plain <- #0:pkg/_plain.so",
    "extension pkg._speedups <- #0:pkg/_speedups.cpython-311-x86_64-linux-gnu.so",
    "extension pkg._stable <- #0:pkg/_stable.abi3.so",
    "module pkg.mod <- #0:pkg/mod.py",
    "namespace pkg.nsdir <- #0:pkg/nsdir",
    "module pkg.nsdir.mod2 <- #0:pkg/nsdir/mod2.py",
    "module pkg.sub (package) <- #0:pkg/sub/__init__.py",
    "module shadowed_ns <- #0:shadowed_ns.py",
    "module top <- #0:top.py",
    "data linkdir:x.txt <- #0:linkdir/x.txt",
    "data pkg:bad-name.py <- #0:pkg/bad-name.py",
    "data pkg:data.json <- #0:pkg/data.json",
    "data pkg:py.typed <- #0:pkg/py.typed",
    "data pkg:templates/deep/er.txt <- #0:pkg/templates/deep/er.txt",
    "data pkg:templates/page.html <- #0:pkg/templates/page.html",
    "data pkg.nsdir:info.txt <- #0:pkg/nsdir/info.txt",
    "data pkg.sub:x.txt <- #0:pkg/sub/x.txt",
    "dist old-1.0.egg-info/PKG-INFO <- #0:old-1.0.egg-info",
    "dist six-1.16.0.dist-info/METADATA <- #0:six-1.16.0.dist-info/METADATA",
    "dist six-1.16.0.dist-info/RECORD <- #0:six-1.16.0.dist-info/RECORD",
    "shlib mypkg.libs/libfoo-ab12.so.1 <- #0:mypkg.libs/libfoo-ab12.so.1",
    "shlib pkg/libhelper.so.1 <- #0:pkg/libhelper.so.1",
    "skip #0:README.txt: NotInPackage",
    "skip #0:bad-name.py: InvalidModuleName",
    "skip #0:dangling.py: BrokenSymlink",
    "skip #0:empty_dir: NoImportableContent",
    "skip #0:not-a-pkg: InvalidDirectoryName",
    "skip #0:pkg/_other.cpython-312-x86_64-linux-gnu.so: ForeignExtension { tag: \"cpython-312-x86_64-linux-gnu\" }",
    "skip #0:pkg/_win.cp311-win_amd64.pyd: ForeignExtension { tag: \"cp311-win_amd64\" }",
    "skip #0:pkg/leftover.pyc: Bytecode",
    "skip #0:pkg/loop: SymlinkLoop",
    "skip #0:site.pth: PathConfiguration",
    "skip #0:stray.pyc: Bytecode",
    "conflict module `both`: kept #0:both/__init__.py, shadowed #0:both.py (SameDirectory)",
    "conflict module `dup`: kept #0:dup.cpython-311-x86_64-linux-gnu.so, shadowed #0:dup.py (SameDirectory)",
    "conflict module `extpkg`: kept #0:extpkg/__init__.cpython-311-x86_64-linux-gnu.so, shadowed #0:extpkg/__init__.py (SameDirectory)",
    "conflict module `shadowed_ns`: kept #0:shadowed_ns.py, shadowed #0:shadowed_ns (SameDirectory)",
];

fn build_tree(root: &Path, reverse: bool) {
    let mut files: Vec<_> = TREE.to_vec();
    if reverse {
        files.reverse();
    }
    for (path, contents) in files {
        write(root, path, contents);
    }
    symlink("pkg/mod.py", root.join("linked.py")).unwrap();
    symlink("nowhere.py", root.join("dangling.py")).unwrap();
    symlink("..", root.join("pkg/loop")).unwrap();
    symlink("pkg/sub", root.join("linkdir")).unwrap();
}

#[test]
fn every_classification_rule() {
    let dir = TempDir::new().unwrap();
    build_tree(dir.path(), false);
    let inventory = scan(&[Input::path(dir.path())]).unwrap();
    assert_lines(&render(&inventory), TREE_EXPECTED);

    let counts = inventory.counts();
    assert_eq!(counts.modules, 8);
    assert_eq!(counts.packages, 4);
    assert_eq!(counts.namespace_packages, 3);
    assert_eq!(counts.extension_modules, 5);
    assert_eq!(counts.package_data, 8);
    assert_eq!(counts.distribution_files, 3);
    assert_eq!(counts.shared_libraries, 2);
    assert!(matches!(
        inventory.module("pkg.mod"),
        Some(Entry::Module { name, .. }) if name == "pkg.mod"
    ));
    assert!(inventory.module("pkg.absent").is_none());
}

#[test]
fn bytes_are_read_through_file_refs_and_symlinks() {
    let dir = TempDir::new().unwrap();
    build_tree(dir.path(), false);
    let inventory = scan(&[Input::path(dir.path())]).unwrap();
    let Some(Entry::Module { source, .. }) = inventory.module("linked") else {
        panic!("linked.py is a module");
    };
    assert_eq!(inventory.read(source).unwrap(), b"");
    let Some(Entry::Module { source, .. }) = inventory.module("top") else {
        panic!("top.py is a module");
    };
    assert_eq!(inventory.read(source).unwrap(), b"x = 1\n");
    assert_eq!(
        inventory.describe(source),
        dir.path().join("top.py").display().to_string()
    );
}

#[test]
fn result_does_not_depend_on_location_or_creation_order() {
    let first = TempDir::new().unwrap();
    let second = TempDir::new().unwrap();
    let nested = second.path().join("some/deeper/place");
    build_tree(first.path(), false);
    build_tree(&nested, true);
    let a = scan(&[Input::path(first.path())]).unwrap();
    let b = scan(&[Input::path(&nested)]).unwrap();
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(a.conflicts, b.conflicts);
    assert_ne!(a.inputs, b.inputs, "only the inputs hold absolute paths");

    // The same tree named by a path relative to the current directory.
    let under_cwd = TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    build_tree(under_cwd.path(), false);
    let cwd = std::env::current_dir().unwrap();
    if let Ok(relative) = under_cwd.path().strip_prefix(&cwd) {
        let c = scan(&[Input::path(relative)]).unwrap();
        assert_eq!(a.entries, c.entries);
        assert_eq!(a.skipped, c.skipped);
        assert_eq!(a.conflicts, c.conflicts);
    }
}

#[test]
fn init_at_the_root_means_the_wrong_directory_was_given() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "mypkg/__init__.py", "");
    write(dir.path(), "mypkg/core.py", "");
    let inventory = scan(&[Input::path(dir.path().join("mypkg"))]).unwrap();
    assert_lines(
        &render(&inventory),
        &[
            "module core <- #0:core.py",
            "skip #0:__init__.py: InitAtRoot",
        ],
    );
}

#[test]
fn earlier_inputs_win_like_sys_path() {
    let dir = TempDir::new().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    // A module in two inputs: the first wins.
    write(&a, "same.py", "a");
    write(&b, "same.py", "b");
    // A regular package shadows a later input's package entirely.
    write(&a, "reg/__init__.py", "");
    write(&a, "reg/data.txt", "a");
    write(&b, "reg/__init__.py", "");
    write(&b, "reg/extra.py", "");
    write(&b, "reg/data.txt", "b");
    write(&b, "reg/only_b.txt", "b");
    // Namespace portions merge across inputs, in input order.
    write(&a, "ns/one.py", "");
    write(&a, "ns/res.txt", "a");
    write(&b, "ns/two.py", "");
    write(&b, "ns/one.py", "");
    write(&b, "ns/res.txt", "b");
    write(&b, "ns/more.txt", "b");
    // A regular package in a later input beats earlier namespace portions.
    write(&a, "late/x.py", "");
    write(&c, "late/__init__.py", "");
    write(&c, "late/y.py", "");
    // Distributions by normalized project name; shared libraries by path.
    write(&a, "Foo_Bar-1.0.dist-info/METADATA", "");
    write(&b, "foo.bar-2.0.dist-info/METADATA", "");
    write(&a, "x.libs/libx.so", "");
    write(&b, "x.libs/libx.so", "");
    let inventory = scan(&[Input::path(&a), Input::path(&b), Input::site_packages(&c)]).unwrap();
    assert_lines(
        &render(&inventory),
        &[
            "module late (package) <- #2:late/__init__.py",
            "module late.y <- #2:late/y.py",
            "namespace ns <- #0:ns #1:ns",
            "module ns.one <- #0:ns/one.py",
            "module ns.two <- #1:ns/two.py",
            "module reg (package) <- #0:reg/__init__.py",
            "module same <- #0:same.py",
            "data ns:more.txt <- #1:ns/more.txt",
            "data ns:res.txt <- #0:ns/res.txt",
            "data reg:data.txt <- #0:reg/data.txt",
            "dist Foo_Bar-1.0.dist-info/METADATA <- #0:Foo_Bar-1.0.dist-info/METADATA",
            "shlib x.libs/libx.so <- #0:x.libs/libx.so",
            "conflict module `late`: kept #2:late/__init__.py, shadowed #0:late (PackageOverNamespace)",
            "conflict module `ns.one`: kept #0:ns/one.py, shadowed #1:ns/one.py (EarlierInput)",
            "conflict module `reg`: kept #0:reg/__init__.py, shadowed #1:reg/__init__.py (EarlierInput)",
            "conflict module `same`: kept #0:same.py, shadowed #1:same.py (EarlierInput)",
            "conflict resource `res.txt` of package `ns`: kept #0:ns/res.txt, shadowed #1:ns/res.txt (EarlierInput)",
            "conflict distribution `foo-bar`: kept #0:Foo_Bar-1.0.dist-info, shadowed #1:foo.bar-2.0.dist-info (EarlierInput)",
            "conflict shared library `x.libs/libx.so`: kept #0:x.libs/libx.so, shadowed #1:x.libs/libx.so (EarlierInput)",
        ],
    );
    let Some(Entry::Module { source, .. }) = inventory.module("same") else {
        panic!("same.py is a module");
    };
    assert_eq!(inventory.read(source).unwrap(), b"a");
}

#[test]
fn non_utf8_file_name_is_an_error_naming_it() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "pkg/__init__.py", "");
    let bad = dir
        .path()
        .join("pkg")
        .join(OsStr::from_bytes(b"caf\xe9.py"));
    fs::write(&bad, "").unwrap();
    let error = scan(&[Input::path(dir.path())]).unwrap_err();
    assert!(
        matches!(&error, ScanError::NonUtf8Name { path } if *path == bad),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("caf\u{fffd}.py"), "{message}");
    assert!(message.contains("hint:"), "{message}");
}

#[test]
fn missing_input_is_an_error_naming_it() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no/such/dir");
    let error = scan(&[Input::site_packages(&missing)]).unwrap_err();
    assert!(
        matches!(&error, ScanError::MissingInput { path, .. } if *path == missing),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("site-packages directory"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );

    let file = dir.path().join("file.py");
    fs::write(&file, "").unwrap();
    let error = scan(&[Input::path(&file)]).unwrap_err();
    assert!(
        matches!(error, ScanError::WrongInputType { .. }),
        "{error:?}"
    );
    let error = scan(&[Input::wheel(dir.path())]).unwrap_err();
    assert!(
        matches!(error, ScanError::WrongInputType { .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------
// Wheels
// ---------------------------------------------------------------------------

fn make_wheel(dir: &Path, file_name: &str, members: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(file_name);
    let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

#[test]
fn wheel_members_are_classified_and_read_in_place() {
    let dir = TempDir::new().unwrap();
    let wheel = make_wheel(
        dir.path(),
        "demo-1.0-py3-none-any.whl",
        &[
            ("demo/__init__.py", "VERSION = '1.0'\n"),
            ("demo/resources/logo.txt", "logo"),
            ("demo/__pycache__/__init__.cpython-311.pyc", ""),
            ("top_level.py", ""),
            ("extra.py", "also at the root"),
            ("demo-1.0.data/purelib/extra.py", "extra"),
            ("demo-1.0.data/platlib/fast.abi3.so", ""),
            ("demo-1.0.data/scripts/demo-cli", "#!python\n"),
            ("demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n"),
            ("demo-1.0.dist-info/RECORD", ""),
            ("demo-1.0.dist-info/WHEEL", "Root-Is-Purelib: true\n"),
        ],
    );
    let inventory = scan(&[Input::wheel(&wheel)]).unwrap();
    assert_lines(
        &render(&inventory),
        &[
            "module demo (package) <- #0:demo/__init__.py",
            "module extra <- #0:demo-1.0.data/purelib/extra.py",
            "extension fast <- #0:demo-1.0.data/platlib/fast.abi3.so",
            "module top_level <- #0:top_level.py",
            "data demo:resources/logo.txt <- #0:demo/resources/logo.txt",
            "dist demo-1.0.dist-info/METADATA <- #0:demo-1.0.dist-info/METADATA",
            "dist demo-1.0.dist-info/RECORD <- #0:demo-1.0.dist-info/RECORD",
            "dist demo-1.0.dist-info/WHEEL <- #0:demo-1.0.dist-info/WHEEL",
            "skip #0:demo-1.0.data/scripts/demo-cli: WheelDataScheme { scheme: \"scripts\" }",
            "conflict path `extra.py`: kept #0:demo-1.0.data/purelib/extra.py, shadowed #0:extra.py (SamePath)",
        ],
    );
    let mut reader = inventory.reader();
    let Some(Entry::Module { source, .. }) = inventory.module("demo") else {
        panic!("demo is a package");
    };
    assert_eq!(reader.read(source).unwrap(), b"VERSION = '1.0'\n");
    let Some(Entry::Module { source, .. }) = inventory.module("extra") else {
        panic!("extra is a module");
    };
    assert_eq!(reader.read(source).unwrap(), b"extra");
    assert_eq!(
        inventory.describe(source),
        format!("{}!demo-1.0.data/purelib/extra.py", wheel.display())
    );
}

#[test]
fn wheels_for_other_interpreters_are_rejected_naming_the_tag() {
    let dir = TempDir::new().unwrap();
    for (file_name, tag, part) in [
        (
            "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp312",
        ),
        (
            "demo-1.0-cp311-cp311-win_amd64.whl",
            "cp311-cp311-win_amd64",
            "win_amd64",
        ),
        (
            "demo-1.0-cp311-cp311-musllinux_1_1_x86_64.whl",
            "cp311-cp311-musllinux_1_1_x86_64",
            "musllinux_1_1_x86_64",
        ),
    ] {
        let wheel = make_wheel(dir.path(), file_name, &[("demo.py", "")]);
        let error = scan(&[Input::wheel(&wheel)]).unwrap_err();
        assert!(
            matches!(&error, ScanError::IncompatibleWheel { path, tag: t, .. } if *path == wheel && t == tag),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(file_name), "{message}");
        assert!(message.contains(part), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }
    for file_name in [
        "ok-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "ok-1.0-cp38-abi3-manylinux2014_x86_64.whl",
        "ok-1.0-py2.py3-none-any.whl",
    ] {
        let wheel = make_wheel(dir.path(), file_name, &[("ok.py", "")]);
        let inventory = scan(&[Input::wheel(&wheel)]).unwrap();
        assert!(inventory.module("ok").is_some(), "{file_name}");
    }
}

#[test]
fn malformed_wheels_are_errors() {
    let dir = TempDir::new().unwrap();
    let badly_named = make_wheel(dir.path(), "demo.whl", &[("demo.py", "")]);
    let error = scan(&[Input::wheel(&badly_named)]).unwrap_err();
    assert!(
        matches!(error, ScanError::WheelFileName { .. }),
        "{error:?}"
    );

    let escaping = make_wheel(
        dir.path(),
        "evil-1.0-py3-none-any.whl",
        &[("../outside.py", "")],
    );
    let error = scan(&[Input::wheel(&escaping)]).unwrap_err();
    assert!(
        matches!(&error, ScanError::UnsafeWheelMember { member, .. } if member == "../outside.py"),
        "{error:?}"
    );

    let not_zip = dir.path().join("junk-1.0-py3-none-any.whl");
    fs::write(&not_zip, "not a zip").unwrap();
    let error = scan(&[Input::wheel(&not_zip)]).unwrap_err();
    assert!(matches!(error, ScanError::Wheel { .. }), "{error:?}");
    assert!(error.to_string().contains("junk-1.0-py3-none-any.whl"));
}

// ---------------------------------------------------------------------------
// The real standard library
// ---------------------------------------------------------------------------

/// The stdlib to test against: `$PYEMBED_TEST_STDLIB`, or the linked
/// CPython's (Debian's by default).
fn stdlib_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PYEMBED_TEST_STDLIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("PYEMBED_LINKED_STDLIB")));
    if dir.join("os.py").is_file() {
        Some(dir)
    } else {
        eprintln!("skipping: no standard library at {}", dir.display());
        None
    }
}

#[test]
fn real_stdlib_with_the_bundled_policy() {
    let Some(stdlib) = stdlib_dir() else { return };
    let inventory = scan_for(&[Input::stdlib(&stdlib)], &Target::LINKED).unwrap();
    let policy = Policy::bundled().unwrap();
    let outcome = policy.apply(&inventory);
    let all = inventory.counts();
    let kept = outcome.kept_counts();
    eprintln!("scanned: {all:?}");
    eprintln!("kept:    {kept:?}");
    eprintln!(
        "excluded: {} entries, skipped: {}, conflicts: {}",
        outcome.excluded.len(),
        inventory.skipped.len(),
        inventory.conflicts.len()
    );

    assert!(kept.modules + kept.packages > 500, "{kept:?}");
    assert!(kept.packages > 30, "{kept:?}");
    // Debian's CPython keeps its extension modules in lib-dynload; the
    // pinned build has them built in, and an empty lib-dynload.
    let shared = std::fs::read_dir(stdlib.join("lib-dynload"))
        .map(|dir| dir.count())
        .unwrap_or(0);
    if shared > 25 {
        assert!(kept.extension_modules > 25, "{kept:?}");
    }
    assert!(kept.package_data >= 1, "{kept:?}");
    assert_eq!(kept.distribution_files, 0);
    assert!(inventory.conflicts.is_empty(), "{:?}", inventory.conflicts);

    let kept_names: std::collections::BTreeSet<&str> = outcome
        .kept
        .iter()
        .filter_map(|kept| match &kept.entry {
            Entry::PackageData { .. } => None,
            entry => entry.module_name(),
        })
        .collect();
    for present in [
        "json",
        "json.decoder",
        "encodings",
        "encodings.utf_8",
        "importlib.metadata",
        "sqlite3",
        "unittest",
        "unittest.mock",
    ] {
        assert!(kept_names.contains(present), "{present} is kept");
    }
    if shared > 25 {
        for present in ["_ctypes", "_json"] {
            assert!(kept_names.contains(present), "{present} is kept");
        }
    }
    // `_sysconfigdata__x86_64-linux-gnu` (Debian's), `…__linux_x86_64-linux-gnu`
    // (upstream's).
    assert!(
        kept_names
            .iter()
            .any(|name| name.starts_with("_sysconfigdata_")),
        "_sysconfigdata is kept"
    );
    for absent in [
        "test",
        "test.support",
        "idlelib",
        "tkinter",
        "lib2to3",
        "ensurepip",
        "pydoc_data",
        "_testcapi",
        "sitecustomize",
    ] {
        assert!(!kept_names.contains(absent), "{absent} is not kept");
    }
    assert!(
        !kept_names.iter().any(|name| name
            .split('.')
            .any(|part| part == "test" || part == "tests")),
        "no test subpackage is kept"
    );
    if stdlib.join("lib2to3").is_dir() {
        assert!(
            outcome
                .excluded
                .iter()
                .any(|excluded| excluded.entry.module_name() == Some("lib2to3")
                    && excluded.reason.contains("removed in 3.13"))
        );
    }

    let tier_of = |name: &str| {
        outcome
            .kept
            .iter()
            .find(|kept| kept.entry.module_name() == Some(name))
            .map(|kept| kept.tier)
    };
    assert_eq!(tier_of("json"), Some(Tier::Raw));
    assert_eq!(tier_of("pydoc"), Some(Tier::Compressed));
    assert_eq!(tier_of("unittest.mock"), Some(Tier::Compressed));
    if shared > 25 {
        assert_eq!(tier_of("_codecs_jp"), Some(Tier::Compressed));
    }

    // The only things the scanner leaves out of a stdlib are its top-level
    // non-module files, directories with non-identifier names (`config-*`,
    // `site-packages`) and, where /etc lacks its target, Debian's
    // `sitecustomize.py` symlink.
    for skipped in &inventory.skipped {
        let expected = skipped
            .file
            .path
            .starts_with(&format!("config-{}", pyembed::LINKED_PYTHON_VERSION))
            || [
                "EXTERNALLY-MANAGED",
                "LICENSE.txt",
                "README.txt",
                "site-packages",
                "dist-packages",
                "sitecustomize.py",
            ]
            .contains(&skipped.file.path.as_str());
        assert!(expected, "unexpected skip: {skipped:?}");
    }

    // Bytes come from the file the entry names.
    let Some(Entry::Module { source, .. }) = inventory.module("json") else {
        panic!("json is a package");
    };
    assert_eq!(source.path, "json/__init__.py");
    assert_eq!(
        inventory.read(source).unwrap(),
        fs::read(stdlib.join("json/__init__.py")).unwrap()
    );
    if shared > 25 {
        let Some(Entry::ExtensionModule { data, .. }) = inventory.module("_ctypes") else {
            panic!("_ctypes is an extension module");
        };
        assert!(data.path.starts_with("lib-dynload/_ctypes."), "{data:?}");
    }
}

#[test]
fn policy_leaves_non_stdlib_inputs_alone() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "test/__init__.py", "");
    write(dir.path(), "app/tests/__init__.py", "");
    write(dir.path(), "pydoc.py", "");
    let inventory = scan(&[Input::path(dir.path())]).unwrap();
    let outcome = Policy::bundled().unwrap().apply(&inventory);
    // `app` (a namespace package), `app.tests`, `pydoc`, `test`.
    assert!(outcome.excluded.is_empty());
    assert_eq!(outcome.kept.len(), 4);
    assert!(outcome.kept.iter().all(|kept| kept.tier == Tier::Raw));

    let inventory = scan(&[Input::stdlib(dir.path())]).unwrap();
    let outcome = Policy::bundled().unwrap().apply(&inventory);
    let excluded: Vec<_> = outcome
        .excluded
        .iter()
        .map(|excluded| (excluded.entry.module_name(), excluded.selector.as_str()))
        .collect();
    assert_eq!(
        excluded,
        [
            (Some("app.tests"), "component `tests`"),
            (Some("test"), "component `test`")
        ]
    );
    let kept: Vec<_> = outcome
        .kept
        .iter()
        .map(|kept| (kept.entry.module_name(), kept.tier))
        .collect();
    assert_eq!(
        kept,
        [(Some("app"), Tier::Raw), (Some("pydoc"), Tier::Compressed)]
    );
}
