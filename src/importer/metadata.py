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
"""

import pathlib
from importlib.metadata import Distribution, Prepared


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
        modules have their ``__file__``. It does not exist on disk."""
        return pathlib.Path(self._finder.origin, path)

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
