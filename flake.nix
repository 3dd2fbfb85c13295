{
  description = "pyembed: hermetic, reproducible Python binaries on a static CPython 3.11";

  # Pinned in flake.lock; docs/nix.md says where the revision comes from.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs =
    { nixpkgs, ... }:
    let
      inherit (nixpkgs) lib;
      # Static musl CPython: Linux only (nixpkgs marks static Darwin broken).
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      # One scope per system: nix/scope.nix wires every nix/*.nix part.
      scopes = lib.genAttrs systems (
        system: import ./nix/scope.nix { pkgs = nixpkgs.legacyPackages.${system}; }
      );
      forAllSystems = f: lib.genAttrs systems (system: f system scopes.${system});
    in
    {
      packages = forAllSystems (
        _: s: {
          default = s.pyembed;
          inherit (s)
            pyembed
            python
            python313
            stdlib
            ;
        }
      );

      apps = forAllSystems (
        _: s: {
          default = {
            type = "app";
            program = lib.getExe s.pyembed;
            meta.description = "The pyembed CLI: pack, build, inspect, verify, diff";
          };
          python = {
            type = "app";
            program = lib.getExe s.python;
            meta.description = "The static CPython 3.11.2 pyembed links";
          };
        }
      );

      # `pyembed.lib.buildHermeticApp { system = ...; name = ...; src = ...; entry = ...; }`
      lib.buildHermeticApp =
        { system, ... }@args: scopes.${system}.buildHermeticApp (removeAttrs args [ "system" ]);

      checks = forAllSystems (_: s: s.checks);

      devShells = forAllSystems (_: s: { default = s.devShell; });

      formatter = forAllSystems (system: _: nixpkgs.legacyPackages.${system}.nixfmt);
    };
}
