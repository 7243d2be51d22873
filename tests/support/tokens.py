"""JWTs for the auth tests of every gateway: real RSA keys, their JWKS, good tokens and the
tokens a gateway must refuse."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER, AUDIENCE = "https://issuer.test/", "shop"


def rsa_keys():
    """(signing key, another key, the JWKS of the signing key with kid k1)."""
    good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(good.public_key()))
    jwk.update(kid="k1", alg="RS256", use="sig")
    return good, other, {"keys": [jwk]}


def token(key, alg="RS256", kid="k1", **claims) -> str:
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": int(time.time()) + 300, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg,
                      headers={"kid": kid} if kid else None)


def hs256_with(secret: bytes) -> str:
    """Algorithm confusion: a token signed with HS256 using `secret` (e.g. the RSA public key)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=")
    signing = b64(header) + b"." + b64(payload)
    sig = base64.urlsafe_b64encode(hmac.new(secret, signing, hashlib.sha256).digest()).rstrip(b"=")
    return (signing + b"." + sig).decode()


def refused(good, other) -> dict[str, str | None]:
    """Case name → a token every gateway must refuse (None: no token at all)."""
    public_pem = good.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "missing": None,
        "expired": token(good, exp=int(time.time()) - 120),
        "wrong_aud": token(good, aud="other"),
        "wrong_iss": token(good, iss="https://evil.test/"),
        "no_exp": token(good, exp=None),
        "other_key": token(other),
        "alg_none": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}, None,
                               algorithm="none", headers={"kid": "k1"}),
        "hs256_with_public_key": hs256_with(public_pem),
        "garbage": "not.a.token",
        "unknown_kid": token(good, kid="nope"),
    }
