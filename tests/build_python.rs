//! `pyembed build --python`: a hermetic `python3.11` in one file.
//!
//! The built interpreter runs with an empty environment from a scratch
//! directory, and its command line is compared with `/usr/bin/python3.11`'s
//! on the same arguments (stdout and exit status; stderr where it is
//! deterministic). Then it runs with the host's standard library hidden by a
//! mount namespace, and in an empty root holding only the binary, the C
//! libraries `ldd` lists and a mounted `/proc`.

mod build_support;

use std::path::Path;
use std::process::Output;

use build_support::*;

/// Runs `args` under both interpreters (empty environment, in `cwd`, with
/// `stdin`) and returns (ours, python3.11's).
fn both(cwd: &Path, args: &[&str], stdin: &[u8]) -> (Output, Output) {
    let ours = run_with_stdin(clean(&built_python(), cwd).args(args), stdin);
    let theirs = run_with_stdin(clean(Path::new(SYSTEM_PYTHON), cwd).args(args), stdin);
    (ours, theirs)
}

/// Asserts that ours and python3.11 agree on stdout and exit status (and
/// stderr too when `stderr`), for every case.
fn assert_parity(cases: &[(&[&str], &str, bool)]) {
    let dir = TempDir::new("parity");
    dir.write(
        "script.py",
        "import sys\nprint('script', sys.argv, __name__)\nsys.exit(4)\n",
    );
    dir.write(
        "pkgx/__main__.py",
        "import sys\nprint('pkg main', sys.argv[1:], __package__)\n",
    );
    dir.write("pkgx/__init__.py", "");
    dir.write("neighbour.py", "VALUE = 'from the script directory'\n");
    dir.write(
        "uses_neighbour.py",
        "import neighbour\nprint(neighbour.VALUE)\n",
    );
    let mut failures = Vec::new();
    for (args, stdin, compare_stderr) in cases {
        let (ours, theirs) = both(dir.path(), args, stdin.as_bytes());
        let same = ours.stdout == theirs.stdout
            && ours.status.code() == theirs.status.code()
            && (!compare_stderr || ours.stderr == theirs.stderr);
        if !same {
            failures.push(format!(
                "{args:?}\n== ours\n{}\n== python3.11\n{}",
                text(&ours),
                text(&theirs)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn command_line_matches_python311() {
    let flags = "import sys; f = sys.flags; print(f.isolated, f.no_site, f.ignore_environment, \
                 f.optimize, f.dont_write_bytecode, f.no_user_site, f.utf8_mode, f.dev_mode, \
                 f.safe_path, f.quiet, f.inspect, sys.stdout.write_through, __debug__, \
                 sys.warnoptions, sys._xoptions)";
    assert_parity(&[
        (&["-c", "print('hello')"], "", true),
        (
            &["-c", "import sys; print(sys.argv)", "a", "-b", "--c"],
            "",
            true,
        ),
        (&["-c", "raise SystemExit(3)"], "", true),
        (&["-c", "import sys; sys.exit('bye')"], "", true),
        (&["-c", "1/0"], "", true),
        (
            &[
                "-c",
                "import sys; print(sys.flags.isolated, 'site' in sys.modules)",
            ],
            "",
            true,
        ),
        (&["-I", "-c", flags], "", true),
        (&["-S", "-c", flags], "", true),
        (&["-E", "-c", flags], "", true),
        (&["-O", "-c", flags], "", true),
        (&["-OO", "-c", flags], "", true),
        (&["-B", "-c", flags], "", true),
        (&["-s", "-c", flags], "", true),
        (&["-u", "-c", flags], "", true),
        (&["-P", "-c", flags], "", true),
        (&["-X", "utf8", "-X", "dev", "-c", flags], "", true),
        (&["-W", "error", "-c", flags], "", true),
        (
            &["-W", "error", "-c", "import warnings; warnings.warn('x')"],
            "",
            false,
        ),
        (&["script.py", "one", "two"], "", true),
        (&["-I", "script.py"], "", true),
        (&["uses_neighbour.py"], "", true),
        (&["-m", "pkgx", "arg"], "", true),
        (&["-m", "json.tool"], "{\"b\": [1, 2], \"a\": null}", true),
        (&["-"], "import sys\nprint('stdin', sys.argv)\n", true),
        (
            &["-", "x", "y"],
            "import sys\nprint('stdin', sys.argv)\n",
            true,
        ),
        (&[], "print(6 * 7)\n", true),
        (&["-i", "-c", "x = 5"], "print(x * 2)\n", false),
        (
            &["-q", "-i"],
            "import sys; print(sys.flags.inspect)\n",
            false,
        ),
        (
            &[
                "-c",
                "import readline, sqlite3, ssl, decimal, ctypes, zlib, lzma, bz2; print('ok')",
            ],
            "",
            true,
        ),
        (&["-m", "nosuchmodule"], "", false),
        (&["nosuchscript.py"], "", false),
        (&["-Z"], "", false),
        (&["-V"], "", true),
        (&["--version"], "", true),
    ]);
}

#[test]
fn sys_executable_is_the_binary_and_subprocesses_reuse_it() {
    let python = built_python();
    let dir = TempDir::new("subprocess");
    let output = clean(&python, dir.path())
        .args([
            "-c",
            "import subprocess, sys\n\
             print(sys.executable)\n\
             r = subprocess.run([sys.executable, '-c', 'import sys, json; print(sys.executable, json.dumps([1]))'], capture_output=True, text=True)\n\
             print(r.stdout.strip(), r.returncode)",
        ])
        .output()
        .expect("running the built python");
    assert!(output.status.success(), "{}", text(&output));
    let exe = python.display().to_string();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{exe}\n{exe} [1] 0\n"),
        "{}",
        text(&output)
    );
}

#[test]
fn multiprocessing_spawn_and_forkserver_work_from_a_script() {
    let dir = TempDir::new("mp");
    dir.write(
        "mpdemo.py",
        "import multiprocessing as mp\n\
         def square(x):\n    return x * x\n\
         if __name__ == '__main__':\n\
         \x20   for method in ('spawn', 'forkserver'):\n\
         \x20       with mp.get_context(method).Pool(2) as pool:\n\
         \x20           print(method, pool.map(square, range(4)))\n",
    );
    let output = clean(&built_python(), dir.path())
        .arg("mpdemo.py")
        .output()
        .expect("running the built python");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "spawn [0, 1, 4, 9]\nforkserver [0, 1, 4, 9]\n",
        "{}",
        text(&output)
    );
}

/// `code` with `@STDLIB@` replaced by the host standard library's path as a
/// Python string literal.
fn with_stdlib(code: &str) -> String {
    code.replace("@STDLIB@", &format!("{STDLIB:?}"))
}

/// Imports a spread of the standard library, pure and extension modules.
const IMPORT_MANY: &str = "import json, decimal, sqlite3, ssl, ctypes, asyncio, email.parser, \
    xml.etree.ElementTree, unittest, http.client, csv, zoneinfo, lzma, readline, \
    importlib.metadata, importlib.resources\n\
    import sys\n\
    print(sum(1 for m in sys.modules.values() if getattr(m, '__file__', '') and \
    m.__file__.startswith(@STDLIB@)), json.__loader__.__class__.__name__)";

#[test]
fn runs_with_the_host_stdlib_hidden() {
    if !namespaces_work() {
        eprintln!("skipped: user and mount namespaces are not available here");
        return;
    }
    let python = built_python();
    let dir = TempDir::new("hidden");
    let output = with_stdlib_hidden(&python, &["-c", &with_stdlib(IMPORT_MANY)], dir.path())
        .output()
        .expect("running unshare");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "0 OxidizedFinder\n",
        "{}",
        text(&output)
    );
    // The same command fails for python3.11 there: the stdlib really is gone.
    let output = with_stdlib_hidden(Path::new(SYSTEM_PYTHON), &["-c", "import json"], dir.path())
        .output()
        .expect("running unshare");
    assert!(!output.status.success(), "{}", text(&output));
}

/// What runs with only the binary's own C libraries: the pure-Python
/// stdlib, the extension modules built into libpython, and those packed
/// ones that need no other C library.
const IMPORT_MANY_WITHOUT_HOST_LIBRARIES: &str = "import json, decimal, asyncio, email.parser, \
    xml.etree.ElementTree, unittest, http.client, csv, zoneinfo, importlib.metadata, \
    importlib.resources, hashlib, zlib, select, mmap\n\
    import sys\n\
    print(sum(1 for m in sys.modules.values() if getattr(m, '__file__', '') and \
    m.__file__.startswith(@STDLIB@)), json.__loader__.__class__.__name__)";

#[test]
fn runs_in_an_empty_root_with_only_its_c_libraries() {
    if !namespaces_work() {
        eprintln!("skipped: user namespaces are not available here");
        return;
    }
    let root = empty_root(&built_python(), "python");
    let output = in_root(
        root.path(),
        "python",
        &["-c", &with_stdlib(IMPORT_MANY_WITHOUT_HOST_LIBRARIES)],
    )
    .output()
    .expect("running unshare");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "0 OxidizedFinder\n",
        "{}",
        text(&output)
    );
    // Debian's packed `_sqlite3` needs libsqlite3, which the root lacks:
    // the error names the library (see docs/build.md, "C libraries"). The
    // pinned CPython has SQLite linked in statically.
    let output = in_root(root.path(), "python", &["-c", "import sqlite3"])
        .output()
        .expect("running unshare");
    if pyembed::LINKED_CPYTHON.starts_with("pinned ") {
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    } else {
        assert_eq!(output.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("libsqlite3.so.0"),
            "{}",
            text(&output)
        );
    }
    let output = in_root(
        root.path(),
        "python",
        &[
            "-c",
            "import sys, os; print(sys.executable, sorted(os.listdir('/')))",
        ],
    )
    .output()
    .expect("running unshare");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "/python ['lib', 'lib64', 'proc', 'python']\n",
        "{}",
        text(&output)
    );
}
