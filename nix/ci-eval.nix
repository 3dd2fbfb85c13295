# Offline evaluation harness for .ci/nix-check, for Nix versions without a
# usable `nix flake check` (Debian bookworm's 2.8). NOT `nix flake check`:
# it calls the flake's `outputs` function itself, with a nixpkgs input made
# from a local checkout through pkgs/top-level/impure.nix, then instantiates
# every output and asserts the attributes that make the build static and
# reproducible. Nothing is built.
#
#   nix-instantiate --eval --strict --json nix/ci-eval.nix --arg nixpkgsTree /path/to/nixpkgs
{
  nixpkgsTree,
  system ? "x86_64-linux",
}:

let
  tree = /. + nixpkgsTree;
  # Nix < 2.14 lacks builtins.readFileType, which lib.fileset uses: every file
  # (this flake's included) is imported with it polyfilled from readDir.
  polyfills = if builtins ? readFileType then { } else {
    readFileType = p: (builtins.readDir (dirOf p)).${baseNameOf p};
  };
  scope = {
    builtins = builtins // polyfills;
    import = scopedImport scope;
    scopedImport = attrs: scopedImport (scope // attrs);
  };
  import' = if polyfills == { } then import else scopedImport scope;
  lib = import' (tree + "/lib");
  nixpkgs = {
    outPath = tree;
    inherit lib;
    legacyPackages.${system} = import' (tree + "/pkgs/top-level/impure.nix") { inherit system; };
  };

  # A flake's outputs, called the way Nix calls them.
  callFlake =
    dir: inputs:
    let
      outputs = (import' (dir + "/flake.nix")).outputs (inputs // { self = outputs // { outPath = dir; }; });
    in
    outputs;

  root = callFlake ../. { inherit nixpkgs; };
  example = callFlake ../examples/nix-hello {
    inherit nixpkgs;
    pyembed = root;
  };

  python = root.packages.${system}.python;
  python313 = root.packages.${system}.python313;
  pyembed = root.packages.${system}.pyembed;
  checks = root.checks.${system};

  failures = lib.filter (c: !c.ok) [
    {
      what = "python: configured with MODULE_BUILDTYPE=static";
      ok = lib.elem "MODULE_BUILDTYPE=static" python.configureFlags;
    }
    {
      what = "python: configured with --disable-shared";
      ok = lib.elem "--disable-shared" python.configureFlags;
    }
    {
      what = "python: configured without --with-lto";
      ok = !lib.elem "--with-lto" python.configureFlags;
    }
    {
      what = "python: PYTHONHASHSEED=0 in its build environment";
      ok = toString (python.env.PYTHONHASHSEED or python.PYTHONHASHSEED or "") == "0";
    }
    {
      what = "python: version is the pin (3.11.2)";
      ok = python.version == "3.11.2" && python.pin.version == "3.11.2";
    }
    {
      what = "python: source is the pinned .tgz";
      ok = lib.hasSuffix "Python-3.11.2.tgz" (lib.head python.src.urls);
    }
    {
      what = "python: host platform is static";
      ok = python.stdenv.hostPlatform.isStatic;
    }
    {
      what = "python313: version is the pin (3.13.5), from the pinned .tar.xz, static";
      ok =
        python313.version == "3.13.5"
        && python313.pin.sha256 == "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
        && lib.hasSuffix "Python-3.13.5.tar.xz" (lib.head python313.src.urls)
        && lib.elem "MODULE_BUILDTYPE=static" python313.configureFlags
        && lib.elem "--disable-shared" python313.configureFlags
        && python313.stdenv.hostPlatform.isStatic;
    }
    {
      what = "python: tests, idlelib and tkinter stripped";
      ok = lib.all (s: lib.hasInfix s python.postInstall) [
        "Strip tests"
        "Strip IDLE"
        "tkinter"
      ];
    }
    {
      what = "python: links neither readline nor gdbm (GPL)";
      ok = !lib.any (p: lib.hasInfix "readline" p.name || lib.hasInfix "gdbm" p.name) (
        lib.filter (p: p != null) python.buildInputs
      );
    }
    {
      what = "pyembed, checks.tests, checks.clippy: PYO3_CONFIG_FILE set to the generated config";
      ok = lib.all (d: (d.env.PYO3_CONFIG_FILE or d.PYO3_CONFIG_FILE or "") == "${pyembed.pyo3Config}") [
        pyembed
        checks.tests
        checks.clippy
      ];
    }
    {
      what = "pyembed: meta.mainProgram is pyembed";
      ok = pyembed.meta.mainProgram == "pyembed";
    }
    {
      what = "pyembed: source keeps python-stdlib/ and the test data";
      ok =
        let
          files = map toString (lib.fileset.toList (lib.fileset.fromSource pyembed.src));
        in
        lib.any (lib.hasSuffix "python-stdlib/policy.toml") files
        && lib.any (lib.hasInfix "/tests/") files;
    }
  ];

  drv = d: d.drvPath;
  haskellOr =
    value:
    if builtins.pathExists (tree + "/pkgs/development/haskell-modules/hackage-packages.nix") then
      value
    else
      "SKIPPED: this nixpkgs tree has no pkgs/development/haskell-modules/hackage-packages.nix (nixfmt)";
in
if failures != [ ] then
  throw "nix/ci-eval.nix: ${lib.concatMapStringsSep "; " (f: f.what) failures}"
else
  {
    harness = "nix-instantiate ${builtins.nixVersion} via pkgs/top-level/impure.nix (not nix flake check)";
    inherit system;
    nixpkgsVersion = lib.version;
    python = python.version;
    python313 = python313.version;
    # nixpkgs' patch series for this interpreter, in order, as paths inside
    # the checkout: .ci/nix-check applies them to the pinned tarball.
    cpythonPatches = map toString python.patches;
    packages = lib.mapAttrs (_: drv) root.packages.${system};
    apps = lib.mapAttrs (_: a: a.program) root.apps.${system};
    checks = lib.mapAttrs (_: drv) checks;
    # Both need nixfmt, a Haskell package: a trimmed checkout without
    # hackage-packages.nix cannot evaluate them, and says so.
    devShell = haskellOr (drv root.devShells.${system}.default);
    formatter = haskellOr (drv root.formatter.${system});
    lib.buildHermeticApp = drv (
      root.lib.buildHermeticApp {
        inherit system;
        name = "probe";
        src = ../examples/nix-hello/src;
        entry = "hello:main";
        compress = "none";
        allocator = "system";
      }
    );
    example = {
      packages = lib.mapAttrs (_: drv) example.packages.${system};
      apps = lib.mapAttrs (_: a: a.program) example.apps.${system};
    };
  }
