"""A faster drop-in for lark's contextual lexer (plugged in with Lark's `_plugins`).

lark's ContextualLexer compiles a scanner regex for each parser state it meets (about 60
for a typical file, each with a second regex of the state's keywords): most of the time a
short file takes to parse in a fresh process, which is what `edgec lint` in pre-commit is.
Every state's terminals are a subset of the grammar's, tried in the same order, so one
scanner of all terminals finds the same token whenever the type it finds is acceptable in
the state. A name-like match becomes the state's keyword of that spelling, as lark's
"unless" callback does. Only when neither applies (a syntax error, mostly) is the state's
own scanner built, exactly as lark builds it, so tokens and errors stay lark's.
tests/language/test_parser.py checks that both lexers give the same tokens and the same
errors on the samples and on mutated sources. The one-pass parse (edgec.lalr) lexes the same
way from the scanners' regexes, taken out of this lexer into its tables.
"""
from __future__ import annotations

import re
from copy import copy

from lark.lexer import BasicLexer, ContextualLexer, PatternRE, PatternStr, Scanner, UnlessCallback


class _Shared:
    """The scanner of every terminal, and the terminal types that may spell a keyword."""

    def __init__(self, lexer: BasicLexer):
        self.lexer = lexer
        self._scanner: Scanner | None = None
        self.keyword_types: set[str] = set()

    @property
    def scanner(self) -> Scanner:
        if self._scanner is None:
            terminals = self.lexer.terminals  # in lark's order of preference
            flags = self.lexer.g_regex_flags
            strings = [t for t in terminals if isinstance(t.pattern, PatternStr)]
            embedded = set()
            for rt in terminals:
                if not isinstance(rt.pattern, PatternRE):
                    continue
                regexp = re.compile(rt.pattern.to_regexp(), flags)
                for st in strings:
                    if st.priority == rt.priority and regexp.fullmatch(st.pattern.value):
                        self.keyword_types.add(rt.name)
                        if st.pattern.flags <= rt.pattern.flags:
                            embedded.add(st.name)
            self._scanner = Scanner([t for t in terminals if t.name not in embedded], flags, re,
                                    self.lexer.use_bytes)
        return self._scanner


class _StateScanner:
    """What one state's lexer sees as its scanner: the shared one, falling back to its own."""

    def __init__(self, lexer: "_StateLexer"):
        self.lexer = lexer
        self.shared: _Shared = lexer.shared
        self.names = {t.name for t in lexer.terminals}
        self.keywords = {t.pattern.value: t.name for t in lexer.terminals if isinstance(t.pattern, PatternStr)}
        self.own: Scanner | None = None
        self.own_callbacks: dict = {}

    def _own(self) -> Scanner:
        if self.own is None:
            self.own = BasicLexer._build_scanner(self.lexer)
            self.own_callbacks, self.lexer.callback = self.lexer.callback, {}
        return self.own

    @property
    def allowed_types(self):  # read by lark only to report a syntax error
        return self._own().allowed_types

    def fits(self, value: str, type_: str) -> str | None:
        """The type this state reads the shared scanner's token as, or None if it cannot take it."""
        if type_ in self.shared.keyword_types and value in self.keywords:
            return self.keywords[value]
        if type_ in self.names:
            return type_
        return None

    def match(self, text, pos):
        res = self.shared.scanner.match(text, pos)
        if res is not None:
            type_ = self.fits(*res)
            if type_ is not None:
                return res[0], type_
        res = self._own().match(text, pos)
        if res is None:
            return None
        value, type_ = res
        callback = self.own_callbacks.get(type_)
        if isinstance(callback, UnlessCallback):
            type_ = callback.scanner.fullmatch(value) or type_
        return value, type_


class _StateLexer(BasicLexer):
    shared: _Shared

    def _build_scanner(self):
        self.callback = {}  # _StateScanner returns final types
        return _StateScanner(self)


class _StateLexers(dict):
    """Parser state → its lexer, made the first time the parser is in that state. lark makes
    one per distinct set of acceptable terminals up front (about 150, ~8 ms of every start
    from the cached grammar); a file meets a fraction of them."""

    def __init__(self, conf, states, always_accept, shared: _Shared):
        super().__init__()
        self.conf, self.states, self.shared = conf, states, shared
        self.always = set(conf.ignore) | set(always_accept)
        self.by_accepts: dict[frozenset, _StateLexer] = {}

    def __missing__(self, state):
        key = frozenset(self.states[state])
        lexer = self.by_accepts.get(key)
        if lexer is None:
            conf = copy(self.conf)
            by_name = conf.terminals_by_name
            conf.terminals = [by_name[n] for n in key | self.always if n in by_name]
            lexer = self.by_accepts[key] = _StateLexer(conf)
            lexer.shared = self.shared
        self[state] = lexer
        return lexer


class SharedScannerLexer(ContextualLexer):
    BasicLexer = _StateLexer

    def __init__(self, conf, states, always_accept=()):
        lazy = conf.skip_validation  # loaded from the cache: lark checked it when it compiled the grammar
        if not lazy:
            super().__init__(conf, states, always_accept)  # makes (and checks) every state's lexer
        root_conf = copy(conf)
        root_conf.terminals = list(conf.terminals)
        root_conf.skip_validation = True  # lark has checked the terminals already
        self.root_lexer = BasicLexer(root_conf)  # lark's, for its error reports
        shared = self.shared = _Shared(self.root_lexer)
        if lazy:
            self.lexers = _StateLexers(root_conf, states, always_accept, shared)
        else:
            for lexer in set(self.lexers.values()):
                lexer.shared = shared
