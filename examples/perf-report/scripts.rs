//! The Python run by the processes `perf-report` measures, and by the
//! preparation steps. Each runs under `-I -S`, so only the standard library
//! of the interpreter at hand is involved.

/// The measured import-all script. `argv[1]` is the mode, `argv[2]` the
/// module list; the modes:
///
/// * `default`: the interpreter's own importers as they are after start-up
///   (python3.11: the filesystem with its warm `__pycache__`; ours: the
///   packed importer);
/// * `zip ZIP`: `ZIP` (the `.pyc` files, stored) first on `sys.path`, the
///   stdlib directory removed, `lib-dynload` kept;
/// * `fs STDLIB`: CPython's own filesystem importer over `STDLIB` (used in
///   our binary, to compare importers inside one build);
/// * `floor TABLE STDLIB`: a minimal meta-path finder over a dict of
///   marshalled code objects read before the timer.
///
/// The import loop is timed with `time.perf_counter` and
/// `time.process_time`; the last thing the script does is print one `PERF`
/// line ending in `time.monotonic()` (`CLOCK_MONOTONIC`, the clock the
/// harness reads when the process has been reaped), so that what follows —
/// interpreter finalisation and process exit — can be timed from outside.
pub const IMPORT_ALL: &str = r#"
import sys, time

def main():
    mode, listfile = sys.argv[1], sys.argv[2]
    names = open(listfile).read().split()
    if mode == "zip":
        sys.path[:] = [sys.argv[3]] + [p for p in sys.path if p.endswith("lib-dynload")]
        sys.path_importer_cache.clear()
    elif mode == "fs":
        from importlib.machinery import BuiltinImporter, FrozenImporter, PathFinder
        sys.meta_path[:] = [BuiltinImporter, FrozenImporter, PathFinder]
        sys.path[:] = [sys.argv[3], sys.argv[3] + "/lib-dynload"]
        sys.path_importer_cache.clear()
    elif mode == "floor":
        import marshal
        from importlib.machinery import ModuleSpec, BuiltinImporter, FrozenImporter, PathFinder
        table = marshal.loads(open(sys.argv[3], "rb").read())
        loads = marshal.loads

        class Loader:
            @staticmethod
            def create_module(spec):
                return None

            @staticmethod
            def exec_module(module):
                exec(loads(table[module.__spec__.name][0]), module.__dict__)

        class Finder:
            @staticmethod
            def find_spec(name, path=None, target=None):
                entry = table.get(name)
                if entry is None:
                    return None
                spec = ModuleSpec(name, Loader, origin=entry[1], is_package=entry[2])
                spec.has_location = True
                return spec

        sys.meta_path[:] = [Finder, BuiltinImporter, FrozenImporter, PathFinder]
        sys.path[:] = [sys.argv[4] + "/lib-dynload"]
        sys.path_importer_cache.clear()
    elif mode != "default":
        raise SystemExit("unknown mode " + mode)
    from importlib import import_module
    failed = []
    wall = time.perf_counter()
    cpu = time.process_time()
    for name in names:
        try:
            import_module(name)
        except BaseException:
            failed.append(name)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    anon = files = 0
    try:
        for line in open("/proc/self/smaps_rollup"):
            key, _, value = line.partition(":")
            if key == "Anonymous":
                anon += int(value.split()[0])
            elif key in ("Shared_Clean", "Private_Clean"):
                files += int(value.split()[0])
    except OSError:
        pass
    sys.stdout.write("PERF %.6f %.6f %d %d %d %d %s %.9f\n" % (
        wall, cpu, len(names), len(failed), anon, files, ",".join(failed) or "-",
        time.monotonic()))
    sys.stdout.flush()

main()
"#;

/// Writes `stdlib.zip` (the listed modules' warm `.pyc` files, stored) and
/// `floor.marshal` (`{name: (code bytes, source path, is_package)}`) into
/// `argv[3]`, from the stdlib `argv[1]` and the list `argv[2]`. Fails when a
/// listed `.py` module has no up-to-date `cpython-311.pyc`.
pub const PREPARE: &str = r#"
import importlib.util, marshal, os, sys, zipfile
stdlib, listfile, work = sys.argv[1:]
names = open(listfile).read().split()
entries, missing = [], []
for name in names:
    rel = name.replace(".", "/")
    for path, arc, pkg in ((rel + "/__init__.py", rel + "/__init__.pyc", True), (rel + ".py", rel + ".pyc", False)):
        src = os.path.join(stdlib, path)
        if os.path.exists(src):
            pyc = importlib.util.cache_from_source(src)
            if not os.path.exists(pyc) or os.path.getmtime(pyc) < os.path.getmtime(src):
                missing.append(pyc)
            else:
                entries.append((name, src, pyc, arc, pkg))
            break
if missing:
    sys.exit("stale or missing .pyc (the __pycache__ is not warm): %s" % missing[:5])
with zipfile.ZipFile(os.path.join(work, "stdlib.zip"), "w", zipfile.ZIP_STORED) as z:
    for name, src, pyc, arc, pkg in entries:
        z.write(pyc, arc)
table = {name: (open(pyc, "rb").read()[16:], src, pkg) for name, src, pyc, arc, pkg in entries}
open(os.path.join(work, "floor.marshal"), "wb").write(marshal.dumps(table))
print("%d listed modules, %d from .py files with a warm .pyc" % (len(names), len(entries)))
"#;

/// Regenerates the module list: every module `pkgutil.walk_packages` finds
/// in the stdlib `argv[1]` that imports under `python3.11 -I -S` (twice in
/// one process), without `__main__` modules, antigravity, this, idlelib,
/// tkinter/turtle* and any name with a component starting with `test`;
/// written sorted to `argv[2]`.
pub const REGENERATE: &str = r#"
import importlib, pkgutil, sys
stdlib, out = sys.argv[1], sys.argv[2]
def skip(name):
    parts = name.split(".")
    return (parts[-1] == "__main__" or parts[0] in ("antigravity", "this", "idlelib",
            "tkinter", "turtle", "turtledemo", "site-packages", "dist-packages")
            or any(p.startswith("test") for p in parts))
names = set()
for info in pkgutil.walk_packages([stdlib, stdlib + "/lib-dynload"], onerror=lambda n: None):
    if not skip(info.name):
        names.add(info.name)
ok = []
for name in sorted(names):
    try:
        importlib.import_module(name)
        ok.append(name)
    except BaseException:
        pass
for name in ok:
    importlib.import_module(name)
open(out, "w").write("\n".join(ok) + "\n")
"#;

/// Deletes from the stdlib copy `argv[2]` everything the policy `argv[1]`
/// (python-stdlib/policy.toml) excludes, and directories no import can
/// reach, so that `pyembed pack` and `compileall` compile the same files.
/// The same file serves `benches/pack_vs_compileall.sh`.
pub const POLICY_COPY: &str = include_str!("../../benches/policy_copy.py");
