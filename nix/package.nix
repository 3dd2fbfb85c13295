# The pyembed crate and its CLI (`pyembed`, with `pyembed-launcher` next to
# it), built against the static CPython of nix/python.nix. Called with
# `pkgsStatic.callPackage`: the binaries are static musl executables.
{
  lib,
  rustPlatform,
  python,
  pyo3Config,
}:

let
  root = ../.;
  manifest = lib.importTOML ../Cargo.toml;
  # What cargo reads, plus the test data the crate's tests open. `.cargo/` is
  # left out on purpose: it only points PYO3_CONFIG_FILE at Debian's
  # libpython, and cargoSetupHook writes its own `.cargo/config.toml`.
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../build.rs
      ../README.md
      ../src
      ../tests
      ../benches
      ../python-stdlib
      (lib.fileset.maybeMissing ../fuzz)
      # Workspace members and examples cargo discovers.
      (lib.fileset.fileFilter (f: f.hasExt "rs" || f.name == "Cargo.toml") ../examples)
    ];
  };
in
rustPlatform.buildRustPackage {
  pname = manifest.package.name;
  inherit (manifest.package) version;
  inherit src;

  cargoLock.lockFile = ../Cargo.lock;

  buildFeatures = [ "cli" ];
  cargoBuildFlags = [
    "--package"
    "pyembed"
  ];

  # pyo3 reads this instead of probing $PATH (an explicit variable wins over
  # .cargo/config.toml, which is not in `src` anyway).
  env.PYO3_CONFIG_FILE = "${pyo3Config}";

  # The integration tests open Debian's /usr/lib/python3.11 and run
  # /usr/bin/python3.11 (see tests/support); checks.tests runs the unit tests.
  doCheck = false;

  passthru = { inherit python pyo3Config; };

  meta = {
    description = manifest.package.description;
    license = with lib.licenses; [
      mit
      asl20
    ];
    mainProgram = "pyembed";
    platforms = lib.platforms.linux;
  };
}
