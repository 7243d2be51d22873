"""`auth jwt|basic|api_key|external NAME { }`: the auth providers routes refer to."""
from __future__ import annotations

import re

from .. import ir
from ..diagnostics import did_you_mean
from ..ir import (DEFAULT_API_KEY_HEADER, DEFAULT_EXTERNAL_AUTH_TIMEOUT_MS, DEFAULT_JWT_ALGORITHMS,
                  DEFAULT_JWT_LEEWAY_MS, DEFAULT_REALM, HEADER_NAME)
from . import directive
from .upstream import server_address
from .match import check_header_name, refuse_request_id

JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                  "EdDSA", "HS256", "HS384", "HS512")
HTPASSWD_ENTRY = re.compile(r"^[^/:\s]+:(?:\$(?:apr1|2[aby]|5|6)\$|\{SHA\})", re.M)


def _auth_uses(auth: ir.Auth):
    yield f"auth.{auth.kind}"
    if isinstance(auth, ir.ExternalAuth):  # a timeout always applies: the default when not written
        yield "auth.external.timeout", None, auth.timeout_ms == DEFAULT_EXTERNAL_AUTH_TIMEOUT_MS


@directive("edge", "auth", opens="auth", features={
    "auth.jwt": "JWT validation (issuer, audience, expiry, JWKS or shared secret)",
    "auth.basic": "HTTP basic authentication against an htpasswd file",
    "auth.api_key": "API key in a request header",
    "auth.external": "an authorization service asked about each request (allow, deny, headers it adds)",
    "auth.external.timeout": "the authorization service's timeout: one deadline over connecting to it and its answer",
}, uses=_auth_uses)
def auth(v, stmt, out):
    kind = stmt.args["type"].value
    lower = {"jwt": _jwt, "basic": _basic, "api_key": _api_key, "external": _external}[kind]
    out.setdefault("auth", []).append(lower(v, stmt, stmt.args["name"].value, v.items(stmt)))


def _jwt(v, stmt, name, items) -> ir.JwtAuth:
    algorithms = tuple(a.value for a in items["algorithms"].args["values"]) if "algorithms" in items \
        else DEFAULT_JWT_ALGORITHMS
    for a in items["algorithms"].args["values"] if "algorithms" in items else ():
        if a.value not in JWT_ALGORITHMS:
            guess = did_you_mean(a.value, JWT_ALGORITHMS)
            v.sink.error("E221", f"unknown JWT algorithm '{a.value}'", a.span,
                         hint=f"did you mean '{guess}'?" if guess else "one of " + ", ".join(JWT_ALGORITHMS))
    audiences = tuple(t for t, _ in v.strings_of(items["audience"].args["values"], "audience")) \
        if "audience" in items else ()
    return ir.JwtAuth(
        name=name, kind="jwt",
        issuer=v.one_string(items, "issuer", "jwt issuer"),
        jwks_url=v.one_string(items, "jwks", "jwks url"),
        secret=v.credential(items["secret"].args["values"][0], "a jwt secret", "secret ${secret:JWT_KEY}")
        if "secret" in items else None,
        audiences=audiences, algorithms=algorithms,
        leeway_ms=items["leeway"].args["values"][0].value if "leeway" in items else DEFAULT_JWT_LEEWAY_MS,
        header=_header(v, items, "jwt header", "Authorization"),
        span=stmt.span)


def _basic(v, stmt, name, items) -> ir.BasicAuth:
    htpasswd = v.one_string(items, "htpasswd", "htpasswd file", default="", allow_secret=True)
    if isinstance(htpasswd, str) and HTPASSWD_ENTRY.search(htpasswd):
        v.sink.error("E110", "htpasswd takes the path of a file, not the user:hash entries",
                     items["htpasswd"].args["values"][0].span,
                     hint='write htpasswd "/etc/edge/users.htpasswd", or htpasswd ${secret:HTPASSWD} for a '
                          "file kept as a secret", mask=True)
    return ir.BasicAuth(name=name, kind="basic", htpasswd=htpasswd,
                        realm=v.one_string(items, "realm", "realm", default=DEFAULT_REALM), span=stmt.span)


def _api_key(v, stmt, name, items) -> ir.ApiKeyAuth:
    keys: list[ir.Secret] = []
    for value in items["keys"].args["values"] if "keys" in items else ():
        secret = v.credential(value, "an API key", "keys ${secret:SHOP_API_KEY} (or use keys_file)")
        if secret is not None:
            keys.append(secret)
    return ir.ApiKeyAuth(name=name, kind="api_key",
                         header=_header(v, items, "api key header", DEFAULT_API_KEY_HEADER),
                         keys_file=v.one_string(items, "keys_file", "keys file"),
                         keys=tuple(keys), span=stmt.span)


# http://HOST:PORT[/PATH]: the check request's path is PATH followed by the client's
EXTERNAL_URL = re.compile(r"http://(\[[0-9A-Fa-f:.]+\]:[0-9]+|[^/:?#\[\]@]+:[0-9]+)(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")


def _external(v, stmt, name, items) -> ir.ExternalAuth:
    url = v.one_string(items, "url", "authorization service url")
    server = None
    if url is None:
        v.sink.error("E221", f"auth external '{name}' needs the url of its authorization service", stmt.span,
                     hint='add: url "http://127.0.0.1:9191/check"')
    elif not (m := EXTERNAL_URL.fullmatch(url)):
        v.sink.error("E221", f"'{url}' is not an http://HOST:PORT/PATH url", items["url"].args["values"][0].span,
                     hint='write it like "http://authz.internal:8080/check" (the port is required; no query)')
    else:
        server = server_address(v, m.group(1), items["url"].args["values"][0].span)
    return ir.ExternalAuth(
        name=name, kind="external",
        host=server.host if server else "", port=server.port if server else 0,
        path=(m.group(2) or "").rstrip("/") if server else "",
        forward_headers=_header_names(v, items, "forward_headers"),
        copy_headers=_header_names(v, items, "copy_headers"),
        timeout_ms=items["timeout"].args["values"][0].value if "timeout" in items
        else DEFAULT_EXTERNAL_AUTH_TIMEOUT_MS,
        span=stmt.span)


def _header_names(v, items, key) -> tuple[str, ...]:
    names: list[str] = []
    for text, span in v.strings_of(items[key].args["values"], "header name") if key in items else ():
        if not HEADER_NAME.match(text):
            v.sink.error("E219", f"'{text}' is not a valid header name", span,
                         hint="header names are letters, digits and !#$%&'*+-.^_`|~")
        elif key == "copy_headers" and refuse_request_id(v, text, span, "the authorization service's answer "
                                                                      "cannot replace it"):
            continue
        elif text.lower() not in (n.lower() for n in names):
            names.append(text)
    return tuple(names)
def _header(v, items, what: str, default: str) -> str:
    """The request header a provider reads its credential from."""
    name = v.one_string(items, "header", what, default=default)
    if "header" in items:
        check_header_name(v, name, items["header"].args["values"][0].span)
    return name
