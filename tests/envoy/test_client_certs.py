"""Client certificates through the real Envoy (downstream TLS validation): valid, missing and
from another CA, on a listener that requires them and on one that takes them when given
(tests/support/mtls.py)."""
from __future__ import annotations

import pytest

from edgec.harness.echo import EchoServer
from edgec.pipeline import analyse
from tests.conftest import free_port
from tests.support import mtls

from .support import Envoy, admin_options, build, write


@pytest.mark.parametrize("mode", mtls.MODES)
def test_client_certificates(tmp_path, mode):
    certs = mtls.Certificates(tmp_path / "certs")
    port = free_port()
    with EchoServer("app") as app:
        result = analyse(mtls.edge(certs, app.address, mode, port), "m.edge")
        assert result.edge is not None, [d.message for d in result.diagnostics]
        files, diagnostics = build(result.edge, admin_options())
        assert files is not None, [d.message for d in diagnostics]
        with Envoy(write(files, tmp_path / "envoy"), [port]):
            assert mtls.failures(certs, port, app, mode) == []
