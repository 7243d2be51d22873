"""`auth external` through the real nginx (auth_request): allowed, denied, the service
failing, slow or down (tests/support/external_auth.py holds the cases every target is held to)."""
from __future__ import annotations

from edgec.pipeline import analyse
from edgec.routing import Request, decide
from tests.support import external_auth

from .support import build, gixy


def test_the_authorization_service_decides(gateway):
    with external_auth.services() as (app, authz, dead):
        gw = gateway(external_auth.edge(app.address, authz.address, dead), keep_servers=("app",))
        assert external_auth.failures(f"http://127.0.0.1:{gw.ports[8080]}", app, authz) == []
        assert gixy(gw.nginx.prefix) == []


def test_the_timeout_bounds_connecting_and_the_answer_each_on_its_own(gateway):
    """The auth.external.timeout row's difference, and its warning: a check that takes about a
    second to connect and answers just within the timeout after that lets the request through."""
    with external_auth.slow_services() as (slow, quick):
        gw = gateway(external_auth.slow_edge("127.0.0.1:1", slow.address, quick.address))
        assert sum("[auth.external.timeout]" in d.message for d in gw.warnings) == 2
        failures = external_auth.deadline_failures(f"http://127.0.0.1:{gw.ports[8080]}", gw.echoes["app"], slow, quick)
        assert any(f.startswith("/slow/a: status 200") for f in failures), failures
        assert not [f for f in failures if f.startswith("/quick/") or "did not wait" in f], failures


# routes on the paths of nginx's own internal locations (the subrequests of external auth,
# JWKS fetches, mirrors and aggregation parts), and on what a client's `//edgec/...` becomes
INTERNAL_PATHS = '''edge "internal" {
  upstream app {
    server "127.0.0.1:1"
  }
  upstream copy {
    server "127.0.0.1:1"
  }
  auth external checker {
    url "http://127.0.0.1:9/check"
  }
  auth jwt tokens {
    issuer "https://issuer.test/"
    jwks "http://127.0.0.1:9/jwks.json"
  }
  route guarded {
    match path prefix "/guarded"
    auth checker
    forward app
  }
  route token {
    match path prefix "/token"
    auth tokens
    forward app
  }
  route mirrored {
    match path prefix "/mirrored"
    forward app
    mirror copy
  }
  route merged {
    match path exact "/merged"
    aggregate {
      a = get app "/a"
    }
  }
  route auth_path {
    match path exact "/.edgec/auth/checker"
    respond 200 "auth_path"
  }
  route below_auth {
    match path prefix "/.edgec"
    respond 200 "below_auth"
  }
  route internal {
    match path prefix "/_edgec"
    respond 200 "internal"
  }
  route merged_slashes {
    match path prefix "/edgec"
    respond 200 "merged_slashes"
  }
}
'''


# requests on those paths, raw and as nginx merges their slashes
INTERNAL_REQUESTS = ["/.edgec/auth/checker", "/.edgec/auth/other", "/_edgec/jwks/tokens", "/_edgec/jwks/tokens/fresh",
                     "/_edgec/mirror/mirrored/1", "/_edgec/aggregate/merged/1", "//edgec/auth/checker",
                     "//edgec/jwks/tokens", "//edgec/mirror/mirrored/1", "//edgec/aggregate/merged/1",
                     "/edgec//auth/checker"]


def test_a_route_on_an_internal_location_path_is_what_explain_says(gateway):
    """nginx's internal locations can be neither reached nor shadowed by a client's request."""
    gw = gateway(INTERNAL_PATHS)
    edge = analyse(INTERNAL_PATHS, "internal.edge").edge
    wrong = []
    for path in INTERNAL_REQUESTS:
        expected = decide(edge, Request.from_url("GET", path)).route
        reply = gw.get(path)
        if (reply.status, reply.body.decode()) != (200, expected):
            wrong.append(f"{path}: {reply.status} {reply.body[:40]!r}, decide says {expected}")
    assert wrong == []


def test_the_default_timeout_is_summed_up_and_a_written_one_reported_where_written():
    """The approximation of a timeout the file does not write is one of the defaults' warning,
    which --strict leaves a warning; a written one is reported at its auth (an error with --strict)."""
    def built(timeout: str, strict: bool):
        source = ('edge "a" {\n  upstream app {\n    server "127.0.0.1:1"\n  }\n'
                  f'  auth external checker {{\n    url "http://127.0.0.1:9/check"\n{timeout}  }}\n'
                  '  route r {\n    match path prefix "/"\n    auth checker\n    forward app\n  }\n}\n')
        files, diagnostics = build(analyse(source, "a.edge").edge, strict=strict)
        return files is not None, [(d.code, d.line, d.message) for d in diagnostics if "auth.external.timeout" in d.message]

    ok, found = built("", strict=True)
    assert ok and found == [("W402", 5, "target 'nginx' approximates defaults the file does not set: "
                                        "auth.external.timeout (1)")]
    ok, found = built("    timeout 500ms\n", strict=False)
    assert ok and [(code, line) for code, line, _ in found] == [("W402", 5)]
    assert found[0][2].startswith("target 'nginx' approximates the authorization service's timeout")
    ok, found = built("    timeout 500ms\n", strict=True)
    assert not ok and [(code, line) for code, line, _ in found] == [("E401", 5)]
