"""`auth external`: each request is put to an authorization service (the meaning is
ir.ExternalAuth's). The check goes over a keep-alive pool of its own, the same machinery
upstreams use, and is a coroutine: asking another service is the slow path."""
from __future__ import annotations

import asyncio
import logging

from .. import ir
from .aggregate import UpstreamError, fetch
from .auth import Allow, Reject

log = logging.getLogger("edgec.runtime")

class ExternalChecker:
    def __init__(self, auth: ir.ExternalAuth, upstream):
        self.auth = auth
        self.upstream = upstream  # gateway.UpstreamRuntime of auth.service
        self.forward = [h.lower().encode("latin-1") for h in auth.check_headers]
        self.copy = [h.lower().encode("latin-1") for h in auth.copy_headers]
        self.timeout_s = auth.timeout_ms / 1000
        self.failed = Reject(ir.EXTERNAL_AUTH_ERROR_STATUS, "authorization service unavailable")

    def check(self, ex):
        return self._ask(ex)

    async def _ask(self, ex) -> Allow | Reject:
        target = self.auth.path + ex.path + ("?" + ex.query if ex.query else "")
        lines = [f"{ex.method} {target} HTTP/1.1\r\nHost: {ex.host}\r\n".encode("latin-1")]
        for name in self.forward:
            # the request id the check carries is the edge's, the one the backend gets
            value = ex.request_id if name == b"x-request-id" else ex.hb.get(name)
            if value is not None:
                lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"Content-Length: 0\r\n\r\n")
        try:
            # the timeout is one deadline over connecting to the service and its answer
            async with asyncio.timeout(self.timeout_s):
                status, headers, _ = await fetch(self.upstream, b"".join(lines), ex.method == "HEAD", None)
        except (TimeoutError, UpstreamError) as err:
            log.warning("auth %s: the authorization service failed (%s)", self.auth.name,
                        getattr(err, "kind", "timeout"))
            return self.failed
        if 200 <= status < 300:
            wanted = set(self.copy)
            return Allow(headers=[(n, v) for n, v in headers if n.lower() in wanted], replaces=self.copy)
        if status in ir.EXTERNAL_AUTH_DENY_STATUSES:
            return Reject(status, "denied by the authorization service")
        log.warning("auth %s: the authorization service answered %d", self.auth.name, status)
        return self.failed
