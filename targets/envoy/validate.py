"""Envoy's own check of a bootstrap: `envoy --mode validate` (parses, type-checks and
builds every listener, route and cluster without serving).

The files a bootstrap names (certificates, the access log) live on the host Envoy will
run on, not necessarily where edgec builds: the copy Envoy checks names a throwaway
certificate and a log file in a temporary directory instead; everything else is the
output byte for byte.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import re
import shutil
import subprocess
import tempfile
from typing import Callable

from edgec import ir

TIMEOUT_S = 120
_MESSAGE = re.compile(r"\]\s*(?:error initializing configuration '[^']*':\s*)?([^\]]*)$")


def rejection(edge: ir.Edge, render: Callable[[ir.Edge, str], str], envoy: str | None = None) -> str | None:
    """Why Envoy rejects the bootstrap render(edge, CA file), or None when it accepts it or no
    envoy binary is on PATH."""
    envoy = envoy or shutil.which("envoy")
    if envoy is None:
        return None
    with tempfile.TemporaryDirectory(prefix="edgec-envoy-") as tmp:
        path = os.path.join(tmp, "envoy.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(render(_local(edge, tmp), _certificate(tmp)[0]))
        res = subprocess.run([envoy, "--mode", "validate", "-c", path, "--disable-hot-restart", "-l", "critical"],
                             capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp)
        if res.returncode == 0:
            return None
        lines = [ln.strip() for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
        line = next((ln for ln in lines if "critical" in ln or "error" in ln.lower()),
                    lines[-1] if lines else f"exit code {res.returncode}")
        found = _MESSAGE.search(line)
        return (found.group(1) if found and found.group(1) else line)[:500]


def _local(edge: ir.Edge, tmp: str) -> ir.Edge:
    """The edge with its certificate, log and htpasswd files moved into `tmp`."""
    listeners = edge.listeners
    if any(lst.tls for lst in listeners):
        cert, key = _certificate(tmp)
        listeners = tuple(dataclasses.replace(lst, tls=dataclasses.replace(lst.tls, cert=cert, key=key))
                          if lst.tls else lst for lst in listeners)
    obs = edge.observability
    if obs.access_log.path != "-":
        obs = dataclasses.replace(obs, access_log=dataclasses.replace(obs.access_log,
                                                                      path=os.path.join(tmp, "access.log")))
    auth = []
    for a in edge.auth:
        if isinstance(a, ir.BasicAuth) and isinstance(a.htpasswd, str):
            path = os.path.join(tmp, f"{len(auth)}.htpasswd")
            with open(path, "w", encoding="utf-8") as f:
                f.write("edgec:{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=\n")  # the empty password
            a = dataclasses.replace(a, htpasswd=path)
        auth.append(a)
    return dataclasses.replace(edge, listeners=listeners, observability=obs, auth=tuple(auth))


def _certificate(tmp: str) -> tuple[str, str]:
    """A throwaway self-signed certificate and key in `tmp` (made once): what the copy Envoy
    checks names for the listeners' certificates and the CA bundle."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    if not os.path.exists(cert):
        _write_certificate(cert, key)
    return cert, key


def _write_certificate(cert_path: str, key_path: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edgec-validate")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
