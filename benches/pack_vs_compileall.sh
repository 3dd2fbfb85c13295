#!/usr/bin/env bash
# Whole-process comparison: `pyembed pack` against `python3.11 -m compileall`
# on the same standard-library files, in one run, alternating, and the
# container sizes and verify speed that go with it. Prints ratios.
#
#   benches/pack_vs_compileall.sh            # N=5 repetitions
#   N=9 benches/pack_vs_compileall.sh        # more repetitions
#
# Environment:
#   N        repetitions of each timed command (default 5)
#   PYTHON   the CPython to compare with (default /usr/bin/python3.11)
#   STDLIB   the standard library to copy (default /usr/lib/python3.11)
#   PYEMBED  the pyembed binary (default target/release/pyembed, built with
#            `cargo build --release --features cli` if missing)
#
# What is compared, like for like:
#   * The stdlib is copied to a temporary directory and everything
#     python-stdlib/policy.toml excludes is deleted from the copy (read with
#     the comparison Python's tomllib), as are directories no import can
#     reach (config-3.11-*). Both sides then see the same .py files: the
#     script prints pack's "modules compiled" next to the number of .pyc files
#     compileall wrote, and pack's "excluded by policy" count, which must be 0.
#   * `pyembed pack --stdlib COPY -o OUT` stores bytecode at optimisation
#     level 0 (and sources) in one uncompressed container; it is compared with
#     `compileall -q -j0 COPY`, which writes level-0 .pyc files. Then
#     `pack --opt 0,1,2` against `compileall -q -j0 -o 0 -o 1 -o 2`.
#   * Every __pycache__ directory is deleted before each timed command (not
#     timed), so compileall compiles every file every time.
#   * Each repetition runs the four commands, in reverse order on odd
#     repetitions, so drift on a shared machine falls on both sides.
#   * Both use every CPU: -j0 is os.cpu_count() workers, pack's default is
#     one worker per available CPU.
#
# Each whole process is timed (start-up included): wall time, and CPU time of
# the process and all its workers. The ratios are what to compare across
# machines; absolute times are printed for context only. Nothing here fails
# on a time.

set -euo pipefail

N=${N:-5}
PYTHON=${PYTHON:-/usr/bin/python3.11}
STDLIB=${STDLIB:-/usr/lib/python3.11}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYEMBED=${PYEMBED:-$REPO/target/release/pyembed}

if [[ ! -x $PYEMBED ]]; then
    echo "building $PYEMBED" >&2
    (cd "$REPO" && cargo build --release --features cli)
fi
if [[ ! -x $PYTHON ]]; then
    echo "error: $PYTHON not found; hint: set PYTHON to a CPython 3.11 executable" >&2
    exit 2
fi
if [[ ! -f $STDLIB/os.py ]]; then
    echo "error: $STDLIB is not a standard library (no os.py); hint: set STDLIB" >&2
    exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pyembed-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
COPY=$WORK/stdlib
TIMES=$WORK/times.tsv
: >"$TIMES"

# ---- the copy: the stdlib minus what the policy excludes ----------------------
cp -r "$STDLIB" "$COPY"
"$PYTHON" -I "$REPO/benches/policy_copy.py" "$REPO/python-stdlib/policy.toml" "$COPY"

clean() { find "$COPY" -name __pycache__ -type d -prune -exec rm -rf {} +; }

# The timer runs one command and prints its wall time and CPU time (user +
# system, of the process and of every descendant it waited for: pack's
# compile workers, compileall's process pool). On a loaded machine CPU time
# is the steadier measure of work done; wall time is what a user waits for.
cat >"$WORK/timer.py" <<'TIMER'
import os, subprocess, sys, time
with open(os.environ["TIMER_ERR"], "wb") as err:
    start = time.perf_counter()
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
child.returncode = os.waitstatus_to_exitcode(status)
print(f"{wall:.6f}\t{usage.ru_utime + usage.ru_stime:.6f}")
sys.exit(child.returncode)
TIMER

# time_it LABEL COMMAND...: remove every __pycache__ (not timed), run the
# command once, append "LABEL<TAB>wall<TAB>cpu" to $TIMES.
time_it() {
    local label=$1 measured
    shift
    clean
    measured=$(TIMER_ERR="$WORK/err" "$PYTHON" -I "$WORK/timer.py" "$@") || {
        echo "error: $label failed:" >&2
        cat "$WORK/err" >&2
        exit 1
    }
    printf '%s\t%s\n' "$label" "$measured" >>"$TIMES"
}

pack0=("$PYEMBED" pack --stdlib "$COPY" -o "$WORK/opt0.pyembed")
pack012=("$PYEMBED" pack --stdlib "$COPY" --opt 0,1,2 -o "$WORK/opt012.pyembed")
compile0=("$PYTHON" -m compileall -q -j0 "$COPY")
compile012=("$PYTHON" -m compileall -q -j0 -o 0 -o 1 -o 2 "$COPY")

# ---- same files on both sides? --------------------------------------------------
clean
"$PYEMBED" pack --stdlib "$COPY" -o "$WORK/check.pyembed" 2>"$WORK/err"
pack_summary=$(grep '^packed' "$WORK/err")
"${compile0[@]}" >/dev/null
pyc_count=$(find "$COPY" -name '*.pyc' | wc -l)
py_bytes=$(find "$COPY" -name '*.py' -not -path '*/__pycache__/*' -printf '%s\n' | awk '{s+=$1} END {print s}')
pyc_bytes=$(find "$COPY" -name '*.pyc' -printf '%s\n' | awk '{s+=$1} END {print s}')

modules_compiled=$(sed -n 's/.*(\([0-9]*\) modules compiled, .*/\1/p' <<<"$pack_summary")
if [[ $modules_compiled != "$pyc_count" ]] || ! grep -q ' 0 excluded by policy' <<<"$pack_summary"; then
    echo "warning: pack and compileall do not see the same files; the comparison is not like for like" >&2
fi

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "python:  $PYTHON ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"
echo "pyembed: $PYEMBED"
echo "input:   $STDLIB minus policy exclusions"
echo "  pyembed: $pack_summary"
echo "  compileall: $pyc_count .pyc files written ($pyc_bytes bytes; sources $py_bytes bytes)"
echo

# ---- timed, alternating --------------------------------------------------------
for ((i = 0; i < N; i++)); do
    if ((i % 2 == 0)); then
        time_it "pack --opt 0" "${pack0[@]}"
        time_it "compileall -j0" "${compile0[@]}"
        time_it "pack --opt 0,1,2" "${pack012[@]}"
        time_it "compileall -j0 -o 0 -o 1 -o 2" "${compile012[@]}"
    else
        time_it "compileall -j0 -o 0 -o 1 -o 2" "${compile012[@]}"
        time_it "pack --opt 0,1,2" "${pack012[@]}"
        time_it "compileall -j0" "${compile0[@]}"
        time_it "pack --opt 0" "${pack0[@]}"
    fi
done

# ---- sizes: with and without tier 1 ------------------------------------------
for mode in none auto all; do
    time_it "pack --compress=$mode (1 run)" "$PYEMBED" pack --stdlib "$COPY" "--compress=$mode" -o "$WORK/$mode.pyembed"
done

# ---- verify, if this pyembed has it --------------------------------------------
has_verify=0
if "$PYEMBED" verify --help >/dev/null 2>&1; then
    has_verify=1
    for ((i = 0; i < N; i++)); do
        for mode in none auto all; do
            time_it "pyembed verify ($mode)" "$PYEMBED" verify "$WORK/$mode.pyembed"
            time_it "python3.11 hashlib.sha256 ($mode)" "$PYTHON" -I -c \
                'import hashlib, sys; hashlib.sha256(open(sys.argv[1], "rb").read())' "$WORK/$mode.pyembed"
        done
    done
fi

# ---- report --------------------------------------------------------------------
"$PYTHON" -I - "$TIMES" "$WORK" "$has_verify" "$N" <<'EOF'
import os, statistics, sys
from collections import defaultdict

wall, cpu = defaultdict(list), defaultdict(list)
for line in open(sys.argv[1]):
    label, w, c = line.rstrip("\n").split("\t")
    wall[label].append(float(w))
    cpu[label].append(float(c))
work, has_verify, n = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
med = statistics.median

print(f"seconds (N={n}, alternating)        wall: median     min     max    cpu: median")
for label in ["pack --opt 0", "compileall -j0", "pack --opt 0,1,2", "compileall -j0 -o 0 -o 1 -o 2"]:
    w, c = wall[label], cpu[label]
    print(f"  {label:<34} {med(w):12.3f} {min(w):7.3f} {max(w):7.3f} {med(c):12.3f}")
print()
print("ratios, pack / compileall (below 1: pack is faster)")
print("                                     wall: median  min/min    cpu: median")
for ours, theirs, name in [
    ("pack --opt 0", "compileall -j0", "level 0"),
    ("pack --opt 0,1,2", "compileall -j0 -o 0 -o 1 -o 2", "levels 0, 1, 2"),
]:
    print(f"  {name:<34} {med(wall[ours]) / med(wall[theirs]):12.2f} "
          f"{min(wall[ours]) / min(wall[theirs]):8.2f} {med(cpu[ours]) / med(cpu[theirs]):14.2f}")
print()

size = {m: os.path.getsize(os.path.join(work, m + ".pyembed")) for m in ("none", "auto", "all")}
print("container (--opt 0, sources kept)         bytes  vs none   pack wall, 1 run")
for m, flag in (("none", "--compress=none"), ("auto", "--compress"), ("all", "--compress=all")):
    print(f"  {flag:<30} {size[m]:>12} {size[m] / size['none']:8.2f} "
          f"{wall[f'pack --compress={m} (1 run)'][0]:12.2f} s")
print()

if has_verify:
    print(f"verify (N={n})           wall: median   MB/s   / python3.11 sha256 of the same file")
    for m in ("none", "auto", "all"):
        ours = med(wall[f"pyembed verify ({m})"])
        raw = med(wall[f"python3.11 hashlib.sha256 ({m})"])
        print(f"  {m:<24} {ours:12.3f} {size[m] / ours / 1e6:7.0f} {ours / raw:12.2f}")
else:
    print("verify: this pyembed has no `verify` subcommand; skipped")
EOF
