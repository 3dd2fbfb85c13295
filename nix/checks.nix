# `nix flake check`: the crate's tests and lints, the interpreter's promises,
# and bit-for-bit reproducibility of what pyembed writes.
{
  pkgs,
  python,
  python313,
  pyembed,
  pyo3Config,
  mkStdlib,
  mkBuildHermeticApp,
}:

let
  inherit (pkgs) runCommand;

  # Two derivations of the same thing that differ in everything that must not
  # matter (derivation hash, hash seed, working directory), so Nix builds
  # both instead of reusing one.
  variants = {
    a = {
      name = "a";
      hashSeed = 0;
    };
    b = {
      name = "b";
      hashSeed = 4242;
    };
  };
  stdlibOf = variant: mkStdlib { inherit variant; };
  helloOf =
    variant:
    (mkBuildHermeticApp (stdlibOf variant)) {
      name = "nix-hello";
      src = ../examples/nix-hello/src;
      entry = "hello:main";
      inherit variant;
    };

  # Lints run with the build machine's toolchain: they type-check, they never
  # link, so pyo3 only needs the config file.
  lintWith =
    name: command:
    pkgs.rustPlatform.buildRustPackage {
      pname = "pyembed-${name}";
      inherit (pyembed) version src cargoDeps;
      nativeBuildInputs = [ pkgs.clippy ];
      env.PYO3_CONFIG_FILE = "${pyo3Config}";
      buildPhase = command;
      installPhase = "touch $out";
      doCheck = false;
    };
in
{
  # Unit tests. The integration tests under tests/ use Debian's
  # /usr/lib/python3.11 and /usr/bin/python3.11 and run in .ci/run instead.
  tests = pyembed.overrideAttrs {
    pname = "pyembed-tests";
    doCheck = true;
    cargoTestFlags = [ "--lib" ];
  };

  clippy = lintWith "clippy" ''
    cargo clippy --offline --workspace --all-targets --features serialization,cli -- -D warnings
  '';

  fmt = runCommand "pyembed-fmt" { nativeBuildInputs = [ pkgs.rustfmt ]; } ''
    cd ${pyembed.src}
    find . -name '*.rs' -print0 | sort -z | xargs -0 rustfmt --edition 2024 --check
    touch $out
  '';

  builtin-modules = python.tests.builtinModules;
  # The other pinned series builds static from the same pins.toml, with
  # every promised module built in.
  builtin-modules-313 = python313.tests.builtinModules;

  pyo3-config = pyo3Config;

  # The example app runs, hermetically: no Python on PATH, no PYTHONHOME.
  example = runCommand "nix-hello-runs" { app = helloOf variants.a; } ''
    output=$(env -i "$app/bin/nix-hello" world)
    echo "$output"
    test "$output" = "hello, world"
    touch $out
  '';

  # Bit-for-bit: the stdlib container and the example app, each built twice.
  reproducible =
    runCommand "pyembed-reproducible"
      {
        stdlibA = stdlibOf variants.a;
        stdlibB = stdlibOf variants.b;
        appA = helloOf variants.a;
        appB = helloOf variants.b;
        nativeBuildInputs = [ pyembed ];
      }
      ''
        status=0
        if ! cmp "$stdlibA" "$stdlibB"; then
          pyembed diff "$stdlibA" "$stdlibB" || true
          status=1
        fi
        cmp "$appA/bin/nix-hello" "$appB/bin/nix-hello" || status=1
        sha256sum "$stdlibA" "$stdlibB" "$appA/bin/nix-hello" "$appB/bin/nix-hello"
        test $status -eq 0
        touch $out
      '';
}
