"""importlib.resources over packed package data.

Compiled once, the first time a packed package is asked for its resource
reader (``OxidizedFinder.get_resource_reader``), into the module
``oxidized_importer._resources``. The Rust side puts three functions in its
namespace before running it:

* ``_package_entries(finder, package)``: the sorted ``/``-separated relative
  names of the package's data files;
* ``_package_data(finder, package, name)``: the verified bytes of one file,
  or ``None``;
* ``_subpackages(finder, package)``: the sorted last components of the
  package's packed child packages.

The tree a package's ``files()`` shows: its data files, in the directories
their relative names imply, plus one directory per child package, whose
contents are that package's tree (so ``files(pkg) / 'sub' / 'data.txt'``
reads ``data.txt`` of subpackage ``pkg.sub``, as on disk). Modules are not
files in it: packed modules have bytecode and source, not data.

Names are untrusted: a path component of ``..``, an absolute path or a NUL
character raises ``ValueError``; nothing can name a file outside the
package's tree, and a name that is not there raises ``FileNotFoundError``
when read.
"""

import io
from importlib.resources.abc import Traversable, TraversableResources


def _components(descendant):
    """The checked components of one ``joinpath`` argument."""
    if hasattr(descendant, "__fspath__"):
        descendant = descendant.__fspath__()
    if isinstance(descendant, bytes):
        raise TypeError("resource names are str, not bytes")
    if not isinstance(descendant, str):
        raise TypeError(
            f"resource names are str, not {type(descendant).__name__}"
        )
    if "\0" in descendant:
        raise ValueError(f"resource name {descendant!r} contains a NUL character")
    if descendant.startswith("/"):
        raise ValueError(f"resource name {descendant!r} is absolute")
    parts = []
    for part in descendant.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise ValueError(
                f"resource name {descendant!r} leaves its directory ('..')"
            )
        parts.append(part)
    return parts


class OxidizedTraversable(Traversable):
    """A file or directory of a packed package's data.

    ``package`` is the packed package whose data holds it, ``parts`` its
    path below that package's directory (``()`` for the package itself).
    The object may name something that does not exist, like a
    ``pathlib.Path``: ``is_file()`` and ``is_dir()`` are then false and
    reading raises ``FileNotFoundError``.
    """

    __slots__ = ("_finder", "_package", "_parts")

    def __init__(self, finder, package, parts=()):
        self._finder = finder
        self._package = package
        self._parts = tuple(parts)

    def __repr__(self):
        return f"<OxidizedTraversable {self._display()!r}>"

    def __eq__(self, other):
        if not isinstance(other, OxidizedTraversable):
            return NotImplemented
        return (self._finder, self._package, self._parts) == (
            other._finder,
            other._package,
            other._parts,
        )

    def __hash__(self):
        return hash((self._package, self._parts))

    def _display(self):
        return "/".join([self._package.replace(".", "/"), *self._parts])

    def _relative(self):
        return "/".join(self._parts)

    def _entries(self):
        return _package_entries(self._finder, self._package)  # noqa: F821

    @property
    def name(self):
        if self._parts:
            return self._parts[-1]
        return self._package.rpartition(".")[2]

    def is_file(self):
        return bool(self._parts) and self._relative() in self._entries()

    def is_dir(self):
        if not self._parts:
            return True
        prefix = self._relative() + "/"
        return any(entry.startswith(prefix) for entry in self._entries())

    def iterdir(self):
        if not self.is_dir():
            error = NotADirectoryError if self.is_file() else FileNotFoundError
            raise error(f"packed package data {self._display()!r} is not a directory")
        names = set()
        prefix = self._relative() + "/" if self._parts else ""
        for entry in self._entries():
            if entry.startswith(prefix):
                names.add(entry[len(prefix) :].partition("/")[0])
        subpackages = self._subpackages()
        names.update(subpackages)
        return iter([self._child(name, subpackages) for name in sorted(names)])

    def _subpackages(self):
        if self._parts:
            return ()
        return frozenset(_subpackages(self._finder, self._package))  # noqa: F821

    def _child(self, name, subpackages=None):
        if subpackages is None:
            subpackages = self._subpackages()
        if name in subpackages:
            return OxidizedTraversable(self._finder, f"{self._package}.{name}")
        return OxidizedTraversable(self._finder, self._package, (*self._parts, name))

    def joinpath(self, *descendants):
        node = self
        for descendant in descendants:
            for part in _components(descendant):
                node = node._child(part)
        return node

    def __truediv__(self, child):
        return self.joinpath(child)

    def read_bytes(self):
        if self._parts:
            data = _package_data(self._finder, self._package, self._relative())  # noqa: F821
            if data is not None:
                return data
        if self.is_dir():
            raise IsADirectoryError(f"packed package data {self._display()!r} is a directory")
        raise FileNotFoundError(f"no packed package data {self._display()!r}")

    def read_text(self, encoding=None, errors=None):
        # `errors`: 3.13's functional API (importlib.resources.read_text)
        # passes it, as pathlib.Path.read_text accepts it.
        with self.open(encoding=encoding, errors=errors) as stream:
            return stream.read()

    def open(self, mode="r", *args, **kwargs):
        if mode not in ("r", "rb"):
            raise ValueError(
                f"invalid mode {mode!r} for packed package data: only 'r' and 'rb'"
            )
        stream = io.BytesIO(self.read_bytes())
        if mode == "rb":
            return stream
        return io.TextIOWrapper(stream, *args, **kwargs)


class OxidizedResourceReader(TraversableResources):
    """The resource reader ``OxidizedFinder.get_resource_reader`` returns."""

    def __init__(self, finder, package):
        self._finder = finder
        self._package = package

    def __repr__(self):
        return f"<OxidizedResourceReader for {self._package!r}>"

    def files(self):
        return OxidizedTraversable(self._finder, self._package)
