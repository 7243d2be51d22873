"""Client certificates through the real nginx (ssl_verify_client): valid, missing and from
another CA, on a listener that requires them and on one that takes them when given
(tests/support/mtls.py); gixy finds nothing else in the config."""
from __future__ import annotations

import pytest

from tests.support import mtls

from .support import gixy


@pytest.mark.parametrize("mode", mtls.MODES)
def test_client_certificates(gateway, tmp_path, mode):
    certs = mtls.Certificates(tmp_path / "certs")
    gw = gateway(mtls.edge(certs, "127.0.0.1:1", mode))
    assert mtls.failures(certs, gw.ports[8443], gw.echoes["app"], mode) == []
    # hsts: this edge declares none; http_splitting: $ssl_client_s_dn is OpenSSL's RFC 2253 text,
    # which escapes control bytes (the odd subject above proves it)
    assert gixy(gw.nginx.prefix, skips=("hsts_header", "http_splitting")) == []
