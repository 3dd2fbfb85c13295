"""importlib.metadata over packed .dist-info files, checked from Python.

Run by tests/importer_metadata.rs in an interpreter whose only importer of
Python code is OxidizedFinder, over the standard library and the tree
``METADATA_TREE`` of that file: module ``my_package`` and its
``My_Package-1.2.3.dist-info`` (METADATA, RECORD, entry_points.txt), plus
``other_dist-0.1.dist-info`` with nothing but METADATA. ``ORIGIN`` is
injected by the runner: the directory virtual paths are rooted at.
"""

import importlib.metadata as metadata
import os
import pathlib
import sys
import unittest

import oxidized_importer


def finder():
    return next(f for f in sys.meta_path if isinstance(f, oxidized_importer.OxidizedFinder))


class FindDistributions(unittest.TestCase):
    def test_all(self):
        found = list(finder().find_distributions(metadata.DistributionFinder.Context()))
        self.assertEqual([d.metadata["Name"] for d in found], ["My_Package", "other-dist"])
        for dist in found:
            self.assertIsInstance(dist, metadata.Distribution)
            self.assertEqual(type(dist).__module__, "oxidized_importer._metadata")

    def test_class_is_exposed_on_oxidized_importer(self):
        dist = metadata.distribution("my-package")
        self.assertIsInstance(dist, oxidized_importer.OxidizedDistribution)

    def test_without_context(self):
        self.assertEqual(len(list(finder().find_distributions())), 2)

    def test_name_is_normalised(self):
        for query in ["My_Package", "my-package", "MY.PACKAGE", "my__package", "My-_.package"]:
            with self.subTest(query=query):
                found = list(finder().find_distributions(metadata.DistributionFinder.Context(name=query)))
                self.assertEqual([d.version for d in found], ["1.2.3"])
        for query in ["mypackage", "my-package-x", "other"]:
            with self.subTest(query=query):
                found = list(finder().find_distributions(metadata.DistributionFinder.Context(name=query)))
                self.assertEqual(found, [])

    def test_read_text_and_locate_file(self):
        dist = metadata.distribution("my-package")
        self.assertIn("Name: My_Package", dist.read_text("METADATA"))
        self.assertIsNone(dist.read_text("INSTALLER"))
        self.assertIsNone(dist.read_text("../other_dist-0.1.dist-info/METADATA"))
        self.assertEqual(dist.locate_file("my_package/__init__.py"), pathlib.Path(ORIGIN, "my_package", "__init__.py"))
        self.assertEqual(dist.metadata_files, ["METADATA", "RECORD", "entry_points.txt", "top_level.txt"])


class TopLevelApi(unittest.TestCase):
    def test_version_and_metadata(self):
        self.assertEqual(metadata.version("My_Package"), "1.2.3")
        self.assertEqual(metadata.version("my-package"), "1.2.3")
        meta = metadata.metadata("my_package")
        self.assertEqual(meta["Name"], "My_Package")
        self.assertEqual(meta["Summary"], "A packed test distribution")
        self.assertEqual(metadata.version("other-dist"), "0.1")

    def test_unknown_distribution(self):
        with self.assertRaises(metadata.PackageNotFoundError):
            metadata.version("no-such-distribution")

    def test_requires(self):
        self.assertEqual(
            metadata.requires("my-package"),
            ["requests (>=2.0)", 'pytest ; extra == "test"'],
        )
        self.assertIsNone(metadata.requires("other-dist"))

    def test_entry_points(self):
        scripts = metadata.entry_points(group="console_scripts")
        self.assertEqual(scripts["my-tool"].value, "my_package.cli:main")
        self.assertEqual(scripts["my-tool"].dist.version, "1.2.3")
        plugins = metadata.entry_points(group="my_package.plugins")
        self.assertEqual(sorted(plugins.names), ["alpha", "beta"])
        self.assertEqual(plugins["alpha"].module, "my_package")
        self.assertEqual(plugins["alpha"].attr, "VERSION")
        self.assertEqual(plugins["alpha"].load(), "1.2.3")
        self.assertEqual(metadata.distribution("my-package").entry_points.select(name="beta")["beta"].value, "my_package:Plugin")

    def test_files_from_record(self):
        files = metadata.files("my-package")
        self.assertEqual(
            sorted(str(f) for f in files),
            [
                "My_Package-1.2.3.dist-info/METADATA",
                "My_Package-1.2.3.dist-info/RECORD",
                "My_Package-1.2.3.dist-info/entry_points.txt",
                "My_Package-1.2.3.dist-info/top_level.txt",
                "my_package/__init__.py",
            ],
        )
        init = next(f for f in files if str(f) == "my_package/__init__.py")
        self.assertEqual(init.hash.mode, "sha256")
        self.assertEqual(init.size, 42)
        self.assertEqual(init.locate(), pathlib.Path(ORIGIN, "my_package", "__init__.py"))
        self.assertIsNone(metadata.files("other-dist"))

    def test_located_files_read_from_the_container(self):
        files = metadata.files("my-package")
        init = next(f for f in files if str(f) == "my_package/__init__.py")
        self.assertEqual(init.read_text(), "VERSION = '1.2.3'\n\n\nclass Plugin:\n    pass\n")
        self.assertEqual(init.read_binary(), init.read_text().encode())
        located = init.locate()
        self.assertTrue(located.exists())
        self.assertTrue(located.is_file())
        self.assertFalse(os.path.exists(located), "the located path is virtual")
        with located.open("rb") as f:
            self.assertEqual(f.read(3), b"VER")
        with self.assertRaises(OSError):
            located.open("w")
        record = next(f for f in files if str(f).endswith("/RECORD"))
        self.assertIn("my_package/__init__.py", record.read_text())
        # Paths derived from a located one still read packed files.
        sibling = located.parent.parent / "My_Package-1.2.3.dist-info" / "top_level.txt"
        self.assertEqual(sibling.read_text(), "my_package\n")
        missing = located.parent / "missing.txt"
        self.assertFalse(missing.exists())
        with self.assertRaises(FileNotFoundError):
            missing.read_text()

    def test_distributions(self):
        names = sorted(d.metadata["Name"] for d in metadata.distributions())
        self.assertEqual(names, ["My_Package", "other-dist"])
        self.assertEqual(
            sorted(metadata.packages_distributions().get("my_package", [])), ["My_Package"]
        )
