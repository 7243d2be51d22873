"""Source regexes (Python `re` syntax, as routing runs them) rewritten for Envoy's RE2.

Envoy runs RE2 over bytes (Latin-1 mode: `.` is one byte, \\x{2603} is refused) while
routing matches code points, and Envoy's path keeps characters outside RFC 3986's set
%-encoded. The pattern is parsed with Python's own parser and printed again node by node
so that the RE2 text means what routing means on what Envoy matches, or is refused
(Unsupported says why): a non-ASCII character becomes its UTF-8 bytes (in a header or
query value; a path never holds one), `.` and negated classes match one whole UTF-8
sequence, and lookaround, backreferences, atomic and possessive repeats have no RE2 form.
Python's \\d, \\w and \\s also match non-ASCII digits, letters and spaces; here they
match ASCII only, which `ascii_classes` reports (the target warns).
Every literal character is printed as itself only when it means nothing to RE2 and as
\\x{HH} otherwise, so no source text can change the pattern's structure.
"""
from __future__ import annotations

import re
import re._constants as C  # noqa: N812  (the parser's opcode names)
import re._parser as P  # noqa: N812
from dataclasses import dataclass

from edgec.routing import decoded_path, strip_slash


class Unsupported(ValueError):
    pass


_CLASSES = {C.CATEGORY_DIGIT: "0-9", C.CATEGORY_WORD: "0-9A-Za-z_", C.CATEGORY_SPACE: "\\t\\n\\x0b\\f\\r "}
_NEGATED = {C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT, C.CATEGORY_NOT_WORD: C.CATEGORY_WORD,
            C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE}
_REFUSED = {
    C.ASSERT: "lookaround", C.ASSERT_NOT: "lookaround", C.GROUPREF: "a backreference",
    C.GROUPREF_EXISTS: "a conditional group", C.ATOMIC_GROUP: "an atomic group",
    C.POSSESSIVE_REPEAT: "a possessive repeat",
}
MAX_REPEAT = 1000  # RE2's limit on a counted repetition
# one non-ASCII character as UTF-8 bytes
_MULTIBYTE = "[\\x{C0}-\\x{DF}][\\x{80}-\\x{BF}]|[\\x{E0}-\\x{EF}][\\x{80}-\\x{BF}]{2}|[\\x{F0}-\\x{F7}][\\x{80}-\\x{BF}]{3}"
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_~!@#%&=:;,'\"<> `")


@dataclass
class Translation:
    text: str
    ascii_classes: bool  # \\d, \\w or \\s narrowed to ASCII


def char(code: int, in_class: bool = False) -> str:
    """One ASCII character as RE2 text: itself when it means nothing to RE2, else \\x{HH}."""
    c = chr(code)
    return c if c in _PLAIN or (c == "-" and not in_class) else f"\\x{{{code:X}}}"


def literal(text: str) -> str:
    """An RE2 pattern matching exactly the UTF-8 bytes of `text`."""
    return "".join(char(b) for b in text.encode("utf-8"))


def full(pattern: str, path: bool = False) -> Translation:
    """A source regex as RE2 text with the same full-match meaning (Envoy's safe_regex
    matches the whole value) over a header or query value, or over the path (path=True)."""
    try:
        parsed = P.parse(pattern)
    except re.error as err:  # lowering refused it already; kept for direct callers
        raise Unsupported(f"invalid regular expression: {err.msg}") from None
    printer = _Printer(path)
    flags = parsed.state.flags
    mods = "".join(f for f, bit in _FLAGS if flags & bit)
    body = printer.seq(list(parsed), flags, top=True)
    return Translation(f"(?{mods}){body}" if mods else body, printer.ascii_classes)


_FLAGS = (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE))


class _Printer:
    def __init__(self, path: bool):
        self.path = path
        self.ascii_classes = False

    def seq(self, items, flags: int, top: bool = False) -> str:
        out = []
        for i, (op, av) in enumerate(items):
            if op is C.AT and av is C.AT_END and not (flags & re.MULTILINE):
                # Python's `$` also matches before a final newline; at the very end of a full
                # match it can only mean the end
                if not (top and i == len(items) - 1):
                    raise Unsupported("`$` before the end of the pattern (Python's `$` also matches before a "
                                      "final newline, RE2's does not)")
                out.append("$")
                continue
            out.append(self.node(op, av, flags))
        return "".join(out)

    def negated(self, members: str) -> str:
        """Any one character but the ASCII `members` (class text without brackets)."""
        if self.path:  # a path holds no raw non-ASCII byte
            return f"[^{members}]"
        return f"(?:[^{members}\\x{{80}}-\\x{{FF}}]|{_MULTIBYTE})"

    def node(self, op, av, flags: int) -> str:
        if op in _REFUSED:
            raise Unsupported(f"{_REFUSED[op]} (RE2 has none)")
        if op is C.LITERAL:
            return self.literal(av, flags)
        if op is C.NOT_LITERAL:
            if av >= 0x80:
                raise Unsupported("a negated non-ASCII character (Envoy's RE2 matches bytes)")
            return self.negated(char(av, True))
        if op is C.ANY:
            if self.path:
                return "(?s:.)" if flags & re.DOTALL else "."
            return self.negated("") if flags & re.DOTALL else self.negated("\\n")
        if op is C.IN:
            return self.klass(av, flags)
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(list(alt), flags) for alt in av[1]) + ")"
        if op is C.SUBPATTERN:
            _group, add, delete, sub = av
            inner = self.seq(list(sub), (flags | add) & ~delete)
            on = "".join(f for f, bit in _FLAGS if add & bit)
            off = "".join(f for f, bit in _FLAGS if delete & bit)
            return f"(?{on}{'-' + off if off else ''}:{inner})"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            if lo > MAX_REPEAT or (hi is not C.MAXREPEAT and hi > MAX_REPEAT):
                raise Unsupported(f"a repetition count above {MAX_REPEAT} (RE2's limit)")
            inner = self.bytewise(list(sub), flags) if lo <= 1 and hi is C.MAXREPEAT else None
            inner = inner or self.seq(list(sub), flags)
            if not (len(sub) == 1 and (inner.startswith(("(?", "[")) and _one_group(inner) or len(inner) == 1)):
                inner = f"(?:{inner})"
            q = {(0, C.MAXREPEAT): "*", (1, C.MAXREPEAT): "+", (0, 1): "?"}.get(
                (lo, hi), f"{{{lo},}}" if hi is C.MAXREPEAT else f"{{{lo},{hi}}}")
            return inner + q + ("?" if op is C.MIN_REPEAT else "")
        if op is C.AT:
            at = {C.AT_BEGINNING: "^", C.AT_BEGINNING_STRING: "\\A", C.AT_END_STRING: "\\z", C.AT_END: "$"}
            if av in at:
                return at[av]
            raise Unsupported("\\b or \\B (Python's word boundaries are Unicode-aware, RE2's are ASCII)")
        if op is C.CATEGORY:
            return self.klass([(C.CATEGORY, av)], flags)
        raise Unsupported(f"the construct {op} (no RE2 form)")

    def bytewise(self, items, flags: int) -> str | None:
        """`.`, a negated ASCII character or class, repeated at least 0 or 1 times without
        bound: over UTF-8 its byte form means the same (no UTF-8 sequence holds an ASCII byte),
        and reads far better. None for anything else."""
        if len(items) != 1:
            return None
        op, av = items[0]
        negated = op in (C.ANY, C.NOT_LITERAL) or (op is C.IN and av and av[0][0] is C.NEGATE) or (
            op is C.CATEGORY and av in _NEGATED)
        if not negated or self.path:
            return None
        self.path = True  # print it as for a path, which holds no raw non-ASCII byte
        try:
            return self.node(op, av, flags)
        finally:
            self.path = False

    def literal(self, code: int, flags: int) -> str:
        if code < 0x80:
            return char(code)
        if self.path:
            raise Unsupported("a non-ASCII character (Envoy's path keeps it %-encoded)")
        if flags & re.IGNORECASE:
            raise Unsupported("a non-ASCII character in a case-insensitive pattern (Envoy's RE2 folds case "
                              "on bytes)")
        return "(?:" + literal(chr(code)) + ")"

    def klass(self, items, flags: int) -> str:
        negate = False
        parts = []
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL and av < 0x80:
                parts.append(char(av, in_class=True))
            elif op is C.RANGE and av[1] < 0x80:
                parts.append(f"{char(av[0], True)}-{char(av[1], True)}")
            elif op is C.CATEGORY and av in _CLASSES:
                self.ascii_classes = self.ascii_classes or not flags & re.ASCII
                parts.append(_CLASSES[av])
            elif op is C.CATEGORY and av in _NEGATED and len(items) == 1:
                self.ascii_classes = self.ascii_classes or not flags & re.ASCII
                return self.negated(_CLASSES[_NEGATED[av]])
            elif op in (C.LITERAL, C.RANGE):
                raise Unsupported("a non-ASCII character in [...] (Envoy's RE2 matches bytes)")
            else:
                raise Unsupported("a negated class (\\D, \\W, \\S) inside [...] (no RE2 form)")
        if negate:
            return self.negated("".join(parts))
        return "[" + "".join(parts) + "]"


def _one_group(text: str) -> bool:
    """Is `text` one bracketed or parenthesised unit (a quantifier may follow it directly)?"""
    if text.startswith("["):
        return text.index("]", 1) == len(text) - 1 if "]" in text[1:] else False
    depth = 0
    for i, c in enumerate(text):
        if c == "\\":
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return True


# what Envoy's path normalisation leaves as it is: a client's %XX of these is decoded
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
# what it shows raw: the RFC 3986 path characters (it %XX-encodes the others)
_RFC3986_PATH = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/")


def _normalised(text: str) -> str:
    data = text.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if b in _RFC3986_PATH else f"%{b:02X}" for b in data)


def path(value: str) -> str:
    """A configured exact path as Envoy's normalised path shows it when the client encoded
    nothing it did not have to: decoded, then the characters outside RFC 3986's path set
    %XX-encoded."""
    return _normalised(decoded_path(value))


def prefix_path(value: str) -> str:
    """A prefix as path() shows it, without its ignored trailing "/" ("" for "/"). Stripped once
    normalised, as routing reads it: "/a//" and "/a/." are "/a", "//" is "/" (Envoy refuses a
    path_separated_prefix that ends in "/")."""
    return strip_slash(path(value))


def needs_pattern(value: str) -> bool:
    """Can a client send this path in a form Envoy does not normalise to path(value)? (A
    reserved character such as ":" arrives raw or as %3A, and Envoy keeps %3A.)"""
    return not set(decoded_path(value)) <= _UNRESERVED


def path_pattern(decoded: str) -> str:
    """RE2 text matching the decoded path in every form Envoy's normalised path can show it:
    unreserved characters as themselves, other ASCII ones raw or %XX-encoded (either hex
    case), the rest %XX-encoded."""
    out = []
    for c in decoded:
        if c in _UNRESERVED:
            out.append(char(ord(c)))
            continue
        encoded = "".join("%" + "".join(f"[{d.upper()}{d.lower()}]" if d.isalpha() else d for d in f"{b:02X}")
                          for b in c.encode("utf-8", "surrogateescape"))
        raw = _normalised(c) == c
        out.append(f"(?:{char(ord(c))}|{encoded})" if raw else f"(?:{encoded})")
    return "".join(out)


def percent_tolerant(text: str) -> str:
    """An RE2 pattern matching `text` in a raw query string whichever of its characters the
    client %-encoded (routing compares decoded values, Envoy the raw ones). A "%" or "#" can
    only arrive encoded: a raw "%" starts an escape, a raw "#" the fragment."""
    out = []
    for c in text:
        encoded = "".join("%" + "".join(f"[{d.upper()}{d}]" if d.isalpha() else d for d in f"{b:02x}")
                          for b in c.encode("utf-8"))
        out.append(encoded if c in "%#" else f"(?:{char(ord(c))}|{encoded})")
    return "".join(out)
