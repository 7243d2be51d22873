"""Syntax tree + chosen environment → IR.

Lowering picks the environment, resolves variables, normalises units and applies every
default. It reports what makes a value meaningless (a wrong type, a bad address, a port
out of range) and leaves cross-references (does this upstream exist?) to the lint rules,
which see the whole file.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import ir
from .diagnostics import CompileError, Sink, Span, did_you_mean
# the defaults live with the IR (edgec/ir.py), which every target reads
from .ir import (
    DEFAULT_LISTENER, DEFAULT_PASSIVE, DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS,
    DEFAULT_TIMEOUTS, DEFAULT_HEALTH, DEFAULT_CACHE_METHODS, CACHE_KEY, DEFAULT_CORS_METHODS,
    DEFAULT_CORS_MAX_AGE_S, DEFAULT_RETRY_STATUSES, DEFAULT_PART_TIMEOUT_MS,
    DEFAULT_REDIRECT_STATUS, DEFAULT_RESPOND_TYPE, DEFAULT_LIMITS, DEFAULT_ACCESS_LOG,
    DEFAULT_JWT_ALGORITHMS, DEFAULT_JWT_LEEWAY_MS, DEFAULT_API_KEY_HEADER, DEFAULT_REALM)
from .syntax import Document, Stmt, Value, VarRef

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                  "EdDSA", "HS256", "HS384", "HS512")
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
HOST_LABEL = re.compile(r"^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$")
COOKIE_NAME = HEADER_NAME
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HTPASSWD_ENTRY = re.compile(r"^[^/:\s]+:(?:\$(?:apr1|2[aby]|5|6)\$|\{SHA\})", re.M)


@dataclass
class Env:
    """The variables visible while lowering one environment."""

    name: str | None
    values: dict[str, Value] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)


def environments(doc: Document) -> list[str]:
    return [s.args["name"].value for s in doc.edge.body if s.kind == "env"]


def _env_vars(doc: Document, env_name: str | None, sink: Sink) -> Env:
    env = Env(env_name)
    for stmt in doc.edge.body:
        if stmt.kind == "vars":
            for a in stmt.body:
                env.values[a.args["name"].value] = a.args["value"]
    for stmt in doc.edge.body:
        if stmt.kind == "env" and stmt.args["name"].value == env_name:
            for a in stmt.body:
                env.values[a.args["name"].value] = a.args["value"]
    return env


@lru_cache(maxsize=4096)
def _regex_problem(pattern: str) -> tuple[str, str] | None:
    """(message, hint) saying why a regex is refused, or None. Cached: compiling is the dearest
    part of lowering a route, and every env lowers the same patterns (re caches only 512)."""
    try:
        re.compile(pattern)
    except re.error as err:
        return (f"invalid regular expression: {err.msg}",
                "regexes use the common PCRE/RE2 subset: no backreferences or lookaround")
    if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
        return "lookaround and backreferences are not portable to every target", "use the common PCRE/RE2 subset"
    return None


class Lowerer:
    def __init__(self, doc: Document, env: Env, sink: Sink):
        self.doc = doc
        self.env = env
        self.sink = sink

    # ---- values ---------------------------------------------------------------------------
    def _var(self, ref: VarRef, where: Span) -> Value | None:
        if ref.name == "env":
            return Value("string", (self.env.name or "",), self.env.name or "", where)
        if ref.is_secret:
            return None
        if ref.name not in self.env.values:
            elsewhere = [s.args["name"].value for s in self.doc.edge.body if s.kind == "env"
                         and any(a.args["name"].value == ref.name for a in s.body)]
            if elsewhere:
                self.sink.error("E107", f"variable '{ref.name}' is not defined in env '{self.env.name}' "
                                f"(only in {', '.join(elsewhere)})", ref.span,
                                hint=f"add `{ref.name} = ...` to env {self.env.name}, or a default in `vars {{ }}`",
                                rule="env-missing-variable")
                return None
            known = list(self.env.values) + ["env"]
            guess = did_you_mean(ref.name, known)
            where_env = f" in env '{self.env.name}'" if self.env.name else ""
            self.sink.error("E101", f"variable '{ref.name}' is not defined{where_env}", ref.span,
                            hint=f"did you mean '{guess}'?" if guess else
                            "define it in the env block (or in `vars { }` for every env)",
                            rule="undefined-variable")
            return None
        self.env.used.add(ref.name)
        return self.env.values[ref.name]

    def resolve(self, value: Value | None) -> Value | None:
        """Replace a bare ${var} by its value (recursively, for variables naming variables)."""
        seen = set()
        while value is not None and value.kind == "var":
            ref = value.value
            if ref.is_secret:
                return value
            if ref.name in seen:
                self.sink.error("E101", f"variable '{ref.name}' refers to itself", ref.span, rule="undefined-variable")
                return None
            seen.add(ref.name)
            resolved = self._var(ref, value.span)
            if resolved is None:
                return None
            value = Value(resolved.kind, resolved.value, resolved.raw, value.span) if resolved.kind != "var" else resolved
        return value

    def string(self, value: Value | None, what: str, allow_secret: bool = False, default: Any = None) -> Any:
        value = self.resolve(value)
        if value is None:
            return default
        if value.kind == "var" and value.value.is_secret:
            if allow_secret:
                return self.secret(value.value)
            self._secret_here(value.span, what)
            return default
        if value.kind == "int":
            return str(value.value)
        if value.kind == "word":
            return value.value
        if value.kind != "string":
            self._type_error(value, what, "a string")
            return default
        parts = []
        for part in value.value:
            if isinstance(part, str):
                parts.append(part)
                continue
            if part.is_secret:
                if allow_secret and len(value.value) == 1:
                    return self.secret(part)
                self._secret_here(part.span, what)
                return default
            resolved = self._var(part, part.span)
            if resolved is None:
                return default
            if resolved.kind == "list":
                self._type_error(resolved, what, "a single value to put inside a string", at=part.span)
                return default
            parts.append(self.string(resolved, what, default=""))
        return "".join(parts)

    def integer(self, value: Value | None, what: str, default: Any = None, low: int | None = None,
                high: int | None = None) -> Any:
        value = self.resolve(value)
        if value is None:
            return default
        if value.kind == "string" and value.text.isdigit():
            number = int(value.text)
        elif value.kind != "int":
            self._type_error(value, what, "a whole number")
            return default
        else:
            number = value.value
        if (low is not None and number < low) or (high is not None and number > high):
            code = "E201" if "port" in what else "E212"
            rng = f"{low}..{high}" if high is not None else f"at least {low}"
            self.sink.error(code, f"{what} {number} is out of range ({rng})", value.span,
                            rule="port-out-of-range" if code == "E201" else "value-out-of-range")
            return default
        return number

    def strings(self, value: Value | None, what: str) -> list[tuple[str, Span]]:
        value = self.resolve(value)
        if value is None:
            return []
        items = value.value if value.kind == "list" else (value,)
        out = []
        for item in items:
            resolved = self.resolve(item)
            if resolved is not None and resolved.kind == "list":
                out.extend(self.strings(resolved, what))
                continue
            text = self.string(item, what)
            if text is not None:
                out.append((text, item.span))
        return out

    def _type_error(self, value: Value, what: str, expected: str, at: Span | None = None) -> None:
        kinds = {"list": "a list", "string": "a string", "int": "a number", "duration": "a duration",
                 "rate": "a rate", "percent": "a percentage", "size": "a size", "word": "a name"}
        self.sink.error("E108", f"{what} must be {expected}, not {kinds.get(value.kind, value.kind)}",
                        at or value.span, rule="wrong-type")

    def secret(self, ref: VarRef) -> ir.Secret | None:
        name = ref.name.split(":", 1)[1].strip()
        if not SECRET_NAME.match(name):
            self.sink.error("E112", f"'{name}' is not a secret name", ref.span,
                            hint="secret names are environment variable names: letters, digits and _, "
                                 "e.g. ${secret:JWT_KEY}", rule="bad-secret-name")
            return None
        return ir.Secret(name)

    def credential(self, value: Value | None, what: str, example: str) -> ir.Secret | None:
        """A value that must be a secret reference: a literal credential is refused, unechoed."""
        secret = self.string(value, what, allow_secret=True)
        if secret is None or isinstance(secret, ir.Secret):
            return secret
        self.sink.error("E110", f"{what} must be a secret reference, never the credential itself", value.span,
                        hint=f"write {example} and set it in the environment (or the secrets directory); "
                             "a credential in the file ends up in version control", rule="literal-secret",
                        mask=True)
        return None

    def _secret_here(self, span: Span, what: str) -> None:
        self.sink.error("E109", f"a secret cannot be used in {what}", span,
                        hint="secrets are accepted only where a credential is expected "
                             "(jwt secret, api_key keys, basic htpasswd), so they never land in a config file",
                        rule="secret-misuse")

    # ---- the edge --------------------------------------------------------------------------
    def edge(self) -> ir.Edge:
        body = self.doc.edge.body
        by_kind: dict[str, list[Stmt]] = {}
        for stmt in body:
            by_kind.setdefault(stmt.kind, []).append(stmt)
        listeners = tuple(self.listener(s) for s in by_kind.get("listen", ()))
        if not listeners:
            listeners = (ir.Listener(*DEFAULT_LISTENER),)
        upstreams = tuple(u for u in (self.upstream(s) for s in by_kind.get("upstream", ())) if u)
        auth = tuple(a for a in (self.auth(s) for s in by_kind.get("auth", ())) if a)
        routes = tuple(r for r in (self.route(s) for s in by_kind.get("route", ())) if r)
        return ir.Edge(
            version=ir.IR_VERSION,
            name=self.string(self.doc.edge.args["name"], "the edge name", default="edge"),
            env=self.env.name,
            listeners=listeners,
            upstreams=upstreams,
            auth=auth,
            routes=routes,
            observability=self.observability(by_kind),
            limits=self.limits(by_kind.get("limits", ())),
            trusted_proxies=tuple(self.cidr(s) for stmt in by_kind.get("trust_proxies", ())
                                  for s in self.strings_of(stmt.args["values"], "trust_proxies")),
            target_settings=self.target_settings(),
        )

    def target_settings(self) -> tuple[ir.TargetSetting, ...]:
        """Variables named `<target>_<key>` are deployment inputs handed to that target as they are."""
        from .targets import names
        prefixes = tuple(f"{t}_" for t in names())
        out = []
        for name in sorted(n for n in self.env.values if n.startswith(prefixes)):
            value = self.resolve(self.env.values[name])
            if value is None:
                continue
            self.env.used.add(name)
            if value.kind == "list":
                items = tuple(text for text, _ in self.strings(value, name))
                out.append(ir.TargetSetting(name, items, value.span))
            else:
                text = self.string(value, name)
                if text is not None:
                    out.append(ir.TargetSetting(name, text, value.span))
        return tuple(out)

    def strings_of(self, values, what) -> list[tuple[str, Span]]:
        out = []
        for v in values:
            out.extend(self.strings(v, what))
        return out

    def cidr(self, item: tuple[str, Span]) -> str:
        text, span = item
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            self.sink.error("E202", f"'{text}' is not an IP address or CIDR range", span,
                            hint="write it like \"10.0.0.0/8\" or \"192.0.2.7\"", rule="bad-address")
            return text

    # ---- listeners -------------------------------------------------------------------------------
    def listener(self, stmt: Stmt) -> ir.Listener:
        protocol = stmt.args["protocol"].value
        port = self.integer(stmt.args["port"], "listener port", default=0, low=1, high=65535)
        tls = redirect = None
        http2 = False
        address = "0.0.0.0"
        for item in stmt.body or ():
            if item.kind == "tls":
                version = item.args["min_version"]
                tls = ir.Tls(cert=self.string(item.args["cert"], "tls cert", default=""),
                             key=self.string(item.args["key"], "tls key", default=""),
                             min_version=version.value if version else "1.2")
            elif item.kind == "redirect_https":
                redirect = ir.HttpsRedirect(port=self.integer(item.args["port"], "redirect port", default=443,
                                                              low=1, high=65535))
            elif item.kind == "http2":
                http2 = True
            elif item.kind == "bind":
                address = self.string(item.args["address"], "bind address", default="0.0.0.0")
                try:
                    ipaddress.ip_address(address)
                except ValueError:
                    self.sink.error("E202", f"bind address '{address}' is not an IP address",
                                    item.args["address"].span, hint='write "127.0.0.1" or "0.0.0.0"',
                                    rule="bad-address")
        return ir.Listener(protocol, port, address, tls, http2, redirect, span=stmt.span)

    # ---- upstreams -------------------------------------------------------------------------------
    def server(self, text: str, span: Span, weight: int = 1, backup: bool = False) -> ir.Server | None:
        m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})|([A-Za-z0-9.-]+):([0-9]{1,5})", text)
        if not m:
            self.sink.error("E202", f"server address '{text}' is not host:port", span,
                            hint='write it like "10.0.0.5:8080", "orders.internal:8080" or "[::1]:8080"',
                            rule="bad-address")
            return None
        host = m.group(1) or m.group(3)
        port = int(m.group(2) or m.group(4))
        if not 1 <= port <= 65535:
            self.sink.error("E201", f"port {port} is out of range (1..65535)", span, rule="port-out-of-range")
            return None
        if m.group(3) and not HOST_LABEL.match(host):
            self.sink.error("E202", f"'{host}' is not a valid host name", span, rule="bad-address")
            return None
        return ir.Server(host, port, weight, backup)

    def upstream(self, stmt: Stmt) -> ir.Upstream | None:
        name = stmt.args["name"].value
        servers: list[ir.Server] = []
        balance, hash_key, health, sticky = "round_robin", None, None, None
        passive = DEFAULT_PASSIVE
        keepalive = ir.Keepalive(DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS)
        timeouts = DEFAULT_TIMEOUTS
        for item in stmt.body:
            a = item.args
            if item.kind == "server":
                weight = self.integer(a["weight"], "server weight", default=1, low=1, high=1000) if a["weight"] else 1
                for text, span in self.strings(a["address"], "server address"):
                    server = self.server(text, span, weight, a["backup"])
                    if server:
                        servers.append(server)
            elif item.kind == "servers":
                for text, span in self.strings(a["list"], "servers"):
                    server = self.server(text, span)
                    if server:
                        servers.append(server)
            elif item.kind == "balance":
                balance = a["algorithm"].value
                if balance == "hash":
                    source = a["source"].value
                    key_name = self.string(a["name"], "hash key name") if a["name"] else None
                    if source in ("header", "cookie") and not key_name:
                        self.sink.error("E221", f"balance hash {source} needs the {source} name", item.span,
                                        hint=f'write: balance hash {source} "X-User"', rule="bad-value")
                    if source in ("client_ip", "uri") and key_name:
                        self.sink.error("E221", f"balance hash {source} takes no name", a["name"].span,
                                        rule="bad-value")
                        key_name = None
                    hash_key = ir.HashKey(source, key_name)
            elif item.kind == "health":
                health = ir.HealthCheck(
                    method=a["method"].value.upper(),
                    path=self.path(a["path"], "health check path"),
                    interval_ms=a["every"].value if a.get("every") else DEFAULT_HEALTH["interval_ms"],
                    timeout_ms=a["timeout"].value if a.get("timeout") else DEFAULT_HEALTH["timeout_ms"],
                    unhealthy_threshold=self.integer(a.get("unhealthy"), "unhealthy threshold",
                                                     default=DEFAULT_HEALTH["unhealthy"], low=1, high=100),
                    healthy_threshold=self.integer(a.get("healthy"), "healthy threshold",
                                                   default=DEFAULT_HEALTH["healthy"], low=1, high=100),
                    expect_status=self.status_range(a.get("expect")),
                )
            elif item.kind == "passive":
                passive = ir.PassiveCheck(
                    max_fails=self.integer(a["max_fails"], "max_fails", default=1, low=0, high=1000),
                    fail_timeout_ms=a["fail_timeout"].value if a["fail_timeout"] else DEFAULT_PASSIVE.fail_timeout_ms)
            elif item.kind == "sticky":
                cookie = self.string(a["cookie"], "sticky cookie name", default="")
                if cookie and not COOKIE_NAME.match(cookie):
                    self.sink.error("E221", f"'{cookie}' is not a valid cookie name", a["cookie"].span,
                                    hint="use letters, digits and - _ only", rule="bad-value")
                sticky = ir.Sticky(cookie, a["ttl"].value if a["ttl"] else 0)
            elif item.kind == "keepalive":
                keepalive = ir.Keepalive(
                    self.integer(a["connections"], "keepalive connections", default=DEFAULT_KEEPALIVE_CONNECTIONS,
                                 low=0, high=100_000),
                    a["idle"].value if a["idle"] else DEFAULT_KEEPALIVE_IDLE_MS)
            elif item.kind in ("connect_timeout", "read_timeout", "send_timeout"):
                field_name = item.kind.replace("_timeout", "_ms")
                timeouts = ir.UpstreamTimeouts(**{**timeouts.__dict__, field_name: a["duration"].value})
        return ir.Upstream(name, tuple(servers), balance, hash_key, health, passive, sticky, keepalive,
                           timeouts, span=stmt.span)

    def status_range(self, pair) -> tuple[int, int]:
        if not pair:
            return DEFAULT_HEALTH["expect"]
        low, high = pair
        if not (100 <= low.value <= high.value <= 599):
            self.sink.error("E212", f"status range {low.value}-{high.value} is not within 100-599, low to high",
                            low.span, rule="value-out-of-range")
            return DEFAULT_HEALTH["expect"]
        return (low.value, high.value)

    # ---- auth -----------------------------------------------------------------------------------------
    def _items(self, stmt: Stmt) -> dict[str, Stmt]:
        out: dict[str, Stmt] = {}
        for item in stmt.body or ():
            if item.kind in out:
                self.sink.error("E215", f"'{item.kind}' is given twice", item.span, hint="keep one of them",
                                rule="duplicate-statement")
            out[item.kind] = item
        return out

    def _one_string(self, items: dict[str, Stmt], key: str, what: str, default=None, allow_secret=False):
        if key not in items:
            return default
        return self.string(items[key].args["values"][0], what, allow_secret=allow_secret, default=default)

    def auth(self, stmt: Stmt) -> ir.Auth | None:
        kind = stmt.args["type"].value
        name = stmt.args["name"].value
        items = self._items(stmt)
        if kind == "jwt":
            algorithms = tuple(v.value for v in items["algorithms"].args["values"]) if "algorithms" in items \
                else DEFAULT_JWT_ALGORITHMS
            for v in items["algorithms"].args["values"] if "algorithms" in items else ():
                if v.value not in JWT_ALGORITHMS:
                    guess = did_you_mean(v.value, JWT_ALGORITHMS)
                    self.sink.error("E221", f"unknown JWT algorithm '{v.value}'", v.span,
                                    hint=f"did you mean '{guess}'?" if guess else
                                    "one of " + ", ".join(JWT_ALGORITHMS), rule="bad-value")
            audiences = tuple(t for t, _ in self.strings_of(items["audience"].args["values"], "audience")) \
                if "audience" in items else ()
            return ir.JwtAuth(
                name=name, kind="jwt",
                issuer=self._one_string(items, "issuer", "jwt issuer"),
                jwks_url=self._one_string(items, "jwks", "jwks url"),
                secret=self.credential(items["secret"].args["values"][0], "a jwt secret", "secret ${secret:JWT_KEY}")
                if "secret" in items else None,
                audiences=audiences, algorithms=algorithms,
                leeway_ms=items["leeway"].args["values"][0].value if "leeway" in items else DEFAULT_JWT_LEEWAY_MS,
                header=self._one_string(items, "header", "jwt header", default="Authorization"),
                span=stmt.span)
        if kind == "basic":
            htpasswd = self._one_string(items, "htpasswd", "htpasswd file", default="", allow_secret=True)
            if isinstance(htpasswd, str) and HTPASSWD_ENTRY.search(htpasswd):
                self.sink.error("E110", "htpasswd takes the path of a file, not the user:hash entries",
                                items["htpasswd"].args["values"][0].span,
                                hint='write htpasswd "/etc/edge/users.htpasswd", or htpasswd ${secret:HTPASSWD} for a '
                                     "file kept as a secret", rule="literal-secret", mask=True)
            return ir.BasicAuth(name=name, kind="basic",
                                htpasswd=htpasswd,
                                realm=self._one_string(items, "realm", "realm", default=DEFAULT_REALM),
                                span=stmt.span)
        keys: list[ir.Secret] = []
        for v in items["keys"].args["values"] if "keys" in items else ():
            secret = self.credential(v, "an API key", "keys ${secret:SHOP_API_KEY} (or use keys_file)")
            if secret is not None:
                keys.append(secret)
        return ir.ApiKeyAuth(name=name, kind="api_key",
                             header=self._one_string(items, "header", "api key header",
                                                     default=DEFAULT_API_KEY_HEADER),
                             keys_file=self._one_string(items, "keys_file", "keys file"),
                             keys=tuple(keys), span=stmt.span)

    # ---- routes -----------------------------------------------------------------------------------------
    def path(self, value: Value | None, what: str) -> str:
        text = self.string(value, what, default="/")
        if not text.startswith("/"):
            self.sink.error("E210", f"{what} '{text}' must start with '/'", value.span if value else None,
                            hint=f'write "/{text}"', rule="bad-path")
        return text

    def match(self, stmt: Stmt) -> ir.Match:
        path = ir.PathMatch("prefix", "/")
        hosts: list[str] = []
        methods: list[str] = []
        headers: list[ir.ValueMatch] = []
        query: list[ir.ValueMatch] = []
        seen: set[str] = set()
        for cond in stmt.args["conditions"]:
            a = cond.args
            if cond.kind in seen and cond.kind in ("path",):
                self.sink.error("E215", "a match has one path condition; for alternatives write another `match` line",
                                cond.span, rule="duplicate-statement")
            seen.add(cond.kind)
            if cond.kind == "path":
                ptype = a["type"].value
                if ptype == "regex":
                    pattern = self.string(a["value"], "path regex", default="")
                    self.check_regex(pattern, a["value"].span)
                    path = ir.PathMatch("regex", pattern)
                else:
                    path = ir.PathMatch(ptype, self.path(a["value"], f"{ptype} path"))
            elif cond.kind == "host":
                for h in a["values"]:
                    for text, span in self.strings(h, "host"):
                        host = text.lower().rstrip(".")
                        if not HOST_LABEL.match(host) or ":" in host:
                            self.sink.error("E218", f"'{text}' is not a host name or *.wildcard", span,
                                            hint='write "api.example.com" or "*.example.com" (no port, no scheme)',
                                            rule="bad-host")
                        hosts.append(host)
            elif cond.kind == "method":
                for v in a["values"]:
                    method = v.value
                    if method not in ir.HTTP_METHODS:
                        guess = did_you_mean(method.upper(), ir.HTTP_METHODS)
                        self.sink.error("E211", f"unknown HTTP method '{method}'", v.span,
                                        hint=f"did you mean '{guess}'?" if guess else "methods are upper case",
                                        rule="bad-method")
                    methods.append(method)
            else:
                name = self.string(a["name"], f"{cond.kind} name", default="")
                if cond.kind == "header" and not HEADER_NAME.match(name):
                    self.sink.error("E219", f"'{name}' is not a valid header name", a["name"].span,
                                    rule="bad-header")
                value = self.string(a["value"], f"{cond.kind} value", default="") if a["value"] else None
                if a["op"] == "regex":
                    self.check_regex(value, a["value"].span)
                target = headers if cond.kind == "header" else query
                same = [m for m in target if (m.name.lower() == name.lower() if cond.kind == "header"
                                              else m.name == name)]
                if same:
                    self.sink.error("E215", f"{cond.kind} '{name}' is tested twice in one match", cond.span,
                                    hint="a match needs all its conditions; for alternatives write another `match`",
                                    rule="duplicate-statement")
                target.append(ir.ValueMatch(name, a["op"], value))
        return ir.Match(path, tuple(dict.fromkeys(hosts)), tuple(dict.fromkeys(methods)), tuple(headers),
                        tuple(query), span=stmt.span)

    def check_regex(self, pattern: str | None, span: Span) -> None:
        if pattern is None:
            return
        problem = _regex_problem(pattern)
        if problem is not None:
            self.sink.error("E205", problem[0], span, hint=problem[1], rule="bad-regex")

    def route(self, stmt: Stmt) -> ir.Route | None:
        name = stmt.args["name"].value
        matches: list[ir.Match] = []
        action = None
        fields: dict[str, Any] = {}
        req_ops: dict[str, list] = {"set": [], "add": [], "remove": []}
        resp_ops: dict[str, list] = {"set": [], "add": [], "remove": []}
        rewrite_path = rewrite_host = None
        mirrors: list[ir.Mirror] = []
        single: dict[str, Stmt] = {}
        for item in stmt.body:
            a = item.args
            key = "action" if item.kind in ("forward", "redirect", "respond", "aggregate") else item.kind
            if key == "rewrite":
                key = "rewrite_host" if a["what"] == "host" else "rewrite_path"
            if key in single and key not in ("match", "header_op", "mirror"):
                what = "an action" if key == "action" else f"'{item.kind}'"
                self.sink.error("E209" if key == "action" else "E215",
                                f"route '{name}' has {what} twice", item.span,
                                hint="a route has one action: forward, redirect, respond or aggregate"
                                if key == "action" else "keep one of them",
                                rule="duplicate-action" if key == "action" else "duplicate-statement")
                continue
            single[key] = item
            if item.kind == "match":
                matches.append(self.match(item))
            elif item.kind == "auth_ref":
                fields["auth"] = a["name"].value
            elif item.kind == "rate_limit":
                fields["rate_limit"] = self.rate_limit(item)
            elif item.kind == "cache":
                fields["cache"] = ir.Cache(
                    ttl_ms=a["ttl"].value,
                    methods=tuple(self.methods(a["methods"])) if a["methods"] else DEFAULT_CACHE_METHODS,
                    key=CACHE_KEY,
                    vary=tuple(t for t, _ in self.strings_of(a["vary"] or (), "vary header")))
            elif item.kind == "header_op":
                ops = req_ops if a["direction"].value == "request_header" else resp_ops
                self.header_op(item, ops)
            elif item.kind == "rewrite":
                if a["what"] == "host":
                    rewrite_host = self.hostname(a["to"], "host rewrite")
                elif a["what"] == "path":
                    rewrite_path = ir.PathRewrite("full", self.path(a["to"], "rewritten path"))
                else:
                    prefix = self.path(a["from"], "prefix")
                    replacement = self.string(a["to"], "replacement prefix", default="") if a["to"] else ""
                    if replacement and not replacement.startswith("/"):
                        self.sink.error("E210", f"replacement prefix '{replacement}' must start with '/'",
                                        a["to"].span, rule="bad-path")
                    rewrite_path = ir.PathRewrite("prefix", replacement, prefix)
            elif item.kind == "cors":
                fields["cors"] = self.cors(item)
            elif item.kind == "timeout":
                fields["timeouts"] = ir.Timeouts(a["request"].value, a["per_try"].value if a["per_try"] else 0)
            elif item.kind == "retries":
                fields["retry"] = self.retry(item)
            elif item.kind == "mirror":
                pct = a["percent"].value if a["percent"] else 100.0
                if not 0 < pct <= 100:
                    self.sink.error("E212", f"mirror share {pct}% must be within 0..100%", a["percent"].span,
                                    rule="value-out-of-range")
                mirrors.append(ir.Mirror(a["upstream"].value, pct))
            elif item.kind == "forward":
                action = self.forward(item)
            elif item.kind == "redirect":
                action = self.redirect(item)
            elif item.kind == "respond":
                status = self.integer(a["status"], "response status", default=200, low=100, high=599)
                action = ir.Respond("respond", status, self.string(a["body"], "response body", default="")
                                    if a["body"] else "",
                                    self.string(a["type"], "content type", default=DEFAULT_RESPOND_TYPE)
                                    if a["type"] else DEFAULT_RESPOND_TYPE)
            elif item.kind == "aggregate":
                action = self.aggregate(item)
        if action is None:
            self.sink.error("E208", f"route '{name}' has no action", stmt.args["name"].span,
                            hint="add one of: forward UPSTREAM, redirect, respond STATUS, aggregate { }",
                            rule="missing-action")
            return None
        if not matches:
            matches.append(ir.Match(ir.PathMatch("prefix", "/"), span=stmt.span))
        return ir.Route(
            name=name, matches=tuple(matches), action=action,
            request_headers=ir.HeaderOps(**{k: tuple(v) for k, v in req_ops.items()}),
            response_headers=ir.HeaderOps(**{k: tuple(v) for k, v in resp_ops.items()}),
            rewrite=ir.Rewrite(rewrite_path, rewrite_host),
            mirrors=tuple(mirrors), span=stmt.span, **fields)

    def methods(self, values) -> list[str]:
        out = []
        for v in values:
            if v.value not in ir.HTTP_METHODS:
                guess = did_you_mean(v.value.upper(), ir.HTTP_METHODS)
                self.sink.error("E211", f"unknown HTTP method '{v.value}'", v.span,
                                hint=f"did you mean '{guess}'?" if guess else None, rule="bad-method")
            out.append(v.value)
        return out

    def header_op(self, item: Stmt, ops: dict[str, list]) -> None:
        a = item.args
        verb = a["verb"].value
        name = self.string(a["name"], "header name", default="")
        if not HEADER_NAME.match(name):
            self.sink.error("E219", f"'{name}' is not a valid header name", a["name"].span,
                            hint="header names are letters, digits and !#$%&'*+-.^_`|~", rule="bad-header")
        if verb == "remove":
            if a["value"] is not None:
                self.sink.error("E224", "remove takes only the header name", a["value"].span,
                                hint=f'write: {a["direction"].value} remove "{name}"', rule="header-op-arity")
            ops["remove"].append(name)
            return
        if a["value"] is None:
            self.sink.error("E224", f"{verb} needs a header name and a value", item.span,
                            hint=f'write: {a["direction"].value} {verb} "{name}" "value"', rule="header-op-arity")
            return
        value = self.string(a["value"], "header value", default="")
        if any(c in value for c in "\r\n\0"):
            self.sink.error("E219", "a header value cannot contain a line break or NUL", a["value"].span,
                            rule="bad-header")
            return
        for existing_verb in ("set", "add", "remove"):
            for existing in ops[existing_verb]:
                existing_name = existing if isinstance(existing, str) else existing[0]
                if existing_name.lower() == name.lower():
                    self.sink.error("E215", f"header '{name}' already has an operation in this route",
                                    a["name"].span, hint="one operation per header name (Gateway API rule)",
                                    rule="duplicate-statement")
                    return
        ops[verb].append((name, value))

    def rate_limit(self, item: Stmt) -> ir.RateLimit:
        a = item.args
        count, window = a["rate"].value
        if count == 0:
            self.sink.error("E203", "a rate of 0 lets nothing through", a["rate"].span,
                            hint="to refuse every request use `respond 429`; else give a positive rate",
                            rule="zero-rate")
        source, key_value = a["key"] or ("client_ip", None)
        key = ir.RateLimitKey(source, self.string(key_value, f"rate limit {source}") if key_value else None)
        burst = self.integer(a["burst"], "burst", default=0, low=0, high=1_000_000) if a["burst"] else 0
        return ir.RateLimit(count, window, key, burst)

    def cors(self, item: Stmt) -> ir.Cors:
        items = self._items(item)

        def strs(key):
            return tuple(t for t, _ in self.strings_of(items[key].args["values"], f"cors {key}")) \
                if key in items else ()
        return ir.Cors(
            origins=strs("origins") or ("*",),
            methods=tuple(self.methods(items["methods"].args["values"])) if "methods" in items
            else DEFAULT_CORS_METHODS,
            headers=strs("headers"), expose=strs("expose"), credentials="credentials" in items,
            max_age_s=items["max_age"].args["values"][0].value // 1000 if "max_age" in items
            else DEFAULT_CORS_MAX_AGE_S)

    def retry(self, item: Stmt) -> ir.Retry:
        a = item.args
        attempts = self.integer(a["attempts"], "retries", default=0, low=0, high=10)
        statuses: list[int] = []
        connect_errors = True
        if a["on"]:
            connect_errors = False
            for cond in a["on"]:
                if cond.kind == "int":
                    if not 400 <= cond.value <= 599:
                        self.sink.error("E220", f"retry status {cond.value} is not an error status (400-599)",
                                        cond.span, rule="bad-retry")
                    statuses.append(cond.value)
                elif cond.value in ("connect_error", "connect_errors", "timeout"):
                    connect_errors = True
                elif cond.value == "5xx":
                    statuses.extend((500, 502, 503, 504))
                else:
                    self.sink.error("E220", f"unknown retry condition '{cond.value}'", cond.span,
                                    hint="use status codes (502 503), 5xx, or connect_error", rule="bad-retry")
        else:
            statuses = list(DEFAULT_RETRY_STATUSES)
        return ir.Retry(attempts, tuple(sorted(set(statuses))), connect_errors,
                        a["backoff"].value if a["backoff"] else 0)

    def forward(self, item: Stmt) -> ir.Forward:
        backends = []
        for name, weight in item.args["backends"]:
            if weight is None:
                w = 1
            elif weight.kind == "percent":
                w = weight.value
                if w != int(w):
                    self.sink.error("E221", "percentages are whole numbers", weight.span, rule="bad-value")
                w = int(w)
            else:
                w = weight.value
            if w > 1_000_000:
                self.sink.error("E212", f"weight {w} is above 1000000", weight.span, rule="value-out-of-range")
            backends.append(ir.Backend(name.value, w))
        return ir.Forward("forward", tuple(backends))

    def hostname(self, value: Value, what: str) -> str:
        """A host name a request is sent to (redirect, Host rewrite): no wildcard, no port."""
        text = self.string(value, what, default="")
        if not HOST_LABEL.match(text) or text.startswith("*."):
            self.sink.error("E218", f"{what} '{text}' is not a host name", value.span,
                            hint='write a name like "api.example.com" (no scheme, port or path)', rule="bad-host")
        return text

    def redirect(self, item: Stmt) -> ir.Redirect:
        a = item.args
        status = self.integer(a["status"], "redirect status", default=DEFAULT_REDIRECT_STATUS) \
            if a["status"] else DEFAULT_REDIRECT_STATUS
        if status not in REDIRECT_STATUSES:
            self.sink.error("E221", f"{status} is not a redirect status", a["status"].span,
                            hint="use 301, 302, 303, 307 or 308", rule="bad-value")
        scheme = host = port = path = None
        if a["location"] is not None:
            text = self.string(a["location"], "redirect location", default="")
            m = re.fullmatch(r"(?:(https?)://([^/:?#]+)(?::([0-9]{1,5}))?)?(/[^?#]*)?", text)
            if not m or not text:
                self.sink.error("E210", f"redirect location '{text}' is not a path or http(s) URL",
                                a["location"].span, hint='write "/new/path" or "https://example.com/new"',
                                rule="bad-path")
            else:
                scheme, host = m.group(1), m.group(2)
                port = int(m.group(3)) if m.group(3) else None
                path = ir.PathRewrite("full", m.group(4)) if m.group(4) else None
        opts = a["opts"]
        if "scheme" in opts:
            scheme = opts["scheme"].value
            if scheme not in ("http", "https"):
                self.sink.error("E221", f"redirect scheme '{scheme}' must be http or https", opts["scheme"].span,
                                rule="bad-value")
        if "host" in opts:
            host = self.hostname(opts["host"], "redirect host")
        if "port" in opts:
            port = self.integer(opts["port"], "redirect port", low=1, high=65535)
        if "path" in opts:
            path = ir.PathRewrite("full", self.path(opts["path"], "redirect path"))
        if "prefix" in opts:
            prefix = self.string(opts["prefix"], "redirect prefix", default="")
            if prefix and not prefix.startswith("/"):
                self.sink.error("E210", f"redirect prefix '{prefix}' must start with '/'", opts["prefix"].span,
                                hint=f'write "/{prefix}"', rule="bad-path")
            path = ir.PathRewrite("prefix", prefix, None)
        return ir.Redirect("redirect", status, scheme, host.lower() if host else None, port, path)

    def aggregate(self, item: Stmt) -> ir.Aggregate:
        parts = []
        seen = set()
        for p in item.body:
            a = p.args
            name = a["name"].value
            if name in seen:
                self.sink.error("E106", f"aggregate part '{name}' is defined twice", a["name"].span,
                                rule="duplicate-name")
            seen.add(name)
            method = a["method"].value.upper()
            if method not in ir.HTTP_METHODS:
                self.sink.error("E211", f"unknown HTTP method '{a['method'].value}'", a["method"].span,
                                rule="bad-method")
            parts.append(ir.AggregatePart(name, method, a["upstream"].value,
                                          self.path(a["path"], "part path"),
                                          a["timeout"].value if a["timeout"] else DEFAULT_PART_TIMEOUT_MS))
        if not parts:
            self.sink.error("E208", "aggregate needs at least one part", item.span,
                            hint='write: name = get UPSTREAM "/path"', rule="missing-action")
        return ir.Aggregate("aggregate", tuple(parts))

    # ---- operations ---------------------------------------------------------------------------------
    def observability(self, by_kind: dict[str, list[Stmt]]) -> ir.Observability:
        access_log = DEFAULT_ACCESS_LOG
        for stmt in by_kind.get("access_log", ())[-1:]:
            fmt = stmt.args["format"].value
            access_log = ir.AccessLog(fmt, self.string(stmt.args["path"], "access log path", default="-")
                                      if stmt.args["path"] else "-")
        metrics = None
        for stmt in by_kind.get("metrics", ())[-1:]:
            metrics = self.path(stmt.args["path"], "metrics path")
        for kind in ("access_log", "metrics", "limits"):
            for extra in by_kind.get(kind, ())[1:]:
                self.sink.error("E215", f"'{kind}' is given twice", extra.span, hint="keep one of them",
                                rule="duplicate-statement")
        return ir.Observability(access_log, metrics)

    def limits(self, stmts: list[Stmt]) -> ir.Limits:
        values = dict(DEFAULT_LIMITS.__dict__)
        names = {"max_body": "max_body_bytes", "max_header_size": "max_header_bytes",
                 "max_headers": "max_headers", "header_timeout": "header_timeout_ms",
                 "idle_timeout": "idle_timeout_ms"}
        for stmt in stmts[:1]:
            for key, item in self._items(stmt).items():
                v = item.args["values"][0]
                values[names[key]] = self.integer(v, key, low=1) if key == "max_headers" else v.value
        return ir.Limits(**values)


def lower(doc: Document, env_name: str | None, sink: Sink) -> ir.Edge:
    """Lower one environment. Raises CompileError if the sink holds errors afterwards."""
    envs = environments(doc)
    if env_name is None and envs:
        sink.error("E103", "this file defines environments; choose one with --env",
                   doc.edge.args["name"].span, hint="environments: " + ", ".join(envs), rule="env-required")
        raise CompileError(sink.items)
    if env_name is not None and env_name not in envs:
        guess = did_you_mean(env_name, envs)
        sink.error("E102", f"environment '{env_name}' is not defined in this file",
                   doc.edge.args["name"].span,
                   hint=(f"did you mean '{guess}'?" if guess else
                         ("environments: " + ", ".join(envs)) if envs else "add an `env NAME { }` block"),
                   rule="undefined-env")
        raise CompileError(sink.items)
    env = _env_vars(doc, env_name, sink)
    edge = Lowerer(doc, env, sink).edge()
    sink.raise_if_errors()
    return edge


def lower_with_usage(doc: Document, env_name: str | None, sink: Sink) -> tuple[ir.Edge | None, Env]:
    """Like lower(), but also returns which variables were used (for the unused-variable rule)
    and never raises: the IR is None when lowering found errors."""
    env = _env_vars(doc, env_name, sink)
    before = len([d for d in sink.items if d.severity == "error"])
    edge = Lowerer(doc, env, sink).edge()
    after = len([d for d in sink.items if d.severity == "error"])
    return (edge if after == before else None), env
