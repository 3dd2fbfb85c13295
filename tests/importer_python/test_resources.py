"""importlib.resources over packed package data, checked from Python.

Run by tests/importer_resources.rs in an interpreter whose only importer of
Python code is OxidizedFinder, over the standard library and the tree
``RESOURCE_TREE`` of that file (package ``respkg`` with text, binary and
nested data and a subpackage ``respkg.sub``; namespace package ``resns``).
"""

import importlib.resources as resources
import importlib.resources.abc as resources_abc
import io
import os
import sys
import unittest

import oxidized_importer

BLOB = bytes(range(256)) * 4


def finder():
    return next(f for f in sys.meta_path if isinstance(f, oxidized_importer.OxidizedFinder))


class Reader(unittest.TestCase):
    def test_reader_of_a_package(self):
        reader = finder().get_resource_reader("respkg")
        self.assertIsInstance(reader, resources_abc.TraversableResources)
        self.assertEqual(type(reader).__module__, "oxidized_importer._resources")
        self.assertIsInstance(reader.files(), resources_abc.Traversable)

    def test_classes_are_exposed_on_oxidized_importer(self):
        reader = finder().get_resource_reader("respkg")
        self.assertIsInstance(reader, oxidized_importer.OxidizedResourceReader)
        self.assertIsInstance(reader.files(), oxidized_importer.OxidizedTraversable)
        self.assertFalse(hasattr(oxidized_importer, "NoSuchThing"))

    def test_no_reader_for_modules_and_unknown_names(self):
        self.assertIsNone(finder().get_resource_reader("respkg.plain"))
        self.assertIsNone(finder().get_resource_reader("no_such_package"))

    def test_loader_of_the_imported_package_serves_files(self):
        import respkg

        self.assertIs(respkg.__spec__.loader, finder())
        self.assertEqual(resources.files(respkg).name, "respkg")

    def test_legacy_reader_methods(self):
        reader = finder().get_resource_reader("respkg")
        self.assertEqual(reader.open_resource("data.txt").read(), b"hello, resources\n")
        self.assertTrue(reader.is_resource("data.txt"))
        self.assertFalse(reader.is_resource("nested"))
        self.assertIn("data.txt", list(reader.contents()))
        with self.assertRaises(FileNotFoundError):
            reader.resource_path("data.txt")


class Files(unittest.TestCase):
    def setUp(self):
        self.root = resources.files("respkg")

    def test_read_text_and_bytes(self):
        self.assertEqual((self.root / "data.txt").read_text(), "hello, resources\n")
        self.assertEqual((self.root / "data.txt").read_bytes(), b"hello, resources\n")
        self.assertEqual((self.root / "blob.bin").read_bytes(), BLOB)
        self.assertEqual(
            (self.root / "unicode.txt").read_text(encoding="utf-8"), "caf\u00e9 \u2713\n"
        )

    def test_iterdir_lists_data_directories_and_subpackages(self):
        names = sorted(child.name for child in self.root.iterdir())
        self.assertEqual(
            names, ["blob.bin", "data.txt", "nested", "sub", "unicode.txt"]
        )
        kinds = {child.name: (child.is_file(), child.is_dir()) for child in self.root.iterdir()}
        self.assertEqual(kinds["data.txt"], (True, False))
        self.assertEqual(kinds["nested"], (False, True))
        self.assertEqual(kinds["sub"], (False, True))

    def test_nested_directories(self):
        nested = self.root / "nested"
        self.assertTrue(nested.is_dir())
        self.assertEqual(sorted(c.name for c in nested.iterdir()), ["deeper", "info.json"])
        self.assertEqual((nested / "deeper" / "note.txt").read_text(), "deep note\n")
        self.assertEqual(self.root.joinpath("nested", "deeper", "note.txt").read_text(), "deep note\n")
        self.assertEqual(self.root.joinpath("nested/deeper/note.txt").read_text(), "deep note\n")
        self.assertEqual(self.root.joinpath("nested/./deeper//note.txt").read_text(), "deep note\n")

    def test_subpackage_data_through_the_parent(self):
        through_parent = self.root / "sub" / "data.txt"
        direct = resources.files("respkg.sub") / "data.txt"
        self.assertEqual(through_parent.read_text(), "sub data\n")
        self.assertEqual(through_parent, direct)
        self.assertEqual(sorted(c.name for c in (self.root / "sub").iterdir()), ["data.txt", "deep"])
        self.assertEqual((self.root / "sub" / "deep").is_dir(), True)
        self.assertEqual((self.root / "sub" / "deep" / "x.cfg").read_text(), "[x]\n")

    def test_modules_are_not_files(self):
        self.assertFalse((self.root / "plain.py").is_file())
        self.assertFalse((self.root / "__init__.py").is_file())

    def test_open(self):
        with (self.root / "data.txt").open() as stream:
            self.assertIsInstance(stream, io.TextIOWrapper)
            self.assertEqual(stream.read(), "hello, resources\n")
        with (self.root / "data.txt").open("r", encoding="ascii", newline="") as stream:
            self.assertEqual(stream.readline(), "hello, resources\n")
        with (self.root / "blob.bin").open("rb") as stream:
            self.assertEqual(stream.read(4), bytes([0, 1, 2, 3]))
        with self.assertRaises(ValueError):
            (self.root / "data.txt").open("w")

    def test_missing_and_wrong_kind(self):
        missing = self.root / "nope.txt"
        self.assertFalse(missing.is_file())
        self.assertFalse(missing.is_dir())
        with self.assertRaises(FileNotFoundError):
            missing.read_bytes()
        with self.assertRaises(FileNotFoundError):
            list(missing.iterdir())
        with self.assertRaises(NotADirectoryError):
            list((self.root / "data.txt").iterdir())
        with self.assertRaises(IsADirectoryError):
            (self.root / "nested").read_bytes()
        with self.assertRaises(FileNotFoundError):
            (self.root / "data.txt" / "x").read_bytes()

    def test_namespace_package_data(self):
        root = resources.files("resns")
        self.assertEqual((root / "readme.txt").read_text(), "namespace data\n")
        self.assertEqual(sorted(c.name for c in root.iterdir()), ["readme.txt"])

    def test_as_file_writes_a_temporary_copy(self):
        with resources.as_file(self.root / "blob.bin") as path:
            self.assertTrue(os.path.isfile(path))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), BLOB)
        self.assertFalse(os.path.exists(path))


class Escapes(unittest.TestCase):
    def setUp(self):
        self.root = resources.files("respkg")

    def test_parent_components_are_refused(self):
        for name in ["..", "../respkg/data.txt", "nested/../data.txt", "sub/../../x"]:
            with self.subTest(name=name), self.assertRaises(ValueError):
                self.root.joinpath(name)
        with self.assertRaises(ValueError):
            self.root / "sub" / ".."

    def test_absolute_and_nul_are_refused(self):
        for name in ["/etc/passwd", "/", "data\0.txt"]:
            with self.subTest(name=name), self.assertRaises(ValueError):
                self.root.joinpath(name)

    def test_other_types_are_refused(self):
        with self.assertRaises(TypeError):
            self.root.joinpath(b"data.txt")
        with self.assertRaises(TypeError):
            self.root.joinpath(3)

    def test_nothing_outside_the_tree_is_reachable(self):
        # Names that would be files elsewhere are simply not there.
        for name in ["respkg/data.txt", "etc/passwd", "\\..\\data.txt"]:
            with self.subTest(name=name):
                self.assertFalse(self.root.joinpath(name).is_file())
                with self.assertRaises(FileNotFoundError):
                    self.root.joinpath(name).read_bytes()

    def test_legacy_api_refuses_paths(self):
        with self.assertRaises(ValueError):
            resources.read_text("respkg", "../data.txt")
        if sys.version_info < (3, 13):
            # 3.11's legacy functions take a file name, never a path.
            with self.assertRaises(ValueError):
                resources.open_binary("respkg", "nested/info.json")
        else:
            # 3.13's functional API joins path names, as files() does.
            with resources.open_binary("respkg", "nested/info.json") as stream:
                self.assertTrue(stream.read())


class Legacy(unittest.TestCase):
    def test_read_text_and_binary(self):
        self.assertEqual(resources.read_text("respkg", "data.txt"), "hello, resources\n")
        self.assertEqual(resources.read_binary("respkg", "blob.bin"), BLOB)
        with resources.open_binary("respkg", "blob.bin") as stream:
            self.assertEqual(stream.read(), BLOB)
        with resources.open_text("respkg", "unicode.txt") as stream:
            self.assertEqual(stream.read(), "caf\u00e9 \u2713\n")

    def test_is_resource_and_contents(self):
        self.assertTrue(resources.is_resource("respkg", "data.txt"))
        self.assertFalse(resources.is_resource("respkg", "nested"))
        self.assertFalse(resources.is_resource("respkg", "missing"))
        self.assertEqual(
            sorted(resources.contents("respkg")),
            ["blob.bin", "data.txt", "nested", "sub", "unicode.txt"],
        )

    def test_path(self):
        with resources.path("respkg", "data.txt") as path:
            with open(path) as f:
                self.assertEqual(f.read(), "hello, resources\n")

    def test_missing_resource(self):
        with self.assertRaises(FileNotFoundError):
            resources.read_text("respkg", "missing.txt")


class GetData(unittest.TestCase):
    """``pkgutil.get_data`` through ``OxidizedFinder.get_data``."""

    def test_package_data(self):
        import pkgutil

        self.assertEqual(pkgutil.get_data("respkg", "data.txt"), b"hello, resources\n")
        self.assertEqual(pkgutil.get_data("respkg", "blob.bin"), BLOB)
        self.assertEqual(pkgutil.get_data("respkg", "nested/deeper/note.txt"), b"deep note\n")
        self.assertEqual(pkgutil.get_data("respkg", "sub/data.txt"), b"sub data\n")
        self.assertEqual(pkgutil.get_data("respkg.sub", "deep/x.cfg"), b"[x]\n")

    def test_module_sources(self):
        import pkgutil

        self.assertEqual(pkgutil.get_data("respkg", "plain.py"), b"X = 1\n")
        self.assertEqual(pkgutil.get_data("respkg", "__init__.py"), b"VALUE = 1\n")
        self.assertEqual(finder().get_data(os.path.join(ORIGIN, "greet.py"))[:3], b'"""')

    def test_missing(self):
        import pkgutil

        with self.assertRaises(FileNotFoundError) as caught:
            pkgutil.get_data("respkg", "missing.txt")
        self.assertEqual(caught.exception.filename, os.path.join(ORIGIN, "respkg", "missing.txt"))

    def test_escapes(self):
        import pkgutil

        for path in [
            os.path.join(ORIGIN, "respkg", "..", "greet.py"),
            os.path.join(ORIGIN, "respkg", ".", "data.txt"),
            ORIGIN + "/respkg//data.txt",
            os.path.join(ORIGIN, "respkg", "data.txt\0"),
            "/etc/passwd",
            ORIGIN + "respkg/data.txt",
            "respkg/data.txt",
        ]:
            with self.subTest(path=path), self.assertRaises(FileNotFoundError):
                finder().get_data(path)
        with self.assertRaises(FileNotFoundError):
            pkgutil.get_data("respkg", "../greet.py")
