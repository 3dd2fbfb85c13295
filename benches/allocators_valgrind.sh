#!/usr/bin/env bash
# One run per allocator backend under valgrind's memcheck: the interpreter
# starts with the backend installed for every domain it can take (raw, mem,
# obj; then raw + pymalloc arenas), runs a workload, and finalizes. The run
# passes when memcheck reports no invalid reads or writes, no uses of
# uninitialised values and no mismatched or invalid frees (leaks are not
# counted: CPython keeps interned objects and static state until exit).
#
#   benches/allocators_valgrind.sh            # every backend
#   BACKENDS="rust jemalloc" benches/allocators_valgrind.sh
#
# Slow (a minute or more per run), so not part of .ci/run. Uses the
# release build of examples/allocator-bench (built if missing) with its
# `smoke` workload (dicts, strings, json).

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
failed=0
for backend in "${backends[@]}"; do
    for domains in raw+mem+obj raw+arena; do
        log=$WORK/$backend-$domains.log
        # CPython's pymalloc (kept by raw+arena) reads memory it does not
        # own by design (address_in_range); Debian's suppression file covers it.
        suppressions=()
        [[ -f /usr/lib/valgrind/python3.supp ]] && suppressions=(--suppressions=/usr/lib/valgrind/python3.supp)
        status=0
        valgrind --tool=memcheck --error-exitcode=99 --leak-check=no "${suppressions[@]}" \
            --log-file="$log" "$BENCH" "$backend" "$domains" smoke >/dev/null || status=$?
        errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$log" | awk '{print $3}' || echo "?")
        echo "$backend $domains: exit $status, memcheck errors $errors"
        if [[ $status -ne 0 || $errors != 0 ]]; then
            failed=1
            grep -E '^==[0-9]+== (Invalid|Conditional|Mismatched|Use of)' "$log" | sort | uniq -c | head >&2 || true
        fi
    done
done
exit $failed
