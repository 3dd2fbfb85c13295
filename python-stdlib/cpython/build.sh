#!/usr/bin/env bash
# Build pyembed's pinned, static, PGO+LTO CPython once per pin, into a cache.
#
#   python-stdlib/cpython/build.sh [3.11|3.13]         build (or reuse) and print the cache dir
#   python-stdlib/cpython/build.sh --check-pins        validate pins.toml only (cheap; CI runs this)
#   python-stdlib/cpython/build.sh --rebuild 3.11      ignore the cache, build again into a second
#                                                      directory and compare (reproducibility proof)
#   python-stdlib/cpython/build.sh --check-profile 3.11  the cheap proof: instrumented build and two
#                                                      training runs only; their profiles must agree,
#                                                      and agree with the cached build's profile
#
# Cache layout: ${PYEMBED_CPYTHON_CACHE:-$HOME/.cache/pyembed/cpython}/<tarball sha256>/
#   lib/libpython3.X.a      the static interpreter, stdlib extension modules built in
#   install/                `make install` tree (bin/python3.X, lib/python3.X, include/)
#   pyo3-config.txt         PYO3_CONFIG_FILE for cargo (see docs/cpython.md)
#   builtin-modules.txt     sys.builtin_module_names of the built interpreter
#   build-info.txt          recipe digest, archive digest, flags, build time
#
# The tarball comes from $PYEMBED_CPYTHON_TARBALLS/<tarball> when that exists
# (a directory of upstream tarballs), else from Debian's source archive with
# `apt-get source --download-only` (needs a deb-src line for the pin's suite).
# Either way its SHA-256 must equal the pin's, or nothing is built.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pins="$here/pins.toml"
cache_root="${PYEMBED_CPYTHON_CACHE:-$HOME/.cache/pyembed/cpython}"
host_python=/usr/bin/python3.11 # only reads pins.toml (tomllib); Debian's interpreter

die() { echo "cpython build: error: $*" >&2; exit 1; }
note() { echo "cpython build: $*" >&2; }

[ -x "$host_python" ] || die "$host_python is needed to read $pins (apt-get install python3.11)"

# pin <series> <key>: one field of [cpython."<series>"] from pins.toml.
pin() {
  "$host_python" - "$pins" "$1" "$2" <<'EOF'
import sys, tomllib
path, series, key = sys.argv[1:]
with open(path, "rb") as f:
    doc = tomllib.load(f)
if doc.get("schema") != 1:
    sys.exit(f"{path}: unsupported schema {doc.get('schema')!r} (expected 1)")
table = doc.get("cpython", {}).get(series)
if table is None:
    sys.exit(f"{path}: no [cpython.\"{series}\"] table; pinned: {', '.join(sorted(doc.get('cpython', {})))}")
if key not in table:
    sys.exit(f"{path}: [cpython.\"{series}\"] has no `{key}`")
print(table[key])
EOF
}

check_pins() {
  "$host_python" - "$pins" <<'EOF'
import re, sys, tomllib
path = sys.argv[1]
with open(path, "rb") as f:
    doc = tomllib.load(f)
assert doc.get("schema") == 1, f"{path}: schema must be 1"
required = ["version", "tarball", "url", "sha256", "size", "debian_source", "debian_suite",
            "debian_orig", "source_date_epoch", "checksum_source"]
for series, t in sorted(doc["cpython"].items()):
    missing = [k for k in required if k not in t]
    assert not missing, f"{path}: [cpython.\"{series}\"] lacks {missing}"
    assert re.fullmatch(r"[0-9a-f]{64}", t["sha256"]), f"{path}: {series}: sha256 is not 64 hex digits"
    assert t["version"].startswith(series + "."), f"{path}: {series}: version {t['version']} is not {series}.x"
    assert t["tarball"] in t["url"], f"{path}: {series}: url does not end in the tarball name"
    assert t["debian_orig"].startswith(f"{t['debian_source']}_{t['version']}.orig.tar."), \
        f"{path}: {series}: debian_orig does not match debian_source/version"
    print(f"{series}: {t['version']} {t['sha256']}")
EOF
}

rebuild=0
check_profile=0
case "${1:-}" in
  --check-pins) check_pins; exit 0 ;;
  --rebuild) rebuild=1; shift ;;
  --check-profile) check_profile=1; shift ;;
esac
series="${1:-3.11}"

version="$(pin "$series" version)"
tarball="$(pin "$series" tarball)"
sha256="$(pin "$series" sha256)"
debian_source="$(pin "$series" debian_source)"
debian_suite="$(pin "$series" debian_suite)"
debian_orig="$(pin "$series" debian_orig)"
sde="$(pin "$series" source_date_epoch)"

# Everything that shapes the output is part of the recipe; a cache entry built
# from another recipe is rebuilt rather than trusted.
setup_local="$here/Setup.local"
[ "$series" = 3.11 ] || setup_local="$here/Setup-$series.local"
[ -f "$setup_local" ] || die "no Setup file for $series ($setup_local)"
# Flags only some series get (3.11 gets none).
series_configure_args=()
if [ "$series" != 3.11 ]; then
  # 3.13 prefers a system libmpdec (shared, when installed); use the bundled
  # copy, as 3.11 does, so the host's packages do not change the build.
  series_configure_args+=(--without-system-libmpdec)
  # 3.13 compiles its own copy of mimalloc into obmalloc.o with global
  # symbols (mi_process_init, _mi_options_init, ...); the whole-archive link
  # of libpython then collides with the mimalloc crate of pyembed's
  # `allocators` feature. CPython only uses it under PYTHONMALLOC=mimalloc
  # (or free-threaded); pyembed installs its own allocators.
  series_configure_args+=(--without-mimalloc)
fi
# Bump recipe_version whenever a flag or step below changes the output.
# 4: the training run gets default signal dispositions and /dev/null for
#    stdin (a build started from a background job trained to another profile).
recipe_version=4
recipe="$( (echo "recipe_version=$recipe_version series=$series"
  if [ ${#series_configure_args[@]} -gt 0 ]; then printf '%s\n' "${series_configure_args[@]}"; fi
  cat "$setup_local" "$here/pgo_train.py") | sha256sum | cut -c1-16)"

out="$cache_root/$sha256"
if [ $rebuild = 1 ]; then out="$cache_root/$sha256.rebuild"; fi
if [ $rebuild = 0 ] && [ $check_profile = 0 ] && [ -f "$out/build-info.txt" ] && grep -qx "recipe=$recipe" "$out/build-info.txt"; then
  note "cached: $out"
  echo "$out"
  exit 0
fi

# 1. The tarball, verified before anything reads it.
downloads="$cache_root/downloads"
mkdir -p "$downloads"
src_tar="$downloads/$tarball"
if [ -n "${PYEMBED_CPYTHON_TARBALLS:-}" ] && [ -f "$PYEMBED_CPYTHON_TARBALLS/$tarball" ]; then
  src_tar="$PYEMBED_CPYTHON_TARBALLS/$tarball"
elif [ ! -f "$src_tar" ]; then
  note "fetching $debian_orig from Debian's source archive ($debian_source/$debian_suite)"
  tmp="$(mktemp -d "$downloads/apt.XXXXXX")"
  (cd "$tmp" && apt-get source --download-only "$debian_source/$debian_suite" >/dev/null) ||
    die "apt-get source $debian_source/$debian_suite failed
hint: add a deb-src line for $debian_suite (see docs/cpython.md) and run apt-get update, or put $tarball in \$PYEMBED_CPYTHON_TARBALLS"
  [ -f "$tmp/$debian_orig" ] || die "Debian's source package has no $debian_orig (files: $(ls "$tmp"))"
  mv "$tmp/$debian_orig" "$src_tar.part"
  rm -rf "$tmp"
  actual="$(sha256sum "$src_tar.part" | cut -d' ' -f1)"
  [ "$actual" = "$sha256" ] || { rm -f "$src_tar.part"; die "$debian_orig: sha256 $actual, pinned $sha256; refusing it"; }
  mv "$src_tar.part" "$src_tar"
fi
actual="$(sha256sum "$src_tar" | cut -d' ' -f1)"
[ "$actual" = "$sha256" ] || die "$src_tar: sha256 $actual, pinned $sha256 for CPython $version; refusing to build it"
note "verified $tarball ($sha256)"

# 2. A fixed build directory: the PGO training run's counters depend on the
# lengths of the paths the interpreter sees, so every build of a pin uses the
# same absolute path (and -ffile-prefix-map keeps it out of the objects).
build="/tmp/pyembed-cpython-build/$version-${sha256:0:12}"
mkdir -p "$(dirname "$build")"
exec 9>"$build.lock"
flock -n 9 || die "another build of $version holds $build.lock"
rm -rf "$build"
mkdir -p "$build"
tar -xf "$src_tar" -C "$build" --strip-components=1
cp "$setup_local" "$build/Modules/Setup.local"
cp "$here/pgo_train.py" "$build/pyembed_pgo_train.py"

prefix="/opt/pyembed/cpython-$version"
map="-ffile-prefix-map=$build=/usr/src/cpython-$version"
multiarch="$(gcc -print-multiarch)"

# A fixed, minimal environment, no address space randomisation (object
# addresses order some sets and dicts during training), fixed hash seed.
# Every signal back to its default disposition and stdin from /dev/null: a
# build started from a background job inherits SIGINT ignored (CPython then
# skips installing its SIGINT handler at every start) and whatever stdin the
# shell had (CPython checks whether it is a terminal); either changes the
# code paths the training counts.
clean_env=(env -i --default-signal PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$build/.home"
  LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH="$sde" PYTHONHASHSEED=0 MODULE_BUILDTYPE=static)
run() { (cd "$build" && "${clean_env[@]}" setarch "$(uname -m)" -R "$@" </dev/null); }

started=$(date +%s)
note "configuring CPython $version in $build"
configure_args=(
  --prefix="$prefix"
  --enable-optimizations            # PGO (GCC: -fprofile-generate / -fprofile-use)
  --disable-shared
  --without-ensurepip
  --disable-test-modules
  --with-readline=editline          # BSD-licensed libedit, not GPL readline
  # (Not run by make: build.sh runs the training itself, see below.)
  "PROFILE_TASK=-B -s $build/pyembed_pgo_train.py"
  "CFLAGS=$map"
  # CPython's own executables link without LTO (GCC would otherwise run LTO
  # over the whole interpreter at each of its six links); the archive's
  # objects still carry LTO code for ours (EXTRA_CFLAGS below).
  "LDFLAGS=-fno-lto"
  "ARFLAGS=rcsD"
)
configure_args+=("${series_configure_args[@]}")
run ./configure "${configure_args[@]}" >"$build/configure.log" 2>&1 ||
  die "configure failed; see $build/configure.log"
if [ "$series" = 3.11 ]; then
  # 3.11 ignores Modules/Setup.stdlib on Linux (setup.py builds those modules
  # as shared objects); feed it to makesetup through Setup.local, after our
  # rules (the first rule for a module wins), and regenerate the Makefile.
  { cat "$setup_local"; echo; echo "*static*"; cat "$build/Modules/Setup.stdlib"; } >"$build/Modules/Setup.local"
  run sh Modules/makesetup -c Modules/config.c.in -s Modules \
    Modules/Setup.local Modules/Setup.bootstrap Modules/Setup >>"$build/configure.log" 2>&1 ||
    die "makesetup failed; see $build/configure.log"
  mv "$build/config.c" "$build/Modules/config.c"
fi

note "building (PGO training run, then the optimised build); log: $build/build.log"
# Fat LTO objects: each holds PGO-optimised machine code, which an ordinary
# link uses (rustc's default linker, rust-lld, ignores GCC's intermediate
# code), and GCC's intermediate code, which a link through GCC's LTO plugin
# optimises again across the whole program (PYEMBED_CPYTHON_LTO_LINK=1).
# -frandom-seed=$@ (make expands $@ to each object's name): GCC otherwise
# names the LTO sections with a random number.
extra_cflags='-flto -ffat-lto-objects -frandom-seed=$@'
jobs=(-j"${PYEMBED_CPYTHON_JOBS:-2}")
# profile-opt's own training step is replaced by ours (what its
# profile-run-stamp rule does, in order), for three reasons:
# - the instrumented build runs its own tools (_freeze_module,
#   _bootstrap_python, setup.py) in parallel and by timestamp, and they count
#   into the same .gcda files (recipe 1: 75 of 225 objects differed), so the
#   counters are wiped before the training run;
# - make runs PROFILE_TASK as `./python $(PROFILE_TASK)` with make's
#   environment (MAKEFLAGS, jobserver names) and ignores its exit status;
# - recipes 1 and 2 passed -E in PROFILE_TASK, and -E makes the interpreter
#   ignore PYTHONHASHSEED: every training run hashed str and bytes with a
#   fresh random key, so dict and set layouts, probe sequences and iteration
#   orders varied (recipe 2: 12 object-model members still differed).
# The training runs twice on the same instrumented build; both runs must
# leave the same .gcda files, byte for byte, or the build stops.
run make "${jobs[@]}" profile-gen-stamp "EXTRA_CFLAGS=$extra_cflags" >"$build/build.log" 2>&1 ||
  die "make (instrumented build) failed; see $build/build.log"
# profile_digest: one SHA-256 over every .gcda file's name and contents.
profile_digest() {
  (cd "$build" && find . -name '*.gcda' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
}
# train <n>: wipe the counters and the bytecode caches the build's tools
# wrote (so every module is compiled from source, as in every run), then run
# the workload in the fixed environment; -s: no user site directory. Its
# output goes next to the build directory, not into it: the script's
# directory is sys.path[0], whose listing the import system reads and hashes,
# so one file more there (run 1's output, during run 2) changed the counters.
train() {
  find "$build" -name '*.gcda' -delete
  find "$build" -depth -name __pycache__ -exec rm -rf {} +
  run ./python -B -s "$build/pyembed_pgo_train.py" >"$build.pgo-train-$1.out" 2>&1 ||
    die "PGO training run $1 failed; see $build.pgo-train-$1.out"
  grep -q '^pgo-train [0-9]*$' "$build.pgo-train-$1.out" ||
    die "PGO training run $1 printed no result; see $build.pgo-train-$1.out"
}
train 1
profile_1="$(profile_digest)"
run1="$build.profile-1" # outside the tree that train wipes
rm -rf "$run1" && mkdir "$run1"
(cd "$build" && find . -name '*.gcda' -exec cp --parents -t "$run1" {} +)
train 2
profile="$(profile_digest)"
gcda_count="$(find "$build" -name '*.gcda' | wc -l)"
[ "$gcda_count" -gt 100 ] || die "the training run left only $gcda_count .gcda files"
if [ "$profile_1" != "$profile" ]; then
  (cd "$build" && find . -name '*.gcda' | LC_ALL=C sort |
    while read -r f; do cmp -s "$f" "$run1/$f" || echo "  $f"; done) >&2
  die "the PGO training is not deterministic: two runs on the same instrumented build left different .gcda files (above; run 1's are in $run1)"
fi
rm -rf "$run1"
note "PGO profile: $gcda_count .gcda files, sha256 $profile (two training runs agree)"
if [ $check_profile = 1 ]; then
  # The cached build of the same recipe recorded its profile: a fresh
  # instrumented build must train to the same one.
  cached="$cache_root/$sha256/build-info.txt"
  if [ -f "$cached" ] && grep -qx "recipe=$recipe" "$cached"; then
    recorded="$(sed -n 's/^profile_sha256=//p' "$cached")"
    [ "$recorded" = "$profile" ] ||
      die "NOT reproducible: this build's PGO profile is $profile, the cached build's ($cached) is ${recorded:-missing}"
    note "reproducible profile: the same as the cached build's ($cached)"
  else
    note "no cached build of recipe $recipe to compare the profile with"
  fi
  echo "profile_sha256=$profile"
  exit 0
fi
# (GCC reads .gcda files directly: no merge step, unlike clang's .profraw.)
run make clean-retain-profile >>"$build/build.log" 2>&1 || die "make clean-retain-profile failed"
touch "$build/profile-run-stamp"
run make "${jobs[@]}" profile-opt "EXTRA_CFLAGS=$extra_cflags" >>"$build/build.log" 2>&1 ||
  die "make (optimised build) failed; see $build/build.log"

note "installing"
run make install DESTDIR="$build/destdir" "EXTRA_CFLAGS=$extra_cflags" >"$build/install.log" 2>&1 ||
  die "make install failed; see $build/install.log"

# 3. Every built-in module we expect is there, and nothing else went missing.
libname="python$series"
"$build/python" -S -E -c 'import sys; print("\n".join(sorted(sys.builtin_module_names)))' >"$build/builtin-modules.txt"
if [ ! -f "$here/modules-$series.txt" ]; then
  note "warning: no $here/modules-$series.txt to check against; the built list is in $build/builtin-modules.txt"
elif ! diff -u "$here/modules-$series.txt" "$build/builtin-modules.txt" >"$build/modules.diff"; then
  cat "$build/modules.diff" >&2
  die "the built interpreter's built-in modules differ from $here/modules-$series.txt (diff above)"
fi
[ -z "$(ls "$build/build/lib.linux-"*"/" 2>/dev/null | grep '\.so$' || true)" ] ||
  die "shared extension modules were built: $(ls "$build/build/lib.linux-"*/*.so)"

# 4. Publish into the cache atomically.
stage="$out.tmp"
rm -rf "$stage"
mkdir -p "$stage/lib"
cp "$build/lib$libname.a" "$stage/lib/lib$libname.a"
# Bundled libraries CPython links as archives of their own (expat and
# libmpdec; HACL* from 3.12), renamed so no system library shadows them.
bundled=()
while IFS= read -r a; do
  name="$libname-$(basename "$a" .a | sed 's/^lib//')"
  cp "$build/$a" "$stage/lib/lib$name.a"
  bundled+=("$name")
done < <(cd "$build" && find Modules -name '*.a' | LC_ALL=C sort)
mv "$build/destdir$prefix" "$stage/install"
cp "$build/builtin-modules.txt" "$stage/builtin-modules.txt"

# Every archive but libpython is `-bundle`: rustc then names it on the final
# link line after libpython instead of packing it into pyo3-ffi's rlib, which
# comes first. rust-lld does not mind the order; GNU ld (the LTO link) does.
# The libraries the built-in modules need, in link order (static archives
# from Debian's -dev packages; glibc's libm/libdl/libpthread/libutil stay shared).
static_libs=(ssl crypto ffi sqlite3 lzma bz2 z uuid edit panelw ncursesw tinfo bsd md)
for l in "${static_libs[@]}"; do
  [ -f "/usr/lib/$multiarch/lib$l.a" ] || die "/usr/lib/$multiarch/lib$l.a is missing (see docs/cpython.md for the apt packages)"
done
{
  # (pyo3 reads key=value lines only: no comments; build-info.txt says what this is.)
  echo "implementation=CPython"
  echo "version=$series"
  echo "shared=false"
  echo "abi3=false"
  echo "lib_name=$libname"
  echo "lib_dir=$out/lib"
  echo "executable=$out/install/bin/python$series"
  echo "pointer_width=64"
  echo "build_flags="
  echo "suppress_build_script_link_lines=true"
  echo "extra_build_script_line=cargo:rustc-link-search=native=$out/lib"
  echo "extra_build_script_line=cargo:rustc-link-search=native=/usr/lib/$multiarch"
  echo "extra_build_script_line=cargo:rustc-link-lib=static:+whole-archive=$libname"
  for l in "${bundled[@]}"; do echo "extra_build_script_line=cargo:rustc-link-lib=static:-bundle=$l"; done
  for l in "${static_libs[@]}"; do echo "extra_build_script_line=cargo:rustc-link-lib=static:-bundle=$l"; done
  for l in m dl pthread util; do echo "extra_build_script_line=cargo:rustc-link-lib=$l"; done
} >"$stage/pyo3-config.txt"

finished=$(date +%s)
{
  echo "recipe=$recipe"
  echo "version=$version"
  echo "tarball_sha256=$sha256"
  echo "archive_sha256=$(sha256sum "$stage/lib/lib$libname.a" | cut -d' ' -f1)"
  echo "archive_bytes=$(stat -c %s "$stage/lib/lib$libname.a")"
  echo "build_seconds=$((finished - started))"
  echo "gcc=$(gcc -dumpfullversion)"
  echo "pgo_train_output=$(cat "$build.pgo-train-2.out")"
  echo "profile_gcda_files=$gcda_count"
  echo "profile_sha256=$profile"
} >"$stage/build-info.txt"
# Two renames: readers of $out (cargo builds linking it) see the old entry
# or the new one, never a half-written one.
rm -rf "$out.old"
if [ -e "$out" ]; then mv "$out" "$out.old"; fi
mv "$stage" "$out"
rm -rf "$out.old"
note "done in $((finished - started)) s: $out"

# --rebuild: the reproducibility proof. The first build and this one must
# have produced the same archive, member for member, byte for byte.
if [ $rebuild = 1 ]; then
  first="$cache_root/$sha256/lib/lib$libname.a"
  second="$out/lib/lib$libname.a"
  [ -f "$first" ] || die "no first build to compare with ($first); run build.sh $series first"
  if cmp -s "$first" "$second"; then
    note "reproducible: $first and $second are identical ($(sha256sum "$second" | cut -d' ' -f1))"
  else
    cmpdir="$out/compare"
    mkdir -p "$cmpdir/a" "$cmpdir/b"
    (cd "$cmpdir/a" && ar x "$first") && (cd "$cmpdir/b" && ar x "$second")
    diff -rq "$cmpdir/a" "$cmpdir/b" >&2 || true
    die "NOT reproducible: $first and $second differ (members above; extracted under $cmpdir)"
  fi
fi
echo "$out"
