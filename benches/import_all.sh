#!/usr/bin/env bash
# In-process import-all, in one run, alternating: the same fixed list of
# standard-library modules (benches/stdlib-modules.txt) imported with
# importlib.import_module in a loop timed by time.perf_counter inside Python,
# in a fresh process per repetition, for five importers:
#
#   tier0  examples/packed-python, `pyembed pack --stdlib --compress=none`,
#          filesystem importer off (PYEMBED_FILESYSTEM_IMPORTER=0)
#   tier1  the same, `--compress=all` (every resource zstd-compressed)
#   tier0u, tier1u  the same two with lazy verification turned off
#          (PYEMBED_UNSAFE_SKIP_VERIFICATION=1, a benchmarking-only switch),
#          so verification's share of the import time is measured in-run
#   fs     /usr/bin/python3.11 -I -S from its own files, warm __pycache__
#          (checked: every listed .py module has its cpython-311 .pyc)
#   zip    python3.11 -I -S, the listed modules' .pyc (copied from the warm
#          __pycache__) in one ZIP_STORED zip, first on sys.path; the stdlib
#          directory is removed from sys.path, lib-dynload is kept
#   floor  python3.11 -I -S, a minimal pure-Python meta path finder over a
#          dict of the same .pyc bytes preloaded before the timer; its loader
#          does exec(marshal.loads(data), module.__dict__); meta_path is
#          [floor, BuiltinImporter, FrozenImporter, PathFinder], sys.path is
#          lib-dynload only
#   floorx the same floor script run by packed-python (the tier-0 container
#          serves start-up only), to separate the importer from the build
#   fsx    packed-python without containers: CPython's filesystem importer
#          from /usr/lib/python3.11 inside our binary, so tier0/fsx compares
#          the importers on equal footing (same static libpython)
#
# Everything runs -I -S (packed-python parses argv as python does). Each
# repetition runs every variant, reversed on odd repetitions. Prints
# medians, min/max and the ratios of medians, of wall time (perf_counter)
# and of the process's CPU time over the same loop (time.process_time, less
# sensitive to other load on a shared machine); nothing fails on a time.
#
#   benches/import_all.sh                 # N=5
#   N=9 benches/import_all.sh
#   REGENERATE=1 benches/import_all.sh    # rewrite benches/stdlib-modules.txt
#
# Environment: N (default 5), PYTHON (/usr/bin/python3.11), STDLIB
# (/usr/lib/python3.11), PYEMBED (target/release/pyembed), PACKED
# (target/release/examples/packed-python; point it at a build of a clean
# commit when the working tree has uncommitted importer changes).
#
# The list: every module `pkgutil.walk_packages` finds in the stdlib that
# imports under `python3.11 -I -S` (two passes in one process: the second
# must not fail), without `__main__` modules, antigravity, this, idlelib,
# tkinter (and turtle*, which need it) and any name with a component starting
# with "test"; then only the names that also import from the tier-0
# container with the filesystem importer off. Sorted.

set -euo pipefail

N=${N:-5}
PYTHON=${PYTHON:-/usr/bin/python3.11}
STDLIB=${STDLIB:-/usr/lib/python3.11}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYEMBED=${PYEMBED:-$REPO/target/release/pyembed}
PACKED=${PACKED:-$REPO/target/release/examples/packed-python}
LIST=$REPO/benches/stdlib-modules.txt

if [[ ! -x $PYEMBED || ! -x $PACKED ]]; then
    echo "building $PYEMBED and $PACKED" >&2
    (cd "$REPO" && cargo build --release --features cli --example packed-python \
        && cargo build --release --features cli)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pyembed-import-all.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TIMES=$WORK/times.tsv
: >"$TIMES"

"$PYEMBED" pack --stdlib "$STDLIB" --compress=none -o "$WORK/tier0.pyembed" >/dev/null
"$PYEMBED" pack --stdlib "$STDLIB" --compress=all -o "$WORK/tier1.pyembed" >/dev/null

# The timed part, shared by every variant: the list is read before the timer.
cat >"$WORK/loop.py" <<'EOF'
import importlib, time
names = open(LIST).read().split()
failed = []
start = time.perf_counter()
cpu = time.process_time()
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failed.append(name)
cpu = time.process_time() - cpu
elapsed = time.perf_counter() - start
print("%.6f %d %d %.6f" % (elapsed, len(names), len(failed), cpu))
if failed and SHOW_FAILED:
    print(" ".join(failed))
EOF

packed_run() { # container
    PYEMBED_PACKED_RESOURCES=$1 PYEMBED_FILESYSTEM_IMPORTER=0 "$PACKED" -I -S -W ignore \
        -c "LIST='$LIST'; SHOW_FAILED=${SHOW_FAILED:-0}; $(cat "$WORK/loop.py")"
}
unverified_run() { # container
    PYEMBED_UNSAFE_SKIP_VERIFICATION=1 packed_run "$1" 2>/dev/null
}

if [[ ${REGENERATE:-0} == 1 ]]; then
    "$PYTHON" -I -S -W ignore - "$STDLIB" "$LIST.host" <<'EOF'
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
EOF
    cp "$LIST.host" "$LIST"
    failed=$(SHOW_FAILED=1 packed_run "$WORK/tier0.pyembed" | sed -n 2p)
    rm -f "$LIST.host"
    for name in $failed; do sed -i "/^${name//./\\.}\$/d" "$LIST"; done
    echo "regenerated $LIST: $(wc -l <"$LIST") modules (dropped, not in the container: ${failed:-none})" >&2
fi

# ---- zip and floor inputs: the .pyc of the listed .py modules ----------------
"$PYTHON" -I -S - "$STDLIB" "$LIST" "$WORK" <<'EOF'
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
    sys.exit("stale or missing .pyc (__pycache__ not warm): %s" % missing[:5])
with zipfile.ZipFile(os.path.join(work, "stdlib.zip"), "w", zipfile.ZIP_STORED) as z:
    for name, src, pyc, arc, pkg in entries:
        z.write(pyc, arc)
table = {name: (open(pyc, "rb").read()[16:], src, pkg) for name, src, pyc, arc, pkg in entries}
open(os.path.join(work, "floor.marshal"), "wb").write(marshal.dumps(table))
print("%d listed modules, %d from .py with a warm .pyc, the rest extension/builtin" % (len(names), len(entries)), file=sys.stderr)
EOF

run_fs() {
    "$PYTHON" -I -S -W ignore -c "LIST='$LIST'; SHOW_FAILED=0; $(cat "$WORK/loop.py")"
}
run_zip() {
    "$PYTHON" -I -S -W ignore -c "import sys; sys.path[:] = ['$WORK/stdlib.zip'] + [p for p in sys.path if p.endswith('lib-dynload')]
LIST='$LIST'; SHOW_FAILED=0
$(cat "$WORK/loop.py")"
}
cat >"$WORK/floor.py" <<EOF
import sys, marshal
from importlib.machinery import ModuleSpec, BuiltinImporter, FrozenImporter, PathFinder
TABLE = marshal.loads(open('$WORK/floor.marshal', 'rb').read())
class Loader:
    @staticmethod
    def create_module(spec):
        return None
    @staticmethod
    def exec_module(module):
        exec(marshal.loads(TABLE[module.__spec__.name][0]), module.__dict__)
class Finder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        entry = TABLE.get(name)
        if entry is None:
            return None
        spec = ModuleSpec(name, Loader, origin=entry[1], is_package=entry[2])
        spec.has_location = True
        return spec
# The same finders in both interpreters: the floor, then CPython's own.
sys.meta_path[:] = [Finder, BuiltinImporter, FrozenImporter, PathFinder]
sys.path[:] = ['$STDLIB/lib-dynload']
sys.path_importer_cache.clear()
LIST='$LIST'; SHOW_FAILED=0
EOF
cat "$WORK/loop.py" >>"$WORK/floor.py"
run_floor() { "$PYTHON" -I -S -W ignore -c "$(cat "$WORK/floor.py")"; }
# The floor again, in packed-python (tier-0 container for start-up only):
# separates the importer's cost from any difference between the two builds.
run_floorx() {
    PYEMBED_PACKED_RESOURCES=$WORK/tier0.pyembed PYEMBED_FILESYSTEM_IMPORTER=0 "$PACKED" \
        -I -S -W ignore -c "$(cat "$WORK/floor.py")"
}
run_tier0() { packed_run "$WORK/tier0.pyembed"; }
run_tier1() { packed_run "$WORK/tier1.pyembed"; }
run_fsx() {
    env -u PYEMBED_PACKED_RESOURCES "$PACKED" -I -S -W ignore \
        -c "LIST='$LIST'; SHOW_FAILED=0; $(cat "$WORK/loop.py")"
}
run_tier0u() { unverified_run "$WORK/tier0.pyembed"; }
run_tier1u() { unverified_run "$WORK/tier1.pyembed"; }

VARIANTS=(tier0 tier1 fs zip floor floorx tier0u tier1u fsx)
for name in "${VARIANTS[@]}"; do run_$name >/dev/null; done  # warm the page cache
for ((i = 0; i < N; i++)); do
    order=("${VARIANTS[@]}")
    if ((i % 2)); then order=(fsx tier1u tier0u floorx floor zip fs tier1 tier0); fi
    for name in "${order[@]}"; do
        read -r seconds count failed cpu < <(run_$name | head -1)
        if [[ $failed != 0 ]]; then
            echo "warning: $name: $failed of $count names failed to import" >&2
        fi
        printf '%s\t%s\t%s\n' "$name" "$seconds" "$cpu" >>"$TIMES"
    done
done

"$PYTHON" -I - "$TIMES" "$N" "$(wc -l <"$LIST")" <<'EOF'
import statistics, sys
times, cpus = {}, {}
for line in open(sys.argv[1]):
    name, seconds, cpu = line.split()
    times.setdefault(name, []).append(float(seconds))
    cpus.setdefault(name, []).append(float(cpu))
print("import-all: %s modules, N=%s, in-process seconds (perf_counter)" % (sys.argv[3], sys.argv[2]))
med = {k: statistics.median(v) for k, v in times.items()}
cmed = {k: statistics.median(v) for k, v in cpus.items()}
labels = {"tier0": "ours, tier 0 (--compress=none)", "tier1": "ours, tier 1 (--compress=all)",
          "fs": "python3.11 -I -S, filesystem", "zip": "python3.11 -I -S, zipimport",
          "floor": "python3.11 -I -S, dict-finder floor",
          "floorx": "packed-python, dict-finder floor",
          "tier0u": "ours, tier 0, verification off", "tier1u": "ours, tier 1, verification off",
          "fsx": "packed-python, filesystem importer"}
print("%-38s %9s %9s %9s %9s" % ("", "median", "min", "max", "CPU med"))
for k in ("tier0", "tier1", "fs", "zip", "floor", "floorx", "tier0u", "tier1u", "fsx"):
    print("%-38s %8.1fms %8.1fms %8.1fms %8.1fms" % (labels[k], med[k] * 1e3, min(times[k]) * 1e3, max(times[k]) * 1e3, cmed[k] * 1e3))
print("ratios of medians:     wall     CPU")
for a, b, target in (("tier0", "fs", "<= 0.80"), ("tier0", "fsx", "same binary"), ("fsx", "fs", ""), ("tier0", "zip", ""), ("tier0", "floor", "<= 0.95"), ("tier0", "floorx", ""), ("floorx", "floor", ""), ("tier1", "tier0", "<= 1.25"),
                      ("tier0", "tier0u", "<= 1.03"), ("tier1", "tier1u", "")):
    note = "(%s)" % target if target == "same binary" else "(target %s)" % target if target else ""
    print("  %-6s / %-6s %6.3f  %6.3f  %s" % (a, b, med[a] / med[b], cmed[a] / cmed[b], note))
EOF
