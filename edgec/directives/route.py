"""`route` and the policies its block holds (its action is in actions.py, its matches in match.py)."""
from __future__ import annotations

import re

from .. import ir
from ..ir import CACHE_KEY, DEFAULT_CACHE_METHODS, DEFAULT_CORS_MAX_AGE_S, DEFAULT_CORS_METHODS, \
    DEFAULT_RETRY_STATUSES
from . import directive, lower_body
from .match import check_header_name, refuse_request_id


@directive("edge", "route", opens="route")
def route(v, stmt, out):
    lowered = v.once_for_every_env(stmt, lambda: _route(v, stmt))
    if lowered is not None:
        out.setdefault("routes", []).append(lowered)


# what most routes have: one value shared rather than one per route (IR nodes are frozen)
_NO_HEADER_OPS, _NO_REWRITE = ir.HeaderOps(), ir.Rewrite()


def _route(v, stmt) -> ir.Route | None:
    name = stmt.args["name"].value
    fields: dict = {"request_headers": {"set": [], "add": [], "remove": []},
                    "response_headers": {"set": [], "add": [], "remove": []}, "rewrite": {}}
    lower_body(v, stmt, "route", f"route '{name}'", fields)
    action = fields.pop("action", None)
    if action is None:
        v.sink.error("E208", f"route '{name}' has no action", stmt.args["name"].span,
                     hint="add one of: forward UPSTREAM, redirect, respond STATUS, aggregate { }")
        return None
    matches = fields.pop("matches", None) or [ir.Match(ir.PathMatch("prefix", "/"), span=stmt.span)]
    rewrite = fields.pop("rewrite")
    for direction in ("request_headers", "response_headers"):
        ops = fields[direction]
        fields[direction] = ir.HeaderOps(**{k: tuple(o) for k, o in ops.items()}) if any(ops.values()) else _NO_HEADER_OPS
    return ir.Route(
        name=name, matches=tuple(matches), action=action,
        rewrite=ir.Rewrite(rewrite.get("path"), rewrite.get("host")) if rewrite else _NO_REWRITE,
        span=stmt.span, **{k: tuple(f) if isinstance(f, list) else f for k, f in fields.items()})


@directive("route", "auth_ref", args=("name",), rule="route_auth", once="auth_ref")
def auth_ref(v, stmt, out):
    out["auth"] = v.one_text(stmt.args["name"].value)


# RFC 6749 §3.3: a scope is printable ASCII without space, '"' and '\\'
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# registered claims whose value is a number (RFC 7519 §4.1.4-6): no string value ever matches
NUMERIC_CLAIMS = ("exp", "nbf", "iat")


def _require_uses(route: ir.Route):
    if route.require.claims:
        yield "auth.claims"
    if route.require.scopes:
        yield "auth.scopes"


@directive("route", "require", args=("kind", "*values"), rule="route_require", features={
    "auth.claims": "a claim of the verified JWT must hold one of the values given (403 when it does not)",
    "auth.scopes": "the verified JWT must grant every scope given, in `scope` or `scp` (403 when it does not)",
}, uses=_require_uses)
def require(v, stmt, out):
    kind = stmt.args["kind"]
    items = v.strings_of(stmt.args["values"], f"required {kind.value}")
    held = out.get("require", ir.Requirements())
    if kind.value == "scope":
        scopes = list(held.scopes)
        for text, span in items:
            if not SCOPE_TOKEN.fullmatch(text):
                v.sink.error("E231", f"'{text}' cannot be a scope: a token's scopes are printable ASCII without "
                             "spaces, '\"' or '\\'", span,
                             hint="list each scope as a string of its own: require scope \"orders:read\" \"orders:write\"")
            elif text not in scopes:
                scopes.append(text)
        out["require"] = ir.Requirements(held.claims, tuple(scopes))
        return
    if not items:
        return
    (name, name_span), values = items[0], tuple(dict.fromkeys(t for t, _ in items[1:]))
    if not values:
        v.sink.error("E231", f"require claim '{name}' names no value", stmt.span,
                     hint=f'give the values it may hold (any of them will do): require claim "{name}" "VALUE"')
    elif not name:
        v.sink.error("E231", "a claim's name cannot be empty", name_span, hint='name the claim: require claim "role" "admin"')
    elif name in NUMERIC_CLAIMS:
        v.sink.error("E231", f"claim '{name}' is a number (RFC 7519 NumericDate): no string value can match it",
                     name_span, hint="the token's times are checked by the auth provider; require a claim holding text")
    else:
        out["require"] = ir.Requirements((*held.claims, ir.ClaimRequirement(name, values, stmt.span)), held.scopes)


def _rate_limit_uses(route: ir.Route):
    if route.rate_limit:
        yield f"rate_limit.{route.rate_limit.key.source}"
        yield "rate_limit.retry_after"
        yield "rate_limit.headers"
        if route.rate_limit.burst:
            yield "rate_limit.burst"


@directive("route", "rate_limit", args=("rate", "key", "burst"), once="rate_limit", features={
    "rate_limit.client_ip": "rate limit per client address",
    "rate_limit.header": "rate limit per request header value",
    "rate_limit.claim": "rate limit per JWT claim",
    "rate_limit.burst": "rate limit burst allowance",
    "rate_limit.retry_after": "Retry-After on a rate limit's 429 answers: when the limit lets a request through again",
    "rate_limit.headers": "the IETF draft's RateLimit-Policy and RateLimit headers on a rate limit's 429 answers",
}, uses=_rate_limit_uses)
def rate_limit(v, stmt, out):
    a = stmt.args
    count, window = a["rate"].value
    if count == 0:
        v.sink.error("E203", "a rate of 0 lets nothing through", a["rate"].span,
                     hint="to refuse every request use `respond 429`; else give a positive rate")
    source, key_value = a["key"] or ("client_ip", None)
    key = v.node(ir.RateLimitKey, source, v.string(key_value, f"rate limit {source}") if key_value else None)
    if source == "header":
        refuse_request_id(v, key.name, key_value.span, "each request carries its own (the client picks it, or "
                          "the edge makes a new one), so a limit by it limits nothing",
                          "limit by client_ip, by a header that names the client (an API key) or by a claim")
    burst = v.integer(a["burst"], "burst", default=0, low=0, high=1_000_000) if a["burst"] else 0
    out["rate_limit"] = v.node(ir.RateLimit, count, window, key, burst)


def _cache_uses(route: ir.Route):
    if route.cache:
        yield "cache"
        if route.cache.vary:
            yield "cache.vary"


@directive("route", "cache", once="cache", features={
    "cache": "response cache with a TTL",
    "cache.vary": "cache entries keyed by request headers",
}, uses=_cache_uses)
def cache(v, stmt, out):
    a = stmt.args
    out["cache"] = v.node(ir.Cache, a["ttl"].value,  # ttl_ms, methods, key, vary
                          tuple(v.methods(a["methods"])) if a["methods"] else DEFAULT_CACHE_METHODS, CACHE_KEY,
                          tuple(t for t, _ in v.strings_of(a["vary"] or (), "vary header")))


def _header_uses(route: ir.Route):
    for direction, ops in (("request_headers", route.request_headers), ("response_headers", route.response_headers)):
        for verb in ("set", "add", "remove"):
            if getattr(ops, verb):
                yield f"{direction}.{verb}"


@directive("route", "header_op", args=("direction", "verb", "name", "value"), features={
    "request_headers.set": "set a request header",
    "request_headers.add": "append to a request header",
    "request_headers.remove": "remove a request header",
    "response_headers.set": "set a response header",
    "response_headers.add": "append to a response header",
    "response_headers.remove": "remove a response header",
}, uses=_header_uses)
def header_op(v, stmt, out):
    a = stmt.args
    ops = out["request_headers" if a["direction"].value == "request_header" else "response_headers"]
    verb = a["verb"].value
    name = v.one_text(v.string(a["name"], "header name", default=""))
    check_header_name(v, name, a["name"].span, request=a["direction"].value == "request_header")
    if refuse_request_id(v, name, a["name"].span, f"a route's {a['direction'].value} operations cannot {verb} it"):
        return
    if verb == "remove":
        if a["value"] is not None:
            v.sink.error("E224", "remove takes only the header name", a["value"].span,
                         hint=f'write: {a["direction"].value} remove "{name}"')
        ops["remove"].append(name)
        return
    if a["value"] is None:
        v.sink.error("E224", f"{verb} needs a header name and a value", stmt.span,
                     hint=f'write: {a["direction"].value} {verb} "{name}" "value"')
        return
    value = v.string(a["value"], "header value", default="", controls="\t\r\n")
    if any(c in value for c in "\r\n"):
        v.sink.error("E219", "a header value cannot contain a line break", a["value"].span)
        return
    for existing_verb in ("set", "add", "remove"):
        for existing in ops[existing_verb]:
            existing_name = existing if isinstance(existing, str) else existing[0]
            if existing_name.lower() == name.lower():
                v.sink.error("E215", f"header '{name}' already has an operation in this route",
                             a["name"].span, hint="one operation per header name (Gateway API rule)")
                return
    ops[verb].append((name, value))


def _rewrite_uses(route: ir.Route):
    if route.rewrite.path:
        yield f"rewrite.{route.rewrite.path.type}"
    if route.rewrite.host:
        yield "rewrite.host"


@directive("route", "rewrite", once=lambda stmt: "rewrite_host" if stmt.args["what"] == "host" else "rewrite_path",
           features={
               "rewrite.prefix": "replace or strip a path prefix",
               "rewrite.full": "replace the whole path",
               "rewrite.host": "rewrite the Host header",
           }, uses=_rewrite_uses)
def rewrite(v, stmt, out):
    a = stmt.args
    if a["what"] == "host":
        out["rewrite"]["host"] = v.hostname(a["to"], "host rewrite")
    elif a["what"] == "path":
        out["rewrite"]["path"] = ir.PathRewrite("full", v.path(a["to"], "rewritten path", sent=True))
    else:
        prefix = v.path(a["from"], "prefix")
        replacement = v.string(a["to"], "replacement prefix", default="") if a["to"] else ""
        if replacement and not replacement.startswith("/"):
            v.sink.error("E210", f"replacement prefix '{replacement}' must start with '/'", a["to"].span)
        out["rewrite"]["path"] = ir.PathRewrite("prefix", replacement, prefix)


@directive("route", "cors", once="cors", features={"cors": "CORS headers and preflight answers"},
           uses=lambda route: ["cors"] if route.cors else [])
def cors(v, stmt, out):
    items = v.items(stmt)

    def strs(key):
        return tuple(t for t, _ in v.strings_of(items[key].args["values"], f"cors {key}")) if key in items else ()
    out["cors"] = ir.Cors(
        origins=strs("origins") or ("*",),
        methods=tuple(v.methods(items["methods"].args["values"])) if "methods" in items else DEFAULT_CORS_METHODS,
        headers=strs("headers"), expose=strs("expose"), credentials="credentials" in items,
        max_age_s=items["max_age"].args["values"][0].value // 1000 if "max_age" in items
        else DEFAULT_CORS_MAX_AGE_S)


def _timeout_uses(route: ir.Route):
    if route.timeouts.request_ms:
        yield "timeout.request"
    if route.timeouts.per_try_ms:
        yield "timeout.per_try"


@directive("route", "timeout", args=("request", "per_try"), once="timeout", features={
    "timeout.request": "whole-request timeout",
    "timeout.per_try": "per-attempt timeout",
}, uses=_timeout_uses)
def timeout(v, stmt, out):
    a = stmt.args
    out["timeouts"] = v.node(ir.Timeouts, a["request"].value, a["per_try"].value if a["per_try"] else 0)


def _retry_uses(route: ir.Route):
    if route.retry.attempts:
        yield "retry"
        if route.retry.statuses:
            yield "retry.statuses"
        if route.retry.backoff_ms:
            yield "retry.backoff"


@directive("route", "retries", once="retries", features={
    "retry": "retries on another server",
    "retry.statuses": "retries on given response statuses",
    "retry.backoff": "wait between retries",
}, uses=_retry_uses)
def retries(v, stmt, out):
    a = stmt.args
    attempts = v.integer(a["attempts"], "retries", default=0, low=0, high=10)
    statuses: list[int] = []
    connect_errors = True
    if a["on"]:
        connect_errors = False
        for cond in a["on"]:
            if cond.kind == "int":
                if not 400 <= cond.value <= 599:
                    v.sink.error("E220", f"retry status {cond.value} is not an error status (400-599)",
                                 cond.span)
                statuses.append(cond.value)
            elif cond.value in ("connect_error", "connect_errors", "timeout"):
                connect_errors = True
            elif cond.value == "5xx":
                statuses.extend(ir.STATUSES_5XX)
            else:
                v.sink.error("E220", f"unknown retry condition '{cond.value}'", cond.span,
                             hint="use status codes (502 503), 5xx, or connect_error")
    else:
        statuses = list(DEFAULT_RETRY_STATUSES)
    out["retry"] = v.node(ir.Retry, attempts, tuple(sorted(set(statuses))), connect_errors,
                          a["backoff"].value if a["backoff"] else 0)


def _mirror_uses(route: ir.Route):
    for mirror in route.mirrors:
        yield "mirror"
        if mirror.percent < 100:
            yield "mirror.percent"


@directive("route", "mirror", args=("upstream", "percent"), features={
    "mirror": "mirror requests to another upstream",
    "mirror.percent": "mirror a share of requests",
}, uses=_mirror_uses)
def mirror(v, stmt, out):
    a = stmt.args
    pct = a["percent"].value if a["percent"] else 100.0
    if not 0 < pct <= 100:
        v.sink.error("E212", f"mirror share {pct}% must be within 0..100%", a["percent"].span)
    out.setdefault("mirrors", []).append(ir.Mirror(a["upstream"].value, pct))
