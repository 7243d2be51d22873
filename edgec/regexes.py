"""The regex dialect of the language: the part of the syntax Python's re (the runtime and
routing), PCRE2 (nginx), Java (Spring) and RE2 (Envoy, ALB) read alike, and nothing else.

docs/language.md "Regular expressions" is its reference. A pattern outside it is refused
with the construct named: every engine accepting it is not enough, they must agree on what it
matches (`[[:alpha:]]` is a class of letters to PCRE2 and a class of `[:alph` then `]` to
Python; `\\u0041` is `A` to Python and an error to PCRE2). Classes (`\\d`, `\\w`, `\\s`, `\\b`)
are ASCII, as Java and RE2 read them: routing compiles patterns with re.ASCII.
"""
from __future__ import annotations

import re
import warnings
from re import _parser  # re.compile's own parser (3.11+)
from functools import lru_cache

HINT = "regexes are the portable subset every target reads alike (docs/language.md, Regular expressions)"
MAX_REPEAT = 1000  # RE2 refuses a larger count
_FLAGS = frozenset("ims")
_CLASS_ESCAPES = frozenset("dDwWsSnrtf")
_ESCAPE_NAMES = {
    "u": "a \\u escape (PCRE2 and RE2 do not read it; write the character, or \\xHH below 0x80)",
    "U": "a \\U escape", "N": "a \\N escape", "x": "a \\x escape without two hex digits",
    "p": "a Unicode property \\p (Python's re has none)", "P": "a Unicode property \\P (Python's re has none)",
    "z": "\\z (Python's re has no \\z; a regex is matched against the whole path anyway)",
    "Z": "\\Z (it means different ends to PCRE2 and Python)", "G": "\\G", "K": "\\K", "Q": "\\Q...\\E quoting",
    "E": "\\E", "R": "\\R", "X": "\\X", "h": "\\h", "H": "\\H", "v": "\\v (a character to some engines, a class "
    "to others)", "V": "\\V", "e": "\\e", "c": "a control escape \\c", "a": "\\a", "k": "a named backreference",
    "g": "a backreference \\g", "o": "an octal escape \\o",
}
_GROUP_NAMES = [("(?<=", "a lookbehind"), ("(?<!", "a lookbehind"), ("(?=", "a lookahead"), ("(?!", "a lookahead"),
                ("(?P<", "a named group"), ("(?<", "a named group"), ("(?'", "a named group"),
                ("(?P=", "a backreference"), ("(?P>", "a recursion"), ("(?>", "an atomic group"),
                ("(?#", "a comment group"), ("(?|", "a branch reset group"), ("(?(", "a conditional"),
                ("(?R", "a recursion"), ("(?&", "a recursion")]
_QUANTIFIER = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


@lru_cache(maxsize=4096)
def problem(pattern: str) -> tuple[str, str] | None:
    """(message, hint) naming the first construct outside the dialect, or None. Cached: every
    env lowers the same patterns."""
    found = _scan(pattern)
    if found and found.startswith("a quantifier"):
        return f"invalid regular expression: {found}", HINT
    if found:
        return f"{found} is not portable to every target's regex engine", HINT
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning (a set operation to come) is a refusal, never printed
        try:
            # what compiled() reads the pattern as: its only errors (compiling further refuses
            # nothing more but a lookbehind, which the scan above refuses), for about half of
            # compiling it, which most patterns never need (compiled() is asked by routing when
            # a lookup first tests one)
            _parser.parse(pattern, re.ASCII)
        except (re.error, FutureWarning) as err:
            return f"invalid regular expression: {getattr(err, 'msg', err)}", HINT
    return None


@lru_cache(maxsize=4096)
def compiled(pattern: str) -> re.Pattern:
    """The pattern as routing matches it (classes ASCII, as every target reads them). Cached
    apart from re's own small cache: every env's router and lint rule then reuses the one
    compiled pattern."""
    return re.compile(pattern, re.ASCII)


def _scan(p: str) -> str | None:
    """The first construct outside the dialect, described, or None."""
    i, n = 0, len(p)
    atom = False  # whether what precedes may take a quantifier
    while i < n:
        c = p[i]
        if c == "\\":
            found, i = _escape(p, i, in_class=False)
            if found:
                return found
            atom = True
        elif c == "[":
            found, i = _class(p, i)
            if found:
                return found
            atom = True
        elif c == "(":
            found, i = _group(p, i)
            if found:
                return found
            atom = False
        elif c in "*+?{":
            if c == "{":
                m = _QUANTIFIER.match(p, i)
                if not m:
                    return "a literal '{' (write \\{)"
                low, high = int(m.group(1)), m.group(3)
                if low > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
                    return f"a repeat count over {MAX_REPEAT} ({m.group()})"
                i = m.end()
            else:
                i += 1
            if not atom:
                return f"a quantifier '{c}' with nothing to repeat"
            if i < n and p[i] == "+":
                return "a possessive quantifier ('+' after a quantifier)"
            if i < n and p[i] == "?":
                i += 1
            atom = False
        elif c == "}":
            return "a literal '}' (write \\})"
        elif not c.isascii():
            if i + 1 < n and p[i + 1] in "*+?{":
                return f"a repeated non-ASCII character '{c}' (engines repeat its last byte or the whole character)"
            i += 1
            atom = True
        else:
            atom = c not in "|^$"
            i += 1
    return None


def _escape(p: str, i: int, in_class: bool) -> tuple[str | None, int]:
    if i + 1 >= len(p):
        return "a trailing '\\'", i + 1
    e = p[i + 1]
    if e == "x":
        if re.fullmatch(r"[0-9a-fA-F]{2}", p[i + 2:i + 4]) and int(p[i + 2:i + 4], 16) < 0x80:
            return None, i + 4
        return "a \\x escape that is not two hex digits below 80", i
    if not e.isascii():
        return f"an escaped non-ASCII character '\\{e}'", i
    if not e.isalnum():
        return None, i + 2  # an escaped punctuation character stands for itself everywhere
    if e in _CLASS_ESCAPES or (not in_class and e in "bBA"):
        return None, i + 2
    if e.isdigit():
        return f"a backreference or octal escape '\\{e}'", i
    if in_class and e in "bBA":
        return f"'\\{e}' inside a class", i
    return _ESCAPE_NAMES.get(e, "the escape \\" + e), i


def _class(p: str, i: int) -> tuple[str | None, int]:
    """A [...] class from p[i] == '['; returns where it ends."""
    start = i
    i += 1
    if i < len(p) and p[i] == "^":
        i += 1
    if i < len(p) and p[i] == "]":
        return "a ']' first in a class (write \\])", i
    while i < len(p):
        c = p[i]
        if c == "]":
            return None, i + 1
        if c == "\\":
            found, i = _escape(p, i, in_class=True)
            if found:
                return found, i
            continue
        if c == "[":
            posix = re.match(r"\[[:.=]\^?[a-z]*[:.=]\]", p[i:])
            return (f"a POSIX class '{posix.group()}'" if posix else "a '[' inside a class (write \\[)"), i
        if p[i:i + 2] in ("&&", "--", "||", "~~"):
            return f"'{p[i:i + 2]}' inside a class (a set operation to Java and to Python's future re)", i
        if not c.isascii():
            return f"a non-ASCII character '{c}' inside a class", i
        i += 1
    return f"an unclosed class '{p[start:start + 10]}'", i


def _group(p: str, i: int) -> tuple[str | None, int]:
    if not p.startswith("(?", i):
        return None, i + 1
    if p.startswith("(?:", i):
        return None, i + 3
    for prefix, name in _GROUP_NAMES:
        if p.startswith(prefix, i):
            return name, i
    m = re.match(r"\(\?([A-Za-z-]*)([:)])", p[i:])
    if not m or not m.group(1) or not set(m.group(1)) <= _FLAGS:
        return f"the group '{p[i:i + 6]}'", i
    if m.group(2) == ")" and i != 0:
        return f"inline flags '{m.group()}' after the start (write them first, or scoped: (?{m.group(1)}:...))", i
    return None, i + m.end()
