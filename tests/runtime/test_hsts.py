"""`hsts` in `edgec run`: the header on every answer of the HTTPS listener that declares it
(proxied, made by the edge, an error), on no other listener."""
from __future__ import annotations

from tests.conftest import free_port
from tests.nginx.support import certificate
from tests.runtime.conftest import RuntimeProcess
from tests.support.curl import curl_headers

VALUE = "max-age=31536000; includeSubDomains"


def test_the_header_on_the_https_listener_that_declares_it_only(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    cert, key = certificate()
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    plain, secure, other = free_port(), free_port(), free_port()
    source = tmp_path / "h.edge"
    source.write_text(f'''edge "h" {{
  listen http {plain}
  listen https {secure} {{
    tls cert "{tmp_path}/c.pem" key "{tmp_path}/k.pem"
    hsts 365d include_subdomains
  }}
  listen https {other} {{
    tls cert "{tmp_path}/c.pem" key "{tmp_path}/k.pem"
  }}
  upstream a {{
    server "{echo.address}"
  }}
  route fixed {{
    match path exact "/fixed"
    respond 200 "ok"
  }}
  route api {{
    match path prefix "/api"
    forward a
  }}
  access_log off
}}
''')
    with RuntimeProcess(source, secure):
        for path in ("/api/x", "/fixed", "/nowhere"):  # proxied, answered by the edge, 404
            assert curl_headers(f"https://127.0.0.1:{secure}{path}").get("strict-transport-security") == [VALUE]
            assert "strict-transport-security" not in curl_headers(f"http://127.0.0.1:{plain}{path}")
            assert "strict-transport-security" not in curl_headers(f"https://127.0.0.1:{other}{path}")
