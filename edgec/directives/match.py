"""`match`: the conditions of one alternative of a route."""
from __future__ import annotations

from .. import ir
from ..diagnostics import did_you_mean
from ..ir import HEADER_NAME, HOST_LABEL
from . import directive


def _uses(route: ir.Route):
    for m in route.matches:
        yield f"match.path.{m.path.type}", m.span
        for host in m.hosts:
            yield ("match.host.wildcard" if host.startswith("*.") else "match.host"), m.span
        if m.methods:
            yield "match.method", m.span
        for h in m.headers:
            yield f"match.header.{h.type}", m.span
        for q in m.query:
            yield f"match.query.{q.type}", m.span


@directive("route", "match", features={
    "match.path.exact": "exact path match",
    "match.path.prefix": "path prefix match on segment boundaries",
    "match.path.regex": "regular-expression path match",
    "match.host": "exact host name match",
    "match.host.wildcard": "wildcard host match (*.example.com)",
    "match.method": "HTTP method match",
    "match.header.exact": "header value equals",
    "match.header.regex": "header value matches a regex",
    "match.header.present": "header is present",
    "match.query.exact": "query parameter equals",
    "match.query.regex": "query parameter matches a regex",
    "match.query.present": "query parameter is present",
}, uses=_uses)
def match(v, stmt, out):
    conds: dict = {"path": [], "host": [], "method": [], "header": [], "query": []}
    for cond in stmt.args["conditions"]:
        if cond.kind == "path" and conds["path"]:
            v.sink.error("E215", "a match has one path condition; for alternatives write another `match` line",
                         cond.span)
        _CONDITIONS[cond.kind](v, cond, conds[cond.kind])
    path = conds["path"][-1] if conds["path"] else ir.PathMatch("prefix", "/")
    out.setdefault("matches", []).append(
        ir.Match(path, tuple(dict.fromkeys(conds["host"])), tuple(dict.fromkeys(conds["method"])),
                 tuple(conds["header"]), tuple(conds["query"]), span=stmt.span))


def check_header_name(v, name: str, span, request: bool = True) -> None:
    """A header name a route may test or change: an HTTP token, and for a request header
    one without "_" (the edge drops such header lines, as nginx and Envoy do:
    routing.without_underscores)."""
    if not HEADER_NAME.match(name):
        v.sink.error("E219", f"'{name}' is not a valid header name", span,
                     hint="header names are letters, digits and !#$%&'*+-.^_`|~")
    elif request and "_" in name:
        v.sink.error("E219", f"request header '{name}' has '_': the edge drops such headers", span,
                     hint=f"nginx and Envoy drop header lines whose names hold '_' (a proxy could read X_User as "
                          f"X-User); write '{name.replace('_', '-')}'")


def refuse_request_id(v, name: str | None, span, why: str,
                      hint: str = "carry another value in a header of another name") -> bool:
    """Whether `name` (None: a value already refused) is the request id header, refused (E232)
    with `why`: each target passes the edge's id on, so a route's own use of the header would
    mean something else on each."""
    if name is None or name.lower() != ir.REQUEST_ID_HEADER.lower():
        return False
    v.sink.error("E232", f"'{name}' is the edge's request id: {why}", span,
                 hint=f"the edge passes on the client's {ir.REQUEST_ID_HEADER} when it is {ir.SANE_REQUEST_ID_WORDS}, "
                      f"else makes one, to the backend and back to the client; {hint}")
    return True


def _path(v, cond, out: list) -> None:
    a = cond.args
    ptype = v.one_text(a["type"].value)
    if ptype == "regex":
        pattern = v.string(a["value"], "path regex", default="")
        v.check_regex(pattern, a["value"].span)
        out.append(ir.PathMatch("regex", pattern))
    else:
        out.append(ir.PathMatch(ptype, v.path(a["value"], f"{ptype} path")))


def _hosts(v, cond, out: list) -> None:
    for h in cond.args["values"]:
        for text, span in v.strings(h, "host"):
            host = v.one_text(text.lower().rstrip("."))
            if not HOST_LABEL.match(host) or ":" in host:
                v.sink.error("E218", f"'{text}' is not a host name or *.wildcard", span,
                             hint='write "api.example.com" or "*.example.com" (no port, no scheme)')
            out.append(host)


def _methods(v, cond, out: list) -> None:
    for value in cond.args["values"]:
        method = value.value
        if method not in ir.HTTP_METHODS:
            guess = did_you_mean(method.upper(), ir.HTTP_METHODS)
            v.sink.error("E211", f"unknown HTTP method '{method}'", value.span,
                         hint=f"did you mean '{guess}'?" if guess else "methods are upper case")
        out.append(v.one_text(method))


def _value(v, cond, out: list) -> None:
    """A header or query condition: header names compare in any case, query names exactly."""
    a = cond.args
    header = cond.kind == "header"
    name = v.one_text(v.string(a["name"], f"{cond.kind} name", default=""))
    if header:
        check_header_name(v, name, a["name"].span)
    value = v.string(a["value"], f"{cond.kind} value", default="") if a["value"] else None
    if a["op"] == "regex":
        v.check_regex(value, a["value"].span)
    if any((m.name.lower() == name.lower()) if header else (m.name == name) for m in out):
        v.sink.error("E215", f"{cond.kind} '{name}' is tested twice in one match", cond.span,
                     hint="a match needs all its conditions; for alternatives write another `match`")
    out.append(ir.ValueMatch(name, a["op"], value))


_CONDITIONS = {"path": _path, "host": _hosts, "method": _methods, "header": _value, "query": _value}
