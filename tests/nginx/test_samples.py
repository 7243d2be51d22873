"""Every sample × env: the nginx target either builds a config that the real `nginx -t`
accepts and gixy finds nothing in, pinned as a golden file, or reports exactly the E401
errors pinned here (a feature NGINX open source cannot express)."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse

from ..conftest import sample_envs
from .support import TEST_KEY, build, certificate, fresh, gixy, localise, nginx_test, write

# gixy checks switched off, and why
GIXY_SKIPS = {
    # HSTS pins browsers to HTTPS for a max-age only the source can state (`hsts`); for a file
    # without it, emitting one would be a policy edgec invents. Files that declare it are checked.
    "hsts_header": "no HSTS policy in the source",
}


def gixy_skips(edge) -> tuple[str, ...]:
    declared = any(lst.hsts for lst in edge.listeners)
    return tuple(k for k in GIXY_SKIPS if not (declared and k == "hsts_header"))


@pytest.fixture(scope="module")
def certs():
    return certificate()


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "api-keys.txt"
    path.write_text(f"# test keys\n{TEST_KEY}\n")
    return str(path)


@pytest.mark.parametrize("path,env", sample_envs())
def test_sample(path, env, tmp_path, certs, keys_file, file_regression, data_regression):
    result = analyse(path.read_text(encoding="utf-8"), str(path), env=env)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    files, diagnostics = build(localise(result.edge, keys_file))
    if files is None:
        data_regression.check([{"code": d.code, "message": d.message} for d in diagnostics
                               if d.severity == "error"])
        assert {d.code for d in diagnostics if d.severity == "error"} == {"E401"}
        return
    file_regression.check(files["nginx.conf"], extension=".conf")
    prefix = write(files, fresh(tmp_path / "prefix"), certs)
    res = nginx_test(prefix)
    assert res.returncode == 0, res.stderr
    assert gixy(prefix, gixy_skips(result.edge)) == []


def test_build_writes_secrets_private(tmp_path, keys_file):
    """edgec build writes credential files with mode 0600."""
    import os
    import subprocess
    import sys
    src = tmp_path / "app.edge"
    src.write_text(f'''edge "k" {{
  listen http 8080
  upstream app {{ server "127.0.0.1:9000" }}
  auth api_key keys {{ header "X-API-Key" keys_file "{keys_file}" keys ${{secret:K}} }}
  route r {{ auth keys forward app }}
}}''')
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "edgec", "build", str(src), "--target", "nginx", "-o", str(out),
                          "-O", "nginx_version=1.25.1"],
                         capture_output=True, text=True, env=dict(os.environ, K="secret-key"))
    assert res.returncode == 0, res.stderr
    keys = out / "secrets" / "keys.keys"
    assert keys.stat().st_mode & 0o777 == 0o600
    assert "secret-key" in keys.read_text() and TEST_KEY in keys.read_text()
    assert "secret-key" not in (out / "nginx.conf").read_text()
    assert (out / "nginx.conf").stat().st_mode & 0o777 == 0o644


def test_build_output_runs_unprivileged(tmp_path):
    """`edgec build -o DIR` then `nginx -p DIR -c nginx.conf` as an ordinary user: pid, logs,
    temp files and cache all live under the prefix. Run as `nobody` when the tests are root."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tests.conftest import free_port
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="edgec-nginx-"))  # outside the root-only pytest tree
    try:
        src = base / "app.edge"
        src.write_text(f'''edge "u" {{
          listen http {port} {{ bind "127.0.0.1" }}
          upstream app {{ server "127.0.0.1:9" }}
          route r {{ cache 1m rate_limit 5/s forward app }}
          route ok {{ match path exact "/ok" respond 200 "ok" }}
        }}''')
        out = base / "out"
        res = subprocess.run([sys.executable, "-m", "edgec", "build", str(src), "--target", "nginx", "-o", str(out)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        become: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(base, "nobody")
            for p in [out, *out.rglob("*")]:
                shutil.chown(p, "nobody")
            become = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
        cmd = become + ["nginx", "-p", f"{out}/", "-c", "nginx.conf", "-e", "stderr"]
        # the access log is standard output: give the user one it may open
        res = subprocess.run(cmd + ["-t", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert res.returncode == 0, res.stderr
        proc = subprocess.Popen(cmd + ["-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import time
            import urllib.request
            deadline = time.monotonic() + 10
            while True:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=2).read()
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline
                    time.sleep(0.05)
            assert body == b"ok"
            assert (out / "logs" / "nginx.pid").read_text().strip() == str(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(base, ignore_errors=True)
