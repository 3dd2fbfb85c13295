#!/usr/bin/env bash
# Build the pinned toolchain of one Python version: `pyembed` and
# `pyembed-launcher` linked against the pinned CPython that build.sh makes
# (PGO, with GCC's LTO at the final link), installed where `pyembed build`
# and `pyembed pack` look for it (docs/build.md, "Which CPython").
#
#   python-stdlib/cpython/toolchain.sh 3.11     # or 3.13
#
# Output: $PYEMBED_TOOLCHAINS/<version>/ (default
# ${XDG_CACHE_HOME:-~/.cache}/pyembed/toolchains/<version>/):
#   bin/pyembed, bin/pyembed-launcher, and lib -> the pinned CPython's lib/
#   (so the toolchain's pyembed finds its standard library next to itself).
# The cargo build goes to target/cpython-<version>/ in this repository.
# A first run builds CPython (about 5 minutes on 2 idle cores, see
# docs/cpython.md) and then pyembed twice through GCC's LTO (a few minutes).
set -euo pipefail

die() { echo "toolchain.sh: error: $*" >&2; exit 1; }
note() { echo "toolchain.sh: $*" >&2; }

[ $# = 1 ] || die "usage: toolchain.sh <version>   (a version pinned in pins.toml: 3.11, 3.13)"
series="$1"
case "$series" in
  [0-9].[0-9] | [0-9].[0-9][0-9]) ;;
  *) die "\`$series\` is not a Python version like 3.11" ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

cpython="$("$here/build.sh" "$series" | tail -n 1)"
[ -f "$cpython/pyo3-config.txt" ] || die "build.sh $series did not leave a pyo3-config.txt in $cpython"
[ -f "$cpython/install/lib/python$series/os.py" ] ||
  die "$cpython/install/lib/python$series has no standard library"

root="${PYEMBED_TOOLCHAINS:-${XDG_CACHE_HOME:-$HOME/.cache}/pyembed/toolchains}"
target="$repo/target/cpython-$series"
note "building pyembed and pyembed-launcher against $cpython (GCC LTO link) in $target"
(cd "$repo" &&
  PYO3_CONFIG_FILE="$cpython/pyo3-config.txt" PYEMBED_CPYTHON_LTO_LINK=1 \
    cargo build --release --features cli --bin pyembed --bin pyembed-launcher --target-dir "$target")

mkdir -p "$root"
stage="$root/$series.tmp"
rm -rf "$stage"
mkdir -p "$stage/bin"
cp "$target/release/pyembed" "$target/release/pyembed-launcher" "$stage/bin/"
ln -s "$cpython/install/lib" "$stage/lib"

# The toolchain answers for itself before it is published: its version
# line names the pinned CPython, and its interpreter finds the stdlib.
version="$("$stage/bin/pyembed" --version)" || die "$stage/bin/pyembed --version failed"
grep -qx "python-version: $series" <<<"$version" || die "the toolchain's pyembed says: $version"
grep -q "^cpython: pinned CPython " <<<"$version" || die "the toolchain's pyembed does not link the pinned CPython: $version"
"$stage/bin/pyembed-launcher" --pyembed-describe >/dev/null ||
  die "the toolchain's launcher does not describe itself"

rm -rf "${root:?}/$series"
mv "$stage" "$root/$series"
note "installed $root/$series"
note "$(grep '^cpython: ' <<<"$version")"
echo "$root/$series"
