"""Values Envoy cannot carry, beyond the capability table: (span, message, hint, severity)."""
from __future__ import annotations

import re

from edgec import ir
from edgec.targets import envoy_outlier
from edgec.targets import envoy_regex as regex

from .actions import REDIRECT_CODES

# Envoy refuses to add or remove these through header operations
_PROTECTED = re.compile(r":.*|host", re.I)
# query parameter names Envoy can compare: it compares them as sent, so a name must need
# no %-encoding in a URL
QUERY_NAME = re.compile(r"[A-Za-z0-9\-._~!$'()*,;:@/?]+")
_PATH_CHARS = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")


# an HTTP token (RFC 9110): what Envoy takes as a header or cookie name
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _names(edge: ir.Edge):
    """(name, what, span) of every header and cookie name the bootstrap carries."""
    for up in edge.upstreams:
        if up.hash_key and up.hash_key.name:
            yield up.hash_key.name, f"hash {up.hash_key.source} name in upstream '{up.name}'", up.span
        if up.sticky:
            yield up.sticky.cookie, f"sticky cookie in upstream '{up.name}'", up.span
    for auth in edge.auth:
        if isinstance(auth, ir.JwtAuth):
            yield auth.header, f"token header of auth '{auth.name}'", auth.span
    for route in edge.routes:
        where = f"route '{route.name}'"
        for m in route.matches:
            for h in m.headers:
                yield h.name, f"header condition in {where}", m.span or route.span
        for ops in (route.request_headers, route.response_headers):
            for name in [n for n, _ in ops.set + ops.add] + list(ops.remove):
                yield name, f"header operation in {where}", route.span
        if route.rate_limit and route.rate_limit.key.name:
            yield route.rate_limit.key.name, f"rate limit header in {where}", route.span


def _header_values(edge: ir.Edge):
    """(value, what, span) of every header value the bootstrap carries."""
    for route in edge.routes:
        where = f"route '{route.name}'"
        for ops in (route.request_headers, route.response_headers):
            for name, value in ops.set + ops.add:
                yield value, f"value of header '{name}' in {where}", route.span
        if isinstance(route.action, ir.Respond):
            yield route.action.content_type, f"content type in {where}", route.span
        if route.cors:
            for value in route.cors.origins + route.cors.headers + route.cors.expose:
                yield value, f"CORS value in {where}", route.span


_HOST = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def problems(edge: ir.Edge):
    for up in edge.upstreams:
        if up.passive.max_fails and envoy_outlier.counter(up.passive) == "5xx":
            yield (up.span, f"upstream '{up.name}' counts {' '.join(map(str, up.passive.statuses))} as failures: "
                            "Envoy's outlier detection counts either 502 503 504 or every 5xx answer, and "
                            "counts every 5xx here", "write `on 502 503 504` for Envoy's gateway failures", "warning")
    for route in edge.routes:
        hosts = [(h, m.span or route.span) for m in route.matches for h in m.hosts]
        hosts += [(route.rewrite.host, route.span)] if route.rewrite.host else []
        if isinstance(route.action, ir.Redirect) and route.action.host:
            hosts.append((route.action.host, route.span))
        for host, span in hosts:
            if not _HOST.fullmatch(host):
                yield (span, f"the host {host!r} in route '{route.name}': Envoy takes host names only here",
                       "use a name like api.example.com (or *.example.com in a match)", "error")
    for value, what, span in _header_values(edge):
        if re.search(r"[\0\r\n]", value):
            yield (span, f"the {what} {value!r}: a header value cannot hold a line break or NUL", None, "error")
    for name, what, span in _names(edge):
        if not TOKEN.fullmatch(name):
            yield (span, f"the {what} {name!r}: Envoy takes only HTTP token characters in a header or cookie name",
                   "use letters, digits and !#$%&'*+-.^_`|~", "error")
    for auth in edge.auth:
        if isinstance(auth, ir.JwtAuth) and not auth.jwks_url:
            yield (auth.span, f"auth '{auth.name}' with a shared secret: edgec gives Envoy's jwt_authn its keys "
                              "through a JWKS URL only", "serve the key as a JWKS and give its URL with `jwks`", "error")
    for route in edge.routes:
        where = f"route '{route.name}'"
        for m in route.matches:
            span = m.span or route.span
            patterns = [("path regex", m.path.value, True)] if m.path.type == "regex" else []
            patterns += [(f"header '{h.name}' regex", h.value or "", False) for h in m.headers if h.type == "regex"]
            patterns += [(f"query '{q.name}' regex", q.value or "", False) for q in m.query if q.type == "regex"]
            for q in m.query:
                if not QUERY_NAME.fullmatch(q.name):
                    yield (span, f"the query parameter name {q.name!r} in {where}: Envoy compares names as sent, "
                                 "and a client must %-encode this one", "use letters, digits and -._~!$'()*,;:@/?",
                           "error")
            for what, pattern, path in patterns:
                try:
                    translated = regex.full(pattern, path)
                except regex.Unsupported as err:
                    yield (span, f"the {what} {pattern!r} in {where}: Envoy's RE2 has no {err}",
                           "rewrite the pattern in the common PCRE/RE2 subset", "error")
                    continue
                if translated.ascii_classes:
                    yield (span, f"the {what} {pattern!r} in {where}: \\d, \\w and \\s match ASCII characters only "
                                 "in Envoy (non-ASCII digits, letters and spaces too in the source's meaning)",
                           "write [0-9], [A-Za-z0-9_] or [ \\t] to say ASCII, or use the (?a) flag", "warning")
        for direction, ops in (("request", route.request_headers), ("response", route.response_headers)):
            for name in [n for n, _ in ops.set + ops.add] + list(ops.remove):
                if _PROTECTED.fullmatch(name):
                    yield (route.span, f"a {direction} header operation on '{name}' in {where}: Envoy does not "
                                       "let header operations change pseudo-headers or Host",
                           "use `rewrite host` for the Host header", "error")
        rw = route.rewrite.path
        action = route.action
        paths = [rw.replacement] if rw else []
        if isinstance(action, ir.Redirect) and action.path:
            paths.append(action.path.replacement)
        for p in paths:
            if p and not _PATH_CHARS.fullmatch(p):
                yield (route.span, f"the path '{p}' in {where}: Envoy sends it as written, and it is not a valid "
                                   "path", "use only letters, digits and -._~!$&'()*+,;=:@/ (and %XX)", "error")
        if isinstance(action, ir.Redirect) and action.status not in REDIRECT_CODES:
            yield (route.span, f"redirect status {action.status} in {where}", "use 301, 302, 303, 307 or 308", "error")
        if isinstance(action, ir.Respond) and not 200 <= action.status <= 599:
            yield (route.span, f"a fixed {action.status} response in {where}: Envoy answers 200 to 599 only",
                   "use a status from 200 to 599", "error")
