"""importlib.metadata over packed ``.dist-info`` and ``.egg-info`` files.

Compiled once, the first time ``OxidizedFinder.find_distributions`` runs,
into the module ``oxidized_importer._metadata``. The Rust side puts three
functions in its namespace before running it:

* ``_distribution_dirs(finder)``: the sorted names of the packed metadata
  directories (``six-1.16.0.dist-info``);
* ``_distribution_entries(finder, directory)``: the sorted relative names of
  the files packed for one of them;
* ``_distribution_data(finder, directory, name)``: the verified bytes of one
  file, or ``None``.

A directory matches ``Context(name=...)`` as in CPython 3.11's
``importlib.metadata`` (``Lookup``/``Prepared``): the part of its name
before the first ``-``, normalised with ``Prepared.normalize`` (PEP 503,
lowercase, runs of ``-_.`` as one ``_``), equals the normalised query.
``context.path`` is not consulted: packed distributions are not on any
``sys.path`` entry.

``locate_file`` returns a ``PackedPath``: a ``pathlib.Path`` at the virtual
location whose ``open``/``read_text``/``read_bytes``/``exists``/``is_file``
answer from the container (metadata files, package data and module sources),
so ``PackagePath.read_text()`` and ``locate()`` work as for an installed
distribution. Paths derived from it (``/``, ``parent``) keep that behaviour.
Anything not packed falls back to the plain ``pathlib`` behaviour (the disk).
"""

import errno
import io
import pathlib
from importlib.metadata import Distribution, Prepared


class PackedPath(type(pathlib.Path())):
    """A virtual path whose reads are served from packed resources.

    Concrete classes are made per distribution (``_reader`` set), because
    ``pathlib`` builds derived paths with ``object.__new__(type(self))``
    and instance attributes would be lost."""

    __slots__ = ()
    _reader = None

    def _packed_bytes(self):
        reader = self._reader
        return None if reader is None else reader(self)

    def open(self, mode="r", buffering=-1, encoding=None, errors=None, newline=None):
        data = self._packed_bytes()
        if data is None:
            return super().open(mode, buffering, encoding, errors, newline)
        if any(c in mode for c in "wax+"):
            raise OSError(errno.EROFS, "packed resources are read-only", str(self))
        raw = io.BytesIO(data)
        if "b" in mode:
            return raw
        return io.TextIOWrapper(raw, encoding=io.text_encoding(encoding), errors=errors, newline=newline)

    def exists(self):
        return self._packed_bytes() is not None or super().exists()

    def is_file(self):
        return self._packed_bytes() is not None or super().is_file()


def _project(directory):
    """The normalised project name in a metadata directory's name."""
    stem = directory.lower().rpartition(".")[0]
    return Prepared.normalize(stem.partition("-")[0])


class OxidizedDistribution(Distribution):
    """A distribution whose metadata files are packed resources."""

    def __init__(self, finder, directory):
        self._finder = finder
        self._directory = directory

    def __repr__(self):
        return f"<OxidizedDistribution {self._directory!r}>"

    @property
    def _normalized_name(self):
        # Cheaper than parsing METADATA, as PathDistribution does.
        return _project(self._directory) or super()._normalized_name

    def read_text(self, filename):
        data = _distribution_data(self._finder, self._directory, str(filename))  # noqa: F821
        if data is None:
            return None
        return data.decode("utf-8")

    read_text.__doc__ = Distribution.read_text.__doc__

    def locate_file(self, path):
        """The virtual path of ``path`` (relative to the directory holding
        the metadata directory): below the finder's origin, where packed
        modules have their ``__file__``. It does not exist on disk; it is a
        ``PackedPath`` whose reads come from the container."""
        cls = self.__dict__.get("_path_class")
        if cls is None:
            cls = type("PackedPath", (PackedPath,), {"__slots__": (), "_reader": self._read_located})
            self._path_class = cls
        return cls(self._finder.origin, path)

    def _read_located(self, path):
        """The packed bytes at virtual path ``path``, or ``None``."""
        try:
            relative = pathlib.PurePosixPath(path).relative_to(self._finder.origin)
        except ValueError:
            return None
        parts = relative.parts
        if len(parts) >= 2 and parts[0] == self._directory:
            return _distribution_data(self._finder, self._directory, "/".join(parts[1:]))  # noqa: F821
        try:
            return self._finder.get_data(str(path))
        except OSError:
            return None

    @property
    def metadata_files(self):
        """The relative names of the packed metadata files, sorted."""
        return list(_distribution_entries(self._finder, self._directory))  # noqa: F821


def find_distributions(finder, context):
    """``DistributionFinder.find_distributions``: packed distributions
    matching ``context`` (all of them if it names none)."""
    name = getattr(context, "name", None)
    wanted = Prepared.normalize(name) if name else None
    for directory in _distribution_dirs(finder):  # noqa: F821
        if wanted is None or _project(directory) == wanted:
            yield OxidizedDistribution(finder, directory)
