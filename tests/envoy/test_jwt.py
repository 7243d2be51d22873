"""JWT validation through the real Envoy: real RSA keys, a JWKS served on loopback."""
from __future__ import annotations

from tests.runtime.servers import JsonServer
from tests.support import tokens


def test_jwt_with_a_jwks_on_loopback(gateway):
    good, other, jwks_document = tokens.rsa_keys()
    jwks = JsonServer(jwks_document)
    try:
        gw = gateway(f'''edge "t" {{
          listen http 8080
          upstream app {{ server "127.0.0.1:1" }}
          upstream jwks_main {{ server "127.0.0.1:1" }}
          auth jwt main {{ issuer "{tokens.ISSUER}" jwks "{jwks.url}" audience "{tokens.AUDIENCE}" algorithms RS256 }}
          route api {{ match path prefix "/api" auth main forward app }}
          route open {{ match path prefix "/open" forward jwks_main }}
        }}''')
        token = tokens.token(good)
        for _ in range(3):
            ok = gw.get("/api/x", [("Authorization", f"Bearer {token}")])
            assert ok.status == 200, ok.body
            assert ok.echo()["headers"]["authorization"] == f"Bearer {token}"
        assert jwks.hits == 1  # fetched once, then served from Envoy's cache
        # a route without auth needs no token; its upstream is named as the JWKS fetch could be
        assert gw.get("/open").status == 200
        assert len(gw.echoes["jwks_main"].requests) == 1
        refused = tokens.refused(good, other)
        before = len(gw.echoes["app"].requests)
        statuses = {case: gw.get("/api/x", [("Authorization", f"Bearer {bad}")] if bad else []).status
                    for case, bad in refused.items()}
        # Envoy answers a valid token for another audience 403 (declared in the capability table)
        assert statuses == {case: 403 if case == "wrong_aud" else 401 for case in refused}
        assert len(gw.echoes["app"].requests) == before  # none reached the backend
    finally:
        jwks.stop()
