"""Fixtures: a real nginx serving an .edge source, with echo backends for its upstreams."""
from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import shutil
import ssl
from dataclasses import dataclass, field
import pytest

from edgec import ir
from edgec.pipeline import analyse
from tests.conformance.corpus import with_listener_ports
from edgec.harness.driver import Response
from tests.conftest import free_port
from edgec.harness.echo import EchoServer

from .support import Nginx, build, certificate, fresh, write

if shutil.which("nginx") is None:  # pragma: no cover - CI installs it (tests/run.sh)
    pytest.skip("nginx is not installed", allow_module_level=True)


@dataclass
class Reply(Response):
    """The conformance driver's Response, with the views the behaviour tests use."""

    def headers_named(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def echo(self) -> dict:
        return json.loads(self.body)


@dataclass
class Gateway:
    nginx: Nginx
    ports: dict[int, int]  # declared listener port → real port
    echoes: dict[str, EchoServer]
    files: dict[str, str]
    warnings: list = field(default_factory=list)

    def request(self, method: str, target: str, headers=(), port: int | None = None, https: bool = False,
                body: bytes | None = None, host: str = "edge.test") -> Reply:
        real = self.ports[port] if port is not None else next(iter(self.ports.values()))
        if https:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", real, timeout=10, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", real, timeout=10)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            names = {n.lower() for n, _ in headers}
            if "host" not in names:
                conn.putheader("Host", host)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return Reply(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def get(self, target: str, headers=(), **kw) -> Reply:
        return self.request("GET", target, headers, **kw)


def listener_port() -> int:
    """A free port whose number does not contain "443": gixy takes a `listen` whose arguments
    contain that text for a TLS server and reports its missing TLS settings."""
    while "443" in str(port := free_port()):
        pass
    return port


@pytest.fixture
def gateway(tmp_path):
    """gateway(source, env=None, options=None, secrets=None) → a running Gateway; every
    upstream of the source gets an echo backend named after it (one server each, unless
    `servers={name: n}` asks for more), except those named in `keep_servers`."""
    stack = contextlib.ExitStack()

    def start(source: str, env: str | None = None, options=None, secrets=None, servers=None,
              certs: tuple[bytes, bytes] | None = None, keep_servers=()) -> Gateway:
        result = analyse(source, "test.edge", env=env)
        assert result.edge is not None, [f"{d.line}:{d.column} {d.message}" for d in result.diagnostics]
        edge = result.edge
        echoes: dict[str, EchoServer] = {}
        addresses = {}
        for up in edge.upstreams:
            if up.name in keep_servers:
                continue
            count = (servers or {}).get(up.name, 1)
            for i in range(count):
                name = up.name if count == 1 else f"{up.name}{i + 1}"
                echoes[name] = stack.enter_context(EchoServer(name))
            addresses[up.name] = [echoes[up.name if count == 1 else f"{up.name}{i + 1}"].address
                                  for i in range(count)]
        ups = []
        for up in edge.upstreams:
            if up.name in keep_servers:
                ups.append(up)
                continue
            template = up.servers[0]
            ups.append(dataclasses.replace(up, servers=tuple(
                ir.Server("127.0.0.1", int(a.rsplit(":", 1)[1]), template.weight, template.backup)
                for a in addresses[up.name])))
        live = dataclasses.replace(edge, upstreams=tuple(ups))
        ports = {lst.port: listener_port() for lst in edge.listeners}
        live = with_listener_ports(live, ports)
        files, diagnostics = build(live, options, secrets)
        assert files is not None, [d.message for d in diagnostics]
        prefix = fresh(tmp_path / f"nginx{len(stack._exit_callbacks)}")
        write(files, prefix, certs or certificate())
        nginx = stack.enter_context(Nginx(prefix, list(ports.values())))
        return Gateway(nginx, ports, echoes, files, [d for d in diagnostics if d.severity == "warning"])

    try:
        yield start
    finally:
        stack.close()

