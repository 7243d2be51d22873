"""Basic auth and API keys with Envoy's basic_auth and api_key_auth filters: each sits
disabled in the filter chain, and a route that names the auth turns it on with the users
or keys of that auth.

The htpasswd file is read by Envoy when it starts; htpasswd text given as a secret and API
keys (secrets and keys files) are read at build time into envoy.yaml, which is then written
readable by its owner only.
"""
from __future__ import annotations

from edgec import ir

Plan = dict

BASIC = "envoy.filters.http.basic_auth"
API_KEY = "envoy.filters.http.api_key_auth"
_T = "type.googleapis.com/envoy.extensions.filters.http."
FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig"


class Missing(Exception):
    """A credential the build needs and cannot read: (auth, what, hint)."""

    def __init__(self, auth: ir.Auth, what: str, hint: str):
        super().__init__(what)
        self.auth, self.what, self.hint = auth, what, hint


def resolve(edge: ir.Edge, secret) -> dict[str, Plan]:
    """Auth name → the users (DataSource) or API-key settings of every basic or api_key auth a
    route names; `secret(ir.Secret) -> str` reads a secret (KeyError when it is not set)."""
    used = {r.auth for r in edge.routes if r.auth}
    out: dict[str, Plan] = {}
    for auth in edge.auth:
        if auth.name not in used:
            continue
        if isinstance(auth, ir.BasicAuth):
            if isinstance(auth.htpasswd, ir.Secret):
                text = _secret(auth, auth.htpasswd, secret)
                out[auth.name] = {"users": {"inline_string": text.rstrip("\n") + "\n"}}
            else:
                out[auth.name] = {"users": {"filename": auth.htpasswd}}
        elif isinstance(auth, ir.ApiKeyAuth):
            keys = [_secret(auth, s, secret) for s in auth.keys]
            if auth.keys_file:
                try:
                    with open(auth.keys_file, encoding="utf-8") as f:
                        keys += [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
                except OSError as err:
                    raise Missing(auth, f"the keys file {auth.keys_file} cannot be read: {err.strerror}",
                                  "Envoy gets the keys at build time: make the file readable where edgec "
                                  "build runs") from None
            out[auth.name] = {"credentials": [{"key": k, "client": f"key{i + 1}"} for i, k in enumerate(keys)],
                              "key_sources": [{"header": auth.header}]}
    return out


def _secret(auth: ir.Auth, secret: ir.Secret, read) -> str:
    try:
        return read(secret)
    except KeyError:
        raise Missing(auth, f"secret '{secret.secret}' is not set",
                      f"export {secret.secret}=… or put it in a file named {secret.secret} in --secrets-dir") from None


def inline(creds: dict[str, Plan]) -> bool:
    """Does envoy.yaml hold credentials (so that only its owner may read it)?"""
    return any("credentials" in c or "inline_string" in c.get("users", {}) for c in creds.values())


def filters(edge: ir.Edge, creds: dict[str, Plan]) -> list[Plan]:
    kinds = {type(edge.auth_provider(name)) for name in creds}
    out = []
    if ir.BasicAuth in kinds:
        first = next(c for n, c in creds.items() if isinstance(edge.auth_provider(n), ir.BasicAuth))
        # Envoy wants users here too; the filter is off until a route turns it on with its own
        out.append({"name": BASIC, "disabled": True,
                    "typed_config": {"@type": _T + "basic_auth.v3.BasicAuth", "users": first["users"]}})
    if ir.ApiKeyAuth in kinds:
        out.append({"name": API_KEY, "disabled": True, "typed_config": {"@type": _T + "api_key_auth.v3.ApiKeyAuth"}})
    return out


def per_route(auth: ir.Auth, creds: dict[str, Plan]) -> Plan:
    if isinstance(auth, ir.BasicAuth):
        return {BASIC: {"@type": FILTER_CONFIG, "config": {
            "@type": _T + "basic_auth.v3.BasicAuthPerRoute", **creds[auth.name]}}}
    return {API_KEY: {"@type": FILTER_CONFIG, "config": {
        "@type": _T + "api_key_auth.v3.ApiKeyAuthPerRoute", **creds[auth.name]}}}
