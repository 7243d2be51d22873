"""The features an IR uses, named as the capability tables name them.

Every target declares, for each name in FEATURES, whether it expresses it natively,
approximately or not at all (targets/<name>/ capability table). `used_features(edge)`
says which features an edge actually uses and where, so that a target can report
every feature it cannot express, by name, route and source position.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from . import ir
from .diagnostics import Span

# name → what it means (docs/targets.md is generated from this and the tables)
FEATURES: dict[str, str] = {
    "listener.http": "plain HTTP listener",
    "listener.https": "HTTPS listener with a certificate and key",
    "listener.http2": "HTTP/2 on a TLS listener",
    "listener.tls_min_version": "minimum TLS version 1.3",
    "listener.redirect_https": "listener that redirects every request to HTTPS",
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
    "balance.round_robin": "round robin",
    "balance.least_conn": "least connections",
    "balance.ip_hash": "client IP hash",
    "balance.hash.header": "consistent hash of a request header",
    "balance.hash.cookie": "consistent hash of a cookie",
    "balance.hash.client_ip": "consistent hash of the client address",
    "balance.hash.uri": "consistent hash of the request URI",
    "balance.random": "random choice",
    "upstream.weights": "server weights within an upstream",
    "upstream.backup": "backup servers used only when the others are down",
    "upstream.health_check": "active health checks",
    "upstream.passive_check": "passive ejection after failures (max_fails / fail_timeout)",
    "upstream.sticky_cookie": "cookie-based session persistence",
    "upstream.keepalive": "keep-alive connection pool to the servers",
    "upstream.timeouts": "connect / read / send timeouts to the servers",
    "auth.jwt": "JWT validation (issuer, audience, expiry, JWKS or shared secret)",
    "auth.basic": "HTTP basic authentication against an htpasswd file",
    "auth.api_key": "API key in a request header",
    "rate_limit.client_ip": "rate limit per client address",
    "rate_limit.header": "rate limit per request header value",
    "rate_limit.claim": "rate limit per JWT claim",
    "rate_limit.burst": "rate limit burst allowance",
    "cache": "response cache with a TTL",
    "cache.vary": "cache entries keyed by request headers",
    "request_headers.set": "set a request header",
    "request_headers.add": "append to a request header",
    "request_headers.remove": "remove a request header",
    "response_headers.set": "set a response header",
    "response_headers.add": "append to a response header",
    "response_headers.remove": "remove a response header",
    "rewrite.prefix": "replace or strip a path prefix",
    "rewrite.full": "replace the whole path",
    "rewrite.host": "rewrite the Host header",
    "cors": "CORS headers and preflight answers",
    "timeout.request": "whole-request timeout",
    "timeout.per_try": "per-attempt timeout",
    "retry": "retries on another server",
    "retry.statuses": "retries on given response statuses",
    "retry.backoff": "wait between retries",
    "mirror": "mirror requests to another upstream",
    "mirror.percent": "mirror a share of requests",
    "action.forward": "forward to one upstream",
    "action.forward.weighted": "split traffic across upstreams by weight",
    "action.redirect": "redirect",
    "action.respond": "fixed response",
    "action.aggregate": "aggregate parallel sub-requests into one JSON response",
    "observability.access_log": "access log (json or combined)",
    "observability.metrics": "metrics endpoint",
    "limits": "request size and time limits",
    "trusted_proxies": "trust X-Forwarded-For only from listed proxies",
}


@dataclass(frozen=True)
class Use:
    feature: str
    where: str  # "route 'users'", "upstream 'orders'", "listener https:443"
    span: Span | None


def used_features(edge: ir.Edge) -> Iterator[Use]:
    for lst in edge.listeners:
        where = f"listener {lst.protocol}:{lst.port}"
        yield Use(f"listener.{lst.protocol}", where, lst.span)
        if lst.http2:
            yield Use("listener.http2", where, lst.span)
        if lst.tls and lst.tls.min_version == "1.3":
            yield Use("listener.tls_min_version", where, lst.span)
        if lst.redirect:
            yield Use("listener.redirect_https", where, lst.span)
    for up in edge.upstreams:
        where = f"upstream '{up.name}'"
        algo = up.balance if up.balance != "hash" else f"hash.{up.hash_key.source if up.hash_key else 'uri'}"
        yield Use(f"balance.{algo}", where, up.span)
        if any(s.weight != 1 for s in up.servers):
            yield Use("upstream.weights", where, up.span)
        if any(s.backup for s in up.servers):
            yield Use("upstream.backup", where, up.span)
        if up.health:
            yield Use("upstream.health_check", where, up.span)
        if up.passive.max_fails:
            yield Use("upstream.passive_check", where, up.span)
        if up.sticky:
            yield Use("upstream.sticky_cookie", where, up.span)
        yield Use("upstream.keepalive", where, up.span)
        yield Use("upstream.timeouts", where, up.span)
    for auth in edge.auth:
        yield Use(f"auth.{auth.kind}", f"auth '{auth.name}'", auth.span)
    for route in edge.routes:
        yield from route_features(route)
    obs = edge.observability
    if obs.access_log.format != "off":
        yield Use("observability.access_log", "edge", None)
    if obs.metrics_path:
        yield Use("observability.metrics", "edge", None)
    if edge.trusted_proxies:
        yield Use("trusted_proxies", "edge", None)


def route_features(route: ir.Route) -> Iterator[Use]:
    where = f"route '{route.name}'"
    span = route.span
    for m in route.matches:
        yield Use(f"match.path.{m.path.type}", where, m.span or span)
        for host in m.hosts:
            yield Use("match.host.wildcard" if host.startswith("*.") else "match.host", where, m.span or span)
        if m.methods:
            yield Use("match.method", where, m.span or span)
        for h in m.headers:
            yield Use(f"match.header.{h.type}", where, m.span or span)
        for q in m.query:
            yield Use(f"match.query.{q.type}", where, m.span or span)
    if route.rate_limit:
        yield Use(f"rate_limit.{route.rate_limit.key.source}", where, span)
        if route.rate_limit.burst:
            yield Use("rate_limit.burst", where, span)
    if route.cache:
        yield Use("cache", where, span)
        if route.cache.vary:
            yield Use("cache.vary", where, span)
    for direction, ops in (("request_headers", route.request_headers), ("response_headers", route.response_headers)):
        for verb in ("set", "add", "remove"):
            if getattr(ops, verb):
                yield Use(f"{direction}.{verb}", where, span)
    if route.rewrite.path:
        yield Use(f"rewrite.{route.rewrite.path.type}", where, span)
    if route.rewrite.host:
        yield Use("rewrite.host", where, span)
    if route.cors:
        yield Use("cors", where, span)
    if route.timeouts.request_ms:
        yield Use("timeout.request", where, span)
    if route.timeouts.per_try_ms:
        yield Use("timeout.per_try", where, span)
    if route.retry.attempts:
        yield Use("retry", where, span)
        if route.retry.statuses:
            yield Use("retry.statuses", where, span)
        if route.retry.backoff_ms:
            yield Use("retry.backoff", where, span)
    for mirror in route.mirrors:
        yield Use("mirror", where, span)
        if mirror.percent < 100:
            yield Use("mirror.percent", where, span)
    action = route.action
    if isinstance(action, ir.Forward):
        yield Use("action.forward.weighted" if len(action.backends) > 1 else "action.forward", where, span)
    else:
        yield Use(f"action.{action.type}", where, span)
