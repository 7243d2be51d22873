"""nginx configuration as a directive tree, printed by one small builder (as crossplane does).

Every argument is either source text (a plain `str`) or nginx syntax written by the emitter
(`Expr`, built with `expr()` from literal parts and `Var`s). The printer quotes every argument
with `quote()`, the one quoting function, so that nginx's lexer reads back exactly the text
meant. Source text that lands where nginx expands variables (a "complex value": header
values, `return` text, `rewrite` replacements, map values...) has each `$` replaced by
`${edgec_dollar}`, a `geo` variable whose value is a literal `$`; nginx has no escape for
`$` in those places. Where nginx does not expand variables (map keys, regexes, locations,
server names) source text is printed as it is.

Directives a location writes for one route alone (its proxy_pass, its own headers, the
JWT settings, the per-request choice's map entries) are many and printed once: they are
made as printed lines (`line`, `entry`), through the same quoting, rather than as
directive objects printed later.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

DOLLAR_VAR = "edgec_dollar"

# The longest token nginx's lexer reads: its buffer (NGX_CONF_BUFFER) is 4,096 bytes, and
# nginx 1.22 reads a token of 4,094 bytes and refuses one of 4,095 ("too long parameter")
PARAMETER_BYTES = 4094


class TooLong(ValueError):
    """A token of the config is longer than nginx reads: no file with it may leave edgec."""

    def __init__(self, token: str):
        super().__init__(f"a parameter of {len(token.encode('utf-8')):,} bytes ({token[:40]}...): nginx refuses "
                         f"one over {PARAMETER_BYTES:,} bytes")


def fits(token: str) -> str:
    """The printed token, when nginx reads it; TooLong otherwise."""
    # a character is at most 4 bytes: most tokens need no encoding to be known short
    if len(token) * 4 > PARAMETER_BYTES and len(token.encode("utf-8")) > PARAMETER_BYTES:
        raise TooLong(token)
    return token

# directive → argument positions that nginx compiles as complex values (variables expanded);
# "*" means every argument. Map and split_clients entries: the value position.
COMPLEX_ARGS: dict[str, frozenset[int] | str] = {
    "add_header": frozenset({1}),
    "proxy_set_header": frozenset({1}),
    "return": frozenset({1}),
    "rewrite": frozenset({1}),
    "set": frozenset({1}),
    "proxy_pass": frozenset({0}),
    "proxy_cache_key": frozenset({0}),
    "auth_basic": frozenset({0}),
    "auth_basic_user_file": frozenset({0}),
    "hash": frozenset({0}),
    "limit_req_zone": frozenset({0}),
    "log_format": "*",
    "split_clients": frozenset({0}),
    "access_log": frozenset({0}),
    "ssl_certificate": frozenset({0}),
    "ssl_certificate_key": frozenset({0}),
    "root": frozenset({0}),
}
# blocks whose entries are `key value;` with a complex value
VALUE_BLOCKS = frozenset({"map", "split_clients"})

_BARE = re.compile(r"[A-Za-z0-9_./:=*@+,%^~$()-]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Expr(str):
    """nginx text written by the emitter: variables in it are meant as variables."""


@dataclass(frozen=True)
class Var:
    name: str

    def __post_init__(self):
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"not an nginx variable name: {self.name!r}")


def literal(text: str) -> str:
    """Source text as part of a complex value: `$` can only be written through a variable."""
    return text.replace("$", "${" + DOLLAR_VAR + "}")


def expr(*parts: str | Var) -> Expr:
    """A complex value from literal source parts and variables, e.g. expr("v=", Var("host"))."""
    out = []
    for i, part in enumerate(parts):
        if isinstance(part, Var):
            following = next((p for p in parts[i + 1:] if not (isinstance(p, str) and p == "")), "")
            # braces only where the next character would extend the variable's name
            glued = isinstance(following, str) and bool(re.match(r"[A-Za-z0-9_]", following))
            out.append("${" + part.name + "}" if glued else "$" + part.name)
        else:
            out.append(literal(part))
    return Expr("".join(out))


def quote(text: str) -> str:
    """The one quoting function: a token nginx's lexer reads back as exactly `text`, or
    TooLong when nginx would refuse it (every token of the config is printed through here)."""
    if _BARE.fullmatch(text) and text[0] not in "\"'" and len(text) <= PARAMETER_BYTES:
        return text  # most tokens (~140,000 at 10,000 routes): bare, and ASCII, so a byte a character
    return fits(quoted(text))


def quoted(text: str) -> str:
    """`text` as a token, however long.

    Inside double quotes nginx turns \\" into ", \\\\ into \\, and \\n \\r \\t into the control
    characters; a backslash before anything else stays. So escaping backslash and double
    quote (and spelling line breaks and tabs) round-trips every string without NUL."""
    if "\0" in text:
        raise ValueError("nginx configuration text cannot contain NUL")
    if _BARE.fullmatch(text) and text[0] not in "\"'":
        return text
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def printed(text: str, complex_value: bool) -> tuple[str, bool]:
    """An argument as printed, and whether it spells a `$` through the edgec_dollar variable."""
    if not complex_value:
        return quote(text), False
    value = text if isinstance(text, Expr) else literal(text)
    return quote(value), "${" + DOLLAR_VAR + "}" in value


class Dollar(str):
    """A printed line that spells a `$` through the edgec_dollar variable, which the config must
    then define."""


@lru_cache(maxsize=None, typed=True)  # typed: an Expr and a str of the same text differ
def line(name: str, *args: str | int) -> str:
    """`name args;` printed (without its indentation), to stand in a block as a directive would.
    Kept until the build ends (Emitter.emit empties it): route after route writes the same
    proxy_pass, the same header, and a bounded cache spent more evicting than it saved."""
    positions = COMPLEX_ARGS.get(name)
    out, dollar = [name], False
    for j, a in enumerate(args):
        if a.__class__ is int:
            a = str(a)
        if positions is not None and (positions == "*" or j in positions):
            text, spelled = printed(a, True)
            dollar = dollar or spelled
        else:
            text = quote(a)
        out.append(text)
    text = " ".join(out) + ";"
    return Dollar(text) if dollar else text


@lru_cache(maxsize=None, typed=True)
def entry(key: str, value: str) -> str:
    """A map entry printed (without its indentation): a regex key, or default, as it is, and
    its value a complex value. Only those keys: emit.hash_sizes sizes the map hash from the
    exact keys, which it finds in the entries left as directives. Kept until the build ends,
    as `line` is: map after map ends in the same default."""
    if not (key.startswith("~") or key == "default"):
        raise ValueError(f"an exact map key is written as a directive: {key!r}")
    text, spelled = printed(value, True)
    text = f"{quote(key)} {text};"
    return Dollar(text) if spelled else text


_NUMBERS = frozenset({int, bool})


@dataclass
class D:
    """One directive: name, arguments, and a block (None for `name args;`)."""

    name: str
    args: tuple[str, ...] = ()
    block: list[D] | None = None
    comment: str | None = None  # written above the directive; emitter text, never source text

    def __init__(self, name: str, *args: str | int, block: list[D] | None = None, comment: str | None = None):
        self.name = name
        # a few hundred thousand directives at 10,000 routes: numbers are rare, looked for in C
        self.args = args if _NUMBERS.isdisjoint(map(type, args)) else \
            tuple(str(a) if isinstance(a, int) else a for a in args)
        self.block = block
        self.comment = comment


class Chunk(D):
    """Directives that recur unchanged in block after block (the proxy headers, timeouts and
    retries that route after route shares): made once, printed once per depth and then copied,
    as if its directives stood in the block itself. Found by what it is made from (Chunks)."""

    def __init__(self, directives: list[D | str]):
        if any(isinstance(d, D) and d.comment is not None for d in directives):
            # a comment's blank line above it depends on the line before the chunk
            raise ValueError("a chunk's directives carry no comments")
        super().__init__("", block=directives)


class Chunks:
    """One Chunk per key: the same directives, made from the same parts, are the same object,
    which the printer prints once."""

    def __init__(self) -> None:
        self._made: dict[tuple, Chunk | None] = {}

    def get(self, key: tuple, make: Callable[[], list[D]]) -> list[D]:
        """[the chunk] of what make() returns (made the first time `key` is asked), [] when that is none."""
        try:
            chunk = self._made[key]
        except KeyError:
            directives = make()
            chunk = self._made[key] = Chunk(directives) if directives else None
        return [chunk] if chunk is not None else []


@dataclass
class Printer:
    indent: str = "    "
    used_dollar: bool = field(default=False)
    # an argument → its printed form (and whether it spells a `$`): the same values recur in
    # location after location
    _plain: dict[str, str] = field(default_factory=dict, repr=False)
    _complex: dict[str, tuple[str, bool]] = field(default_factory=dict, repr=False)  # source text
    _expr: dict[str, tuple[str, bool]] = field(default_factory=dict, repr=False)  # an Expr (equal text, other meaning)
    # a chunk's id, depth and block → the chunk (kept, so that its id stays its own), its lines, and
    # whether they spell a `$`
    _chunks: dict[tuple[int, int, str | None], tuple[Chunk, list[str], bool]] = field(default_factory=dict, repr=False)

    def render(self, directives: list[D], depth: int = 0) -> str:
        """The directives as text, each line indented `depth` levels."""
        return "\n".join(self.lines(directives, depth)) + "\n"

    def lines(self, directives: list[D], depth: int = 0) -> list[str]:
        """The directives' lines (without line breaks), each indented `depth` levels: for a
        file joined once (at 10,000 routes each copy of its 22 MB text costs more than
        printing a tenth of its lines)."""
        lines: list[str] = []
        self._block(directives, depth, lines, parent=None)
        return lines

    def _arg(self, text: str, complex_value: bool) -> str:
        if not complex_value:
            known = self._plain.get(text)
            if known is None:
                known = self._plain[text] = quote(text)
            return known
        known = (self._expr if text.__class__ is Expr else self._complex).get(text)
        if known is None:
            known = printed(text, True)
            (self._expr if text.__class__ is Expr else self._complex)[text] = known
        if known[1]:
            self.used_dollar = True
        return known[0]

    def _block(self, directives: list[D | str], depth: int, lines: list[str], parent: str | None) -> None:
        # ~380,000 lines at 10,000 routes: the common cases (a printed line, a map entry of one
        # value) take the fewest steps
        pad = self.indent * depth
        append = lines.append
        arg = self._arg
        values = parent in VALUE_BLOCKS
        for i, d in enumerate(directives):
            kind = d.__class__
            if kind is str:  # printed already (line, entry)
                append(pad + d)
                continue
            if kind is Dollar:
                append(pad + d)
                self.used_dollar = True
                continue
            if kind is Chunk:
                lines += self._chunk(d, depth, parent)
                continue
            if d.comment is not None:
                if i and lines and lines[-1].strip():
                    append("")
                for text in d.comment.splitlines():
                    append(f"{pad}# {text}".rstrip())
            args = d.args
            if values:
                # map/split_clients entry: the key is printed as is, the value is a complex value
                if len(args) == 1:
                    head = pad + arg(d.name, False) + " " + arg(args[0], True)
                else:
                    head = " ".join([pad + arg(d.name, False)] + [arg(a, True) for a in args])
            elif not args:
                head = pad + d.name
            else:
                positions = COMPLEX_ARGS.get(d.name)
                if positions is None:
                    head = " ".join([pad + d.name] + [arg(a, False) for a in args])
                else:
                    head = " ".join([pad + d.name] + [arg(a, positions == "*" or j in positions)
                                                      for j, a in enumerate(args)])
            if d.block is None:
                append(head + ";")
            else:
                append(head + " {")
                self._block(d.block, depth + 1, lines, parent=d.name)
                append(pad + "}")

    def _chunk(self, chunk: Chunk, depth: int, parent: str | None) -> list[str]:
        known = self._chunks.get((id(chunk), depth, parent))
        if known is None:
            outside, self.used_dollar = self.used_dollar, False
            lines: list[str] = []
            self._block(chunk.block, depth, lines, parent)
            known = self._chunks[(id(chunk), depth, parent)] = (chunk, lines, self.used_dollar)
            self.used_dollar = outside
        if known[2]:
            self.used_dollar = True
        return known[1]


# ---- values in nginx's own syntax --------------------------------------------------------------

def internal_uri(*parts: str) -> str:
    """The URI of a location only nginx's own subrequests ask (auth_request, mirror, njs). It
    starts with "//": nginx merges the slashes of a client's path before it looks for a
    location (merge_slashes, never turned off here) and a route's path is normalised the same
    way (routing.decoded_path), so no request reaches it and no route's location is it; an
    exact location, it is found before any prefix or regex location a route covers it with."""
    return "//edgec/" + "/".join(parts)


def duration(ms: int) -> str:
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600}h"
    if s >= 300 and s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def size(n: int) -> str:
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


def header_var(name: str) -> str:
    """$http_NAME for a request header (nginx lower-cases and maps '-' to '_')."""
    return "http_" + name.lower().replace("-", "_")


def map_key(text: str) -> str:
    """An exact map key: a leading '~' or '\\', or a word map reads as a parameter, is escaped."""
    if text[:1] in ("~", "\\") or text in ("default", "hostnames", "include", "volatile"):
        return "\\" + text
    return text
