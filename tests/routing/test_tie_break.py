"""Winners a tie-break rule picks (W321): a case per rule (source order, a method over
headers, headers over query) and per near miss, each checked against decide on a request
both routes accept; for source order, writing the routes the other way round changes the winner."""
from __future__ import annotations

import pytest

from edgec.lint.routing_rules import same_host_and_path, tie_breaks
from edgec.pipeline import analyse
from edgec.routing import first_match_order

from ..conftest import ROOT

from .helpers import UPSTREAMS, edge, route_of


def _ties(routes: str) -> list[tuple[str, str, str]]:
    return [(t.winner.route.name, t.loser.route.name, t.why) for t in tie_breaks(edge(routes))]


# (routes, expected ties (winner, loser, why), a request both accept: (url, method, headers, host))
CASES = [
    # two header conditions, one each: a request with both goes to the route written first
    ('route a { match path prefix "/app" header "X-A" = "1" forward v1 }\n'
     'route b { match path prefix "/app" header "X-B" present forward v2 }',
     [("a", "b", "order")], ("/app/x", "GET", [("X-A", "1"), ("X-B", "y")], None)),
    # query conditions alike, on one host and one exact path
    ('route a { match host "api.example" path exact "/s" query "q" present forward v1 }\n'
     'route b { match host "api.example" path exact "/s" query "r" present forward v2 }',
     [("a", "b", "order")], ("/s?q=1&r=2", "GET", [], "api.example")),
    # methods that overlap (b keeps PUT), nothing else to tell them apart
    ('route a { match path prefix "/m" method GET POST forward v1 }\n'
     'route b { match path prefix "/m" method GET PUT forward v2 }',
     [("a", "b", "order")], ("/m", "GET", [], None)),
    # a method condition ranks above a header condition, whichever route is written first
    ('route b { match path prefix "/api" header "X-Canary" present forward v2 }\n'
     'route a { match path prefix "/api" method GET forward v1 }',
     [("a", "b", "method")], ("/api", "GET", [("X-Canary", "1")], None)),
    # a header condition ranks above two query conditions
    ('route b { match path prefix "/q" query "x" present query "y" present forward v2 }\n'
     'route a { match path prefix "/q" header "H" present forward v1 }',
     [("a", "b", "headers")], ("/q?x=1&y=2", "GET", [("H", "1")], None)),
]

NEAR_MISSES = [
    # a plainly more specific route: more headers, nothing else
    'route a { match path prefix "/app" header "X-A" present header "X-B" present forward v1 }\n'
    'route b { match path prefix "/app" header "X-A" present forward v2 }',
    # conditions that refuse each other: no request reaches both
    'route a { match path prefix "/app" header "X-A" = "1" forward v1 }\n'
    'route b { match path prefix "/app" header "X-A" = "2" forward v2 }',
    'route a { match path prefix "/m" method GET forward v1 }\nroute b { match path prefix "/m" method POST forward v2 }',
    # different paths or hosts rank apart: the longer prefix, the exact host
    'route a { match path prefix "/a" header "X" present forward v1 }\n'
    'route b { match path prefix "/a/b" header "Y" present forward v2 }',
    'route a { match host "*.example" header "X" present forward v1 }\n'
    'route b { match host "a.example" header "Y" present forward v2 }',
    # a method and the header too: more specific in every way
    'route a { match path prefix "/api" method GET header "X" present forward v1 }\n'
    'route b { match path prefix "/api" header "X" present forward v2 }',
    # identical matches (W305) and a route that never wins (W304) are said by those rules
    'route a { match path prefix "/d" forward v1 }\nroute b { match path prefix "/d" forward v2 }',
    'route a { match path prefix "/d" header "X" present forward v1 }\n'
    'route b { match path prefix "/d" header "X" = "1" forward v2 }',
]


@pytest.mark.parametrize("routes,expected,request_", CASES)
def test_the_tie_and_decide_agree(routes, expected, request_):
    assert _ties(routes) == expected
    url, method, headers, host = request_
    winner, loser, why = expected[0]
    assert route_of(edge(routes), url, method, headers, host=host) == winner
    if why == "order":
        first, second = routes.split("\n")
        assert route_of(edge(f"{second}\n{first}"), url, method, headers, host=host) == loser


@pytest.mark.parametrize("routes", NEAR_MISSES)
def test_no_tie_where_specificity_or_other_rules_decide(routes):
    assert _ties(routes) == []


def test_lint_reports_the_tie_at_the_losing_match():
    text = (f'edge "t" {{\nlisten http 80\n{UPSTREAMS}\n{CASES[0][0]}\n}}\n')
    found = [(d.code, d.line, d.column, d.message) for d in analyse(text, "t.edge").diagnostics if d.code == "W321"]
    assert found == [("W321", 7, 11, "route 'b' loses the requests route 'a' (line 6) also takes: "
                      "'a' wins them only because it is written first")]


def test_one_finding_names_every_route_a_match_loses_to():
    routes = ('route a { match header "v" = "1" forward v1 }\nroute b { match header "v" = "2" forward v2 }\n'
              'route c { match header "color" = "blue" forward v1 }')
    text = f'edge "t" {{\nlisten http 80\n{UPSTREAMS}\n{routes}\n}}\n'
    found = [d.message for d in analyse(text, "t.edge").diagnostics if d.code == "W321"]
    assert found == ["route 'c' loses the requests routes 'a' (line 6) and 'b' (line 7) also take: "
                     "they win them only because they are written first"]


def _groups_of_the_order(e) -> list[list]:
    groups: dict[tuple, list] = {}
    for alt in first_match_order(e):
        groups.setdefault((alt.host, alt.match.path.type, alt.entry.path_value), []).append(alt)
    return [g for g in groups.values() if len(g) > 1]


@pytest.mark.parametrize("routes", [
    # one match naming two hosts of one rank: its two places in the order have equal keys,
    # and the group of the host written second ranks below the first's
    'route a { match host "b.example" "a.example" path prefix "/x" method GET forward v1 }\n'
    'route z { match host "a.example" path prefix "/x" forward v2 }\n'
    'route y { match host "b.example" path prefix "/x" header "H" present forward v3 }\n'
    'route c { match path prefix "/x" forward v1 }\n'
    'route d { match path prefix "/x/" query "q" present forward v2 }',
    # a group whose first written member is not its best
    'route a { match path prefix "/p" forward v1 }\n'
    'route b { match path exact "/e" forward v1 }\n'
    'route c { match path prefix "/p" method GET forward v2 }\n'
    'route d { match path exact "/e" header "H" present forward v3 }',
])
def test_groups_are_those_of_the_first_match_order(routes):
    e = edge(routes)
    assert same_host_and_path(e) == _groups_of_the_order(e)


def test_groups_of_every_sample_are_those_of_the_first_match_order():
    checked = 0
    for path in sorted((ROOT / "samples").glob("*.edge")):
        result = analyse(path.read_text(), str(path), all_envs=True)
        for e in result.edges.values():
            if e is not None:
                assert same_host_and_path(e) == _groups_of_the_order(e), path
                checked += bool(_groups_of_the_order(e))
    assert checked
