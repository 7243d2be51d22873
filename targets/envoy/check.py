"""Values Envoy cannot carry, beyond the capability table: (span, message, hint)."""
from __future__ import annotations

import re

from edgec import ir

from . import regex
from .actions import REDIRECT_CODES

# Envoy refuses to add or remove these through header operations
_PROTECTED = re.compile(r":.*|host", re.I)
_PATH_CHARS = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")


def problems(edge: ir.Edge):
    for auth in edge.auth:
        if isinstance(auth, ir.JwtAuth) and not auth.jwks_url:
            yield (auth.span, f"auth '{auth.name}' with a shared secret: edgec gives Envoy's jwt_authn its keys "
                              "through a JWKS URL only", "serve the key as a JWKS and give its URL with `jwks`")
    for route in edge.routes:
        where = f"route '{route.name}'"
        for m in route.matches:
            span = m.span or route.span
            patterns = [("path regex", m.path.value)] if m.path.type == "regex" else []
            patterns += [(f"header '{h.name}' regex", h.value or "") for h in m.headers if h.type == "regex"]
            patterns += [(f"query '{q.name}' regex", q.value or "") for q in m.query if q.type == "regex"]
            for what, pattern in patterns:
                try:
                    regex.full(pattern)
                except regex.Unsupported as err:
                    yield (span, f"the {what} {pattern!r} in {where}: Envoy runs RE2, which has no {err}",
                           "rewrite the pattern in the common PCRE/RE2 subset with ASCII classes ([0-9], [A-Za-z_])")
        for direction, ops in (("request", route.request_headers), ("response", route.response_headers)):
            for name in [n for n, _ in ops.set + ops.add] + list(ops.remove):
                if _PROTECTED.fullmatch(name):
                    yield (route.span, f"a {direction} header operation on '{name}' in {where}: Envoy does not "
                                       "let header operations change pseudo-headers or Host",
                           "use `rewrite host` for the Host header")
        rw = route.rewrite.path
        action = route.action
        paths = [rw.replacement] if rw else []
        if isinstance(action, ir.Redirect) and action.path:
            paths.append(action.path.replacement)
        for p in paths:
            if p and not _PATH_CHARS.fullmatch(p):
                yield (route.span, f"the path '{p}' in {where}: Envoy sends it as written, and it is not a valid "
                                   "path", "use only letters, digits and -._~!$&'()*+,;=:@/ (and %XX)")
        if isinstance(action, ir.Redirect) and action.status not in REDIRECT_CODES:
            yield (route.span, f"redirect status {action.status} in {where}", "use 301, 302, 303, 307 or 308")
        if isinstance(action, ir.Respond) and not 200 <= action.status <= 599:
            yield (route.span, f"a fixed {action.status} response in {where}: Envoy answers 200 to 599 only",
                   "use a status from 200 to 599")
