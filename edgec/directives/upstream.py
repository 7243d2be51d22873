"""`upstream` and what its block holds."""
from __future__ import annotations

import re

from .. import ir
from ..diagnostics import Span
from ..ir import DEFAULT_HEALTH, DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS, DEFAULT_PASSIVE, \
    DEFAULT_TIMEOUTS, HEADER_NAME, HOST_LABEL
from . import directive, lower_body

COOKIE_NAME = HEADER_NAME


@directive("edge", "upstream", opens="upstream")
def upstream(v, stmt, out):
    fields = {"servers": [], "balance": "round_robin", "hash_key": None, "health": None,
              "passive": DEFAULT_PASSIVE, "sticky": None,
              "keepalive": ir.Keepalive(DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS),
              "timeouts": DEFAULT_TIMEOUTS}
    name = stmt.args["name"].value
    lower_body(v, stmt, "upstream", f"upstream '{name}'", fields)
    out.setdefault("upstreams", []).append(
        ir.Upstream(name, **{**fields, "servers": tuple(fields["servers"])}, span=stmt.span))


def _balance_uses(up: ir.Upstream):
    yield f"balance.{up.balance}" if up.balance != "hash" else \
        f"balance.hash.{up.hash_key.source if up.hash_key else 'uri'}"


@directive("upstream", "balance", features={
    "balance.round_robin": "round robin",
    "balance.least_conn": "least connections",
    "balance.ip_hash": "client IP hash",
    "balance.hash.header": "consistent hash of a request header",
    "balance.hash.cookie": "consistent hash of a cookie",
    "balance.hash.client_ip": "consistent hash of the client address",
    "balance.hash.uri": "consistent hash of the request URI",
    "balance.random": "random choice",
}, uses=_balance_uses)
def balance(v, stmt, out):
    a = stmt.args
    out["balance"] = a["algorithm"].value
    if out["balance"] != "hash":
        return
    source = a["source"].value
    key_name = v.string(a["name"], "hash key name") if a["name"] else None
    if source in ("header", "cookie") and not key_name:
        v.sink.error("E221", f"balance hash {source} needs the {source} name", stmt.span,
                     hint=f'write: balance hash {source} "X-User"')
    if source in ("client_ip", "uri") and key_name:
        v.sink.error("E221", f"balance hash {source} takes no name", a["name"].span)
        key_name = None
    out["hash_key"] = ir.HashKey(source, key_name)


def server_address(v, text: str, span: Span, weight: int = 1, backup: bool = False) -> ir.Server | None:
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})|([A-Za-z0-9.-]+):([0-9]{1,5})", text)
    if not m:
        v.sink.error("E202", f"server address '{text}' is not host:port", span,
                     hint='write it like "10.0.0.5:8080", "orders.internal:8080" or "[::1]:8080"')
        return None
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 1 <= port <= 65535:
        v.sink.error("E201", f"port {port} is out of range (1..65535)", span)
        return None
    if m.group(3) and not HOST_LABEL.match(host):
        v.sink.error("E202", f"'{host}' is not a valid host name", span)
        return None
    return ir.Server(host, port, weight, backup)


def _server_uses(up: ir.Upstream):
    if any(s.weight != 1 for s in up.servers):
        yield "upstream.weights"
    if any(s.backup for s in up.servers):
        yield "upstream.backup"


@directive("upstream", "server", features={
    "upstream.weights": "server weights within an upstream",
    "upstream.backup": "backup servers used only when the others are down",
}, uses=_server_uses)
def server(v, stmt, out):
    a = stmt.args
    weight = v.integer(a["weight"], "server weight", default=1, low=1, high=1000) if a["weight"] else 1
    for text, span in v.strings(a["address"], "server address"):
        found = server_address(v, text, span, weight, a["backup"])
        if found:
            out["servers"].append(found)


@directive("upstream", "servers", args=("list",))
def servers(v, stmt, out):
    for text, span in v.strings(stmt.args["list"], "servers"):
        found = server_address(v, text, span)
        if found:
            out["servers"].append(found)


SERVICE = re.compile(r"([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?):([0-9]{1,5})")


@directive("upstream", "service", args=("address",), once="service",
           features={"upstream.service": "a Kubernetes Service named instead of servers (service \"NAME:PORT\")"},
           uses=lambda up: ["upstream.service"] if any(s.service for s in up.servers) else [])
def service(v, stmt, out):
    text = v.string(stmt.args["address"], "service")
    if text is None:
        return
    m = SERVICE.fullmatch(text)
    if not m:
        v.sink.error("E202", f"service '{text}' is not NAME:PORT of a Kubernetes Service", stmt.args["address"].span,
                     hint='a Service name (lower-case letters, digits and "-", starting with a letter, at most 63) '
                          'and its port, like "users:8080"')
        return
    port = int(m.group(2))
    if not 1 <= port <= 65535:
        v.sink.error("E201", f"port {port} is out of range (1..65535)", stmt.args["address"].span)
        return
    out["servers"].append(ir.Server(m.group(1), port, service=True))


def status_range(v, pair) -> tuple[int, int]:
    if not pair:
        return DEFAULT_HEALTH["expect"]
    low, high = pair
    if not (100 <= low.value <= high.value <= 599):
        v.sink.error("E212", f"status range {low.value}-{high.value} is not within 100-599, low to high",
                     low.span)
        return DEFAULT_HEALTH["expect"]
    return (low.value, high.value)


@directive("upstream", "health", features={"upstream.health_check": "active health checks"},
           uses=lambda up: ["upstream.health_check"] if up.health else [])
def health(v, stmt, out):
    a = stmt.args
    out["health"] = ir.HealthCheck(
        method=a["method"].value.upper(),
        path=v.path(a["path"], "health check path", with_query=True),
        interval_ms=a["every"].value if a.get("every") else DEFAULT_HEALTH["interval_ms"],
        timeout_ms=a["timeout"].value if a.get("timeout") else DEFAULT_HEALTH["timeout_ms"],
        unhealthy_threshold=v.integer(a.get("unhealthy"), "unhealthy threshold",
                                      default=DEFAULT_HEALTH["unhealthy"], low=1, high=100),
        healthy_threshold=v.integer(a.get("healthy"), "healthy threshold",
                                    default=DEFAULT_HEALTH["healthy"], low=1, high=100),
        expect_status=status_range(v, a.get("expect")),
    )


def _passive_uses(up: ir.Upstream):
    if up.passive.max_fails:
        yield "upstream.passive_check"
        if up.passive.statuses:
            yield "upstream.passive_check.statuses"


@directive("upstream", "passive", args=("max_fails", "fail_timeout", "*on"), features={
    "upstream.passive_check": "passive ejection after failures (max_fails / fail_timeout)",
    "upstream.passive_check.statuses": "passive ejection counting a server's error answers (passive ... on 5xx)",
}, uses=_passive_uses, default=lambda up: up.passive == DEFAULT_PASSIVE)
def passive(v, stmt, out):
    a = stmt.args
    statuses: list[int] = []
    for cond in a["on"]:
        if cond.value == "5xx":
            statuses.extend(ir.STATUSES_5XX)
        elif cond.kind == "int" and 500 <= cond.value <= 599:
            statuses.append(cond.value)
        else:
            v.sink.error("E221", f"'{cond.raw}' is not a server error a passive check can count", cond.span,
                         hint="use 5xx or status codes 500-599 (502 503 504)")
    out["passive"] = ir.PassiveCheck(
        max_fails=v.integer(a["max_fails"], "max_fails", default=1, low=0, high=1000),
        fail_timeout_ms=a["fail_timeout"].value if a["fail_timeout"] else DEFAULT_PASSIVE.fail_timeout_ms,
        statuses=tuple(sorted(set(statuses))))


@directive("upstream", "circuit_breaker", args=("max_connections", "max_pending"), once="circuit_breaker",
           features={"upstream.circuit_breaker": "at most N connections to the servers, a bounded queue, "
                                                 "503 beyond it"},
           uses=lambda up: ["upstream.circuit_breaker"] if up.circuit_breaker else [])
def circuit_breaker(v, stmt, out):
    a = stmt.args
    out["circuit_breaker"] = ir.CircuitBreaker(
        max_connections=v.integer(a["max_connections"], "max_connections", default=1, low=1, high=1_000_000),
        max_pending=v.integer(a["max_pending"], "max_pending", default=ir.DEFAULT_MAX_PENDING, low=0, high=1_000_000))


@directive("upstream", "sticky", args=("cookie", "ttl"),
           features={"upstream.sticky_cookie": "cookie-based session persistence"},
           uses=lambda up: ["upstream.sticky_cookie"] if up.sticky else [])
def sticky(v, stmt, out):
    a = stmt.args
    cookie = v.string(a["cookie"], "sticky cookie name", default="")
    if cookie and not COOKIE_NAME.match(cookie):
        v.sink.error("E221", f"'{cookie}' is not a valid cookie name", a["cookie"].span,
                     hint="use letters, digits and - _ only")
    out["sticky"] = ir.Sticky(cookie, a["ttl"].value if a["ttl"] else 0)


@directive("upstream", "keepalive", args=("connections", "idle"),
           features={"upstream.keepalive": "keep-alive connection pool to the servers"},
           uses=lambda up: ["upstream.keepalive"],
           default=lambda up: up.keepalive == ir.Keepalive(DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS))
def keepalive(v, stmt, out):
    a = stmt.args
    out["keepalive"] = ir.Keepalive(
        v.integer(a["connections"], "keepalive connections", default=DEFAULT_KEEPALIVE_CONNECTIONS,
                  low=0, high=100_000),
        a["idle"].value if a["idle"] else DEFAULT_KEEPALIVE_IDLE_MS)


def timeout(v, stmt, out):
    field_name = stmt.kind.replace("_timeout", "_ms")
    out["timeouts"] = ir.UpstreamTimeouts(**{**out["timeouts"].__dict__, field_name: stmt.args["duration"].value})


directive("upstream", "connect_timeout",
          features={"upstream.timeouts": "connect / read / send timeouts to the servers"},
          uses=lambda up: ["upstream.timeouts"], default=lambda up: up.timeouts == DEFAULT_TIMEOUTS)(timeout)
directive("upstream", "read_timeout")(timeout)
directive("upstream", "send_timeout")(timeout)


def _tls_uses(up: ir.Upstream):
    if up.tls:
        yield "upstream.tls"
        if not up.tls.verify:
            yield "upstream.tls.no_verify"
        if up.tls.cert:
            yield "upstream.tls.client_cert"


@directive("upstream", "up_tls", args=("ca", "sni", "verify", "cert", "key"), once="tls",
           features={"upstream.tls": "TLS to the servers: their certificate checked against a CA and a name (SNI)",
                     "upstream.tls.no_verify": "TLS to the servers without checking their certificate (verify off)",
                     "upstream.tls.client_cert": "the edge's own certificate presented to the servers (cert, key)"},
           uses=_tls_uses)
def up_tls(v, stmt, out):
    a = stmt.args
    verify = a["verify"] is None or a["verify"].value == "on"
    ca = v.string(a["ca"], "upstream CA file") if a["ca"] is not None else None
    if verify and ca is None:
        v.sink.error("E221", "tls to an upstream that verifies its servers needs the CA they chain to", stmt.span,
                     hint='add ca "/etc/edge/backend-ca.pem" (the system\'s bundle on Debian: '
                          '"/etc/ssl/certs/ca-certificates.crt"), or write verify off')
    sni = v.hostname(a["sni"], "upstream sni") if a["sni"] is not None else None
    out["tls"] = ir.UpstreamTls(ca=ca, sni=sni, verify=verify,
                                cert=v.string(a["cert"], "upstream client cert") if a["cert"] is not None else None,
                                key=v.string(a["key"], "upstream client key") if a["key"] is not None else None)
