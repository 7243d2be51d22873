"""Lowering every env of a file lowers a route that names no variable once: the other envs
get the same IR and the same diagnostics as lowering it again would give them."""
from __future__ import annotations

import pytest

from edgec import ir
from edgec.diagnostics import Sink
from edgec.lower import environments, lower_with_usage
from edgec.parse import parse
from edgec.pipeline import analyse
from edgec.values import LoweredOnce

from ..conftest import ROOT

SOURCE = '''edge "e" {
  env dev { host = "dev.example" }
  env prod { host = "prod.example" }
  upstream u { server "127.0.0.1:9001" }
  route plain { match path prefix "/a" method GET forward u }
  route by_host { match host ${host} path prefix "/b" forward u }
  route named_env { match path prefix "/c" request_header set "X-Env" "${env}" forward u }
  route bad { match path prefix "/d" method FETCH request_header set "X_Y" "1" forward u }
  route literal { match path prefix "/e" respond 200 "\\${not_a_variable}" }
}
'''


def _lowered(source: str, shared: bool):
    doc = parse(source)
    sink, once = Sink("t.edge"), LoweredOnce(doc) if shared else None
    edges = {env: lower_with_usage(doc, env, sink, once) for env in environments(doc)}
    return edges, sink.items


def test_a_route_without_variables_is_lowered_once_and_the_same_ir():
    edges, _ = _lowered(SOURCE, shared=True)
    dev, prod = edges["dev"][0], edges["prod"][0]
    assert dev is None and prod is None  # route bad has errors in both envs
    doc = parse(SOURCE.replace(" method FETCH", "").replace('"X_Y"', '"X-Y"'))
    once = LoweredOnce(doc)
    dev, _ = lower_with_usage(doc, "dev", Sink("t.edge"), once)
    prod, _ = lower_with_usage(doc, "prod", Sink("t.edge"), once)
    same = {r.name for r in dev.routes if prod.route(r.name) is r}
    assert same == {"plain", "bad"}  # `literal` is written with "${" (escaped): lowered in each env
    assert prod.route("literal").action.body == dev.route("literal").action.body == "${not_a_variable}"
    assert dev.route("by_host").matches[0].hosts == ("dev.example",)
    assert prod.route("by_host").matches[0].hosts == ("prod.example",)
    assert prod.route("named_env").request_headers.set == (("X-Env", "prod"),)


@pytest.mark.parametrize("source", [SOURCE] + [p.read_text() for p in sorted((ROOT / "samples").glob("*.edge"))],
                         ids=lambda s: s.split("\n", 1)[0][:40])
def test_every_env_gets_what_lowering_it_alone_gives(source):
    shared, shared_items = _lowered(source, shared=True)
    alone, alone_items = _lowered(source, shared=False)
    assert shared_items == alone_items
    for env in shared:
        assert (ir.to_json(shared[env][0]) if shared[env][0] else None) == \
            (ir.to_json(alone[env][0]) if alone[env][0] else None)
        assert shared[env][1].used == alone[env][1].used


def test_equal_values_of_routes_are_one_node_and_unequal_ones_are_not():
    """Values.node: the routes of a file that write the same timeout, retries, rate limit, cache
    or forward hold one node of it (what the analysis cache pickles once), in every env."""
    source = '''edge "e" {
  env dev { host = "dev.example" }
  env prod { host = "prod.example" }
  upstream u { server "127.0.0.1:9001" }
  upstream w { server "127.0.0.1:9002" }
  route a { match path prefix "/a" timeout 5s retries 2 rate_limit 10/s by client_ip cache 30s forward u 90%, w 10% }
  route b { match host ${host} path prefix "/b" timeout 5s retries 2 rate_limit 10/s by client_ip cache 30s forward u 90%, w 10% }
  route c { match path prefix "/c" timeout 6s retries 3 rate_limit 10/s by header "X-K" cache 31s forward u 80%, w 20% }
}
'''
    result = analyse(source, "t.edge", all_envs=True)
    dev, prod = result.edges["dev"], result.edges["prod"]
    fields = ("timeouts", "retry", "rate_limit", "cache", "action")
    for name in fields:
        values = {id(getattr(r, name)) for e in (dev, prod) for r in e.routes if r.name != "c"}
        assert len(values) == 1, name
        assert getattr(prod.route("c"), name) != getattr(prod.route("a"), name), name
    assert prod.route("a").action.backends[0] is not prod.route("c").action.backends[0]  # u 90% and u 80%
    assert prod.route("c").action.backends == (ir.Backend("u", 80), ir.Backend("w", 20))


def test_a_text_many_routes_repeat_is_one_str():
    """Values.one_text: a header name, a path's type, a method, a host put in from a variable,
    an auth name, equal in many routes (each its own token), are one str in every env."""
    source = '''edge "e" {
  env dev { host = "Dev.Example" }
  env prod { host = "Dev.Example" }
  upstream u { server "127.0.0.1:9001" }
  auth jwt main { jwks "https://auth.example/jwks.json" }
  route a { match host ${host} path prefix "/a" method GET header "X-T" = "1" auth main request_header set "X-R" "a" forward u }
  route b { match host ${host} path prefix "/b" method GET header "X-T" = "2" auth main request_header set "X-R" "b" forward u }
}
'''
    result = analyse(source, "t.edge", all_envs=True)
    routes = [r for e in result.edges.values() for r in e.routes]
    assert len(routes) == 4 and all(e is not None for e in result.edges.values())
    for read in (lambda r: r.request_headers.set[0][0], lambda r: r.matches[0].path.type,
                 lambda r: r.matches[0].methods[0], lambda r: r.matches[0].hosts[0],
                 lambda r: r.matches[0].headers[0].name, lambda r: r.auth):
        assert len({id(read(r)) for r in routes}) == 1
    assert routes[0].matches[0].hosts == ("dev.example",)
