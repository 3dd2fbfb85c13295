//! `pyembed extract`: a container back as files, re-packable to the same
//! container; hostile names refused before anything is written.

#![cfg(feature = "cli")]

mod cli_support;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs;
use std::path::Path;

use cli_support::{FAST_EXTENSION, content_digest, listing, pack, pyembed, sample_tree, tagged};
use pyembed::resources::{ContainerWriter, Tier, WriteOptions};
use python_packed_resources::Resource;

#[test]
fn extracting_and_repacking_gives_the_same_container() {
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let container = dir.path().join("app.pyembed");
    pack(&src, Some(&site), &container, &[]);
    let out = dir.path().join("out");

    let run = pyembed([
        "extract".as_ref(),
        container.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("extracted 9 resources"), "{run:?}");
    assert_eq!(
        listing(&out),
        tagged(&[
            "__pycache__/",
            "__pycache__/demo.cpython-311.pyc",
            "__pycache__/top.cpython-311.pyc",
            "app.libs/",
            "app.libs/libfoo.so.1",
            "app/",
            "app/__init__.py",
            "app/__pycache__/",
            "app/__pycache__/__init__.cpython-311.pyc",
            "app/__pycache__/core.cpython-311.pyc",
            "app/core.py",
            "app/data/",
            "app/data/config.json",
            "app/py.typed",
            "demo-1.0.dist-info/",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/RECORD",
            "demo.py",
            "fast.cpython-311-x86_64-linux-gnu.so",
            "ns/",
            "ns/__pycache__/",
            "ns/__pycache__/portion.cpython-311.pyc",
            "ns/portion.py",
            "top.py",
        ])
    );
    for (root, relative) in [
        (&src, "app/core.py"),
        (&src, "app/data/config.json"),
        (&src, "app.libs/libfoo.so.1"),
        (&src, FAST_EXTENSION),
        (&site, "demo-1.0.dist-info/METADATA"),
        (&site, "demo.py"),
    ] {
        assert_eq!(
            fs::read(root.join(relative)).unwrap(),
            fs::read(out.join(relative)).unwrap(),
            "{relative}"
        );
    }
    let pyc = fs::read(out.join(&tagged(&["app/__pycache__/core.cpython-311.pyc"])[0])).unwrap();
    // The magic number of the linked CPython, then the flags of a checked
    // hash-based pyc.
    let magic: &[u8] = match pyembed::LINKED_PYTHON_VERSION {
        "3.11" => b"\xa7\r\r\n",
        "3.13" => b"\xf3\r\r\n",
        other => panic!("no magic number known for Python {other}"),
    };
    assert_eq!(&pyc[..4], magic, "the magic number of the linked CPython");
    assert_eq!(&pyc[4..8], b"\x03\0\0\0", "checked hash-based pyc");

    // Packing the extracted tree again reproduces the container exactly:
    // same modules, same sources, same bytecode, same everything.
    let again = dir.path().join("again.pyembed");
    pack(&out, None, &again, &[]);
    assert_eq!(content_digest(&again), content_digest(&container));
    let run = pyembed(["diff".as_ref(), container.as_os_str(), again.as_os_str()]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// The pycs are valid for the linked CPython's own `python` executable:
/// magic, flags, source hash and a code object that runs.
#[test]
fn extracted_pycs_are_accepted_by_cpython() {
    let python = env!("PYEMBED_LINKED_PYTHON_EXECUTABLE");
    let dir = tempfile::tempdir().unwrap();
    let (src, site) = sample_tree(dir.path());
    let container = dir.path().join("app.pyembed");
    pack(&src, Some(&site), &container, &[]);
    let out = dir.path().join("out");
    let run = pyembed([
        "extract".as_ref(),
        container.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let script = r#"
import importlib.util, importlib._bootstrap_external as be, marshal, pathlib, sys
root = pathlib.Path(sys.argv[1])
for pyc in sorted(root.rglob("*.pyc")):
    data = pyc.read_bytes()
    source = pyc.parent.parent / (pyc.name.split(".")[0] + ".py")
    assert data[:4] == importlib.util.MAGIC_NUMBER, pyc
    assert be._classify_pyc(data, pyc.name, {}) == 0b11, pyc
    be._validate_hash_pyc(data, importlib.util.source_hash(source.read_bytes()), pyc.name, {})
    exec(marshal.loads(data[16:]), {"__name__": "checked"})
    print(pyc.relative_to(root))
"#;
    let output = std::process::Command::new(python)
        .args(["-I", "-c", script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let checked: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.ends_with(".pyc"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        checked,
        tagged(&[
            "__pycache__/demo.cpython-311.pyc",
            "__pycache__/top.cpython-311.pyc",
            "app/__pycache__/__init__.cpython-311.pyc",
            "app/__pycache__/core.cpython-311.pyc",
            "ns/__pycache__/portion.cpython-311.pyc",
        ])
    );
}

/// Writes a container holding `resources` to `path`.
fn craft(path: &Path, resources: Vec<Resource<'static, u8>>) {
    let mut writer = ContainerWriter::new(WriteOptions::default());
    for resource in resources {
        writer.add(resource, Tier::Raw).unwrap();
    }
    fs::write(path, writer.write().unwrap()).unwrap();
}

fn module(name: &'static str) -> Resource<'static, u8> {
    Resource {
        name: Cow::Borrowed(name),
        is_python_module: true,
        in_memory_source: Some(Cow::Borrowed(b"X = 1\n")),
        ..Resource::default()
    }
}

#[test]
fn names_that_would_escape_the_output_directory_are_refused() {
    let cases: Vec<(Resource<'static, u8>, &str)> = vec![
        (
            Resource {
                name: Cow::Borrowed("../evil"),
                is_shared_library: true,
                in_memory_shared_library: Some(Cow::Borrowed(b"payload")),
                ..Resource::default()
            },
            "refusing to extract resource \"../evil\": its name \"../evil\" has a `.` or `..` component",
        ),
        (
            module("../evil"),
            "refusing to extract resource \"../evil\": its name \"../evil\" contains a `/`",
        ),
        (
            Resource {
                name: Cow::Borrowed("/tmp/evil"),
                file_data_embedded: Some(Cow::Borrowed(b"payload")),
                ..Resource::default()
            },
            "refusing to extract resource \"/tmp/evil\": its name \"/tmp/evil\" is an absolute path",
        ),
        (
            Resource {
                in_memory_package_resources: Some(HashMap::from([(
                    Cow::Borrowed("../../evil"),
                    Cow::Borrowed(&b"payload"[..]),
                )])),
                ..module("pkg")
            },
            "refusing to extract resource \"pkg\": package resource \"../../evil\" has a `.` or `..` component",
        ),
        (
            Resource {
                name: Cow::Borrowed("evil-1.0.dist-info"),
                in_memory_distribution_resources: Some(HashMap::from([(
                    Cow::Borrowed("a\\..\\..\\evil"),
                    Cow::Borrowed(&b"payload"[..]),
                )])),
                ..Resource::default()
            },
            "distribution resource \"a\\\\..\\\\..\\\\evil\" contains a backslash",
        ),
        (module("a..b"), "its name \"a..b\" has an empty component"),
    ];
    for (resource, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let container = dir.path().join("evil.pyembed");
        craft(&container, vec![module("harmless"), resource]);
        let out = dir.path().join("deep/out");
        let run = pyembed([
            "extract".as_ref(),
            container.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains(message),
            "expected {message:?}: {run:?}"
        );
        assert!(run.stderr.contains("hint: "), "{run:?}");
        // Nothing was written, not even the output directory or the
        // harmless module.
        assert_eq!(listing(dir.path()), ["evil.pyembed"], "{message}");
    }
}

#[test]
fn output_directory_must_be_empty_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let container = dir.path().join("c.pyembed");
    craft(&container, vec![module("app")]);
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("app.py"), "old").unwrap();
    fs::write(out.join("keep.txt"), "mine").unwrap();
    let args = |force: bool| {
        let mut args = vec![
            "extract".as_ref(),
            container.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ];
        if force {
            args.push("--force".as_ref());
        }
        args
    };

    let run = pyembed(args(false));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("output directory {} is not empty", out.display())),
        "{run:?}"
    );
    assert!(run.stderr.contains("--force"), "{run:?}");
    assert_eq!(fs::read_to_string(out.join("app.py")).unwrap(), "old");

    let run = pyembed(args(true));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fs::read_to_string(out.join("app.py")).unwrap(), "X = 1\n");
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
}

#[test]
fn forced_extraction_does_not_follow_symlinks_out_of_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("pkg")).unwrap();
    std::os::unix::fs::symlink(outside.join("top.py"), out.join("top.py")).unwrap();
    let extract = |resources: Vec<Resource<'static, u8>>| {
        let container = dir.path().join("c.pyembed");
        craft(&container, resources);
        pyembed([
            "extract".as_ref(),
            container.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--force".as_ref(),
        ])
    };

    // A symlinked directory on the way to a file.
    let run = extract(vec![module("pkg.mod")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "cannot create directory {}: a file or symlink is in the way",
            out.join("pkg").display()
        )),
        "{run:?}"
    );
    // A symlink where the file goes.
    let run = extract(vec![module("top")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "refusing to write {} (from resource \"top\"): it is a symlink",
            out.join("top.py").display()
        )),
        "{run:?}"
    );
    assert_eq!(listing(&outside), Vec::<String>::new());
}

#[test]
fn a_damaged_container_is_not_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let container = dir.path().join("c.pyembed");
    craft(&container, vec![module("app")]);
    let mut bytes = fs::read(&container).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&container, bytes).unwrap();
    let out = dir.path().join("out");
    let run = pyembed([
        "extract".as_ref(),
        container.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("c.pyembed"), "{run:?}");
    assert!(!out.exists());
}
