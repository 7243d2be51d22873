"""Unit tests pinning each rule of docs/semantics.md."""
from __future__ import annotations

import dataclasses

import pytest

from edgec import ir
from edgec.routing import (BadPath, Request, apply_header_ops, compile, decide, escape_path, host_of,
                           normalize_path, parse_query, prefix_matches, replace_prefix, target_parts, valid_host)

from .helpers import edge, route_of

# ---- ReplacePrefixMatch: the spec's table row by row, then the pinned row ------------------------

SPEC_ROWS = [
    ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
    ("/foo", "/foo", "/xyz", "/xyz"),
    ("/foo/", "/foo", "/xyz", "/xyz/"),
    ("/foo/bar", "/foo", "", "/bar"),
    ("/foo/", "/foo", "", "/"),
    ("/foo", "/foo", "", "/"),
    ("/foo/", "/foo", "/", "/"),
    ("/foo", "/foo", "/", "/"),
]


@pytest.mark.parametrize("path,prefix,replacement,expected", SPEC_ROWS,
                         ids=[f"row{i}" for i in range(1, len(SPEC_ROWS) + 1)])
def test_replace_prefix_rows(path, prefix, replacement, expected):
    assert replace_prefix(path, prefix, replacement) == expected


def test_replace_prefix_untabled_row_is_pinned():
    assert replace_prefix("/foo", "/foo", "/xyz/") == "/xyz"


def test_replace_prefix_leaves_an_uncovered_path():
    assert replace_prefix("/foobar", "/foo", "/xyz") == "/foobar"
    assert replace_prefix("/a", "/", "/xyz") == "/xyz/a"


# ---- path matching ------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix,path,ok", [
    ("/foo", "/foo", True), ("/foo", "/foo/", True), ("/foo", "/foo/x", True), ("/foo", "/foobar", False),
    ("/foo/", "/foo", True), ("/foo/", "/foo/x", True), ("/foo/", "/foobar", False), ("/", "/anything", True),
    ("/foo", "/Foo", False),
])
def test_prefix_is_element_wise(prefix, path, ok):
    assert prefix_matches(prefix, path) is ok
    e = edge(f'route r {{ match path prefix "{prefix}" forward v1 }}')
    assert (route_of(e, path) == "r") is ok


@pytest.mark.parametrize("raw,normal", [
    ("/a//b", "/a/b"), ("/a/./b", "/a/b"), ("/a/../b", "/b"), ("/a/%2e%2E/b", "/b"), ("/%61", "/a"),
    ("/a%2Fb", "/a/b"), ("/a/b/.", "/a/b/"), ("/a/b/..", "/a/"), ("/a/", "/a/"), ("/", "/"),
    ("/caf%C3%A9", "/café"),
])
def test_normalisation_as_nginx(raw, normal):
    assert normalize_path(raw) == normal


@pytest.mark.parametrize("raw", ["/..", "/a/../..", "/%zz", "/%0", "/a%00b", "*", "x/y"])
def test_normalisation_refuses_bad_paths(raw):
    with pytest.raises(BadPath):
        normalize_path(raw)
    e = edge('route r { forward v1 }')
    assert decide(e, Request("GET", "http", "h", 80, raw)).status == 400


def test_normalisation_keeps_the_raw_path_for_the_backend():
    e = edge('route r { match path prefix "/a" forward v1 }')
    d = decide(e, Request.from_url("GET", "/x/../a//b%20c?q=%41"))
    assert d.route == "r" and d.upstream_path == "/x/../a//b%20c?q=%41"


def test_route_path_values_are_normalised_too():
    e = edge('route r { match path prefix "/a%20b" forward v1 }')
    assert route_of(e, "/a b/c") == "r" and route_of(e, "/a%20b") == "r"


def test_escape_after_rewrite():
    assert escape_path("/a b/ü?#%") == "/a%20b/%C3%BC%3F%23%25"
    assert escape_path("/plain-._~!$&'()*+,;=:@") == "/plain-._~!$&'()*+,;=:@"


# ---- host names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,host", [("Example.COM:8080", "example.com"), ("example.com.", "example.com"),
                                      ("[::1]:8080", "[::1]"), ("", "")])
def test_host_of(raw, host):
    assert host_of(raw) == host


HOSTS = '''
route exact { match host "a.b.example.com" forward v1 }
route long_wild { match host "*.b.example.com" forward v1 }
route short_wild { match host "*.example.com" forward v1 }
route none { match path exact "/x" forward v1 }
route none_prefix { forward v1 }
'''


@pytest.mark.parametrize("host,path,winner", [
    ("a.b.example.com", "/x", "exact"),  # exact host beats everything, even an exact path without host
    ("c.b.example.com", "/x", "long_wild"),  # the longer wildcard
    ("z.c.b.example.com", "/", "long_wild"),  # any depth
    ("b.example.com", "/", "short_wild"),
    ("example.com", "/x", "none"),  # never the bare domain
    ("example.com", "/", "none_prefix"),
    ("A.B.EXAMPLE.COM:1234", "/", "exact"),
])
def test_host_precedence(host, path, winner):
    assert route_of(edge(HOSTS), path, host=host) == winner


def test_no_host_header_matches_only_routes_without_hosts():
    e = edge(HOSTS)
    assert decide(e, Request("GET", "http", "", 80, "/x")).route == "none"


# ---- precedence, one rule at a time ----------------------------------------------------------------

@pytest.mark.parametrize("routes,request_args,winner", [
    # exact beats a longer-looking prefix
    ('route p { match path prefix "/a/b" forward v1 } route e { match path exact "/a/b" forward v1 }',
     ("/a/b",), "e"),
    # longest prefix
    ('route short { match path prefix "/a" forward v1 } route long { match path prefix "/a/b" forward v1 }',
     ("/a/b/c",), "long"),
    # the trailing "/" does not make a prefix longer: the tie goes to the first route
    ('route one { match path prefix "/a/" forward v1 } route two { match path prefix "/a" forward v1 }',
     ("/a/x",), "one"),
    # regex beats prefix
    ('route p { match path prefix "/a/b/c" forward v1 } route r { match path regex "/a/.*" forward v1 }',
     ("/a/b/c",), "r"),
    # exact beats regex
    ('route r { match path regex "/a/.*" forward v1 } route e { match path exact "/a/b" forward v1 }',
     ("/a/b",), "e"),
    # regex in file order, even when the later one is more specific
    ('route r1 { match path regex "/a/.*" forward v1 } route r2 { match path regex "/a/b" forward v1 }',
     ("/a/b",), "r1"),
    # a method condition beats headers
    ('route h { match header "x" = "1" header "y" = "1" forward v1 } route m { match method GET forward v1 }',
     ("/", "GET", [("x", "1"), ("y", "1")]), "m"),
    # more headers win
    ('route one { match header "x" = "1" forward v1 } route two { match header "x" = "1" header "y" = "1" forward v1 }',
     ("/", "GET", [("x", "1"), ("y", "1")]), "two"),
    # headers beat query
    ('route q { match query "a" = "1" query "b" = "1" forward v1 } route h { match header "x" = "1" forward v1 }',
     ("/?a=1&b=1", "GET", [("x", "1")]), "h"),
    # more query conditions win
    ('route one { match query "a" = "1" forward v1 } route two { match query "a" = "1" query "b" = "1" forward v1 }',
     ("/?a=1&b=1",), "two"),
    # route order
    ('route first { match path prefix "/" forward v1 } route second { match path prefix "/" forward v1 }',
     ("/",), "first"),
    # path beats method
    ('route m { match method GET forward v1 } route p { match path prefix "/x" forward v1 }', ("/x",), "p"),
])
def test_precedence_rule(routes, request_args, winner):
    assert route_of(edge(routes), *request_args) == winner


def test_match_order_within_a_route():
    e = edge('route r { match path prefix "/" match path prefix "/" header "x" = "1" forward v1 }')
    assert decide(e, Request.from_url("GET", "/", [("x", "1")])).match_index == 1
    e = edge('route r { match path prefix "/a" match path prefix "/a" forward v1 }')
    assert decide(e, Request.from_url("GET", "/a")).match_index == 0


def test_conditions_and_matches():
    e = edge('route r { match path prefix "/a" method POST match header "x" = "1" forward v1 }')
    assert route_of(e, "/a", "POST") == "r"
    assert route_of(e, "/a", "GET") is None  # AND within a match
    assert route_of(e, "/b", "GET", [("X", "1")]) == "r"  # OR across matches


# ---- headers and query ----------------------------------------------------------------------------

def test_repeated_header_first_line_counts():
    e = edge('route r { match header "x-env" = "prod" forward v1 }')
    assert route_of(e, "/", headers=[("X-Env", "prod"), ("X-Env", "dev")]) == "r"
    assert route_of(e, "/", headers=[("X-Env", "dev"), ("X-Env", "prod")]) is None


def test_present_with_empty_value():
    e = edge('route r { match header "X-Flag" present forward v1 }')
    assert route_of(e, "/", headers=[("x-flag", "")]) == "r"
    assert route_of(e, "/") is None


def test_query_values_are_decoded():
    assert parse_query("a=wh%61le&a=x&b&c=1+2&%41=z") == {"a": "whale", "b": "", "c": "1+2", "A": "z"}
    e = edge('route r { match query "animal" = "whale" forward v1 }')
    assert route_of(e, "/?animal=wh%61le") == "r"


# ---- outcome ------------------------------------------------------------------------------------

def test_header_ops():
    ops = ir.HeaderOps(set=(("X-Set", "s"),), add=(("X-Add", "b"),), remove=("X-Gone",))
    got = apply_header_ops(ops, [("x-set", "old"), ("X-SET", "older"), ("x-add", "a"), ("X-Add", "a2"),
                                 ("X-gone", "1"), ("Keep", "k")])
    assert got == [("x-set", "s"), ("x-add", "a,a2,b"), ("Keep", "k")]
    assert apply_header_ops(ops, []) == [("X-Set", "s"), ("X-Add", "b")]


def _with_backends(e, **servers):
    ups = tuple(dataclasses.replace(u, servers=()) if u.name in servers and not servers[u.name] else u
                for u in e.upstreams)
    return dataclasses.replace(e, upstreams=ups)


def test_every_backend_invalid_is_500():
    e = _with_backends(edge('route r { forward v1 }'), v1=False)
    d = decide(e, Request.from_url("GET", "/"))
    assert (d.status, d.action, d.route) == (500, "no_backend", "r")
    zero = edge('route r { forward v1 1 }')
    route = dataclasses.replace(zero.routes[0], action=ir.Forward("forward", (ir.Backend("v1", 0),)))
    zero = dataclasses.replace(zero, routes=(route,))
    assert decide(zero, Request.from_url("GET", "/")).status == 500


def test_invalid_backend_share():
    e = _with_backends(edge('route r { forward v1 3, v2 1 }'), v2=False)
    d = decide(e, Request.from_url("GET", "/"))
    assert d.status is None and d.shares() == {"v1": 0.75, "": 0.25}


def test_forward_outcome_carries_policies():
    e = edge('''auth api_key k { keys_file "/k" }
    route r { match path prefix "/api" auth k rate_limit 10/s burst 5 cache 30s timeout 5s per_try 2s
              retries 2 on 502 cors { origins "https://a.example" } mirror v2 50% forward v1 }''')
    d = decide(e, Request.from_url("GET", "/api/x"))
    assert d.auth.name == "k" and d.rate_limit.count == 10 and d.cache.ttl_ms == 30_000
    assert (d.timeouts.request_ms, d.timeouts.per_try_ms) == (5000, 2000)
    assert (d.retry.attempts, d.retry.statuses) == (2, (502,))
    assert d.cors.origins == ("https://a.example",) and d.mirrors[0].upstream == "v2"


def test_redirect_uses_the_listener_port_when_the_request_names_none():
    e = edge('route r { redirect host "h.example" }', listeners="listen http 8080")
    assert decide(e, Request.from_url("GET", "/p?q=1")).location == "http://h.example:8080/p?q=1"


def test_listener_redirect():
    e = edge('route r { forward v1 }', listeners='listen http 8080 { redirect https port 8443 }\n'
             'listen https 8443 { tls cert "c" key "k" }')
    d = decide(e, Request.from_url("GET", "http://shop.example:8080/a?b=1"))
    assert (d.status, d.action, d.location) == (301, "listener_redirect", "https://shop.example:8443/a?b=1")
    assert decide(e, Request.from_url("GET", "https://shop.example:8443/a")).route == "r"


def test_request_from_url():
    r = Request.from_url("GET", "https://Api.Example:8443/a/b?x=1", [("Host", "override"), ("A", "1")])
    assert (r.scheme, r.host, r.port, r.path, r.query, r.headers) == ("https", "override", 8443, "/a/b", "x=1",
                                                                      (("A", "1"),))
    r = Request.from_url("GET", "/p")
    assert (r.scheme, r.host, r.port, r.target) == ("http", "edge.test", None, "/p")


@pytest.mark.parametrize("host,ok", [
    ("a.example", True), ("A.Example:8080", True), ("[::1]:80", True), ("127.0.0.1", True), ("a,b", True),
    ("a.", True), ("xn--bcher-kva.example", True), ("\u00e9.test", True),
    ("", False), (":80", False), (".", False), ("a b", False), ("a/b", False), ("a, b", False), ("a..b", False),
    ("evil.example/x?", False), ("evil.example?x", False), ("u@evil.example", False), ("a#b", False),
    ("a\\b", False), ("a:b", False), ('a"b', False), ("a\tb", False),
])
def test_valid_host(host, ok):
    assert valid_host(host) is ok


def test_invalid_host_is_a_bad_request_before_any_redirect():
    e = edge('route r { forward v1 }', listeners='listen http 8080 { redirect https port 8443 }\n'
             'listen https 8443 { tls cert "c" key "k" }')
    d = decide(e, Request("GET", "http", "evil.example/x?", 8080, "/a"))
    assert (d.status, d.action, d.location) == (400, "bad_request", None)


def test_target_parts_absolute_form_names_the_host():
    assert target_parts("http://admin.test/x?y=1", "public.test") == ("admin.test", "/x", "y=1")
    assert target_parts("HTTPS://Admin.Test:8443", "public.test") == ("Admin.Test:8443", "/", "")
    assert target_parts("http://a.test?q", "h") == ("a.test", "/", "q")
    assert target_parts("/x?q=http://a", "h") == ("h", "/x", "q=http://a")
    assert target_parts("*", "h") == ("h", "*", "")


def test_compile_is_cached_per_ir_object():
    e = edge('route r { forward v1 }')
    assert compile(e) is compile(e)
    copy = dataclasses.replace(e)
    assert compile(copy) is not compile(e)


def test_a_path_arrives_on_the_first_listener_that_serves_routes():
    e = edge('route r { forward v1 }', listeners='listen http 8080 { redirect https port 8443 }\n'
             'listen https 8443 { tls cert "c" key "k" }')
    req = Request.to_edge(e, "GET", "/a")
    assert (req.scheme, req.port) == ("https", 8443) and decide(e, req).route == "r"
    assert Request.to_edge(e, "GET", "http://h:8080/a").port == 8080


def test_the_compile_cache_does_not_keep_an_ir_alive():
    import gc

    from edgec.lint.routing_rules import dominators, may_never_win, never_wins, tie_breaks
    e = edge('route r { forward v1 }\nroute s { match path regex "/r.*" forward v2 }')
    key = id(e)
    cached = (compile, dominators, never_wins, may_never_win, tie_breaks)  # each once per IR object
    for once in cached:
        assert once(e) is once(e)
        assert key in once.cache
    del e
    gc.collect()
    assert all(key not in once.cache for once in cached)


# ---- request-level rules: the target, "_" in header names, a bare "?" ---------------------------

def test_raw_non_ascii_target_is_a_bad_request():
    e = edge('route r { forward v1 }')
    for url in ("/x/\u00e9", "/x?q=\u00e9"):
        d = decide(e, Request.from_url("GET", url))
        assert (d.status, d.action) == (400, "bad_request"), url
    assert decide(e, Request.from_url("GET", "/x/%C3%A9")).route == "r"
    # raw ASCII outside RFC 3986 is routed and passed on as sent
    assert decide(e, Request.from_url("GET", "/x/a|b[c]")).upstream_path == "/x/a|b[c]"


def test_underscore_headers_are_dropped():
    e = edge('route r { match header "X-Tier" = "gold" request_header add "X-Trace" "edge" forward v1 }')
    assert route_of(e, "/", headers=[("X_Tier", "gold")]) is None
    d = decide(e, Request.from_url("GET", "/", [("X-Tier", "gold"), ("X_Trace", "c1"), ("X-Trace", "c2")]))
    assert d.route == "r"
    assert d.request_headers == (("X-Tier", "gold"), ("X-Trace", "c2,edge"))


def test_bare_query_goes_on_only_with_the_clients_own_path():
    e = edge('route keep { match path prefix "/k" forward v1 }\n'
             'route rw { match path prefix "/rw" rewrite prefix "/rw" "/new" forward v1 }\n'
             'route red { match path prefix "/red" redirect }\n'
             'route redp { match path prefix "/rp" redirect prefix "/new" }\n'
             'route redf { match path prefix "/rf" redirect path "/moved" }')
    req = Request.from_url("GET", "/k/a?")
    assert req.bare_query and req.target == "/k/a?"
    assert decide(e, req).upstream_path == "/k/a?"
    assert decide(e, Request.from_url("GET", "/rw/a?")).upstream_path == "/new/a"
    assert decide(e, Request.from_url("GET", "/red/a?")).location.endswith("/red/a?")
    assert decide(e, Request.from_url("GET", "/rp/a?")).location.endswith("/new/a")
    assert decide(e, Request.from_url("GET", "/rf/a?")).location.endswith("/moved")
    assert decide(e, Request.from_url("GET", "/k/a")).upstream_path == "/k/a"


def test_rebuilt_path_escapes_only_what_it_must():
    e = edge('route rw { match path prefix "/rw" rewrite prefix "/rw" "/new" forward v1 }')
    assert decide(e, Request.from_url("GET", "/rw/a[b]|c")).upstream_path == "/new/a[b]|c"
    assert decide(e, Request.from_url("GET", "/rw/a%20b%3F%23%25")).upstream_path == "/new/a%20b%3F%23%25"
    assert decide(e, Request.from_url("GET", "/rw/%C3%A9")).upstream_path == "/new/%C3%A9"
