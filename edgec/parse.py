"""Source text → syntax tree (edgec.syntax), with friendly syntax errors."""
from __future__ import annotations

import importlib.util
import pkgutil
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING

from . import directives
from .diagnostics import CompileError, Sink, Span, printable, span_of
from .lalr import Driver, Token, tables
from .syntax import MAX_DIGITS, Comment, Document, Stmt, Value, VarRef

if TYPE_CHECKING:
    from lark import Lark, Tree

DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
RATE_WINDOW_S = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
                 "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
SIZE_BYTES = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
              "kib": 1024, "mib": 1024**2, "gib": 1024**3}
# upper bounds of literals (docs/language.md): a duration or a size beyond these is a typo, not a setting
MAX_DURATION_MS = 3650 * DURATION_MS["d"]  # ten years: HSTS max-ages of two years are usual
MAX_SIZE_BYTES = 1024**4


@lru_cache(maxsize=1)
def _sources() -> tuple[str, ...]:
    """What the parser and its tables are made from (the cache key), read without importing lark."""
    # the loader's own read (zip-safe, like importlib.resources, which costs ~4 ms of imports)
    grammar = pkgutil.get_data("edgec.grammar", "edge.lark").decode("utf-8")
    code = "".join(pkgutil.get_data(__package__, f).decode("utf-8") for f in ("lexer.py", "lalr.py"))
    from .usercache import installed
    return grammar, code, installed("lark")


@lru_cache(maxsize=1)
def parser() -> "Lark":
    grammar = _sources()[0]
    # strict mode (terminal collisions are errors) needs interegular, a test dependency: the
    # tests hold the grammar to it, and users do not pay for importing it
    strict = importlib.util.find_spec("interegular") is not None
    from .parser_cache import load_or_build
    return load_or_build(lambda: _build(grammar, strict), *_sources(), str(strict))


def _build(grammar: str, strict: bool) -> "Lark":
    from lark import Lark

    from .lexer import SharedScannerLexer
    return Lark(grammar, parser="lalr", strict=strict, propagate_positions=True, maybe_placeholders=True,
                _plugins={"ContextualLexer": SharedScannerLexer})


def _span(tok: Token) -> Span:
    """A token's span: (line, column, end line, end column) are its last four."""
    return span_of(tok[2:])


def _word_of(tok: Token) -> Value:
    """A bare word as written (a keyword or a name)."""
    text = tok[1]
    return Value("word", text, text, span_of(tok[2:]))


def spanned(method):
    """A rule's builder method that takes the node's Span (None for an empty node) after its children."""
    method.spanned = True
    return method


# control characters and bidirectional overrides: invisible, or they reorder what a reader sees
# ("Trojan Source", CVE-2021-42574); a tab is fine
_HIDDEN_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_HIDDEN = re.compile(f"[{_HIDDEN_CHARS}]")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "$": "$"}
# a string body's pieces: a plain run, an escape, a ${variable}, an unclosed ${, a lone $
_STRING_PIECES = re.compile(r"[^\\$]+|\\u[0-9a-fA-F]{4}|\\.|\$\{[^}]*\}|\$\{|\$")
# a string body that is its own value: no escape, no variable, nothing hidden (most strings)
_PLAIN = re.compile(f"[^\\\\${_HIDDEN_CHARS}]*")
# a DURATION's and a SIZE's number and unit (the grammar's terminals tell which units there are)
_DURATION = re.compile(r"([0-9]+)([a-z]+)")
_SIZE = re.compile(r"([0-9]+)([A-Za-z]+)")


def _declared(d: "directives.Directive"):
    """The builder of a directive whose declaration names its grammar rule's children; a
    `*name` takes the rest, keywords among them as words."""
    kind, names = d.kind, d.args
    rest = next((i for i, name in enumerate(names) if name.startswith("*")), None)
    if rest is None:
        return lambda children, span: Stmt(kind, dict(zip(names, children)), span)
    first, rest_name = names[:rest], names[rest][1:]

    def build(children, span):
        args = dict(zip(first, children))
        args[rest_name] = tuple(Value("word", c.value, c.value, _span(c)) if isinstance(c, Token) else c
                                for c in children[rest:])
        return Stmt(kind, args, span)
    return build


class _ToSyntax:
    """Rules and terminals → Stmt/Value. Terminals become Values carrying their span."""

    def __init__(self, sink: Sink):
        self.sink = sink

    def callback(self, name: str):
        """A rule's builder function and whether it takes the node's Span after the children."""
        f = getattr(self, name, None)
        if f is None:
            declared = directives.by_rule(name)
            if declared is None:  # tests/language/test_one_pass_parse.py asks for every rule's
                raise AssertionError(f"the syntax builder has nothing for the grammar's rule `{name}`")
            return _declared(declared), True
        return f, getattr(f, "spanned", False)

    def terminals(self, names) -> dict:
        """terminal type → its conversion, for the types that have one"""
        return {name: f for name in names if (f := getattr(self, name, None)) is not None}

    def transform(self, tree: "Tree") -> Stmt:
        """The syntax tree of lark's parse tree (the error-reporting parse's), each callback
        looked up once rather than at every node."""
        from lark import Token as LarkToken
        from lark import Tree

        rules: dict = {}
        terminals: dict = {}

        def walk(node: Tree):
            children = []
            for child in node.children:
                if isinstance(child, Tree):
                    child = walk(child)
                elif isinstance(child, LarkToken):
                    child = Token.of(child)
                    if child.type not in terminals:
                        terminals[child.type] = getattr(self, child.type, None)
                    f = terminals[child.type]
                    if f is not None:
                        child = f(child)
                children.append(child)
            if node.data not in rules:
                rules[node.data] = self.callback(node.data)
            f, spanned = rules[node.data]
            if not spanned:
                return f(children)
            meta = node.meta  # lark's; an empty node's has no position (the one-pass parse's None)
            return f(children, Span(meta.line, meta.column, meta.end_line, meta.end_column) if hasattr(meta, "line")
                     else None)

        return walk(tree)

    # ---- terminals ---------------------------------------------------------
    def STRING(self, tok: Token) -> Value:
        raw = tok[1]
        body = raw[1:-1]
        if _PLAIN.fullmatch(body):
            return Value("string", (body,), raw, span_of(tok[2:]))
        span = _span(tok)
        hidden = _HIDDEN.search(body)
        if hidden:
            self._hidden_character(tok, hidden.start(), hidden.group())
        parts: list = []
        buf: list[str] = []
        for m in _STRING_PIECES.finditer(body):
            piece = m.group()
            if piece[0] == "\\":
                if len(piece) == 6:
                    buf.append(chr(int(piece[2:], 16)))
                elif piece[1:] in _ESCAPES:
                    buf.append(_ESCAPES[piece[1:]])
                else:
                    col = tok.column + 1 + m.start()
                    self.sink.error("E003", f"unknown escape '{piece}' in string",
                                    Span(tok.line, col, tok.line, col + 2),
                                    hint='escapes are \\" \\\\ \\n \\t \\r \\$ and \\uXXXX')
            elif piece == "${":
                col = tok.column + 1 + m.start()
                self.sink.error("E004", "unterminated '${' in string", Span(tok.line, col, tok.line, col + 2),
                                hint="close the variable with '}', or write \\$ for a literal dollar sign")
                buf.append(body[m.start():])
                break
            elif piece.startswith("${"):
                if buf:
                    parts.append("".join(buf))
                    buf = []
                col = tok.column + 1 + m.start()
                parts.append(VarRef(sys.intern(piece[2:-1].strip()), Span(tok.line, col, tok.line, col + len(piece))))
            else:
                buf.append(piece)
        if buf or not parts:
            parts.append("".join(buf))
        return Value("string", tuple(parts), tok.value, span)

    def _hidden_character(self, tok: Token, index: int, ch: str) -> None:
        col = tok.column + 1 + index
        self.sink.error("E022", f"invisible control character U+{ord(ch):04X} in a string", Span(tok.line, col, tok.line,
                        col + 1), hint=f"it hides what the value is; write \\u{ord(ch):04x} if it is meant")

    def VAR(self, tok: Token) -> Value:
        span = _span(tok)
        return Value("var", VarRef(tok.value[2:-1].strip(), span), tok.value, span)

    def _number(self, tok: Token, digits: str) -> int | None:
        """The value of a literal's digits; None (and an error) when there are too many to be meant."""
        significant = digits.lstrip("0")
        if len(significant) > MAX_DIGITS:
            self.sink.error("E212", f"number too large: {len(significant)} digits", _span(tok),
                            hint=f"numbers have at most {MAX_DIGITS} digits")
            return None
        return int(significant or "0")

    def _at_most(self, tok: Token, value: int, bound: int, kind: str, bound_text: str) -> int:
        if value > bound:
            self.sink.error("E212", f"{kind} {printable(tok.value, 40)} is above {bound_text}, the largest a {kind} "
                            "can be", _span(tok), hint=f"write at most {bound_text}")
            return bound
        return value

    def INT(self, tok: Token) -> Value:
        return Value("int", self._number(tok, tok.value) or 0, tok.value, _span(tok))

    def DURATION(self, tok: Token) -> Value:
        number, unit = _DURATION.fullmatch(tok.value).groups()
        ms = self._at_most(tok, (self._number(tok, number) or 0) * DURATION_MS[unit], MAX_DURATION_MS, "duration",
                           "3650d")
        return Value("duration", ms, tok.value, _span(tok))

    def RATE(self, tok: Token) -> Value:
        count, unit = tok.value.split("/")
        return Value("rate", (self._number(tok, count) or 0, RATE_WINDOW_S[unit]), tok.value, _span(tok))

    def PERCENT(self, tok: Token) -> Value:
        digits = tok.value[:-1]
        number = float(digits) if self._number(tok, digits.partition(".")[0]) is not None else 0.0
        return Value("percent", number, tok.value, _span(tok))

    def SIZE(self, tok: Token) -> Value:
        number, unit = _SIZE.fullmatch(tok.value).groups()
        size = self._at_most(tok, (self._number(tok, number) or 0) * SIZE_BYTES[unit.lower()], MAX_SIZE_BYTES, "size",
                             "1024GiB")
        return Value("size", size, tok.value, _span(tok))

    NAME = TLS_VERSION = STATUS_CLASS = TARGET = VALUE_OP = staticmethod(_word_of)

    # ---- helpers -------------------------------------------------------------
    @staticmethod
    def _word(children) -> Value:
        return _word_of(children[0])

    def _options(self, opts: list, allowed_repeat: frozenset = frozenset()) -> dict:
        """`!opt` rules arrive as [keyword token, values...]; collect them by keyword."""
        out: dict = {}
        for opt in opts:
            key, values = opt
            if key.value in out and key.value not in allowed_repeat:
                self.sink.error("E010", f"'{key.value}' is given twice", _span(key),
                                hint="keep one of them")
            out[key.value] = values
        return out

    # ---- rules ----------------------------------------------------------------
    def start(self, children):
        return children[0]

    @spanned
    def edge(self, children, span):
        return Stmt("edge", {"name": children[0]}, span, tuple(children[1:]))

    @spanned
    def env_block(self, children, span):
        return Stmt("env", {"name": children[0]}, span, tuple(children[1:]))

    @spanned
    def vars_block(self, children, span):
        return Stmt("vars", {}, span, tuple(children))

    @spanned
    def assignment(self, children, span):
        return Stmt("assign", {"name": children[0], "value": children[1]}, span)

    @spanned
    def target_block(self, children, span):
        return Stmt("target", {"name": children[1]}, span, tuple(children[2:]))

    @spanned
    def target_setting(self, children, span):
        return Stmt("setting", {"name": children[0], "value": children[1]}, span)

    @spanned
    def list(self, children, span):
        items = tuple(c for c in children if c is not None)
        return Value("list", items, "", span)

    def protocol(self, children): return self._word(children)
    def algorithm(self, children): return self._word(children)
    def hash_source(self, children): return self._word(children)
    def health_method(self, children): return self._word(children)
    def timeout_kind(self, children): return self._word(children)
    def path_kind(self, children): return self._word(children)
    def header_direction(self, children): return self._word(children)
    def header_verb(self, children): return self._word(children)
    def log_format(self, children): return self._word(children)
    def access_verb(self, children): return self._word(children)
    def require_kind(self, children): return self._word(children)
    def client_cert_mode(self, children): return self._word(children)
    def verify_mode(self, children): return self._word(children)

    @spanned
    def listen(self, children, span):
        protocol, port, *items = children
        body = tuple(i for i in items if i is not None)
        return Stmt("listen", {"protocol": protocol, "port": port}, span, body)

    @spanned
    def upstream(self, children, span):
        return Stmt("upstream", {"name": children[0]}, span, tuple(children[1:]))

    def server_opt(self, children):
        return (children[0], children[1] if len(children) > 1 else True)

    @spanned
    def server(self, children, span):
        opts = self._options(children[1:])
        return Stmt("server", {"address": children[0], "weight": opts.get("weight"),
                               "backup": "backup" in opts}, span)

    @spanned
    def balance(self, children, span):
        return Stmt("balance", {"algorithm": children[0], "source": None, "name": None}, span)

    @spanned
    def balance_hash(self, children, span):
        algo = Value("word", "hash", "hash", span)
        return Stmt("balance", {"algorithm": algo, "source": children[0], "name": children[1]}, span)

    def health_opt(self, children):
        if children[0].value == "expect":
            return (children[0], (children[1], children[3]))
        return (children[0], children[1])

    @spanned
    def health(self, children, span):
        opts = self._options(children[2:])
        return Stmt("health", {"method": children[0], "path": children[1], **opts}, span)

    @spanned
    def up_timeout(self, children, span):
        return Stmt(children[0].value, {"duration": children[1]}, span)

    # block items: a keyword followed by values, each one line of its block
    @spanned
    def _item(self, children, span):
        keyword = children[0]
        return Stmt(keyword.value, {"values": tuple(children[1:])}, span)

    jwt_item = basic_item = api_key_item = external_item = cors_item = limit_item = _item

    def _auth(self, children, span, kind):
        return Stmt("auth", {"type": Value("word", kind, kind, span), "name": children[0]},
                    span, tuple(children[1:]))

    @spanned
    def auth_jwt(self, children, span): return self._auth(children, span, "jwt")

    @spanned
    def auth_basic(self, children, span): return self._auth(children, span, "basic")

    @spanned
    def auth_api_key(self, children, span): return self._auth(children, span, "api_key")

    @spanned
    def auth_external(self, children, span): return self._auth(children, span, "external")

    @spanned
    def route(self, children, span):
        return Stmt("route", {"name": children[0]}, span, tuple(children[1:]))

    @spanned
    def match(self, children, span):
        return Stmt("match", {"conditions": tuple(children)}, span)

    @spanned
    def path_cond(self, children, span):
        return Stmt("path", {"type": children[0], "value": children[1]}, span)

    @spanned
    def host_cond(self, children, span):
        hosts = []
        for c in children:
            hosts.extend(c.value if c.kind == "list" else [c])
        return Stmt("host", {"values": tuple(hosts)}, span)

    @spanned
    def method_cond(self, children, span):
        return Stmt("method", {"values": tuple(children)}, span)

    def _value_cond(self, kind, children, span):
        name = children[0]
        if len(children) == 1 or children[1] is None:
            return Stmt(kind, {"name": name, "op": "present", "value": None}, span)
        op = "exact" if children[1].value == "=" else "regex"
        return Stmt(kind, {"name": name, "op": op, "value": children[2]}, span)

    @spanned
    def header_cond(self, children, span): return self._value_cond("header", children, span)

    @spanned
    def query_cond(self, children, span): return self._value_cond("query", children, span)

    @spanned
    def key_client_ip(self, children, span):
        return ("client_ip", None)

    def key_header(self, children):
        return ("header", children[0])

    def key_claim(self, children):
        return ("claim", children[0])

    @spanned
    def cache(self, children, span):
        args = {"ttl": children[0], "methods": None, "vary": None}
        for kind, values in children[1:]:
            if args[kind] is not None:
                self.sink.error("E010", f"'{kind}' is given twice", values[0].span, hint="keep one of them")
            args[kind] = values
        return Stmt("cache", args, span)

    def cache_methods(self, children): return ("methods", tuple(children))
    def cache_vary(self, children): return ("vary", tuple(children))

    @spanned
    def strip_prefix(self, children, span):
        return Stmt("rewrite", {"what": "prefix", "from": children[0], "to": None}, span)

    @spanned
    def rewrite_prefix(self, children, span):
        return Stmt("rewrite", {"what": "prefix", "from": children[0], "to": children[1]}, span)

    @spanned
    def rewrite_path(self, children, span):
        return Stmt("rewrite", {"what": "path", "to": children[0]}, span)

    @spanned
    def rewrite_host(self, children, span):
        return Stmt("rewrite", {"what": "host", "to": children[0]}, span)

    @spanned
    def cors(self, children, span):
        return Stmt("cors", {}, span, tuple(children))

    def retry_opt(self, children):
        return (children[0], tuple(children[1:]) if children[0].value == "on" else children[1])

    @spanned
    def retries(self, children, span):
        opts = self._options(children[1:])
        return Stmt("retries", {"attempts": children[0], "on": opts.get("on"), "backoff": opts.get("backoff")},
                    span)

    @spanned
    def backend(self, children, span):
        return (children[0], children[1])

    @spanned
    def forward(self, children, span):
        return Stmt("forward", {"backends": tuple(children)}, span)

    def redirect_opt(self, children):
        return (children[0], children[1])

    @spanned
    def redirect(self, children, span):
        status, location, *opts = children
        return Stmt("redirect", {"status": status, "location": location, "opts": self._options(opts)},
                    span)

    @spanned
    def aggregate(self, children, span):
        return Stmt("aggregate", {}, span, tuple(children))

    @spanned
    def part(self, children, span):
        name, method, upstream, path, timeout = children
        return Stmt("part", {"name": name, "method": method, "upstream": upstream, "path": path,
                             "timeout": timeout}, span)

    @spanned
    def limits(self, children, span):
        return Stmt("limits", {}, span, tuple(children))


def parse(text: str, file: str = "<input>", sink: Sink | None = None) -> Document:
    """Parse one .edge file. Raises CompileError with every syntax problem found."""
    sink = sink or Sink(file)
    own = Sink(file)  # what the builder reports counts only if the one-pass parse gets to the end
    edge = _driver().parse(text, _ToSyntax(own))
    if edge is not None:
        sink.items.extend(own.items)
    else:  # not well-formed: every syntax error found and explained, then the tree walked
        from .syntax_errors import parse_tree
        tree = parse_tree(parser(), text, sink)
        if tree is None:
            raise CompileError(sink.items)
        edge = _ToSyntax(sink).transform(tree)
    comments = _comments(text)
    sink.raise_if_errors()
    return Document(file, text, edge, tuple(comments))


@lru_cache(maxsize=1)
def _driver() -> Driver:
    from .parser_cache import load_tables
    return Driver(load_tables(lambda: tables(parser()), *_sources()))


# what can hold a '#' that does not start a comment (strings, ${vars}), and comments
_HASH_HOLDERS = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"?|\$\{[^}\n]*\}|#[^\n]*')


def _comments(text: str) -> list[Comment]:
    """Comments are ignored by the grammar; find them with a scan that skips strings. Nothing
    that can hold a '#' spans two lines, so only the lines with a '#' are scanned (a file
    has tens of thousands of strings and a few comments)."""
    out = []
    line, line_start = 1, 0  # the number of the line that starts at line_start
    hash_at = text.find("#")
    while hash_at >= 0:
        start = text.rfind("\n", 0, hash_at) + 1
        end = text.find("\n", hash_at)
        if end < 0:
            end = len(text)
        line += text.count("\n", line_start, start)
        line_start = start
        for m in _HASH_HOLDERS.finditer(text, start, end):
            lex = m.group()
            if lex.startswith("#"):
                col = m.start() - start + 1
                out.append(Comment(lex.rstrip(), Span(line, col, line, col + len(lex))))
        hash_at = text.find("#", end)
    return out
