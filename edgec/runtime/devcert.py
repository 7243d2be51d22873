"""Self-signed certificates for development: a listener with `self_signed` gets a pair made at
its tls paths when neither file exists, so a dev environment serves HTTPS on a fresh machine."""
from __future__ import annotations

import datetime
import ipaddress
import os

from .. import ir

VALID_DAYS = 30


def hosts_of(edge: ir.Edge) -> list[str]:
    """The names the certificate covers: localhost and every host a route matches."""
    names = ["localhost"]
    for route in edge.routes:
        for match in route.matches:
            names += [h for h in match.hosts if h not in names]
    return names


def ensure(tls: ir.Tls, hosts: list[str]) -> bool:
    """Make the pair when neither file exists (True); leave what exists alone (False)."""
    if os.path.exists(tls.cert) or os.path.exists(tls.key):
        return False
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edgec development (self-signed)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    for path in (tls.cert, tls.key):
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    # the key is written readable by its owner only, created so: never briefly world-readable
    fd = os.open(tls.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(tls.cert, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return True
