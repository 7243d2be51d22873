"""Java source text: the one quoting function for string literals, and identifiers.

Every value from the .edge source reaches generated Java through `literal()`: a string
becomes a double-quoted Java literal in which every character outside printable ASCII
is a \\uXXXX escape. Java decodes \\u escapes before it tokenizes, so even an escaped
line break or quote would end the literal: those characters get the ordinary escapes
(\\n, \\", \\\\) and \\u is used only for characters that are harmless once decoded.
"""
from __future__ import annotations

import hashlib
import re

_SIMPLE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


class Java(str):
    """A pre-rendered Java fragment: inserted into templates as it is."""


def _char(c: str) -> str:
    if c in _SIMPLE:
        return _SIMPLE[c]
    code = ord(c)
    if code < 0x20 or code == 0x7F:
        return f"\\{code:03o}"  # octal: a \u000a would be decoded into a real line break
    if code < 0x7F:
        return c
    if code > 0xFFFF:  # outside the BMP: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def string(value: str) -> str:
    """A Java string literal whose value is exactly `value`."""
    return '"' + "".join(_char(c) for c in value) + '"'


def literal(value) -> str:
    """Any template value as Java source: Java fragments as they are, strings quoted."""
    if isinstance(value, Java):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) + ("L" if not -2**31 <= value < 2**31 else "")
    if isinstance(value, str):
        return string(value)
    if value is None:
        return "null"
    raise TypeError(f"no Java literal for {type(value).__name__}")


def literals(values) -> Java:
    """Values as the arguments of a Java call (List.of(...)), each a literal."""
    return Java(", ".join(literal(v) for v in values))


def regex(pattern: str) -> str:
    """A Python-syntax regex from the IR in Java syntax (named groups differ)."""
    return re.sub(r"\(\?P<", "(?<", pattern)


KEYWORDS = frozenset("""abstract assert boolean break byte case catch char class const continue default do
double else enum extends final finally float for goto if implements import instanceof int interface long
native new package private protected public return short static strictfp super switch synchronized this
throw throws transient try void volatile while true false null var record yield sealed permits""".split())


MAX_IDENTIFIER = 100  # a nested class is a file Outer$Inner.class: file names end at 255 bytes


def identifier(text: str, prefix: str = "x") -> str:
    """A Java identifier made from `text` (for bean, class and package names), stable and readable;
    a long one is cut and ends in a digest of the whole, so two stay apart."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", text) if p]
    ident = parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:]) if parts else ""
    if not ident or ident[0].isdigit() or ident in KEYWORDS:
        ident = prefix + ident[:1].upper() + ident[1:]
    if len(ident) > MAX_IDENTIFIER:
        ident = ident[:MAX_IDENTIFIER - 9] + "_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return ident


def class_name(text: str) -> str:
    ident = identifier(text, "X")
    return ident[:1].upper() + ident[1:]
