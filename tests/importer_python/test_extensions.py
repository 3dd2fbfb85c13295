"""Extension modules loaded from memory, checked from Python.

Runs inside the embedded interpreter with packed resources only; ORIGIN is
the finder's origin (the test executable's directory).
"""

import _imp
import importlib
import importlib.util
import os
import pkgutil
import sys
import threading
import unittest

SUFFIX = _imp.extension_suffixes()[0]


def finder():
    return next(f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder")


def memory_files():
    """Descriptor number -> memfd name, for this process's pyembed memfds."""
    found = {}
    for entry in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{entry}")
        except OSError:
            continue
        if target.startswith("/memfd:pyembed:"):
            found[int(entry)] = target
    return found


class ExtensionSpecs(unittest.TestCase):
    def test_spec_has_the_virtual_origin(self):
        spec = finder().find_spec("_json")
        self.assertIs(spec.loader, finder())
        self.assertEqual(spec.origin, os.path.join(ORIGIN, "_json" + SUFFIX))
        self.assertTrue(spec.has_location)
        self.assertIsNone(spec.cached)
        self.assertIsNone(spec.submodule_search_locations)
        self.assertEqual(spec.parent, "")

    def test_importlib_util_agrees(self):
        self.assertEqual(
            importlib.util.find_spec("_json").origin, finder().find_spec("_json").origin
        )

    def test_loader_protocol(self):
        f = finder()
        self.assertIsNone(f.get_code("_bz2"))
        self.assertIsNone(f.get_source("_bz2"))
        self.assertFalse(f.is_package("_bz2"))
        self.assertEqual(f.get_filename("_bz2"), os.path.join(ORIGIN, "_bz2" + SUFFIX))

    def test_iter_modules_lists_extension_modules(self):
        names = {module.name for module in pkgutil.iter_modules()}
        self.assertIn("_json", names)
        self.assertIn("_ctypes", names)

    def test_builtin_modules_stay_built_in(self):
        for name in ("select", "_socket", "math"):
            if name in sys.builtin_module_names:
                self.assertEqual(importlib.util.find_spec(name).origin, "built-in")


class ExtensionModules(unittest.TestCase):
    def test_module_attributes(self):
        import _json

        path = os.path.join(ORIGIN, "_json" + SUFFIX)
        self.assertEqual(_json.__file__, path)
        self.assertEqual(_json.__spec__.origin, path)
        self.assertIs(_json.__loader__, finder())
        self.assertEqual(_json.__package__, "")
        self.assertEqual(_json.__name__, "_json")

    def test_reload_keeps_the_module_and_its_path(self):
        import _lsprof

        reloaded = importlib.reload(_lsprof)
        self.assertIs(reloaded, _lsprof)
        self.assertEqual(_lsprof.__file__, os.path.join(ORIGIN, "_lsprof" + SUFFIX))

    def test_reimport_reuses_the_memory_file(self):
        import _queue

        before = memory_files()
        del sys.modules["_queue"]
        again = importlib.import_module("_queue")
        self.assertEqual(memory_files(), before, "no new memory file for a re-import")
        self.assertEqual(again.__file__, os.path.join(ORIGIN, "_queue" + SUFFIX))
        self.assertTrue(again.SimpleQueue)

    def test_memory_files_are_close_on_exec(self):
        import _bisect  # noqa: F401  (built in or packed; _json is packed)
        import _json  # noqa: F401

        files = memory_files()
        self.assertTrue(
            any(name.startswith("/memfd:pyembed:_json" + SUFFIX) for name in files.values()),
            files,
        )
        for fd in files:
            self.assertFalse(os.get_inheritable(fd), files[fd])

    def test_threads_import_different_extension_modules_at_once(self):
        names = ["_codecs_kr", "_codecs_tw", "_codecs_hk", "_codecs_cn", "audioop", "_zoneinfo"]
        names = [n for n in names if n not in sys.modules and finder().find_spec(n)]
        errors = []
        barrier = threading.Barrier(len(names))

        def load(name):
            try:
                barrier.wait()
                importlib.import_module(name)
            except BaseException as error:  # noqa: BLE001
                errors.append((name, error))

        threads = [threading.Thread(target=load, args=(n,)) for n in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        for name in names:
            self.assertEqual(sys.modules[name].__file__, os.path.join(ORIGIN, name + SUFFIX))
