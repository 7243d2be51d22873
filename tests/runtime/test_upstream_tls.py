"""TLS to upstreams in `edgec run`: verified against the CA and the name, a wrong CA or name
refused (502), verification off, the edge's own certificate (tests/support/upstream_tls.py)."""
from __future__ import annotations

from tests.conftest import free_port
from tests.support import upstream_tls


def test_tls_to_upstreams(gateway, tmp_path):
    with upstream_tls.Backends(tmp_path) as backends:
        _, port = gateway(upstream_tls.edge(backends, listen=f"listen http {free_port()}"))
        assert upstream_tls.failures(f"http://127.0.0.1:{port}") == []
