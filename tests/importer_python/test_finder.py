"""Importer semantics, checked from Python inside the embedded interpreter.

Run by tests/importer_unittest.rs in an interpreter whose only importer of
Python code is OxidizedFinder over the standard library and the test
application (tests/importer_support/mod.rs). ``ORIGIN`` is injected by the
runner: the directory virtual paths are rooted at.
"""

import importlib
import importlib.util
import inspect
import linecache
import os
import pkgutil
import sys
import types
import unittest

import oxidized_importer


def finder():
    return next(f for f in sys.meta_path if isinstance(f, oxidized_importer.OxidizedFinder))


class FindSpec(unittest.TestCase):
    def test_packed_module(self):
        spec = finder().find_spec("greet")
        self.assertEqual(spec.name, "greet")
        self.assertIs(spec.loader, finder())
        self.assertEqual(spec.origin, os.path.join(ORIGIN, "greet.py"))
        self.assertTrue(spec.has_location)
        self.assertIsNone(spec.submodule_search_locations)
        self.assertEqual(spec.parent, "")

    def test_package(self):
        spec = finder().find_spec("pkgdemo.inner")
        self.assertEqual(spec.origin, os.path.join(ORIGIN, "pkgdemo", "inner", "__init__.py"))
        self.assertEqual(spec.submodule_search_locations, [os.path.join(ORIGIN, "pkgdemo", "inner")])
        self.assertEqual(spec.parent, "pkgdemo.inner")

    def test_namespace_package(self):
        spec = finder().find_spec("nsdemo")
        self.assertIsNone(spec.origin)
        self.assertFalse(spec.has_location)
        self.assertEqual(spec.submodule_search_locations, [os.path.join(ORIGIN, "nsdemo")])

    def test_unknown_name(self):
        self.assertIsNone(finder().find_spec("no_such_module_anywhere"))
        self.assertIsNone(finder().find_spec("greet.no_such_submodule"))

    def test_path_and_target_are_accepted(self):
        spec = finder().find_spec("pkgdemo.sub", [os.path.join(ORIGIN, "pkgdemo")], None)
        self.assertEqual(spec.name, "pkgdemo.sub")

    def test_builtin_and_frozen_names_are_delegated(self):
        self.assertEqual(finder().find_spec("os").origin, "frozen")
        # Not packed at all: left to the importers after this one.
        self.assertIsNone(finder().find_spec("sys"))

    def test_importlib_util_find_spec_agrees(self):
        self.assertIs(importlib.util.find_spec("json.decoder").loader, finder())


class Loading(unittest.TestCase):
    def test_module_attributes(self):
        import greet

        self.assertEqual(greet.__name__, "greet")
        self.assertEqual(greet.__package__, "")
        self.assertIs(greet.__loader__, finder())
        self.assertEqual(greet.__file__, os.path.join(ORIGIN, "greet.py"))
        self.assertTrue(greet.__cached__.endswith(".pyc"))

    def test_module_from_spec_and_exec(self):
        spec = finder().find_spec("pkgdemo.sub")
        module = importlib.util.module_from_spec(spec)
        self.assertIsInstance(module, types.ModuleType)
        import pkgdemo  # the parent, for the relative import

        spec.loader.exec_module(module)
        self.assertEqual(module.DOUBLE, 42)
        self.assertIsNot(module, sys.modules.get("pkgdemo.sub"))

    def test_code_objects_carry_the_virtual_path_throughout(self):
        code = finder().get_code("greet")
        nested = [c for c in code.co_consts if isinstance(c, types.CodeType)]
        self.assertTrue(nested)
        for c in [code, *nested]:
            self.assertEqual(c.co_filename, os.path.join(ORIGIN, "greet.py"))

    def test_get_code_of_unknown_name(self):
        with self.assertRaises(ImportError) as caught:
            finder().get_code("no_such_module_anywhere")
        self.assertEqual(caught.exception.name, "no_such_module_anywhere")

    def test_is_package(self):
        self.assertTrue(finder().is_package("json"))
        self.assertTrue(finder().is_package("nsdemo"))
        self.assertFalse(finder().is_package("json.decoder"))
        with self.assertRaises(ImportError):
            finder().is_package("no_such_module_anywhere")

    def test_get_filename(self):
        self.assertEqual(finder().get_filename("json"), os.path.join(ORIGIN, "json", "__init__.py"))
        with self.assertRaises(ImportError):
            finder().get_filename("nsdemo")

    def test_reload_runs_the_code_again(self):
        import pkgdemo

        pkgdemo.VALUE = 0
        importlib.reload(pkgdemo)
        self.assertEqual(pkgdemo.VALUE, 21)

    def test_failed_import_leaves_no_module(self):
        with self.assertRaises(RuntimeError):
            import boom  # noqa: F401
        self.assertNotIn("boom", sys.modules)


class Source(unittest.TestCase):
    def test_get_source_decodes_universal_newlines(self):
        source = finder().get_source("greet")
        self.assertIsInstance(source, str)
        self.assertIn("def hello():\n    return GREETING\n", source)

    def test_linecache_reads_through_the_loader(self):
        import greet

        path = greet.__file__
        self.assertFalse(os.path.exists(path))
        line = linecache.getline(path, 10, greet.__dict__)
        self.assertEqual(line, '    raise ValueError("boom from greet")\n')

    def test_inspect(self):
        import pkgdemo.sub

        self.assertEqual(inspect.getsource(pkgdemo.sub), "from . import VALUE\n\nDOUBLE = VALUE * 2\n")
        self.assertEqual(inspect.getfile(pkgdemo.sub), os.path.join(ORIGIN, "pkgdemo", "sub.py"))


class Listing(unittest.TestCase):
    def test_iter_modules(self):
        listed = dict(finder().iter_modules())
        self.assertIs(listed["pkgdemo"], True)
        self.assertIs(listed["greet"], False)
        self.assertNotIn("pkgdemo.sub", listed)
        self.assertEqual(sorted(listed), list(listed))

    def test_pkgutil(self):
        infos = {m.name: m for m in pkgutil.iter_modules()}
        self.assertIs(infos["json"].module_finder, finder())
        self.assertTrue(infos["json"].ispkg)

    def test_properties(self):
        self.assertEqual(finder().origin, ORIGIN)
        self.assertEqual(finder().path_hook_base_str, ORIGIN)
