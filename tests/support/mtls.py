"""Client certificates (mutual TLS) through a real gateway: the certificates (made here,
never checked in), one edge and one set of connections every target's test drives.

    certs = mtls.Certificates(tmp_path)                   # CA, server, clients
    source = mtls.edge(certs, app.address, "required", port)  # build and start it, then
    assert mtls.failures(certs, port, app, "required") == []
"""
from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HEADER = "X-Client-Subject"
SUBJECT = "CN=billing,O=Edge Tests"  # the client certificate's subject, as RFC 4514 writes it
# a subject no header line can carry as it is: control and non-ASCII bytes become \XX
ODD_CN = "line\nbreak é"
ODD_SUBJECT = "CN=line\\0Abreak \\C3\\A9,O=Edge Tests"


def _name(cn: str) -> x509.Name:
    # O first: RFC 4514 writes the last RDN first, "CN=...,O=..."
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Edge Tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Authority:
    def __init__(self, cn: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(cn)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))

    def issue(self, cn: str, server: bool, names: tuple[str, ...] = ("localhost", "edge.test")) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                         else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [*(x509.DNSName(n) for n in names), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return _pem(builder.sign(self.key, hashes.SHA256())), _pem(key)


class Certificates:
    """Files in `directory`: ca.pem (the clients' CA), server.pem/server.key, client.pem/.key
    (from that CA) and stranger.pem/.key (the same subject, from another CA)."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        ca, other = Authority("Edge Test Clients CA"), Authority("Another CA")
        self.ca = self._write("ca.pem", _pem(ca.cert))
        self.server, self.server_key = self._pair("server", ca.issue("edge.test", server=True))
        self.client, self.client_key = self._pair("client", ca.issue("billing", server=False))
        self.stranger, self.stranger_key = self._pair("stranger", other.issue("billing", server=False))
        self.odd, self.odd_key = self._pair("odd", ca.issue(ODD_CN, server=False))

    def _write(self, name: str, data: bytes) -> str:
        path = self.dir / name
        path.write_bytes(data)
        return str(path)

    def _pair(self, name: str, pem: tuple[bytes, bytes]) -> tuple[str, str]:
        return self._write(f"{name}.pem", pem[0]), self._write(f"{name}.key", pem[1])


def edge(certs: Certificates, app: str, mode: str, port: int = 8443) -> str:
    """One HTTPS listener asking for client certificates (`mode`: required or optional)."""
    return f'''edge "mtls-{mode}" {{
  listen https {port} {{
    tls cert "{certs.server}" key "{certs.server_key}"
    client_cert ca "{certs.ca}" {mode} header "{HEADER}"
  }}
  upstream app {{
    server "{app}"
  }}
  route all {{
    forward app
  }}
}}
'''


MODES = ("required", "optional")
# mode → (name, the client's certificate, what the backend sees in HEADER; "refused": the
# connection gets no answer and nothing reaches the backend)
CASES = {
    "required": [("valid", "client", SUBJECT), ("missing", None, "refused"), ("another CA", "stranger", "refused"),
                 ("valid, a subject with a line break", "odd", ODD_SUBJECT)],
    "optional": [("valid", "client", SUBJECT), ("missing", None, None), ("another CA", "stranger", "refused")],
}


def _request(port: int, cert: tuple[str, str] | None) -> tuple[int, dict] | None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(*cert)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    try:
        # the client's own claim to an identity: it must never reach the backend
        conn.request("GET", "/who", headers={"Host": "edge.test", HEADER: "CN=admin"})
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException):  # a TLS alert, a reset, a close without an answer
        return None
    finally:
        conn.close()
    return resp.status, (json.loads(body) if resp.status == 200 else {})


def failures(certs: Certificates, port: int, app, mode: str) -> list[str]:
    """Every case of `mode` against the listener on `port`; what went wrong, in words."""
    out = []
    pairs = {"client": (certs.client, certs.client_key), "stranger": (certs.stranger, certs.stranger_key),
             "odd": (certs.odd, certs.odd_key), None: None}
    for name, cert, expected in CASES[mode]:
        app.requests.clear()
        got = _request(port, pairs[cert])
        if expected == "refused":
            if got is not None:
                out.append(f"{mode}, {name}: answered {got[0]}, expected the connection refused")
            if app.requests:
                out.append(f"{mode}, {name}: reached the backend")
            continue
        if got is None or got[0] != 200:
            out.append(f"{mode}, {name}: {'no answer' if got is None else f'status {got[0]}'}, expected 200")
            continue
        seen = got[1]["headers"].get(HEADER.lower())
        if seen != expected:
            out.append(f"{mode}, {name}: the backend saw {HEADER}: {seen!r}, expected {expected!r}")
    return out
