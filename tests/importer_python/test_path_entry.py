"""Path-entry semantics (OxidizedFinder.path_hook), checked from Python.

Run by tests/importer_path_entry.rs in an interpreter whose only importer of
Python code is OxidizedFinder over the standard library and the test
application (tests/importer_support/mod.rs); PathFinder is off the meta
path but usable directly. ``ORIGIN`` is injected by the runner.
"""

import importlib
import importlib.machinery
import os
import pkgutil
import sys
import unittest

import oxidized_importer


def finder():
    return next(f for f in sys.meta_path if isinstance(f, oxidized_importer.OxidizedFinder))


class Hook(unittest.TestCase):
    def test_hook_is_first(self):
        self.assertEqual(sys.path_hooks[0], finder().path_hook)

    def test_entry_attributes(self):
        import pkgdemo

        entry = finder().path_hook(pkgdemo.__path__[0])
        self.assertIsInstance(entry, oxidized_importer.OxidizedPathEntryFinder)
        self.assertEqual(entry.path, os.path.join(ORIGIN, "pkgdemo"))
        self.assertEqual(entry.package, "pkgdemo")
        self.assertIn("pkgdemo", repr(entry))
        top = finder().path_hook(ORIGIN)
        self.assertIsNone(top.package)
        self.assertEqual(finder().path_hook(ORIGIN + "/").package, None)

    def test_refusals_are_import_errors_naming_the_path(self):
        for path in (ORIGIN + "/greet.py", ORIGIN + "/../x", "/nowhere"):
            with self.subTest(path=path):
                with self.assertRaises(ImportError) as caught:
                    finder().path_hook(path)
                self.assertIn(repr(path)[1:-1], str(caught.exception))

    def test_path_finder_uses_the_hook(self):
        import pkgdemo

        sys.path_importer_cache.pop(pkgdemo.__path__[0], None)
        spec = importlib.machinery.PathFinder.find_spec("pkgdemo.sub", pkgdemo.__path__)
        self.assertEqual(spec.name, "pkgdemo.sub")
        self.assertIs(spec.loader, finder())
        self.assertIsInstance(
            sys.path_importer_cache[pkgdemo.__path__[0]],
            oxidized_importer.OxidizedPathEntryFinder,
        )
        self.assertIsNone(importlib.machinery.PathFinder.find_spec("pkgdemo.nope", pkgdemo.__path__))
        # PathFinder.invalidate_caches reaches the entry.
        importlib.machinery.PathFinder.invalidate_caches()

    def test_namespace_package_directory_is_an_entry(self):
        import nsdemo

        entry = finder().path_hook(list(nsdemo.__path__)[0])
        self.assertEqual(entry.iter_modules(), [("part", False)])
        self.assertEqual(entry.find_spec("nsdemo.part").name, "nsdemo.part")


class Pkgutil(unittest.TestCase):
    def test_iter_modules_of_subpackage(self):
        import pkgdemo.inner

        self.assertEqual(list(pkgutil.iter_modules(pkgdemo.inner.__path__)), [])

    def test_top_level_listing_has_no_duplicates(self):
        names = [m.name for m in pkgutil.iter_modules()]
        self.assertEqual(names.count("greet"), 1)
        self.assertIn("json", names)

    def test_walk_packages_of_stdlib_package(self):
        import xml

        names = {m.name for m in pkgutil.walk_packages(xml.__path__, "xml.")}
        self.assertTrue({"xml.dom", "xml.dom.minidom", "xml.etree.ElementTree", "xml.sax"} <= names)

    def test_get_importer_is_cached(self):
        import json

        first = pkgutil.get_importer(json.__path__[0])
        self.assertIs(pkgutil.get_importer(json.__path__[0]), first)


class DunderInit(unittest.TestCase):
    def test_spec_and_loader_methods(self):
        f = finder()
        spec = f.find_spec("pkgdemo.__init__")
        self.assertEqual(spec.name, "pkgdemo.__init__")
        self.assertEqual(spec.origin, os.path.join(ORIGIN, "pkgdemo", "__init__.py"))
        self.assertIsNone(spec.submodule_search_locations)
        self.assertEqual(f.get_source("pkgdemo.__init__"), f.get_source("pkgdemo"))
        self.assertEqual(f.get_filename("pkgdemo.__init__"), spec.origin)
        self.assertFalse(f.is_package("pkgdemo.__init__"))
        self.assertEqual(f.get_code("pkgdemo.__init__").co_filename, spec.origin)

    def test_not_for_modules_or_unknown_names(self):
        self.assertIsNone(finder().find_spec("greet.__init__"))
        self.assertIsNone(finder().find_spec("__init__"))
        self.assertIsNone(finder().find_spec("nsdemo.__init__"))
        self.assertIsNone(finder().find_spec("no_such_pkg.__init__"))


class Runpy(unittest.TestCase):
    def test_run_module_of_stdlib_module(self):
        import runpy

        namespace = runpy.run_module("json.tool", run_name="not_main")
        self.assertEqual(namespace["__file__"], os.path.join(ORIGIN, "json", "tool.py"))
        self.assertTrue(callable(namespace["main"]))

    def test_run_module_of_package_without_main(self):
        import runpy

        with self.assertRaisesRegex(ImportError, "pkgdemo.__main__"):
            runpy.run_module("pkgdemo", run_name="__main__")
