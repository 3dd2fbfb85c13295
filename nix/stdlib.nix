# CPython's standard library packed into one verified container, as its own
# derivation: every app built by nix/app.nix reuses the same store path
# (`pyembed build --stdlib-container`), so it is built and cached once.
{
  lib,
  runCommand,
  pyembed,
  python,
  # "none", "auto" (python-stdlib/policy.toml's tiers) or "all".
  compress ? "auto",
  # Anything else changes only the derivation, never the bytes: the
  # reproducibility check builds the blob twice under different variants.
  variant ? null,
}:

runCommand "python${python.version}-stdlib-${compress}.pyembed"
  (
    {
      nativeBuildInputs = [ pyembed ];
      stdlib = "${python}/lib/${python.libPrefix}";
      passthru = { inherit python compress; };
    }
    // lib.optionalAttrs (variant != null) {
      # Different environment, hash seed and working directory per variant.
      env.PYTHONHASHSEED = toString variant.hashSeed;
      pyembedVariant = variant.name;
    }
  )
  ''
    mkdir -p work/''${pyembedVariant:-default} && cd work/''${pyembedVariant:-default}
    pyembed pack --stdlib "$stdlib" --compress ${compress} -o $out
    pyembed verify $out
  ''
