"""Names in the generated project: LoadBalancer service ids, bean and method names.

Each is derived from an edge name, made unique, and fixed for the whole emission so
that every file refers to the same thing by the same name.
"""
from __future__ import annotations

import re

from edgec import ir

from .java import identifier


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


class Names:
    def __init__(self, edge: ir.Edge):
        taken: set[str] = set()
        # `lb://` ids must be host names: java.net.URI has no host for `orders_v2`
        self.services = {u.name: _unique(re.sub(r"[^a-z0-9-]+", "-", u.name.lower()).strip("-") or "upstream",
                                         taken) for u in edge.upstreams}
        methods: set[str] = set()
        self.auth = {a.name: _unique(identifier(f"{a.kind} {a.name}"), methods) for a in edge.auth}
        beans: set[str] = set()
        self.key_resolvers: dict[tuple[str, str | None], str] = {}
        keys = sorted({(r.rate_limit.key.source, r.rate_limit.key.name) for r in edge.routes if r.rate_limit},
                      key=lambda k: (k[0] != "client_ip", k[0], k[1] or ""))
        for source, name in keys:
            self.key_resolvers[(source, name)] = _unique(identifier(f"{source} {name or ''} key"), beans)

    def service(self, upstream: str) -> str:
        return self.services[upstream]

    def auth_method(self, provider: str) -> str:
        return self.auth[provider]
