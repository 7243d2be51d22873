"""Client certificates in `edgec run`: valid, missing and from another CA, on a listener that
requires them and on one that takes them when given (tests/support/mtls.py)."""
from __future__ import annotations

import pytest

from edgec.harness.echo import EchoServer
from tests.conftest import free_port
from tests.support import mtls


@pytest.mark.parametrize("mode", mtls.MODES)
def test_client_certificates(gateway, tmp_path, mode):
    certs = mtls.Certificates(tmp_path)
    with EchoServer("app") as app:
        _, port = gateway(mtls.edge(certs, app.address, mode, free_port()))
        assert mtls.failures(certs, port, app, mode) == []
