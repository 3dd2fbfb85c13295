//! Helpers shared by the `interpreter_*` integration tests.
//!
//! CPython can be initialised once per process, so every test that creates a
//! [`MainPythonInterpreter`] runs in a child process of its own: the test
//! binary re-executes itself for that one test through `rusty-fork`.
//! [`forked_test!`] declares such tests; [`fork`] (through the [`forked!`]
//! macro) is the lower-level form for a test that sets the child's
//! environment or inspects what it printed and how it exited.
//!
//! Every child starts with the `PYTHON*` variables of the surrounding
//! environment removed, so a developer's `PYTHONUNBUFFERED` or a CI image's
//! `PYTHONDONTWRITEBYTECODE` cannot change what a test observes.
//!
//! Inside the child, [`config`] builds the base configuration (the `Python`
//! profile with `parse_argv` off and an explicit `argv`), and [`eval`] runs a
//! snippet of Python whose last statement is the expression to return.

// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use pyembed::{
    MainPythonInterpreter, NewInterpreterError, OxidizedPythonInterpreterConfig,
    PythonInterpreterProfile,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The `python` executable of the CPython build the crate links (Debian's
/// `/usr/bin/python3.11` by default, the pinned build's own under its
/// `PYO3_CONFIG_FILE`). `python3` on `PATH` may be another build, so
/// comparisons use this one.
pub const SYSTEM_PYTHON: &str = env!("PYEMBED_LINKED_PYTHON_EXECUTABLE");

/// The standard library of that build (`/usr/lib/python3.11` for Debian's).
pub const STDLIB: &str = env!("PYEMBED_LINKED_STDLIB");

/// The installation prefix of that build: `STDLIB` is `<prefix>/lib/pythonX.Y`
/// (`/usr` for Debian's).
pub fn prefix() -> &'static Path {
    Path::new(STDLIB)
        .parent()
        .and_then(Path::parent)
        .expect("the linked standard library lies under <prefix>/lib")
}

/// `home` for the tests' interpreters: `None` (CPython searches its
/// compiled-in prefix, `/usr` for Debian's build), except for the pinned
/// build, whose compiled-in prefix (`/opt/pyembed/cpython-X.Y.Z`) is a fixed
/// name where nothing is installed: its interpreters are pointed at the
/// build cache's installation, as a downstream binary would be.
pub fn linked_home() -> Option<PathBuf> {
    pyembed::LINKED_CPYTHON
        .starts_with("pinned ")
        .then(|| prefix().to_path_buf())
}

/// The base configuration: `OxidizedPythonInterpreterConfig::default()` (the
/// `Python` profile) with `parse_argv` off, so the test harness's own
/// arguments are not read as Python options, and `argv` as given (and
/// [`linked_home`]).
pub fn config(argv: &[&str]) -> OxidizedPythonInterpreterConfig<'static> {
    let mut config = OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.parse_argv = Some(false);
    config.interpreter_config.home = linked_home();
    config.argv = Some(argv.iter().map(OsString::from).collect());
    config
}

/// [`config`] with the `Isolated` profile.
pub fn isolated_config(argv: &[&str]) -> OxidizedPythonInterpreterConfig<'static> {
    let mut config = config(argv);
    config.interpreter_config.profile = PythonInterpreterProfile::Isolated;
    config
}

/// Create the interpreter, panicking with the error's message on failure.
pub fn start(
    config: OxidizedPythonInterpreterConfig<'static>,
) -> MainPythonInterpreter<'static, 'static> {
    match MainPythonInterpreter::new(config) {
        Ok(interpreter) => interpreter,
        Err(err) => panic!("MainPythonInterpreter::new failed: {err}"),
    }
}

/// Try to create the interpreter and return the error it must fail with.
pub fn start_err(config: OxidizedPythonInterpreterConfig<'static>) -> NewInterpreterError {
    match MainPythonInterpreter::new(config) {
        Ok(_) => panic!("MainPythonInterpreter::new succeeded but an error was expected"),
        Err(err) => err,
    }
}

/// Start an interpreter from `config`, evaluate `code` with [`eval`], and
/// finalize the interpreter.
pub fn python<T>(config: OxidizedPythonInterpreterConfig<'static>, code: &str) -> T
where
    T: for<'py> FromPyObjectOwned<'py>,
{
    let interpreter = start(config);
    let value = interpreter.with_gil(|py| eval::<T>(py, code));
    drop(interpreter);
    value
}

/// Run `code` and return the value of its last statement, an expression.
///
/// The snippet is dedented first, so it can be written as an indented raw
/// string. The statements before the last one run in a fresh namespace that
/// the expression then sees; the expression may span several lines. A Python
/// exception panics with its traceback.
///
/// The split is done with `compile(..., PyCF_ONLY_AST)` and the built-in
/// `_ast` module, so evaluating imports nothing from the filesystem.
pub fn eval<'py, T>(py: Python<'py>, code: &str) -> T
where
    T: FromPyObjectOwned<'py>,
{
    let code = dedent(code);
    let helper = PyDict::new(py);
    exec_in(py, &helper, EVAL_HELPER);
    let namespace = PyDict::new(py);
    let value = helper
        .get_item("evaluate")
        .ok()
        .flatten()
        .expect("the evaluate helper is defined")
        .call1((code.as_str(), &namespace))
        .unwrap_or_else(|err| panic!("evaluating Python failed:\n{code}\n{}", describe(py, &err)));
    value
        .extract::<T>()
        .map_err(Into::<PyErr>::into)
        .unwrap_or_else(|err| {
            panic!(
                "converting the value of\n{code}\nfailed: {}",
                describe(py, &err)
            )
        })
}

const EVAL_HELPER: &str = r#"
def evaluate(source, namespace):
    import _ast
    tree = compile(source, "<test>", "exec", _ast.PyCF_ONLY_AST)
    if not tree.body or not isinstance(tree.body[-1], _ast.Expr):
        raise ValueError("the last statement of a test snippet must be an expression")
    last = tree.body.pop()
    exec(compile(tree, "<test>", "exec"), namespace)
    expression = _ast.Expression(last.value)
    return eval(compile(expression, "<test>", "eval"), namespace)
"#;

/// Run the statements of `code` (dedented) in a fresh namespace.
pub fn exec(py: Python<'_>, code: &str) {
    exec_in(py, &PyDict::new(py), &dedent(code));
}

fn exec_in(py: Python<'_>, globals: &Bound<'_, PyDict>, code: &str) {
    let source = CString::new(code).expect("test code has no NUL byte");
    py.run(&source, Some(globals), None)
        .unwrap_or_else(|err| panic!("running Python failed:\n{code}\n{}", describe(py, &err)));
}

/// `Type: message` and the traceback of a Python exception.
pub fn describe(py: Python<'_>, err: &PyErr) -> String {
    let traceback = err
        .traceback(py)
        .and_then(|tb| tb.format().ok())
        .unwrap_or_default();
    format!("{traceback}{err}")
}

/// Remove the indentation common to every non-blank line.
pub fn dedent(code: &str) -> String {
    let indent = code
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    code.lines()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The linked CPython's standard library directories, for tests that set
/// `module_search_paths` and still need `encodings` to import.
pub fn system_stdlib_paths() -> Vec<PathBuf> {
    vec![PathBuf::from(STDLIB), Path::new(STDLIB).join("lib-dynload")]
}

/// Give `SIGINT` its default disposition in this (forked) process, whatever
/// the shell that started the tests did: a job started in the background by a
/// non-interactive shell inherits `SIGINT` ignored.
pub fn default_sigint() {
    // SAFETY: SIG_DFL is a valid disposition for SIGINT; this runs in a child
    // process before CPython (the only other signal user) is initialised.
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR, "signal(SIGINT, SIG_DFL) failed");
}

/// The test executable's directory, canonicalised: what `$ORIGIN` expands to.
pub fn origin() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let exe = std::fs::canonicalize(exe).expect("canonicalize current_exe");
    exe.parent().expect("exe has a parent").to_path_buf()
}

/// How a forked child ended and everything it wrote to stdout and stderr
/// (one stream, in order).
#[derive(Debug)]
pub struct Forked {
    /// The exit code; `None` if a signal killed the child. A child whose
    /// closure returns exits with 0, one that panics with 70.
    pub code: Option<i32>,
    /// Combined stdout and stderr, including the test harness's own lines.
    pub output: String,
}

impl Forked {
    /// Panic, showing the child's output, unless it exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "child exited with {:?}, expected {code}; its output:\n{}",
            self.code,
            self.output
        );
        self
    }

    /// Panic, showing the child's output, unless it exited with 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    /// Panic unless the output contains `needle`.
    #[track_caller]
    pub fn assert_output_contains(&self, needle: &str) -> &Self {
        assert!(
            self.output.contains(needle),
            "child output lacks {needle:?}:\n{}",
            self.output
        );
        self
    }
}

/// Environment changes for a forked child: `(name, Some(value))` sets a
/// variable, `(name, None)` removes it.
pub type Env<'a> = &'a [(&'a str, Option<&'a str>)];

/// Printed by every forked child before it runs the test body; its absence
/// means the child's test harness skipped the test (a filter that did not
/// match, or an ignored test without `--ignored`), which must not pass.
const CHILD_MARKER: &str = "pyembed-test: forked child running the test body";

/// Run `child` in a fresh copy of the test binary (see the module docs) and
/// report how it ended.
///
/// `test_name` and `id` must come from `rusty_fork::rusty_fork_test_name!`
/// and `rusty_fork::rusty_fork_id!()` at the call site; [`forked!`] passes
/// them. In the child this call runs `child` and exits; it never returns.
///
/// A test function may fork once: the child re-runs the whole test function
/// and executes the closure of the first `fork` call site it reaches, so a
/// loop around `forked!` would run its first iteration every time.
pub fn fork(
    test_name: &str,
    id: rusty_fork::RustyForkId,
    env: Env<'_>,
    child: impl FnOnce(),
) -> Forked {
    let output: RefCell<Option<File>> = RefCell::new(None);
    let forked = rusty_fork::fork(
        test_name,
        id,
        |command: &mut Command| {
            let file = output_file();
            *command = child_command(command, &file, env);
            *output.borrow_mut() = Some(file);
        },
        |child, _rusty_fork_file| {
            let status = child.wait().expect("waiting for the forked child");
            let mut file = output.borrow_mut().take().expect("the child's output file");
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(0))
                .expect("rewinding the child's output");
            file.read_to_end(&mut bytes)
                .expect("reading the child's output");
            Forked {
                code: status.code(),
                output: String::from_utf8_lossy(&bytes).into_owned(),
            }
        },
        || {
            let mut stderr = std::io::stderr();
            writeln!(stderr, "{CHILD_MARKER}").expect("writing to stderr");
            child()
        },
    )
    .expect("rusty-fork could not start the child");
    assert!(
        forked.output.contains(CHILD_MARKER),
        "the forked child exited with {:?} without running the test body \
         (did its test harness skip the test?); its output:\n{}",
        forked.code,
        forked.output
    );
    forked
}

/// An anonymous read-write file for a child's combined stdout and stderr.
fn output_file() -> File {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("pyembed-fork-output-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("creating the child's output file");
    // The open handle keeps the file; nothing else needs its name.
    std::fs::remove_file(&path).expect("unlinking the child's output file");
    file
}

/// The command rusty-fork prepared, rebuilt with the fixes this suite needs:
///
/// - `PYTHON*` variables removed and `env` applied;
/// - the parent's `--ignored`/`--include-ignored` restored before the `--`
///   that starts the test filter. rusty-fork 0.3.1 believes `--nocapture`
///   takes a value and drops the argument after it, which is where
///   `cargo nextest run --run-ignored` puts `--ignored`; the child's harness
///   would then skip the (ignored) test and the parent would see success;
/// - stdout and stderr sent to `file`, stdin closed.
fn child_command(prepared: &Command, file: &File, env: Env<'_>) -> Command {
    let mut args: Vec<OsString> = prepared.get_args().map(OsString::from).collect();
    let separator = args.iter().position(|a| a == "--").unwrap_or(args.len());
    for flag in ["--ignored", "--include-ignored"] {
        let wanted = std::env::args().any(|a| a == flag);
        if wanted && !args[..separator].iter().any(|a| a == flag) {
            args.insert(separator, flag.into());
        }
    }
    let mut command = Command::new(prepared.get_program());
    command.args(args);
    for (name, value) in prepared.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PYTHON") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let clone = || file.try_clone().expect("duplicating the output file");
    command.stdin(Stdio::null()).stdout(clone()).stderr(clone());
    command
}

/// `forked!(test_fn_name, env, || { ... })`: [`fork`] for the enclosing test
/// function `test_fn_name`, with the `PYTHON*` variables removed and `env`
/// applied.
#[macro_export]
macro_rules! forked {
    ($name:ident, $env:expr, $child:expr) => {
        $crate::support::fork(
            rusty_fork::rusty_fork_test_name!($name),
            rusty_fork::rusty_fork_id!(),
            $env,
            $child,
        )
    };
}

/// Declare `#[test]` functions whose bodies run in a child process (see
/// [`fork`]); the test fails, showing the child's output, unless the body
/// returns normally.
#[macro_export]
macro_rules! forked_test {
    ($(
        $(#[$meta:meta])*
        fn $name:ident() $body:block
    )*) => {$(
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::forked!($name, &[], || $body).assert_success();
        }
    )*};
}

/// A directory under the system temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new empty directory whose name contains `label` and this process's id.
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("pyembed-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        let path = std::fs::canonicalize(&path).expect("canonicalizing the temporary directory");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `contents` (dedented) to `name`, a relative path inside the
    /// directory, creating parent directories; return the file's path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("creating a test file's directory");
        }
        std::fs::write(&path, dedent(contents)).expect("writing a test file");
        path
    }

    /// The path as a `&str` (temporary paths are ASCII here).
    pub fn as_str(&self) -> &str {
        self.path.to_str().expect("temporary path is UTF-8")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Run the `unittest` file `source` as module `name` inside an interpreter
/// made from `config` (its `argv` is replaced). The module sees the virtual
/// origin directory as `ORIGIN`. Returns `(successful, tests run, report)`.
#[allow(dead_code)] // not every test binary runs Python test files
pub fn run_unittest_source(
    mut config: pyembed::OxidizedPythonInterpreterConfig<'static>,
    name: &str,
    source: &str,
) -> (bool, usize, String) {
    config.argv = Some(vec![
        "prog".into(),
        origin().into_os_string(),
        name.into(),
        source.into(),
    ]);
    python(
        config,
        r#"
        import io, sys, types, unittest
        _, origin, name, source = sys.argv
        module = types.ModuleType(name)
        module.ORIGIN = origin
        sys.modules[name] = module
        exec(compile(source, name + ".py", "exec"), module.__dict__)
        stream = io.StringIO()
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
        result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
        (result.wasSuccessful(), result.testsRun, stream.getvalue())
        "#,
    )
}
