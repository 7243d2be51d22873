"""`hsts` through the real Envoy: the header on the TLS listener that declares it, on a
proxied answer and on one Envoy makes itself, and on no other listener."""
from __future__ import annotations

from edgec.pipeline import analyse
from tests.conftest import free_port
from tests.nginx.support import certificate
from tests.runtime.test_hsts import VALUE
from tests.support.curl import curl_headers
from edgec.harness.echo import EchoServer

from .support import Envoy, admin_options, build, localise, prepare, write


def test_the_header_on_the_https_listener_that_declares_it_only(tmp_path):
    plain, secure, other = free_port(), free_port(), free_port()
    with EchoServer("a") as echo:
        source = f'''edge "h" {{
  listen http {plain}
  listen https {secure} {{
    tls cert "/c.pem" key "/k.pem"
    hsts 365d include_subdomains
  }}
  listen https {other} {{
    tls cert "/c.pem" key "/k.pem"
  }}
  upstream a {{
    server "127.0.0.1:{echo.port}"
  }}
  route fixed {{
    match path exact "/fixed"
    respond 200 "ok"
  }}
  route api {{
    forward a
  }}
}}
'''
        result = analyse(source, "h.edge")
        assert result.edge is not None, [d.message for d in result.diagnostics]
        files, diagnostics = build(localise(result.edge), admin_options())
        assert files is not None, [d.message for d in diagnostics]
        config = write(files, tmp_path)
        prepare(tmp_path, certificate())
        with Envoy(config, [plain, secure, other]):
            for path in ("/api", "/fixed"):  # proxied, answered by Envoy
                assert curl_headers(f"https://127.0.0.1:{secure}{path}").get("strict-transport-security") == [VALUE]
                assert "strict-transport-security" not in curl_headers(f"http://127.0.0.1:{plain}{path}")
                assert "strict-transport-security" not in curl_headers(f"https://127.0.0.1:{other}{path}")
