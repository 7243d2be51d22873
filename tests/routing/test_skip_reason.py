"""skip_reason: a target runner may skip a corpus case only with its capability note."""
from __future__ import annotations

import dataclasses

import pytest

from edgec import ir
from edgec.cases import Case
from edgec.features import EXERCISED, FEATURES
from edgec.harness.live import case_features, exercised, skip_reason
from edgec.pipeline import analyse
from edgec.targets import Target, approximate, native, unsupported
from tests.conformance import corpus


def target(**special):
    caps = {f: native() for f in FEATURES}
    caps.update({k.replace("__", "."): v for k, v in special.items()})
    return type("Fake", (Target,), {"name": "fake", "description": "", "capabilities": caps})()


def _file(stem):
    return next(f for f in corpus.files() if f.path.endswith(f"/{stem}.yaml"))


def test_native_everywhere_skips_nothing():
    t = target()
    for f in corpus.files():
        edge = corpus.edge_of(f)
        assert all(corpus.skip_reason(t, edge, c) is None for c in f.cases)


def test_an_approximate_feature_skips_the_cases_that_depend_on_it():
    t = target(**{"match__header__regex": approximate("regex values compared as prefixes")})
    f = _file("edge_headers")  # route 'versioned' (prefix /api) has a header regex
    edge = corpus.edge_of(f)
    skipped = {c.name: corpus.skip_reason(t, edge, c) for c in f.cases if corpus.skip_reason(t, edge, c)}
    assert set(skipped) == {c.name for c in f.cases if c.url.startswith("/api")} and len(skipped) == 4
    assert set(skipped.values()) == {"fake: match.header.regex is approximate: regex values compared as prefixes"}
    exact = _file("exact")
    assert all(corpus.skip_reason(t, corpus.edge_of(exact), c) is None for c in exact.cases)


def test_route_features_only_for_the_expected_route():
    t = target(**{"rewrite__host": approximate("host rewritten by a filter")})
    f = _file("rewrite")
    edge = corpus.edge_of(f)
    skipped = {c.name for c in f.cases if corpus.skip_reason(t, edge, c)}
    assert skipped == {"host one", "host two", "host and headers"}


def test_requires_and_unsupported():
    t = target(**{"listener__https": approximate("no TLS in tests")})
    f = _file("redirect_port")
    edge = corpus.edge_of(f)
    skipped = [c.name for c in f.cases if corpus.skip_reason(t, edge, c)]
    assert skipped == [c.name for c in f.cases if c.requires == ("listener.https",)] and len(skipped) == 6
    t = target(**{"action__forward__weighted": unsupported("no split")})
    f = _file("weight")
    assert corpus.skip_reason(t, corpus.edge_of(f), f.cases[0]).startswith("fake cannot build this edge")


WHEN_EDGE = """edge "when" {
  listen http 80
  deny "203.0.113.0/24"
  upstream u1 { server "127.0.0.1:9001" }
  route headed {
    match path prefix "/headed"
    allow "10.0.0.0/8"
    response_header set "X-H" "1"
    forward u1
  }
  route listed {
    match path prefix "/listed"
    allow "10.0.0.0/8"
    forward u1
  }
  route tested {
    match path prefix "/t" header "X-A" present query "q" ~ "a.*"
    forward u1
  }
  route added {
    match path prefix "/add"
    request_header add "X-T" "edge"
    forward u1
  }
  route rw {
    match path prefix "/rw"
    rewrite prefix "/rw" "/new"
    forward u1
  }
  route back {
    match path prefix "/back"
    redirect prefix "/new"
  }
  route away {
    match path prefix "/away"
    redirect host "other.example"
  }
  route fixed {
    match path prefix "/fixed"
    respond 200 "ok"
  }
  route rest {
    match path prefix "/"
    forward u1
  }
}
"""


@pytest.mark.parametrize("feature, when, exercised, not_exercised", [
    ("request.host.spelling", "location_takes_host", ("/back/x", "EDGE.test.", ()), ("/away/x", "EDGE.test.", ())),
    ("request.host.spelling", "location_takes_host", ("/back/x", "EDGE.test.", ()), ("/x", "EDGE.test.", ())),
    ("request.query.bare", "path_goes_on", ("/x?", "edge.test", ()), ("/fixed?", "edge.test", ())),
    ("request.query.bare", "path_rebuilt", ("/rw/x?", "edge.test", ()), ("/x?", "edge.test", ())),
    ("request.query.bare", "path_rebuilt", ("/back/x?", "edge.test", ()), ("/x?", "edge.test", ())),
    ("request.header.underscore", "forwarded", ("/x", "edge.test", (("X_A", "1"),)),
     ("/fixed", "edge.test", (("X_A", "1"),))),
    ("request.header.repeated", "repeated_header_tested", ("/t?q=a", "edge.test", (("X-A", "1"), ("x-a", "2"))),
     ("/x", "edge.test", (("X-A", "1"), ("X-A", "2")))),
    ("request.header.repeated", "repeated_header_added", ("/add", "edge.test", (("X-T", "1"), ("X-T", "2"))),
     ("/add", "edge.test", (("X-B", "1"), ("X-B", "2")))),
    ("match.header.present", "empty_header_tested", ("/t?q=a", "edge.test", (("X-A", ""),)),
     ("/t?q=a", "edge.test", (("X-A", "1"),))),
    ("request.header.empty", "empty_header_joined", ("/x", "edge.test", (("X-A", ""), ("X-A", "1"))),
     ("/x", "edge.test", (("X-A", ""),))),
    ("request.header.empty", "empty_header_added", ("/add", "edge.test", (("X-T", ""),)),
     ("/x", "edge.test", (("X-A", ""), ("X-A", "1")))),
    ("match.query.regex", "query_escaped", ("/t?q=a%20", "edge.test", (("X-A", "1"),)),
     ("/t?q=ab", "edge.test", (("X-A", "1"),))),
])
def test_a_row_approximate_only_when_skips_only_those_requests(feature, when, exercised, not_exercised):
    """A row with `when` excuses only the requests on which its difference can show; the
    same feature without `when` excuses both."""
    edge = analyse(WHEN_EDGE, "when.edge").edge
    yes, no = (Case("c", "GET", url, host, headers, None, {}) for url, host, headers in (exercised, not_exercised))
    narrow = target(**{feature.replace(".", "__"): approximate("differs", when=when)})
    broad = target(**{feature.replace(".", "__"): approximate("differs")})
    assert feature in case_features(edge, yes) and feature in case_features(edge, no)
    assert skip_reason(narrow, edge, yes) == f"fake: {feature} is approximate: differs"
    assert skip_reason(narrow, edge, no) is None
    assert skip_reason(broad, edge, no) is not None


def test_every_when_names_a_condition_of_an_approximate_row():
    from edgec.targets import APPROXIMATE, get, names
    for name in names():
        t = get(name)
        for table in (t.capabilities, *t.profiles.values()):
            for feature, cap in table.items():
                if cap.when is not None:
                    assert cap.when in EXERCISED and cap.level == APPROXIMATE, (name, feature)


@pytest.mark.parametrize("given, odd", [("abc-123", False), ("a.b:c_D-9", False), ("x" * 128, False),
                                        ("bad id!", True), ("x" * 129, True), ("", True), ("caf\u00e9", True)])
def test_a_request_id_the_edge_replaces_is_a_request_feature(given, odd):
    """An X-Request-Id that is not 1-128 of A-Za-z0-9._:- is replaced by the edge's: a target that
    makes none (the load balancer's row) is excused from such requests only."""
    lenient = target(request__header__request_id=approximate("makes no request id"))
    edge = analyse(WHEN_EDGE, "when.edge").edge
    case = Case("c", "GET", "/x", "edge.test", (("x-request-id", given),), None, {})
    assert ("request.header.request_id" in case_features(edge, case)) == odd
    assert (skip_reason(lenient, edge, case) is not None) == odd


def test_edge_lists_are_exercised_only_on_a_route_with_response_headers():
    """Envoy's edge lists answer with the response headers of the route the request is for:
    a difference only where that route has some."""
    edge = analyse(WHEN_EDGE, "when.edge").edge
    for url, route, shows in (("/headed", "headed", True), ("/listed", "listed", False)):
        case = Case("c", "GET", url, "edge.test", (), None, {"route": route}, ("access",))
        assert exercised("edge_lists_and_route_headers", edge, case) is shows
    without_lists = dataclasses.replace(edge, access=ir.Access())
    case = Case("c", "GET", "/headed", "edge.test", (), None, {"route": "headed"}, ("access",))
    assert exercised("edge_lists_and_route_headers", without_lists, case) is False
