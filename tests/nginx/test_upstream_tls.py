"""TLS to upstreams through the real nginx: verified against the CA and the name, a wrong CA
or name refused (502), verification off, the edge's own certificate
(tests/support/upstream_tls.py)."""
from __future__ import annotations

from tests.support import upstream_tls


def test_tls_to_upstreams(gateway, tmp_path):
    with upstream_tls.Backends(tmp_path) as backends:
        names = tuple(up for up in upstream_tls.CASES)
        gw = gateway(upstream_tls.edge(backends, listen="listen http 8080"),
                     keep_servers=tuple(n.strip("/") for n in names))
        assert upstream_tls.failures(f"http://127.0.0.1:{gw.ports[8080]}") == []
