#!/usr/bin/env bash
# Writes seed corpora for the fuzz targets from real containers made by
# `pyembed pack`: a small package tree (module, package, data file,
# .dist-info) packed raw and fully compressed, plus tier 0 cut out of each as a
# bare python-packed-resources blob. Deterministic: the same pyembed gives the
# same seeds.
#
# Usage: fuzz/seed.sh [PYEMBED]   (default: target/debug/pyembed)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pyembed="${1:-$root/target/debug/pyembed}"
[[ -x "$pyembed" ]] || { echo "seed.sh: $pyembed not found; run: cargo build --features cli" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tree="$work/tree"
mkdir -p "$tree/app/sub" "$tree/app-1.0.dist-info"
printf 'def main():\n    return 42\n' > "$tree/app/__init__.py"
printf 'VALUE = "x" * 40\n' > "$tree/app/sub/__init__.py"
printf 'import app\nprint(app.main())\n' > "$tree/app/__main__.py"
printf 'hello data\n' > "$tree/app/data.txt"
printf 'Metadata-Version: 2.1\nName: app\nVersion: 1.0\n' > "$tree/app-1.0.dist-info/METADATA"
printf '[console_scripts]\napp = app:main\n' > "$tree/app-1.0.dist-info/entry_points.txt"

for target in container_bytes container_resealed packed_blob written_then_damaged executable_bytes cli_inspect_verify; do
  mkdir -p "$root/fuzz/corpus/$target"
done
for compress in none all; do
  blob="$work/seed-$compress.pyembed"
  "$pyembed" pack --path "$tree" --compress "$compress" --output "$blob" >/dev/null
  for target in container_bytes container_resealed; do
    cp "$blob" "$root/fuzz/corpus/$target/real-$compress"
  done
  # Tier 0 starts at the first 4096-byte boundary after the index; its length
  # is the header's container length minus what follows. Cutting from the
  # offset to the end gives the parser a real blob with trailing bytes.
  tail -c +4097 "$blob" > "$root/fuzz/corpus/packed_blob/real-$compress"
done
# executable_bytes: a built executable whose "launcher" is a small stand-in, so
# the seed stays small. `pyembed build` runs the launcher to ask which CPython
# it links (`--pyembed-describe`), so the stand-in is a tiny C program giving
# the same answer as this pyembed.
version="$("$pyembed" --version | sed -n 's/^python-version: //p')"
[[ -n "$version" ]] || { echo "seed.sh: $pyembed --version names no python-version" >&2; exit 2; }
cat > "$work/launcher.c" <<C
#include <stdio.h>
int main(void) {
  fputs("python-version: $version\\ncpython: a stand-in launcher for fuzz seeds\\n", stdout);
  return 0;
}
C
launcher="$work/launcher"
"${CC:-cc}" -Os -s -o "$launcher" "$work/launcher.c"
mkdir -p "$work/stub/encodings"
printf '# a stand-in standard library\n' > "$work/stub/encodings/__init__.py"
"$pyembed" pack --path "$work/stub" --output "$work/stub.pyembed" >/dev/null 2>&1
"$pyembed" build --launcher "$launcher" --stdlib-container "$work/stub.pyembed" \
  --path "$tree" --entry app:main --compress none -o "$work/exe" >/dev/null
cp "$work/exe" "$root/fuzz/corpus/executable_bytes/built-app"
cp "$work/exe" "$root/fuzz/corpus/cli_inspect_verify/built-app"
cp "$root"/fuzz/corpus/container_bytes/real-* "$root/fuzz/corpus/cli_inspect_verify/"
# written_then_damaged: [control][count][edits][records]; an empty edit list
# and a few records of each kind and tier.
printf '\x00\x00\x00\x00alpha\x00print(1)\xff\x01\x01beta\x00code\xff\x02\x00gamma\x00\x7fELF\xff\x03\x01delta\x00data' \
  > "$root/fuzz/corpus/written_then_damaged/records"
echo "seeds written under fuzz/corpus/"
