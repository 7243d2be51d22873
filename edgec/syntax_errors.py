"""Syntax errors: a friendly message for each one, and recovery so that one run reports them all.

Messages come first from a table of labelled bad inputs, matched with lark's
`match_examples` (an error gets the label of the example that failed in the same parser
state on the same kind of token); what the table does not cover is described from the
token found and the tokens the parser could accept.

Recovery repairs the token stream locally (replace, insert or delete one token, close the
blocks left open, pop back to where the token fits) and otherwise skips the rest of the
line: statements start with their own keyword, one per line, so the next line is a good
place to start again. Only the first error on a line is reported, which keeps echoes of
one mistake out of the report.
"""
from __future__ import annotations

import difflib
import re
from copy import copy

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_parser_state import ParserState

from .diagnostics import Sink, Span, printable
from .keptcode import dataclass

MAX_SYNTAX_ERRORS = 10
MAX_REPAIRS = 1000  # echoes are repaired quietly; past this many the file is junk, and parsing stops

VALUE_TERMINALS = ("STRING", "NAME", "INT", "DURATION", "RATE", "PERCENT", "SIZE", "VAR")
BLOCK_WORDS = {"env", "vars", "listen", "upstream", "auth", "route", "limits"}  # statements that open a block
BLOCK_KEYWORDS = {"EDGE", "ENV", "VARS", "LISTEN", "UPSTREAM", "AUTH", "ROUTE", "CORS", "AGGREGATE", "LIMITS"}
_FAKE_VALUES = {"STRING": '""', "NAME": "_", "INT": "0", "DURATION": "1s", "RATE": "1/s", "PERCENT": "1%",
                "SIZE": "1b", "VAR": "${_}", "VALUE_OP": "=", "TLS_VERSION": "1.2"}

TERMINAL_WORDS = {
    "RBRACE": "'}'", "LBRACE": "'{'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='",
    "NAME": "a name", "STRING": "a string in double quotes", "INT": "a number",
    "DURATION": "a duration such as 5s or 250ms", "RATE": "a rate such as 100/min",
    "PERCENT": "a percentage such as 10%", "SIZE": "a size such as 10mb", "VAR": "a ${variable}",
    "VALUE_OP": "'=' or '~'", "TLS_VERSION": "1.2 or 1.3", "MINUS": "'-'", "$END": "end of file",
}


@dataclass(frozen=True)
class Label:
    """What an example error means. `message` and `hint` may say {found} (the token found)
    and {found_after} (the token before it)."""

    code: str
    message: str
    hint: str
    any_token: bool = False  # the label fits whatever token is found in that state
    same_line: bool = False  # only when the token is on the line of the one before (a new line starts a statement)


# ---- the table of labelled bad inputs ---------------------------------------------------------
# Each fragment is placed in a context (see _contexts) and must fail to parse right at
# the mistake; tests/language/test_syntax_errors.py checks that each one gets its label.
MISSING_NAME = Label("E013", "this {found_after} needs a name", "write: {found_after} NAME { ... }")
AUTH_NAME = Label("E013", "an auth provider needs a name", "write: auth jwt NAME { ... } (or basic, api_key, external)")
EMPTY_MATCH = Label("E014", "`match` needs at least one condition", 'write: match path prefix "/api" '
                    '(or host, method, header, query)', any_token=True)
LIST_COMMA = Label("E015", "list items are separated by commas", "add ',' before {found}")
FORWARD_COMMA = Label("E015", "the upstreams of a forward are separated by commas",
                      "write: forward a 90%, b 10%", same_line=True)
NO_RATE = Label("E016", "rate_limit needs a rate first", "write: rate_limit 100/min by client_ip burst 20",
                any_token=True)
MISSING_BRACE_OPEN = Label("E017", "missing '{' after '{found_after}'", "add '{' after {found_after}",
                           any_token=True)
NO_EDGE = Label("E019", 'a file starts with `edge "NAME" {`', 'wrap everything in: edge "my-edge" { ... }',
                any_token=True)
AFTER_EDGE = Label("E019", "text after the end of the edge block",
                   "everything goes inside `edge \"NAME\" { }`; an extra '}' above may have closed it early",
                   any_token=True)
LISTEN_PORT = Label("E018", "listen needs a port", "write: listen http 8080 { ... }", any_token=True)
LISTEN_PROTOCOL = Label("E018", "listen needs a protocol before the port", "write: listen http 8080 (or https)")
FORWARD_TARGET = Label("E018", "forward needs an upstream", "write: forward UPSTREAM (or a 90%, b 10%)")
RESPOND_STATUS = Label("E018", "respond needs a status code", 'write: respond 200 "body"')
HEALTH_METHOD = Label("E018", "health needs a method and a path", 'write: health get "/healthz" every 5s')
HASH_SOURCE = Label("E018", "balance hash needs what to hash",
                    'write: balance hash header "X-User" (or cookie "c", client_ip, uri)', any_token=True)
TLS_KEY = Label("E018", "tls needs both a certificate and a key",
                'write: tls cert "/etc/edge/server.crt" key "/etc/edge/server.key"', any_token=True)
CONDITION_OP = Label("E018", "a header or query condition needs an operator",
                     'write: header "X" = "value", header "X" ~ "regex", or header "X" present')
PART_METHOD = Label("E018", "an aggregate part needs a method", 'write: name = get UPSTREAM "/path"')
PATH_KIND = Label("E018", "a path condition needs its kind", 'write: path prefix "/api" (or exact, regex)')

EXAMPLES: list[tuple[Label, str, tuple[str, ...]]] = [
    (MISSING_NAME, "edge", ("route {\n}", "upstream {\n}", "env {\n}")),
    (AUTH_NAME, "edge", ("auth jwt {\n}", "auth basic {\n}", "auth api_key {\n}", "auth external {\n}")),
    (EMPTY_MATCH, "route", ("match\nforward u", "match\n}")),
    (LIST_COMMA, "env", ('a = ["x" "y"]', "a = [1 2]", 'a = ["x" ${y}]')),
    (FORWARD_COMMA, "route", ("forward a 90% b 10%", "forward a b", "forward a 2 b 1")),
    (NO_RATE, "route", ("rate_limit burst 20", "rate_limit by client_ip", "rate_limit\n}")),
    (MISSING_BRACE_OPEN, "edge", ('route r\nmatch path prefix "/"', 'upstream u\nserver "a:1"')),
    (NO_EDGE, "top", ("route r {\n}", 'upstream u {\n}', "listen http 80", 'metrics "/m"', "x", '"x"')),
    (AFTER_EDGE, "top", ('edge "x" {\n}\nroute r {\n}', 'edge "x" {\n}\n}', 'edge "x" {\n}\nx',
                         'edge "x" {\nmetrics "/m"\n}\nroute r {\n}', 'edge "x" {\nmetrics "/m"\n}\n}')),
    (LISTEN_PORT, "edge", ("listen http {\n}", "listen https\n}")),
    (LISTEN_PROTOCOL, "edge", ("listen 8080 {\n}",)),
    (FORWARD_TARGET, "route", ("forward\n}", "forward 90%")),
    (RESPOND_STATUS, "route", ('respond "ok"', "respond\n}")),
    (HEALTH_METHOD, "upstream", ('health "/h"', "health every 5s")),
    (HASH_SOURCE, "upstream", ("balance hash\n}", 'balance hash "X"')),
    (TLS_KEY, "listen", ('tls cert "c"\n}', 'tls cert "c" http2')),
    (CONDITION_OP, "route", ('match header "X" "v"', 'match query "q" "v"')),
    (PART_METHOD, "aggregate", ('u = users "/me"',)),
    (PATH_KIND, "route", ('match path "/api"',)),
]


def _contexts(context: str, fragment: str) -> list[str]:
    """The fragment placed where it belongs, first in its block and after another item (the
    parser states differ by stack depth, and match_examples compares both)."""
    if context == "top":
        return [fragment]
    inner = {
        "edge": ("{f}", 'metrics "/m"\n{f}'),
        "env": ("env e {{\n{f}\n}}", "env e {{\nb = 1\n{f}\n}}"),
        "route": ("route r {{\n{f}\n}}", "route r {{\nauth a\n{f}\n}}"),
        "upstream": ("upstream u {{\n{f}\n}}", "upstream u {{\nkeepalive 1\n{f}\n}}"),
        "listen": ("listen https 80 {{\n{f}\n}}", "listen https 80 {{\nhttp2\n{f}\n}}"),
        "aggregate": ("route r {{\naggregate {{\n{f}\n}}\n}}", 'route r {{\naggregate {{\nb = get u "/"\n{f}\n}}\n}}'),
    }[context]
    return ['edge "x" {\n' + template.format(f=fragment) + "\n}\n" for template in inner]


_EXAMPLE_CACHE: dict[int, tuple] = {}


def _example_errors(p: Lark) -> tuple[dict[str, UnexpectedInput], list[tuple[Label, list[str], set[str]]]]:
    """Every example's first error, computed once per parser; and the table with each
    label's example texts and the token types its examples fail on."""
    if id(p) in _EXAMPLE_CACHE:
        return _EXAMPLE_CACHE[id(p)]
    errors: dict[str, UnexpectedInput] = {}
    table = []
    for label, context, fragments in EXAMPLES:
        texts, token_types = [], set()
        for fragment in fragments:
            for text in _contexts(context, fragment):
                try:
                    p.parse(text)
                except UnexpectedToken as err:
                    errors[text] = err
                    texts.append(text)
                    token_types.add(err.token.type)
                except UnexpectedInput:
                    continue
        table.append((label, texts, token_types))
    _EXAMPLE_CACHE[id(p)] = errors, table
    return errors, table


def label_for(p: Lark, err: UnexpectedToken, new_line: bool = False) -> Label | None:
    """The table's label for this error (lark's match_examples over the cached examples)."""
    errors, table = _example_errors(p)

    def replay(text: str):
        raise errors[text]

    candidates = [(label, texts) for label, texts, types in table
                  if texts and (label.any_token or err.token.type in types) and not (new_line and label.same_line)]
    # use_accepts=False: lark 1.3 formats a debug message with %d over a ParserState when
    # accepts differ, and the state (position and depth) is what the examples are about
    return err.match_examples(replay, candidates, token_type_match_fallback=True,
                              use_accepts=False) if candidates else None


# ---- describing what was expected ---------------------------------------------------------------

def describe_expected(expected: set[str], p: Lark) -> list[str]:
    terminals = {t.name: t for t in p.terminals}
    words = set()
    for name in expected:
        if name in TERMINAL_WORDS:
            words.add(TERMINAL_WORDS[name])
            continue
        pattern = getattr(terminals.get(name), "pattern", None)
        words.add(f"'{pattern.value}'" if pattern is not None and pattern.type == "str" else name.lower())
    return sorted(words)


def keyword_terminals(p: Lark) -> dict[str, str]:
    """terminal name → keyword text, for the terminals that are keywords."""
    return {t.name: t.pattern.value for t in p.terminals
            if t.pattern.type == "str" and t.pattern.value.isidentifier()}


def shown(text: str) -> str:
    return printable(text, limit=40)


# a quantity's terminal → what it is; its units are read from the terminal's pattern
QUANTITIES = {"DURATION": "a duration", "RATE": "a rate", "SIZE": "a size"}
_WORD_END = set(' \t\r\n{}"#,[]=()$;:\'')


def units_of(p: Lark, terminal: str) -> list[str]:
    """The units a quantity terminal accepts, read from its pattern: `[0-9]+(?:ms|s|m)` → ms, s, m."""
    pattern = next(t.pattern.value for t in p.terminals if t.name == terminal)
    return re.search(r"\(\?:([^)]*)\)", pattern).group(1).split("|")


def word_at(text: str, start: int, end: int) -> tuple[int, int]:
    """The run of characters, up to blanks and punctuation, that holds text[start:end]: what the
    user wrote as one word, which the lexer may have cut in pieces (`5sec` → `5s` `ec`)."""
    while start > 0 and text[start - 1] not in _WORD_END:
        start -= 1
    while end < len(text) and text[end] not in _WORD_END:
        end += 1
    return start, end


# ---- parsing with recovery ------------------------------------------------------------------------

class _Parse:
    def __init__(self, p: Lark, text: str, sink: Sink):
        self.p, self.text, self.sink = p, text, sink
        self.ip = p.parse_interactive(text)
        self.ps: ParserState = self.ip.parser_state
        self.quiet_conf = copy(self.ps.parse_conf)
        self.quiet_conf.callbacks = {}
        self.keyword_of = keyword_terminals(p)
        self.last: Token | None = None  # the last token the parser accepted
        self.reported_lines: set[int] = set()
        self.reported = 0
        self.panic_line: int | None = None  # skipping the rest of this line
        self.brace_depth = 0  # skipping a block opened on a skipped line
        self.resyncing = False  # after a skip, until a token is accepted
        self.repairs = 0
        self.open_line = False  # the skipped line opened a block whose body is still read

    # -- parser state helpers ---------------------------------------------------------------
    def _fits(self, types: list[str], stack_len: int | None = None) -> bool:
        n = len(self.ps.state_stack) if stack_len is None else stack_len
        trial = ParserState(self.quiet_conf, self.ps.lexer, self.ps.state_stack[:n], self.ps.value_stack[:n - 1])
        try:
            for t in types:
                trial.feed_token(Token(t, _FAKE_VALUES.get(t, "")), t == "$END")
        except UnexpectedToken:
            return False
        return True

    def accepts(self) -> set[str]:
        return {t for t in self.ip.choices() if t.isupper() and self._fits([t])}

    def _fake(self, type_: str, at: Token) -> Token:
        return Token.new_borrow_pos(type_, _FAKE_VALUES.get(type_, self.keyword_of.get(type_, "")), at)

    def open_blocks(self) -> list[tuple[str, int]]:
        """(description, line) of each block still open, outermost first."""
        values = self.ps.value_stack
        out: list[tuple[str, int]] = []
        for i, v in enumerate(values):
            if isinstance(v, Token) and v.type == "RBRACE" and out:
                out.pop()
            elif isinstance(v, Token) and v.type == "LBRACE":
                words = []
                for prev in reversed(values[:i]):
                    if isinstance(prev, Token):
                        words.insert(0, prev)
                        if prev.type in BLOCK_KEYWORDS:
                            break
                kw = words[0] if words else None
                name = next((w for w in words[1:] if w.type in ("NAME", "STRING")), None)
                what = (str(kw) if kw is not None else "block") + (f" {name}" if name is not None else "")
                out.append((what, v.line))
        return out

    # -- reporting -----------------------------------------------------------------------------
    def report(self, code: str, message: str, span: Span, hint: str | None) -> None:
        self.reported_lines.add(span.line)
        self.reported += 1
        self.sink.error(code, message, span, hint=hint)

    def keywords(self, accepts: set[str]) -> dict[str, str]:
        """keyword text → terminal name, for the keywords the parser accepts."""
        return {self.keyword_of[t]: t for t in accepts if t in self.keyword_of}

    def _quiet(self, line: int, accepts: set[str]) -> bool:
        """An echo of an error already reported: on its line, or while the parser is still
        inside the statement that was skipped."""
        return line in self.reported_lines or (self.resyncing and "RBRACE" not in accepts)

    # -- the loop --------------------------------------------------------------------------------
    def run(self):
        tokens = self.ip.lexer_thread.lex(self.ps)
        while self.reported < MAX_SYNTAX_ERRORS and self.repairs < MAX_REPAIRS:
            try:
                tok = next(tokens)
            except StopIteration:
                return self.finish()
            except UnexpectedCharacters as err:
                if not self.bad_characters(err):
                    return None
                tokens = self.ip.lexer_thread.lex(self.ps)
                continue
            except UnexpectedToken as err:  # lexed as a terminal this state cannot take
                tok = err.token
                if self.skipping(tok):
                    self.repairs += 1  # a lexer error costs as much as a repair
                    tokens = self.ip.lexer_thread.lex(self.ps)
                    continue
                if not self.bad_token(tok):
                    return None
                tokens = self.ip.lexer_thread.lex(self.ps)
                continue
            if self.skipping(tok):
                continue
            try:
                self.ip.feed_token(tok)
            except UnexpectedToken:
                if not self.bad_token(tok):
                    return None
                continue
            self.last, self.resyncing = tok, False
        return None

    def skipping(self, tok: Token) -> bool:
        if self.brace_depth:
            self.brace_depth += {"LBRACE": 1, "RBRACE": -1}.get(tok.type, 0)
            return True
        if self.panic_line is not None and tok.line == self.panic_line:
            if tok.type == "LBRACE" and not self.open_line:
                self.brace_depth = 1
            return True
        self.panic_line = None
        return False

    def finish(self):
        last = self.last
        if self.reported:
            return None
        if last is None:
            self.report("E019", 'the file is empty: it starts with `edge "NAME" {`', self.end_of_text(),
                        'write: edge "my-edge" { ... }')
            return None
        try:
            return self.ip.feed_eof(last)
        except UnexpectedToken:
            pass
        blocks = self.open_blocks()
        if blocks and self._fits(["RBRACE"]):
            missing = next((k for k in range(1, len(blocks) + 1) if self._fits(["RBRACE"] * k + ["$END"])),
                           len(blocks))
            what, line = blocks[-1]
            self.report("E002", f"unexpected end of file: {what} (opened on line {line}) is not closed",
                        self.end_of_text(), "add the missing '}'" if missing == 1 else f"add {missing} missing '}}'")
        else:
            expected = describe_expected(self.accepts(), self.p)
            self.report("E002", f"unexpected end of file: '{shown(str(last))}' is not finished", self.after(last),
                        "expected " + ", ".join(expected[:8]))
        return None

    def end_of_text(self) -> Span:
        lines = self.text.rstrip().split("\n")
        line, col = len(lines), len(lines[-1]) + 1
        return Span(line, col, line, col + 1)

    @staticmethod
    def after(tok: Token) -> Span:
        line, col = _end_line(tok), tok.end_column or tok.column + len(tok)
        return Span(line, col, line, col + 1)

    # -- a token the parser cannot take ------------------------------------------------------------
    def bad_token(self, tok: Token) -> bool:
        """Report (unless it is an echo) and repair. False: stop parsing."""
        self.repairs += 1
        accepts = self.accepts()
        plan = self.repair(tok, accepts)
        # a run of lines that cannot be read, or text after an edge closed early, follow from the
        # first mistake: reporting each would bury it
        follows = self.resyncing and plan[0] == "skip_line" or (accepts <= {"$END"} and self.reported)
        if not self._quiet(tok.line, accepts) and not follows:
            code, message, span, hint = self.describe(tok, accepts, plan)
            self.report(code, message, span, hint)
        elif self.last is None or accepts == {"$END"}:
            return False
        try:
            return self.apply(tok, plan)
        except UnexpectedToken:  # a repair that did not fit after all: skip the line instead
            return self.apply(tok, ("skip_line",))

    def repair(self, tok: Token, accepts: set[str]) -> tuple:
        if tok.type in ("EQUAL", "VALUE_OP", "COMMA", "MINUS") and self.last is not None:
            return ("delete",)
        same_line = self.last is not None and tok.line == _end_line(self.last)
        if tok.type in VALUE_TERMINALS and "COMMA" in accepts and (same_line or tok.type != "NAME") \
                and self._fits(["COMMA", tok.type]):
            return ("insert", ["COMMA"])
        if self._block_word_in_assignments(accepts):
            return ("skip_line_open",)
        if tok.type == "NAME":  # a misspelt keyword is read as the keyword, when the guess is a close one
            keywords = self.keywords(accepts)
            guess = difflib.get_close_matches(str(tok), list(keywords), n=1, cutoff=0.75)
            if guess:
                return ("replace", [keywords[guess[0]]])
        if self.last is None or accepts <= {"$END"}:
            return ("stop",)
        if tok.type in VALUE_TERMINALS and same_line:
            preference = {"INT": ("DURATION", "RATE", "SIZE", "PERCENT", "STRING"),
                          "NAME": ("STRING",), "STRING": ("NAME",), "DURATION": ("INT",),
                          "PERCENT": ("INT",)}.get(tok.type, ()) + VALUE_TERMINALS
            for t in preference:
                if t in accepts and t != tok.type:
                    return ("replace", [t])
        is_keyword = tok.type in self.keyword_of or tok.type == "RBRACE"
        if is_keyword:
            for k in range(1, len(self.open_blocks()) + 1):
                if self._fits(["RBRACE"] * k + [tok.type]):
                    return ("insert", ["RBRACE"] * k)
        if same_line or is_keyword:  # a value is missing; a name on a new line is a new statement
            for t in sorted(accepts - {"$END", "RBRACE"}, key=lambda t: (t not in ("LBRACE", "COMMA"), t)):
                if self._fits([t, tok.type]):
                    return ("insert", [t])
        if is_keyword:
            for n in range(len(self.ps.state_stack) - 1, 1, -1):
                if self._fits([tok.type], stack_len=n):
                    return ("pop", n)
        return ("skip_line",)

    def _block_word_in_assignments(self, accepts: set[str]) -> bool:
        """`env prod {` read inside an env block whose '}' is missing: the keyword was taken for
        a variable's name, and '=' is expected after it."""
        last = self.last
        return (last is not None and last.type == "NAME" and str(last) in BLOCK_WORDS and accepts == {"EQUAL"})

    def apply(self, tok: Token, plan: tuple) -> bool:
        kind = plan[0]
        if kind == "stop":
            return False
        if kind == "replace":
            self.ip.feed_token(self._fake(plan[1][0], tok))
        elif kind == "insert":
            for t in plan[1]:
                self.ip.feed_token(self._fake(t, tok))
            self.ip.feed_token(tok)
        elif kind == "pop":
            del self.ps.state_stack[plan[1]:]
            del self.ps.value_stack[plan[1] - 1:]
            self.ip.feed_token(tok)
        elif kind in ("skip_line", "skip_line_open"):
            self.panic_line, self.resyncing = tok.line, True
            if tok.type == "LBRACE" and kind == "skip_line":
                self.brace_depth = 1
            self.open_line = kind == "skip_line_open"
            return True
        else:  # delete
            return True
        self.last, self.resyncing = tok, False
        return True

    def describe(self, tok: Token, accepts: set[str], plan: tuple) -> tuple[str, str, Span, str | None]:
        found = shown(str(tok))
        span = Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)
        expected = describe_expected(accepts, self.p)
        expect_hint = "expected " + ", ".join(expected[:10])
        whole = self.whole_word(tok, accepts)
        if whole is not None:
            return whole
        if tok.type in ("EQUAL", "VALUE_OP"):
            return ("E008", f"unexpected '{found}' here", span,
                    "settings are written `keyword value`, without ':' or '=' (only variables use '=')")
        if tok.type == "INT" and accepts & {"DURATION", "RATE", "SIZE"}:
            unit = next(k for k in ("DURATION", "RATE", "SIZE") if k in accepts)
            what, fix = {"DURATION": ("a duration", f"{found}s, {found}ms, {found}m or {found}h"),
                         "RATE": ("a rate", f"{found}/s or {found}/min"),
                         "SIZE": ("a size", f"{found}kb or {found}mb")}[unit]
            return "E009", f"{what} needs a unit: '{found}' has none", span, f"write {fix}"
        if accepts <= {"$END"}:
            return AFTER_EDGE.code, AFTER_EDGE.message, span, AFTER_EDGE.hint
        if plan[0] == "skip_line_open":
            what, line = self.open_blocks()[-1]
            word = str(self.last)
            return ("E012", f"missing '}}' before '{word}': {what} (opened on line {line}) is not closed",
                    Span(self.last.line, self.last.column, self.last.line, self.last.column + len(word)),
                    f"add '}}' to close {what} before line {self.last.line}")
        keywords = self.keywords(accepts)
        if plan[0] == "replace" and plan[1][0] in self.keyword_of and tok.type == "NAME":
            where = f" in {self.open_blocks()[-1][0]}" if self.open_blocks() else ""
            return "E011", f"unknown keyword '{found}'{where}", span, f"did you mean '{self.keyword_of[plan[1][0]]}'?"
        err = UnexpectedToken(tok, accepts, state=self.ps, interactive_parser=self.ip)
        label = label_for(self.p, err, new_line=self.last is not None and tok.line > _end_line(self.last))
        if label is not None:
            after = str(self.last) if self.last is not None else ""
            if label.code == "E018" and self.last is not None and tok.line > _end_line(self.last):
                span = self.after(self.last)

            def fill(text: str) -> str:
                return text.replace("{found_after}", shown(after)).replace("{found}", found)
            return label.code, fill(label.message), span, fill(label.hint)
        if plan[0] == "insert" and plan[1][0] == "RBRACE":
            what, line = self.open_blocks()[-1]
            return ("E012", f"missing '}}' before '{found}': {what} (opened on line {line}) is not closed", span,
                    f"add '}}' to close {what} before line {tok.line}")
        if plan[0] == "insert" and plan[1] == ["COMMA"]:
            return "E015", "list items are separated by commas", span, f"add ',' before {found}"
        if tok.type == "STRING" and "NAME" in accepts:
            return "E021", f"names are written without quotes: {found}", span, f"write {found[1:-1] or 'NAME'}"
        if tok.type in VALUE_TERMINALS and tok.type != "STRING" and "STRING" in accepts and "NAME" not in accepts:
            return "E020", f"expected a string in double quotes, found {found}", span, f'write "{found}"'
        ends_early = tok.type == "RBRACE" or tok.type in self.keyword_of or tok.line > _end_line(self.last or tok)
        if self.last is not None and ends_early and (plan[0] == "pop" or (
                plan[0] == "insert" and plan[1][0] not in ("RBRACE", "COMMA", "LBRACE"))):
            return ("E018", f"'{shown(str(self.last))}' is not finished", self.after(self.last), expect_hint)
        if tok.type == "NAME" or tok.type in self.keyword_of:
            guess = difflib.get_close_matches(str(tok), list(keywords), n=1, cutoff=0.75) or \
                sorted(k for k in keywords if str(tok) in k.split("_"))  # timeout → connect_timeout, ...
            where = f" in {self.open_blocks()[-1][0]}" if self.open_blocks() else ""
            if tok.type == "NAME":
                message = f"unknown keyword '{found}'{where}"
            else:
                message = f"'{found}' cannot be used here{where}"
            hint = ("did you mean " + " or ".join(f"'{g}'" for g in guess) + "?") if guess else (
                "expected one of: " + ", ".join(sorted(keywords)[:12]) if keywords else expect_hint)
            return "E011", message, span, hint
        return "E001", f"unexpected '{found}' here", span, expect_hint

    def whole_word(self, tok: Token, accepts: set[str]) -> tuple[str, str, Span, str | None] | None:
        """A word the lexer cut in pieces (`5sec`, `1.5s`, `least_connections`) is reported whole,
        with what that place takes, instead of the piece the parser stumbled on."""
        if tok.start_pos is None or tok.end_pos is None:
            return None
        start, end = word_at(self.text, tok.start_pos, tok.end_pos)
        if (start, end) == (tok.start_pos, tok.end_pos):
            return None
        word = self.text[start:end]
        span = Span(tok.line, tok.column - (tok.start_pos - start), tok.line, tok.column + (end - tok.start_pos))
        last = self.last
        glued = last is not None and last.start_pos is not None and last.start_pos >= start
        if word[0].isdigit():
            kind = last.type if glued else next((k for k in QUANTITIES if k in accepts), None)
            if kind not in QUANTITIES:
                return None
            return self.bad_quantity(word, kind, span)
        if glued and last.type in self.keyword_of:
            # the keywords that could stand where the word starts: those of the state before `last`
            alternatives: list[str] = []
            if self.ps.value_stack and self.ps.value_stack[-1] is last:
                n = len(self.ps.state_stack) - 1
                alternatives = sorted(self.keyword_of[t] for t in self.keyword_of if self._fits([t], stack_len=n))
            alternatives = alternatives or [self.keyword_of[last.type]]
            where = f" in {self.open_blocks()[-1][0]}" if self.open_blocks() else ""
            guess = difflib.get_close_matches(word, alternatives, n=1, cutoff=0.5) or [self.keyword_of[last.type]]
            return ("E011", f"unknown keyword '{shown(word)}'{where}", span,
                    f"did you mean '{guess[0]}'? expected one of: " + ", ".join(alternatives[:12]))
        return None

    def bad_quantity(self, word: str, kind: str, span: Span) -> tuple[str, str, Span, str]:
        what = QUANTITIES[kind]
        units = units_of(self.p, kind)
        number = re.match(r"[0-9]+(?:\.[0-9]+)?", word).group(0)
        whole, written = number.split(".")[0], word[len(number):].lstrip("/")
        if "." in number:
            fix = _whole_duration(number, written) if kind == "DURATION" else None
            return ("E009", f"'{shown(word)}' is not {what}: it takes a whole number", span,
                    f"write {fix}" if fix else f"write a whole number of a smaller unit ({', '.join(units)})")
        sep = "/" if kind == "RATE" else ""
        guess = _unit_guess(written, units)
        short = [u for (u,) in _short_units(units).values()]
        fix = f"{whole}{sep}{guess}" if guess else ", ".join(f"{whole}{sep}{u}" for u in short[:-1]) + \
            f" or {whole}{sep}{short[-1]}"
        return ("E009", f"'{shown(word)}' is not {what}: the {'windows' if kind == 'RATE' else 'units'} are "
                + ", ".join(units), span, f"write {fix}")

    # -- characters no terminal starts with -----------------------------------------------------------
    def bad_characters(self, err: UnexpectedCharacters) -> bool:
        self.repairs += 1
        state = self.ip.lexer_thread.state
        pos = state.line_ctr.char_pos
        text = self.text
        ch = text[pos] if pos < len(text) else ""
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end == -1 else line_end
        allowed = set(err.allowed or ())
        span = Span.point(err.line, err.column)
        wants_string = "STRING" in allowed
        skip_to, fake = pos + 1, None
        if ch == ";":
            report = ("E005", "stray ';': statements end at the line break", "remove the ';'")
        elif ch == "'":
            close = text.find("'", pos + 1, line_end)
            skip_to, fake = (close + 1 if close != -1 else line_end), "STRING"
            report = ("E006", "strings are written in double quotes", "use \"...\" instead of '...'")
        elif ch == '"':
            skip_to, fake = line_end, "STRING"
            report = ("E007", "unterminated string", "close the string with \" on the same line")
        elif ch == "$":
            skip_to, fake = line_end, "VAR"
            report = ("E004", "unterminated '${'", "close the variable with '}'")
        elif ch == ":":
            report = ("E008", "unexpected ':' here",
                      "settings are written `keyword value`, without ':' or '=' (only variables use '=')")
        elif wants_string and ch.isprintable() and not ch.isspace() and self.last is not None:
            end = pos
            while end < line_end and not text[end].isspace() and text[end] not in '{}"#,[]':
                end += 1
            skip_to, fake = end, "STRING"
            word = shown(text[pos:end])
            report = ("E020", f"expected a string in double quotes, found {word}", f'write "{word}"')
        else:
            expected = describe_expected(allowed, self.p)
            report = ("E001", f"unexpected character '{shown(ch)}'",
                      ("expected " + ", ".join(expected[:8])) if expected else None)
        quiet = self._quiet(err.line, allowed) or self.panic_line == err.line or self.brace_depth > 0
        if not quiet:
            self.report(report[0], report[1], span, report[2])
        state.line_ctr.feed(text[pos:max(skip_to, pos + 1)])
        if fake and self.last is not None and self._fits([fake]):
            tok = Token(fake, _FAKE_VALUES[fake], pos, err.line, err.column, err.line, err.column + 1)
            self.ip.feed_token(tok)
            self.last = tok
        return True


def _whole_duration(number: str, unit: str) -> str | None:
    """1.5s → 1500ms: a fractional duration in the next smaller unit, when that is whole."""
    smaller = {"s": ("ms", 1000), "m": ("s", 60), "h": ("m", 60), "d": ("h", 24)}.get(unit)
    if smaller is None:
        return None
    value = float(number) * smaller[1]
    return f"{int(value)}{smaller[0]}" if value == int(value) else None


def _unit_guess(written: str, units: list[str]) -> str | None:
    """The unit a misspelt one most likely means (sec → s, mins → m, megs → mb): the longest unit
    it starts with, else the shortest that starts with its first letter."""
    low = written.lower()
    for unit in sorted(units, key=len, reverse=True):
        if low.startswith(unit.lower()):
            return unit
    return next(iter(_short_units(units).get(low[:1], [])), None)


def _short_units(units: list[str]) -> dict[str, list[str]]:
    """first letter → the shortest unit of that letter (s → s, m → m; k → kb), in the grammar's order."""
    out: dict[str, list[str]] = {}
    for unit in sorted(units, key=len):
        out.setdefault(unit[0].lower(), [unit])
    return out


def _end_line(tok: Token) -> int:
    return tok.end_line or tok.line


def parse_tree(p: Lark, text: str, sink: Sink):
    """The parse tree, or None after reporting every syntax error found into the sink."""
    return _Parse(p, text, sink).run()
