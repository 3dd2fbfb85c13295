# CPython 3.11 (or 3.13), built static (musl) from the pinned nixpkgs, from
# the same upstream source tarball the rest of the project pins.
#
# Called with `pkgsStatic.callPackage`, so `python311`/`python313` here are
# nixpkgs' static interpreters; everything below only overrides what pyembed
# needs different. docs/nix.md explains each choice.
{
  lib,
  stdenv,
  fetchurl,
  runCommand,
  python311,
  python313,
  pkgsBuildHost,
  # A version pinned in python-stdlib/cpython/pins.toml.
  version ? "3.11",
}:

let
  # The pin is python-stdlib/cpython/pins.toml's own table: the non-Nix path
  # (build.sh) verifies the same tarball by the same SHA-256, so both paths
  # build the same sources. 3.11.2's is upstream's gzipped tarball,
  # byte-identical to Debian's python3.11_3.11.2.orig.tar.gz; 3.13.5's is
  # upstream's .tar.xz, Debian trixie's python3.13_3.13.5.orig.tar.xz.
  pins = (builtins.fromTOML (builtins.readFile ../python-stdlib/cpython/pins.toml)).cpython;
  pin =
    pins.${version} or (throw "nix/python.nix: no CPython ${version} in pins.toml (pinned: ${toString (builtins.attrNames pins)})");

  src = fetchurl { inherit (pin) url sha256; };

  # nixpkgs' interpreter of that series, for the host and the build machine.
  nixpkgsPython = {
    "3.11" = python311;
    "3.13" = python313;
  };
  nixpkgsBuildPython = {
    "3.11" = pkgsBuildHost.python311;
    "3.13" = pkgsBuildHost.python313;
  };

  parts = lib.splitString "." pin.version;
  sourceVersion = {
    major = builtins.elemAt parts 0;
    minor = builtins.elemAt parts 1;
    patch = builtins.elemAt parts 2;
    suffix = "";
  };

  # nixpkgs' own `src` is the .tar.xz of the release (replaced below by the
  # pinned tarball; still used by `passthru.doc`). Its published SHA-256:
  # 3.11.2's is
  # 29e4b8f5f1658542a8c13e2dd277358c9c48f2b2f7318652ef1675e402b9d2af.
  # 3.13.5's is the pin itself,
  # 93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640.
  xzHash = {
    "3.11" = "sha256-KeS49fFlhUKowT4t0nc1jJxI8rL3MYZS7xZ15AK50q8=";
    "3.13" = "sha256-k+WD8kNFTm6eRYjKLCZiIGrZYWWYYyd6/NuWgBZH1kA=";
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
    "_sha3"
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
  ]
  # 3.12 merged `_sha256` and `_sha512` into `_sha2` (HACL*).
  ++ (if version == "3.11" then [ "_sha256" "_sha512" ] else [ "_sha2" ]);

  # The arguments that make the interpreter small, static and reproducible.
  overrides = {
    inherit sourceVersion;
    hash = xzHash.${version};
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
    # `config-3.X-*/libpython3.X.a` is what pyo3 links: keep it.
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
  # overrides, so the frozen bytecode inside libpython is the pin's too.
  buildPython = pinned nixpkgsBuildPython.${version} { self = buildPython; };

  python = pinned nixpkgsPython.${version} {
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
        ${python}/bin/python${version} -I -S - ${pin.version} $modules <<'EOF'
        import sys
        expected, promised = sys.argv[1], set(sys.argv[2:])
        missing = sorted(promised - set(sys.builtin_module_names))
        if missing:
            sys.exit("built-in modules missing from the static CPython: " + ", ".join(missing))
        if "%d.%d.%d" % sys.version_info[:3] != expected:
            sys.exit("expected CPython " + expected + ", got " + sys.version)
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
