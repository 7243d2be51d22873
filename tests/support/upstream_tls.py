"""TLS to upstreams through a real gateway: HTTPS echo backends (one that asks the edge for
a certificate), the certificates (made here, never checked in), one edge whose upstreams
each get one part of the check right or wrong, and the answers every target must give.

    with upstream_tls.Backends(tmp_path) as backends:
        source = upstream_tls.edge(backends)        # build and start it, then
        assert upstream_tls.failures(base_url) == []
"""
from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from edgec.harness.echo import EchoServer

from .mtls import Authority, _pem

NAME = "billing.internal"  # the name the backends' certificate holds


class Backends:
    """`plain`: HTTPS with a certificate for NAME from the backends' CA; `mutual`: the same, and
    it wants the edge's certificate from that CA. Files: ca.pem, other-ca.pem, edge.pem/.key."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        ca, other = Authority("Backends CA"), Authority("Another CA")
        self.ca = self._write("ca.pem", _pem(ca.cert))
        self.other_ca = self._write("other-ca.pem", _pem(other.cert))
        cert, key = ca.issue(NAME, server=True, names=(NAME,))
        server_cert, server_key = self._write("server.pem", cert), self._write("server.key", key)
        cert, key = ca.issue("edge", server=False)
        self.edge_cert, self.edge_key = self._write("edge.pem", cert), self._write("edge.key", key)
        plain = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        plain.load_cert_chain(server_cert, server_key)
        mutual = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        mutual.load_cert_chain(server_cert, server_key)
        mutual.load_verify_locations(self.ca)
        mutual.verify_mode = ssl.CERT_REQUIRED
        self.plain = EchoServer("plain", tls=plain)
        self.mutual = EchoServer("mutual", tls=mutual)

    def _write(self, name: str, data: bytes) -> str:
        path = self.dir / name
        path.write_bytes(data)
        return str(path)

    def __enter__(self) -> "Backends":
        self.plain.start()
        self.mutual.start()
        return self

    def __exit__(self, *exc) -> None:
        self.plain.stop()
        self.mutual.stop()


def edge(b: Backends, listen: str = "", client_cert: str = "", only: tuple[str, ...] = ()) -> str:
    """The edge of the cases (`only` those named); `client_cert` is added to every upstream's tls
    that names none."""
    plain, mutual = b.plain.address, b.mutual.address
    ups = {
        "verified": (plain, f'tls ca "{b.ca}" sni "{NAME}"'),
        "wrong_ca": (plain, f'tls ca "{b.other_ca}" sni "{NAME}"'),
        "wrong_name": (plain, f'tls ca "{b.ca}" sni "other.internal"'),
        "unverified": (plain, f'tls ca "{b.other_ca}" verify off'),
        "mutual": (mutual, f'tls ca "{b.ca}" sni "{NAME}" cert "{b.edge_cert}" key "{b.edge_key}"'),
        "no_client_cert": (mutual, f'tls ca "{b.ca}" sni "{NAME}"'),
    }
    ups = {n: (a, t if " cert " in t or not client_cert else f"{t} {client_cert}")
           for n, (a, t) in ups.items() if not only or n in only}
    blocks = "".join(f'  upstream {n} {{\n    server "{a}"\n    {t}\n  }}\n' for n, (a, t) in ups.items())
    routes = "".join(f'  route {n} {{\n    match path prefix "/{n}"\n    forward {n}\n  }}\n' for n in ups)
    return f'edge "upstream-tls" {{\n  {listen}\n{blocks}{routes}}}\n'


# path → the status the client gets (502: the connection to the server failed its TLS check)
CASES = {
    "/verified": 200,
    "/wrong_ca": 502,
    "/wrong_name": 502,
    "/unverified": 200,
    "/mutual": 200,
    "/no_client_cert": 502,
}


def failures(base_url: str, only: tuple[str, ...] = (), failed: int = 502) -> list[str]:
    """What differs from CASES (`only` those named; `failed`: the status of a failed connection)."""
    url = urlsplit(base_url)
    out = []
    for path, status in CASES.items():
        if only and path[1:] not in only:
            continue
        status = failed if status == 502 else status
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
        try:
            conn.request("GET", path + "/x", headers={"Host": "edge.test"})
            got = conn.getresponse()
            got.read()
        finally:
            conn.close()
        if got.status != status:
            out.append(f"{path}: status {got.status}, expected {status}")
    return out
