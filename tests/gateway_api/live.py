"""An edge served the way Envoy Gateway would serve it: built with -O impl=envoy-gateway,
translated by egctl (translate.py) and run on the real Envoy, every upstream's echo
backends on loopback at the Service port, and the Secrets a cluster would hold (the TLS
certificate, users and keys) given to the translator."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from edgec import ir
from edgec.harness.driver import Client, send
from edgec.harness.echo import EchoServer
from edgec.harness.gateways import Envoy
from edgec.harness.processes import down_address
from edgec.pipeline import analyse
from edgec.targets import yaml_text
from tests.conformance import corpus
from tests.conftest import free_port

from .support import build
from .translate import bootstrap, translate


class Live(Client):
    def __init__(self, source: str, directory: Path, secrets: dict[str, dict[str, str]] | None = None,
                 env: str | None = None, servers: dict[str, int | str] | None = None):
        result = analyse(source, "test.edge", env=env)
        assert result.edge is not None, [f"{d.line}:{d.column} {d.message}" for d in result.diagnostics]
        self.source_edge = result.edge
        self.directory = directory
        self.secrets = secrets or {}
        # upstream → echo backends (`name1`, `name2`… when more than one), or "down": one server
        # nothing listens at
        self.servers = servers or {}
        self.echoes: dict[str, EchoServer] = {}
        self.envoy: Envoy | None = None

    def __enter__(self) -> "Live":
        self.directory.mkdir(parents=True, exist_ok=True)
        edge = self.source_edge
        try:
            ups = []
            for up in edge.upstreams:
                count = self.servers.get(up.name, 1)
                if count == "down":
                    host, port = down_address().rsplit(":", 1)
                    ups.append(dataclasses.replace(up, servers=(ir.Server(host, int(port)),)))
                    continue
                names = [up.name] if count == 1 else [f"{up.name}{i + 1}" for i in range(count)]
                # one port on 127.0.0.1, 127.0.0.2…: a Service's endpoints share its port
                for i, name in enumerate(names):
                    port = self.echoes[names[0]].port if i else 0
                    self.echoes[name] = EchoServer(name, f"127.0.0.{i + 1}", port).start()
                ups.append(dataclasses.replace(up, servers=tuple(
                    ir.Server(f"127.0.0.{i + 1}", self.echoes[name].port) for i, name in enumerate(names))))
            self.ports = {lst.port: free_port() for lst in edge.listeners}
            live = corpus.with_listener_ports(dataclasses.replace(edge, upstreams=tuple(ups)), self.ports)
            files, diagnostics = build(live, {"impl": "envoy-gateway"})
            assert files is not None, [d.message for d in diagnostics]
            self.files = files
            self.warnings = [d for d in diagnostics if d.severity == "warning"]
            tls = (corpus.tls_dir() / "cert.pem").read_bytes(), (corpus.tls_dir() / "key.pem").read_bytes()
            admin = self.admin_port = free_port()
            config = self.directory / "envoy.yaml"
            dump = translate(files["manifests.yaml"], self.directory, tls=tls, secrets=self.secrets)
            config.write_text(yaml_text.dump([bootstrap(dump, admin, tls)], "translated by egctl"), encoding="utf-8")
            self.envoy = Envoy(config, list(self.ports.values()), admin).start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def health(self) -> dict[str, str]:
        """Server address → Envoy's health flags for it ("healthy", "/failed_active_hc", …) in the
        clusters of the HTTPRoutes' rules (egctl routes to a Service's cluster IP: one address each)."""
        body = send("http", "127.0.0.1", self.admin_port, "GET", "/clusters", [("Host", "admin")]).body.decode()
        out = {}
        for line in body.splitlines():
            parts = line.split("::")
            if len(parts) == 4 and parts[0].startswith("httproute/") and parts[2] == "health_flags":
                out[parts[1]] = parts[3]
        return out

    def __exit__(self, *exc) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        for echo in self.echoes.values():
            echo.stop()
