"""`tracing otlp "URL" [sample N%]`: parsed, formatted, lowered into the collector's traces
endpoint and a share, per environment through variables, its values checked; the hover shows
the reference's entry."""
from __future__ import annotations

import pytest

from edgec import ir
from edgec.editor.langref import lookup
from edgec.features import used_features
from edgec.fmt import format_source
from edgec.pipeline import analyse


def source(line: str, env: str = "") -> str:
    return (f'edge "a" {{\n{env}  upstream u {{\n    server "127.0.0.1:9001"\n  }}\n'
            f'  route r {{\n    forward u\n  }}\n  {line}\n}}\n')


def lowered(text: str, env: str | None = None) -> ir.Tracing | None:
    result = analyse(text, "a.edge", env=env)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    return result.edge.observability.tracing


def diagnostics(text: str) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.line, d.column, d.message) for d in analyse(text, "a.edge").diagnostics]


@pytest.mark.parametrize("url,expected", [
    ("http://127.0.0.1:4318", ("http://127.0.0.1:4318/v1/traces", "http", "127.0.0.1", 4318, "/v1/traces")),
    ("http://collector:4318/", ("http://collector:4318/v1/traces", "http", "collector", 4318, "/v1/traces")),
    ("https://otel.example/v1/traces", ("https://otel.example:443/v1/traces", "https", "otel.example", 443,
                                        "/v1/traces")),
    ("http://[::1]:4318/otlp", ("http://[::1]:4318/otlp/v1/traces", "http", "::1", 4318, "/otlp/v1/traces")),
])
def test_the_url_names_the_collector_and_its_traces_endpoint(url, expected):
    t = lowered(source(f'tracing otlp "{url}"'))
    assert (t.url, t.scheme, t.host, t.port, t.path) == expected
    assert t.sample_percent == ir.DEFAULT_TRACING_SAMPLE_PERCENT == 100.0


def test_a_share_per_environment():
    envs = ('  env dev {\n    collector = "http://127.0.0.1:4318"\n    share = 100%\n  }\n'
            '  env prod {\n    collector = "https://otel.example"\n    share = 0.5%\n  }\n')
    text = source("tracing otlp ${collector} sample ${share}", envs)
    dev, prod = lowered(text, "dev"), lowered(text, "prod")
    assert (dev.url, dev.sample_percent) == ("http://127.0.0.1:4318/v1/traces", 100.0)
    assert (prod.url, prod.sample_percent) == ("https://otel.example:443/v1/traces", 0.5)


def test_used_only_when_written():
    assert not [u for u in used_features(analyse(source(""), "a.edge").edge) if u.feature == "observability.tracing"]
    edge = analyse(source('tracing otlp "http://c:4318" sample 10%'), "a.edge").edge
    assert [u.feature for u in used_features(edge) if u.feature == "observability.tracing"] == ["observability.tracing"]


def test_formatted_in_place():
    assert format_source(source('tracing   otlp "http://c:4318"    sample  10%')) == \
        source('tracing otlp "http://c:4318" sample 10%')


@pytest.mark.parametrize("line,expected", [
    ('tracing otlp "ftp://c:21"', [("E221", 8, 16, "'ftp://c:21' is not an http:// or https:// collector url")]),
    ('tracing otlp "http://c:4318?x=1"', [("E221", 8, 16, "'http://c:4318?x=1' is not an http:// or https:// "
                                                           "collector url")]),
    ('tracing otlp "http://c:99999"', [("E201", 8, 16, "port 99999 is out of range (1..65535)")]),
    ('tracing otlp "http://c:4318" sample 100.5%', [("E212", 8, 39, "tracing sample 100.5% must be within 0..100%")]),
])
def test_values_it_refuses(line, expected):
    assert diagnostics(source(line)) == expected


def test_a_sample_variable_must_be_a_percentage():
    text = source("tracing otlp \"http://c:4318\" sample ${share}", '  vars {\n    share = 10\n  }\n')
    assert [d.code for d in analyse(text, "a.edge").diagnostics] == ["E108"]


def test_written_once():
    text = source('tracing otlp "http://c:4318"\n  tracing otlp "http://d:4318"')
    assert [d.code for d in analyse(text, "a.edge").diagnostics] == ["E215"]


def test_the_hover_shows_the_reference():
    entries = lookup("edge", "tracing")
    assert entries and "traceparent" in entries[0].text and "OTLP/HTTP" in entries[0].text


@pytest.mark.parametrize("target,options,expected", [
    ("envoy", {}, set()),
    ("nginx", {}, {"W402"}),
    ("spring", {}, {"W402"}),
    ("spring", {"boot": "4"}, {"W402", "E401"}),
    ("aws", {}, {"W402"}),
    ("gateway-api", {"impl": "envoy-gateway"}, {"E401"}),
    ("gateway-api", {}, {"E401"}),
])
def test_each_target_says_what_it_does_with_it(target, options, expected):
    from edgec.diagnostics import Sink
    from edgec.targets import BuildContext, get
    edge = analyse(source('tracing otlp "http://c:4318" sample 10%'), "a.edge").edge
    sink = Sink("a.edge")
    get(target).check(BuildContext(edge, sink, dict(options), target=target))
    assert {d.code for d in sink.items if "tracing" in d.message} == expected
