"""Request paths around every location's boundary: where nginx's choice could differ from edgec's.

Used by the import's own check (nginx's `pick` against edgec's `decide`) and by `--verify`,
which sends them to the real nginx and to the nginx build of the imported file.
"""
from __future__ import annotations

import re
from re import _parser as sre  # the parsed form of a regex, to write a string it matches

from .nginx_locations import Location, every

_SUFFIXES = ("", "/", "x", "/x", "-x", "/x/y", ".php", ".jpg", ".PNG", "/a.css", "/1")
_CATEGORY = {sre.CATEGORY_DIGIT: "7", sre.CATEGORY_WORD: "w", sre.CATEGORY_SPACE: " ",
             sre.CATEGORY_NOT_DIGIT: "a", sre.CATEGORY_NOT_WORD: "-", sre.CATEGORY_NOT_SPACE: "s"}


def _example(items, branch: int) -> str:
    out = []
    for op, av in items:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append("x" if chr(av) != "x" else "y")
        elif op is sre.ANY:
            out.append("x")
        elif op is sre.IN:
            first = av[0]
            if first[0] is sre.NEGATE:
                excluded = {chr(v) for o, v in av[1:] if o is sre.LITERAL}
                out.append(next(c for c in "xyz0_" if c not in excluded))
            elif first[0] is sre.LITERAL:
                out.append(chr(first[1]))
            elif first[0] is sre.RANGE:
                out.append(chr(first[1][0]))
            elif first[0] is sre.CATEGORY:
                out.append(_CATEGORY.get(first[1], "a"))
        elif op is sre.BRANCH:
            alts = av[1]
            out.append(_example(alts[branch % len(alts)], branch))
        elif op is sre.SUBPATTERN:
            out.append(_example(av[-1], branch))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            lo, _, item = av
            out.append(_example(item, branch) * max(lo, 1))
        elif op is sre.CATEGORY:
            out.append(_CATEGORY.get(av, "a"))
    return "".join(out)


def regex_examples(pattern: str) -> list[str]:
    try:
        parsed = sre.parse(pattern)
    except (re.error, RecursionError):
        return []
    return sorted({_example(list(parsed), b) for b in range(3)})


def paths(locations: list[Location]) -> list[str]:
    """Paths around every location: each name, with and without its final "/", and a few ways past it."""
    bases = {"/", "/zz"}
    examples: set[str] = set()
    for loc in every(locations):
        if loc.is_regex:
            for ex in regex_examples(loc.name):
                bases.add(ex if ex.startswith("/") else "/" + ex)
                bases.add("/q" + ex)
                examples.add(ex.lstrip("^"))
        else:
            bases |= {loc.name, loc.name.rstrip("/") or "/"}
    out = set()
    for base in bases:
        # what a regex location matches, under every prefix: where a regex and a prefix compete
        for suffix in _SUFFIXES + tuple(examples) + tuple("/x" + e for e in examples):
            path = (base + suffix).replace("//", "/") if suffix.startswith("/") else base + suffix
            if path.startswith("/") and all(c.isprintable() and c not in " ?#%" for c in path):
                out.add(path)
    return sorted(out)
