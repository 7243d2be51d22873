"""Operating the gateway as a real `edgec run` process: metrics, access logs, TLS and the
HTTPS redirect listener, SIGHUP reload, graceful shutdown, workers, and a rate limit shared
by two processes through a real redis-server."""
from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port
from tests.runtime.conftest import RuntimeProcess, request, wait_port


def _write(path, text):
    path.write_text(text)
    return path


def _until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_metrics_and_json_access_log(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    log = tmp_path / "access.log"
    f = _write(tmp_path / "m.edge", f"""edge "m" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route api {{ match path prefix "/api" forward a }}
      access_log json "{log}"
      metrics "/metrics"
    }}""")
    with RuntimeProcess(f, port):
        for _ in range(3):
            assert request(port, path="/api/x", headers={"User-Agent": "t/1"})[0] == 200
        assert request(port, path="/nope")[0] == 404
        status, headers, body = request(port, path="/metrics")
        text = body.decode()
        assert status == 200 and headers["content-type"].startswith("text/plain")
        assert 'edge_requests_total{route="api",status="200"} 3.0' in text
        assert 'edge_requests_total{route="",status="404"} 1.0' in text
        assert 'edge_request_duration_seconds_count{route="api"} 3.0' in text
        assert 'edge_request_duration_seconds_bucket{le="+Inf",route="api"} 3.0' in text
        assert 'edge_upstream_duration_seconds_count{upstream="a"} 3.0' in text  # the 404 reached none
        assert f'edge_upstream_up{{server="{echo.address}",upstream="a"}} 1.0' in text
        assert _until(lambda: log.exists() and len(log.read_text().splitlines()) == 5)
        lines = [json.loads(x) for x in log.read_text().splitlines()]
    first = lines[0]
    assert first["method"] == "GET" and first["uri"] == "/api/x" and first["status"] == 200
    assert first["route"] == "api" and first["upstream"] == echo.address and first["user_agent"] == "t/1"
    assert first["request_id"] and first["remote_addr"] == "127.0.0.1" and first["duration_s"] >= 0
    assert [x["status"] for x in lines] == [200, 200, 200, 404, 200]
    # the fields and their forms are nginx's (targets/nginx JSON_LOG): ISO 8601 time, seconds
    stamp = datetime.datetime.fromisoformat(first["time"])
    assert stamp.tzinfo is not None and abs(stamp.timestamp() - time.time()) < 60
    from edgec.targets.nginx.emit import JSON_LOG
    nginx_fields = set(json.loads(re.sub(r'(?<=:)\$\w+', "0", JSON_LOG)))
    assert set(first) - {"route"} == nginx_fields - {"upstream_status"}  # each one's extra is documented


def test_a_502_logs_the_server_that_failed(tmp_path):
    port, dead = free_port(), free_port()
    log = tmp_path / "access.log"
    f = _write(tmp_path / "d.edge", f"""edge "d" {{
      listen http {port}
      upstream gone {{ server "127.0.0.1:{dead}" }}
      route api {{ forward gone }}
      access_log json "{log}"
    }}""")
    with RuntimeProcess(f, port):
        assert request(port, path="/x")[0] == 502
        assert _until(lambda: log.exists() and log.read_text().endswith("\n"))
    (line,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert (line["status"], line["upstream"]) == (502, f"127.0.0.1:{dead}")


def test_combined_access_log_escapes_what_clients_send(tmp_path):
    port = free_port()
    log = tmp_path / "access.log"
    f = _write(tmp_path / "c.edge", f"""edge "c" {{
      listen http {port}
      route r {{ respond 200 "ok" }}
      access_log combined "{log}"
    }}""")
    with RuntimeProcess(f, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b'GET /a"b\\c HTTP/1.1\r\nHost: x\r\nUser-Agent: evil" 500 0 "-" "\xff\r\n\r\n')
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
        assert _until(lambda: log.exists() and log.read_bytes().endswith(b"\n"))
    (line,) = log.read_text().splitlines()
    assert line.endswith('"GET /a\\x22b\\x5Cc HTTP/1.1" 200 2 "-" "evil\\x22 500 0 \\x22-\\x22 \\x22\\xFF"'), line
    assert line.count('"') == 6  # the three quoted fields, each still one field


def _certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_listener_and_https_redirect(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    http_port, https_port = free_port(), free_port()
    cert, key = _certificate(tmp_path)
    f = _write(tmp_path / "tls.edge", f"""edge "tls" {{
      listen http {http_port} {{ redirect https port {https_port} }}
      listen https {https_port} {{ tls cert "{cert}" key "{key}" }}
      upstream a {{ server "{echo.address}" }}
      route r {{ forward a }}
      access_log off
    }}""")
    with RuntimeProcess(f, https_port):
        status, headers, _ = request(http_port, path="/cart?id=3", headers={"Host": "localhost"})
        assert status == 301 and headers["location"] == f"https://localhost:{https_port}/cart?id=3"
        assert not echo.requests
        ctx = ssl.create_default_context(cafile=str(cert))
        c = http.client.HTTPSConnection("localhost", https_port, context=ctx, timeout=10)
        c.request("GET", "/secure")
        r = c.getresponse()
        seen = json.loads(r.read())
        assert r.status == 200 and seen["headers"]["x-forwarded-proto"] == "https"
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        c.close()


def test_sighup_reload_keeps_connections_and_refuses_bad_config(tmp_path):
    port = free_port()
    f = tmp_path / "r.edge"

    def config(text):
        _write(f, f'edge "r" {{ listen http {port} route r {{ respond 200 "{text}" }} access_log off }}')
    config("one")
    with RuntimeProcess(f, port) as proc:
        keep = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert request(port, conn=keep)[2] == b"one"
        config("two")
        proc.signal(signal.SIGHUP)
        assert _until(lambda: request(port)[2] == b"two")
        assert request(port, conn=keep)[2] == b"two"  # the same keep-alive connection, now on the new config
        _write(f, 'edge "r" { route r { forward nowhere } }')
        proc.signal(signal.SIGHUP)
        assert _until(lambda: "reload refused" in proc.output())
        assert request(port, conn=keep)[2] == b"two"  # the old config keeps serving
        keep.close()


def _served_certificate(port: int) -> bytes:
    return ssl.get_server_certificate(("127.0.0.1", port)).encode()


def test_sighup_reload_changes_listeners_and_loads_renewed_certificates(tmp_path):
    a, b, tls_port = free_port(), free_port(), free_port()
    cert, key = _certificate(tmp_path)
    f = tmp_path / "l.edge"

    def config(*ports):
        listens = "\n".join(f"listen http {p}" for p in ports)
        _write(f, f"""edge "l" {{
          {listens}
          listen https {tls_port} {{ tls cert "{cert}" key "{key}" }}
          route r {{ respond 200 "ok" }}
          access_log off
        }}""")
    config(a)
    with RuntimeProcess(f, a) as proc:
        first = _served_certificate(tls_port)
        assert first.strip() == cert.read_bytes().strip()
        config(b)  # port a closes, port b opens
        _certificate(tmp_path)  # renewed in place: same paths, a new certificate and key
        proc.signal(signal.SIGHUP)
        assert _until(lambda: "reloaded" in proc.output())
        assert request(b)[0] == 200
        with pytest.raises(OSError):
            request(a)
        renewed = _served_certificate(tls_port)
        assert renewed != first and renewed.strip() == cert.read_bytes().strip()

        occupied = socket.socket()  # a port another program holds: the reload is refused whole
        occupied.bind(("0.0.0.0", free_port()))
        occupied.listen(1)
        try:
            config(b, occupied.getsockname()[1])
            proc.signal(signal.SIGHUP)
            assert _until(lambda: "reload refused" in proc.output() and "cannot listen" in proc.output())
            assert request(b)[0] == 200
        finally:
            occupied.close()


@pytest.mark.parametrize("workers", ["0", "-1", "many"])
def test_a_bad_worker_count_is_a_usage_error(tmp_path, workers):
    f = _write(tmp_path / "w.edge", 'edge "w" { route r { respond 200 "ok" } }')
    proc = subprocess.run([sys.executable, "-m", "edgec", "run", str(f), "--workers", workers],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--workers" in proc.stderr and "Traceback" not in proc.stderr


def test_a_worker_started_after_a_reload_serves_the_reloaded_config(tmp_path):
    port = free_port()
    f = tmp_path / "w.edge"

    def config(text):
        _write(f, f'edge "w" {{ listen http {port} route r {{ respond 200 "{text}" }} access_log off }}')
    config("one")
    with RuntimeProcess(f, port, "--workers", "2") as proc:
        assert _until(lambda: len(_children(proc.proc.pid)) == 2)
        config("two")
        proc.signal(signal.SIGHUP)
        assert _until(lambda: proc.output().count("reloaded") == 2)
        victim = _children(proc.proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        assert _until(lambda: len(kids := _children(proc.proc.pid)) == 2 and victim not in kids)
        # fresh connections reach both workers: every answer comes from the reloaded config
        assert {request(port)[2] for _ in range(40)} == {b"two"}


def test_graceful_shutdown_finishes_requests_in_flight(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    f = _write(tmp_path / "g.edge", f"""edge "g" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route r {{ forward a }}
      access_log off
    }}""")
    proc = RuntimeProcess(f, port).start()
    result = {}

    def slow():
        result["status"] = request(port, path="/?delay=1")[0]
    t = threading.Thread(target=slow)
    t.start()
    assert _until(lambda: echo.requests)
    proc.signal(signal.SIGTERM)
    t.join(10)
    assert result["status"] == 200
    assert proc.proc.wait(10) == 0
    proc.stop()
    with pytest.raises(OSError):
        request(port)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                pass
    return out


@pytest.mark.parametrize("workers,processes", [("2", 2), ("auto", len(os.sched_getaffinity(0)))])
def test_workers_share_the_port(tmp_path, workers, processes):
    port = free_port()
    f = _write(tmp_path / "w.edge", f'edge "w" {{ listen http {port} route r {{ respond 200 "ok" }} access_log off }}')
    with RuntimeProcess(f, port, "--workers", workers) as proc:
        assert _until(lambda: len(_children(proc.proc.pid)) == processes)
        assert all(request(port)[0] == 200 for _ in range(20))
        proc.signal(signal.SIGTERM)
        assert proc.proc.wait(10) == 0


@pytest.fixture
def redis_url(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (tests/run.sh installs it)")
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_rate_limit_shared_through_redis(tmp_path, redis_url, echo_servers):
    echo = echo_servers("a")["a"]
    ports = [free_port(), free_port()]
    procs = []
    try:
        for i, port in enumerate(ports):
            f = _write(tmp_path / f"rl{i}.edge", f"""edge "shared" {{
              listen http {port}
              upstream a {{ server "{echo.address}" }}
              route r {{ rate_limit 4/min burst 3 forward a }}
              access_log off
            }}""")
            procs.append(RuntimeProcess(f, port, "--redis", redis_url).start())
        statuses = [request(ports[i % 2])[0] for i in range(6)]
        assert statuses == [200, 200, 200, 200, 429, 429]  # one budget of 4 for both processes
    finally:
        for p in procs:
            p.stop()


def test_startup_problems_are_reported_without_traceback(tmp_path):
    port = free_port()
    missing = _write(tmp_path / "s.edge", f"""edge "s" {{
      listen http {port}
      auth api_key k {{ keys ${{secret:EDGEC_TEST_UNSET_SECRET}} }}
      route r {{ auth k respond 200 "ok" }}
    }}""")
    proc = RuntimeProcess(missing, port).start(wait=False)
    assert proc.proc.wait(20) == 1
    proc.stop()
    out = proc.output()
    assert "secret 'EDGEC_TEST_UNSET_SECRET' is not set" in out and "Traceback" not in out
    no_cert = _write(tmp_path / "c.edge", f'edge "c" {{ listen https {port} {{ tls cert "{tmp_path}/none.pem" '
                               f'key "{tmp_path}/none.key" }} route r {{ respond 200 "ok" }} }}')
    proc = RuntimeProcess(no_cert, port).start(wait=False)
    assert proc.proc.wait(20) == 1
    proc.stop()
    assert "cannot load the certificate" in proc.output() and "Traceback" not in proc.output()
    broken = _write(tmp_path / "b.edge", 'edge "b" { route r { forward nowhere } }')
    proc = RuntimeProcess(broken, port).start(wait=False)
    assert proc.proc.wait(20) == 1
    proc.stop()
    out = proc.output()
    assert "nowhere" in out and f"cannot load {broken}" in out and "Traceback" not in out
    proc = RuntimeProcess(tmp_path / "missing.edge", port).start(wait=False)
    assert proc.proc.wait(20) == 1
    proc.stop()
    out = proc.output()
    assert "cannot read file" in out and f"cannot load {tmp_path / 'missing.edge'}" in out and "Traceback" not in out
    taken = socket.socket()
    taken.bind(("0.0.0.0", port))
    taken.listen(1)
    try:
        ok = _write(tmp_path / "t.edge", f'edge "t" {{ listen http {port} route r {{ respond 200 "ok" }} }}')
        proc = RuntimeProcess(ok, port).start(wait=False)
        assert proc.proc.wait(20) == 1
        proc.stop()
        out = proc.output()
        assert "cannot listen" in out and "address already in use" in out.lower() and "Traceback" not in out
    finally:
        taken.close()


@pytest.mark.parametrize("metrics", [False, True], ids=["plain", "with-metrics"])
def test_an_edge_imports_the_libraries_of_the_features_it_uses_only(tmp_path, echo_servers, metrics):
    """`edgec run` starts sooner when prometheus_client, h2, the JWKS fetcher's urllib.request
    and the OpenTelemetry SDK are imported only for an edge that has /metrics, HTTP/2, a JWKS URL
    or tracing (bench/results/ready.md)."""
    echo = echo_servers("a")["a"]
    port = free_port()
    f = _write(tmp_path / "i.edge", f"""edge "i" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route api {{ match path prefix "/" forward a }}
      {'metrics "/metrics"' if metrics else ""}
    }}""")
    with RuntimeProcess(f, port, env={"PYTHONPROFILEIMPORTTIME": "1"}) as rt:
        assert request(port, path="/x")[0] == 200
        if metrics:
            assert request(port, path="/metrics")[0] == 200
    imported = {line.split("|")[-1].strip() for line in rt.output().splitlines() if line.startswith("import time:")}
    assert "edgec.runtime.gateway" in imported  # the measurement works
    assert ("prometheus_client" in imported) is metrics
    assert not imported & {"h2", "h2.connection"}
    assert not {name for name in imported if name.startswith("opentelemetry")}  # only an edge that traces
    if not metrics:  # (prometheus_client imports it for its own push gateway client)
        assert "urllib.request" not in imported
