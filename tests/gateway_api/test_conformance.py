"""The shared conformance corpus through Envoy Gateway's own translator and the real Envoy:
each corpus file built with -O impl=envoy-gateway, translated by `egctl x translate` into
the xDS resources Envoy Gateway would serve, run as a static bootstrap, and driven with
the corpus' requests. Every case passes or is skipped with a reason from the gateway-api
target's envoy-gateway capability table."""
from __future__ import annotations

import pytest

from edgec.harness.driver import failures
from edgec.harness.echo import EchoServer
from edgec.harness.gateways import Envoy
from edgec.targets import get, yaml_text
from edgec.targets.gateway_api.capabilities import ENVOY_GATEWAY, PATH_NOTE
from tests.conformance import corpus
from tests.conftest import free_port

from .support import build
from .translate import bootstrap, translate

FILES = corpus.files()


def profile():
    target = get("gateway-api")
    target.capabilities = ENVOY_GATEWAY
    return target


def skip_reason(edge, case) -> str | None:
    reason = corpus.skip_reason(profile(), edge, case)
    if reason is None and corpus.unnormalised(case.request(edge)):
        reason = f"gateway-api: {PATH_NOTE}"
    return reason


@pytest.mark.parametrize("casefile", FILES, ids=[f.path.rsplit("/", 1)[-1] for f in FILES])
def test_corpus(casefile, tmp_path):
    edge = corpus.edge_of(casefile)
    skipped = {c.name: skip_reason(edge, c) for c in casefile.cases}
    if all(skipped.values()):
        pytest.skip(next(iter(skipped.values())))
    echoes = {name: EchoServer(name).start() for name in corpus.upstream_names(edge)}
    try:
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = corpus.with_listener_ports(corpus.with_servers(edge, corpus.server_addresses(casefile, echoes)),
                                          ports)
        files, diagnostics = build(live, {"impl": "envoy-gateway"})
        assert files is not None, [d.message for d in diagnostics]
        tls = (corpus.tls_dir() / "cert.pem").read_bytes(), (corpus.tls_dir() / "key.pem").read_bytes()
        admin_port = free_port()
        config = tmp_path / "envoy.yaml"
        config.write_text(yaml_text.dump([bootstrap(translate(files["manifests.yaml"], tmp_path, tls=tls),
                                                    admin_port, tls)], "translated by egctl"), encoding="utf-8")
        with Envoy(config, list(ports.values()), admin_port):
            assert not failures(casefile.cases, skipped, echoes, ports)
    finally:
        for e in echoes.values():
            e.stop()


def test_every_skip_names_a_capability_table_reason():
    """Skips come only from the capability table, never from a list kept here."""
    reasons = {skip_reason(corpus.edge_of(c), c) for f in FILES for c in f.cases}
    for reason in reasons - {None}:
        assert reason.startswith("gateway-api"), reason
