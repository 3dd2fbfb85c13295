# Copies of the standard library that `pyembed pack` and `compileall` can be
# timed on fairly: deletes from the stdlib copy argv[2] everything the policy
# argv[1] (python-stdlib/policy.toml) excludes, and directories no import can
# reach, so both tools compile the same files. Used by
# benches/pack_vs_compileall.sh and by examples/perf-report (include_str!).
import pathlib, shutil, sys, tomllib

policy = tomllib.loads(pathlib.Path(sys.argv[1]).read_text())
root = pathlib.Path(sys.argv[2])
dynload = root / "lib-dynload"

def remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()

for rule in policy.get("exclude", []):
    for module in rule.get("modules", []):
        parts = module.split(".")
        base = root.joinpath(*parts)
        remove(base)
        remove(base.with_name(parts[-1] + ".py"))
        places = [base.parent] + ([dynload] if len(parts) == 1 else [])
        for place in places:
            if place.is_dir():
                for ext in place.glob(parts[-1] + ".*.so"):
                    remove(ext)
    for component in rule.get("components", []):
        for path in sorted(root.rglob(component), reverse=True):
            remove(path)
        for path in sorted(root.rglob(component + ".py"), reverse=True):
            remove(path)

# Directories whose names are not identifiers hold nothing importable; pack
# skips them and compileall must not compile them either.
for path in sorted(root.iterdir()):
    if path.is_dir() and not path.name.isidentifier() and path.name != "lib-dynload":
        remove(path)
