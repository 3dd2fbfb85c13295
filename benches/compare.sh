#!/usr/bin/env bash
# The whole-process comparison of pyembed's built python with Debian's
# python3.11, in one run: start-up, import-all (whole process and timed
# in-process, against the filesystem, zipimport and a dict-finder floor),
# lazy verification on/off, finalisation, peak RSS, sizes, syscall counts,
# and `pyembed pack` against `compileall -j0`. Prints medians, min/max and
# ratios; writes target/perf-report/results.json and performance.svg.
# Not a test: nothing fails on a time. docs/performance.md explains it.
#
#   benches/compare.sh                  # N=7 rounds
#   N=11 PACK_N=5 benches/compare.sh
#   PYEMBED_LAUNCHER=/path/to/pyembed-launcher benches/compare.sh
#
# Environment (see examples/perf-report/main.rs): N, PACK_N, PYTHON, STDLIB,
# PYEMBED (a pyembed CLI), PYEMBED_LAUNCHER (passed to `pyembed build
# --launcher`), OUT, STRACE=0, REGENERATE=1 (rewrite
# benches/stdlib-modules.txt first). When PYEMBED and PYEMBED_LAUNCHER are
# both given, nothing of the crate but the tool itself is built.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${PYEMBED:-} || -z ${PYEMBED_LAUNCHER:-} ]]; then
    cargo build --release --features cli --bin pyembed --bin pyembed-launcher
fi
cargo build --release --features cli --example perf-report
exec target/release/examples/perf-report run
