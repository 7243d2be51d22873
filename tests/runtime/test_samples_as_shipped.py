"""Every sample runs as shipped in its dev environment, the way the README says
(`edgec run samples/NAME.edge --env dev`, from the repository's root), on a machine with
nothing installed for it: no certificate files, no secrets set, no log directory. Only the
dev ports are moved to free ones. A start that fails says one thing and exits 1."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SAMPLES, free_port

SECRET_VARIABLES = ("ADMIN_HTPASSWD", "INTERNAL_API_KEY", "EDGEC_SECRETS_DIR")


def _checkout(tmp_path, sample):
    """The samples folder in a fresh directory (a fresh clone's root), the dev ports moved."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    path = tmp_path / "samples" / sample.name
    ports = {}

    def move(m):
        ports.setdefault(m.group(2), free_port())
        return f"{m.group(1)}{ports[m.group(2)]}"
    text = re.sub(r"(http_port = |https_port = |\bport = |listen http )(8080|8443)\b", move, path.read_text())
    path.write_text(text)
    return path, ports


def _run(cwd, *args, timeout=15):
    environ = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    return subprocess.Popen([sys.executable, "-m", "edgec", "run", *args], cwd=cwd, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until_serving(proc, timeout=20.0) -> str:
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "edgec run: serving" in line:
            return "".join(lines)
    proc.kill()
    raise AssertionError("did not start:\n" + "".join(lines) + proc.stderr.read())


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_the_sample_runs_as_shipped_in_dev(sample, tmp_path):
    path, ports = _checkout(tmp_path, sample)
    proc = _run(tmp_path, f"samples/{sample.name}", "--env", "dev")
    try:
        started = _until_serving(proc)
        assert "Task was destroyed" not in started and "Traceback" not in started, started
        port = ports["8080"]
        # a request the gateway answers itself or passes on: any HTTP answer is the gateway serving
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        assert 200 <= conn.getresponse().status < 600
        conn.close()
        if "8443" in ports:  # the dev certificate was made on demand, and is served
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            with ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", ports["8443"]), timeout=10)):
                pass
            assert "made a self-signed certificate for development" in started
            key = next((tmp_path / "dev-tls").glob("*.key"))
            assert oct(key.stat().st_mode & 0o777) == "0o600"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _one_line_failure(tmp_path, text):
    path = tmp_path / "f.edge"
    path.write_text(text)
    proc = _run(tmp_path, str(path))
    out, err = proc.communicate(timeout=30)
    return proc.returncode, err


def test_a_start_that_fails_says_one_thing_and_exits_1(tmp_path):
    """A missing certificate after the health checks and a JWKS fetch have started: no asyncio noise."""
    code, err = _one_line_failure(tmp_path, f'''edge "f" {{
  listen https {free_port()} {{
    tls cert "/nonexistent/c.crt" key "/nonexistent/c.key"
  }}
  upstream u {{
    server "127.0.0.1:{free_port()}"
    health get "/h" every 1s timeout 500ms
  }}
  route r {{
    forward u
  }}
}}
''')
    assert code == 1
    assert [line.split("] ", 1)[1] for line in err.splitlines()] == [
        "cannot load the certificate /nonexistent/c.crt and key /nonexistent/c.key: No such file or directory"]


def test_an_access_log_that_cannot_be_written_says_so(tmp_path):
    code, err = _one_line_failure(tmp_path, f'''edge "f" {{
  listen http {free_port()}
  route r {{
    respond 200 "ok"
  }}
  access_log json "{tmp_path}/missing/access.log"
}}
''')
    assert code == 1
    assert (f"cannot open the access log {tmp_path}/missing/access.log for writing: No such file or directory "
            '(its directory must exist; "-" logs to standard output)') in err
