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
