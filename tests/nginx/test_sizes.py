"""Sizes nginx enforces, against the real `nginx -t`: the server-name and map hashes are sized
from the data (a host name or CORS origin of 47 characters failed at the default 64-byte
buckets), and a value nginx would refuse as a "too long parameter" is refused at lint with
its field named, while one just under the limit passes."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgec.pipeline import analyse

from .support import build, fresh, nginx_test, write

LONG_HOST = ".".join(["h" * 60] * 4) + ".example"  # 253 characters, four labels of the longest kind


def nginx_t(source: str):
    result = analyse(source, "s.edge")
    assert result.ok, result.diagnostics
    files, diags = build(result.edge)
    assert files is not None, [d.message for d in diags]
    with tempfile.TemporaryDirectory() as tmp:
        return files["nginx.conf"], nginx_test(write(files, fresh(Path(tmp) / "p")))


@pytest.mark.parametrize("route", [
    f'match host "{"h" * 47}.example.com" forward u',
    f'match host "{LONG_HOST}" "*.{LONG_HOST[:200]}" forward u',
    f'cors {{ origins "https://{"o" * 50}.example.com" "https://{"p" * 240}.example" }} forward u',
])
def test_long_host_names_and_origins_pass_nginx_t(route):
    conf, res = nginx_t(f'edge "s" {{\n  upstream u {{ server "127.0.0.1:9" }}\n  route r {{ {route} }}\n}}\n')
    assert res.returncode == 0, res.stderr
    assert "_hash_bucket_size" in conf


def test_many_host_names_pass_nginx_t():
    routes = "\n".join(f'  route r{i} {{ match host "h{i}.example.com" "*.w{i}.example.com" forward u }}'
                       for i in range(300))
    conf, res = nginx_t(f'edge "s" {{\n  upstream u {{ server "127.0.0.1:9" }}\n{routes}\n}}\n')
    assert res.returncode == 0, res.stderr
    assert "server_names_hash_max_size" in conf


def test_short_names_keep_nginx_defaults():
    conf, res = nginx_t('edge "s" {\n  upstream u { server "127.0.0.1:9" }\n  route r { match host "a.example" '
                        'cors { origins "https://a.example" } forward u }\n}\n')
    assert res.returncode == 0 and "hash_bucket_size" not in conf and "hash_max_size" not in conf


FIELDS = {
    "request_headers.set of route 'r'": 'request_header set "X-A" "{v}" forward u',
    "matches.path.value of route 'r'": 'match path prefix "/{v}" forward u',
    "matches.headers.value of route 'r'": 'match header "X-A" = "{v}" forward u',
    "matches.query.value of route 'r'": 'match query "q" = "{v}" forward u',
    "cors.origins of route 'r'": 'cors { origins "https://{v}" } forward u',
    "action.body of route 'r'": 'respond 200 "{v}"',
    "rewrite.path.replacement of route 'r'": 'rewrite path "/{v}" forward u',
}


@pytest.mark.parametrize("field", FIELDS)
def test_a_value_nginx_would_refuse_is_refused_at_lint_with_its_field_named(field):
    source = 'edge "s" {\n  upstream u { server "127.0.0.1:9" }\n  route r { ' + FIELDS[field] + " }\n}\n"
    over = analyse(source.replace("{v}", "x" * 4100), "s.edge", targets=("nginx",))
    errors = [d for d in over.diagnostics if d.severity == "error"]
    assert [d.code for d in errors] == ["E401"] and field in errors[0].message, errors
    assert errors[0].span is not None
    # 400 characters: well under the limit however a field is spelled (query values ten times over)
    conf, res = nginx_t(source.replace("{v}", "x" * 400))
    assert res.returncode == 0, res.stderr


def test_just_under_the_limit_passes_nginx_t():
    conf, res = nginx_t('edge "s" {\n  upstream u { server "127.0.0.1:9" }\n  route r { request_header set "X-A" "'
                        + "x" * 4000 + '" forward u }\n}\n')
    assert res.returncode == 0, res.stderr


def _characters():
    """Every character up to U+FFFF (surrogates aside: not in a UTF-8 source) and a spread of
    the 4-byte ones, with the one whose UTF-8 bytes have the most hex letters."""
    yield from (chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    yield from (chr(c) for c in range(0x10000, 0x110000, 251))
    yield "\U000FFFFF"


def _inside_quotes(text: str, query: bool) -> int:
    """printed_size without the two quotes quote() puts around a token that needs them."""
    from edgec.targets.nginx.conf import literal, quote
    from edgec.targets.nginx.problems import printed_size
    from edgec.targets.nginx.regex import literal as regex_literal
    from edgec.targets.nginx.regex import percent_tolerant
    text = text.replace("\0", "")  # as printed_size counts it (quoting refuses a NUL, lowering every control character)
    quoted = quote(literal((percent_tolerant if query else regex_literal)(text))).startswith('"')
    return printed_size(text, query) - (2 if quoted else 0)


@pytest.mark.parametrize("query", [False, True])
def test_no_character_is_printed_longer_than_the_bound_the_length_check_skips_by(query):
    """parameter_lengths only spells out strings too long to fit at the worst bytes per character."""
    from edgec.targets.nginx.problems import MOST_PRINTED_BYTES
    worst = max(_inside_quotes(ch, query) for ch in _characters())
    assert worst == MOST_PRINTED_BYTES[query]


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(), st.booleans())
def test_a_printed_size_is_the_sum_of_its_characters(a, b, query):
    """What makes the bound per character a bound for the whole string."""
    assert _inside_quotes(a + b, query) == _inside_quotes(a, query) + _inside_quotes(b, query)
