"""Where a request is sent (a redirect's host and prefix, a Host rewrite) must be well formed:
a bad value is a positioned error, never a crash in a later stage."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse

ROUTE = 'edge "x" {{\n  upstream a {{\n    server "127.0.0.1:1"\n  }}\n  route r {{\n    {stmt}\n  }}\n}}\n'


@pytest.mark.parametrize("stmt, code, column", [
    ('redirect 302 host ":"', "E218", 23),
    ('redirect 302 host "*.example.com"', "E218", 23),
    ('rewrite host "a b"\n    forward a', "E218", 18),
    ('redirect 302 prefix "0"', "E210", 25),
])
def test_bad_redirect_target_is_a_positioned_error(stmt, code, column):
    result = analyse(ROUTE.format(stmt=stmt), "x.edge", all_envs=True)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.code, d.line, d.column) for d in errors] == [(code, 6, column)]


@pytest.mark.parametrize("stmt", ['redirect 302 host "shop.example"', 'redirect 301 prefix "/new"',
                                  'rewrite host "backend.internal"\n    forward a'])
def test_good_redirect_target_passes(stmt):
    result = analyse(ROUTE.format(stmt=stmt), "x.edge", all_envs=True)
    assert not [d for d in result.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("stmt, what", [
    ('redirect "/new?x=1"', "redirect location '/new?x=1' holds a query or fragment"),
    ('redirect "https://shop.example/new#top"', "redirect location 'https://shop.example/new#top' holds a query"),
    ('redirect 301 path "/new?x=1"', "redirect path '/new?x=1' holds '?'"),
    ('rewrite path "/new?x=1"\n    forward a', "rewritten path '/new?x=1' holds '?'"),
])
def test_a_redirect_or_rewrite_sets_no_query(stmt, what):
    """The client's query always follows the new path (Gateway API has no query to set): a
    fixed one is refused with the reason, not served differently by each target."""
    result = analyse(ROUTE.format(stmt=stmt), "x.edge", all_envs=True)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.code for d in errors] == ["E210"]
    assert errors[0].message.startswith(what) and "the client's query goes after the path" in errors[0].message
    assert errors[0].line == 6 and errors[0].hint.startswith("write the path alone")
