#!/usr/bin/env bash
# Allocator backends against CPython's own allocators, in one run.
#
# Every workload of examples/allocator-bench.rs (object churn, large strings,
# dict growth, and a pyperformance-style subset: nbody, json, fannkuch) runs
# in a fresh process per repetition for each configuration:
#
#   cpython            allocator_backend = default: CPython untouched
#                      (glibc malloc for raw, pymalloc with mmap'ed arenas)
#   B/raw              backend B for the raw domain (pymalloc kept; its
#                      blocks over 512 bytes and everything PyMem_Raw* go to B)
#   B/raw+arena        ... and B provides pymalloc's 1 MiB arenas
#   B/raw+mem+obj      B for every domain: pymalloc replaced
#
# for B in system, rust, jemalloc, mimalloc, snmalloc. The configurations run
# in a rotating order per repetition. The example reports the workload's own
# time (start-up excluded) and the process's peak RSS; this script prints the
# medians as ratios to `cpython` (below 1.00 is faster / smaller) and the
# micro-benchmark of the raw function tables (`allocator-bench micro`), which
# compares the `rust` backend's size header with a mutex-guarded map.
# Nothing fails on a time.
#
#   benches/allocators.sh             # N=5
#   N=3 WORKLOADS="churn dicts" benches/allocators.sh
#
# Environment: N (default 5), WORKLOADS (default: all), BENCH (the example
# binary, default target/release/examples/allocator-bench, built if missing).

set -euo pipefail

N=${N:-5}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${BENCH:-$REPO/target/release/examples/allocator-bench}
FEATURES=allocator-jemalloc,allocator-mimalloc,allocator-snmalloc

if [[ ! -x $BENCH ]]; then
    echo "building $BENCH" >&2
    (cd "$REPO" && cargo build --release --example allocator-bench --features "$FEATURES")
fi

read -r -a workloads <<< "${WORKLOADS:-$("$BENCH" workloads | tr '\n' ' ')}"
configs=(cpython/-)
for backend in system rust jemalloc mimalloc snmalloc; do
    for domains in raw raw+arena raw+mem+obj; do
        configs+=("$backend/$domains")
    done
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pyembed-allocators.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
results=$WORK/results.txt
: > "$results"

echo "allocators: $N repetitions x ${#workloads[@]} workloads x ${#configs[@]} configurations" >&2
for ((rep = 0; rep < N; rep++)); do
    for workload in "${workloads[@]}"; do
        count=${#configs[@]}
        for ((i = 0; i < count; i++)); do
            config=${configs[$(((i + rep * 5) % count))]}
            backend=${config%%/*}
            domains=${config#*/}
            if ! line=$("$BENCH" "$backend" "$domains" "$workload"); then
                echo "allocators: $config $workload failed" >&2
                exit 1
            fi
            echo "$workload $config $line" >> "$results"
        done
    done
    echo "allocators: repetition $((rep + 1))/$N done" >&2
done

/usr/bin/python3.11 - "$results" "${workloads[@]}" <<'EOF'
import statistics, sys
path, workloads = sys.argv[1], sys.argv[2:]
times, rss = {}, {}
for line in open(path):
    workload, config, seconds, kib = line.split()
    times.setdefault((workload, config), []).append(float(seconds))
    rss.setdefault((workload, config), []).append(int(kib))
configs = []
for (_, config) in times:
    if config not in configs:
        configs.append(config)
def table(title, data):
    print(f"\n{title} (median, ratio to cpython; lower is better)\n")
    print("| configuration | " + " | ".join(workloads) + " | geomean |")
    print("|---|" + "---:|" * (len(workloads) + 1))
    for config in configs:
        ratios = [statistics.median(data[(w, config)]) / statistics.median(data[(w, "cpython/-")])
                  for w in workloads]
        geo = statistics.geometric_mean(ratios)
        print(f"| {config} | " + " | ".join(f"{r:.2f}" for r in ratios) + f" | {geo:.2f} |")
print("\ncpython/- medians: " + ", ".join(
    f"{w} {statistics.median(times[(w, 'cpython/-')]):.3f}s "
    f"{statistics.median(rss[(w, 'cpython/-')]) / 1024:.0f}MiB" for w in workloads))
table("Workload time", times)
table("Peak RSS", rss)
EOF

echo
echo "Raw function tables, ns per malloc+free (median of 5; lower is better):"
"$BENCH" micro
