"""A well-formed file parsed in one pass over plain tables: no lark, no parse tree.

lark's parser builds a Tree for every rule, works out each node's source span as it goes
(propagate_positions) and edgec.parse then walks the tree again to make the syntax tree:
three Python layers per node. This driver lexes, shifts and reduces on lark's own tables,
taken out of the Lark object once (`tables`) and kept as builtins only (edgec.parser_cache),
so that loading them imports nothing of lark. It shapes each rule's children as lark's
tree builder would (tokens filtered out, `_rule`s spliced in, None for an absent
`[optional]`, `?rule`s passed through) and hands them straight to the syntax builder with
the span lark would have given the node. Terminals are converted when shifted, which is the
order a walk of lark's tree converts them in.

Tokens are those edgec.lexer's SharedScannerLexer gives lark's parser: one scanner of
every terminal, its match read as the parser's state reads it (a name-like match becomes the
state's keyword of that spelling), and the state's own scanner, exactly as lark builds it,
only where that does not fit. The driver knows nothing about errors: at the first token the
tables refuse, or text no terminal matches, it gives up (None) and the file is parsed again
by edgec.syntax_errors, which finds, explains and recovers from every syntax error. So a file
either parses here exactly as it would there, or goes there.
"""
from __future__ import annotations

import re
from operator import itemgetter
from typing import TYPE_CHECKING

from .diagnostics import span_of
from .gcpause import paused

if TYPE_CHECKING:
    from lark import Lark

END = "$END"


class Token(tuple):
    """A terminal as the syntax builder sees it: (type, value, line, column, end line, end
    column), the attributes lark's Token has for them. A tuple made in C is the cheapest
    object per token; str methods go through `.value`."""

    __slots__ = ()
    type = property(itemgetter(0))
    value = property(itemgetter(1))
    line = property(itemgetter(2))
    column = property(itemgetter(3))
    end_line = property(itemgetter(4))
    end_column = property(itemgetter(5))

    @classmethod
    def of(cls, tok) -> "Token":
        """A lark token (the error-reporting parse's) as the builder sees tokens."""
        end_line = tok.end_line or tok.line
        end_column = tok.end_column or tok.column + len(tok)
        return tuple.__new__(cls, (tok.type, str(tok), tok.line, tok.column, end_line, end_column))


def tables(p: "Lark") -> dict:
    """Everything the one-pass parse needs from a Lark object built with edgec.lexer's
    SharedScannerLexer, as builtins (ints, strs, tuples, lists, dicts) that marshal keeps.

    actions[state]: symbol → a shift (or goto) to state s as s, a reduction by rule r as ~r.
    rules[r]: (size, origin, include, nones after, passthrough, inline, builder name).
    The lexer: the shared scanner's regexes, the types a keyword may hide in, and for each
    state its keywords (spelling → type) and the index of its own scanner (lark's regexes
    of the state's terminals, and for a type that may spell one of them, those spellings)."""
    from lark.parsers.lalr_analysis import Shift

    frontend = p.parser
    parse_table = frontend.parser.parser.parse_table
    lexer = frontend.lexer
    rule_index: dict = {}
    rules: list = []
    actions: list = [None] * len(parse_table.states)
    for state, row in parse_table.states.items():
        out = {}
        for symbol, (action, arg) in row.items():
            if action is Shift:
                out[symbol] = arg
            else:
                if arg not in rule_index:
                    rule_index[arg] = len(rules)
                    rules.append(_plan(arg))
                out[symbol] = ~rule_index[arg]
        actions[state] = out

    shared = lexer.shared.scanner
    keyword_types = lexer.shared.keyword_types
    own_index: dict = {}
    own: list = []
    keywords: list = []
    lexer_of: list = []
    for state in range(len(actions)):
        scanner = lexer.lexers[state].scanner  # lark's lexer of the state (edgec.lexer._StateScanner)
        keywords.append(dict(sorted(scanner.keywords.items())))
        key = frozenset(scanner.names)
        if key not in own_index:
            own_index[key] = len(own)
            scanner._own()
            unless = {t: _patterns(cb.scanner) for t, cb in sorted(scanner.own_callbacks.items())}
            own.append((_patterns(scanner.own), unless))
        lexer_of.append(own_index[key])
    start = p.options.start[0]
    return {
        "actions": actions, "rules": rules,
        "start": parse_table.start_states[start], "end": parse_table.end_states[start],
        "terminals": [t.name for t in p.terminals],
        "shared": _patterns(shared), "keyword_types": sorted(keyword_types),
        "skip": [t.pattern.to_regexp() for t in p.terminals if t.name in lexer.root_lexer.ignore_types],
        "ignore": sorted(lexer.root_lexer.ignore_types), "newline_types": sorted(lexer.root_lexer.newline_types),
        "keywords": keywords, "lexer_of": lexer_of, "own": own,
    }


def _patterns(scanner) -> list:
    """A lark Scanner as its regexes' (source, flags): more than one only past Python's group limit."""
    return [(m.pattern, m.flags) for m in scanner._mres]


def _plan(rule) -> tuple:
    """What a reduction by one rule does (see `tables`)."""
    options = rule.options
    size = len(rule.expansion)
    origin = rule.origin.name
    empties = _nones_before(rule) if options.empty_indices else [0] * (size + 1)
    include, nones = [], 0
    for i, sym in enumerate(rule.expansion):
        nones += empties[i]
        if options.keep_all_tokens or not (sym.is_term and sym.filter_out):
            include.append((i, not sym.is_term and sym.name.startswith("_"), nones))
            nones = 0
    include = tuple(include)
    nones_after = nones + empties[size]
    # lark's ExpandSingleChild: the node is its one child (every such rule of edgec's grammar
    # has one symbol, kept: checked below)
    passthrough = bool(options.expand1 and not rule.alias)
    inline = origin.startswith("_")  # spliced into its parent: a plain list
    name = str(rule.alias or options.template_source or origin)  # the builder's callback
    if passthrough and not (size == 1 and include == ((0, False, 0),) and not nones_after):
        raise AssertionError(f"edgec.lalr does not reproduce lark's tree for `?{origin}`: "
                             "only a single kept symbol is passed through")
    return (size, str(origin), include, nones_after, passthrough, inline, name)


def _nones_before(rule) -> list[int]:
    """How many None placeholders go before each symbol (and after the last), as lark counts them."""
    bits = "".join(str(int(b)) for b in rule.options.empty_indices)
    return [len(ones) for ones in bits.split("0")]


# what a reduction does: pass its one child through, wrap the first item of a spliced list,
# append the next one, join two spliced lists, make another spliced list, or call the builder
_PASS, _ITEM, _MORE, _JOIN, _LIST, _NODE = "pass", "item", "more", "join", "list", "node"


def _reduction(size, origin, include, nones_after, passthrough, inline, name) -> tuple:
    """A rule's plan (see `tables`) as the parse loop reads it."""
    if passthrough or (inline and size == 1 and include == ((0, True, 0),) and not nones_after):
        kind = _PASS  # (a spliced list made of one spliced list is that list)
    elif inline and size == 1 and include == ((0, False, 0),) and not nones_after:
        kind = _ITEM
    elif inline and size == 2 and include == ((0, True, 0), (1, False, 0)) and not nones_after:
        kind = _MORE
    elif inline and size == 2 and include == ((0, True, 0), (1, True, 0)) and not nones_after:
        kind = _JOIN
    else:
        kind = _LIST if inline else _NODE
        if include == tuple((i, False, 0) for i in range(size)) and not nones_after:
            include = None
    return kind, origin, size, include, nones_after, name


def _compiled(patterns: list) -> list:
    return [re.compile(source, flags) for source, flags in patterns]


class Driver:
    """The one-pass parse of one grammar's tables (see `tables`)."""

    def __init__(self, data: dict):
        self.actions = data["actions"]
        self.plans = [_reduction(*rule) for rule in data["rules"]]
        self.start_state, self.end_state = data["start"], data["end"]
        self.terminal_names = tuple(data["terminals"])
        # each shared regex led by what the grammar ignores, skipped in the same match (atomic:
        # all of it, as lark's lexer skips one ignored token after another), the token optional
        skip = "|".join(data["skip"])
        self.leads = [re.compile(f"((?>(?:{skip})*))(?:{source})?", flags) for source, flags in data["shared"]]
        self.keyword_types = frozenset(data["keyword_types"])
        self.ignore = frozenset(data["ignore"])
        self.newline_types = frozenset(data["newline_types"])
        self.keywords = data["keywords"]
        self.lexer_of = data["lexer_of"]
        self.own_data = data["own"]
        self.own: dict = {}  # lexer index → compiled (regexes, {type: regexes}), made on first use

    def parse(self, text: str, builder):
        """What `builder` makes of `text`, or None if it is not a well-formed file. The
        builder converts terminals (`builder.terminals(names)`: type → function of the token)
        and rules (`builder.callback(name)`: a function of the children, and whether it takes
        the node's Span after them)."""
        # the parse makes a tree and no cycles: the collector would walk its objects again and
        # again as they pile up (a third of the time at 10,000 routes when it runs)
        with paused():
            try:
                return self._parse(text, builder)
            except KeyError:  # a goto the tables do not have: only after a token they refused
                return None

    def _own_match(self, state: int, text: str, pos: int):
        """The state's own scanner (lark's, for a token the shared one does not give it)."""
        index = self.lexer_of[state]
        scanner = self.own.get(index)
        if scanner is None:
            regexes, unless = self.own_data[index]
            scanner = self.own[index] = (_compiled(regexes), {t: _compiled(p) for t, p in unless.items()})
        regexes, unless = scanner
        for regex in regexes:
            m = regex.match(text, pos)
            if m:
                value, type_ = m.group(0), m.lastgroup
                for keyword in unless.get(type_, ()):
                    k = keyword.fullmatch(value)
                    if k:
                        return value, k.lastgroup
                return value, type_
        return None

    def _lead_match(self, text: str, pos: int):
        for regex in self.leads:
            m = regex.match(text, pos)
            if m.lastindex != 1:  # a token after what was skipped
                return m
        return m

    def _parse(self, text: str, builder):
        """The LALR loop with the lexer inlined. The span stack holds each symbol's extent as
        lark sees it: its Token, a (None, None, line, column, end line, end column) tuple
        for a rule (the same places as a Token's), or None for an empty one; a Span is made
        only for a builder method that takes one."""
        actions, plans, keywords, keyword_types = self.actions, self.plans, self.keywords, self.keyword_types
        ignore, newline_types, end_state = self.ignore, self.newline_types, self.end_state
        terminals = builder.terminals(self.terminal_names)
        callbacks: dict = {}
        lead = self.leads[0].match if len(self.leads) == 1 else self._lead_match
        new = tuple.__new__
        state = self.start_state
        stack = [state]
        values: list = []
        spans: list = []
        pos, line, line_start, end = 0, 1, 0, len(text)
        # where the next line break is: most tokens follow a space, a fifth of them a line break
        next_break = text.find("\n")
        if next_break < 0:
            next_break = end
        while True:
            if pos < end:
                m = lead(text, pos)
                skipped = m.end(1)  # after whitespace and comments: every state skips them
                if skipped > next_break:
                    line += text.count("\n", pos, skipped)
                    line_start = text.rindex("\n", pos, skipped) + 1
                    next_break = text.find("\n", skipped)
                    if next_break < 0:
                        next_break = end
                pos = skipped
                type_ = m.lastgroup
                if type_ is not None:
                    value = m[type_]
                    if type_ in keyword_types:
                        type_ = keywords[state].get(value, type_)
                    act = actions[state].get(type_)
                elif pos == end:
                    continue
                else:
                    act = None
                if act is None:  # not a token the state takes: its own scanner, as lark's lexer does
                    res = self._own_match(state, text, pos)
                    if res is None:
                        return None  # no token here: a syntax error
                    value, type_ = res
                    act = actions[state].get(type_)
                    if act is None and type_ not in ignore:
                        return None
                start_line, start_column = line, pos - line_start + 1
                if type_ in newline_types:
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = pos + value.rindex("\n") + 1
                pos += len(value)
                if pos > next_break:  # the token held a line break
                    next_break = text.find("\n", pos)
                    if next_break < 0:
                        next_break = end
                if act is None:  # ignored
                    continue
                tok = new(Token, (type_, value, start_line, start_column, line, pos - line_start + 1))
            else:
                type_, tok = END, None
                act = actions[state].get(END)
                if act is None:
                    return None
            while act < 0:  # reductions
                kind, origin, size, include, nones_after, name = plans[~act]
                if kind is _PASS:  # the node is its only child: same value, same extent
                    del stack[-1]
                elif kind is _ITEM:  # one item of a spliced list: its extent is the item's
                    values[-1] = [values[-1]]
                    del stack[-1]
                elif kind is _MORE or kind is _JOIN:  # the next item(s) of a spliced list (left recursion)
                    item = values.pop()
                    if kind is _MORE:
                        values[-1].append(item)
                    else:
                        values[-1] += item
                    last = spans.pop()
                    first = spans[-1]
                    if first is None:
                        spans[-1] = last
                    elif last is not None:
                        spans[-1] = (None, None, first[2], first[3], last[4], last[5])
                    del stack[-2:]
                else:
                    if size:
                        children = values[-size:]
                        first, last = spans[-size], spans[-1]
                        if first is None or last is None:
                            kids = [k for k in spans[-size:] if k is not None]
                            first, last = (kids[0], kids[-1]) if kids else (None, None)
                        if size == 1:
                            extent = first
                        elif first is None:
                            extent = None
                        else:
                            extent = (None, None, first[2], first[3], last[4], last[5])
                        del stack[-size:], values[-size:], spans[-size:]
                    else:
                        children, extent = [], None
                    if include is None:  # every child kept as it is
                        filtered = children
                    else:
                        filtered = []
                        for i, expand, nones in include:
                            if nones:
                                filtered += [None] * nones
                            if expand:
                                if filtered:
                                    filtered += children[i]
                                else:  # left recursion (`item*`): keep extending the same list
                                    filtered = children[i]
                            else:
                                filtered.append(children[i])
                        if nones_after:
                            filtered += [None] * nones_after
                    if kind is _LIST:
                        values.append(filtered)
                    else:
                        callback = callbacks.get(name)
                        if callback is None:
                            callback = callbacks[name] = builder.callback(name)
                        f, spanned = callback
                        if spanned:
                            span = None if extent is None else span_of(extent[2:])
                            values.append(f(filtered, span))
                        else:
                            values.append(f(filtered))
                    spans.append(extent)
                state = actions[stack[-1]][origin]
                stack.append(state)
                if tok is None and state == end_state:
                    return values[-1]
                act = actions[state].get(type_)
                if act is None:
                    return None
            stack.append(act)  # shift
            state = act
            convert = terminals.get(type_)
            values.append(tok if convert is None else convert(tok))
            spans.append(tok)
