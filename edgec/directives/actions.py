"""A route's action: forward, redirect, respond or aggregate (one per route)."""
from __future__ import annotations

import re

from .. import ir
from ..ir import DEFAULT_PART_TIMEOUT_MS, DEFAULT_REDIRECT_STATUS, DEFAULT_RESPOND_TYPE
from . import directive

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
BODILESS = (204, 205, 304)  # statuses HTTP sends without content
# a rewrite or redirect sets a path only: Gateway API's filters have no query to set, so
# the client's query (or none) always follows, on every target
KEEPS_QUERY = ('write the path alone: the client\'s own "?..." follows it (a redirect or rewrite sets no '
               'query); a "?" or "#" the path itself holds is written %3F / %23')


def _forward_uses(route: ir.Route):
    if isinstance(route.action, ir.Forward):
        yield "action.forward.weighted" if len(route.action.backends) > 1 else "action.forward"
        yield "protocol.websocket"


@directive("route", "forward", once="action", features={
    "action.forward": "forward to one upstream",
    "action.forward.weighted": "split traffic across upstreams by weight",
    "protocol.websocket": "WebSocket (an HTTP/1.1 Upgrade) passed through to the backend of a forwarding route",
}, uses=_forward_uses)
def forward(v, stmt, out):
    backends = []
    for name, weight in stmt.args["backends"]:
        if weight is None:
            w = 1
        elif weight.kind == "percent":
            w = weight.value
            if w != int(w):
                v.sink.error("E221", "percentages are whole numbers", weight.span)
            w = int(w)
        else:
            w = weight.value
        if w > 1_000_000:
            v.sink.error("E212", f"weight {w} is above 1000000", weight.span)
        backends.append(v.node(ir.Backend, name.value, w))
    out["action"] = v.node(ir.Forward, "forward", tuple(backends))


def _action_uses(kind: str):
    return lambda route: [f"action.{kind}"] if route.action.type == kind else []


@directive("route", "redirect", once="action", features={"action.redirect": "redirect"},
           uses=_action_uses("redirect"))
def redirect(v, stmt, out):
    a = stmt.args
    status = v.integer(a["status"], "redirect status", default=DEFAULT_REDIRECT_STATUS) \
        if a["status"] else DEFAULT_REDIRECT_STATUS
    if status not in REDIRECT_STATUSES:
        v.sink.error("E221", f"{status} is not a redirect status", a["status"].span,
                     hint="use 301, 302, 303, 307 or 308")
    scheme = host = port = path = None
    if a["location"] is not None:
        text = v.string(a["location"], "redirect location", default="")
        m = re.fullmatch(r"(?:(https?)://([^/:?#]+)(?::([0-9]{1,5}))?)?(/[^?#]*)?", text)
        if m is None and re.fullmatch(r"(?:https?://[^/?#]+)?/[^?#]*[?#].*", text):
            v.sink.error("E210", f"redirect location '{text}' holds a query or fragment: the client's query goes "
                         "after the path as it was sent, and no other", a["location"].span, hint=KEEPS_QUERY)
        elif not m or not text:
            v.sink.error("E210", f"redirect location '{text}' is not a path or http(s) URL",
                         a["location"].span, hint='write "/new/path" or "https://example.com/new"')
        else:
            scheme, host = m.group(1), m.group(2)
            port = int(m.group(3)) if m.group(3) else None
            path = ir.PathRewrite("full", m.group(4)) if m.group(4) else None
    opts = a["opts"]
    if "scheme" in opts:
        scheme = opts["scheme"].value
        if scheme not in ("http", "https"):
            v.sink.error("E221", f"redirect scheme '{scheme}' must be http or https", opts["scheme"].span)
    if "host" in opts:
        host = v.hostname(opts["host"], "redirect host")
    if "port" in opts:
        port = v.integer(opts["port"], "redirect port", low=1, high=65535)
    if "path" in opts:
        path = ir.PathRewrite("full", v.path(opts["path"], "redirect path", sent=True))
    if "prefix" in opts:
        prefix = v.string(opts["prefix"], "redirect prefix", default="")
        if prefix and not prefix.startswith("/"):
            v.sink.error("E210", f"redirect prefix '{prefix}' must start with '/'", opts["prefix"].span,
                         hint=f'write "/{prefix}"')
        path = ir.PathRewrite("prefix", prefix, None)
    out["action"] = ir.Redirect("redirect", status, scheme, host.lower() if host else None, port, path)


@directive("route", "respond", args=("status", "body", "type"), once="action",
           features={"action.respond": "fixed response"}, uses=_action_uses("respond"))
def respond(v, stmt, out):
    a = stmt.args
    status = v.integer(a["status"], "response status", default=200, low=100, high=599)
    body = v.string(a["body"], "response body", default="", controls="\n\r\t") if a["body"] else ""
    if body and status in BODILESS:
        v.sink.error("E226", f"a {status} response has no body (RFC 9110 §15): the body would never be sent",
                     a["body"].span, hint=f"write `respond {status}`, or answer 200 with the body")
    out["action"] = ir.Respond(
        "respond", status, body,
        v.string(a["type"], "content type", default=DEFAULT_RESPOND_TYPE) if a["type"] else DEFAULT_RESPOND_TYPE)


def _aggregate_uses(route):
    if route.action.type == "aggregate":  # a part's timeout always applies: the default when not written
        yield "action.aggregate"
        yield "action.aggregate.timeout", None, all(p.timeout_ms == DEFAULT_PART_TIMEOUT_MS
                                                     for p in route.action.parts)


@directive("route", "aggregate", once="action", features={
    "action.aggregate": "aggregate parallel sub-requests into one JSON response",
    "action.aggregate.timeout": "a part's timeout: one deadline over connecting to its upstream and its answer",
}, uses=_aggregate_uses)
def aggregate(v, stmt, out):
    parts = []
    seen = set()
    for p in stmt.body:
        a = p.args
        name = a["name"].value
        if name in seen:
            v.sink.error("E106", f"aggregate part '{name}' is defined twice", a["name"].span)
        seen.add(name)
        method = a["method"].value.upper()
        if method not in ir.HTTP_METHODS:
            v.sink.error("E211", f"unknown HTTP method '{a['method'].value}'", a["method"].span)
        parts.append(ir.AggregatePart(name, method, a["upstream"].value, v.path(a["path"], "part path", with_query=True),
                                      a["timeout"].value if a["timeout"] else DEFAULT_PART_TIMEOUT_MS))
    if not parts:
        v.sink.error("E208", "aggregate needs at least one part", stmt.span,
                     hint='write: name = get UPSTREAM "/path"')
    out["action"] = ir.Aggregate("aggregate", tuple(parts))
