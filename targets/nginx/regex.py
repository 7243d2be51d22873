"""PCRE text for nginx `map` keys and `rewrite` patterns, built from source strings.

nginx's exact map keys compare case-insensitively (verified on 1.22: a key "Foo" matches
"foo"), so every case-sensitive comparison is an anchored regex over the escaped literal.
"""
from __future__ import annotations


_META = frozenset("\\^$.|?*+()[]{}")


def literal(text: str) -> str:
    """`text` as a PCRE pattern matching exactly itself: metacharacters get a backslash,
    control characters are spelled \\xHH, everything else stands for itself."""
    out = []
    for ch in text:
        if ch in _META:
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def full(pattern: str) -> str:
    """A source regex matched against the whole subject (routing uses fullmatch)."""
    return f"^(?:{pattern})\\z"


def exact(text: str) -> str:
    return f"^{literal(text)}\\z"


def _hex(byte: int) -> str:
    return "".join(f"[{d.upper()}{d}]" if d.isalpha() else d for d in f"{byte:02x}")


def percent_tolerant(text: str) -> str:
    """A pattern matching `text` in a raw query string whichever of its characters the client
    %-encoded (routing compares query names and values after %XX decoding; nginx's $args
    is raw). A "%" or "#" can only arrive encoded: a raw "%" starts an escape, a raw "#" the
    fragment."""
    out = []
    for ch in text:
        encoded = "".join("%" + _hex(b) for b in ch.encode("utf-8"))
        out.append(encoded if ch in "%#" else f"(?:{literal(ch)}|{encoded})")
    return "".join(out)
