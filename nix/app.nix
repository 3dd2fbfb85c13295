# `buildHermeticApp`: a Python application, its Python dependencies and the
# packed stdlib in one static executable, with no Python needed at run time.
#
#   pyembed.lib.buildHermeticApp.${system} {
#     name = "hello";
#     src = ./.;                        # a directory on the import path
#     entry = "hello:main";             # module or module:function
#     pythonPackages = ps: [ ps.six ];  # pure-Python packages from nixpkgs
#   }
{
  lib,
  runCommand,
  removeReferencesTo,
  pyembed,
  python,
  stdlib,
}:

{
  name,
  src,
  entry,
  pythonPackages ? (_: [ ]),
  # "none", "auto" or "all": which of the app's resources are zstd-compressed.
  compress ? "auto",
  # "default", "system", "jemalloc", "mimalloc", "snmalloc" or "rust".
  allocator ? "default",
  # Extra directories on the import path, after `src`.
  paths ? [ ],
  # As in nix/stdlib.nix: set only by the reproducibility check.
  variant ? null,
}:

let
  # Each package's own site-packages, with everything it propagates. Static
  # musl CPython cannot dlopen, so C extensions from these are not loadable;
  # pure-Python packages work.
  packages = python.pkgs.requiredPythonModules (pythonPackages python.pkgs);
  sitePackages = map (p: "${p}/${python.sitePackages}") packages;
  flag = name: values: lib.concatMap (v: [ "--${name}" v ]) values;
  args =
    flag "entry" [ entry ]
    ++ flag "path" ([ "${src}" ] ++ map toString paths)
    ++ flag "site-packages" sitePackages
    ++ flag "stdlib-container" [ "${stdlib}" ]
    ++ flag "compress" [ compress ]
    ++ flag "allocator" [ allocator ];
in
assert lib.assertMsg (builtins.elem compress [
  "none"
  "auto"
  "all"
]) "buildHermeticApp: compress must be none, auto or all, not ${compress}";
runCommand name
  (
    {
      nativeBuildInputs = [
        pyembed
        removeReferencesTo
      ];
      buildArgs = args;
      __structuredAttrs = true;
      # Hermetic means the closure too: the app must not drag the interpreter
      # (stdlib on disk) into every `nix copy`. The launcher links
      # libpython3.11.a, which records its install prefix, so a copy of it
      # without that string is what the payload is appended to.
      disallowedReferences = [ python ];
      passthru = { inherit entry packages stdlib; };
      meta.mainProgram = name;
    }
    // lib.optionalAttrs (variant != null) {
      env.PYTHONHASHSEED = toString variant.hashSeed;
      pyembedVariant = variant.name;
    }
  )
  ''
    mkdir -p $out/bin work/''${pyembedVariant:-default}
    cd work/''${pyembedVariant:-default}
    cp ${pyembed}/bin/pyembed-launcher launcher
    chmod u+w launcher
    remove-references-to -t ${python} launcher
    pyembed build "''${buildArgs[@]}" --launcher ./launcher --jobs "$NIX_BUILD_CORES" -o $out/bin/${name}
  ''
