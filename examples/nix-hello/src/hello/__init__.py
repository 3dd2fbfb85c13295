"""A tiny application packed by `buildHermeticApp`: greets its arguments."""

import sys


def main() -> int:
    names = sys.argv[1:] or ["world"]
    print("hello, " + ", ".join(names))
    return 0
