"""TLS to upstreams through the real Envoy: verified against the CA and the name, a wrong CA
or name refused (502, Envoy's answer to a failed connection: 503 is refused as well), verification
off, the edge's own certificate (tests/support/upstream_tls.py)."""
from __future__ import annotations

from edgec.pipeline import analyse
from tests.conftest import free_port
from tests.support import upstream_tls

from .support import Envoy, admin_options, build, write


def test_tls_to_upstreams(tmp_path):
    port = free_port()
    with upstream_tls.Backends(tmp_path / "certs") as backends:
        result = analyse(upstream_tls.edge(backends, listen=f"listen http {port}"), "u.edge")
        assert result.edge is not None, [d.message for d in result.diagnostics]
        files, diagnostics = build(result.edge, admin_options())
        assert files is not None, [d.message for d in diagnostics]
        with Envoy(write(files, tmp_path / "envoy"), [port]):
            assert upstream_tls.failures(f"http://127.0.0.1:{port}") == []
