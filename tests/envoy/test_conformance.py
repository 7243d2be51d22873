"""The shared conformance corpus through the real Envoy: one Envoy per corpus file, every
case passes or is skipped with a reason from the envoy capability table."""
from __future__ import annotations

import pytest

from tests.conformance import corpus
from edgec.harness.driver import failures
from tests.conftest import free_port
from edgec.harness.echo import EchoServer

from .support import Envoy, admin_options, build, write

FILES = corpus.files()


@pytest.mark.parametrize("casefile", FILES, ids=[f.path.rsplit("/", 1)[-1] for f in FILES])
def test_corpus(casefile, tmp_path):
    edge = corpus.edge_of(casefile)
    skipped = {c.name: corpus.skip_reason("envoy", edge, c) for c in casefile.cases}
    if all(skipped.values()):
        pytest.skip(next(iter(skipped.values())))
    echoes = {name: EchoServer(name).start() for name in corpus.upstream_names(edge)}
    try:
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = corpus.with_listener_ports(corpus.with_servers(edge, corpus.server_addresses(casefile, echoes)),
                                          ports)
        options = admin_options()
        files, diagnostics = build(live, options)
        assert files is not None, [d.message for d in diagnostics]
        with Envoy(write(files, tmp_path), list(ports.values()), int(options["admin_port"])):
            assert not failures(casefile.cases, skipped, echoes, ports)
    finally:
        for e in echoes.values():
            e.stop()


def test_every_skip_names_a_capability_table_reason():
    """Skips come only from the capability table, never from a list kept here."""
    reasons = {corpus.skip_reason("envoy", corpus.edge_of(c), c) for f in FILES for c in f.cases}
    for reason in reasons - {None}:
        assert reason.startswith("envoy"), reason
