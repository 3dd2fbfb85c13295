# Everything pyembed builds for one system, wired together. flake.nix calls
# this once per system; each part lives in its own file.
{ pkgs }:

let
  static = pkgs.pkgsStatic;
  python = static.callPackage ./python.nix { };
  # The other pinned series, from the same pins.toml (see nix/python.nix).
  python313 = static.callPackage ./python.nix { version = "3.13"; };
  pyo3Config = static.callPackage ./pyo3-config.nix { inherit python; };
  pyembed = static.callPackage ./package.nix { inherit python pyo3Config; };
  mkStdlib = args: static.callPackage ./stdlib.nix ({ inherit pyembed python; } // args);
  stdlib = mkStdlib { };
  mkBuildHermeticApp =
    stdlib:
    static.callPackage ./app.nix {
      inherit
        pyembed
        python
        stdlib
        ;
    };
  buildHermeticApp = mkBuildHermeticApp stdlib;
in
{
  inherit
    python
    python313
    pyo3Config
    pyembed
    stdlib
    buildHermeticApp
    ;
  checks = import ./checks.nix {
    inherit
      pkgs
      python
      python313
      pyembed
      pyo3Config
      mkStdlib
      mkBuildHermeticApp
      ;
  };
  devShell = pkgs.mkShell {
    inputsFrom = [ pyembed ];
    packages = [
      pkgs.clippy
      pkgs.rustfmt
      pkgs.nixfmt
      pkgs.deadnix
    ];
    env = {
      PYO3_CONFIG_FILE = "${pyo3Config}";
      CARGO_BUILD_TARGET = static.stdenv.hostPlatform.rust.rustcTarget;
    };
  };
}
