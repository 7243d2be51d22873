"""Source regexes (Python `re` syntax, as routing runs them) rewritten as RE2, which Envoy runs.

The pattern is parsed with Python's own parser and printed again node by node, so the
RE2 text means what routing means or the pattern is refused (Unsupported says why):
Python's \\d, \\w and \\s are Unicode classes (RE2's are ASCII), \\b depends on them, `$`
also matches before a final newline, and possessive or atomic repeats have no RE2 form.
Every literal character is printed as itself only when it is an ASCII letter or digit
and as \\x{HEX} otherwise, so no source text can change the pattern's structure.
"""
from __future__ import annotations

import re
import re._constants as C  # noqa: N812  (the parser's opcode names)
import re._parser as P  # noqa: N812

from edgec.routing import decoded_path, escape_path, strip_slash


class Unsupported(ValueError):
    pass


# Python's classes for str patterns, as RE2 classes (without the brackets)
_CLASSES = {
    C.CATEGORY_DIGIT: r"\p{Nd}",
    C.CATEGORY_WORD: r"\p{L}\p{N}_",
    C.CATEGORY_SPACE: r"\t\n\x0b\f\r\x1c-\x1f\x85\p{Z}",
}
_ASCII_CLASSES = {C.CATEGORY_DIGIT: "0-9", C.CATEGORY_WORD: "0-9A-Za-z_", C.CATEGORY_SPACE: r"\t\n\x0b\f\r "}
_NEGATED = {C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT, C.CATEGORY_NOT_WORD: C.CATEGORY_WORD,
            C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE}
_REFUSED = {
    C.ASSERT: "lookaround", C.ASSERT_NOT: "lookaround", C.GROUPREF: "a backreference",
    C.GROUPREF_EXISTS: "a conditional group", C.ATOMIC_GROUP: "an atomic group",
    C.POSSESSIVE_REPEAT: "a possessive repeat",
}
MAX_REPEAT = 1000  # RE2's limit on a counted repetition


_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_~!@#%&=:;,'\"<> `")


def char(code: int, in_class: bool = False) -> str:
    """One character as RE2 text: itself when it has no meaning to RE2, else \\x{HEX}."""
    c = chr(code)
    return c if c in _PLAIN or (c == "-" and not in_class) else f"\\x{{{code:X}}}"


def literal(text: str) -> str:
    """An RE2 pattern matching exactly `text`."""
    return "".join(char(ord(c)) for c in text)


def full(pattern: str) -> str:
    """A source regex as RE2 text with the same full-match meaning (Envoy's safe_regex
    matches the whole value)."""
    try:
        parsed = P.parse(pattern)
    except re.error as err:  # lowering refused it already; kept for direct callers
        raise Unsupported(f"invalid regular expression: {err.msg}") from None
    flags = parsed.state.flags
    prefix = ""
    if flags & re.IGNORECASE:
        prefix += "i"
    if flags & re.DOTALL:
        prefix += "s"
    if flags & re.MULTILINE:
        prefix += "m"
    body = _seq(list(parsed), flags, top=True)
    return f"(?{prefix}){body}" if prefix else body


def _seq(items, flags: int, top: bool = False) -> str:
    out = []
    for i, (op, av) in enumerate(items):
        if op is C.AT and av is C.AT_END and not (flags & re.MULTILINE):
            # Python's `$` also matches before a final newline; at the very end of a full
            # match it can only mean the end
            if not (top and i == len(items) - 1):
                raise Unsupported("`$` before the end of the pattern (Python's `$` also matches before a final "
                                  "newline, RE2's does not)")
            out.append("$")
            continue
        out.append(_node(op, av, flags))
    return "".join(out)


def _node(op, av, flags: int) -> str:
    if op in _REFUSED:
        raise Unsupported(f"{_REFUSED[op]} (RE2 has none)")
    if op is C.LITERAL:
        return char(av)
    if op is C.NOT_LITERAL:
        return f"[^{char(av)}]"
    if op is C.ANY:
        return "."
    if op is C.IN:
        return _class(av, flags)
    if op is C.BRANCH:
        return "(?:" + "|".join(_seq(list(alt), flags) for alt in av[1]) + ")"
    if op is C.SUBPATTERN:
        _group, add, delete, sub = av
        inner = _seq(list(sub), (flags | add) & ~delete)
        on = "".join(f for f, bit in (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE)) if add & bit)
        off = "".join(f for f, bit in (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE)) if delete & bit)
        mods = on + ("-" + off if off else "")
        return f"(?{mods}:{inner})"
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        lo, hi, sub = av
        if lo > MAX_REPEAT or (hi is not C.MAXREPEAT and hi > MAX_REPEAT):
            raise Unsupported(f"a repetition count above {MAX_REPEAT} (RE2's limit)")
        inner = _seq(list(sub), flags)
        if not _single(list(sub)):
            inner = "(?:" + inner + ")"
        if (lo, hi) == (0, C.MAXREPEAT):
            q = "*"
        elif (lo, hi) == (1, C.MAXREPEAT):
            q = "+"
        elif (lo, hi) == (0, 1):
            q = "?"
        elif hi is C.MAXREPEAT:
            q = f"{{{lo},}}"
        else:
            q = f"{{{lo},{hi}}}"
        return inner + q + ("?" if op is C.MIN_REPEAT else "")
    if op is C.AT:
        if av is C.AT_BEGINNING:
            return "^"
        if av is C.AT_BEGINNING_STRING:
            return r"\A"
        if av is C.AT_END_STRING:
            return r"\z"
        if av is C.AT_END:  # multiline
            return "$"
        raise Unsupported(r"\b or \B (Python's word boundaries are Unicode-aware, RE2's are ASCII)")
    if op is C.CATEGORY:
        return _class([(C.CATEGORY, av)], flags)
    raise Unsupported(f"the construct {op} (no RE2 form)")


def _single(items) -> bool:
    """Is the sequence one atom that a quantifier may follow directly?"""
    return len(items) == 1 and items[0][0] in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY, C.SUBPATTERN, C.BRANCH)


def _class(items, flags: int) -> str:
    negate = False
    parts = []
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            parts.append(char(av, in_class=True))
        elif op is C.RANGE:
            parts.append(f"{char(av[0], True)}-{char(av[1], True)}")
        elif op is C.CATEGORY:
            table = _ASCII_CLASSES if flags & re.ASCII else _CLASSES
            if av in table:
                if len(items) == 1 and av is C.CATEGORY_DIGIT and not flags & re.ASCII:
                    return table[av]
                parts.append(table[av])
            elif av in _NEGATED and len(items) == 1:
                return f"[^{table[_NEGATED[av]]}]"
            else:
                raise Unsupported(r"a negated class (\D, \W, \S) inside [...] (no RE2 form with Python's meaning)")
        else:
            raise Unsupported(f"the class item {op} (no RE2 form)")
    return ("[^" if negate else "[") + "".join(parts) + "]"


def path(value: str) -> str:
    """A configured path (exact, or prefix without its trailing "/") as Envoy compares it:
    Envoy's normalised path keeps %XX escapes of characters outside RFC 3986's path set
    and decodes the rest, so the decoded value is escaped the same way."""
    return escape_path(decoded_path(value))


def prefix_path(value: str) -> str:
    """A prefix as Envoy compares it, without its ignored trailing "/" ("" for "/")."""
    return path(strip_slash(value)) if strip_slash(value) else ""


def percent_tolerant(text: str) -> str:
    """An RE2 pattern matching `text` in a raw query string whichever of its characters the
    client %-encoded (routing compares decoded values, Envoy the raw ones)."""
    out = []
    for c in text:
        encoded = "".join("%" + "".join(f"[{d.upper()}{d}]" if d.isalpha() else d for d in f"{b:02x}")
                          for b in c.encode("utf-8"))
        out.append(f"(?:{char(ord(c))}|{encoded})")
    return "".join(out)
