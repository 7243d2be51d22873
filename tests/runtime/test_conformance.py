"""The shared conformance corpus through the running gateway: every case must pass (the
runtime implements every feature, so nothing is skipped)."""
from __future__ import annotations

import pytest

from tests.conformance import corpus
from edgec.harness.driver import check
from tests.conftest import free_port
from tests.runtime.conftest import LiveRuntime
from edgec.harness.echo import EchoServer

FILES = corpus.files()


@pytest.mark.parametrize("casefile", FILES, ids=[f.path.rsplit("/", 1)[-1] for f in FILES])
def test_corpus(casefile):
    edge = corpus.edge_of(casefile)
    echoes = {name: EchoServer(name).start() for name in corpus.upstream_names(edge)}
    runtime = None
    try:
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = corpus.with_listener_ports(corpus.with_servers(edge, corpus.server_addresses(casefile, echoes)), ports)
        runtime = LiveRuntime(live).start()
        failures = {}
        for case in casefile.cases:
            problems = check(case, echoes, listener_ports=ports)
            if problems:
                failures[case.name] = problems
        assert not failures
    finally:
        if runtime is not None:
            runtime.stop()
        for e in echoes.values():
            e.stop()
