"""Each trap of nginx's location choice, imported and asked of edgec's routing: the answers are
nginx's, as its documentation states them (https://nginx.org/en/docs/http/ngx_http_core_module.html#location).
Each location answers its own name, so the expected body names the location nginx picks.
tests/importers/test_nginx_verify.py sends the same configurations to the real nginx."""
from __future__ import annotations

import pytest

from edgec import ir

from .support import answer, imported, wrap

TRAPS = {
    # regex locations are tried in the order written; the first that matches wins
    "regex_order": (
        'location ~ /a { return 200 "first"; }\n location ~ /a/b { return 200 "second"; }\n'
        'location / { return 200 "root"; }',
        {"/a/b/c": "first", "/x/a": "first", "/b": "root"}),
    # `^~` stops the regex search when it is the longest prefix
    "caret_tilde": (
        'location ^~ /static/ { return 200 "static"; }\n location ~ \\.jpg$ { return 200 "jpg"; }\n'
        'location / { return 200 "root"; }',
        {"/static/x.jpg": "static", "/x.jpg": "jpg", "/static": "root", "/static/": "static"}),
    # ... but only when it is the longest: a longer plain prefix lets the regexes in again
    "caret_tilde_not_longest": (
        'location ^~ /a/ { return 200 "a"; }\n location /a/b/ { return 200 "ab"; }\n'
        'location ~ \\.jpg$ { return 200 "jpg"; }',
        {"/a/b/x.jpg": "jpg", "/a/x.jpg": "a", "/a/b/x": "ab", "/a/bx.jpg": "a"}),
    # `=` wins on its own path only; a prefix location is a string prefix, not a path element
    "exact_and_prefix": (
        'location = /x { return 200 "exact"; }\n location /x { return 200 "prefix"; }\n'
        'location ~ x$ { return 200 "regex"; }',
        {"/x": "exact", "/x/": "prefix", "/xy": "prefix", "/ax": "regex", "/x/ax": "regex"}),
    # a regex beats the longest prefix, even one that equals the whole path
    "regex_over_prefix": (
        'location /docs { return 200 "docs"; }\n location ~ ^/docs/v[0-9]+$ { return 200 "version"; }',
        {"/docs/v2": "version", "/docs/v2/x": "docs", "/docs-old": "docs", "/docs": "docs"}),
    # nested: the regexes inside the longest prefix are tried first, then the server's
    "nested_regex": (
        'location /app/ { location ~ ^/app/.*\\.php$ { return 200 "nested"; } return 200 "app"; }\n'
        'location ~ \\.php$ { return 200 "php"; }\n location / { return 200 "root"; }',
        {"/app/a.php": "nested", "/b.php": "php", "/app/a": "app", "/apps/a.php": "php"}),
    # a nested `^~` skips the regexes of its own block only: the server's are still tried
    "nested_caret_tilde": (
        'location /a/ { location ^~ /a/b/ { return 200 "ab"; } return 200 "a"; }\n'
        'location ~ \\.gif$ { return 200 "gif"; }',
        {"/a/b/x.gif": "gif", "/a/b/x": "ab", "/a/x": "a", "/a/x.gif": "gif"}),
    # case-insensitive regex
    "case_insensitive": (
        'location ~* \\.(png|gif)$ { return 200 "image"; }\n location / { return 200 "root"; }',
        {"/A.PNG": "image", "/a.gif": "image", "/a.gifx": "root"}),
}


@pytest.mark.parametrize("trap", sorted(TRAPS))
def test_edgec_picks_the_location_nginx_picks(tmp_path, trap):
    body, expected = TRAPS[trap]
    edge, diags, text = imported(tmp_path, wrap(body))
    assert edge is not None, [d.message for d in diags]
    got = {path: answer(edge, path).body for path in expected}
    assert got == expected, text


def test_a_name_ending_in_slash_redirects_when_it_proxies(tmp_path):
    conf = wrap('location /api/ { proxy_pass http://127.0.0.1:9001; }\n'
                'location /docs/ { return 200 "docs"; }\n location / { return 200 "root"; }')
    edge, diags, text = imported(tmp_path, conf)
    redirect = answer(edge, "/api?x=1", host="h.example")
    assert (redirect.status, redirect.location) == (301, "http://h.example:8080/api/?x=1")
    # without a proxy, nginx does not redirect: the path falls to the longest prefix that takes it
    assert answer(edge, "/docs").body == "root"


def test_proxy_pass_with_a_uri_replaces_the_location_prefix(tmp_path):
    conf = wrap('location /api/ { proxy_pass http://127.0.0.1:9001/v1/; }\n'
                'location /raw/ { proxy_pass http://127.0.0.1:9001; }\n'
                'location /strip/ { proxy_pass http://127.0.0.1:9001/; }')
    edge, diags, text = imported(tmp_path, conf)
    assert answer(edge, "/api/users?page=2").upstream_path == "/v1/users?page=2"
    assert answer(edge, "/raw/a%20b?q").upstream_path == "/raw/a%20b?q"  # as sent: no URI part
    assert answer(edge, "/strip/x").upstream_path == "/x"
    # nginx sends the proxy_pass address as Host, which edgec cannot: said, at the proxy_pass
    assert any(d.code == "W503" and "Host: 127.0.0.1:9001" in d.message and d.span.line == 6 for d in diags)


@pytest.mark.parametrize("body, words", [
    ('location / { if ($x) { return 404; } proxy_pass http://127.0.0.1:9001; }', "`if` inside a location"),
    # a regex nested in `/` applies only where no other prefix takes the path: not expressible
    ('location / { location ~ \\.php$ { return 200 "p"; } }\n location /static/ { return 200 "s"; }',
     "regex location nested"),
    ('location / { proxy_pass http://$backend; }', "proxy_pass with variables"),
    ('location /a { proxy_pass http://127.0.0.1:9001/b; }', "proxy_pass with a URI part"),
])
def test_what_cannot_be_reproduced_is_refused_with_the_place(tmp_path, body, words):
    edge, diags, text = imported(tmp_path, wrap(body))
    assert edge is None
    refusal = [d for d in diags if d.code == "E502"]
    assert refusal and words in refusal[0].message
    assert refusal[0].file.endswith("nginx.conf") and refusal[0].span.line > 4


def test_every_directive_left_out_is_a_warning_at_its_line(tmp_path):
    conf = wrap('    gzip on;\n    location / { proxy_pass http://127.0.0.1:9001; proxy_buffering off; }')
    edge, diags, text = imported(tmp_path, conf)
    assert edge is not None
    left = {(d.message.split("`")[1], d.span.line) for d in diags if d.code == "W503"}
    assert {("gzip", 6), ("proxy_buffering", 7)} <= left


def test_the_request_id_is_left_out_with_the_rule_every_target_keeps(tmp_path):
    """nginx's own X-Request-Id, sent upstream or added to the answer, is not carried over: the
    warning says which ids the edge passes on as ir.SANE_REQUEST_ID decides them."""
    conf = wrap('    location / { proxy_pass http://127.0.0.1:9001; proxy_set_header X-Request-Id $request_id;\n'
                '                 add_header X-Request-Id $request_id always; }')
    edge, diags, text = imported(tmp_path, conf)
    assert edge is not None and "X-Request-Id" not in text
    left = [d for d in diags if d.code == "W503" and "X-Request-Id" in d.message]
    assert [d.span.line for d in left] == [6, 7]
    assert all(f"when it is {ir.SANE_REQUEST_ID_WORDS}, else one it makes" in d.message for d in left)
