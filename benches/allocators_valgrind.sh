#!/usr/bin/env bash
# One run per allocator backend under valgrind's memcheck: the interpreter
# starts with the backend installed for raw+mem+obj and, in a second run, for
# raw + pymalloc arenas, runs the `smoke` workload of
# examples/allocator-bench (dicts, strings, json) and finalizes.
#
# A run passes when memcheck reports no invalid read, write or free and no
# mismatched free. Uses of uninitialised values are counted and compared with
# a baseline: the same binary with CPython's own allocators under
# PYTHONMALLOC=malloc (no pyembed backend). The embedded interpreter shows the
# same few such reports there (inside CPython's int.from_bytes and frame code
# during start-up), so only reports beyond the baseline count. Leaks are not
# checked: CPython keeps interned objects and static state until exit.
#
# Valgrind only sees allocations made through the C library's malloc, so it
# checks `system` and `rust` (Rust's global allocator is malloc here) in
# depth; for jemalloc and mimalloc it still catches wild reads and writes and
# uninitialised uses outside their heaps. snmalloc cannot start under
# valgrind (it reserves more address space than valgrind allows) and is
# skipped with a note; its checks are the native tests.
#
#   benches/allocators_valgrind.sh            # every backend
#   BACKENDS="rust jemalloc" benches/allocators_valgrind.sh
#
# Slow (about a minute per run), so not part of .ci/run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${BENCH:-$REPO/target/release/examples/allocator-bench}
FEATURES=allocator-jemalloc,allocator-mimalloc,allocator-snmalloc
read -r -a backends <<< "${BACKENDS:-system rust jemalloc mimalloc snmalloc}"

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
if [[ ! -x $BENCH ]]; then
    (cd "$REPO" && cargo build --release --example allocator-bench --features "$FEATURES")
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pyembed-valgrind.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# memcheck [ENV=VALUE...] -- ARGS...: run the bench under memcheck, print
# "exit invalid uninitialised" for its log.
memcheck() {
    local log=$1; shift
    local status=0
    env "$@" valgrind --tool=memcheck --leak-check=no "${SUPPRESSIONS[@]}" --log-file="$log" \
        "$BENCH" "${ARGS[@]}" >/dev/null 2>>"$log.stderr" || status=$?
    local invalid uninit
    invalid=$(grep -cE '^==[0-9]+== (Invalid (read|write|free)|Mismatched free)' "$log" || true)
    uninit=$(grep -cE '^==[0-9]+== (Conditional jump|Use of uninitialised|Syscall param)' "$log" || true)
    echo "$status $invalid $uninit"
}

# pymalloc (kept by raw+arena) may inspect memory it does not own by design
# (address_in_range); Debian ships suppressions for it.
SUPPRESSIONS=()
[[ -f /usr/lib/valgrind/python3.supp ]] && SUPPRESSIONS=(--suppressions=/usr/lib/valgrind/python3.supp)

ARGS=(cpython - smoke)
read -r _ _ baseline < <(memcheck "$WORK/baseline.log" PYTHONMALLOC=malloc)
echo "baseline (CPython's own allocators, PYTHONMALLOC=malloc): $baseline uninitialised-value reports"

failed=0
for backend in "${backends[@]}"; do
    if [[ $backend == snmalloc ]]; then
        echo "snmalloc: skipped (snmalloc cannot initialise under valgrind)"
        continue
    fi
    for domains in raw+mem+obj raw+arena; do
        ARGS=("$backend" "$domains" smoke)
        read -r status invalid uninit < <(memcheck "$WORK/$backend-$domains.log" PYEMBED_UNUSED=1)
        verdict=ok
        if [[ $status -ne 0 || $invalid -ne 0 || $uninit -gt $baseline ]]; then
            verdict=FAILED
            failed=1
            grep -E '^==[0-9]+== ' "$WORK/$backend-$domains.log" | head -40 >&2
        fi
        echo "$backend $domains: exit $status, invalid accesses/frees $invalid, uninitialised-value reports $uninit: $verdict"
    done
done
exit $failed
