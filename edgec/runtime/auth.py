"""Authentication: JWT (JWKS fetched and cached, or a shared HMAC secret), HTTP basic
against an htpasswd file, API keys.

`check(ex)` (ex: the exchange; `ex.hb` maps lower-case header names to raw values) answers at
once with an Allow (claims in `.claims`), a Reject, or an awaitable of either when work must leave the event loop's fast path (a
JWKS fetch for an unknown key id, a bcrypt hash). Verified credentials are cached, so a
client that repeats its token or password costs a dictionary lookup.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field

from .. import ir, routing

log = logging.getLogger("edgec.runtime")

JWKS_FETCH_TIMEOUT_S = 5.0
JWKS_MIN_REFETCH_S = 30.0  # an unknown key id refetches the JWKS at most this often
VERIFIED_CACHE_ENTRIES = 10_000


@dataclass
class Reject:
    status: int
    message: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass
class Allow:
    claims: dict | None = None
    # header lines (lower-case name, value) the upstream request gets in place of the client's
    # own headers named in `replaces` (what an authorization service vouches for)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    replaces: list[bytes] = field(default_factory=list)


ALLOW = Allow()


def _bounded_put(cache: dict, key, value) -> None:
    if len(cache) >= VERIFIED_CACHE_ENTRIES:
        cache.pop(next(iter(cache)))  # oldest insertion first
    cache[key] = value


class JwtChecker:
    def __init__(self, auth: ir.JwtAuth, resolve_secret):
        import jwt
        self.jwt = jwt
        self.auth = auth
        self.header = auth.header.lower().encode("latin-1")
        self.bearer = self.header == b"authorization"
        self.algorithms = set(auth.algorithms)
        self.hmac_key = resolve_secret(auth.secret).encode() if auth.secret else None
        self.keys: dict[str | None, object] = {}  # kid → PyJWK
        self.fetched_at = 0.0
        self.verified: dict[bytes, tuple[float, Allow]] = {}
        self.challenge = [(b"www-authenticate", b'Bearer realm="%s"' % auth.name.encode())]

    def _reject(self, message: str) -> Reject:
        return Reject(401, message, self.challenge)

    async def fetch_keys(self) -> None:
        if not self.auth.jwks_url:
            return
        self.fetched_at = time.monotonic()
        url = self.auth.jwks_url
        import urllib.request  # ~10 ms of http.client and email: only an edge with a JWKS pays it

        def get() -> bytes:
            with urllib.request.urlopen(url, timeout=JWKS_FETCH_TIMEOUT_S) as resp:  # noqa: S310 (config URL)
                return resp.read()
        try:
            data = json.loads(await asyncio.get_running_loop().run_in_executor(None, get))
            keys = {}
            for jwk in data.get("keys", []):
                try:
                    key = self.jwt.PyJWK(jwk)
                except self.jwt.PyJWTError:
                    continue
                keys[jwk.get("kid")] = (key, jwk.get("alg"))
            self.keys = keys
        except (OSError, ValueError) as err:
            log.warning("auth %s: cannot fetch JWKS %s: %s", self.auth.name, url, err)

    def check(self, ex):
        raw = ex.hb.get(self.header)
        if not raw:
            return self._reject("missing token")
        # verified tokens are remembered by the header value as sent: a repeat costs one lookup
        hit = self.verified.get(raw)
        if hit is not None:
            if hit[0] > time.time():
                return hit[1]
            del self.verified[raw]
        text = raw.decode("latin-1")
        if self.bearer:
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return self._reject("expected a Bearer token")
            token = token.strip()
        else:
            token = text.strip()
        try:
            head = self.jwt.get_unverified_header(token)
        except self.jwt.PyJWTError:
            return self._reject("malformed token")
        alg = head.get("alg")
        # the algorithm must be one the edge accepts: "none" never is (the IR cannot name it)
        if alg not in self.algorithms:
            return self._reject("token algorithm not accepted")
        if alg.startswith("HS"):
            if self.hmac_key is None:
                return self._reject("token algorithm not accepted")
            return self._verify(raw, token, self.hmac_key, alg)
        found = self.keys.get(head.get("kid"))
        if found is None and len(self.keys) == 1 and head.get("kid") is None:
            found = next(iter(self.keys.values()))
        if found is None:
            if self.auth.jwks_url and time.monotonic() - self.fetched_at > JWKS_MIN_REFETCH_S:
                return self._refetch_then_verify(raw, token, head, alg)
            return self._reject("unknown signing key")
        return self._verify_jwk(raw, token, found, alg)

    async def _refetch_then_verify(self, raw, token, head, alg):
        await self.fetch_keys()
        found = self.keys.get(head.get("kid"))
        if found is None:
            return self._reject("unknown signing key")
        return self._verify_jwk(raw, token, found, alg)

    def _verify_jwk(self, raw: bytes, token: str, found, alg: str):
        key, key_alg = found
        # algorithm confusion: a key is only ever used with the algorithm family it was published for
        if key_alg and key_alg != alg:
            return self._reject("token algorithm does not match its key")
        if key.algorithm_name and not _same_family(key.algorithm_name, alg):
            return self._reject("token algorithm does not match its key")
        return self._verify(raw, token, key.key, alg)

    def _verify(self, raw: bytes, token: str, key, alg: str):
        a = self.auth
        require = ["exp"] + (["iss"] if a.issuer else []) + (["aud"] if a.audiences else [])
        try:
            claims = self.jwt.decode(token, key, algorithms=[alg], audience=list(a.audiences) or None,
                                     issuer=a.issuer, leeway=a.leeway_ms / 1000,
                                     options={"require": require, "verify_aud": bool(a.audiences)})
        except self.jwt.ExpiredSignatureError:
            return self._reject("token expired")
        except self.jwt.PyJWTError:
            return self._reject("invalid token")
        allow = Allow(claims)
        _bounded_put(self.verified, raw, (float(claims["exp"]) + a.leeway_ms / 1000, allow))
        return allow


def _same_family(key_alg: str, alg: str) -> bool:
    families = ("RS", "PS", "ES", "Ed", "HS")
    fam = next((f for f in families if alg.startswith(f)), None)
    key_fam = next((f for f in families if key_alg.startswith(f)), None)
    # PyJWK names RSA keys RS256 whatever their use: RS and PS share RSA keys
    return fam == key_fam or {fam, key_fam} == {"RS", "PS"}


class BasicChecker:
    def __init__(self, auth: ir.BasicAuth, resolve_secret):
        self.auth = auth
        if isinstance(auth.htpasswd, ir.Secret):
            text = resolve_secret(auth.htpasswd)  # the secret holds the file's lines
        else:
            with open(auth.htpasswd, encoding="utf-8") as f:
                text = f.read()
        self.users: dict[str, str] = {}
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#") and ":" in line:
                user, _, hashed = line.partition(":")
                if not hashed.startswith(("$2a$", "$2b$", "$2y$", "{SHA}")):
                    log.warning("auth %s: user %s: only bcrypt and {SHA} htpasswd entries are supported",
                                auth.name, user)
                    continue
                self.users[user] = hashed
        self.verified: dict[bytes, float] = {}
        self.challenge = [(b"www-authenticate", b'Basic realm="%s"' % auth.realm.encode("latin-1", "replace")
                           .replace(b'"', b""))]

    def check(self, ex):
        raw = (ex.hb.get(b"authorization") or b"").decode("latin-1")
        scheme, _, encoded = raw.partition(" ")
        if scheme.lower() != "basic":
            return Reject(401, "credentials required", self.challenge)
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return Reject(401, "malformed credentials", self.challenge)
        hashed = self.users.get(user)
        if not sep or hashed is None:
            return Reject(401, "invalid credentials", self.challenge)
        memo = hashlib.sha256(f"{user}\0{password}\0{hashed}".encode()).digest()
        if memo in self.verified:
            return ALLOW
        if hashed.startswith("{SHA}"):
            digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()  # noqa: S324 (htpasswd format)
            return self._remember(memo, hmac.compare_digest(digest, hashed[5:]))
        return self._bcrypt(memo, password, hashed)

    async def _bcrypt(self, memo: bytes, password: str, hashed: str):
        import bcrypt
        # bcrypt is slow by design: hash off the event loop
        ok = await asyncio.get_running_loop().run_in_executor(
            None, bcrypt.checkpw, password.encode(), ("$2b$" + hashed[4:]).encode())
        return self._remember(memo, ok)

    def _remember(self, memo: bytes, ok: bool):
        if not ok:
            return Reject(401, "invalid credentials", self.challenge)
        _bounded_put(self.verified, memo, 0.0)
        return ALLOW


class ApiKeyChecker:
    def __init__(self, auth: ir.ApiKeyAuth, resolve_secret):
        self.header = auth.header.lower().encode("latin-1")
        keys = [resolve_secret(s) for s in auth.keys]
        if auth.keys_file:
            with open(auth.keys_file, encoding="utf-8") as f:
                keys += [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
        self.keys = [k.encode() for k in keys]
        self.challenge = [(b"www-authenticate", routing.api_key_challenge(auth).encode("latin-1"))]

    def check(self, ex):
        value = ex.hb.get(self.header)
        if not value:
            return Reject(401, "API key required", self.challenge)
        ok = False
        for key in self.keys:  # every key is compared, so timing says nothing about which matched
            ok |= hmac.compare_digest(value, key)
        return ALLOW if ok else Reject(401, "invalid API key", self.challenge)


class RequiringChecker:
    """A jwt checker held to a route's `require` (routing.authorized): a valid token that lacks
    what the route requires is 403, whatever else the checker answers stays as it is."""

    def __init__(self, inner: JwtChecker, require: ir.Requirements):
        self.inner = inner
        self.require = require
        challenge = routing.forbidden_challenge(inner.auth).encode("latin-1")
        self.forbidden = Reject(routing.FORBIDDEN_STATUS, "token lacks what the route requires",
                                [(b"www-authenticate", challenge)])

    def check(self, ex):
        verdict = self.inner.check(ex)
        if type(verdict) is Allow:
            return self._hold(verdict)
        if type(verdict) is Reject:
            return verdict
        return self._later(verdict)

    def _hold(self, allow: Allow):
        return allow if routing.authorized(self.require, allow.claims or {}) else self.forbidden

    async def _later(self, pending):
        verdict = await pending
        return self._hold(verdict) if type(verdict) is Allow else verdict


def make_checker(auth: ir.Auth, resolve_secret):
    kind = {"jwt": JwtChecker, "basic": BasicChecker, "api_key": ApiKeyChecker}[auth.kind]
    return kind(auth, resolve_secret)
