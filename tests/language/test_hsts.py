"""`hsts`: parsed, formatted, lowered and reported as a feature of its listener; every
target's capability table says what it does with it."""
from __future__ import annotations

import pytest

from edgec import ir
from edgec.features import used_features
from edgec.fmt import format_source
from edgec.parse import parse
from edgec.pipeline import analyse
from edgec.targets import get, names


def source(hsts: str, protocol: str = "https") -> str:
    tls = '    tls cert "/c.pem" key "/k.pem"\n' if protocol == "https" else ""
    return (f'edge "h" {{\n  listen {protocol} 8443 {{\n{tls}    {hsts}\n  }}\n'
            '  upstream u {\n    server "127.0.0.1:9001"\n  }\n  route r {\n    forward u\n  }\n}\n')


def diagnostics(text: str) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.line, d.column, d.message) for d in analyse(text, "h.edge").diagnostics]


def test_the_statement_and_its_options():
    [listen] = [s for s in parse(source("hsts 365d include_subdomains preload")).edge.body if s.kind == "listen"]
    [hsts] = [s for s in listen.body if s.kind == "hsts"]
    assert hsts.args["max_age"].value == 365 * 86_400_000
    assert [o.value for o in hsts.args["options"]] == ["include_subdomains", "preload"]


@pytest.mark.parametrize("written,expected", [
    ("hsts 365d include_subdomains preload", ir.Hsts(31_536_000, True, True)),
    ("hsts 730d include_subdomains preload", ir.Hsts(63_072_000, True, True)),  # two years, as hstspreload.org advises
    ("hsts 2h", ir.Hsts(7200, False, False)),
    ("hsts 0s", ir.Hsts(0, False, False)),  # max-age=0 tells browsers to forget the host
    ("hsts 30d preload include_subdomains", ir.Hsts(2_592_000, True, True)),
])
def test_lowered_to_seconds_and_flags(written, expected):
    edge = analyse(source(written), "h.edge").edge
    assert edge.listeners[0].hsts == expected


def test_the_header_value_follows_rfc_6797():
    assert ir.Hsts(31_536_000, True, True).header_value == "max-age=31536000; includeSubDomains; preload"
    assert ir.Hsts(600, False, False).header_value == "max-age=600"


def test_formatted_in_place():
    messy = source("hsts   365d    include_subdomains").replace("    hsts", "        hsts")
    assert format_source(messy) == source("hsts 365d include_subdomains")


@pytest.mark.parametrize("written,expected", [
    ("hsts 1500ms", [("E221", 4, 10, "hsts max-age 1500ms is not whole seconds")]),
    ("hsts 365d preload preload", [("E010", 4, 23, "'preload' is given twice"),
                                   ("W317", 4, 15, "hsts preload needs include_subdomains")]),
])
def test_values_it_refuses(written, expected):
    assert diagnostics(source(written)) == expected


def test_given_twice_in_one_listener():
    text = source("hsts 365d\n    hsts 1d")
    assert [d[:2] for d in diagnostics(text)] == [("E215", 5)]


def test_a_syntax_error_for_an_unknown_option():
    assert diagnostics(source("hsts 365d subdomains"))[0][0] in ("E001", "E011", "E018")


def test_only_on_https_listeners():
    assert [d[0] for d in diagnostics(source("hsts 365d", protocol="http"))] == ["E225"]


def test_a_feature_of_its_listener():
    edge = analyse(source("hsts 365d"), "h.edge").edge
    uses = [u for u in used_features(edge) if u.feature == "listener.hsts"]
    assert [(u.where, u.span.line) for u in uses] == [("listener https:8443", 2)]
    assert not [u for u in used_features(analyse(source("http2"), "h.edge").edge) if u.feature == "listener.hsts"]


@pytest.mark.parametrize("target", names())
def test_every_target_expresses_it(target):
    assert get(target).capabilities["listener.hsts"].level == "native"
