//! Running a `multiprocessing` worker from a frozen executable.
//!
//! With `sys.frozen` set, `multiprocessing.spawn.get_command_line()` starts a
//! worker as `[sys.executable, "--multiprocessing-fork", "key=value", ...]`
//! where each value is the `repr` of an `int` or `None` (`pipe_handle=7`,
//! `tracker_fd=5`, ...). The worker must call
//! `multiprocessing.spawn.spawn_main(**kwargs)` with those values.
//!
//! Helper processes are started differently: the resource tracker (used by
//! `spawn` and `forkserver`) and the fork server run
//! `[sys.executable, <interpreter flags>..., "-c", "from multiprocessing.resource_tracker import main;main(5)"]`.
//! An application that does not parse a Python command line would treat
//! those arguments as its own, so they are recognised here too and the
//! command is executed in `__main__`.

use std::ffi::OsString;

use pyo3::exceptions::PySystemExit;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The argument that marks a spawned worker.
pub(crate) const WORKER_FLAG: &str = "--multiprocessing-fork";

/// The `-c` commands multiprocessing starts helper processes with.
const HELPER_COMMANDS: [&str; 2] = [
    "from multiprocessing.resource_tracker import main",
    "from multiprocessing.forkserver import main",
];

/// How `argv` asks to run a multiprocessing child, if it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dispatch<'a> {
    /// `--multiprocessing-fork key=value...`.
    Spawn(&'a [OsString]),
    /// `[flags...] -c <command>` with a multiprocessing helper command.
    Helper(&'a str),
}

pub(crate) fn dispatch(argv: &[OsString]) -> Option<Dispatch<'_>> {
    if argv.get(1).is_some_and(|arg| arg == WORKER_FLAG) {
        return Some(Dispatch::Spawn(&argv[2..]));
    }
    // Interpreter flags (from `subprocess._args_from_interpreter_flags()`)
    // come first; they all start with `-` and none takes a separate value
    // except `-X`/`-W`, whose values do not start with `-c`.
    let c = argv.iter().position(|a| a == "-c")?;
    let command = argv.get(c + 1)?.to_str()?;
    HELPER_COMMANDS
        .iter()
        .any(|prefix| command.starts_with(prefix))
        .then_some(Dispatch::Helper(command))
}

pub(crate) fn is_worker(argv: &[OsString]) -> bool {
    dispatch(argv).is_some()
}

/// Parse `key=value` worker arguments; values are integers or `None`.
pub(crate) fn parse_worker_args(args: &[OsString]) -> Result<Vec<(String, Option<i64>)>, String> {
    args.iter()
        .map(|arg| {
            let arg = arg
                .to_str()
                .ok_or_else(|| format!("argument {arg:?} is not UTF-8"))?;
            let (key, value) = arg
                .split_once('=')
                .ok_or_else(|| format!("argument `{arg}` is not key=value"))?;
            let value = match value {
                "None" => None,
                v => Some(
                    v.parse::<i64>()
                        .map_err(|_| format!("argument `{arg}`: `{v}` is not an integer"))?,
                ),
            };
            Ok((key.to_string(), value))
        })
        .collect()
}

/// Run the multiprocessing child `argv` describes and return its exit code.
pub(crate) fn run_worker(py: Python<'_>, argv: &[OsString]) -> i32 {
    match dispatch(argv) {
        Some(Dispatch::Spawn(args)) => run_spawn(py, args),
        Some(Dispatch::Helper(command)) => run_helper(py, command),
        None => {
            eprintln!("pyembed: not a multiprocessing child: {argv:?}");
            1
        }
    }
}

/// Execute a helper's `-c` command in `__main__`, as `python -c` would.
fn run_helper(py: Python<'_>, command: &str) -> i32 {
    let result = (|| -> PyResult<()> {
        let code = std::ffi::CString::new(command)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let main = py.import("__main__")?.dict();
        py.run(&code, Some(&main), None)
    })();
    match result {
        Ok(()) => 0,
        Err(err) => exit_code(py, err),
    }
}

/// Run `spawn_main(**kwargs)` and turn its outcome into an exit code.
fn run_spawn(py: Python<'_>, args: &[OsString]) -> i32 {
    let kwargs = match parse_worker_args(args) {
        Ok(kwargs) => kwargs,
        Err(message) => {
            eprintln!("pyembed: invalid {WORKER_FLAG} invocation: {message}");
            return 1;
        }
    };
    let result = (|| -> PyResult<()> {
        let dict = PyDict::new(py);
        for (key, value) in kwargs {
            dict.set_item(key, value)?;
        }
        py.import("multiprocessing.spawn")?
            .getattr("spawn_main")?
            .call((), Some(&dict))?;
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(err) => exit_code(py, err),
    }
}

/// The exit code for an exception that ended a program, printing it the way
/// the interpreter would. `SystemExit(None)` is 0, `SystemExit(n)` is `n`,
/// `SystemExit("message")` prints the message and is 1.
pub(crate) fn exit_code(py: Python<'_>, err: PyErr) -> i32 {
    if !err.is_instance_of::<PySystemExit>(py) {
        err.print(py);
        return 1;
    }
    let code = err.value(py).getattr("code").ok();
    match code {
        None => 1,
        Some(code) if code.is_none() => 0,
        Some(code) => match code.extract::<i32>() {
            Ok(n) => n,
            Err(_) => {
                let text = code.str().map(|s| s.to_string()).unwrap_or_default();
                eprintln!("{text}");
                1
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_arguments_parse() {
        let args: Vec<OsString> = vec![
            "tracker_fd=5".into(),
            "pipe_handle=7".into(),
            "parent_pid=None".into(),
        ];
        assert_eq!(
            parse_worker_args(&args).unwrap(),
            vec![
                ("tracker_fd".into(), Some(5)),
                ("pipe_handle".into(), Some(7)),
                ("parent_pid".into(), None)
            ]
        );
        assert!(
            parse_worker_args(&["x".into()])
                .unwrap_err()
                .contains("not key=value")
        );
        assert!(
            parse_worker_args(&["a=b".into()])
                .unwrap_err()
                .contains("not an integer")
        );
        assert!(is_worker(&["exe".into(), WORKER_FLAG.into()]));
        assert!(!is_worker(&["exe".into()]));
        let tracker: Vec<OsString> = [
            "exe",
            "-B",
            "-s",
            "-c",
            "from multiprocessing.resource_tracker import main;main(5)",
        ]
        .map(OsString::from)
        .to_vec();
        assert_eq!(
            dispatch(&tracker),
            Some(Dispatch::Helper(
                "from multiprocessing.resource_tracker import main;main(5)"
            ))
        );
        let other: Vec<OsString> = ["exe", "-c", "print(1)"].map(OsString::from).to_vec();
        assert_eq!(dispatch(&other), None);
    }
}
