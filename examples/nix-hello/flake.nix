{
  description = "A Python application as one hermetic binary, built by pyembed's buildHermeticApp";

  inputs = {
    # Downstream: "github:<owner>/pyembed" (or any flake reference to it).
    pyembed.url = "path:../..";
    # Share pyembed's pinned nixpkgs, so its static CPython and stdlib
    # container come from the same cache entries.
    nixpkgs.follows = "pyembed/nixpkgs";
  };

  outputs =
    { nixpkgs, pyembed, ... }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      hello =
        system:
        pyembed.lib.buildHermeticApp {
          inherit system;
          name = "nix-hello";
          src = ./src;
          entry = "hello:main";
          # Pure-Python dependencies from nixpkgs, e.g. `ps: [ ps.six ]`.
          pythonPackages = _: [ ];
        };
    in
    {
      packages = nixpkgs.lib.genAttrs systems (system: {
        default = hello system;
      });
      apps = nixpkgs.lib.genAttrs systems (system: {
        default = {
          type = "app";
          program = nixpkgs.lib.getExe (hello system);
          meta.description = "Greets its arguments";
        };
      });
    };
}
