"""`require claim` and `require scope` through a real gateway: one edge, one signing key with
its JWKS served on loopback, and one table of tokens every target's test drives.

    with claims.services() as (app, jwks):
        source = claims.edge(app.address, jwks.url)      # build and start it, then
        assert claims.failures(base_url, app) == []

Each case writes the status it expects; `test_the_table_says_what_decide_says` (tests/routing)
holds those statuses to routing.authorized, so a target passing the table serves the rule.
The key is made when this module is imported and never written anywhere.
"""
from __future__ import annotations

import contextlib
import http.client
import time
from urllib.parse import urlsplit

from edgec.harness.echo import EchoServer
from tests.support.tokens import rsa_keys, token

KEY, OTHER_KEY, JWKS = rsa_keys()
INVALID = "invalid"  # a case whose token its provider refuses (401 before any requirement)


def edge(app: str, jwks_url: str, listen: str = "") -> str:
    """The edge with its upstream at `app` (host:port) and its keys at `jwks_url`."""
    from tests.support.tokens import AUDIENCE, ISSUER
    return f'''edge "claims" {{
  {listen}
  upstream app {{
    server "{app}"
  }}
  auth jwt main {{
    issuer "{ISSUER}"
    jwks "{jwks_url}"
    audience "{AUDIENCE}"
  }}
  route admin {{
    match path prefix "/admin"
    auth main
    require claim "role" "admin" "owner"
    forward app
  }}
  route orders {{
    match path prefix "/orders"
    auth main
    require scope "orders:read" "orders:write"
    forward app
  }}
  route tenant {{
    match path prefix "/tenant"
    auth main
    require claim "tenant" "acme"
    require scope "reports"
    forward app
  }}
  route open {{
    match path prefix "/open"
    auth main
    forward app
  }}
}}
'''


@contextlib.contextmanager
def services(jwks_port: int = 0):
    """The backend and the server of the JWKS (on `jwks_port` when a build had to know it)."""
    from tests.runtime.servers import JsonServer
    jwks = JsonServer(JWKS, jwks_port)
    try:
        with EchoServer("app") as app:
            yield app, jwks
    finally:
        jwks.stop()


# (name, path, the token's own claims — None: no token, INVALID: one the provider refuses —,
#  expected status)
CASES = [
    ("claim: the one value", "/admin/a", {"role": "admin"}, 200),
    ("claim: another of its values", "/admin/a", {"role": "owner"}, 200),
    ("claim: an array holding a value", "/admin/a", {"role": ["viewer", "owner"]}, 200),
    ("claim: a value not listed", "/admin/a", {"role": "viewer"}, 403),
    ("claim: another case", "/admin/a", {"role": "Admin"}, 403),
    ("claim: an array without a value", "/admin/a", {"role": ["viewer"]}, 403),
    ("claim: absent", "/admin/a", {}, 403),
    ("claim: a number", "/admin/a", {"role": 1}, 403),
    ("claim: no token", "/admin/a", None, 401),
    ("claim: an invalid token with the claim", "/admin/a", INVALID, 401),
    ("scopes: exactly", "/orders/1", {"scope": "orders:read orders:write"}, 200),
    ("scopes: a superset", "/orders/1", {"scope": "profile orders:write orders:read"}, 200),
    ("scopes: a subset", "/orders/1", {"scope": "orders:read"}, 403),
    ("scopes: none", "/orders/1", {}, 403),
    ("scopes: scp as an array", "/orders/1", {"scp": ["orders:read", "orders:write"]}, 200),
    ("scopes: scope and scp together", "/orders/1", {"scope": "orders:read", "scp": ["orders:write"]}, 200),
    ("scopes: comma-separated is one word", "/orders/1", {"scope": "orders:read,orders:write"}, 403),
    ("scopes: no token", "/orders/1", None, 401),
    ("scopes: an invalid token with the scopes", "/orders/1", INVALID, 401),
    ("both: claim and scope", "/tenant/x", {"tenant": "acme", "scope": "reports"}, 200),
    ("both: the claim only", "/tenant/x", {"tenant": "acme"}, 403),
    ("both: the scope only", "/tenant/x", {"scope": "reports", "tenant": "globex"}, 403),
    ("nothing required: a bare valid token", "/open/x", {}, 200),
]


def bearer(claims) -> dict[str, str]:
    """The request headers of a case's token."""
    if claims is None:
        return {}
    if claims == INVALID:  # every claim a route could want, signed by a key the JWKS does not hold
        tok = token(OTHER_KEY, role="admin", tenant="acme", scope="orders:read orders:write reports")
    else:
        tok = token(KEY, **claims)
    return {"Authorization": f"Bearer {tok}"}


def failures(base_url: str, app: EchoServer, cases=CASES, challenge: bool = True) -> list[str]:
    """Every case sent to the gateway; what went wrong, in words (empty: all passed).
    `challenge`: the 403 carries the insufficient_scope challenge (False: a target whose
    capability row says it sends none)."""
    out = []
    url = urlsplit(base_url)
    for name, path, claims, status in cases:
        app.requests.clear()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            conn.request("GET", path, headers=bearer(claims))
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        answer = response.getheader("WWW-Authenticate") or ""
        if response.status != status:
            out.append(f"{name}: status {response.status}, expected {status}")
        elif status == 401 and not answer.startswith("Bearer"):
            out.append(f"{name}: 401 with WWW-Authenticate {answer!r}")
        elif status == 403 and challenge and not (
                answer.startswith("Bearer") and 'error="insufficient_scope"' in answer):
            out.append(f"{name}: 403 with WWW-Authenticate {answer!r}, not Bearer error=\"insufficient_scope\"")
        reached = len(app.requests)
        if reached != (1 if status == 200 else 0):
            out.append(f"{name}: the backend saw {reached} requests")
    return out


def wait_for_keys(base_url: str, app: EchoServer, timeout_s: float = 20) -> None:
    """Until the gateway has fetched the JWKS (a valid token passes), for gateways that fetch it
    in the background after they start."""
    deadline = time.monotonic() + timeout_s
    while failures(base_url, app, CASES[:1]) and time.monotonic() < deadline:
        time.sleep(0.3)
