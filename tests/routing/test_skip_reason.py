"""skip_reason: a target runner may skip a corpus case only with its capability note."""
from __future__ import annotations

from edgec.features import FEATURES
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
