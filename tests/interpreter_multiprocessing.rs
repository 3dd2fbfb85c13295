//! A real `multiprocessing` spawn round trip from a frozen executable.
//!
//! With `sys.frozen` set, `multiprocessing` starts a worker as
//! `[sys.executable, "--multiprocessing-fork", "key=value", ...]`, and
//! `MainPythonInterpreter::run()` must recognise that and hand the worker to
//! `multiprocessing.spawn.spawn_main()`. The test binary's `main` is the test
//! harness, so `sys.executable` is pointed at a small shell script that
//! re-executes this binary for [`worker_entry_point`], passing the original
//! arguments through the environment; that entry point behaves like an
//! application's `main`: build the configuration from the arguments and call
//! `run()`.

#[macro_use]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pyembed::{MultiprocessingStartMethod, OxidizedPythonInterpreterConfig};
use support::{TempDir, config, start};

/// Set in a worker started through the wrapper script: how many arguments
/// the script received. Each is in `PYEMBED_MP_ARG_<i>`.
const ARGC_ENV: &str = "PYEMBED_MP_ARGC";
/// The directory holding the target module, for the workers' `PYTHONPATH`.
const MODULE_DIR_ENV: &str = "PYEMBED_MP_MODULE_DIR";

/// The configuration every process of the application uses, parent and
/// workers alike, as a frozen application would hard-code it.
fn application_config(
    wrapper: &Path,
    module_dir: &str,
    argv: &[String],
) -> OxidizedPythonInterpreterConfig<'static> {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut config = config(&argv);
    config.sys_frozen = true;
    config.multiprocessing_start_method = MultiprocessingStartMethod::Spawn;
    config.interpreter_config.executable = Some(wrapper.to_path_buf());
    config.interpreter_config.python_path_env = Some(module_dir.to_string());
    config
}

/// Write the script that stands in for the application executable.
fn write_wrapper(dir: &TempDir) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let script = format!(
        "#!/bin/sh\n\
         i=0\n\
         for arg in \"$@\"; do export \"PYEMBED_MP_ARG_$i=$arg\"; i=$((i+1)); done\n\
         export {ARGC_ENV}=$i\n\
         exec '{}' --exact worker_entry_point --include-ignored --nocapture --test-threads=1\n",
        exe.display()
    );
    let path = dir.write("app", &script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Not a test: the `main` of a spawned worker (see the module docs).
#[test]
#[ignore = "not a test: the entry point multiprocessing workers re-execute"]
fn worker_entry_point() {
    let Some(argc) = std::env::var(ARGC_ENV)
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return;
    };
    let args: Vec<String> = (0..argc)
        .map(|i| std::env::var(format!("PYEMBED_MP_ARG_{i}")).expect("worker argument"))
        .collect();
    let wrapper = PathBuf::from(std::env::var("PYEMBED_MP_WRAPPER").expect("wrapper path"));
    let module_dir = std::env::var(MODULE_DIR_ENV).expect("module directory");
    let mut argv = vec![wrapper.display().to_string()];
    argv.extend(args);
    let code = start(application_config(&wrapper, &module_dir, &argv)).run();
    std::process::exit(code)
}

#[test]
fn spawned_worker_runs_through_run_dispatch() {
    let dir = TempDir::new("multiprocessing");
    let wrapper = write_wrapper(&dir);
    dir.write(
        "pyembed_mp_target.py",
        r#"
        import os, sys

        def work(conn, value):
            conn.send((value * 2, os.getpid(), sys.orig_argv[1:2], getattr(sys, "frozen", False)))
            conn.close()
        "#,
    );
    let wrapper_env = wrapper.display().to_string();
    forked!(
        spawned_worker_runs_through_run_dispatch,
        &[
            ("PYEMBED_MP_WRAPPER", Some(&wrapper_env)),
            (MODULE_DIR_ENV, Some(dir.as_str())),
            (ARGC_ENV, None),
        ],
        || {
            let argv = vec![wrapper.display().to_string()];
            let config = application_config(&wrapper, dir.as_str(), &argv);
            let interpreter = start(config);
            let (doubled, other_pid, worker_argv, frozen, exitcode): (i64, bool, Vec<String>, bool, i64) =
                interpreter.with_gil(|py| {
                    support::eval(
                        py,
                        r#"
                        import multiprocessing, os
                        import pyembed_mp_target
                        parent, child = multiprocessing.Pipe()
                        process = multiprocessing.Process(target=pyembed_mp_target.work, args=(child, 21))
                        process.start()
                        child.close()
                        doubled, pid, argv, frozen = parent.recv()
                        process.join(60)
                        (doubled, pid != os.getpid(), argv, frozen, process.exitcode)
                        "#,
                    )
                });
            assert_eq!(doubled, 42);
            assert!(other_pid);
            assert_eq!(worker_argv, ["--multiprocessing-fork"]);
            assert!(frozen);
            assert_eq!(exitcode, 0);
        }
    )
    .assert_success();
}

#[test]
fn resource_tracker_of_a_frozen_parent_keeps_running() {
    let dir = TempDir::new("multiprocessing-tracker");
    let wrapper = write_wrapper(&dir);
    dir.write(
        "pyembed_mp_target.py",
        r#"
        def work(queue, value):
            queue.put(value * 2)
        "#,
    );
    let wrapper_env = wrapper.display().to_string();
    let child = forked!(
        resource_tracker_of_a_frozen_parent_keeps_running,
        &[
            ("PYEMBED_MP_WRAPPER", Some(&wrapper_env)),
            (MODULE_DIR_ENV, Some(dir.as_str())),
            (ARGC_ENV, None),
        ],
        || {
            let argv = vec![wrapper.display().to_string()];
            let interpreter = start(application_config(&wrapper, dir.as_str(), &argv));
            // A Queue holds semaphores, which are registered with the tracker.
            let (doubled, tracker_alive): (i64, bool) = interpreter.with_gil(|py| {
                support::eval(
                    py,
                    r#"
                    import multiprocessing
                    from multiprocessing import resource_tracker
                    import pyembed_mp_target
                    queue = multiprocessing.Queue()
                    process = multiprocessing.Process(target=pyembed_mp_target.work, args=(queue, 21))
                    process.start()
                    doubled = queue.get(timeout=60)
                    process.join(60)
                    (doubled, resource_tracker._resource_tracker._check_alive())
                    "#,
                )
            });
            assert_eq!(doubled, 42);
            assert!(tracker_alive, "the resource tracker process exited");
        }
    );
    child.assert_success();
    assert!(
        !child.output.contains("process died unexpectedly"),
        "{}",
        child.output
    );
}
