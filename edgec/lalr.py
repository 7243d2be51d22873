"""A well-formed file parsed in one pass: lark's LALR tables and lexer, no parse tree.

lark's parser builds a Tree for every rule, works out each node's source span as it goes
(propagate_positions) and edgec.parse then walks the tree again to make the syntax tree:
three Python layers per node, most of the time a large file takes to parse. This driver
shifts and reduces on lark's own tables, shapes each rule's children as lark's tree
builder would (tokens filtered out, `_rule`s spliced in, None for an absent `[optional]`,
`?rule`s passed through) and hands them straight to the syntax builder with the span
lark would have given the node. Terminals are converted when shifted, which is the order
a walk of lark's tree converts them in.

Tokens come from edgec.lexer's one-loop `tokens()`, the same tokens as lark's lexer gives.
It knows nothing about errors: at the first token the tables refuse, or lexing trouble,
it gives up (None) and the file is parsed again by edgec.syntax_errors, which finds,
explains and recovers from every syntax error. So a file either parses here exactly as it
would there, or goes there.
"""
from __future__ import annotations

from lark import Lark, Token
from lark.exceptions import LexError, UnexpectedInput
from lark.parsers.lalr_analysis import Shift
from lark.tree import Meta

from .diagnostics import Span


class _Plan:
    """What a reduction by one rule does."""

    __slots__ = ("size", "origin", "include", "nones_after", "passthrough", "inline", "name")

    def __init__(self, rule):
        options = rule.options
        self.size = len(rule.expansion)
        self.origin = rule.origin.name
        empties = _nones_before(rule) if options.empty_indices else [0] * (self.size + 1)
        include, nones = [], 0
        for i, sym in enumerate(rule.expansion):
            nones += empties[i]
            if options.keep_all_tokens or not (sym.is_term and sym.filter_out):
                include.append((i, not sym.is_term and sym.name.startswith("_"), nones))
                nones = 0
        self.include = tuple(include)
        self.nones_after = nones + empties[self.size]
        # lark's ExpandSingleChild: the node is its one child (every such rule of edgec's
        # grammar has one symbol, kept: see `usable`)
        self.passthrough = bool(options.expand1 and not rule.alias)
        self.inline = self.origin.startswith("_")  # spliced into its parent: a plain list
        self.name = rule.alias or options.template_source or self.origin  # the builder's callback
        if self.passthrough and not (self.size == 1 and self.include == ((0, False, 0),) and not self.nones_after):
            raise AssertionError(f"edgec.lalr does not reproduce lark's tree for `?{self.origin}`: "
                                 "only a single kept symbol is passed through")


def _nones_before(rule) -> list[int]:
    """How many None placeholders go before each symbol (and after the last), as lark counts them."""
    bits = "".join(str(int(b)) for b in rule.options.empty_indices)
    return [len(ones) for ones in bits.split("0")]


class _Position:
    """What lark's contextual lexer reads from a parser: the state it is in."""

    __slots__ = ("position",)

    def __init__(self, state):
        self.position = state


class Driver:
    """The tables and rule plans of one grammar."""

    def __init__(self, p: Lark):
        frontend = p.parser
        parse_table = frontend.parser.parser.parse_table
        self.lexer = frontend.lexer
        self.states = parse_table.states
        start = p.options.start[0]
        self.start_state = parse_table.start_states[start]
        self.end_state = parse_table.end_states[start]
        self.plans = _Plans()
        self.terminal_names = tuple(t.name for t in p.terminals)

    def parse(self, text: str, builder):
        """What `builder` makes of `text`, or None if it is not a well-formed file. The
        builder converts terminals (`builder.terminals(names)`: type → function of the token)
        and rules (`builder.callback(name)`: a function of the children and the span)."""
        try:
            return self._parse(text, builder)
        except (KeyError, UnexpectedInput, LexError):
            return None

    def _parse(self, text: str, builder):
        states, plans = self.states, self.plans
        terminals = builder.terminals(self.terminal_names)
        callbacks = _Callbacks(builder)
        state_stack = [self.start_state]
        values: list = []
        spans: list = []  # each symbol's extent as lark sees it: its token, a Span, or None (empty)
        where = _Position(self.start_state)
        last = None
        for tok in self.lexer.tokens(text, where):
            last = tok
            self._feed(tok, state_stack, values, spans, states, plans, terminals, callbacks)
            where.position = state_stack[-1]
        end = Token.new_borrow_pos("$END", "", last) if last is not None else Token("$END", "", 0, 1, 1)
        return self._feed(end, state_stack, values, spans, states, plans, terminals, callbacks)

    def _feed(self, tok, state_stack, values, spans, states, plans, terminals, callbacks):
        type_ = tok.type
        end_state = self.end_state
        while True:
            action, arg = states[state_stack[-1]][type_]  # KeyError: a token that does not fit
            if action is Shift:
                state_stack.append(arg)
                convert = terminals.get(type_)
                values.append(tok if convert is None else convert(tok))
                spans.append(tok)
                return None
            plan = plans[arg]
            size = plan.size
            if not plan.passthrough:
                if size:
                    children, kids = values[-size:], spans[-size:]
                    del state_stack[-size:], values[-size:], spans[-size:]
                else:
                    children, kids = [], []
                span = _extent(kids)
                filtered: list = []
                for i, expand, nones in plan.include:
                    if nones:
                        filtered += [None] * nones
                    if expand:
                        if filtered:
                            filtered += children[i]
                        else:  # left recursion (`item*`): keep extending the same list
                            filtered = children[i]
                    else:
                        filtered.append(children[i])
                if plan.nones_after:
                    filtered += [None] * plan.nones_after
                values.append(filtered if plan.inline else callbacks[plan.name](filtered, span))
                spans.append(span)
            else:  # the node is its only child: same value, same extent
                del state_stack[-1]
            state_stack.append(states[state_stack[-1]][plan.origin][1])
            if type_ == "$END" and state_stack[-1] == end_state:
                return values[-1]


def _extent(kids: list) -> Span | None:
    """From the start of the first child that has one to the end of the last (lark's rule)."""
    for first in kids:
        if first is not None:
            break
    else:
        return None
    for last in reversed(kids):
        if last is not None:
            break
    return Span(first.line, first.column, last.end_line, last.end_column)


class _Plans(dict):
    """Rule → its plan, made when a file first reduces by it (a sample uses a fraction of the
    grammar, and a start-up pays for what it uses)."""

    def __missing__(self, rule):
        plan = self[rule] = _Plan(rule)
        return plan


class _Callbacks(dict):
    """Rule name → the builder's function for it, looked up once per parse."""

    def __init__(self, builder):
        super().__init__()
        self.builder = builder

    def __missing__(self, name):
        f = self[name] = self.builder.callback(name)
        return f


def tree_meta(span: Span | None) -> Meta:
    """lark's Meta for a node the builder keeps as a lark Tree."""
    meta = Meta()
    if span is not None:
        meta.line, meta.column, meta.end_line, meta.end_column = span.line, span.column, span.end_line, span.end_column
        meta.empty = False
    return meta
