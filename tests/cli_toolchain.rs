//! Which CPython `pyembed build` and `pyembed pack` use: the hand-over to a
//! pinned toolchain (docs/build.md, "Which CPython"), tested with fake
//! toolchains whose `pyembed` is a shell script recording how it was called.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const PYEMBED: &str = env!("CARGO_BIN_EXE_pyembed");
/// The version this pyembed links, and another pinned one.
const OURS: &str = pyembed::LINKED_PYTHON_VERSION;
const OTHER: &str = if matches!(OURS.as_bytes(), b"3.11") {
    "3.13"
} else {
    "3.11"
};
/// `pyembed pack` asked for the other version (the input is never read: the
/// toolchain selection comes first).
const PACK_OTHER: [&str; 7] = [
    "pack",
    "--python-version",
    OTHER,
    "--path",
    "src",
    "-o",
    "c",
];

struct Run {
    code: i32,
    stderr: String,
}

impl Run {
    /// Exit status 1, and stderr holds every one of `parts`.
    fn fails_saying(&self, parts: &[&str]) {
        assert_eq!(self.code, 1, "{}", self.stderr);
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "{part:?} not in:\n{}",
                self.stderr
            );
        }
    }
}

/// Runs our `pyembed` with `args`, looking for toolchains under `root`.
fn pyembed(root: &Path, args: &[&str], cwd: &Path) -> Run {
    run_pyembed(root, args, cwd, false)
}

/// [`pyembed`], started as another pyembed hands over to a toolchain.
fn handed_over(root: &Path, args: &[&str], cwd: &Path) -> Run {
    run_pyembed(root, args, cwd, true)
}

fn run_pyembed(root: &Path, args: &[&str], cwd: &Path, handed_over: bool) -> Run {
    let mut command = Command::new(PYEMBED);
    command
        .args(args)
        .current_dir(cwd)
        .env("PYEMBED_TOOLCHAINS", root);
    if handed_over {
        command.env("PYEMBED_TOOLCHAIN_ACTIVE", "1");
    } else {
        command.env_remove("PYEMBED_TOOLCHAIN_ACTIVE");
    }
    let output = command.output().expect("pyembed runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Our `pyembed --version`'s `sources:` digest.
fn our_sources() -> String {
    let output = Command::new(PYEMBED).arg("--version").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("sources: "))
        .expect("--version names the sources")
        .to_owned()
}

/// A fake toolchain of `series` under `root`: its `pyembed --version`
/// reports `sources`, and any other call writes its arguments and the
/// hand-over variable to `<toolchain>/called`, then exits 7.
fn fake_toolchain(root: &Path, series: &str, sources: &str) -> PathBuf {
    let dir = root.join(series);
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::create_dir_all(dir.join(format!("lib/python{series}"))).unwrap();
    fs::write(dir.join(format!("lib/python{series}/os.py")), "").unwrap();
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then\n\
         printf 'pyembed 0.1.0\\nsources: {sources}\\npython-version: {series}\\ncpython: fake CPython {series}\\n'\n\
         exit 0\n\
         fi\n\
         here=\"$(dirname \"$0\")/..\"\n\
         printf '%s\\n' \"$@\" > \"$here/called\"\n\
         echo \"active=$PYEMBED_TOOLCHAIN_ACTIVE\" >> \"$here/called\"\n\
         exit 7\n"
    );
    for name in ["pyembed", "pyembed-launcher"] {
        let path = dir.join("bin").join(name);
        fs::write(&path, &script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pyembed-toolchain-")
        .tempdir()
        .unwrap()
}

#[test]
fn build_and_pack_hand_over_to_the_toolchain_of_the_version_asked_for() {
    let root = tempdir();
    let toolchain = fake_toolchain(root.path(), OTHER, &our_sources());
    let cwd = tempdir();
    for (command, args) in [
        (
            "build",
            &["build", "--python-version", OTHER, "--python", "-o", "out"][..],
        ),
        ("pack", &PACK_OTHER[..]),
    ] {
        let run = pyembed(root.path(), args, cwd.path());
        assert_eq!(run.code, 7, "{command}: {}", run.stderr);
        let called = fs::read_to_string(toolchain.join("called")).unwrap();
        let expected: Vec<String> = args
            .iter()
            .map(|a| a.to_string())
            .chain(["active=1".to_string()])
            .collect();
        assert_eq!(called.lines().collect::<Vec<_>>(), expected, "{command}");
        assert!(
            run.stderr.contains(&format!(
                "pyembed {command}: CPython {OTHER}: fake CPython {OTHER} (toolchain {}",
                toolchain.join("bin/pyembed").display()
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_toolchain_built_from_other_sources_is_not_used() {
    let root = tempdir();
    fake_toolchain(root.path(), OTHER, &"0".repeat(64));
    fake_toolchain(root.path(), OURS, &"0".repeat(64));
    let cwd = tempdir();

    // Another version: nothing else can compile for it.
    let run = pyembed(
        root.path(),
        &["build", "--python-version", OTHER, "--python"],
        cwd.path(),
    );
    run.fails_saying(&[
        "was built from other sources (digest 000000000000",
        &format!("python-stdlib/cpython/toolchain.sh {OTHER}"),
    ]);
    assert!(!root.path().join(OTHER).join("called").exists());

    // This pyembed's own version: it says so and runs here (the missing
    // input then fails the pack, after the selection).
    let run = pyembed(
        root.path(),
        &["pack", "--path", "missing", "-o", "c.pyembed"],
        cwd.path(),
    );
    run.fails_saying(&[
        "pyembed pack: not using the pinned toolchain:",
        "(this pyembed)",
    ]);
    assert!(!root.path().join(OURS).join("called").exists());

    // --cpython pinned insists.
    let run = pyembed(
        root.path(),
        &[
            "pack",
            "--cpython",
            "pinned",
            "--path",
            "missing",
            "-o",
            "c",
        ],
        cwd.path(),
    );
    run.fails_saying(&["--cpython pinned:", "was built from other sources"]);
}

#[test]
fn without_a_toolchain_only_the_linked_version_can_be_built() {
    let root = tempdir();
    let cwd = tempdir();
    let run = pyembed(
        root.path(),
        &["build", "--python-version", OTHER, "--python", "-o", "x"],
        cwd.path(),
    );
    run.fails_saying(&[
        &format!("this pyembed links CPython {OURS}"),
        "there is no toolchain at",
        &format!(
            "hint: build the pinned toolchain with `python-stdlib/cpython/toolchain.sh {OTHER}`"
        ),
    ]);

    let run = pyembed(
        root.path(),
        &["pack", "--cpython", "pinned", "--path", "src", "-o", "c"],
        cwd.path(),
    );
    run.fails_saying(&["--cpython pinned: there is no toolchain at"]);

    let run = pyembed(
        root.path(),
        &[
            "pack",
            "--cpython",
            "linked",
            "--python-version",
            OTHER,
            "--path",
            "src",
            "-o",
            "c",
        ],
        cwd.path(),
    );
    run.fails_saying(&[&format!(
        "--cpython linked: this pyembed links CPython {OURS}, not {OTHER}"
    )]);
}

#[test]
fn an_incomplete_toolchain_is_named() {
    let root = tempdir();
    let dir = fake_toolchain(root.path(), OTHER, &our_sources());
    fs::remove_file(dir.join(format!("lib/python{OTHER}/os.py"))).unwrap();
    let cwd = tempdir();
    let run = pyembed(root.path(), &PACK_OTHER, cwd.path());
    run.fails_saying(&[&format!(
        "{} is not a standard library (no os.py)",
        dir.join(format!("lib/python{OTHER}")).display()
    )]);

    fs::remove_file(dir.join("bin/pyembed-launcher")).unwrap();
    let run = pyembed(root.path(), &PACK_OTHER, cwd.path());
    assert!(
        run.stderr.contains(&format!(
            "{} does not exist",
            dir.join("bin/pyembed-launcher").display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_handed_over_pyembed_never_hands_over_again() {
    let root = tempdir();
    fake_toolchain(root.path(), OTHER, &our_sources());
    let cwd = tempdir();
    let run = handed_over(root.path(), &PACK_OTHER, cwd.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("links CPython {OURS}, but {OTHER} was asked for")),
        "{}",
        run.stderr
    );
    assert!(!root.path().join(OTHER).join("called").exists());

    // Its own version runs here, silently: the pyembed that handed over
    // already said which CPython runs.
    let run = handed_over(
        root.path(),
        &["pack", "--path", "missing", "-o", "c.pyembed"],
        cwd.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
    assert!(!run.stderr.contains("CPython"), "{}", run.stderr);
}

#[test]
fn versions_are_checked_before_anything_runs() {
    let root = tempdir();
    let cwd = tempdir();
    for bad in ["3", "3.11.2", "three"] {
        let run = pyembed(
            root.path(),
            &["build", "--python", "--python-version", bad],
            cwd.path(),
        );
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(
            run.stderr.contains("is not a Python version like 3.11"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn the_version_says_what_a_toolchain_is_checked_against() {
    let output = Command::new(PYEMBED).arg("--version").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("pyembed "), "{text}");
    assert_eq!(lines[1].len(), "sources: ".len() + 64, "{text}");
    assert_eq!(lines[2], format!("python-version: {OURS}"), "{text}");
    assert_eq!(lines[3], format!("cpython: {}", pyembed::LINKED_CPYTHON));
}

#[test]
fn a_bare_launcher_describes_itself_and_build_checks_it() {
    let launcher = Path::new(PYEMBED).with_file_name("pyembed-launcher");
    let output = Command::new(&launcher)
        .arg("--pyembed-describe")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!(
            "python-version: {OURS}\ncpython: {}\n",
            pyembed::LINKED_CPYTHON
        )
    );

    // A launcher that does not describe itself is refused before packing.
    let root = tempdir();
    let cwd = tempdir();
    fs::create_dir(cwd.path().join("src")).unwrap();
    fs::write(cwd.path().join("src/app.py"), "print('hi')\n").unwrap();
    let run = pyembed(
        root.path(),
        &[
            "build",
            "--entry",
            "app",
            "--path",
            "src",
            "--launcher",
            "/bin/true",
            "-o",
            "app",
        ],
        cwd.path(),
    );
    run.fails_saying(&["the launcher /bin/true did not describe itself"]);
    assert!(!cwd.path().join("app").exists());
}
