"""An edge served the way Envoy Gateway would serve it: built with -O impl=envoy-gateway,
translated by egctl (translate.py) and run on the real Envoy, every upstream one echo
backend on 127.0.0.1 at the Service port, and the Secrets a cluster would hold (the TLS
certificate, users and keys) given to the translator."""
from __future__ import annotations

from pathlib import Path

from edgec.harness.driver import Client
from edgec.harness.echo import EchoServer
from edgec.harness.gateways import Envoy
from edgec.pipeline import analyse
from edgec.targets import yaml_text
from tests.conformance import corpus
from tests.conftest import free_port

from .support import build
from .translate import bootstrap, translate


class Live(Client):
    def __init__(self, source: str, directory: Path, secrets: dict[str, dict[str, str]] | None = None,
                 env: str | None = None):
        result = analyse(source, "test.edge", env=env)
        assert result.edge is not None, [f"{d.line}:{d.column} {d.message}" for d in result.diagnostics]
        self.source_edge = result.edge
        self.directory = directory
        self.secrets = secrets or {}
        self.echoes: dict[str, EchoServer] = {}
        self.envoy: Envoy | None = None

    def __enter__(self) -> "Live":
        self.directory.mkdir(parents=True, exist_ok=True)
        edge = self.source_edge
        try:
            self.echoes = {u.name: EchoServer(u.name).start() for u in edge.upstreams}
            self.ports = {lst.port: free_port() for lst in edge.listeners}
            live = corpus.with_listener_ports(
                corpus.with_servers(edge, {n: e.address for n, e in self.echoes.items()}), self.ports)
            files, diagnostics = build(live, {"impl": "envoy-gateway"})
            assert files is not None, [d.message for d in diagnostics]
            self.files = files
            self.warnings = [d for d in diagnostics if d.severity == "warning"]
            tls = (corpus.TLS_DIR / "cert.pem").read_bytes(), (corpus.TLS_DIR / "key.pem").read_bytes()
            admin = free_port()
            config = self.directory / "envoy.yaml"
            dump = translate(files["manifests.yaml"], self.directory, tls=tls, secrets=self.secrets)
            config.write_text(yaml_text.dump([bootstrap(dump, admin, tls)], "translated by egctl"), encoding="utf-8")
            self.envoy = Envoy(config, list(self.ports.values()), admin).start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        for echo in self.echoes.values():
            echo.stop()
