//! `.ci/disk-space`, which `.ci/run` calls first: a disk too small for the
//! run stops it at once with one message naming the mount, the room left and
//! the room needed; a need that is not a whole number of GiB is refused.

use std::path::Path;
use std::process::{Command, Output};

fn disk_space(need_gib: &str) -> Output {
    Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/disk-space"))
        .env("PYEMBED_CI_DISK_GIB", need_gib)
        .output()
        .expect(".ci/disk-space runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn too_little_room_stops_the_run_naming_what_is_free_and_needed() {
    // No disk here has 2^40 GiB free.
    let output = disk_space("1099511627776");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.starts_with(".ci/disk-space: only "), "{message}");
    assert!(message.contains(" MiB free on /"), "{message}");
    assert!(
        message.contains("the run needs about 1099511627776 GiB (PYEMBED_CI_DISK_GIB overrides)"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn enough_room_passes_silently() {
    let output = disk_space("0");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn a_need_that_is_not_whole_gib_is_refused() {
    for bad in ["1.5", "six", "-1", "6GiB"] {
        let output = disk_space(bad);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {message}");
        assert!(
            message.contains(&format!(
                "PYEMBED_CI_DISK_GIB must be a whole number of GiB, not '{bad}'"
            )),
            "{bad:?}: {message}"
        );
    }
}
