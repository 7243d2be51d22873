"""Hypothesis strategies: valid edge files (as Specs) and hostile requests aimed at their
route boundaries.

Routes are drawn from small alphabets so that they overlap (the same segments, hosts and
header names come back), which is where precedence decides. Requests start from the
paths, hosts, header and query names the routes use and are then bent: a character
more or less at the end of a prefix, dot segments, doubled slashes, %-escapes of letters
and of `/` and `.`, a bare `?`, repeated headers and parameters, header names in other
letter cases or with `_`, Host with a port, a trailing dot or upper case, raw non-ASCII and
characters outside RFC 3986, long values.
"""
from __future__ import annotations

from hypothesis import strategies as st

from edgec.routing import Request

from .spec import Condition, HeaderOp, Match, Route, Spec, quote

SEGMENTS = ("a", "b", "ab", "api", "v1", "x")
HOSTS = ("a.example", "b.a.example", "*.a.example", "*.example", "c.test")
HEADER_NAMES = ("X-Tier", "X-Env", "X-Trace", "Accept")
HEADER_VALUES = ("gold", "v1", "a,b", "")
QUERY_NAMES = ("q", "v")
QUERY_VALUES = ("1", "x", "a%20b")
METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE")
OP_HEADERS = ("X-Tier", "X-Trace", "Accept", "X-Added")
RESPONSE_HEADERS = ("X-Resp", "Cache-Control")
REDIRECTS = ('', '301', '302 prefix "/new"', '308 prefix "/"', 'path "/moved"', 'host "other.example"',
             'scheme https', 'port 8080', '301 prefix "/new/"', 'prefix "/x/y"')
RESPONDS = ((200, "ok"), (200, None), (403, None), (404, "none here"), (410, "gone"), (418, None),
            (503, "busy"), (403, "denied"))

paths = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).flatmap(
    lambda segs: st.sampled_from(["/" + "/".join(segs), "/" + "/".join(segs) + "/"]))


@st.composite
def regexes(draw) -> str:
    segs = draw(st.lists(st.sampled_from(SEGMENTS + ("[^/]+", "[0-9]+", ".*", "v[0-9]")), min_size=1, max_size=3))
    return "/" + "/".join(segs)


@st.composite
def conditions(draw) -> Condition:
    kind = draw(st.sampled_from(("header", "header", "query")))
    name = draw(st.sampled_from(HEADER_NAMES if kind == "header" else QUERY_NAMES))
    op = draw(st.sampled_from(("=", "=", "=", "~", "present")))
    if op == "present":
        return Condition(kind, name, op)
    if op == "~":
        return Condition(kind, name, op, draw(st.sampled_from(("g.*", "v[0-9]+", "[a-z]+", "1|x"))))
    pool = HEADER_VALUES[:-1] if kind == "header" else QUERY_VALUES
    return Condition(kind, name, op, draw(st.sampled_from(pool)))


@st.composite
def matches(draw) -> Match:
    kind = draw(st.sampled_from(("prefix", "prefix", "exact", "regex", None)))
    path = draw(regexes()) if kind == "regex" else draw(paths) if kind else "/"
    hosts = tuple(draw(st.lists(st.sampled_from(HOSTS), max_size=2, unique=True))) if draw(st.booleans()) else ()
    methods = tuple(sorted(draw(st.lists(st.sampled_from(METHODS), min_size=1, max_size=2, unique=True)))) \
        if draw(st.integers(0, 3)) == 0 else ()
    conds = draw(st.lists(conditions(), max_size=2, unique_by=lambda c: (c.kind, c.name)))
    return Match(kind, path, hosts, methods, tuple(conds))


@st.composite
def routes(draw, index: int) -> Route:
    ms = tuple(draw(st.lists(matches(), min_size=1, max_size=2)))
    kind = draw(st.sampled_from(("forward", "forward", "forward", "redirect", "respond")))
    ops = []
    for side, names in (("request_header", OP_HEADERS), ("response_header", RESPONSE_HEADERS)):
        if kind != "forward" and side == "request_header":
            continue
        chosen = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        for name in chosen:
            op = draw(st.sampled_from(("set", "add", "remove")))
            ops.append(HeaderOp(side, op, name, "" if op == "remove" else draw(st.sampled_from(("edge", "v2")))))
    rewrite = ""
    if kind == "forward":
        ups = draw(st.lists(st.sampled_from(("u1", "u2", "u3")), min_size=1, max_size=2, unique=True))
        weights = [draw(st.integers(1, 5)) for _ in ups] if len(ups) > 1 else [1]
        action = ("forward", tuple(zip(ups, weights)))
        # lowering refuses a prefix rewrite that is not the prefix of every match (E213)
        prefixes = {m.path if m.path_kind == "prefix" else None for m in ms}
        prefix = prefixes.pop() if len(prefixes) == 1 else None
        choice = draw(st.sampled_from(("", "", "host", "path") + (("strip", "prefix") if prefix else ())))
        if choice == "host":
            rewrite = 'rewrite host "up.example"'
        elif choice == "path":
            rewrite = 'rewrite path "/full"'
        elif choice == "strip":
            rewrite = f"strip_prefix {quote(prefix)}"
        elif choice == "prefix":
            rewrite = f"rewrite prefix {quote(prefix)} {quote(draw(st.sampled_from(('/new', '/', '/n/m/'))))}"
    elif kind == "redirect":
        # a `redirect prefix` needs every match to be a prefix match (E223)
        every_prefix = all(m.path_kind == "prefix" for m in ms)
        action = ("redirect", draw(st.sampled_from([r for r in REDIRECTS if every_prefix or "prefix" not in r])))
    else:
        status, body = draw(st.sampled_from(RESPONDS))
        action = ("respond", status, body)
    return Route(f"r{index}", ms, action, tuple(ops), rewrite)


@st.composite
def specs(draw, min_routes: int = 3, max_routes: int = 12) -> Spec:
    n = draw(st.integers(min_routes, max_routes))
    return Spec(tuple(draw(routes(i + 1)) for i in range(n)))


# ---- requests -------------------------------------------------------------------------------------

def _bend_path(draw, path: str) -> str:
    """One of the paths just around `path`, or `path` disguised."""
    how = draw(st.sampled_from(("same", "same", "slash", "more", "less", "child", "dot", "dotdot", "double",
                                "escape", "escape_slash", "escape_dot", "raw_utf8", "pct_utf8", "unsafe",
                                "case", "long")))
    p = path if path.startswith("/") else "/"
    segs = [s for s in p.split("/") if s]
    if how == "slash":
        return p.rstrip("/") + "/" if not p.endswith("/") else p.rstrip("/") or "/"
    if how == "more":
        return p.rstrip("/") + draw(st.sampled_from(("x", "b", "-")))
    if how == "less":
        return p[:-1] or "/"
    if how == "child":
        return p.rstrip("/") + "/" + draw(st.sampled_from(SEGMENTS))
    if how == "dot" and segs:
        return "/" + "/./".join(segs)
    if how == "dotdot":
        return "/zz/.." + p
    if how == "double":
        return "/" + p
    if how == "escape":
        letters = [i for i, ch in enumerate(p) if ch.isalpha()]
        if letters:
            i = draw(st.sampled_from(letters))
            return p[:i] + f"%{ord(p[i]):02X}" + p[i + 1:]
    if how == "escape_slash" and len(segs) > 1:
        return "/" + "%2F".join(segs)
    if how == "escape_dot":
        return p.rstrip("/") + "/%2e/" + draw(st.sampled_from(SEGMENTS))
    if how == "raw_utf8":
        return p.rstrip("/") + "/\u00e9"
    if how == "pct_utf8":
        return p.rstrip("/") + "/%C3%A9"
    if how == "unsafe":
        return p.rstrip("/") + "/a" + draw(st.sampled_from("|{}<>[]^\\\"`")) + "b"
    if how == "case":
        return p.upper()
    if how == "long":
        return p.rstrip("/") + "/" + "y" * 600
    return p


def _bend_host(draw, host: str) -> str:
    if host.startswith("*."):
        host = draw(st.sampled_from(("w", "deep.w"))) + host[1:]
    how = draw(st.sampled_from(("same", "same", "port", "dot", "upper", "other")))
    return {"same": host, "port": host + ":8080", "dot": host + ".", "upper": host.upper(),
            "other": "elsewhere.test"}[how]


@st.composite
def requests(draw, spec: Spec) -> Request:
    ms = [m for r in spec.routes for m in r.matches]
    m = draw(st.sampled_from(ms))
    if m.path_kind == "regex":
        base = "/" + "/".join(draw(st.lists(st.sampled_from(SEGMENTS + ("42", "v7")), min_size=1, max_size=3)))
    else:
        base = m.path if m.path_kind else draw(paths)
    path = _bend_path(draw, base)
    query = ""
    bare = False
    pairs = []
    for c in m.conditions:
        if c.kind == "query" and draw(st.booleans()):
            pairs.append(f"{c.name}={c.value or 'x'}" if c.op == "=" else c.name + "=1")
    for _ in range(draw(st.integers(0, 2))):
        pairs.append(f"{draw(st.sampled_from(QUERY_NAMES))}={draw(st.sampled_from(QUERY_VALUES))}")
    if pairs:
        query = "&".join(pairs)
    elif draw(st.integers(0, 5)) == 5:
        bare = True
    host = _bend_host(draw, draw(st.sampled_from(m.hosts))) if m.hosts and draw(st.integers(0, 4)) else \
        _bend_host(draw, draw(st.sampled_from(HOSTS)))
    headers = []
    for c in m.conditions:
        if c.kind == "header" and draw(st.integers(0, 3)):
            value = c.value if c.op == "=" else draw(st.sampled_from(("gold", "v12", "abc", "1")))
            headers.append((_bend_name(draw, c.name), value))
    for _ in range(draw(st.integers(0, 2))):
        headers.append((_bend_name(draw, draw(st.sampled_from(HEADER_NAMES + OP_HEADERS))),
                        draw(st.sampled_from(HEADER_VALUES + ("c1", "c2", "z" * 300)))))
    method = draw(st.sampled_from(m.methods or METHODS)) if draw(st.integers(0, 3)) else draw(st.sampled_from(METHODS))
    target = path + ("?" + query if query else "?" if bare else "")
    return Request.from_url(method, target, headers, host=host)


def _bend_name(draw, name: str) -> str:
    how = draw(st.sampled_from(("same", "same", "same", "lower", "upper", "underscore")))
    return {"same": name, "lower": name.lower(), "upper": name.upper(), "underscore": name.replace("-", "_")}[how]
