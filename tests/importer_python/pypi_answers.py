"""Answers real PyPI packages give through their normal APIs.

`tests/importer_pypi.rs` runs this file twice over the same `pip install
--target` directory: in stock `/usr/bin/python3.11 -I -S` with the directory
on `sys.path` (CPython's own answers, read from disk) and in the embedded
interpreter with the directory packed and the filesystem importer off. The
two JSON documents must be equal. Nothing here may depend on where a file
lives (paths differ by design); where a path is involved, the answer is what
it holds.
"""

import hashlib
import importlib.metadata as md
import importlib.resources
import inspect
import json
import pkgutil

DISTRIBUTIONS = ["attrs", "certifi", "idna", "jinja2", "markupsafe", "packaging", "pygments"]


def digest(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def distribution_answers(name):
    dist = md.distribution(name)
    files = dist.files or []
    # The first packed source file of the distribution, read through the
    # PackagePath the way tools (pip show -f, license scanners) do.
    first_py = sorted(str(f) for f in files if str(f).endswith("/__init__.py"))[0]
    (path,) = [f for f in files if str(f) == first_py]
    return {
        "name": dist.metadata["Name"],
        "version": dist.version,
        "summary": dist.metadata["Summary"],
        "requires": dist.requires,
        "entry_points": sorted([ep.group, ep.name, ep.value] for ep in dist.entry_points),
        "files": sorted(str(f) for f in files),
        "wheel": dist.read_text("WHEEL"),
        "first_py": first_py,
        "first_py_text": digest(path.read_text()),
        "first_py_binary": digest(path.read_binary()),
        "first_py_hash": None if path.hash is None else [path.hash.mode, path.hash.value],
    }


def certifi_answers():
    import certifi

    with open(certifi.where(), "rb") as f:
        where = f.read()
    return {
        "where": digest(where),
        "contents": digest(certifi.contents()),
        "files": digest(importlib.resources.files("certifi").joinpath("cacert.pem").read_bytes()),
        "py.typed": importlib.resources.files("certifi").joinpath("py.typed").is_file(),
    }


def pygments_answers():
    import pygments
    from pygments import highlight, lexers, styles
    from pygments.formatters import HtmlFormatter, get_formatter_by_name

    source = inspect.getsource(pygments.highlight)
    return {
        "html": digest(highlight(source, lexers.PythonLexer(), HtmlFormatter())),
        "rust": lexers.get_lexer_by_name("rust").name,
        "guess": lexers.guess_lexer_for_filename("x.toml", "[a]\nb = 1\n").name,
        "lexers": len(list(lexers.get_all_lexers())),
        "styles": sorted(styles.get_all_styles()),
        "terminal": digest(highlight("x = 1\n", lexers.PythonLexer(), get_formatter_by_name("terminal"))),
        "lexer_modules": sorted(m.name for m in pkgutil.iter_modules(lexers.__path__))[:20],
        "lexer_module_count": len(list(pkgutil.iter_modules(lexers.__path__))),
        "console_script": [
            ep.value for ep in md.entry_points(group="console_scripts", name="pygmentize")
        ],
        "getsource": digest(source),
    }


def jinja2_answers():
    import jinja2
    import markupsafe

    env = jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": "<p>{{ name }}</p>{% for i in items %}{{ i }},{% endfor %}"}),
        autoescape=True,
    )
    return {
        "render": env.get_template("page.html").render(name="<b>&", items=[1, 2, 3]),
        "escape": str(markupsafe.escape("<script>'\"&")),
        "speedups": markupsafe._escape_inner.__module__,
        "markup": str(markupsafe.Markup("<em>%s</em>") % "<x>"),
    }


def attrs_answers():
    import attr
    import attrs

    @attrs.define
    class Point:
        x: int
        y: int = attrs.field(default=0)

    p = Point(1)
    return {
        "asdict": attrs.asdict(attrs.evolve(p, y=5)),
        "repr": repr(p),
        "version": attrs.__version__,
        "attr_version": attr.__version__,
        "fields": [f.name for f in attrs.fields(Point)],
    }


def packaging_answers():
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return {
        "requirements": [str(Requirement(r)) for r in md.requires("jinja2")],
        "contains": Version(md.version("markupsafe")) in SpecifierSet(">=2.0"),
        "sorted": [str(v) for v in sorted(map(Version, ["1.0", "1.0rc1", "1.0.post1", "0.9"]))],
    }


def idna_answers():
    import idna

    return {
        "encode": idna.encode("ドメイン.テスト").decode("ascii"),
        "decode": idna.decode("xn--eckwd4c7c.xn--zckzah"),
        "uts46": idna.encode("Königsgäßchen", uts46=True).decode("ascii"),
    }


def answers():
    result = {
        "certifi": certifi_answers(),
        "pygments": pygments_answers(),
        "jinja2": jinja2_answers(),
        "attrs": attrs_answers(),
        "packaging": packaging_answers(),
        "idna": idna_answers(),
        "distributions": {name: distribution_answers(name) for name in DISTRIBUTIONS},
        "packages_distributions": {
            k: sorted(v)
            for k, v in md.packages_distributions().items()
            if any(d.lower() in DISTRIBUTIONS for d in v)
        },
    }
    return json.dumps(result, sort_keys=True, indent=1)


if __name__ == "__main__":
    print(answers())
