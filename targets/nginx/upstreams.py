"""upstream blocks: balancing, servers, stickiness, keep-alive, and the retry pools.

nginx retries only on another entry of an upstream block, so a route that retries more
often than the upstream has servers proxies to a pool that lists each server several
times (`NAME__retryN`).
"""
from __future__ import annotations

import ipaddress
import math

from edgec import ir

from .capabilities import STICKY_OSS
from .conf import D, Expr, Var, duration, expr, header_var
from .variables import Variables


class Upstreams:
    def __init__(self, edge: ir.Edge, version: tuple[int, int, int], resolver: str | None, variables: Variables):
        self.edge = edge
        self.version = version
        self.resolver = resolver
        self.vars = variables
        self.by_name = {u.name: u for u in edge.upstreams}
        self._primaries = {u.name: len(_primary(u)) for u in edge.upstreams}  # asked once per route
        self.retry_pools: dict[tuple[str, int], str] = {}  # (upstream, tries) → pool name

    def blocks(self) -> list[D]:
        """Every upstream with servers, then the retry pools routes asked for (name_for)."""
        out = [self.block(u) for u in self.edge.upstreams if u.servers]
        return out + [self.retry_block(name, tries) for (name, tries) in sorted(self.retry_pools)]

    def name_for(self, name: str, route: ir.Route) -> str:
        """The upstream block a route proxies to: a retry pool when it retries more often
        than the upstream has primary servers."""
        tries = route.retry.attempts + 1 if route.retry.attempts else 1
        if tries <= self._primaries[name]:
            return name
        key = (name, tries)
        if key not in self.retry_pools:
            self.retry_pools[key] = f"{name}__retry{tries}"
        return self.retry_pools[key]

    def block(self, up: ir.Upstream, repeat: int = 1, name: str | None = None) -> D:
        # in a retry pool every server is listed several times: passive ejection would take
        # the copies out one by one after the retries it is there for, so it is off
        passive = up.passive if repeat == 1 else ir.PassiveCheck(0, up.passive.fail_timeout_ms)
        body: list[D] = [D("zone", name or up.name, "64k"), *self.balance(up)]
        for server in up.servers:
            args = self.server_args(server, passive, _max_conns(up, repeat))
            body += [D("server", *args) for _ in range(repeat)]
        if up.sticky and self.version >= STICKY_OSS:
            s = up.sticky
            args = ["cookie", s.cookie] + ([f"expires={duration(s.ttl_ms)}"] if s.ttl_ms else []) + [f"path={s.path}"]
            body.append(D("sticky", *args))
        if up.keepalive.connections:
            body.append(D("keepalive", up.keepalive.connections))
            body.append(D("keepalive_timeout", duration(up.keepalive.idle_timeout_ms)))
        return D("upstream", name or up.name, block=body)

    def balance(self, up: ir.Upstream) -> list[D]:
        if up.sticky and self.version >= STICKY_OSS:
            return []  # the OSS sticky directive comes after the servers
        if up.sticky:
            return [D("hash", Expr("$" + self.sticky_key(up)), "consistent",
                      comment=f"sticky cookie {up.sticky.cookie}: NGINX Plus before 1.29.6; the cookie value is "
                              "hashed instead (set on first visit)")]
        if up.balance in ("least_conn", "ip_hash", "random"):
            return [D(up.balance)]
        if up.balance == "hash":
            hk = up.hash_key or ir.HashKey("uri")
            key = {"header": lambda: "$" + header_var(hk.name or ""), "cookie": lambda: "$cookie_" + (hk.name or ""),
                   "client_ip": lambda: "$remote_addr", "uri": lambda: "$request_uri"}[hk.source]()
            return [D("hash", Expr(key), "consistent")]
        return []

    def server_args(self, server: ir.Server, passive: ir.PassiveCheck, max_conns: int = 0) -> list[str]:
        args = [server.address]
        if server.weight != 1:
            args.append(f"weight={server.weight}")
        if max_conns:
            args.append(f"max_conns={max_conns}")
        args.append(f"max_fails={passive.max_fails}")
        if passive.max_fails:
            args.append(f"fail_timeout={duration(passive.fail_timeout_ms)}")
        if server.backup:
            args.append("backup")
        if self.resolver and self.version >= (1, 27, 3) and not is_ip(server.host):
            args.append("resolve")
        return args

    def retry_block(self, name: str, tries: int) -> D:
        up = self.by_name[name]
        repeat = math.ceil(tries / len(_primary(up)))
        d = self.block(up, repeat, self.retry_pools[(name, tries)])
        d.comment = (f"{name} with each server listed {repeat} times: nginx retries only on another entry, "
                     f"and a route retries up to {tries - 1} time{'s' if tries > 2 else ''} here")
        return d

    def sticky_key(self, up: ir.Upstream) -> str:
        cookie = up.sticky.cookie  # type: ignore[union-attr]
        return self.vars.define(("sticky", up.name), lambda n: D(
            "map", Expr("$cookie_" + cookie), Expr("$" + n), block=[
                D("", Expr("$request_id")), D("default", Expr("$cookie_" + cookie))]))

    def sticky_cookie(self, up: ir.Upstream) -> str:
        """The Set-Cookie value a hashed stickiness (before 1.29.6) sends on a first visit."""
        s = up.sticky
        attrs = f"; Path={s.path}" + (f"; Max-Age={s.ttl_ms // 1000}" if s.ttl_ms else "") + "; HttpOnly"
        key = self.sticky_key(up)
        return self.vars.define(("setcookie", up.name), lambda n: D(
            "map", Expr("$cookie_" + s.cookie), Expr("$" + n), block=[
                D("", expr(s.cookie + "=", Var(key), attrs)), D("default", "")]))


def _max_conns(up: ir.Upstream, repeat: int) -> int:
    """max_conns of each server entry: the upstream's connections shared out among its primary
    servers and each entry of a server in a retry pool (rounded up: never below what was written)."""
    if not up.circuit_breaker:
        return 0
    return math.ceil(up.circuit_breaker.max_connections / (len(_primary(up)) * repeat))


def _primary(up: ir.Upstream) -> list[ir.Server]:
    return [s for s in up.servers if not s.backup] or list(up.servers)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
