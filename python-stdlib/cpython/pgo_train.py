"""PGO training workload for pyembed's static CPython (run by build.sh).

CPython's default PGO task (`-m test --pgo`) runs part of the regression test
suite; its branch counts depend on wall-clock timings, temporary file names,
random seeds from os.urandom and thread scheduling, so two builds get
different profiles and different binaries. This workload is deterministic
instead: one thread, fixed seeds, no clock, no temporary files, no network,
and build.sh runs it with PYTHONHASHSEED=0, a fixed environment and address
space randomisation off. The same interpreter build therefore always records
the same counters, and the optimised archive is a function of the pinned
sources alone.

It exercises what embedded applications spend their time on: the bytecode
interpreter (calls, recursion, generators, classes, exceptions, closures),
the core containers and str/bytes/int/float, sorting, json, re, struct,
pickle, decimal, the compiler (compile() of the stdlib's own sources) and
the unmarshalling of code objects that imports are made of.
"""

import sys


def interpreter_core(n):
    def fib(k):
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    class Point:
        __slots__ = ("x", "y")

        def __init__(self, x, y):
            self.x = x
            self.y = y

        def norm2(self):
            return self.x * self.x + self.y * self.y

    class Node:
        def __init__(self, value, children=()):
            self.value = value
            self.children = list(children)

        def total(self):
            return self.value + sum(c.total() for c in self.children)

    def gen(k):
        for i in range(k):
            if i % 3:
                yield i
            else:
                yield -i

    def closure(base):
        def add(v):
            return base + v
        return add

    acc = 0
    for _ in range(n):
        acc += fib(18)
        acc += sum(Point(i, i + 1).norm2() for i in range(200))
        tree = Node(1, [Node(i, [Node(j) for j in range(5)]) for i in range(20)])
        acc += tree.total()
        acc += sum(gen(500))
        f = closure(7)
        acc += sum(map(f, range(300)))
        acc += sum([x * 2 for x in range(300) if x & 1])
        acc += len({x: x * x for x in range(300)})
        for i in range(200):
            try:
                if i % 7 == 0:
                    raise ValueError(i)
                acc += i
            except ValueError as e:
                acc -= e.args[0]
        acc += sum(*[(1, 2, 3)]) + max(1, 2, key=lambda v: -v)
    return acc


def containers(n, rng):
    acc = 0
    for _ in range(n):
        data = [rng.randrange(1_000_000) for _ in range(3000)]
        acc += sorted(data)[len(data) // 2]
        words = ["w%05d" % v for v in data]
        words.sort(key=str.lower, reverse=True)
        d = {}
        for w in words:
            d[w] = d.get(w, 0) + 1
        acc += len(d) + sum(d.values())
        s = set(data) & set(range(0, 1_000_000, 3))
        acc += len(s)
        t = tuple(data[:500])
        acc += t.index(data[10]) + t.count(data[0])
        text = " ".join(words[:1000])
        acc += len(text.split()) + text.count("w0") + len(text.upper())
        acc += len(text.replace("w", "W").encode("utf-8").decode("utf-8"))
        acc += len("é€𝄞".join(words[:100]).encode("utf-8"))
        acc += int("".join(str(v % 10) for v in data[:200])) % 97
        acc += int(sum(v / 3.0 for v in data[:1000]))
        acc += len(f"{acc:>20} {3.25:.3f} {data[0]!r}")
        b = bytearray(b"abc" * 1000)
        b[::2] = b"z" * len(b[::2])
        acc += bytes(b).find(b"zbz")
        acc += (2 ** 200 // 3 ** 50) % 1000
    return acc


def stdlib_work(n, rng):
    import collections
    import decimal
    import functools
    import heapq
    import itertools
    import json
    import pickle
    import re
    import struct

    acc = 0
    word = re.compile(r"\b(\w+)@(\w+)\.com\b")
    for i in range(n):
        doc = {
            "id": i,
            "name": "item-%d" % i,
            "tags": ["a", "b", "ç", str(i)],
            "values": [rng.random() for _ in range(50)],
            "nested": {"k%d" % j: {"x": j, "y": [j] * 3} for j in range(30)},
        }
        s = json.dumps(doc, sort_keys=True)
        acc += len(s) + len(json.loads(s)["nested"])
        acc += len(json.dumps(doc, indent=2))
        p = pickle.dumps(doc, protocol=5)
        acc += len(pickle.loads(p)["tags"])
        text = " ".join("user%d@host%d.com" % (j, j % 7) for j in range(200))
        acc += len(word.findall(text)) + len(re.sub(r"\d+", "#", text))
        acc += sum(struct.unpack("<100i", struct.pack("<100i", *range(100))))
        c = collections.Counter(text.split("@"))
        acc += len(c.most_common(5))
        dq = collections.deque(range(500))
        dq.rotate(7)
        acc += dq[0]
        acc += sum(itertools.islice(itertools.accumulate(range(1000)), 10))
        acc += functools.reduce(lambda a, b: a ^ b, range(1000))
        h = list(range(500, 0, -1))
        heapq.heapify(h)
        acc += heapq.heappop(h)
        with decimal.localcontext() as ctx:
            ctx.prec = 40
            acc += int(decimal.Decimal(1) / decimal.Decimal(7) * 10 ** 30) % 1000
    return acc


def compile_and_unmarshal(limit):
    """compile() stdlib sources (tokenizer, parser, compiler) and round-trip
    the code objects through marshal, as an import from packed bytecode does."""
    import marshal
    import os

    libdir = os.path.dirname(os.__file__)
    names = sorted(
        name for name in os.listdir(libdir) if name.endswith(".py")
    )[:limit]
    acc = 0
    for name in names:
        path = os.path.join(libdir, name)
        with open(path, "rb") as f:
            source = f.read()
        try:
            code = compile(source, name, "exec", dont_inherit=True)
        except SyntaxError:
            continue
        data = marshal.dumps(code)
        acc += len(data) + marshal.loads(data).co_firstlineno
    return acc


def imports():
    """Import a broad part of the stdlib (executes module bodies)."""
    import importlib

    acc = 0
    for name in (
        "argparse", "ast", "asyncio", "base64", "bisect", "calendar", "csv",
        "dataclasses", "datetime", "difflib", "email.message", "enum",
        "fractions", "hashlib", "html.parser", "http.client", "inspect",
        "io", "ipaddress", "logging", "pathlib", "pprint", "shlex",
        "statistics", "string", "textwrap", "tokenize", "typing",
        "unittest", "urllib.parse", "uuid", "xml.etree.ElementTree",
        "zipfile", "zlib", "sqlite3", "ssl", "lzma", "bz2", "ctypes",
    ):
        try:
            acc += len(vars(importlib.import_module(name)))
        except ImportError:
            pass
    return acc


def more_stdlib(n):
    import dataclasses
    import datetime
    import enum
    import fractions
    import hashlib
    import statistics
    import textwrap
    import zlib

    @dataclasses.dataclass(order=True)
    class Item:
        key: int
        name: str = "x"

    class Color(enum.Enum):
        RED = 1
        GREEN = 2

    acc = 0
    for i in range(n):
        items = sorted(Item(k % 17, str(k)) for k in range(300))
        acc += items[0].key + len(Color(1 + i % 2).name)
        acc += len(hashlib.sha256(b"x" * 10000).hexdigest())
        acc += len(zlib.compress(b"abcdefgh" * 2000))
        acc += int(statistics.mean(range(1000)))
        acc += fractions.Fraction(3, 7).limit_denominator(5).numerator
        acc += datetime.date(2020, 1, 1 + i % 28).toordinal() % 100
        acc += len(textwrap.fill("lorem ipsum dolor " * 50, 40))
    return acc


def main():
    import random

    rng = random.Random(20240611)
    total = 0
    total += interpreter_core(25)
    total += containers(12, rng)
    total += stdlib_work(60, rng)
    total += more_stdlib(40)
    total += imports()
    total += compile_and_unmarshal(400)
    # One line, identical every run: build.sh compares it between runs
    # when asked to prove the workload deterministic.
    sys.stdout.write("pgo-train %d\n" % (total % 1_000_003))


if __name__ == "__main__":
    main()
