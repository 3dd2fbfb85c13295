# The PYO3_CONFIG_FILE for the static CPython of nix/python.nix: the Nix
# counterpart of .cargo/pyo3-debian-python3.11.txt. pyo3 reads it instead of
# probing a `python3` on $PATH; every derivation that compiles pyo3 sets it.
#
# The list of C libraries comes from the interpreter itself (the -l flags its
# sysconfig recorded for the built-in modules), the directories to search from
# the Nix inputs it was built with, so adding a module to the interpreter
# cannot leave the link line behind.
{
  lib,
  stdenv,
  runCommand,
  python,
}:

let
  inherit (python) pythonVersion;
  # Where the static libraries live: every input the interpreter linked.
  searchDirs = lib.unique (
    map (p: "${lib.getLib p}/lib") (lib.filter (p: p != null) (python.buildInputs or [ ]))
  );
in
runCommand "pyo3-config-python${pythonVersion}-static.txt"
  {
    searchDirs = lib.concatStringsSep " " searchDirs;
    passthru = { inherit python; };
  }
  ''
    # The host interpreter runs here: pkgsStatic targets the build machine's
    # architecture (musl instead of glibc), so its binary executes as is.
    # Not sysconfig's LIBPL: nixpkgs' nuke-refs rewrote the store paths in it.
    configDir=$(echo ${python}/lib/python${pythonVersion}/config-${pythonVersion}-*)
    libs=$(${python}/bin/python${pythonVersion} -I -S -c '
    import sysconfig
    names = []
    for var in ("LOCALMODLIBS", "BASEMODLIBS", "MODLIBS", "LIBS", "SYSLIBS"):
        for flag in (sysconfig.get_config_var(var) or "").split():
            if flag.startswith("-l") and flag[2:] not in names:
                names.append(flag[2:])
    print(" ".join(names))
    ')
    test -f "$configDir/libpython${pythonVersion}.a" || {
      echo "no libpython${pythonVersion}.a in $configDir" >&2; exit 1; }

    {
      echo "implementation=CPython"
      echo "version=${pythonVersion}"
      echo "shared=false"
      echo "abi3=false"
      echo "lib_name=python${pythonVersion}"
      echo "lib_dir=$configDir"
      echo "executable=${python}/bin/python${pythonVersion}"
      echo "pointer_width=${toString stdenv.hostPlatform.parsed.cpu.bits}"
      echo "build_flags="
      echo "suppress_build_script_link_lines=true"
      echo "extra_build_script_line=cargo:rustc-link-search=native=$configDir"
      for dir in $searchDirs; do
        echo "extra_build_script_line=cargo:rustc-link-search=native=$dir"
      done
      # Every built-in module's init function must survive the link.
      echo "extra_build_script_line=cargo:rustc-link-lib=static:+whole-archive=python${pythonVersion}"
      for name in $libs; do
        case "$name" in
          # Parts of the C library: musl's libc.a provides them.
          c|m|dl|pthread|rt|util) echo "extra_build_script_line=cargo:rustc-link-lib=$name" ;;
          *) echo "extra_build_script_line=cargo:rustc-link-lib=static=$name" ;;
        esac
      done
    } > $out
    cat $out
  ''
