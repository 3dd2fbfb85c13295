//! A Rust program that embeds Python: it registers a Rust extension module,
//! runs Python code that uses it and the standard library, and reads the
//! result back into Rust.
//!
//! `embed-app --resources FILE words...` runs hermetically: the standard
//! library is imported from the packed-resources container FILE (made with
//! `pyembed pack`) and never from disk.

use pyembed::{
    ExtensionModule, MainPythonInterpreter, OxidizedPythonInterpreterConfig, PackedResourcesSource,
};
use pyo3::prelude::*;

/// A Rust module Python code imports as `embed_app_native`.
#[pymodule]
mod embed_app_native {
    use pyo3::prelude::*;

    /// Word frequencies, counted in Rust.
    #[pyfunction]
    fn count_words(text: &str) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for word in text.split_whitespace() {
            *counts.entry(word.to_lowercase()).or_default() += 1;
        }
        counts
    }
}

const SCRIPT: &std::ffi::CStr = c"
import json, sys
import embed_app_native

text = ' '.join(sys.argv[1:]) or 'the quick brown fox jumps over the lazy dog the end'
counts = embed_app_native.count_words(text)
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
stdlib = 'packed' if type(json.__spec__.loader).__name__ == 'OxidizedFinder' else 'filesystem'
report = json.dumps({'python': sys.version.split()[0], 'frozen': sys.frozen, 'stdlib': stdlib, 'top': top})
";

fn main() {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let resources = if args.get(1).is_some_and(|a| a == "--resources") && args.len() > 2 {
        let path = std::path::PathBuf::from(args.remove(2));
        args.remove(1);
        Some(path)
    } else {
        None
    };

    let mut config = OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.parse_argv = Some(false);
    config.argv = Some(args);
    if let Some(path) = resources {
        // Hermetic: every import comes from the container or is built in.
        config.oxidized_importer = true;
        config.filesystem_importer = false;
        config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(path)];
    }
    config.sys_frozen = true;
    config.extra_extension_modules = Some(vec![ExtensionModule {
        name: c"embed_app_native".to_owned(),
        init_func: embed_app_native::__pyo3_init,
    }]);

    let interpreter = match MainPythonInterpreter::new(config) {
        Ok(interpreter) => interpreter,
        Err(error) => {
            eprintln!("embed-app: {error}");
            std::process::exit(1);
        }
    };

    let report = interpreter.with_gil(|py| -> PyResult<String> {
        let globals = pyo3::types::PyDict::new(py);
        py.run(SCRIPT, Some(&globals), None)?;
        globals
            .get_item("report")?
            .expect("script sets report")
            .extract()
    });

    match report {
        Ok(report) => println!("{report}"),
        Err(error) => {
            interpreter.with_gil(|py| error.print(py));
            std::process::exit(1);
        }
    }
}
