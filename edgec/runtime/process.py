"""Listeners and the process life cycle: `--workers N` processes sharing each port with
SO_REUSEPORT, reload on SIGHUP (a config that does not compile is refused and the old one
keeps serving), graceful shutdown on SIGTERM/SIGINT (stop accepting, let requests in
flight finish, close idle keep-alive connections).

The runtime compiles nothing itself: `edgec run` hands it a loader (the config, compiled
anew at start and on each SIGHUP) and a secret resolver."""
from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import signal
import ssl
import sys
import time
from dataclasses import dataclass
from typing import Callable

from .. import ir
from . import devcert
from .gateway import Gateway
from .metrics import Metrics
from .shared_metrics import Slot, make_directory, remove_directory
from .server import ClientConnection, Listening, TlsClientConnection
from .timers import Clock

log = logging.getLogger("edgec.runtime")


class ConfigError(Exception):
    """A config that cannot be served; the message is for the operator."""


@dataclass
class Options:
    name: str  # the config, as log lines name it (its file)
    # the config compiled now, at start and on each SIGHUP: it reports the diagnostics and
    # raises ConfigError when there is nothing to serve
    load: Callable[[], ir.Edge]
    resolve_secret: Callable[[ir.Secret], str]  # KeyError: not set
    workers: int = 1
    redis_url: str | None = None
    drain_s: float = 30.0
    cache_max_bytes: int = 64 * 1024 * 1024


def tls_context(tls: ir.Tls, http2: bool = False, client: ir.ClientCert | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if tls.min_version == "1.3" else ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"cannot load the certificate {tls.cert} and key {tls.key}: "
                          f"{getattr(err, 'strerror', None) or err}") from None
    if client is not None:
        try:
            ctx.load_verify_locations(cafile=client.ca)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"cannot load the client CA bundle {client.ca}: "
                              f"{getattr(err, 'strerror', None) or err}") from None
        # optional: a client without a certificate is served, one with an untrusted one is not
        ctx.verify_mode = ssl.CERT_REQUIRED if client.required else ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
    return ctx


def _resolver(options: Options):
    def resolve(secret: ir.Secret) -> str:
        try:
            return options.resolve_secret(secret)
        except KeyError:
            raise ConfigError(f"secret '{secret.secret}' is not set: define the environment variable "
                              f"{secret.secret} or a file of that name in --secrets-dir") from None
    return resolve


def build_gateway(edge: ir.Edge, options: Options, clock, metrics, redis=None) -> Gateway:
    """The serving form of `edge`, or ConfigError (a secret unset, a file unreadable)."""
    try:
        return Gateway(edge, clock, metrics, _resolver(options), redis, options.cache_max_bytes)
    except OSError as err:
        if err.filename == edge.observability.access_log.path:  # the one file the gateway writes
            hint = " (its directory must exist; \"-\" logs to standard output)" if err.errno == errno.ENOENT else ""
            raise ConfigError(f"cannot open the access log {err.filename} for writing: {err.strerror}{hint}") from None
        raise ConfigError(f"cannot read {err.filename}: {err.strerror}") from None


class Listener:
    """A listening socket and what its connections need: kept across reloads while the
    listener's statement is the same (a certificate renewed in place is loaded into it)."""

    def __init__(self, lst: ir.Listener, ctx: ssl.SSLContext | None, server: asyncio.AbstractServer):
        self.ir, self.ctx, self.server = lst, ctx, server


def _tls_contexts(edge: ir.Edge) -> dict[tuple, ssl.SSLContext]:
    """Every TLS listener's context, loaded now, so that a bad certificate refuses the config
    before anything changes. A `self_signed` listener whose files are missing gets a pair."""
    for lst in edge.listeners:
        if lst.tls and lst.self_signed:
            try:
                made = devcert.ensure(lst.tls, devcert.hosts_of(edge))
            except OSError as err:
                raise ConfigError(f"cannot write a self-signed certificate to {err.filename}: {err.strerror}") from None
            if made:
                log.warning("made a self-signed certificate for development: %s (key %s), valid %d days; "
                            "clients must be told to trust it (curl -k)", lst.tls.cert, lst.tls.key, devcert.VALID_DAYS)
    return {(lst.address, lst.port): tls_context(lst.tls, lst.http2, lst.client_cert) for lst in edge.listeners
            if lst.tls}


class Runtime:
    def __init__(self, options: Options, edge: ir.Edge, slot: Slot | None = None):
        self.options = options
        # the process is this runtime's (serve_one): what a load builds is frozen for the cyclic
        # collector once it is built (_freeze_loaded), not in a runtime inside another program
        self.freezes = False
        self.edge = edge
        self.slot = slot  # this worker's place among the workers whose metrics a scrape sums
        self.clock = Clock()
        self.metrics = Metrics()
        self.connections: set[ClientConnection] = set()
        self.draining = False
        self.listeners: dict[tuple[str, int], Listener] = {}  # by (address, port)
        self.redis = None
        self.gateway: Gateway | None = None
        self.stopped: asyncio.Future | None = None
        self.reloading = False

    async def _gateway(self, edge: ir.Edge) -> Gateway:
        gw = build_gateway(edge, self.options, self.clock, self.metrics, self.redis)
        if gw.metrics_path is not None:
            self.metrics.registry()  # the library loaded now rather than during the first scrape
        await gw.start()
        return gw

    async def _listen(self, lst: ir.Listener, ctx: ssl.SSLContext | None) -> Listener:
        subject = lst.client_cert.header if lst.client_cert and ctx is not None else None
        listening = Listening(self, lst.protocol, lst.port,
                              lst.hsts.header_value.encode() if lst.hsts and ctx is not None else None,
                              subject.lower().encode("latin-1") if subject else None)
        if ctx is not None and lst.http2:  # (http2 without TLS is refused by lint, E207)
            from .h2conn import negotiating  # h2 is imported only by an edge that serves HTTP/2
            factory = negotiating(listening)  # ALPN: h2, or HTTP/1.1 for clients without it
        else:
            connection = ClientConnection if ctx is None else TlsClientConnection
            factory = lambda li=listening: connection(li)  # noqa: E731
        server = await asyncio.get_running_loop().create_server(
            factory, lst.address, lst.port, ssl=ctx, reuse_port=self.options.workers > 1, backlog=4096)
        return Listener(lst, ctx, server)

    async def _switch_listeners(self, edge: ir.Edge, contexts: dict) -> None:
        """Make the listening sockets those of `edge` (at start, from none): unchanged ones stay
        (their certificate reloaded), new ones open, removed ones close (their connections
        finish). A port that cannot be opened refuses the whole change, and whatever it opened
        is closed again."""
        wanted = {(lst.address, lst.port): lst for lst in edge.listeners}
        kept, opened, replaced = {}, {}, {}
        try:
            for key, lst in wanted.items():
                old = self.listeners.get(key)
                if old is not None and old.ir == lst:
                    kept[key] = old
                elif old is None:
                    opened[key] = await self._listen(lst, contexts.get(key))
                else:
                    replaced[key] = lst  # same port, another protocol: after the new ports are open
        except OSError as err:
            for listener in opened.values():
                listener.server.close()
            raise ConfigError(f"cannot listen: {err.strerror or err}") from None
        for listener in kept.values():
            if listener.ctx is not None:
                listener.ctx.load_cert_chain(listener.ir.tls.cert, listener.ir.tls.key)  # checked above
        for key, listener in self.listeners.items():
            if key not in kept:
                listener.server.close()
        for key, lst in replaced.items():
            try:
                opened[key] = await self._listen(lst, contexts.get(key))
            except OSError as err:  # the port was just released: only another program can hold it
                log.error("listener %s:%s: cannot listen again: %s", lst.address, lst.port, err.strerror or err)
        self.listeners = {**kept, **opened}

    async def run(self, signals: bool = True) -> None:
        """Serve until shutdown(); `signals=False` for a runtime inside another program (tests)."""
        loop = asyncio.get_running_loop()
        self.stopped = loop.create_future()
        if self.options.redis_url:
            import redis.asyncio as aioredis
            # a Redis that stops answering must not hold requests: past the timeout the
            # in-process bucket decides (ratelimit.RedisLimiter)
            self.redis = aioredis.from_url(self.options.redis_url, socket_connect_timeout=REDIS_TIMEOUT_S,
                                           socket_timeout=REDIS_TIMEOUT_S)
        self.clock.start()
        self.gateway = await self._gateway(self.edge)
        self.metrics.gateway = self.gateway
        if self.slot is not None:
            self.metrics.share(self.slot, self.clock)
        contexts = _tls_contexts(self.edge)
        if self.freezes:
            gc.freeze()  # imports, the config and its gateway: nothing of them is garbage yet
            gc.enable()  # (serve disabled it: a pass before the freeze would walk all of them)
        await self._switch_listeners(self.edge, contexts)  # from none: every one opens
        if signals:
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.shutdown()))
            # a worker told to stop or reload while it was still starting does so now
            if _held & {signal.SIGTERM, signal.SIGINT}:
                asyncio.ensure_future(self.shutdown())
            elif signal.SIGHUP in _held:
                asyncio.ensure_future(self.reload())
        names = ", ".join(f"{lst.protocol}://{lst.address}:{lst.port}" for lst in self.edge.listeners)
        log.warning("edgec run: serving '%s'%s on %s (pid %d)", self.edge.name,
                    f" env {self.edge.env}" if self.edge.env else "", names, os.getpid())
        await self.stopped

    async def reload(self) -> None:
        if self.reloading or self.draining:
            return
        self.reloading = True
        if self.freezes:
            gc.disable()  # until the new config is built and frozen: a pass meanwhile would walk it
        try:
            try:
                edge = await asyncio.get_running_loop().run_in_executor(None, self.options.load)
                contexts = _tls_contexts(edge)
                new = await self._gateway(edge)
                try:
                    await self._switch_listeners(edge, contexts)
                except ConfigError:
                    new.stop()
                    raise
            except ConfigError as err:
                log.error("reload refused, the running config keeps serving: %s", err)
                return
            old, self.gateway, self.edge = self.gateway, new, edge
            self.metrics.gateway = new
            old.stop()
            del old
            log.warning("reloaded %s", self.options.name)
            if self.freezes:
                await asyncio.sleep(0)  # the old gateway's cancelled tasks end, and let go of it
                _freeze_loaded()
        finally:
            self.reloading = False
            if self.freezes:
                gc.enable()

    async def shutdown(self) -> None:
        if self.draining:
            return
        self.draining = True
        for listener in self.listeners.values():
            listener.server.close()
        for conn in list(self.connections):
            if not conn.queue and not conn.in_head:
                conn.transport.close()
        deadline = time.monotonic() + self.options.drain_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.transport.abort()
        self.gateway.stop()
        self.clock.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if not self.stopped.done():
            self.stopped.set_result(None)


_GC_GEN0 = 20_000
REDIS_TIMEOUT_S = 0.5


def _freeze_loaded() -> None:
    """After a reload: the frozen objects thawed (the previous config's among them: its gateway
    holds reference cycles, which only a collection frees), one full collection, and what lives
    frozen again. The collector walks the new config this once, at the reload, instead of at
    every later full collection (at 10,000 routes each took 0.1-0.3 s); with no thaw, the old
    configs' cycles would stay frozen, reload after reload."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _new_loop():
    try:
        import uvloop
        return uvloop.new_event_loop()
    except ImportError:  # uvloop is optional: the stock loop is slower, not different
        return asyncio.new_event_loop()


def serve_one(runtime: Runtime) -> int:
    """The process serves `runtime` until it stops (the runtime alone holds its config: once a
    reload replaces it, nothing keeps the first one)."""
    # What the imports, the compile and the gateway built lives until a reload: frozen
    # (Runtime.freezes), the cyclic collector stops rescanning it. Requests make short-lived
    # containers and almost no cycles, so a larger first generation lets most die before a
    # pass has to look at them.
    runtime.freezes = True
    gc.set_threshold(_GC_GEN0, *gc.get_threshold()[1:])
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(runtime.run())
    except ConfigError as err:  # a secret, a file, a certificate, a port taken or not ours to bind
        log.error("%s", err)
        _abandon(loop, runtime)
        return 1
    finally:
        loop.close()
    return 0


def _abandon(loop, runtime: Runtime) -> None:
    """After a start that failed half-way: stop what had started (health checks, JWKS fetches,
    the clock) and let the cancelled tasks end, so that the one message above is all one sees."""
    if runtime.gateway is not None:
        runtime.gateway.stop()
    runtime.clock.stop()
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def serve(options: Options) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s edgec[%(process)d] %(message)s",
                        stream=sys.stderr)
    # no collection until what the start builds is frozen (Runtime.run, or _supervise before the
    # workers fork): the first, right after the compile, would walk all it built
    gc.disable()
    try:
        edge = options.load()
    except ConfigError as err:
        log.error("%s", err)
        return 1
    if options.workers > 1:
        return _supervise(options, edge)
    runtime = Runtime(options, edge)
    del edge
    return serve_one(runtime)


_RELAYED = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
_held: set[int] = set()  # relayed signals a worker received before its event loop handled them


def _hold_until_started(sig, _frame) -> None:
    _held.add(sig)


def _supervise(options: Options, edge: ir.Edge) -> int:
    """The parent of N workers: relays SIGHUP and SIGTERM, replaces a worker that dies (in the
    same slot, so it counts on from that slot's published metrics)."""
    children: dict[int, int] = {}
    stopping = False
    directory = make_directory()
    serving = edge  # what a worker started now serves: the last config a reload accepted

    def spawn(slot: int) -> None:
        # a signal arriving between fork and the worker's own handlers would run the
        # supervisor's handler in the worker (which then never stops): held back until then
        signal.pthread_sigmask(signal.SIG_BLOCK, _RELAYED)
        pid = os.fork()
        if pid == 0:
            # until its event loop handles signals, a worker remembers a stop or a reload (one
            # relayed while it starts would otherwise leave it serving the config it forked with)
            for sig in _RELAYED:
                signal.signal(sig, _hold_until_started)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _RELAYED)
            code = 1
            try:
                code = serve_one(Runtime(options, serving,
                                         Slot(directory, slot, options.workers) if directory else None))
            except BaseException:  # noqa: BLE001 (never unwind into the supervisor's code in a worker)
                log.exception("worker %d failed", os.getpid())
            os._exit(code)
        children[pid] = slot  # before a held-back signal is relayed, so that it reaches this worker too
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _RELAYED)

    def relay(sig, _frame):
        nonlocal stopping, serving
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping = True
        elif sig == signal.SIGHUP:
            # the workers reload on their own; a worker started later must serve what they do
            try:
                edge = options.load()
                build_gateway(edge, options, Clock(), Metrics())
                serving = edge
            except ConfigError:
                pass  # every worker refuses it too, and says why
        for pid in list(children):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    for sig in _RELAYED:
        signal.signal(sig, relay)
    # the config every worker starts from, frozen before they fork: a worker's collections never
    # walk it, nor write to (and so copy) the pages it shares with this process
    gc.freeze()
    gc.enable()
    status = 0
    try:
        for slot in range(options.workers):
            spawn(slot)
        while children:
            try:
                pid, code = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            slot = children.pop(pid, None)
            if slot is None:
                continue
            if not stopping:
                log.error("worker %d exited (%d); starting another", pid, code)
                time.sleep(0.2)
                if not stopping:  # a stop relayed during the pause would not reach a worker started after it
                    spawn(slot)
            elif os.waitstatus_to_exitcode(code):
                status = 1
    finally:
        remove_directory(directory)
    return status
