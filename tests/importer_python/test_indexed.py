"""OxidizedFinder.indexed_resources, serialize_indexed_resources and
index_interpreter_builtins, checked from Python inside the embedded
interpreter (run by tests/importer_unittest.rs; ``ORIGIN`` is injected).
"""

import sys
import unittest

import oxidized_importer


def finder():
    return next(f for f in sys.meta_path if isinstance(f, oxidized_importer.OxidizedFinder))


def names(f):
    return [r.name for r in f.indexed_resources()]


class IndexedResources(unittest.TestCase):
    def test_sorted_and_unique(self):
        listed = names(finder())
        self.assertEqual(listed, sorted(set(listed)))
        self.assertIn("greet", listed)
        self.assertIn("pkgdemo.inner", listed)

    def test_flags(self):
        by_name = {r.name: r for r in finder().indexed_resources()}
        greet = by_name["greet"]
        self.assertIsInstance(greet, oxidized_importer.OxidizedResource)
        self.assertTrue(greet.is_module and greet.is_python_module)
        self.assertFalse(greet.is_package or greet.is_namespace_package)
        self.assertFalse(greet.is_extension_module or greet.is_shared_library)
        self.assertFalse(greet.is_builtin_extension_module or greet.is_frozen_module)
        self.assertIn(greet.tier, (0, 1))
        self.assertIsInstance(greet.container, str)
        self.assertTrue(by_name["pkgdemo.inner"].is_package)
        self.assertTrue(by_name["nsdemo"].is_namespace_package)
        # Packed, but delegated to the frozen importer.
        self.assertTrue(by_name["os"].is_frozen_module)
        with self.assertRaises(AttributeError):
            greet.name = "other"

    def test_empty_finder(self):
        self.assertEqual(oxidized_importer.OxidizedFinder(origin=ORIGIN).indexed_resources(), [])


class IndexInterpreterBuiltins(unittest.TestCase):
    def test_builtins_and_frozen_are_listed_and_idempotent(self):
        f = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        self.assertNotIn("sys", names(f))
        self.assertIsNone(f.index_interpreter_builtins())
        by_name = {r.name: r for r in f.indexed_resources()}
        for name in sys.builtin_module_names:
            self.assertTrue(by_name[name].is_builtin_extension_module, name)
            self.assertTrue(by_name[name].is_module)
            self.assertIsNone(by_name[name].tier)
        self.assertTrue(by_name["zipimport"].is_frozen_module)
        first = names(f)
        f.index_interpreter_builtins()
        self.assertEqual(names(f), first)
        self.assertEqual(first, sorted(first))

    def test_builtins_are_skipped_when_serializing_by_default(self):
        f = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        f.index_interpreter_builtins()
        fresh = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        fresh.index_bytes(f.serialize_indexed_resources())
        self.assertEqual(names(fresh), [])

    def test_builtins_can_be_serialized(self):
        f = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        f.index_interpreter_builtins()
        data = f.serialize_indexed_resources(ignore_builtin=False, ignore_frozen=False)
        fresh = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        fresh.index_bytes(data)
        self.assertEqual(names(fresh), names(f))
        by_name = {r.name: r for r in fresh.indexed_resources()}
        self.assertTrue(by_name["sys"].is_builtin_extension_module)
        self.assertTrue(by_name["zipimport"].is_frozen_module)
        # Still delegated: a data-less builtin entry does not shadow `sys`.
        self.assertEqual(fresh.find_spec("sys").origin, "built-in")


class SerializeIndexedResources(unittest.TestCase):
    def test_round_trip(self):
        data = finder().serialize_indexed_resources()
        self.assertIsInstance(data, bytes)
        fresh = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        self.assertEqual(fresh.index_bytes(data), len(names(finder())))
        self.assertEqual(names(fresh), names(finder()))
        self.assertEqual(fresh.get_source("greet"), finder().get_source("greet"))
        self.assertIsNotNone(fresh.get_source("greet"))
        self.assertEqual(fresh.find_spec("pkgdemo.inner").submodule_search_locations,
                         finder().find_spec("pkgdemo.inner").submodule_search_locations)
        for r in fresh.indexed_resources():
            self.assertEqual(r.tier, 0)

    def test_round_trip_is_stable(self):
        data = finder().serialize_indexed_resources()
        fresh = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        fresh.index_bytes(data)
        self.assertEqual(fresh.serialize_indexed_resources(), data)

    def test_empty(self):
        f = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        fresh = oxidized_importer.OxidizedFinder(origin=ORIGIN)
        self.assertEqual(fresh.index_bytes(f.serialize_indexed_resources()), 0)


if __name__ == "__main__":
    unittest.main()
