//! `pyembed pack` refuses bad input with one clear message and the right
//! exit code: 1 for a user error (naming the file and, where there is one,
//! saying what to do after `hint:`), 2 for a usage error.
//!
//! The assertions check the stable parts of each message: the path or
//! virtual path, the line, the kind of error and the hint, not CPython's or
//! the operating system's exact wording.
#![cfg(feature = "cli")]

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pyembed::resources::Container;
use tempfile::TempDir;

const PYEMBED: &str = env!("CARGO_BIN_EXE_pyembed");

/// What a `pyembed pack` run did.
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

impl Outcome {
    /// Asserts the exit code and that stderr contains every one of `parts`.
    fn expect(&self, code: i32, parts: &[&str]) -> &Self {
        assert_eq!(self.code, Some(code), "exit code, stderr:\n{}", self.stderr);
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "stderr lacks {part:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Asserts that stderr does not contain `part`.
    fn lacks(&self, part: &str) -> &Self {
        assert!(
            !self.stderr.contains(part),
            "stderr has {part:?}:\n{}",
            self.stderr
        );
        self
    }
}

fn pack(cwd: &Path, args: &[&OsStr]) -> Outcome {
    let out = Command::new(PYEMBED)
        .arg("pack")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("start pyembed");
    Outcome {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(root: &Path, relative: impl AsRef<Path>, contents: &[u8]) -> PathBuf {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, contents).unwrap();
    path
}

/// A scratch directory with a source tree at `src/` holding `pkg/` and
/// whatever `files` adds.
fn tree(files: &[(&str, &[u8])]) -> TempDir {
    let dir = TempDir::new().unwrap();
    let src = dir.path().join("src");
    write(&src, "pkg/__init__.py", b"VALUE = 1\n");
    write(&src, "pkg/good.py", b"def good():\n    return {'a', 'b'}\n");
    for (relative, contents) in files {
        write(&src, relative, contents);
    }
    dir
}

/// `--path <dir>/src -o <dir>/out.pyembed` plus `extra`.
fn pack_tree(dir: &TempDir, extra: &[&str]) -> Outcome {
    let src = dir.path().join("src");
    let out = dir.path().join("out.pyembed");
    let mut args: Vec<&OsStr> = vec!["--path".as_ref(), src.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    args.extend([OsStr::new("-o"), out.as_os_str()]);
    pack(dir.path(), &args)
}

/// No container, and no temporary file it would have been written through.
fn assert_nothing_written(dir: &Path) {
    let written: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name != "src")
        .collect();
    assert!(written.is_empty(), "left behind: {written:?}");
}

const BAD: &[u8] = b"VALUE = 1\n\ndef broken(:\n    pass\n";

#[test]
fn syntax_error_names_virtual_path_and_line() {
    let dir = tree(&[("pkg/bad.py", BAD)]);
    pack_tree(&dir, &[])
        .expect(1, &["error: ", "pkg/bad.py:3:", "SyntaxError"])
        // The virtual path, not where the file happens to be.
        .lacks(&dir.path().display().to_string());
    assert_nothing_written(dir.path());
}

#[test]
fn every_module_that_fails_is_named_once() {
    let dir = tree(&[
        ("pkg/bad.py", BAD),
        ("pkg/indent.py", b"def f():\nreturn 1\n"),
        ("top_bad.py", b"x = (\n"),
    ]);
    let outcome = pack_tree(&dir, &[]);
    outcome.expect(
        1,
        &[
            "3 module(s) failed to compile",
            "pkg/bad.py:3:",
            "pkg/indent.py:2:",
            "IndentationError",
            "top_bad.py:1:",
        ],
    );
    assert_eq!(outcome.stderr.matches("pkg/bad.py:").count(), 1);
}

#[test]
fn keep_syntax_errors_stores_source_only() {
    let dir = tree(&[("pkg/bad.py", BAD)]);
    pack_tree(&dir, &["--keep-syntax-errors"]).expect(
        0,
        &[
            "warning: ",
            "kept as source only",
            "pkg/bad.py:3:",
            "SyntaxError",
        ],
    );
    let bytes = fs::read(dir.path().join("out.pyembed")).unwrap();
    let container = Container::from_bytes(&bytes).unwrap();
    let bad = container
        .resource("pkg.bad")
        .unwrap()
        .expect("pkg.bad packed");
    assert!(bad.is_python_module);
    assert_eq!(bad.in_memory_source.as_deref(), Some(BAD));
    assert_eq!(bad.in_memory_bytecode, None);
    assert_eq!(bad.in_memory_bytecode_opt1, None);
    assert_eq!(bad.in_memory_bytecode_opt2, None);
    // Its neighbours compiled as usual.
    for name in ["pkg", "pkg.good"] {
        let module = container.resource(name).unwrap().unwrap();
        assert!(
            module.in_memory_bytecode.is_some(),
            "{name} has no bytecode"
        );
    }
}

#[test]
fn unknown_source_encoding_is_a_clear_error() {
    let dir = tree(&[(
        "pkg/legacy.py",
        b"# -*- coding: no-such-codec -*-\nVALUE = 1\n",
    )]);
    pack_tree(&dir, &[])
        .expect(
            1,
            &[
                "pkg/legacy.py: SyntaxError: unknown encoding: no-such-codec",
                "hint: ",
                "PEP 263",
            ],
        )
        // CPython gives no line for this; none is made up.
        .lacks("pkg/legacy.py:0");
}

#[test]
fn source_not_in_its_declared_encoding_is_a_clear_error() {
    // Declared UTF-8, but the é is a Latin-1 byte.
    let dir = tree(&[("pkg/mislabelled.py", b"# coding: utf-8\nNAME = 'caf\xe9'\n")]);
    pack_tree(&dir, &[]).expect(
        1,
        &["pkg/mislabelled.py:2:", "SyntaxError", "utf-8", "hint: "],
    );
    // No declaration at all: UTF-8 is assumed.
    let dir = tree(&[("pkg/undeclared.py", b"NAME = 'caf\xe9'\n")]);
    pack_tree(&dir, &[]).expect(1, &["pkg/undeclared.py:1:", "utf-8", "hint: "]);
}

#[test]
fn missing_input_directory_is_named() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no-such-dir");
    let out = dir.path().join("out.pyembed");
    for flag in ["--path", "--site-packages", "--stdlib"] {
        pack(
            dir.path(),
            &[
                flag.as_ref(),
                missing.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
        )
        .expect(
            1,
            &[&missing.display().to_string(), "does not exist", "hint: "],
        );
    }
    // Relative paths are named as given and resolved from the cwd.
    pack(
        dir.path(),
        &[
            "--path".as_ref(),
            "relative/missing".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
    .expect(1, &["relative/missing", "does not exist"]);
    let wheel = dir.path().join("gone-1.0-py3-none-any.whl");
    pack(
        dir.path(),
        &[
            "--wheel".as_ref(),
            wheel.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
    .expect(
        1,
        &["wheel", &wheel.display().to_string(), "does not exist"],
    );
    assert!(!out.exists());
}

#[test]
fn file_given_as_directory_is_named() {
    let dir = tree(&[]);
    let file = dir.path().join("src/pkg/good.py");
    let out = dir.path().join("out.pyembed");
    pack(
        dir.path(),
        &[
            "--path".as_ref(),
            file.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
    .expect(
        1,
        &[&file.display().to_string(), "not a directory", "hint: "],
    );
}

#[test]
fn non_utf8_file_name_is_named_with_a_hint() {
    let dir = tree(&[]);
    let name = OsStr::from_bytes(b"caf\xe9.py");
    write(&dir.path().join("src/pkg"), name, b"VALUE = 1\n");
    pack_tree(&dir, &[]).expect(
        1,
        &[
            "not valid UTF-8",
            // Shown lossily, with its directory.
            "src/pkg/caf\u{fffd}.py",
            "hint: rename it",
        ],
    );
    assert_nothing_written(dir.path());
}

fn write_wheel(path: &Path, members: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, contents) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(contents).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn wheel_for_another_python_is_named() {
    let dir = TempDir::new().unwrap();
    let name = "fastthing-1.0-cp312-cp312-manylinux_2_17_x86_64.whl";
    let wheel = dir.path().join(name);
    write_wheel(
        &wheel,
        &[
            ("fastthing/__init__.py", b"VALUE = 1\n"),
            ("fastthing-1.0.dist-info/METADATA", b"Name: fastthing\n"),
        ],
    );
    let out = dir.path().join("out.pyembed");
    pack(
        dir.path(),
        &[
            "--wheel".as_ref(),
            wheel.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
    .expect(
        1,
        &[name, "cp312", pyembed::LINKED_PYTHON_VERSION, "hint: "],
    );
    assert!(!out.exists());
}

#[test]
fn no_inputs_is_an_error_with_a_hint() {
    let dir = TempDir::new().unwrap();
    pack(dir.path(), &["-o".as_ref(), "out.pyembed".as_ref()]).expect(
        1,
        &["nothing to pack", "hint: ", "--stdlib", "--path", "--wheel"],
    );
    assert!(!dir.path().join("out.pyembed").exists());
}

#[test]
fn usage_errors_exit_2() {
    let dir = tree(&[]);
    // An optimisation level that does not exist.
    pack_tree(&dir, &["--opt", "3"]).expect(2, &["--opt", "3"]);
    pack_tree(&dir, &["--opt", "0,3"]).expect(2, &["--opt"]);
    // An unknown --compress or --sources value, an unknown flag.
    pack_tree(&dir, &["--compress", "some"]).expect(2, &["--compress"]);
    pack_tree(&dir, &["--sources", "maybe"]).expect(2, &["--sources"]);
    pack_tree(&dir, &["--frobnicate"]).expect(2, &["--frobnicate"]);
    // No output.
    let src = dir.path().join("src");
    pack(dir.path(), &["--path".as_ref(), src.as_os_str()]).expect(2, &["--output"]);
    assert_nothing_written(dir.path());
}

#[test]
fn output_in_a_missing_directory_is_named() {
    let dir = tree(&[]);
    let src = dir.path().join("src");
    let out = dir.path().join("no/such/dir/out.pyembed");
    pack(
        dir.path(),
        &[
            "--path".as_ref(),
            src.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
    .expect(
        1,
        &[
            &out.display().to_string(),
            &format!(
                "directory {} does not exist",
                out.parent().unwrap().display()
            ),
            "hint: ",
        ],
    )
    // Refused up front, not after compiling through a temporary file.
    .lacks(".tmp-");
    assert_nothing_written(dir.path());
}

#[test]
fn output_that_is_a_directory_is_named() {
    let dir = tree(&[]);
    let src = dir.path().join("src");
    let out = dir.path().join("existing-dir");
    fs::create_dir(&out).unwrap();
    pack(
        dir.path(),
        &[
            "--path".as_ref(),
            src.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
    .expect(1, &[&out.display().to_string(), "is a directory", "hint: "]);
    assert!(fs::read_dir(&out).unwrap().next().is_none());
}
