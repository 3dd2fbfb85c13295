//! Interpreter lifecycle faults, each in its own process: a Rust panic
//! raised under Python, a Python exception while the interpreter starts,
//! finalisation while Python threads are still running (importing from
//! packed resources, in both tiers). Each ends in a clear error or a clean
//! exit, never a crash, a hang or undefined behaviour.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::process::Command;

use pyembed::MainPythonInterpreter;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use support::{TempDir, config, eval, start};

forked_test! {
    fn a_rust_panic_under_python_is_an_exception_and_the_interpreter_survives() {
        let interpreter = start(config(&["prog"]));
        let (kind, message, after): (String, String, i64) = interpreter.with_gil(|py| {
            let boom = PyCFunction::new_closure(py, None, None, |_args, _kwargs| -> PyResult<()> {
                panic!("pyembed hostile panic")
            })
            .expect("closure");
            py.import("builtins").expect("builtins").setattr("boom", boom).expect("setattr");
            eval(
                py,
                r#"
                try:
                    boom()
                except BaseException as e:
                    caught = (type(e).__name__, str(e))
                (caught[0], caught[1], 6 * 7)
                "#,
            )
        });
        assert_eq!(kind, "PanicException");
        assert!(message.contains("pyembed hostile panic"), "{message}");
        assert_eq!(after, 42);
    }

    fn a_python_exception_while_starting_is_an_error_naming_it() {
        // A container whose `encodings` package raises when imported, and no
        // other way to find one: CPython's start-up cannot complete.
        let tree = TempDir::new("broken-encodings");
        tree.write("encodings/__init__.py", "raise RuntimeError('encodings sabotaged')\n");
        let container = tree.path().join("broken.pyembed");
        let packed = Command::new(importer_support::PYEMBED)
            .arg("pack")
            .arg("--path")
            .arg(tree.path())
            .arg("-o")
            .arg(&container)
            .output()
            .expect("pyembed pack");
        assert!(packed.status.success(), "{}", String::from_utf8_lossy(&packed.stderr));
        let error = match MainPythonInterpreter::new(importer_support::hermetic_config(&[container])) {
            Ok(_) => panic!("the interpreter started without a working `encodings`"),
            Err(error) => error.to_string(),
        };
        // The status CPython returned, the exception behind it and where it
        // was raised.
        // (3.11: "failed to get the Python codec of the filesystem
        // encoding"; 3.13: "Failed to import encodings module".)
        assert!(
            error.contains("failed to get the Python codec")
                || error.contains("Failed to import encodings module"),
            "{error}"
        );
        assert!(error.contains("RuntimeError: encodings sabotaged"), "{error}");
        assert!(error.contains("encodings/__init__.py\", line 1, in <module>"), "{error}");
    }

    fn finalisation_waits_for_non_daemon_threads_then_runs_atexit() {
        let dir = TempDir::new("threads");
        let log = dir.path().join("log");
        let interpreter = start(importer_support::hermetic_config(&[importer_support::stdlib_and_app()]));
        interpreter.with_gil(|py| {
            let code = format!(
                r#"
                import atexit, threading, time
                log = {log:?}
                def late():
                    time.sleep(0.3)
                    import greet, json  # packed imports while the main thread finalises
                    with open(log, "a") as f:
                        f.write("thread\n")
                atexit.register(lambda: open(log, "a").write("atexit\n"))
                threading.Thread(target=late).start()
                True
                "#
            );
            assert!(eval::<bool>(py, &code));
        });
        drop(interpreter);
        assert_eq!(std::fs::read_to_string(&log).expect("log"), "thread\natexit\n");
    }

    fn finalisation_with_daemon_threads_still_importing_is_clean() {
        let interpreter = start(importer_support::hermetic_config(&[
            importer_support::app_only(),
            importer_support::stdlib_compressed(),
        ]));
        let started: usize = interpreter.with_gil(|py| {
            eval(
                py,
                r#"
                import sys, threading, importlib
                names = ["greet", "pkgdemo.inner", "pdb", "doctest", "pydoc", "json",
                         "email.message", "timeit", "trace", "argparse"]
                running = threading.Semaphore(0)
                def churn(k):
                    running.release()
                    while True:
                        for name in names[k:] + names[:k]:
                            # Popping a module another thread is loading makes
                            # that import fail; only finalisation is on trial.
                            try:
                                sys.modules.pop(name, None)
                                importlib.import_module(name)
                            except Exception:
                                pass
                threads = [threading.Thread(target=churn, args=(k,), daemon=True) for k in range(4)]
                for t in threads:
                    t.start()
                for _ in threads:
                    running.acquire()
                sum(t.is_alive() for t in threads)
                "#,
            )
        });
        assert_eq!(started, 4);
        // Let them churn through both tiers while the GIL is free.
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(interpreter);
        // Still alive, and the process exits normally after the test body.
        eprintln!("finalised with daemon threads running");
    }
}
