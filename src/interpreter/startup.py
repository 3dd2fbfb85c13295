"""Python half of pyembed's interpreter set-up.

Compiled and run after the main initialisation phase, only when one of
these hooks is configured; see setup.rs. (The source excepthook the
packed-resources importer needs lives in setup.rs, in Rust, so a default
start-up compiles no Python.)
"""

import sys


class _StartMethodLoader:
    """Wraps the loader of ``multiprocessing`` to choose its start method."""

    def __init__(self, loader, method):
        self._loader = loader
        self._method = method

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        set_default_start_method(module, self._method)


def set_default_start_method(multiprocessing, method):
    """Make ``method`` the default start method without locking it in.

    ``multiprocessing.set_start_method()`` would fix the context, so an
    application calling it later without ``force=True`` would fail; replacing
    the default context's fallback keeps the application's own call working.
    """
    default = getattr(multiprocessing.context, "_default_context", None)
    if default is not None and hasattr(default, "_default_context"):
        default._default_context = default.get_context(method)
    else:
        multiprocessing.set_start_method(method, force=False)


class StartMethodFinder:
    """A one-shot meta path finder that hooks the import of ``multiprocessing``."""

    def __init__(self, method):
        self._method = method

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "multiprocessing":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _StartMethodLoader(spec.loader, self._method)
                return spec
        return None

    def invalidate_caches(self):
        pass


def install_start_method_hook(method):
    module = sys.modules.get("multiprocessing")
    if module is not None:
        set_default_start_method(module, method)
    else:
        sys.meta_path.insert(0, StartMethodFinder(method))


def write_modules_at_exit(directory):
    """Record every loaded module in a new file of ``directory`` at exit."""
    import atexit
    import os

    def write():
        names = sorted(sys.modules)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "modules-%d-%d" % (os.getpid(), id(names)))
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(name + "\n" for name in names))

    atexit.register(write)
