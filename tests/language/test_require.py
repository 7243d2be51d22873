"""`require claim` and `require scope`: parsed in a route, formatted, lowered (lines kept,
scopes once each), their values checked (E231), a route without jwt auth refused (E230), and
the features a target must express."""
from __future__ import annotations

import pytest

from edgec import ir
from edgec.features import used_features
from edgec.fmt import format_source
from edgec.pipeline import analyse

AUTH = '  auth jwt main {\n    jwks "https://a.example/jwks.json"\n  }\n'


def source(route_lines: str, auth: str = "    auth main\n") -> str:
    return (f'edge "a" {{\n{AUTH}  upstream u {{\n    server "127.0.0.1:9001"\n  }}\n'
            f'  route r {{\n{auth}{route_lines}    forward u\n  }}\n}}\n')


def diagnostics(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in analyse(text, "a.edge").diagnostics]


def test_lowered_line_by_line_and_scopes_once_each():
    edge = analyse(source('    require claim "role" "admin" "owner" "admin"\n    require claim "tenant" ${t}\n'
                          '    require scope "a:read" "b"\n    require scope "b" "c"\n').replace(
        'edge "a" {\n', 'edge "a" {\n  vars {\n    t = ["acme", "globex"]\n  }\n'), "a.edge").edge
    need = edge.route("r").require
    assert [(c.name, c.values) for c in need.claims] == [("role", ("admin", "owner")), ("tenant", ("acme", "globex"))]
    assert need.scopes == ("a:read", "b", "c")
    assert sorted(u.feature for u in used_features(edge) if u.feature.startswith("auth.")) == [
        "auth.claims", "auth.jwt", "auth.scopes"]


def test_nothing_written_requires_nothing():
    edge = analyse(source(""), "a.edge").edge
    assert edge.route("r").require.empty
    assert not [u for u in used_features(edge) if u.feature in ("auth.claims", "auth.scopes")]


def test_formatted_in_place():
    messy = source('      require   claim "role"    "admin"\n  require scope "a"  "b"\n')
    assert format_source(messy) == source('    require claim "role" "admin"\n    require scope "a" "b"\n')


@pytest.mark.parametrize("line,col", [
    ('require claim "role"', 5),  # no value
    ('require claim "" "x"', 19),
    ('require claim "exp" "1700000000"', 19),
    ('require scope "a b"', 19),
    ('require scope "a" "say\\"hi"', 23),
    ('require scope ""', 19),
])
def test_impossible_requirements_are_e231(line, col):
    assert diagnostics(source(f"    {line}\n")) == [("E231", 10, col)]


@pytest.mark.parametrize("auth", ["", "    auth keys\n"])
def test_without_jwt_auth_is_e230(auth):
    text = source('    require claim "role" "admin"\n', auth).replace(
        AUTH, AUTH + '  auth api_key keys {\n    keys_file "/k"\n  }\n')
    assert [c for c, *_ in diagnostics(text) if c.startswith("E")] == ["E230"]


def test_a_variable_holding_the_values():
    edge = analyse(source('    require scope ${scopes}\n').replace(
        'edge "a" {\n', 'edge "a" {\n  vars {\n    scopes = ["x", "y"]\n  }\n'), "a.edge").edge
    assert edge.route("r").require == ir.Requirements((), ("x", "y"))


def test_the_editor_offers_and_explains_it_in_a_route():
    from edgec.editor.complete import complete
    from edgec.editor.hover import hover
    from edgec.parse import parse
    text = source('    require scope "a"\n')
    line = text.split("\n").index('    require scope "a"') + 1
    doc = parse(text, "a.edge")
    shown = hover(doc, {None: analyse(text, "a.edge").edge}, line, 6)
    assert shown and "403" in shown and "insufficient_scope" in shown
    offered = complete(text.replace('    require scope "a"\n', "    req\n"), line, 8, doc)
    assert "require" in {c.label for c in offered}
