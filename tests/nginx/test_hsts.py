"""`hsts` through the real nginx: the header on the HTTPS listener that declares it, on every
kind of answer, and on no other listener (plain HTTP shares the server block); gixy's HSTS
check passes on the config."""
from __future__ import annotations

from tests.support.curl import curl_headers

from .support import gixy

SOURCE = '''edge "t" {
  listen http 8080
  listen https 8443 {
    tls cert "/x.crt" key "/x.key"
    hsts 365d include_subdomains preload
  }
  listen https 9443 {
    tls cert "/x.crt" key "/x.key"
  }
  upstream app { server "127.0.0.1:1" }
  route tagged { match path prefix "/tagged" response_header set "X-Tag" "1" forward app }
  route moved { match path exact "/moved" redirect 301 "/tagged" }
  route all { forward app }
}'''
VALUE = "max-age=31536000; includeSubDomains; preload"


def test_the_header_on_the_https_listener_that_declares_it_only(gateway, tmp_path):
    gw = gateway(SOURCE)
    secure, other, plain = gw.ports[8443], gw.ports[9443], gw.ports[8080]
    for path in ("/", "/tagged", "/moved"):  # proxied, with an add_header of its own, answered by nginx
        assert curl_headers(f"https://127.0.0.1:{secure}{path}").get("strict-transport-security") == [VALUE], path
        assert "strict-transport-security" not in curl_headers(f"http://127.0.0.1:{plain}{path}")
        assert "strict-transport-security" not in curl_headers(f"https://127.0.0.1:{other}{path}")
    assert gixy(gw.nginx.prefix) == [], "gixy's HSTS check passes without a waiver"
