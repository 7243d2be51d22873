"""The traps a generator of nginx configs falls into (reference: semantics.md §2.11), one
test each that fails if the emitter falls in; plus target-version gating and determinism."""
from __future__ import annotations

import dataclasses
import re

from edgec import routing
from edgec.pipeline import analyse
from tests.conformance import corpus

from .support import build, fresh, gixy, localise, nginx_test, write


def compile_source(src: str):
    result = analyse(src, "t.edge")
    assert result.edge is not None, [d.message for d in result.diagnostics]
    return result.edge


def conf(src: str, **options) -> str:
    files, diags = build(compile_source(src), options)
    assert files is not None, [d.message for d in diags]
    return files["nginx.conf"]


def test_trailing_slash_locations_never_answer_301(gateway):
    """`location /p/` alone answers "/p" with a 301; a prefix must also match "/p" itself."""
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route p { match path prefix "/p/" forward app }
      route d { match path exact "/d/" forward app }
    }''')
    assert gw.get("/p").status == 200
    assert gw.get("/p/x").status == 200
    assert gw.get("/pfoo").status == 404  # element-wise, never a string prefix
    assert gw.get("/d").status == 404  # exact "/d/" does not make "/d" a redirect either
    assert gw.get("/d/").status == 200


def test_variable_names_never_collide_by_case_and_args_are_exact(gateway):
    """nginx variable names ignore case ($arg_q is $arg_Q), and $arg_x ignores the case of the
    name, does not decode, and takes the first value: query matching must not use them."""
    gw = gateway('''edge "t" {
      listen http 8080
      upstream lower { server "127.0.0.1:1" }
      upstream upper { server "127.0.0.1:1" }
      route a { match query "q" = "x" forward lower }
      route b { match query "Q" = "x" forward upper }
      route h1 { match path prefix "/h" header "X-A" = "1" forward lower }
    }''')
    assert gw.get("/?q=x").echo["backend"] == "lower"
    assert gw.get("/?Q=x").echo["backend"] == "upper"
    assert gw.get("/?q=X").status == 404  # values compare case-sensitively
    assert gw.get("/?%71=%78").echo["backend"] == "lower"  # names and values are compared decoded
    assert gw.get("/?q=x&Q=x").echo["backend"] == "lower"
    assert gw.get("/?q=y&q=x").status == 404  # the first value counts
    assert gw.get("/h", [("x-a", "1")]).echo["backend"] == "lower"  # header names ignore case
    assert "$arg_" not in gw.files["nginx.conf"]


def test_return_does_not_skip_access_checks(gateway):
    """`return` runs in the rewrite phase, before limit_req and auth_basic."""
    from .support import TEST_HTPASSWD, TEST_PASSWORD, TEST_USER
    from .test_behaviour import auth_header
    gw = gateway('''edge "t" {
      listen http 8080
      auth basic staff { htpasswd ${secret:STAFF} }
      route secret { match path exact "/s" auth staff respond 200 "secret" }
      route moved { match path exact "/m" auth staff redirect 302 "/elsewhere" }
    }''', secrets={"STAFF": TEST_HTPASSWD.strip()})
    assert gw.get("/s").status == 401
    assert gw.get("/m").status == 401
    assert gw.get("/s", [auth_header(TEST_USER, TEST_PASSWORD)]).body == b"secret"
    assert gw.get("/m", [auth_header(TEST_USER, TEST_PASSWORD)]).status == 302


def test_retries_reach_the_same_server(gateway):
    """proxy_next_upstream only moves to another entry; a one-server pool must still retry."""
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route r { retries 2 on 500 forward app }
    }''')
    assert gw.get("/x?responseCode=500&succeedAfter=2&uuid=a").status == 200
    assert gw.get("/x?responseCode=500&succeedAfter=3&uuid=b").status == 500
    assert len(gw.echoes["app"].requests) == 6


def test_host_names_are_resolved_by_nginx_t(tmp_path):
    """nginx resolves upstream names when it reads the config: the sample tests map them to
    loopback (support.localise), and this is why."""
    edge = compile_source('''edge "t" {
      listen http 8080
      upstream app { server "backend.invalid:8080" }
      route r { forward app }
    }''')
    files, _ = build(edge)
    res = nginx_test(write(files, fresh(tmp_path / "raw")))
    assert res.returncode != 0 and "host not found" in res.stderr
    files, _ = build(localise(edge))
    assert nginx_test(write(files, fresh(tmp_path / "local"))).returncode == 0
    # re-resolution at run time exists from 1.27.3 on, with a resolver
    text = conf('''edge "t" { upstream app { server "backend.invalid:8080" } route r { forward app } }''',
                nginx_version="1.27.3", resolver="127.0.0.53")
    assert "server backend.invalid:8080 max_fails=1 fail_timeout=10s resolve;" in text
    assert "resolver 127.0.0.53;" in text
    assert " resolve;" not in conf('''edge "t" { upstream app { server "b.invalid:80" } route r { forward app } }''')


def test_no_decoded_uri_reaches_a_header_or_redirect(tmp_path):
    """$uri is decoded and may hold a line break (gixy http_splitting): redirects build their
    Location from the raw $request_uri."""
    src = '''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:9000" }
      route a { match path prefix "/old" redirect 301 prefix "/new" }
      route b { match path prefix "/full" redirect "/x" }
      route c { match path prefix "/keep" redirect scheme https }
      route d { match path prefix "/api" strip_prefix "/api" response_header set "X-A" "1" forward app }
    }'''
    text = conf(src)
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in ("return", "add_header", "proxy_set_header", "proxy_pass"):
            assert "$uri" not in line, line
        if words and words[0] == "rewrite":
            assert "$uri" not in " ".join(words[2:]), line
    prefix = write({"nginx.conf": text, "logs/.keep": ""}, fresh(tmp_path / "p"))
    assert nginx_test(prefix).returncode == 0
    assert gixy(prefix) == []


def test_header_inheritance_keeps_every_header(gateway):
    """add_header and proxy_set_header are inherited all-or-nothing: a location with its own
    must still carry every header the edge needs (checked end to end in test_behaviour)."""
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route r { match path prefix "/r" request_header set "X-Only" "1" response_header add "X-Only" "2" forward app }
      route s { forward app }
    }''')
    for target in ("/r", "/s"):
        reply = gw.get(target, [("Host", "keep.example:8080")])
        assert reply.echo["host"] == "keep.example:8080"
        assert reply.echo["headers"]["x-forwarded-for"] == "127.0.0.1"
        assert reply.echo["headers"].get("connection") != "close"  # upstream keep-alive
    assert gw.get("/r").headers_named("X-Only") == ["2"]


def test_routes_in_any_order_give_the_same_result(tmp_path):
    """The config for the routes in reverse source order chooses as routing.decide does for that order."""
    from tests.conftest import free_port
    from edgec.harness.driver import send
    from edgec.harness.echo import EchoServer

    from .support import Nginx
    casefile = next(f for f in corpus.files() if f.path.endswith("query.yaml"))
    edge = corpus.edge_of(casefile)
    reordered = dataclasses.replace(edge, routes=tuple(reversed(edge.routes)))
    echoes = {n: EchoServer(n).start() for n in corpus.upstream_names(edge)}
    try:
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = corpus.with_listener_ports(corpus.with_servers(reordered, {n: e.address for n, e in echoes.items()}),
                                          ports)
        files, _ = build(live)
        with Nginx(write(files, fresh(tmp_path / "n")), list(ports.values())):
            for case in casefile.cases:
                req = case.request()
                want = routing.decide(reordered, req)
                got = send("http", "127.0.0.1", ports[80], req.method, req.target,
                           [("Host", req.host)] + list(req.headers))
                echo = got.echo()
                assert (echo["backend"] if echo else got.status) == (want.upstream or want.status), case.name
    finally:
        for e in echoes.values():
            e.stop()


def test_target_version_gates_newer_directives():
    src = '''edge "t" {
      listen https 8443 { tls cert "/c.pem" key "/k.pem" http2 }
      upstream app { server "127.0.0.1:9000" server "127.0.0.1:9001" sticky cookie "S" ttl 1h }
      route r { forward app }
    }'''
    old = conf(src)
    assert "listen 8443 default_server ssl http2;" in old and "http2 on;" not in old
    assert "hash $edgec_sticky1 consistent;" in old and not re.search(r"^\s*sticky ", old, re.M)
    new = conf(src, nginx_version="1.25.1")
    assert "listen 8443 default_server ssl;" in new and "http2 on;" in new
    newest = conf(src, nginx_version="1.29.6")
    assert "sticky cookie S expires=1h path=/;" in newest and "$cookie_S" not in newest
    files, diags = build(compile_source(src), {"nginx_version": "1.2"})
    assert files is None and any(d.code == "E403" for d in diags)


def test_output_is_deterministic_and_quoted():
    src = (corpus.HERE / "corpus" / "header.edge").read_text()
    assert conf(src) == conf(src)
    assert not re.search(r"\s$", conf(src).replace("\n", ""))


def test_features_nginx_cannot_express_are_errors_not_silence():
    files, diags = build(compile_source('''edge "t" {
      upstream u { server "127.0.0.1:9000" server "127.0.0.1:9001" backup sticky cookie "S" }
      auth jwt j { issuer "https://i/" jwks "https://i/jwks" algorithms EdDSA }
      route r { auth j forward u }
      route three { match path exact "/3" respond 302 "moved" }
    }'''))
    assert files is None
    messages = " | ".join(d.message for d in diags if d.severity == "error")
    for needle in ("EdDSA tokens", "backup servers with sticky", "fixed 302 response"):
        assert needle in messages


def test_layouts_put_runtime_files_where_they_belong():
    src = 'edge "t" { upstream u { server "127.0.0.1:9" } route r { cache 1m forward u } }'
    relative = conf(src)
    for line in ("pid logs/nginx.pid;", "error_log logs/error.log warn;", "proxy_temp_path proxy_temp;",
                 "proxy_cache_path cache levels=1:2"):
        assert line in relative
    debian = conf(src, layout="debian")
    for line in ("pid /run/nginx.pid;", "error_log /var/log/nginx/error.log warn;",
                 "proxy_temp_path /var/lib/nginx/proxy;", "proxy_cache_path /var/cache/nginx/edgec levels=1:2"):
        assert line in debian
    files, diags = build(compile_source(src), {"layout": "opt"})
    assert files is None and any(d.code == "E403" for d in diags)


def test_approximations_are_warnings_that_say_what_differs():
    files, diags = build(compile_source('''edge "t" {
      upstream u { server "127.0.0.1:9000" health get "/h" sticky cookie "S" }
      route r { response_header remove "Server" retries 1 backoff 100ms timeout 2s forward u }
    }'''))
    assert files is not None
    warnings = " | ".join(d.message for d in diags if d.severity == "warning")
    for needle in ("active health checks", "cookie-based session persistence", "Server response header",
                   "wait between retries", "whole-request timeout"):
        assert needle in warnings
    assert all(d.code == "W402" for d in diags if d.severity == "warning")
    strict, diags = build(compile_source('''edge "t" {
      upstream u { server "127.0.0.1:9000" health get "/h" } route r { forward u } }'''), strict=True)
    assert strict is None and any(d.code == "E401" for d in diags)
    # an approximation found beyond the capability table is an error under --strict too
    source = 'edge "t" { upstream u { server "127.0.0.1:9000" } route r { rate_limit 7/h forward u } }'
    _, diags = build(compile_source(source))
    [warning] = [d for d in diags if "whole requests" in d.message]
    assert warning.code == "W402" and warning.message.startswith("target 'nginx' approximates the rate 7/3600s")
    strict, diags = build(compile_source(source), strict=True)
    [error] = [d for d in diags if "whole requests" in d.message]
    assert strict is None and error.code == "E401" and error.hint == "--strict turns approximations into errors"
    assert error.message.startswith("target 'nginx' cannot express the rate 7/3600s")


def test_a_header_condition_that_accepts_empty_values_is_flagged():
    _, diags = build(compile_source('''edge "t" {
      upstream u { server "127.0.0.1:9" }
      route r { match header "X" = "" forward u }
      route s { match header "Y" ~ "a*" forward u }
      route t { match header "Z" = "(" forward u }
    }'''))
    flagged = [d.message for d in diags if "empty header" in d.message]
    assert len(flagged) == 2 and "'X'" in flagged[0] and "'Y'" in flagged[1]


def test_the_access_log_to_standard_output_is_not_lost(tmp_path):
    """`access_log json` (standard output) is seen where nginx has one: in the foreground, as the
    header's run line says; an installed nginx (layout debian) runs as a daemon and logs to
    /var/log/nginx instead of a /dev/stdout nobody reads."""
    import json
    import signal
    import subprocess
    import time
    import urllib.request

    from tests.conftest import free_port
    port = free_port()
    src = f'edge "l" {{\n listen http {port}\n route r {{ respond 200 "ok" }}\n access_log json\n}}\n'
    prefix = conf(src)
    assert "# Run: nginx -p <this directory> -c nginx.conf -g 'daemon off;'" in prefix
    debian = conf(src, layout="debian")
    assert "access_log /var/log/nginx/access.log edgec_json;" in debian and "/dev/stdout" not in debian
    assert "# Run: install as /etc/nginx/nginx.conf, then nginx -t && systemctl reload nginx" in debian
    folder = write({"nginx.conf": prefix}, fresh(tmp_path / "out"))
    (folder / "logs").mkdir(exist_ok=True)
    proc = subprocess.Popen(["nginx", "-p", f"{folder}/", "-c", "nginx.conf", "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=5).status == 200
                break
            except OSError:
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: the log line is written before it exits
        out, _ = proc.communicate(timeout=30)
    line = json.loads(out.splitlines()[0])
    assert (line["uri"], line["status"]) == ("/x", 200)


def test_a_split_between_upstreams_that_differ_is_reported_and_one_that_does_not_is_not():
    ups = '''upstream a { server "127.0.0.1:9000" read_timeout 5s }
      upstream b { server "127.0.0.1:9001" read_timeout 9s }
      upstream c { server "127.0.0.1:9002" read_timeout 5s }
      upstream s { server "127.0.0.1:9003" tls ca "/etc/ca.pem" read_timeout 5s }'''
    _, diags = build(compile_source(f'''edge "t" {{ {ups}
      route timed {{ match path prefix "/t" forward a 50%, b 50% }}
      route alike {{ match path prefix "/a" forward a 50%, c 50% }}
      route alone {{ match path prefix "/o" forward b }}
      route idle {{ match path prefix "/i" forward a 100%, b 0% }}
    }}'''))
    timed = [d for d in diags if "per-upstream timeouts" in d.message]
    assert [(d.code, "'timed'" in d.message) for d in timed] == [("W402", True)]
    files, diags = build(compile_source(f'''edge "t" {{ {ups}
      route mixed {{ match path prefix "/m" forward a 50%, s 50% }}
      route plain {{ match path prefix "/p" forward a 50%, c 50% }}
      route secure {{ match path prefix "/s" forward s }}
    }}'''))
    mixed = [d for d in diags if "different TLS settings" in d.message]
    assert files is None and [(d.code, "'mixed'" in d.message) for d in mixed] == [("E401", True)]
