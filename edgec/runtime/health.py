"""Active health checks: each server of an upstream with a `health` block is probed every
interval on a fresh connection; `unhealthy` failures in a row take it out of rotation and
`healthy` successes in a row bring it back."""
from __future__ import annotations

import asyncio
import logging

from .. import ir
from .aggregate import Fetch, UpstreamError

log = logging.getLogger("edgec.runtime")


async def probe(state, check: ir.HealthCheck, host: str) -> bool:
    conn = None
    try:
        conn = await state.pool.connect()
        future = asyncio.get_running_loop().create_future()
        head = (f"{check.method} {check.path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                f"User-Agent: edgec-health\r\n\r\n").encode("latin-1")
        conn.send(Fetch(future), head, check.method == "HEAD", check.timeout_ms / 1000)
        status, _, _ = await future
        return check.expect_status[0] <= status <= check.expect_status[1]
    except (OSError, asyncio.TimeoutError, UpstreamError):
        return False
    finally:
        if conn is not None and conn.transport is not None:
            conn.transport.close()


async def _verdict(state, check: ir.HealthCheck) -> bool:
    """One probe within the check's timeout. The probe runs as its own task and is not
    waited for past the timeout, so a probe stuck anywhere cannot stall the checks."""
    task = asyncio.ensure_future(probe(state, check, state.server.host))
    done, _ = await asyncio.wait({task}, timeout=check.timeout_ms / 1000)
    if not done:
        task.cancel()
        return False
    return not task.cancelled() and task.exception() is None and task.result()


async def watch(upstream: ir.Upstream, state) -> None:
    check = upstream.health
    while True:
        if await _verdict(state, check):
            state.checks_ok += 1
            state.checks_bad = 0
            if not state.healthy and state.checks_ok >= check.healthy_threshold:
                state.healthy = True
                log.warning("upstream %s: server %s is healthy again", upstream.name, state.key)
        else:
            state.checks_bad += 1
            state.checks_ok = 0
            if state.healthy and state.checks_bad >= check.unhealthy_threshold:
                state.healthy = False
                log.warning("upstream %s: server %s failed %d health checks: out of rotation",
                            upstream.name, state.key, state.checks_bad)
        await asyncio.sleep(check.interval_ms / 1000)
