"""Syntax errors: the friendly message for each common mistake, its position, recovery that
reports several real errors in one run (and not echoes of one), and no traceback for any input."""
from __future__ import annotations

import pytest

from edgec.diagnostics import CompileError
from edgec.parse import parse, parser
from edgec.syntax_errors import EXAMPLES, MAX_SYNTAX_ERRORS, _contexts


def errors(source: str) -> list:
    with pytest.raises(CompileError) as info:
        parse(source, "t.edge")
    return info.value.diagnostics


def found(source: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in errors(source)]


def route(*lines: str) -> str:
    """A route named r holding the given lines, in an edge: line 3 is the first given line."""
    return 'edge "x" {\n  route r {\n' + "".join(f"    {line}\n" for line in lines) + "  }\n}\n"


@pytest.mark.parametrize("label,text", [
    pytest.param(label, text, id=f"{label.code}-{i}-{j}")
    for i, (label, context, fragments) in enumerate(EXAMPLES)
    for j, text in enumerate(t for f in fragments for t in _contexts(context, f))
])
def test_every_example_of_the_table_gets_its_label(label, text):
    first = errors(text)[0]
    assert first.code == label.code, (first, text)
    expected = label.message.replace("{found_after}", "").replace("{found}", "").split()[:2]
    assert all(word in first.message for word in expected), first.message


def test_the_table_examples_fail_where_the_mistake_is():
    """Each example must be a parse error (else it would silently not be in the table)."""
    from lark.exceptions import UnexpectedInput
    for label, context, fragments in EXAMPLES:
        for fragment in fragments:
            for text in _contexts(context, fragment):
                with pytest.raises(UnexpectedInput):
                    parser().parse(text)


CASES = {
    "missing close brace": ('edge "x" {\n  route a {\n    forward u\n\n  route b {\n    forward u\n  }\n}\n',
                            [("E012", 5, 3)], "route a (opened on line 2) is not closed"),
    "unit-less duration": (route("timeout 30", "forward u"), [("E009", 3, 13)], "needs a unit"),
    "unit-less rate": (route("rate_limit 100", "forward u"), [("E009", 3, 16)], "a rate needs a unit"),
    "unit-less size": ('edge "x" {\n  limits {\n    max_body 10\n  }\n}\n', [("E009", 3, 14)], "a size"),
    "stray semicolon": (route("forward u;"), [("E005", 3, 14)], "stray ';'"),
    "equals before a value": (route("timeout = 5s", "forward u"), [("E008", 3, 13)], "'='"),
    "colon before a value": (route("timeout: 5s", "forward u"), [("E008", 3, 12)], "':'"),
    "single quotes": (route("match path prefix '/api'", "forward u"), [("E006", 3, 23)], "double quotes"),
    "unknown keyword": (route("forwrd u"), [("E011", 3, 5)], "unknown keyword 'forwrd'"),
    "keyword of another block": ('edge "x" {\n  upstream u {\n    timeout 5s\n  }\n}\n', [("E011", 3, 5)],
                                 "'timeout' cannot be used here in upstream u"),
    "route without a name": ('edge "x" {\n  route {\n    forward u\n  }\n}\n', [("E013", 2, 9)],
                             "this route needs a name"),
    "match with nothing after it": (route("match", "forward u"), [("E014", 4, 5)], "at least one condition"),
    "list without commas": ('edge "x" {\n  vars {\n    a = ["x" "y"]\n  }\n}\n', [("E015", 3, 14)], "commas"),
    "forward without commas": (route("forward a 90% b 10%"), [("E015", 3, 19)], "commas"),
    "burst without rate": (route("rate_limit burst 20", "forward u"), [("E016", 3, 16)], "needs a rate"),
    "missing open brace": ('edge "x" {\n  route a\n    forward u\n  }\n}\n', [("E017", 3, 5)], "missing '{'"),
    "statement not finished": (route("match path prefix", "forward u"), [("E018", 3, 22)], "'prefix' is not finished"),
    "value missing before a brace": ('edge "x" {\n  route r {\n    timeout }\n}\n', [("E018", 3, 12)],
                                     "'timeout' is not finished"),
    "value missing before a keyword": (route("timeout forward u"), [("E018", 3, 12)], "'timeout' is not finished"),
    "listen without port": ('edge "x" {\n  listen http {\n  }\n}\n', [("E018", 2, 15)], "needs a port"),
    "respond without status": (route('respond "ok"'), [("E018", 3, 13)], "status code"),
    "text after the edge": ('edge "x" {\n  route a {\n    forward u\n  }\n  }\n  route b {\n  }\n}\n',
                            [("E019", 6, 3)], "after the end of the edge block"),
    "no edge block": ('route a {\n}\n', [("E019", 1, 1)], 'starts with `edge "NAME" {`'),
    "empty file": ("", [("E019", 1, 1)], "empty"),
    "unquoted path": (route("match path prefix /api/v1", "forward u"), [("E020", 3, 23)], "double quotes"),
    "unquoted server": ('edge "x" {\n  upstream u {\n    server localhost:8080\n  }\n}\n', [("E020", 3, 12)],
                        "double quotes"),
    "quoted name": ('edge "x" {\n  route "a" {\n    forward u\n  }\n}\n', [("E021", 2, 9)], "without quotes"),
    "unterminated string": (route('match path prefix "/api', "forward u"), [("E007", 3, 23)], "unterminated"),
    "unterminated variable": ('edge "x" {\n  listen http ${port\n}\n', [("E004", 2, 15)], "'${'"),
    "unknown escape": (route('match path prefix "/a\\qb"', "forward u"), [("E003", 3, 26)], "escape"),
    "option given twice": ('edge "x" {\n  upstream u {\n    server "a:1" weight 2 weight 3\n  }\n}\n',
                           [("E010", 3, 27)], "given twice"),
    "end of file inside a block": ('edge "x" {\n  route a {\n    forward u\n  }\n', [("E002", 4, 4)],
                                   "edge \"x\" (opened on line 1) is not closed"),
    "end of file inside a statement": ('edge "x" {\n  route a {\n    forward', [("E002", 3, 12)],
                                       "'forward' is not finished"),
    "unexpected character": (route("forward u @"), [("E001", 3, 15)], "unexpected character '@'"),
    "control character": (route('respond 200 "ok\x1b[2J"'), [("E022", 3, 20)], "U+001B"),
    "bidirectional override": (route('respond 200 "admin\u202e \u2066// not a comment"'), [("E022", 3, 23)],
                               "U+202E"),
}


@pytest.mark.parametrize("name", CASES)
def test_common_mistakes(name):
    source, expected, words = CASES[name]
    diagnostics = errors(source)
    assert [(d.code, d.line, d.column) for d in diagnostics] == expected, diagnostics
    assert words in diagnostics[0].message, diagnostics[0]
    assert diagnostics[0].hint, "every syntax error says how to fix it"


UPSTREAM_BALANCE = 'edge "x" {\n  upstream u {\n    balance least_connections\n  }\n}\n'


@pytest.mark.parametrize("source,word,column,message,hint", [
    (route("timeout 5sec", "forward u"), "5sec", 13, "'5sec' is not a duration: the units are ms, s, m, h, d",
     "write 5s"),
    (route("timeout 5min", "forward u"), "5min", 13, "'5min' is not a duration: the units are ms, s, m, h, d",
     "write 5m"),
    (route("timeout 1.5s", "forward u"), "1.5s", 13, "'1.5s' is not a duration: it takes a whole number",
     "write 1500ms"),
    (route("timeout 5x", "forward u"), "5x", 13, "'5x' is not a duration: the units are ms, s, m, h, d",
     "write 5s, 5m, 5h or 5d"),
    (route("rate_limit 100/fortnight", "forward u"), "100/fortnight", 16,
     "'100/fortnight' is not a rate: the windows are second, sec, s, minute, min, m, hour, h, day, d",
     "write 100/s, 100/m, 100/h or 100/d"),
    ('edge "x" {\n  limits {\n    max_body 10megs\n  }\n}\n', "10megs", 14,
     "'10megs' is not a size: the units are KiB, MiB, GiB, kb, mb, gb, KB, MB, GB, b", "write 10mb"),
    (UPSTREAM_BALANCE, "least_connections", 13, "unknown keyword 'least_connections' in upstream u",
     "did you mean 'least_conn'? expected one of: hash, ip_hash, least_conn, random, round_robin"),
])
def test_a_word_the_lexer_cuts_in_pieces_is_reported_whole(source, word, column, message, hint):
    """`5sec` lexes as `5s` `ec`, `least_connections` as `least_conn` `ections`: the message names and
    underlines what the user wrote, and the hint lists what that place takes (units from the grammar)."""
    [d] = errors(source)
    assert (d.line, d.column, d.span.end_column - d.column) == (3, column, len(word))
    assert (d.message, d.hint) == (message, hint)


def test_did_you_mean_for_a_misspelt_keyword():
    [d] = errors(route("forwrd u", "cahce 30s"))[:1]
    assert d.hint == "did you mean 'forward'?"


def test_did_you_mean_for_a_keyword_of_another_block():
    [d] = errors('edge "x" {\n  upstream u {\n    timeout 5s\n  }\n}\n')
    assert d.hint == "did you mean 'connect_timeout' or 'read_timeout' or 'send_timeout'?"


def test_several_errors_in_one_file_are_all_reported_once():
    source = 'edge "x" {\n' \
             '  route a {\n' \
             '    timeout 30\n' \
             '    forward u;\n' \
             '  }\n' \
             '  upstream u {\n' \
             '    server localhost:8080\n' \
             '    foo bar baz\n' \
             '    keepalive 10 idle 60\n' \
             '  }\n' \
             '  route {\n' \
             '    forwrd u\n' \
             '    qqq { a b c }\n' \
             '    forward u\n' \
             '  }\n' \
             '}\n'
    assert found(source) == [("E009", 3, 13), ("E005", 4, 14), ("E020", 7, 12), ("E011", 8, 5),
                             ("E009", 9, 23), ("E013", 11, 9), ("E011", 12, 5), ("E011", 13, 5)]


def test_a_mistake_is_reported_once_not_echoed_through_the_rest_of_its_line():
    assert found(route("zzz 1 2 3 'a' ; :", "forward u")) == [("E011", 3, 5)]


def test_recovery_after_a_missing_brace_keeps_checking_the_next_blocks():
    source = 'edge "x" {\n  route a {\n    forward u\n\n  route b {\n    timeout 5\n    forward u\n  }\n}\n'
    assert found(source) == [("E012", 5, 3), ("E009", 6, 13)]


def test_an_unknown_block_is_skipped_whole():
    source = 'edge "x" {\n  frobnicate x {\n    match path prefix "/"\n    forward u\n  }\n' \
             '  route a {\n    timeout 1\n  }\n}\n'
    assert found(source) == [("E011", 2, 3), ("E009", 7, 13)]


def test_the_number_of_errors_is_capped():
    source = 'edge "x" {\n' + "".join(f"  route r{i} {{\n    timeout {i}\n  }}\n" for i in range(30)) + "}\n"
    assert len(errors(source)) == MAX_SYNTAX_ERRORS


@pytest.mark.parametrize("source", [
    'edge "x" {\n  route a {\n    forward u\n  }\n',
    'edge "x" {\n  route a {\n    forward u\n  }\n\n\n# trailing comment\n',
    'edge "x" {\n  route a {\n    forward',
    'edge "x" {',
    'edge',
])
def test_an_error_at_the_end_of_the_file_points_at_its_last_line(source):
    [d] = errors(source)
    lines = source.rstrip().split("\n")
    assert d.code == "E002" or d.code == "E019"
    assert d.line >= 1 and d.column >= 1
    assert d.line == len(lines)
    assert d.column == len(lines[-1]) + 1


HOSTILE = [
    "\x00" * 10, "\ufeffedge \"x\" {}", "edge \"x\" {" * 500, "}" * 500, "[" * 1000,
    "edge \"x\" { vars { a = " + "[" * 300,
    "edge \"x\" {\r\n  route a {\r\n    forward u\r\n  }\r\n}\r\n", "edge \"x\" {\r  route a {\r    forward u\r  }\r}",
    "edge \"" + "a" * 100_000 + "\" {", "edge \"x\" {\n" + "  route r {\n" * 200, "\u202eedge \"x\" {}",
    "edge \"x\" { route \U0001f600 { } }", "edge \"x\" { route a { match path prefix \"\\", "${" * 100, "\"" * 99,
    "edge \"x\" {\n  vars {\n    a = \"${b\"\n  }\n}\n", "edge \"x\" { env dev { a = 1 } }" + "\x0b\x0c\x1c\x85\u2028",
    "#" * 1000, "edge \"x\" { listen http 99999999999999999999999999999 }",
]


@pytest.mark.parametrize("source", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_gives_diagnostics_with_positions_never_a_traceback(source):
    from edgec.pipeline import analyse
    result = analyse(source, "h.edge", all_envs=True)
    lines = source.split("\n")
    for d in result.diagnostics:
        assert d.span is not None
        assert 1 <= d.line <= len(lines) and d.column >= 1
    assert result.ok == (not any(d.severity == "error" for d in result.diagnostics))


def test_a_missing_brace_of_an_env_block_is_found_where_the_next_env_starts():
    source = 'edge "x" {\n  env dev {\n    a = 1\n\n  env prod {\n    a = 2\n  }\n  listen http ${a}\n}\n'
    [d] = errors(source)
    assert (d.code, d.line, d.column) == ("E012", 5, 3)
    assert d.message == "missing '}' before 'env': env dev (opened on line 2) is not closed"


def test_a_run_of_unreadable_lines_is_one_error_not_one_per_line():
    """Here `aggregate {` was deleted: its parts are not statements of a route."""
    source = route('match path exact "/me"', 'user = get users "/me"', 'orders = get orders "/mine"', "}")
    source = source.replace("  }\n}\n", "}\n", 1)
    assert found(source) == [("E011", 4, 5)]


def test_only_a_close_guess_is_read_as_the_keyword():
    """'orders' is not taken for 'cors': a name that happens to look like a keyword is not one."""
    [d] = errors(route("forward u", "orders 2"))
    assert d.hint.startswith("expected one of")
