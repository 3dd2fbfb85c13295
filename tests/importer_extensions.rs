//! Packed extension modules load from memory: `memfd_create` and CPython's
//! own `_imp.create_dynamic`, never a temporary file. Shared libraries they
//! need, packed in auditwheel's `<name>.libs/` layout, load the same way
//! first. Loading failures are `ImportError`s naming the module.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pyembed::OxidizedPythonInterpreterConfig;
use pyembed::resources::{Container, DataField, PackedResourcesSource};
use support::python;

/// The interpreter's first extension suffix.
const SUFFIX: &str = concat!(
    ".",
    env!("PYEMBED_LINKED_CACHE_TAG"),
    "-x86_64-linux-gnu.so"
);

fn hermetic(containers: &[&Path]) -> OxidizedPythonInterpreterConfig<'static> {
    importer_support::hermetic_config(containers)
}

/// The C headers of the linked CPython: `<prefix>/include/pythonX.Y` next to
/// its `<prefix>/lib/pythonX.Y`.
fn include_dir() -> PathBuf {
    support::prefix()
        .join("include")
        .join(format!("python{}", pyembed::LINKED_PYTHON_VERSION))
}

/// Whether the linked CPython's standard library has its extension modules
/// as shared objects (Debian's `lib-dynload`), which these tests pack and
/// load from memory. The pinned build has them built in: then the tests that
/// need them say so and return.
fn stdlib_extensions_are_shared(test: &str) -> bool {
    let shared = Path::new(importer_support::STDLIB)
        .join(format!("lib-dynload/_json{SUFFIX}"))
        .is_file();
    if !shared {
        eprintln!("skipped {test}: the linked CPython has its extension modules built in");
    }
    shared
}

/// A directory under Cargo's per-target temporary directory that a forked
/// child re-running the test function finds again.
fn stable_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("importer-extensions")
        .join(name);
    std::fs::create_dir_all(&dir).expect("creating a test directory");
    dir
}

/// Packs `--path <tree>` into `<tree>.pyembed` and returns its path.
fn pack_tree(tree: &Path) -> PathBuf {
    let output = tree.with_extension("pyembed");
    let result = Command::new(importer_support::PYEMBED)
        .arg("pack")
        .arg("--path")
        .arg(tree)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("running pyembed pack");
    assert!(
        result.status.success(),
        "pyembed pack failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    output
}

/// Imports the stdlib's extension modules and the modules that need them,
/// and checks where each came from. The value is a list of problems.
const IMPORT_EXTENSIONS: &str = r#"
import os, sys
tmp_before = sorted(os.listdir("/tmp"))
finder = next(f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder")
import _imp
suffix = _imp.extension_suffixes()[0]
problems = []
wanted = ["_ctypes", "_decimal", "_sqlite3", "_ssl", "_json", "_asyncio", "_contextvars",
          "_hashlib", "_lzma", "_bz2", "_queue", "_multibytecodec", "_codecs_jp", "mmap",
          "select", "_socket"]
loaded = []
for name in wanted:
    if name in sys.builtin_module_names:
        __import__(name)
        if sys.modules[name].__spec__.origin != "built-in":
            problems.append(f"{name}: a built-in module not from BuiltinImporter")
        continue
    spec = finder.find_spec(name)
    if spec is None:
        problems.append(f"{name}: not packed")
        continue
    module = __import__(name)
    expected = os.path.join(finder.origin, name + suffix)
    if module.__file__ != expected or module.__spec__.origin != expected:
        problems.append(f"{name}: __file__ {module.__file__!r}, origin {module.__spec__.origin!r}, expected {expected!r}")
    if module.__loader__ is not finder or not module.__spec__.has_location:
        problems.append(f"{name}: loader {module.__loader__!r}")
    loaded.append(name)

import asyncio, decimal, ctypes, sqlite3, json, ssl, hashlib, lzma, bz2, queue, contextvars
import _decimal
if decimal.Decimal is not _decimal.Decimal:
    problems.append("decimal fell back to _pydecimal")
if str(decimal.Decimal(1) / decimal.Decimal(7))[:8] != "0.142857":
    problems.append("decimal arithmetic")
async def answer():
    await asyncio.sleep(0)
    return 42
if asyncio.run(answer()) != 42:
    problems.append("asyncio.run")
if sqlite3.connect(":memory:").execute("select 6 * 7").fetchone() != (42,):
    problems.append("sqlite3")
if json.loads('{"a": [1, 2]}') != {"a": [1, 2]} or json.scanner.make_scanner is not json.scanner.c_make_scanner:
    problems.append("json without its C scanner")
ssl.create_default_context()
if hashlib.sha256(b"x").hexdigest()[:8] != "2d711642":
    problems.append("hashlib")
if lzma.decompress(lzma.compress(b"abc")) != b"abc" or bz2.decompress(bz2.compress(b"abc")) != b"abc":
    problems.append("lzma/bz2")
if "あ".encode("shift_jis").decode("shift_jis") != "あ":
    problems.append("CJK codecs")
libc = ctypes.CDLL(None)
if libc.strlen(b"hello") != 5:
    problems.append("ctypes.CDLL(None)")

# A second import of the same module reuses the loaded library.
del sys.modules["_json"]
import _json
if _json.__file__ != os.path.join(finder.origin, "_json" + suffix):
    problems.append(f"re-imported _json: {_json.__file__!r}")

# The loader protocol around extension modules.
if finder.get_code("_ctypes") is not None or finder.get_source("_ctypes") is not None:
    problems.append("get_code/get_source of an extension module")
import _ctypes
if finder.is_package("_ctypes") or finder.get_filename("_ctypes") != _ctypes.__file__:
    problems.append("is_package/get_filename")
if ("_ctypes", False) not in [tuple(t) for t in finder.iter_modules()]:
    problems.append("iter_modules lacks _ctypes")

maps = open("/proc/self/maps").read()
for name in loaded:
    if f"/memfd:pyembed:{name}{suffix}" not in maps:
        problems.append(f"{name}: no memfd mapping")
if "lib-dynload" in maps:
    problems.append("something was mapped from lib-dynload")
for line in maps.splitlines():
    # A shared object mapped from /tmp would mean an extracted copy. (The
    # test binary and containers may live under /tmp when the checkout does.)
    mapped = line.split()[-1] if len(line.split()) >= 6 else ""
    if mapped.startswith("/tmp/") and ".so" in os.path.basename(mapped):
        problems.append(f"a /tmp shared object is mapped: {line}")
# Other tests run in parallel and write to /tmp; nothing of ours may appear.
new = set(os.listdir("/tmp")) - set(tmp_before)
ours = [n for n in new if ".so" in n or any(name in n for name in wanted)]
if ours:
    problems.append(f"files appeared in /tmp: {ours}")
if os.listdir(os.environ["TMPDIR"]):
    problems.append(f"files appeared in TMPDIR: {os.listdir(os.environ['TMPDIR'])}")
problems
"#;

#[test]
fn stdlib_extension_modules_import_from_memory() {
    if !stdlib_extensions_are_shared("stdlib_extension_modules_import_from_memory") {
        return;
    }
    let container = importer_support::stdlib_and_app();
    // A private TMPDIR that must stay empty (other tests write to /tmp).
    let tmpdir = stable_dir("tmpdir");
    let _ = std::fs::remove_dir_all(&tmpdir);
    std::fs::create_dir_all(&tmpdir).expect("mkdir");
    let tmp = tmpdir.to_str().expect("a UTF-8 path").to_owned();
    forked!(
        stdlib_extension_modules_import_from_memory,
        &[("TMPDIR", Some(tmp.as_str()))],
        || {
            let problems: Vec<String> = python(hermetic(&[&container]), IMPORT_EXTENSIONS);
            assert!(problems.is_empty(), "{problems:#?}");
        }
    )
    .assert_success();
    let left: Vec<_> = std::fs::read_dir(&tmpdir)
        .expect("reading TMPDIR")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert!(left.is_empty(), "files were created in TMPDIR: {left:?}");
}

const HIDDEN_CHILD_VAR: &str = "PYEMBED_TEST_EXTENSIONS_HIDDEN_CHILD";

#[test]
fn extension_modules_import_with_the_host_stdlib_hidden() {
    // (The child, in its namespace, sees an empty standard library.)
    if std::env::var_os(HIDDEN_CHILD_VAR).is_none()
        && !stdlib_extensions_are_shared("extension_modules_import_with_the_host_stdlib_hidden")
    {
        return;
    }
    let container = importer_support::stdlib_and_app();
    if std::env::var_os(HIDDEN_CHILD_VAR).is_some() {
        assert!(
            !Path::new(importer_support::STDLIB)
                .join("lib-dynload")
                .exists(),
            "the host stdlib is still visible"
        );
        let report: (String, String, i64, bool) = python(
            hermetic(&[&container]),
            r#"
            import ctypes, _ctypes, sys
            finder = next(f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder")
            maps = open("/proc/self/maps").read()
            (_ctypes.__file__, finder.origin, ctypes.CDLL(None).abs(-7),
             "/memfd:pyembed:_ctypes.cpython-311-x86_64-linux-gnu.so" in maps)
            "#,
        );
        let (file, origin, abs, mapped) = report;
        assert_eq!(
            file,
            format!("{origin}/_ctypes{SUFFIX}"),
            "_ctypes.__file__ is virtual"
        );
        assert_eq!(abs, 7, "ctypes.CDLL(None) calls libc");
        assert!(mapped, "_ctypes is mapped from a memory file");
        eprintln!("{}", importer_support::HIDDEN_STDLIB_BODY_RAN);
        return;
    }
    importer_support::run_with_stdlib_hidden(
        "extension_modules_import_with_the_host_stdlib_hidden",
        HIDDEN_CHILD_VAR,
        &[],
    );
}

#[test]
fn a_damaged_extension_module_fails_with_the_digest_error() {
    if !stdlib_extensions_are_shared("a_damaged_extension_module_fails_with_the_digest_error") {
        return;
    }
    let original = importer_support::stdlib_and_app();
    let damaged = stable_dir("damaged").join("decimal-damaged.pyembed");
    let container = Container::open(&PackedResourcesSource::MemoryMappedPath(original.clone()))
        .expect("opening the container");
    let base = container.as_bytes().as_ptr() as usize;
    let bytes = container
        .data("_decimal", DataField::ExtensionModule)
        .expect("readable")
        .expect("_decimal is packed");
    let start = bytes.as_ptr() as usize - base;
    let end = start + bytes.len();
    let chunk = container.chunk_size();
    let tier0 = container.layout().tier0.offset as usize;
    let first_whole = tier0 + (start - tier0).div_ceil(chunk) * chunk;
    assert!(first_whole + chunk <= end, "_decimal spans a whole chunk");
    drop(container);
    importer_support::flip_bit(&original, first_whole + chunk / 2, 5, &damaged);

    let path = damaged.clone();
    forked!(
        a_damaged_extension_module_fails_with_the_digest_error,
        &[],
        || {
            let (message, name, others): (String, String, bool) = python(
                hermetic(&[&path]),
                r#"
                try:
                    import _decimal
                except ImportError as error:
                    result = (str(error), error.name)
                else:
                    result = ("imported", "")
                import _json, _ctypes
                (*result, _json.__file__.endswith(".so"))
                "#,
            );
            assert_eq!(name, "_decimal");
            assert!(message.contains("'_decimal'"), "{message}");
            assert!(
                message.contains("digest") || message.contains("SHA-256"),
                "{message}"
            );
            assert!(others, "other extension modules still import");
        }
    )
    .assert_success();
}

/// A tree with an extension module shadowing a `.py` of the same name and a
/// fake extension module of garbage bytes, packed.
fn fake_and_shadowed() -> PathBuf {
    let tree = stable_dir("fake").join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("fakepkg")).expect("mkdir");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 31 % 253) as u8).collect();
    std::fs::write(tree.join(format!("fakeext{SUFFIX}")), &garbage).expect("write");
    std::fs::write(tree.join("fakepkg/__init__.py"), "").expect("write");
    std::fs::write(tree.join(format!("fakepkg/inner{SUFFIX}")), &garbage).expect("write");
    // `_json` as both source and extension module: the extension wins.
    std::fs::write(tree.join("_json.py"), "raise RuntimeError('the .py won')\n").expect("write");
    std::fs::copy(
        format!("{}/lib-dynload/_json{SUFFIX}", importer_support::STDLIB),
        tree.join(format!("_json{SUFFIX}")),
    )
    .expect("copying _json");
    pack_tree(&tree)
}

#[test]
fn a_fake_extension_module_fails_with_the_dynamic_linkers_message() {
    if !stdlib_extensions_are_shared(
        "a_fake_extension_module_fails_with_the_dynamic_linkers_message",
    ) {
        return;
    }
    let app = fake_and_shadowed();
    let stdlib = importer_support::stdlib_and_app();
    let forked = forked!(
        a_fake_extension_module_fails_with_the_dynamic_linkers_message,
        &[],
        || {
            let (errors, json_file): (Vec<(String, String)>, String) = python(
                hermetic(&[&app, &stdlib]),
                r#"
                import importlib
                errors = []
                for name in ["fakeext", "fakepkg.inner"]:
                    try:
                        importlib.import_module(name)
                    except ImportError as error:
                        errors.append((error.name, str(error)))
                import _json
                (errors, _json.__file__)
                "#,
            );
            assert_eq!(errors.len(), 2, "{errors:?}");
            for ((name, message), expected) in errors.iter().zip(["fakeext", "fakepkg.inner"]) {
                assert_eq!(name, expected);
                assert!(message.contains(&format!("'{expected}'")), "{message}");
                assert!(message.contains("invalid ELF header"), "{message}");
                assert!(message.contains("hint:"), "{message}");
                eprintln!("{message}");
            }
            assert!(
                json_file.ends_with(&format!("/_json{SUFFIX}")),
                "{json_file}"
            );
        }
    );
    forked.assert_success();
    for line in forked
        .output
        .lines()
        .filter(|l| l.starts_with("cannot load"))
    {
        println!("{line}");
    }
}

/// How [`auditwheel_like`] lays out the library `demoext` needs.
#[derive(Clone, Copy)]
enum Libs {
    /// `demoext.libs/libdemo-1a2b3c4d.so.1`, soname `libdemo-1a2b3c4d.so.1`.
    Packed,
    /// Not packed at all.
    Missing,
    /// Packed under the needed name, but with soname `libdemo.so.1`.
    WrongSoname,
}

/// Builds, with the system C compiler, an extension module `demoext` that
/// needs `libdemo-1a2b3c4d.so.1` through an `$ORIGIN` RPATH, lays it out as
/// auditwheel does (`demoext.libs/`) or as `libs` says, and packs it.
/// `None` without a compiler.
fn auditwheel_like(libs: Libs) -> Option<PathBuf> {
    let label = match libs {
        Libs::Packed => "packed",
        Libs::Missing => "missing",
        Libs::WrongSoname => "wrong-soname",
    };
    let root = stable_dir("auditwheel").join(label);
    std::fs::create_dir_all(&root).expect("mkdir");
    let tree = root.join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("demoext.libs")).expect("mkdir");
    let lib_c = root.join("demo.c");
    std::fs::write(&lib_c, "int demo_answer(void) { return 42; }\n").expect("write");
    let ext_c = root.join("demoext.c");
    std::fs::write(
        &ext_c,
        r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
int demo_answer(void);
static PyObject *answer(PyObject *self, PyObject *args) {
    return PyLong_FromLong(demo_answer());
}
static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "The answer, from libdemo."},
    {NULL, NULL, 0, NULL},
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "demoext", NULL, 0, methods};
PyMODINIT_FUNC PyInit_demoext(void) { return PyModuleDef_Init(&module); }
"#,
    )
    .expect("write");
    let needed = "libdemo-1a2b3c4d.so.1";
    let lib = root.join(needed);
    let cc = |args: &[&std::ffi::OsStr]| {
        Command::new("cc")
            .args(args)
            .status()
            .is_ok_and(|status| status.success())
    };
    let soname = format!("-Wl,-soname,{needed}");
    if !cc(&[
        "-shared".as_ref(),
        "-fPIC".as_ref(),
        "-o".as_ref(),
        lib.as_os_str(),
        lib_c.as_os_str(),
        soname.as_ref(),
    ]) {
        return None;
    }
    let ext = tree.join(format!("demoext{SUFFIX}"));
    assert!(
        cc(&[
            "-shared".as_ref(),
            "-fPIC".as_ref(),
            format!("-I{}", include_dir().display()).as_ref(),
            "-o".as_ref(),
            ext.as_os_str(),
            ext_c.as_os_str(),
            lib.as_os_str(),
            "-Wl,-rpath,$ORIGIN/demoext.libs".as_ref(),
        ]),
        "building demoext failed"
    );
    let packed = tree.join("demoext.libs").join(needed);
    match libs {
        Libs::Packed => {
            std::fs::copy(&lib, &packed).expect("copying the library");
        }
        Libs::Missing => {}
        Libs::WrongSoname => assert!(
            cc(&[
                "-shared".as_ref(),
                "-fPIC".as_ref(),
                "-o".as_ref(),
                packed.as_os_str(),
                lib_c.as_os_str(),
                "-Wl,-soname,libdemo.so.1".as_ref(),
            ]),
            "building the misnamed library failed"
        ),
    }
    Some(pack_tree(&tree))
}

#[test]
fn packed_shared_libraries_satisfy_an_extension_modules_needs() {
    let Some(app) = auditwheel_like(Libs::Packed) else {
        eprintln!("skipped: no working C compiler (`cc`) to build the test extension module");
        return;
    };
    let stdlib = importer_support::stdlib_and_app();
    forked!(
        packed_shared_libraries_satisfy_an_extension_modules_needs,
        &[],
        || {
            let (answer, mapped): (i64, bool) = python(
                hermetic(&[&app, &stdlib]),
                r#"
                import demoext
                maps = open("/proc/self/maps").read()
                (demoext.answer(), "/memfd:pyembed:libdemo-1a2b3c4d.so.1" in maps)
                "#,
            );
            assert_eq!(answer, 42);
            assert!(mapped, "libdemo is mapped from a memory file");
        }
    )
    .assert_success();
}

/// Imports `demoext` from `container` (and the stdlib) in this process and
/// checks that it fails naming the module, with `expected` in the message.
fn demoext_fails(container: &Path, expected: &str) {
    let stdlib = importer_support::stdlib_and_app();
    let (name, message): (String, String) = python(
        hermetic(&[container, &stdlib]),
        r#"
        try:
            import demoext
        except ImportError as error:
            result = (error.name, str(error))
        else:
            result = ("", "imported")
        result
        "#,
    );
    assert_eq!(name, "demoext", "{message}");
    assert!(message.contains(expected), "{message}");
    assert!(message.contains("hint:"), "{message}");
}

#[test]
fn a_missing_shared_library_fails_with_the_dynamic_linkers_message() {
    let Some(container) = auditwheel_like(Libs::Missing) else {
        eprintln!("skipped: no working C compiler (`cc`) to build the test extension module");
        return;
    };
    forked!(
        a_missing_shared_library_fails_with_the_dynamic_linkers_message,
        &[],
        || demoext_fails(
            &container,
            "libdemo-1a2b3c4d.so.1: cannot open shared object file"
        )
    )
    .assert_success();
}

#[test]
fn a_packed_library_with_another_soname_fails_clearly() {
    let Some(container) = auditwheel_like(Libs::WrongSoname) else {
        eprintln!("skipped: no working C compiler (`cc`) to build the test extension module");
        return;
    };
    forked!(
        a_packed_library_with_another_soname_fails_clearly,
        &[],
        || demoext_fails(&container, "has the soname 'libdemo.so.1'")
    )
    .assert_success();
}

/// Runs `tests/importer_python/test_extensions.py` with `unittest` inside a
/// hermetic interpreter.
#[test]
fn extension_semantics_from_python() {
    if !stdlib_extensions_are_shared("extension_semantics_from_python") {
        return;
    }
    let container = importer_support::stdlib_and_app();
    let forked = forked!(extension_semantics_from_python, &[], || {
        let config = hermetic(&[&container]);
        let (ok, run, report) = support::run_unittest_source(
            config,
            "test_extensions",
            include_str!("importer_python/test_extensions.py"),
        );
        assert!(ok, "{report}");
        assert!(run >= 10, "only {run} tests ran:\n{report}");
        eprintln!("unittest: {run} tests ran");
    });
    forked.assert_success();
}

/// An extension module packed as a path relative to the executable's
/// directory (PyOxidizer's "filesystem-relative" location) loads from that
/// file; a missing file, a path escaping the directory, and a resource
/// with neither a library nor a path are `ImportError`s saying which.
#[test]
fn extension_modules_load_from_a_path_relative_to_the_executable() {
    use std::borrow::Cow;

    use pyembed::resources::{ContainerWriter, Tier, WriteOptions};
    use python_packed_resources::Resource;

    // The origin stands in for the executable's directory: Debian's stdlib
    // directory, whose lib-dynload holds a real `_json` extension module.
    let origin = importer_support::STDLIB;
    let json = format!("lib-dynload/_json{SUFFIX}");
    if !Path::new(origin).join(&json).is_file() {
        eprintln!("skipped: {origin}/{json} is not installed (apt-get install python3.11)");
        return;
    }
    let mut writer = ContainerWriter::new(WriteOptions::default());
    let relative = |name: &'static str, path: Option<String>| Resource {
        name: Cow::Borrowed(name),
        is_python_extension_module: true,
        relative_path_extension_module_shared_library: path.map(|p| Cow::Owned(PathBuf::from(p))),
        ..Resource::default()
    };
    for resource in [
        relative("_json", Some(json.clone())),
        relative(
            "ext_missing_file",
            Some(format!("lib-dynload/nope{SUFFIX}")),
        ),
        relative(
            "ext_escaping",
            Some(format!(
                "../python{}/{json}",
                pyembed::LINKED_PYTHON_VERSION
            )),
        ),
        relative("ext_nothing", None),
    ] {
        writer.add(resource, Tier::Raw).expect("adding a resource");
    }
    let container = stable_dir("relative").join("relative.pyembed");
    std::fs::write(&container, writer.write().expect("writing the container"))
        .expect("saving the container");
    let stdlib = importer_support::stdlib_and_app();
    forked!(
        extension_modules_load_from_a_path_relative_to_the_executable,
        &[],
        || {
            let mut config = hermetic(&[&container, &stdlib]);
            config.origin = Some(origin.into());
            let (file, spec_origin, in_memory, loader, dumped, errors): (
                String,
                String,
                bool,
                String,
                String,
                Vec<String>,
            ) = python(
                config,
                r#"
                import _json, json.decoder
                maps = open("/proc/self/maps").read()
                errors = []
                for name in ["ext_missing_file", "ext_escaping", "ext_nothing"]:
                    try:
                        __import__(name)
                        errors.append(f"{name} imported")
                    except ImportError as e:
                        errors.append(str(e))
                (_json.__file__, _json.__spec__.origin, "/memfd:pyembed:_json" in maps,
                 type(_json.__spec__.loader).__name__,
                 json.decoder.scanstring('"a\\u00e9"', 1)[0], errors)
                "#,
            );
            let expected = format!("{origin}/{json}");
            assert_eq!(
                (file.as_str(), spec_origin.as_str()),
                (expected.as_str(), expected.as_str())
            );
            assert!(!in_memory, "_json came from the file, not a memory file");
            assert_eq!(loader, "OxidizedFinder");
            assert_eq!(dumped, "aé");
            let container = container.display();
            assert_eq!(
                errors[0],
                format!(
                    "cannot load extension module 'ext_missing_file': packed resources {container} \
                     place it at lib-dynload/nope{SUFFIX} relative to the executable's directory, \
                     and {origin}/lib-dynload/nope{SUFFIX} does not exist; hint: install the \
                     file there, or pack the module in memory"
                )
            );
            assert!(
                errors[1].contains("which is not a plain relative path (absolute, or with '..')"),
                "{}",
                errors[1]
            );
            assert!(
                errors[2].contains(
                    "list 'ext_nothing' as an extension module but hold neither its shared \
                     library nor a path to it relative to the executable"
                ),
                "{}",
                errors[2]
            );
        }
    )
    .assert_success();
}
