# CPython 3.11, built static (musl) from the pinned nixpkgs, from the same
# upstream source tarball the rest of the project pins.
#
# Called with `pkgsStatic.callPackage`, so `python311` here is nixpkgs' static
# interpreter; everything below only overrides what pyembed needs different.
# docs/nix.md explains each choice.
{
  lib,
  stdenv,
  fetchurl,
  runCommand,
  python311,
  pkgsBuildHost,
}:

let
  # Upstream's gzipped tarball, byte-identical to Debian's
  # python3.11_3.11.2.orig.tar.gz (same size and SHA-256), which is what the
  # non-Nix path links. python-stdlib/cpython/pins.toml pins the same digest
  # (.ci/nix-check compares them).
  pin = {
    version = "3.11.2";
    url = "https://www.python.org/ftp/python/3.11.2/Python-3.11.2.tgz";
    sha256 = "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849";
  };

  src = fetchurl { inherit (pin) url sha256; };

  sourceVersion = {
    major = "3";
    minor = "11";
    patch = "2";
    suffix = "";
  };

  # Extension modules a pyembed binary promises to carry built in. A static
  # build that silently drops one (NixOS/nixpkgs#138448) fails the passthru
  # test below instead of shipping.
  promisedBuiltinModules = [
    "_asyncio"
    "_bisect"
    "_blake2"
    "_bz2"
    "_contextvars"
    "_csv"
    "_ctypes"
    "_datetime"
    "_decimal"
    "_elementtree"
    "_hashlib"
    "_heapq"
    "_json"
    "_lzma"
    "_md5"
    "_multiprocessing"
    "_opcode"
    "_pickle"
    "_posixshmem"
    "_posixsubprocess"
    "_queue"
    "_random"
    "_sha1"
    "_sha256"
    "_sha3"
    "_sha512"
    "_socket"
    "_sqlite3"
    "_ssl"
    "_statistics"
    "_struct"
    "_uuid"
    "_zoneinfo"
    "array"
    "binascii"
    "cmath"
    "fcntl"
    "math"
    "mmap"
    "pyexpat"
    "select"
    "termios"
    "unicodedata"
    "zlib"
  ];

  # The arguments that make the interpreter small, static and reproducible.
  overrides = {
    inherit sourceVersion;
    # nixpkgs' own `src` is the .tar.xz of the same release (replaced below
    # by the .tgz; still used by `passthru.doc`). Its published SHA-256 is
    # 29e4b8f5f1658542a8c13e2dd277358c9c48f2b2f7318652ef1675e402b9d2af.
    hash = "sha256-KeS49fFlhUKowT4t0nc1jJxI8rL3MYZS7xZ15AK50q8=";
    # Reproducible: no PGO, no bytecode compiled at build time (pyembed
    # compiles its own, deterministically), nixpkgs asserts the rest.
    reproducibleBuild = true;
    rebuildBytecode = false;
    stripBytecode = true;
    enableOptimizations = false;
    # LTO has broken static musl builds before, and gains little here.
    enableLTO = false;
    # Nothing a hermetic binary packs.
    stripTests = true;
    stripIdlelib = true;
    stripTkinter = true;
    # `config-3.11-*/libpython3.11.a` is what pyo3 links: keep it.
    stripConfig = false;
    # nixpkgs' sitecustomize reads NIX_PYTHONPATH at run time; a hermetic
    # binary must not.
    includeSiteCustomize = false;
    # Store paths baked in at run time stay out (mailcap for mimetypes,
    # tzdata for zoneinfo's TZPATH), as does Bluetooth.
    mimetypesSupport = false;
    tzdata = null;
    bluezSupport = false;
  };

  # GPL libraries stay out of every binary linked against this static
  # interpreter. nixpkgs spells that `withReadline = false` since 2025
  # (NixOS/nixpkgs#405822) and `readline = null` before; use whichever the
  # pinned revision's cpython function accepts, never neither.
  without =
    base: flag: dep:
    let
      accepts = lib.functionArgs base.override;
    in
    if accepts ? ${flag} then
      { ${flag} = false; }
    else if accepts ? ${dep} then
      { ${dep} = null; }
    else
      throw "nix/python.nix: nixpkgs' cpython takes neither ${flag} nor ${dep}";

  pinned =
    base: extra:
    (base.override (
      overrides // without base "withReadline" "readline" // without base "withGdbm" "gdbm" // extra
    )).overrideAttrs
      (_: {
        inherit src;
      });

  # pkgsStatic is a cross build (glibc build machine, musl host): the
  # interpreter that runs at build time (freezing modules, deepfreeze) is
  # another derivation. It comes from the same tarball with the same
  # overrides, so the frozen bytecode inside libpython is 3.11.2's too.
  buildPython = pinned pkgsBuildHost.python311 { self = buildPython; };

  python = pinned python311 {
    self = python;
    __splices = {
      pythonOnBuildForHost = buildPython;
    };
  };

  builtinModules =
    runCommand "python-${pin.version}-builtin-modules"
      {
        modules = lib.concatStringsSep " " promisedBuiltinModules;
      }
      ''
        ${python}/bin/python3.11 -I -S - $modules <<'EOF'
        import sys
        promised = set(sys.argv[1:])
        missing = sorted(promised - set(sys.builtin_module_names))
        if missing:
            sys.exit("built-in modules missing from the static CPython: " + ", ".join(missing))
        if sys.version_info[:3] != (3, 11, 2):
            sys.exit("expected CPython 3.11.2, got " + sys.version)
        print(len(promised), "promised modules are built in")
        EOF
        touch $out
      '';
in
assert lib.assertMsg stdenv.hostPlatform.isStatic "nix/python.nix must be called from pkgsStatic";
assert lib.assertMsg (python.version == pin.version)
  "the static CPython is ${python.version}, the pin is ${pin.version}";
python.overrideAttrs (old: {
  passthru = old.passthru // {
    inherit pin promisedBuiltinModules;
    tests = (old.passthru.tests or { }) // {
      inherit builtinModules;
    };
  };
})
