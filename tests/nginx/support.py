"""Building a config with the nginx target and running the real nginx on it.

Every nginx started here runs in the foreground (`daemon off`) with its own prefix
directory, is reached on 127.0.0.1, and is stopped by PID.

`localise(edge, ...)` prepares an IR for this machine, and changes only inputs that
belong to the deploy host, never behaviour:
* upstream servers given by host name → 127.0.0.1, same port (nginx resolves names at
  `nginx -t` time, and prod names do not resolve here); IP addresses stay;
* TLS certificate and key → `tls/cert.pem` / `tls/key.pem` in the prefix (a test
  certificate written there);
* access log file → `logs/access.log` in the prefix ("-" stays standard output);
* API keys_file → a test file with one key, htpasswd path → `secrets/test.htpasswd`;
* a JWKS address given by host name → 127.0.0.1, same port and path (nginx resolves the
  host of a proxy_pass at start, as it does an upstream server's).
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import urllib.parse
from pathlib import Path

from edgec import ir
from edgec.diagnostics import Diagnostic
from edgec.harness import gateways
from edgec.harness.gateways import Nginx  # noqa: F401 (the nginx tests start it)
from edgec.targets.nginx.upstreams import is_ip

TEST_KEY = "test-key-0123"
TEST_USER, TEST_PASSWORD = "alice", "wonderland"
# htpasswd line for alice:wonderland (SHA1 scheme, which nginx reads)
TEST_HTPASSWD = "alice:{SHA}" + __import__("base64").b64encode(
    __import__("hashlib").sha1(TEST_PASSWORD.encode()).digest()).decode() + "\n"
SECRETS = {"INTERNAL_API_KEY": "internal-key-42", "ADMIN_HTPASSWD": TEST_HTPASSWD.strip()}


def localise(edge: ir.Edge, keys_file: str | None = None) -> ir.Edge:
    ups = [dataclasses.replace(u, servers=tuple(
        s if is_ip(s.host) else dataclasses.replace(s, host="127.0.0.1") for s in u.servers))
        for u in edge.upstreams]
    lsts = [dataclasses.replace(lst, tls=dataclasses.replace(lst.tls, cert="tls/cert.pem", key="tls/key.pem"))
            if lst.tls else lst for lst in edge.listeners]
    auth = []
    for a in edge.auth:
        if isinstance(a, ir.ApiKeyAuth) and a.keys_file:
            a = dataclasses.replace(a, keys_file=keys_file)
        if isinstance(a, ir.BasicAuth) and isinstance(a.htpasswd, str):
            a = dataclasses.replace(a, htpasswd="secrets/test.htpasswd")
        if isinstance(a, ir.JwtAuth) and a.jwks_url:
            url = urllib.parse.urlsplit(a.jwks_url)
            if not is_ip(url.hostname or ""):
                a = dataclasses.replace(a, jwks_url=url._replace(
                    netloc="127.0.0.1" + (f":{url.port}" if url.port else "")).geturl())
        auth.append(a)
    obs = edge.observability
    if obs.access_log.path != "-":
        obs = dataclasses.replace(obs, access_log=dataclasses.replace(obs.access_log, path="logs/access.log"))
    return dataclasses.replace(edge, upstreams=tuple(ups), listeners=tuple(lsts), auth=tuple(auth),
                               observability=obs)


def build(edge: ir.Edge, options: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
          strict: bool = False) -> tuple[dict[str, str] | None, list[Diagnostic]]:
    """(files, diagnostics) from the nginx target; files is None when it reported an error."""
    table = dict(SECRETS, **(secrets or {}))
    return gateways.build("nginx", edge, options, lambda secret: table[secret.secret], strict)


def write(files: dict[str, str], prefix: Path, certs: tuple[bytes, bytes] | None = None) -> Path:
    for rel, content in files.items():
        path = prefix / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if certs:
        (prefix / "tls").mkdir(exist_ok=True)
        (prefix / "tls" / "cert.pem").write_bytes(certs[0])
        (prefix / "tls" / "key.pem").write_bytes(certs[1])
    secrets = prefix / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "test.htpasswd").write_text(TEST_HTPASSWD)
    return prefix


def nginx_test(prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["nginx", "-t", "-q", "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "stderr"],
                          capture_output=True, text=True, timeout=120)


def gixy(prefix: Path, skips: tuple[str, ...] = ()) -> list[str]:
    """The problems gixy reports (one line each: check name and reason)."""
    cmd = ["gixy", "--format", "json", str(prefix / "nginx.conf")]
    if skips:
        cmd[1:1] = ["--skips", ",".join(skips)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    import json
    try:
        found = json.loads(res.stdout or "[]")
    except ValueError:
        return [f"gixy failed: {res.stdout[-500:]} {res.stderr[-500:]}"]
    return [f"{p.get('plugin')}: {p.get('summary')} ({p.get('reason')})" for p in found]


def certificate(names=("localhost", "edge.test")) -> tuple[bytes, bytes]:
    """A self-signed certificate (PEM, PEM key) for the names and 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]
                                                       + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def fresh(prefix: Path) -> Path:
    if prefix.exists():
        shutil.rmtree(prefix)
    prefix.mkdir(parents=True)
    return prefix
