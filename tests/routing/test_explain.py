"""explain(): each losing match names the precedence rule it lost on."""
from __future__ import annotations

from edgec.explain import explain, render_text
from edgec.routing import Request

from .helpers import edge

ROUTES = '''
route winner { match host "a.example" path exact "/x" method GET header "h" = "1" query "q" = "1" forward v1 }
route no_host { match path exact "/x" forward v1 }
route wild { match host "*.example" path exact "/x" forward v1 }
route prefix { match host "a.example" path prefix "/x" method GET forward v1 }
route regex { match host "a.example" path regex "/[x]" forward v1 }
route no_method { match host "a.example" path exact "/x" header "h" = "1" query "q" = "1" forward v1 }
route fewer_headers { match host "a.example" path exact "/x" method GET query "q" = "1" forward v1 }
route fewer_query { match host "a.example" path exact "/x" method GET header "h" = "1" forward v1 }
route later { match host "a.example" path exact "/x" method GET header "h" = "1" query "q" = "1" forward v1 }
'''


def test_each_loser_names_its_rule():
    e = edge(ROUTES)
    x = explain(e, Request.from_url("GET", "/x?q=1", [("h", "1")], host="a.example"))
    assert x["winner"]["route"] == "winner"
    lost = {o["route"]: (o["lost_on"], o["why"]) for o in x["others"]}
    assert lost == {
        "no_host": ("host", "exact host 'a.example' beats no host condition"),
        "wild": ("host", "exact host 'a.example' beats wildcard host '*.example'"),
        "prefix": ("path", "exact '/x' beats prefix '/x' (exact > regex > prefix)"),
        "regex": ("path", "exact '/x' beats regex '/[x]' (exact > regex > prefix)"),
        "no_method": ("method", "a method condition (GET) beats none"),
        "fewer_headers": ("headers", "1 header condition(s) beat 0"),
        "fewer_query": ("query", "1 query condition(s) beat 0"),
        "later": ("route order", "route 'winner' comes first in the file"),
    }
    text = render_text(x)
    assert "→ route 'winner' (match 1, line" in text and "lost on route order" in text


def test_longer_prefix_regex_order_and_match_order():
    e = edge('route r { match path prefix "/a" match path prefix "/a/b" forward v1 }\n'
             'route s { match path regex "/a/.*" forward v1 } route t { match path regex "/a/b/.*" forward v1 }')
    x = explain(e, Request.from_url("GET", "/a/b/c"))
    assert x["winner"]["route"] == "s"
    lost = {(o["route"], o["match"]): o["why"] for o in x["others"]}
    assert lost[("t", 1)] == "regex '/a/.*' appears earlier in the file than '/a/b/.*'"
    e = edge('route r { match path prefix "/a" match path prefix "/a/b" forward v1 }')
    x = explain(e, Request.from_url("GET", "/a/b/c"))
    assert x["winner"]["match"] == 2
    assert x["others"][0]["why"] == "longer prefix '/a/b' beats '/a'"
    e = edge('route r { match path prefix "/a" match path prefix "/a/" forward v1 }')
    x = explain(e, Request.from_url("GET", "/a/b"))
    assert x["others"][0]["why"] == "match 1 comes before match 2 in the route"


def test_bad_path_and_no_backend():
    e = edge('route r { forward v1 }')
    x = explain(e, Request.from_url("GET", "/%zz"))
    assert x["outcome"]["status"] == 400 and x["winner"] is None
    assert "→ 400 (bad request path: malformed %-escape)" in render_text(x)
