#!/usr/bin/env bash
# Does the pinned CPython's speed survive the link into a Rust binary?
#
# One run, alternating, a fresh process per measurement, times taken inside
# Python with time.perf_counter around the work (start-up excluded):
#
#   cpu     recursion (fib), dict and sort work, json.dumps — the workload
#           the issue measured 1.46-1.51x slower in the embedded build
#   import  importing benches/stdlib-modules.txt (the names every variant
#           can import) with importlib.import_module
#
# Variants (all -I -S):
#   debian        /usr/bin/python3.11, Debian's PGO+LTO executable (reference)
#   pinned-exe    the pinned build's own bin/python3.11 (what upstream's
#                 PGO+LTO gives as an executable)
#   embed-debian  examples/packed-python linked with Debian's
#                 libpython3.11-pic.a (today's default), stdlib from a
#                 packed container, filesystem importer off
#   embed-pinned  the same example linked with the pinned archive
#                 (PGO-optimised fat LTO objects, ordinary link)
#   embed-lto     the same, linked with PYEMBED_CPYTHON_LTO_LINK=1 (GCC
#                 LTO over the interpreter at the final link)
#
# With TOOLCHAINS set (e.g. TOOLCHAINS="3.11 3.13"), nothing is built with
# cargo: the variants are debian and, per version, the pinned build's own
# executable (pinned-exe-X.Y) and the hermetic `python` that version's
# toolchain builds (`pyembed build --python`: stdlib packed, filesystem
# importer off; hermetic-X.Y), from $PYEMBED_TOOLCHAINS (toolchain.sh).
#
# Each repetition runs every variant once, in reversed order on odd
# repetitions. Prints medians, min/max and the ratio of each median to
# debian's. Nothing fails on a time.
#
#   benches/cpython_speed.sh          # N=9
#   N=15 benches/cpython_speed.sh
#
# Needs the pinned build (python-stdlib/cpython/build.sh 3.11: 30-60 minutes
# the first time, cached afterwards) and builds three release variants of
# examples/packed-python (target/ and $PINNED_TARGET_DIR, default
# target/cpython-pinned/; pointing it at target/ saves rebuilding every
# dependency, at the price of rebuilding pyo3 when switching back).
set -euo pipefail

N=${N:-9}
PYTHON=${PYTHON:-/usr/bin/python3.11}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pyembed-cpython-speed.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# variant name -> command prefix
declare -A cmd
cmd[debian]="$PYTHON"
variants=(debian)

if [[ -n ${TOOLCHAINS:-} ]]; then
  toolchains=${PYEMBED_TOOLCHAINS:-${XDG_CACHE_HOME:-$HOME/.cache}/pyembed/toolchains}
  for series in $TOOLCHAINS; do
    bin="$toolchains/$series/bin"
    [[ -x $bin/pyembed ]] || { echo "no toolchain at $toolchains/$series (python-stdlib/cpython/toolchain.sh $series)" >&2; exit 1; }
    echo "building the hermetic python of the $series toolchain" >&2
    "$bin/pyembed" build --python --cpython pinned --python-version "$series" -o "$WORK/hermetic-$series" >/dev/null
    cmd[pinned-exe-$series]="$(readlink -f "$toolchains/$series/lib")/../bin/python$series"
    cmd[hermetic-$series]="$WORK/hermetic-$series"
    variants+=("pinned-exe-$series" "hermetic-$series")
  done
else
  # PINNED: a cache directory of build.sh to use as is (skips the cache check).
  pinned=${PINNED:-$(python-stdlib/cpython/build.sh 3.11)}

  echo "building the three examples/packed-python variants" >&2
  cargo build -q --release --features cli --example packed-python --bin pyembed
  cp target/release/examples/packed-python "$WORK/embed-debian"
  cp target/release/pyembed "$WORK/pyembed-debian"
  PINNED_TARGET_DIR=${PINNED_TARGET_DIR:-$REPO/target/cpython-pinned}
  pinned_env=(env CARGO_TARGET_DIR="$PINNED_TARGET_DIR" PYO3_CONFIG_FILE="$pinned/pyo3-config.txt")
  "${pinned_env[@]}" cargo build -q --release --features cli --example packed-python --bin pyembed
  cp "$PINNED_TARGET_DIR/release/examples/packed-python" "$WORK/embed-pinned"
  cp "$PINNED_TARGET_DIR/release/pyembed" "$WORK/pyembed-pinned"
  "${pinned_env[@]}" PYEMBED_CPYTHON_LTO_LINK=1 cargo build -q --release --features cli --example packed-python
  cp "$PINNED_TARGET_DIR/release/examples/packed-python" "$WORK/embed-lto"

  echo "packing both standard libraries" >&2
  # Both with the Debian-linked packer. Both interpreters are 3.11.2 with the
  # same compiler, so the bytecode is the same either way.
  "$WORK/pyembed-debian" pack --stdlib /usr/lib/python3.11 -o "$WORK/debian.pyembed" >/dev/null
  "$WORK/pyembed-debian" pack --stdlib "$pinned/install/lib/python3.11" -o "$WORK/pinned.pyembed" >/dev/null

  cmd[pinned-exe]="$pinned/install/bin/python3.11"
  cmd[embed-debian]="env PYEMBED_PACKED_RESOURCES=$WORK/debian.pyembed PYEMBED_FILESYSTEM_IMPORTER=0 $WORK/embed-debian"
  cmd[embed-pinned]="env PYEMBED_PACKED_RESOURCES=$WORK/pinned.pyembed PYEMBED_FILESYSTEM_IMPORTER=0 $WORK/embed-pinned"
  cmd[embed-lto]="env PYEMBED_PACKED_RESOURCES=$WORK/pinned.pyembed PYEMBED_FILESYSTEM_IMPORTER=0 $WORK/embed-lto"
  variants+=(pinned-exe embed-debian embed-pinned embed-lto)
fi

cat >"$WORK/cpu.py" <<'EOF'
import json, sys, time

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def work():
    total = fib(25)
    d = {}
    for i in range(200_000):
        d["k%d" % (i % 5000)] = d.get("k%d" % (i % 5000), 0) + i
    items = sorted(d.items(), key=lambda kv: (kv[1] % 977, kv[0]))
    total += len(items)
    rows = [{"id": i, "name": "row%d" % i, "vals": list(range(i % 20)), "f": i / 7} for i in range(20_000)]
    total += len(json.dumps(rows))
    nums = [(i * 7919) % 100_003 for i in range(300_000)]
    nums.sort()
    return total + nums[1000]

t0 = time.perf_counter()
work()
print(time.perf_counter() - t0)
EOF

cat >"$WORK/imports.py" <<'EOF'
import importlib, sys, time
names = open(sys.argv[1]).read().split()
t0 = time.perf_counter()
for name in names:
    importlib.import_module(name)
print(time.perf_counter() - t0)
EOF

# Which interpreter each variant really runs.
for v in "${variants[@]}"; do
  printf '%-16s %s\n' "$v" "$(${cmd[$v]} -I -S -c 'import sys; print(sys.version.replace(chr(10), " "))')"
done

# The module list: names from benches/stdlib-modules.txt every variant imports.
cat >"$WORK/filter.py" <<'EOF'
import importlib, sys
for name in open(sys.argv[1]).read().split():
    try:
        importlib.import_module(name)
    except BaseException:
        continue
    print(name)
EOF
cp benches/stdlib-modules.txt "$WORK/modules.txt"
for v in "${variants[@]}"; do
  ${cmd[$v]} -I -S "$WORK/filter.py" "$WORK/modules.txt" >"$WORK/modules.next" 2>/dev/null
  mv "$WORK/modules.next" "$WORK/modules.txt"
done
echo "import workload: $(wc -l <"$WORK/modules.txt") of $(wc -l <benches/stdlib-modules.txt) modules (the ones every variant imports)"

for ((rep = 0; rep < N; rep++)); do
  order=("${variants[@]}")
  if ((rep % 2)); then
    order=()
    for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[i]}"); done
  fi
  for v in "${order[@]}"; do
    ${cmd[$v]} -I -S "$WORK/cpu.py" >>"$WORK/cpu.$v"
    ${cmd[$v]} -I -S "$WORK/imports.py" "$WORK/modules.txt" >>"$WORK/import.$v"
  done
done

"$PYTHON" - "$WORK" "$N" "${variants[@]}" <<'EOF'
import statistics, sys
work, n, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"\nN={n} alternating runs; median (min..max) seconds, ratio = median / debian's median")
for workload in ("cpu", "import"):
    times = {v: [float(x) for x in open(f"{work}/{workload}.{v}").read().split()] for v in variants}
    base = statistics.median(times["debian"])
    print(f"\n{workload}")
    for v in variants:
        t = times[v]
        m = statistics.median(t)
        print(f"  {v:<16} {m:8.4f}  ({min(t):.4f}..{max(t):.4f})  {m / base:5.3f}x")
EOF
