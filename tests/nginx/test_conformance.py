"""The shared conformance corpus through the real nginx: one nginx per corpus file, every
case passes or is skipped with the nginx capability-table reason; gixy finds nothing in
any of the configs."""
from __future__ import annotations

import pytest

from tests.conformance import corpus
from edgec.harness.driver import failures
from tests.conftest import free_port
from edgec.harness.echo import EchoServer

from .support import Nginx, build, fresh, gixy, write
from .test_samples import GIXY_SKIPS

FILES = corpus.files()
WITH_HOSTS = [f for f in FILES if any(m.hosts for r in corpus.edge_of(f).routes for m in r.matches)]


@pytest.mark.parametrize("casefile", FILES, ids=[f.path.rsplit("/", 1)[-1] for f in FILES])
def test_corpus(casefile, tmp_path):
    run_corpus_file(casefile, tmp_path)


@pytest.mark.parametrize("casefile", WITH_HOSTS, ids=[f.path.rsplit("/", 1)[-1] for f in WITH_HOSTS])
def test_corpus_with_one_server_for_every_host(casefile, tmp_path, monkeypatch):
    """Large configs test the host per request in one server instead of a server per host
    name: the same cases hold there."""
    from edgec.targets.nginx import plan
    monkeypatch.setattr(plan, "SPLIT_LIMIT", -1)
    run_corpus_file(casefile, tmp_path)


def run_corpus_file(casefile, tmp_path):
    edge = corpus.edge_of(casefile)
    skipped = {c.name: corpus.skip_reason("nginx", edge, c) for c in casefile.cases}
    if all(skipped.values()):
        pytest.skip(next(iter(skipped.values())))
    echoes = {name: EchoServer(name).start() for name in corpus.upstream_names(edge)}
    try:
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = corpus.with_listener_ports(corpus.with_servers(edge, corpus.server_addresses(casefile, echoes)),
                                          ports)
        files, diagnostics = build(live)
        assert files is not None, [d.message for d in diagnostics]
        prefix = write(files, fresh(tmp_path / "nginx"))
        # gixy on the config as declared: it takes any listen port containing "443" for TLS
        declared, _ = build(edge)
        assert gixy(write(declared, fresh(tmp_path / "declared")), tuple(GIXY_SKIPS)) == []
        with Nginx(prefix, list(ports.values())):
            assert not failures(casefile.cases, skipped, echoes, ports)
    finally:
        for e in echoes.values():
            e.stop()


def test_every_skip_names_a_capability_table_reason():
    """Skips come only from the capability table, never from a list kept here."""
    reasons = {corpus.skip_reason("nginx", corpus.edge_of(c), c) for f in FILES for c in f.cases}
    for reason in reasons - {None}:
        assert reason.startswith("nginx"), reason
