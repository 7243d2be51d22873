"""JWT validation through njs: one table of tokens driven through the runtime and the
generated nginx side by side (real RSA and EC keys, a JWKS served on loopback); both must
give the same status, WWW-Authenticate, Content-Type and body. Then the rate limit keyed
by a claim, and a key rotation."""
from __future__ import annotations

import http.client
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import free_port
from tests.runtime.conftest import LiveRuntime, compile_text
from tests.runtime.servers import JsonServer
from tests.support.tokens import AUDIENCE, ISSUER, hs256_with, token

HMAC_KEY = "hmac-test-secret-0123456789abcdef"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_NEXT = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwk(key, kid: str, alg: str) -> dict:
    kind = jwt.algorithms.RSAAlgorithm if alg[:2] in ("RS", "PS") else jwt.algorithms.ECAlgorithm
    return dict(json.loads(kind.to_jwk(key.public_key())), kid=kid, alg=alg, use="sig")


def source(port: int, jwks_url: str) -> str:
    return f'''edge "jwt" {{
      listen http {port} {{ bind "127.0.0.1" }}
      upstream app {{ server "127.0.0.1:9" }}
      auth jwt main {{
        issuer "{ISSUER}"
        jwks "{jwks_url}"
        audience "{AUDIENCE}"
        algorithms RS256 RS384 ES256 HS256
        secret ${{secret:JWT_TEST_KEY}}
      }}
      route hello {{ match path exact "/hello" auth main respond 200 "hi" }}
      route limited {{ match path exact "/limited" auth main rate_limit 2/min by claim "sub" burst 1 respond 200 "ok" }}
    }}'''


def cases() -> dict[str, str | None]:
    now = int(time.time())
    from cryptography.hazmat.primitives import serialization
    public_pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "valid RS256": token(RSA_KEY, "RS256", "r1"),
        "valid RS384": token(RSA_KEY, "RS384", "r384"),
        "valid ES256": token(EC_KEY, "ES256", "e1"),
        "valid HS256": token(HMAC_KEY, "HS256", None),
        "no token": None,
        "expired": token(RSA_KEY, "RS256", "r1", exp=now - 60),
        "not yet valid": token(RSA_KEY, "RS256", "r1", nbf=now + 600),
        "wrong issuer": token(RSA_KEY, "RS256", "r1", iss="https://evil.test/"),
        "wrong audience": token(RSA_KEY, "RS256", "r1", aud="other"),
        "no expiry": token(RSA_KEY, "RS256", "r1", exp=None),
        "signed by another key": token(RSA_NEXT, "RS256", "r1"),
        "alg none": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}, None, algorithm="none",
                               headers={"kid": "r1"}),
        "HS256 with the public key": hs256_with(public_pem),
        "RS256 token on an ES256 key": token(RSA_KEY, "RS256", "e1"),
        "garbage": "not.a.token",
        "unknown kid": token(RSA_KEY, "RS256", "nope"),
    }


def ask(port: int, path: str, tok: str | None) -> tuple[int, str | None, str | None, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {tok}"} if tok else {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("WWW-Authenticate"), resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


@pytest.fixture
def both(gateway, tmp_path):
    """(runtime port, nginx port, the JWKS server) for one edge."""
    jwks = JsonServer({"keys": [jwk(RSA_KEY, "r1", "RS256"), jwk(RSA_KEY, "r384", "RS384"),
                                jwk(EC_KEY, "e1", "ES256")]})
    (tmp_path / "JWT_TEST_KEY").write_text(HMAC_KEY)
    runtime = LiveRuntime(compile_text(source(free_port(), jwks.url)), secrets_dir=str(tmp_path)).start()
    try:
        gw = gateway(source(8080, jwks.url), secrets={"JWT_TEST_KEY": HMAC_KEY})
        yield runtime.edge.listeners[0].port, gw.ports[8080], jwks
    finally:
        runtime.stop()
        jwks.stop()


def test_every_token_gets_the_runtimes_answer(both):
    runtime, nginx, _ = both
    table = {}
    for name, tok in cases().items():
        got = {"runtime": ask(runtime, "/hello", tok), "nginx": ask(nginx, "/hello", tok)}
        assert got["nginx"] == got["runtime"], name
        table[name] = got["runtime"][0]
    assert {n for n, s in table.items() if s == 200} == {"valid RS256", "valid RS384", "valid ES256", "valid HS256"}
    assert ask(nginx, "/hello", None)[1] == 'Bearer realm="main"'


def test_a_claim_keyed_limit_gives_each_subject_its_own_budget(both):
    runtime, nginx, _ = both
    alice, bob = token(RSA_KEY, "RS256", "r1", sub="alice"), token(RSA_KEY, "RS256", "r1", sub="bob")
    for port in (runtime, nginx):
        assert [ask(port, "/limited", alice)[0] for _ in range(3)] == [200, 200, 429]
        assert [ask(port, "/limited", bob)[0] for _ in range(3)] == [200, 200, 429]
        # a forged token with bob's claim is refused before it can spend his budget
        assert ask(port, "/limited", token(RSA_NEXT, "RS256", "r1", sub="carol"))[0] == 401


def test_an_unknown_key_id_is_looked_up_again_after_a_rotation(both):
    runtime, nginx, jwks = both
    rotated = token(RSA_NEXT, "RS256", "r2")
    for port in (runtime, nginx):
        assert ask(port, "/hello", rotated)[:2] == (401, 'Bearer realm="main"')
    jwks.body = json.dumps({"keys": [jwk(RSA_KEY, "r1", "RS256"), jwk(RSA_NEXT, "r2", "RS256")]}).encode()
    time.sleep(31)  # both look the JWKS up again at most every 30 s
    for port in (runtime, nginx):
        assert ask(port, "/hello", rotated)[0] == 200
        assert ask(port, "/hello", token(RSA_KEY, "RS256", "r1"))[0] == 200


def test_the_njs_config_passes_nginx_t_and_gixy(tmp_path):
    from .support import build, fresh, gixy, nginx_test, write
    text = source(8080, "https://127.0.0.1:8443/keys").replace('listen http 8080 { bind "127.0.0.1" }',
                                                             "listen http 8080")
    files, diagnostics = build(compile_text(text), secrets={"JWT_TEST_KEY": HMAC_KEY})
    assert files is not None, [d.message for d in diagnostics]
    assert files["nginx.conf"].count("load_module /usr/lib/nginx/modules/ngx_http_js_module.so;") == 1
    assert "proxy_ssl_verify on;" in files["nginx.conf"] and HMAC_KEY not in files["nginx.conf"]
    assert HMAC_KEY in files["secrets/main.jwt.js"]
    prefix = write(files, fresh(tmp_path / "prefix"))
    res = nginx_test(prefix)
    assert res.returncode == 0, res.stderr
    assert gixy(prefix) == []


def test_njs_off_refuses_jwt_and_says_how_to_turn_it_on():
    from .support import build
    files, diagnostics = build(compile_text(source(8080, "http://127.0.0.1:1/keys")), {"njs": "off"},
                               secrets={"JWT_TEST_KEY": HMAC_KEY})
    assert files is None
    errors = [d.message for d in diagnostics if d.severity == "error"]
    assert len(errors) == 2 and all("-O njs=auto or on" in m for m in errors)
    aggregate = 'edge "a" { upstream u { server "127.0.0.1:9" } route r { aggregate { x = get u "/x" } } }'
    files, diagnostics = build(compile_text(aggregate), {"njs": "off"})
    assert files is None and ["action.aggregate" in d.message for d in diagnostics if d.severity == "error"] == [True]


def test_build_prints_the_module_it_loads(tmp_path):
    import os
    import subprocess
    import sys
    src = tmp_path / "app.edge"
    src.write_text(source(8080, "http://127.0.0.1:1/keys"))
    res = subprocess.run([sys.executable, "-m", "edgec", "build", str(src), "--target", "nginx", "-o",
                          str(tmp_path / "out")], capture_output=True, text=True,
                         env=dict(os.environ, JWT_TEST_KEY=HMAC_KEY))
    assert res.returncode == 0, res.stderr
    assert "load_module /usr/lib/nginx/modules/ngx_http_js_module.so; (Debian package libnginx-mod-http-js" \
        in res.stderr
    assert (tmp_path / "out" / "secrets" / "main.jwt.js").stat().st_mode & 0o777 == 0o600
    plain = tmp_path / "plain.edge"
    plain.write_text('edge "p" {\n  listen http 8080\n  route r { respond 200 "ok" }\n}\n')
    res = subprocess.run([sys.executable, "-m", "edgec", "build", str(plain), "--target", "nginx", "-o",
                          str(tmp_path / "plain")], capture_output=True, text=True)
    assert res.returncode == 0 and "load_module" not in res.stderr
    assert "load_module" not in (tmp_path / "plain" / "nginx.conf").read_text()
