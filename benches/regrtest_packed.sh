#!/bin/sh
# CPython's own regression tests, run with the standard library served from
# packed resources, next to the stock interpreter.
#
#   benches/regrtest_packed.sh [test_name ...]
#
# 1. Packs /usr/lib/python3.11 into $OUT/stdlib.pyembed with the bundled
#    policy, changed in one place: of CPython's test suites only the
#    top-level `test` package stays out. Test subpackages of stdlib
#    packages (unittest.test, ctypes.test, ...) are packed: the packed
#    `unittest` package's `__path__` is virtual, so its `test` subpackage
#    could not come from disk.
# 2. Runs `examples/packed-python` (a `python`-like main over
#    MainPythonInterpreter with the packed-resources importer first and the
#    filesystem importer on) with PYEMBED_PACKED_RESOURCES pointing at it.
#    The `test` package (Debian's libpython3.11-testsuite) is not packed and
#    imports from disk; the standard library modules under test come from
#    the container. Step 3 checks that.
# 3. Prints which loader serves each module a test exercises: they must be
#    OxidizedFinder (packed), except modules CPython freezes into itself
#    (FrozenImporter, e.g. runpy) and C extension modules, which load from
#    lib-dynload.
# 4. Runs `-m test --junit-xml` three times and prints test-case counts
#    (run / passed / failures / errors / skipped) side by side:
#      stock        /usr/bin/python3.11
#      ours-fs      packed-python without a container: our statically linked
#                   CPython, everything from the filesystem
#      ours-packed  packed-python with the container
#    ours-fs separates differences of the linked libpython (it may be a
#    different build than /usr/bin/python3.11) from those of the importer.
#
# Environment: OUT (default target/regrtest-packed), JOBS (default nproc),
# PROFILE (cargo profile, default dev).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
stock=/usr/bin/python3.11
stdlib=/usr/lib/python3.11
out=${OUT:-$here/target/regrtest-packed}
jobs=${JOBS:-$(nproc)}
profile=${PROFILE:-dev}

if [ ! -d "$stdlib/test/support" ]; then
    echo "error: $stdlib/test is missing" >&2
    echo "hint: apt-get install libpython3.11-testsuite" >&2
    exit 2
fi

if [ $# -eq 0 ]; then
    set -- test_json test_importlib test_pkgutil test_runpy test_inspect \
        test_traceback test_collections test_functools test_re test_textwrap \
        test_string test_enum test_dataclasses test_typing test_pathlib \
        test_zipfile test_csv test_base64 test_email test_unittest
fi

cd "$here"
cargo build --quiet --profile "$profile" --features cli --bin pyembed --example packed-python
case $profile in dev) dir=debug ;; *) dir=$profile ;; esac
target=${CARGO_TARGET_DIR:-$here/target}/$dir
ours=$target/examples/packed-python

mkdir -p "$out"
sed 's/^components = \["test", "tests", "idle_test"\]$/modules = ["test"]/' \
    python-stdlib/policy.toml >"$out/policy.toml"
grep -q '^modules = \["test"\]$' "$out/policy.toml" || {
    echo "error: python-stdlib/policy.toml no longer has the test-suite rule this script edits" >&2
    exit 1
}
"$target/pyembed" pack --stdlib "$stdlib" --policy "$out/policy.toml" \
    -o "$out/stdlib.pyembed" >/dev/null
container=$out/stdlib.pyembed
PYEMBED_PACKED_RESOURCES=$container
export PYEMBED_PACKED_RESOURCES

echo "== who serves the modules under test (ours)"
"$ours" - "$@" <<'PY'
import importlib, sys
# The module(s) each test exercises; test_x -> x unless listed.
under_test = {
    "test_importlib": ["importlib", "importlib.util", "importlib.machinery"],
    "test_unittest": ["unittest", "unittest.mock"],
    "test_string": ["string"], "test_email": ["email", "email.message"],
    "test_zipfile": ["zipfile"], "test_collections": ["collections", "collections.abc"],
}
names = []
for test in sys.argv[1:]:
    names += under_test.get(test, [test.removeprefix("test_")])
names += ["test.support", "test.libregrtest"]
for name in names:
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        print(f"  {name:24} not importable: {e}")
        continue
    loader = getattr(module, "__loader__", None)
    loader = getattr(loader, "__name__", type(loader).__name__)
    print(f"  {name:24} {loader:22} {getattr(module, '__file__', '')}")
PY

tests="$*"
labels="stock ours-fs ours-packed"
for label in $labels; do
    case $label in
    stock) python=$stock PYEMBED_PACKED_RESOURCES= ;;
    ours-fs) python=$ours PYEMBED_PACKED_RESOURCES= ;;
    ours-packed) python=$ours PYEMBED_PACKED_RESOURCES=$container ;;
    esac
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$python" -m test -j"$jobs" --junit-xml "$out/$label.xml" $tests \
        >"$out/$label.log" 2>&1 || true
    echo "$(( $(date +%s) - start ))" >"$out/$label.seconds"
done

echo
echo "== regrtest test cases: cases/passed/failed/errors/skipped (a test case with"
echo "   failing subtests counts once)"
# shellcheck disable=SC2086
"$stock" - "$out" $labels <<'PY'
import collections, sys, xml.etree.ElementTree as ET

out, labels = sys.argv[1], sys.argv[2:]
tables, seconds = {}, {}
for label in labels:
    table = {}
    for suite in ET.parse(f"{out}/{label}.xml").getroot().iter("testsuite"):
        cases = list(suite.iter("testcase"))
        # regrtest writes one <testsuite> per test module, without its name.
        modules = collections.Counter(
            "test_unittest" if name.startswith("unittest.test") else name.split(".")[1]
            for name in (case.get("name", "") for case in cases)
            if name.startswith(("test.test_", "unittest.test")))
        module = modules.most_common(1)[0][0] if modules else "?"
        row = table.setdefault(module, [0, 0, 0, 0, 0])
        for case in cases:
            kinds = {child.tag for child in case}
            failed, errored, skipped = "failure" in kinds, "error" in kinds, "skipped" in kinds
            row[0] += 1
            row[1] += not (failed or errored or skipped)
            row[2] += failed
            row[3] += errored
            row[4] += skipped
    tables[label] = table
    with open(f"{out}/{label}.seconds") as f:
        seconds[label] = f.read().strip()
modules = sorted(set().union(*tables.values()))
print(f"{'':18}" + "".join(f"{label:>22}" for label in labels))
for module in modules:
    cells = ("/".join(map(str, tables[l][module])) if module in tables[l] else "(not run)"
             for l in labels)
    print(f"{module:18}" + "".join(f"{cell:>22}" for cell in cells))
totals = {l: [sum(row[i] for row in tables[l].values()) for i in range(5)] for l in labels}
print(f"{'total':18}" + "".join(f"{'/'.join(map(str, totals[l])):>22}" for l in labels))
print(f"{'seconds':18}" + "".join(f"{seconds[l]:>22}" for l in labels))
PY
echo
echo "== regrtest verdicts per module"
for label in $labels; do
    echo "-- $label"
    sed -n '/^== Tests result/,$p' "$out/$label.log" | grep -v '^$' | head -40
done
echo
echo "logs and JUnit XML: $out/{stock,ours-fs,ours-packed}.{log,xml}"
