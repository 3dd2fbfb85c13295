//! Truncation, as a full disk or a broken copy leaves a container: at every
//! offset of the header and the index and at sampled offsets of both tiers,
//! the CLI (`inspect`, `verify`) and the runtime (`MainPythonInterpreter::new`)
//! refuse it with one clear error naming the file, and never crash.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::{pack, pyembed, write_tree};
use pyembed::resources::Container;
use pyembed::{MainPythonInterpreter, NewInterpreterError, PackedResourcesSource};

/// A container with both tiers: raw modules and compressed ones.
fn container(dir: &Path, compress: &str) -> PathBuf {
    let src = dir.join("src");
    let filler: String = (0..20_000u32)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let big = format!("DATA = {filler:?}\n");
    write_tree(
        &src,
        &[
            ("big.py", big.as_bytes()),
            ("small.py", b"X = 1\n"),
            ("pkg/__init__.py", b""),
            ("pkg/mod.py", b"def f():\n    return 1\n"),
            ("pkg/data.txt", b"payload\n"),
        ],
    );
    let out = dir.join(format!("{compress}.pyembed"));
    pack(&src, None, &out, &["--compress", compress]);
    out
}

/// Every offset of the header and index, and 24 offsets spread over the rest.
fn cut_points(bytes: &[u8]) -> Vec<usize> {
    let container = Container::from_bytes(bytes).expect("intact");
    let layout = container.layout();
    let index_end =
        (pyembed::resources::Header::INDEX_OFFSET + layout.header.index_length) as usize;
    let mut cuts: Vec<usize> = (0..index_end).collect();
    let rest = bytes.len() - index_end;
    cuts.extend((0..24).map(|k| index_end + k * rest / 24));
    cuts.push(bytes.len() - 1);
    cuts
}

/// Both tiers present, as the test intends.
fn assert_tiers(bytes: &[u8], tier1: bool) {
    let container = Container::from_bytes(bytes).expect("intact");
    assert!(container.layout().tier0.length > 0);
    assert_eq!(container.layout().tier1.length > 0, tier1);
}

#[test]
fn the_cli_refuses_every_truncation_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for (compress, tier1) in [("none", false), ("all", true)] {
        let path = container(dir.path(), compress);
        let bytes = std::fs::read(&path).unwrap();
        assert_tiers(&bytes, tier1);
        let cut_file = dir.path().join(format!("cut-{compress}.pyembed"));
        let cuts = cut_points(&bytes);
        // The CLI starts a process per run: every header offset, every 7th
        // index offset, all tier samples.
        for (n, &cut) in cuts.iter().enumerate() {
            if cut >= 128 && n % 7 != 0 && cut < cuts[cuts.len() - 26] {
                continue;
            }
            std::fs::write(&cut_file, &bytes[..cut]).unwrap();
            for command in ["verify", "inspect"] {
                let run = pyembed([command.as_ref(), cut_file.as_os_str()]);
                assert_eq!(run.code, 1, "{command} cut at {cut}: {run:?}");
                assert!(
                    run.stderr
                        .starts_with(&format!("error: {}", cut_file.display())),
                    "{command} cut at {cut}: {run:?}"
                );
                assert!(
                    !run.stderr.contains("panicked"),
                    "{command} cut at {cut}: {run:?}"
                );
            }
        }
    }
}

forked_test! {
    fn the_runtime_refuses_every_truncation_before_python_starts() {
        let dir = tempfile::tempdir().unwrap();
        for (compress, tier1) in [("none", false), ("all", true)] {
            let path = container(dir.path(), compress);
            let bytes = std::fs::read(&path).unwrap();
            assert_tiers(&bytes, tier1);
            let cut_file = dir.path().join(format!("cut-{compress}.pyembed"));
            for cut in cut_points(&bytes) {
                std::fs::write(&cut_file, &bytes[..cut]).unwrap();
                let mut config = support::config(&["prog"]);
                config.oxidized_importer = true;
                config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(cut_file.clone())];
                // Refused before CPython is touched, so the next round can
                // try again in this same process.
                match MainPythonInterpreter::new(config) {
                    Ok(_) => panic!("a container cut at {cut} of {} was accepted", bytes.len()),
                    Err(error @ NewInterpreterError::PackedResources { .. }) => {
                        let text = error.to_string();
                        assert!(text.contains(cut_file.to_str().unwrap()), "cut at {cut}: {text}");
                    }
                    Err(other) => panic!("cut at {cut}: unexpected error {other:?}"),
                }
            }
        }
    }
}
