"""Every lint rule: a file it must flag (with the position) and a near miss it must leave alone."""
from __future__ import annotations

import pytest

from edgec.lint import all_rules
from edgec.pipeline import analyse


def lint(source: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in analyse(source, "t.edge", all_envs=True).diagnostics]


def edge(*lines: str) -> str:
    return 'edge "x" {\n' + "".join(f"  {line}\n" for line in lines) + "}\n"


UP = ('upstream u {', '  server "127.0.0.1:9001"', '}')
UP2 = ('upstream v {', '  server "127.0.0.1:9002"', '}')


def route(*lines: str, name: str = "r", ups=UP) -> str:
    return edge(*ups, f"route {name} {{", *(f"  {line}" for line in lines), "}")


# code → (source it flags, [(line, column)], near miss it must not flag)
CASES = {
    "E104": (route("forward users"), [(6, 13)], route("forward u")),
    "E105": (route("auth mian", "forward u"), [(6, 10)],
             edge('auth jwt main {', '  jwks "https://a.example/jwks.json"', '}', *UP, "route r {", "  auth main",
                  "  forward u", "}")),
    "E106": (edge(*UP, "route r {", "  forward u", "}", "route r {", '  match path prefix "/b"', "  forward u", "}"),
             [(8, 9)],
             edge(*UP, "route r {", "  forward u", "}", "route s {", '  match path prefix "/b"', "  forward u", "}")),
    "E111": (edge("vars {", '  a = "127.0.0.1:9001"', '  a = "127.0.0.1:9002"', "}", "upstream u {", "  server ${a}",
                  "}", "route r {", "  forward u", "}"), [(4, 5)],
             edge("vars {", '  a = "127.0.0.1:9001"', "}", "env dev {", '  a = "127.0.0.1:9002"', "}",
                  "upstream u {", "  server ${a}", "}", "route r {", "  forward u", "}")),
    "E113": (edge("env prod {", "  target awz {", '    region "eu-west-1"', "  }", "}", "route r {", '  respond 200 "ok"',
                  "}"), [(3, 12)],
             edge("env prod {", "  target aws {", '    region "eu-west-1"', "  }", "}", "route r {", '  respond 200 "ok"',
                  "}")),
    "E114": (edge("vars {", '  aws_region = "eu-west-1"', "}", "route r {", '  respond 200 "ok"', "}"), [(3, 5)],
             # a variable of that form that the file uses is an ordinary variable
             edge("vars {", '  aws_region = "eu-west-1"', "}", "route r {", '  respond 200 "${aws_region}"', "}")),
    "W301": (edge(*UP, *UP2, "route r {", "  forward u", "}"), [(5, 12)],
             edge(*UP, *UP2, "route r {", "  forward u 90%, v 10%", "}")),
    "W302": (edge('auth jwt main {', '  jwks "https://a.example/jwks.json"', '}', *UP, "route r {", "  forward u",
                  "}"), [(2, 12)],
             edge('auth jwt main {', '  jwks "https://a.example/jwks.json"', '}', *UP, "route r {", "  auth main",
                  "  forward u", "}")),
    "W303": (edge("vars {", '  a = "127.0.0.1:9001"', '  b = "x"', "}", "upstream u {", "  server ${a}", "}",
                  "route r {", "  forward u", "}"), [(4, 5)],
             edge("vars {", '  a = "127.0.0.1:9001"', '  b = "x"', "}", "upstream u {", "  server ${a}", "}",
                  "route r {", '  request_header set "X-B" "${b}"', "  forward u", "}")),
    "E204": (route("forward u 0"), [(6, 5)], route("forward u 1")),
    "E206": (edge("upstream u {", '  server "127.0.0.1:9001"', '  health get "/h" every 2s timeout 2s', "}",
                  "route r {", "  forward u", "}"), [(4, 5)],
             edge("upstream u {", '  server "127.0.0.1:9001"', '  health get "/h" every 5s timeout 2s', "}",
                  "route r {", "  forward u", "}")),
    "E207": (edge("listen https 8443", *UP, "route r {", "  forward u", "}"), [(2, 10)],
             edge("listen https 8443 {", '  tls cert "/c.pem" key "/k.pem"', "}", *UP, "route r {", "  forward u",
                  "}")),
    "E213": (route('match path prefix "/api"', 'strip_prefix "/v1"', "forward u"), [(6, 5)],
             route('match path prefix "/v1/api"', 'strip_prefix "/v1"', "forward u")),
    "E214": (route("rate_limit 10/s by claim \"sub\"", "forward u"), [(6, 5)],
             edge('auth jwt main {', '  jwks "https://a.example/jwks.json"', '}', *UP, "route r {", "  auth main",
                  '  rate_limit 10/s by claim "sub"', "  forward u", "}")),
    "E230": (route('require scope "orders:read"', "forward u"), [(6, 5)],
             edge('auth jwt main {', '  jwks "https://a.example/jwks.json"', '}', *UP, "route r {", "  auth main",
                  '  require scope "orders:read"', "  forward u", "}")),
    "E216": (edge("env dev {", "  s = []", "}", "upstream u {", "  servers ${s}", "}", "route r {", "  forward u",
                  "}"), [(6, 5)],
             edge("env dev {", '  s = ["127.0.0.1:9001"]', "}", "upstream u {", "  servers ${s}", "}", "route r {",
                  "  forward u", "}")),
    "E217": (edge("upstream u {", '  server "127.0.0.1:9001"', '  server "127.0.0.1:9002" backup', "  balance ip_hash",
                  "}", "route r {", "  forward u", "}"), [(5, 5)],
             edge("upstream u {", '  server "127.0.0.1:9001"', '  server "127.0.0.1:9002" backup',
                  "  balance least_conn", "}", "route r {", "  forward u", "}")),
    "E227": (edge("upstream u {", '  service "users:8080"', '  server "127.0.0.1:9002"', "}", "route r {",
                  "  forward u", "}"), [(3, 5)],
             edge("upstream u {", '  service "users:8080"', "}", "route r {", "  forward u", "}")),
    "E222": (edge("listen http 8080", "listen http 8080", *UP, "route r {", "  forward u", "}"), [(3, 3)],
             edge("listen http 8080", "listen http 8081", *UP, "route r {", "  forward u", "}")),
    "E223": (route('match path exact "/old"', 'redirect 301 prefix "/new"', ups=()), [(4, 5)],
             route('match path prefix "/old"', 'redirect 301 prefix "/new"', ups=())),
    "W310": (edge(*UP, *UP2, "route r {", "  forward u 90%, v 20%", "}"), [(9, 5)],
             edge(*UP, *UP2, "route r {", "  forward u 80%, v 20%", "}")),
    "W311": (edge("upstream u {", '  server "127.0.0.1:9001"', '  server "127.0.0.1:9001"', "}", "route r {",
                  "  forward u", "}"), [(4, 5)],
             edge("upstream u {", '  server "127.0.0.1:9001"', '  server "127.0.0.1:9002"', "}", "route r {",
                  "  forward u", "}")),
    "W312": (route("timeout 2s per_try 2s", "forward u"), [(6, 24)], route("timeout 6s per_try 2s", "forward u")),
    "W313": (route("cache 30s", "respond 200 \"ok\""), [(6, 5)], route("cache 30s", "forward u")),
    "W314": (route('match path prefix "/" method POST', "retries 2", "forward u"), [(7, 5)],
             route('match path prefix "/" method POST PUT', "retries 2", "forward u")),
    "W315": (edge(*UP, *UP2, "route r {", "  mirror u", "  forward u", "}"), [(9, 5)],
             edge(*UP, *UP2, "route r {", "  mirror v", "  forward u", "}")),
    "W316": (edge("listen http 8080 {", "  redirect https port 8443", "}", *UP, "route r {", "  forward u", "}"),
             [(2, 3)],
             edge("listen http 8080 {", "  redirect https port 8443", "}", "listen https 8443 {",
                  '  tls cert "/c.pem" key "/k.pem"', "}", *UP, "route r {", "  forward u", "}")),
    "E225": (edge("listen http 8080 {", "  hsts 365d", "}", *UP, "route r {", "  forward u", "}"), [(3, 5)],
             edge("listen https 8443 {", '  tls cert "/c.pem" key "/k.pem"', "  hsts 365d", "}", *UP,
                  "route r {", "  forward u", "}")),
    "W317": (edge("listen https 8443 {", '  tls cert "/c.pem" key "/k.pem"', "  hsts 180d preload", "}", *UP,
                  "route r {", "  forward u", "}"), [(4, 10), (4, 15)],
             edge("listen https 8443 {", '  tls cert "/c.pem" key "/k.pem"', "  hsts 365d include_subdomains preload",
                  "}", *UP, "route r {", "  forward u", "}")),
    # the edge's deny holds for the route too
    "W320": (edge('deny "10.0.0.0/8"', *UP, "route r {", '  allow "2001:db8::/32" "10.1.0.0/16"', "  forward u", "}"),
             [(7, 27)],
             edge('deny "10.1.0.0/16"', *UP, "route r {", '  allow "10.0.0.0/8"', "  forward u", "}")),
}


def test_every_lint_rule_has_a_case():
    own = {r.code for r in all_rules() if not r.__module__.endswith("routing_rules")}
    assert own == set(CASES), own ^ set(CASES)


def test_every_rule_is_a_class_with_its_own_catalogued_code():
    from edgec.catalogue import BY_CODE
    codes = [r.code for r in all_rules()]
    assert len(set(codes)) == len(codes)
    assert set(codes) <= set(BY_CODE)  # name, level and summary are the catalogue's (test_catalogue.py)


@pytest.mark.parametrize("code", CASES)
def test_the_rule_flags_its_case(code):
    bad, positions, _ = CASES[code]
    found = lint(bad)
    assert [(line, col) for c, line, col in found if c == code] == positions, found


@pytest.mark.parametrize("code", CASES)
def test_the_rule_leaves_the_near_miss_alone(code):
    _, _, good = CASES[code]
    assert lint(good) == []


def test_undefined_names_suggest_the_closest_one():
    result = analyse(route("forward uu"), "t.edge")
    assert [d.hint for d in result.diagnostics if d.code == "E104"] == ["did you mean 'u'?"]
    result = analyse(edge(*UP, "route r {", '  request_header set "X" "${hots}"', "  forward u", "}",
                          "vars {", '  host = "a"', "}"), "t.edge")
    assert [d.hint for d in result.diagnostics if d.code == "E101"] == ["did you mean 'host'?"]


def test_self_signed_names_an_undefined_environment():
    source = edge("env dev {", "}", "listen https 8443 {", '  tls cert "/c.pem" key "/k.pem"', "  self_signed dve", "}",
                  *UP, "route r {", "  forward u", "}")
    found = [d for d in analyse(source, "t.edge", env="dev").diagnostics if d.code == "E102"]
    assert [(d.line, d.column, d.hint) for d in found] == [(6, 17, "did you mean 'dev'?")]


def test_ir_rules_report_once_for_all_envs():
    source = edge("env dev {", "}", "env prod {", "}", *UP, "route r {", "  timeout 2s per_try 3s", "  forward u", "}")
    assert [c for c, _, _ in lint(source)] == ["W312"]


def test_http2_needs_tls():
    found = lint(edge("listen http 8080 {", "  http2", "}", *UP, "route r {", "  forward u", "}"))
    assert found == [("E207", 3, 5)]
    assert lint(edge("listen https 8443 {", '  tls cert "/c.pem" key "/k.pem"', "  http2", "}", *UP, "route r {",
                     "  forward u", "}")) == []
