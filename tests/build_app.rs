//! `pyembed build --entry`: application executables.
//!
//! Every executable runs with an empty environment from a directory other
//! than the one it was built in; the hermetic cases also hide the host
//! stdlib or run in an empty root.

mod build_support;

use std::path::{Path, PathBuf};

use build_support::*;

/// An application tree: a package with a CLI function, a `__main__`, a
/// multiprocessing demo, and a site-packages directory with a distribution
/// declaring a console script.
fn app_tree(dir: &TempDir) {
    dir.write("src/demo/__init__.py", "");
    dir.write(
        "src/demo/cli.py",
        "import sys\n\
         \n\
         def main():\n\
         \x20   print('argv', sys.argv[1:], 'frozen', sys.frozen, 'exe', sys.executable == sys.argv[0])\n\
         \x20   if sys.argv[1:2] == ['exit']:\n\
         \x20       return int(sys.argv[2])\n\
         \x20   if sys.argv[1:2] == ['raise']:\n\
         \x20       raise ValueError('boom from the app')\n\
         \x20   if sys.argv[1:2] == ['message']:\n\
         \x20       sys.exit('a message')\n\
         \x20   return None\n",
    );
    dir.write(
        "src/demo/__main__.py",
        "import sys\nprint('module main', sys.argv[1:], __name__)\nsys.exit(5)\n",
    );
    dir.write(
        "src/demo/pool.py",
        "import multiprocessing as mp\n\
         \n\
         def square(x):\n\
         \x20   return x * x\n\
         \n\
         def main():\n\
         \x20   for method in ('spawn', 'forkserver'):\n\
         \x20       with mp.get_context(method).Pool(2) as pool:\n\
         \x20           print(method, pool.map(square, range(4)))\n",
    );
    dir.write(
        "site/greeter/__init__.py",
        "def hello():\n    print('hello from greeter')\n    return 0\n",
    );
    dir.write(
        "site/greeter-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: greeter\nVersion: 1.0\n",
    );
    dir.write(
        "site/greeter-1.0.dist-info/entry_points.txt",
        "[console_scripts]\ngreet = greeter:hello\n",
    );
    dir.write("site/greeter-1.0.dist-info/RECORD", "");
}

fn app(label: &str, args: &[&str]) -> PathBuf {
    let dir = TempDir::new("app-src");
    app_tree(&dir);
    let mut all = vec![
        "--compress",
        "none",
        "--path",
        "src",
        "--site-packages",
        "site",
    ];
    all.extend(args);
    built(label, dir.path(), &all)
}

fn run(exe: &Path, args: &[&str]) -> std::process::Output {
    let dir = TempDir::new("cwd");
    clean(exe, dir.path())
        .args(args)
        .output()
        .expect("running the app")
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_function_entry_gets_every_argument_and_sets_the_exit_status() {
    let exe = app("cli", &["--entry", "demo.cli:main"]);
    let output = run(&exe, &["-c", "print(1)", "-I", "--help"]);
    assert_eq!(
        stdout(&output),
        "argv ['-c', 'print(1)', '-I', '--help'] frozen True exe True\n",
        "{}",
        text(&output)
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(run(&exe, &["exit", "7"]).status.code(), Some(7));
    let output = run(&exe, &["raise"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("raise ValueError('boom from the app')")
            && stderr.contains("ValueError: boom from the app"),
        "traceback with source lines:\n{stderr}"
    );
    let output = run(&exe, &["message"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("a message"));
}

#[test]
fn a_module_entry_runs_as_main() {
    let exe = app("module", &["--entry", "demo"]);
    let output = run(&exe, &["x", "-y"]);
    assert_eq!(
        stdout(&output),
        "module main ['x', '-y'] __main__\n",
        "{}",
        text(&output)
    );
    assert_eq!(output.status.code(), Some(5));
}

#[test]
fn a_console_script_is_found_in_a_packed_dist_info() {
    let exe = app("console", &["--entry", "greet"]);
    let output = run(&exe, &[]);
    assert_eq!(stdout(&output), "hello from greeter\n", "{}", text(&output));
    assert!(output.status.success());
}

#[test]
fn multiprocessing_spawn_and_forkserver_work_from_an_app() {
    let exe = app("pool", &["--entry", "demo.pool:main"]);
    let output = run(&exe, &[]);
    assert_eq!(
        stdout(&output),
        "spawn [0, 1, 4, 9]\nforkserver [0, 1, 4, 9]\n",
        "{}",
        text(&output)
    );
}

#[test]
fn an_app_is_hermetic() {
    if !namespaces_work() {
        eprintln!("skipped: user and mount namespaces are not available here");
        return;
    }
    let exe = app("cli", &["--entry", "demo.cli:main"]);
    let dir = TempDir::new("hidden");
    let output = with_stdlib_hidden(&exe, &["hi"], dir.path())
        .output()
        .expect("unshare");
    assert_eq!(
        stdout(&output),
        "argv ['hi'] frozen True exe True\n",
        "{}",
        text(&output)
    );
    let root = empty_root(&exe, "app");
    let output = in_root(root.path(), "app", &["there"])
        .output()
        .expect("unshare");
    assert_eq!(
        stdout(&output),
        "argv ['there'] frozen True exe True\n",
        "{}",
        text(&output)
    );
}

#[test]
fn a_toml_configuration_builds_the_same_executable_as_flags() {
    let dir = TempDir::new("toml");
    app_tree(&dir);
    dir.write(
        "app.toml",
        "entry = \"demo.cli:main\"\npath = [\"src\"]\nsite-packages = [\"site\"]\ncompress = \"none\"\n",
    );
    let elsewhere = TempDir::new("toml-cwd");
    let from_toml = elsewhere.path().join("from-toml");
    let config = dir.path().join("app.toml");
    let output = pyembed_build(
        elsewhere.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "-o",
            from_toml.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let from_flags = app("cli", &["--entry", "demo.cli:main"]);
    assert!(
        std::fs::read(&from_toml).unwrap() == std::fs::read(&from_flags).unwrap(),
        "the TOML and flag builds differ"
    );
    // A flag overrides the file.
    let overridden = elsewhere.path().join("overridden");
    let output = pyembed_build(
        elsewhere.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--entry",
            "demo",
            "-o",
            overridden.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(run(&overridden, &[]).status.code(), Some(5));
    // Unknown keys are refused, naming the file.
    dir.write("bad.toml", "entry = \"demo\"\ncolour = \"red\"\n");
    let output = pyembed_build(
        elsewhere.path(),
        &[
            "--config",
            dir.path().join("bad.toml").to_str().unwrap(),
            "-o",
            "x",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("bad.toml") && stderr.contains("colour"),
        "{stderr}"
    );
}

#[test]
fn builds_from_different_directories_are_identical() {
    let one = TempDir::new("repro-one");
    let two = TempDir::new("repro-two-with-a-longer-name");
    app_tree(&one);
    app_tree(&two);
    let mut outputs = Vec::new();
    for dir in [&one, &two] {
        let out = dir.path().join("deep/dir/app");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let output = pyembed_build(
            dir.path(),
            &[
                "--entry",
                "demo.cli:main",
                "--path",
                "src",
                "--site-packages",
                dir.path().join("site").to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert!(output.status.success(), "{}", text(&output));
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert!(
        outputs[0] == outputs[1],
        "two builds of the same inputs differ"
    );
}

#[test]
fn bad_entry_points_and_wheels_are_refused_at_build_time() {
    let dir = TempDir::new("bad");
    app_tree(&dir);
    dir.write(
        "wheels/other-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "not a zip",
    );
    dir.write("wheels/win-1.0-cp311-cp311-win_amd64.whl", "not a zip");
    let cases: &[(&[&str], &str)] = &[
        (&["--entry", "nosuch.module"], "no module `nosuch.module`"),
        (&["--entry", "demo.cli:nosuch"], "defines no `nosuch`"),
        (&["--entry", "demo.cli:"], "dotted Python name"),
        (
            &[
                "--entry",
                "demo",
                "--wheel",
                "wheels/other-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            ],
            "cp312",
        ),
        (
            &[
                "--entry",
                "demo",
                "--wheel",
                "wheels/win-1.0-cp311-cp311-win_amd64.whl",
            ],
            "win_amd64",
        ),
        (
            &["--entry", "demo", "--launcher", "src/demo/cli.py"],
            "not an ELF executable",
        ),
        (&[], "nothing to build"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["--path", "src", "-o", "out"];
        all.extend(*args);
        let output = pyembed_build(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in\n{stderr}"
        );
        assert_eq!(stderr.matches("error:").count(), 1, "one message: {stderr}");
        assert!(!dir.path().join("out").exists(), "{args:?} wrote an output");
    }
    // A built executable is not a launcher.
    let exe = app("cli", &["--entry", "demo.cli:main"]);
    let output = pyembed_build(
        dir.path(),
        &["--python", "--launcher", exe.to_str().unwrap(), "-o", "out"],
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already carries a payload"),
        "{}",
        text(&output)
    );
}

#[test]
fn damaged_executables_fail_with_one_message() {
    let exe = app("cli", &["--entry", "demo.cli:main"]);
    let bytes = std::fs::read(&exe).unwrap();
    let dir = TempDir::new("damaged");
    let write = |name: &str, bytes: &[u8]| {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let launcher_len = std::fs::metadata(LAUNCHER).unwrap().len() as usize;
    let payload_len = bytes.len() - launcher_len;
    let mut damaged_config = bytes.clone();
    let config_at = bytes.len() - 96 - 20;
    damaged_config[config_at] ^= 0x20;
    // The application container's header (the last container, page aligned).
    let app_header = (bytes.len() - 96 - 200) / 4096 * 4096;
    let mut damaged_header = bytes.clone();
    let header_at = (launcher_len..bytes.len())
        .rev()
        .filter(|at| at % 4096 == 0)
        .find(|&at| bytes[at..].starts_with(b"\x89PYRC\r\n\x1a"))
        .unwrap_or(app_header);
    damaged_header[header_at + 40] ^= 1;
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write("bare", &std::fs::read(LAUNCHER).unwrap()),
            "no pyembed payload",
        ),
        (
            write("truncated", &bytes[..launcher_len + payload_len / 2]),
            "no pyembed payload",
        ),
        (
            write("short-by-one", &bytes[..bytes.len() - 1]),
            "no pyembed payload",
        ),
        (write("config", &damaged_config), "modified after building"),
        (write("header", &damaged_header), "damaged"),
    ];
    for (path, expected) in cases {
        let output = run(&path, &["x"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: {}",
            path.display(),
            text(&output)
        );
        assert!(output.stdout.is_empty(), "{}: the app ran", path.display());
        assert!(
            stderr.contains(expected),
            "{}: expected {expected:?} in\n{stderr}",
            path.display()
        );
        assert_eq!(
            stderr.lines().filter(|l| l.contains("error:")).count(),
            1,
            "{stderr}"
        );
    }
}

#[test]
fn a_resources_override_needs_to_be_built_in() {
    let plain = app("cli", &["--entry", "demo.cli:main"]);
    let allowing = app(
        "cli-override",
        &["--entry", "demo.cli:main", "--resources-env", "APP_RES"],
    );
    let dir = TempDir::new("override");
    // Without permission, the variable is ignored.
    let output = clean(&plain, dir.path())
        .env("APP_RES", "/nonexistent.pyembed")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    // With it, the named containers replace the payload: here a missing
    // file, which is an error naming it.
    let output = clean(&allowing, dir.path())
        .env("APP_RES", "/nonexistent.pyembed")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("/nonexistent.pyembed"),
        "{}",
        text(&output)
    );
    // ... and the real stdlib container alone lacks the app.
    let output = clean(&allowing, dir.path())
        .env("APP_RES", stdlib_container())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no module named 'demo'"),
        "{}",
        text(&output)
    );
}

fn pyembed(args: &[&str]) -> std::process::Output {
    std::process::Command::new(PYEMBED)
        .args(args)
        .output()
        .expect("running pyembed")
}

#[test]
fn inspect_verify_and_diff_read_built_executables() {
    let cli = app("cli", &["--entry", "demo.cli:main"]);
    let module = app("module", &["--entry", "demo"]);
    let (cli_s, module_s) = (cli.to_str().unwrap(), module.to_str().unwrap());

    let output = pyembed(&["inspect", cli_s]);
    let out = stdout(&output);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        out.contains("built executable") && out.contains("2 container(s)"),
        "{out}"
    );
    assert!(
        out.contains("mode=app") && out.contains("entry=demo.cli:main"),
        "{out}"
    );
    assert!(out.contains(&format!("{cli_s}#2")), "{out}");

    let output = pyembed(&["verify", cli_s]);
    let out = stdout(&output);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(out.matches(": intact").count(), 2, "{out}");

    let output = pyembed(&["diff", cli_s, cli_s]);
    assert!(output.status.success(), "{}", text(&output));
    let output = pyembed(&["diff", cli_s, module_s]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        out.contains("launcher: identical")
            && out.contains("- entry=demo.cli:main")
            && out.contains("+ entry=demo"),
        "{out}"
    );

    // One container by name; a container file and an executable do not mix.
    let dir = TempDir::new("extract");
    let output = pyembed(&[
        "extract",
        &format!("{cli_s}#2"),
        "-o",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(dir.path().join("out/demo/cli.py").is_file());
    let stdlib = stdlib_container();
    let output = pyembed(&["diff", cli_s, stdlib.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let output = pyembed(&["extract", cli_s, "-o", "x"]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("{cli_s}#1")),
        "{}",
        text(&output)
    );

    // A damaged resource in the application container fails verification.
    let mut bytes = std::fs::read(&cli).unwrap();
    let at = bytes
        .windows(b"a message".len())
        .rposition(|w| w == b"a message")
        .expect("the app's source is packed");
    bytes[at] ^= 1;
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, bytes).unwrap();
    let output = pyembed(&["verify", damaged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    // The small application container is one chunk, holding its index too:
    // opening it fails, naming the container and the chunk.
    assert!(
        text(&output).contains("damaged#2 is damaged: tier-0 chunk 0"),
        "{}",
        text(&output)
    );
}

#[test]
fn an_attribute_missing_at_run_time_is_one_message() {
    // `main` exists, so the build accepts it; `main.nosuch` fails when run.
    let exe = app("cli-attr", &["--entry", "demo.cli:main.nosuch"]);
    let output = run(&exe, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line, no traceback: {stderr}"
    );
    assert!(
        stderr.contains("entry point demo.cli:main.nosuch:") && stderr.contains("'nosuch'"),
        "{stderr}"
    );
}

#[test]
fn the_allocator_and_the_cpython_are_recorded_in_the_build_configuration() {
    let exe = app(
        "cli-system-allocator",
        &["--entry", "demo.cli:main", "--allocator", "system"],
    );
    let output = run(&exe, &["ok"]);
    assert_eq!(
        stdout(&output),
        "argv ['ok'] frozen True exe True\n",
        "{}",
        text(&output)
    );
    let output = pyembed(&["inspect", exe.to_str().unwrap()]);
    assert!(
        stdout(&output).contains("allocator=system"),
        "{}",
        text(&output)
    );
    // The launcher's own account of the CPython it links.
    assert!(
        stdout(&output).contains(&format!("cpython={}", pyembed::LINKED_CPYTHON)),
        "{}",
        text(&output)
    );
    let dir = TempDir::new("allocator");
    let output = pyembed_build(
        dir.path(),
        &["--python", "--allocator", "tcmalloc", "-o", "x"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("tcmalloc"),
        "{}",
        text(&output)
    );
}
