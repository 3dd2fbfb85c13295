#!/usr/bin/env bash
# Whole-process start-up of a built hermetic python against python3.11, in
# one run, alternating. Not a test: it prints medians and ratios, nothing
# fails on a time.
#
#   cargo build --release --features cli
#   benches/startup.sh                 # N=41 repetitions
#   N=101 benches/startup.sh
#
# It builds (with target/release/pyembed) two interpreters from the linked
# CPython's stdlib: `--compress none` (tier 0 only) and `--compress auto`
# (rarely imported modules in zstd tier 1), then, for N repetitions, runs in
# turn (order reversed on every other repetition), each with an empty
# environment from /:
#
#   ours-pass       built python (none)  -c pass
#   ours-IS-pass    built python (none)  -I -S -c pass
#   auto-pass       built python (auto)  -c pass
#   py-IS-pass      python3.11 -I -S -c pass          (the reference)
#   embed-IS-pass   examples/packed-python -I -S -c pass with no containers:
#                   a plain CPython embedded through pyo3 from the same
#                   libpython3.11-pic.a, no pyembed importer (only when
#                   target/release/examples/packed-python exists: build it
#                   with `cargo build --release --features cli --example
#                   packed-python`); it separates what the linked libpython
#                   costs from what pyembed adds
#   ours-import     built python (none)  -I -S <import every module of
#                   benches/stdlib-modules.txt with importlib.import_module>
#   py-import       python3.11 -I -S, the same script (warm __pycache__)
#
# Wall time is measured by the harness around posix_spawn + wait4 (so both
# sides pay the same fork/exec cost); CPU time (user + system) and peak RSS
# are wait4's ru_utime + ru_stime and ru_maxrss. On a busy machine CPU time
# is the steadier of the two. Peak RSS counts the executable's file pages
# mapped in (the payload is read through the page cache, not copied), and
# how many depends on the page-cache folio size the kernel chose for the
# file; the RSS split printed after the table separates file-backed from
# anonymous memory. Then it
# counts filesystem syscalls (openat, open, stat, lstat, newfstatat, statx,
# access, readlink) under strace -f for the import script, ours vs
# python3.11 -I -S, and prints executable sizes.
#
# Environment: N (default 41), PYTHON (/usr/bin/python3.11), PYEMBED
# (target/release/pyembed), LAUNCHER (target/release/pyembed-launcher),
# OUT (target/bench-startup).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-41}
PYTHON=${PYTHON:-/usr/bin/python3.11}
PYEMBED=${PYEMBED:-target/release/pyembed}
LAUNCHER=${LAUNCHER:-target/release/pyembed-launcher}
EMBED=${EMBED:-target/release/examples/packed-python}
OUT=${OUT:-target/bench-startup}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

for exe in "$PYEMBED" "$LAUNCHER"; do
    [ -x "$exe" ] || { echo "missing $exe; run: cargo build --release --features cli" >&2; exit 1; }
done

"$PYEMBED" pack --stdlib "$("$PYTHON" -I -S -c 'import sys; print(sys._stdlib_dir)')" \
    -o "$OUT/stdlib-none.pyembed" 2>/dev/null
"$PYEMBED" build --python --stdlib-container "$OUT/stdlib-none.pyembed" --launcher "$LAUNCHER" \
    -o "$OUT/python-none" 2>/dev/null
"$PYEMBED" build --python --compress auto --launcher "$LAUNCHER" -o "$OUT/python-auto" 2>/dev/null

# The import script: every listed module, as benches/import_all.sh does.
{
    echo "import importlib"
    echo "for name in ["
    grep -v '^#' benches/stdlib-modules.txt | grep -v '^$' | sed 's/.*/    "&",/'
    echo "]:"
    echo "    importlib.import_module(name)"
} > "$OUT/import_all.py"

[ -x "$EMBED" ] && EMBED=$(cd "$(dirname "$EMBED")" && pwd)/$(basename "$EMBED") || EMBED=

"$PYTHON" -I -S - "$N" "$OUT" "$PYTHON" "$EMBED" <<'EOF'
import os, statistics, sys, time

n, out, python, embed = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ours, auto = f"{out}/python-none", f"{out}/python-auto"
script = f"{out}/import_all.py"
commands = {
    "ours-pass": [ours, "-c", "pass"],
    "ours-IS-pass": [ours, "-I", "-S", "-c", "pass"],
    "auto-pass": [auto, "-c", "pass"],
    "py-IS-pass": [python, "-I", "-S", "-c", "pass"],
    **({"embed-IS-pass": [embed, "-I", "-S", "-c", "pass"]} if embed else {}),
    "ours-import": [ours, "-I", "-S", script],
    "py-import": [python, "-I", "-S", script],
}
devnull = os.open(os.devnull, os.O_RDWR)
actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]

def once(argv):
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, {}, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter_ns() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed with {status}")
    cpu = (usage.ru_utime + usage.ru_stime) * 1e3
    return elapsed / 1e6, cpu, usage.ru_maxrss

for argv in commands.values():  # warm the page cache
    once(argv)
times = {name: [] for name in commands}
cpus = {name: [] for name in commands}
rss = {name: [] for name in commands}
names = list(commands)
for rep in range(n):
    for name in names if rep % 2 == 0 else reversed(names):
        ms, cpu, kb = once(commands[name])
        times[name].append(ms)
        cpus[name].append(cpu)
        rss[name].append(kb)

print(f"{n} repetitions, alternating; wall ms (median, min, max), CPU ms (median),"
      " peak RSS KiB (median)")
for name in names:
    t = times[name]
    print(f"  {name:14} {statistics.median(t):8.2f} {min(t):8.2f} {max(t):8.2f}"
          f"   cpu {statistics.median(cpus[name]):7.2f}   rss {statistics.median(rss[name]):8.0f}")
med = {name: statistics.median(t) for name, t in times.items()}
mcpu = {name: statistics.median(t) for name, t in cpus.items()}
mrss = {name: statistics.median(r) for name, r in rss.items()}
print("ratios (median over median):")
pairs = [("ours-pass", "py-IS-pass"), ("ours-IS-pass", "py-IS-pass"),
         ("auto-pass", "py-IS-pass"), ("ours-import", "py-import")]
if embed:
    pairs += [("embed-IS-pass", "py-IS-pass"), ("ours-IS-pass", "embed-IS-pass")]
for name, ref in pairs:
    print(f"  {name:14} / {ref:13} wall {med[name] / med[ref]:.3f}   "
          f"cpu {mcpu[name] / mcpu[ref]:.3f}   peak RSS {mrss[name] / mrss[ref]:.3f}")

print("RSS split at the end of the import script, KiB (file-backed / anonymous):")
import re
for name, argv in [("ours", commands["ours-import"]), ("py", commands["py-import"])]:
    probe = argv[:-1] + ["-c", f"exec(open({argv[-1]!r}).read())\n"
        "f=a=0\n"
        "for l in open('/proc/self/smaps_rollup'):\n"
        "    k, _, v = l.partition(':')\n"
        "    f += int(v.split()[0]) if k in ('Shared_Clean', 'Private_Clean') else 0\n"
        "    a += int(v.split()[0]) if k == 'Anonymous' else 0\n"
        "print(f, a)"]
    r, w = os.pipe()
    pid = os.posix_spawn(probe[0], probe, {}, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w)
    text = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    print(f"  {name:5} {text.strip()}")
EOF

if command -v strace >/dev/null; then
    echo "filesystem syscalls while importing the list (strace -f):"
    calls=openat,open,stat,lstat,newfstatat,statx,access,readlink
    for who in ours py; do
        if [ $who = ours ]; then cmd=("$OUT/python-none" -I -S "$OUT/import_all.py");
        else cmd=("$PYTHON" -I -S "$OUT/import_all.py"); fi
        env -i strace -f -qq -e trace=$calls -o "$OUT/strace-$who.txt" "${cmd[@]}" >/dev/null 2>&1
        printf '  %-5s' "$who"
        for call in ${calls//,/ }; do
            printf ' %s=%s' "$call" "$(grep -cE "^([0-9]+ +)?$call\(" "$OUT/strace-$who.txt" || true)"
        done
        echo
    done
else
    echo "strace not installed: apt-get install strace"
fi

size() { stat -c %s "$1"; }
echo "sizes (bytes):"
echo "  launcher                  $(size "$LAUNCHER")"
echo "  python, --compress none   $(size "$OUT/python-none")"
echo "  python, --compress auto   $(size "$OUT/python-auto")"
echo "  python3.11 + its stdlib   $(( $(size "$PYTHON") + $(du -sb --exclude=__pycache__ --exclude=test /usr/lib/python3.11 | cut -f1) )) (binary + .py files, no tests)"
