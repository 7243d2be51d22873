"""Every sample, in every env, is served: upstreams replaced by echo backends, listeners
moved to free ports (TLS with the corpus certificate), credentials given test values; each
route's first match gets a request and no answer is a 5xx."""
from __future__ import annotations

import contextlib
import dataclasses
import http.client
import ssl

import pytest

from edgec import ir
from tests.conformance import corpus
from tests.conftest import free_port, sample_envs
from tests.runtime.conftest import LiveRuntime
from edgec.harness.echo import EchoServer


def _credentials(edge: ir.Edge, tmp_path, monkeypatch) -> ir.Edge:
    auth = []
    for a in edge.auth:
        if a.kind == "jwt":
            a = dataclasses.replace(a, jwks_url=None)  # no network: tokens are refused, which is an answer
        elif a.kind == "api_key" and a.keys_file:
            keys = tmp_path / f"{a.name}.keys"
            keys.write_text("test-key\n")
            a = dataclasses.replace(a, keys_file=str(keys))
        elif a.kind == "basic" and not isinstance(a.htpasswd, ir.Secret):
            pw = tmp_path / f"{a.name}.htpasswd"
            pw.write_text("user:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n")
            a = dataclasses.replace(a, htpasswd=str(pw))
        for secret in ([a.secret] if getattr(a, "secret", None) else []) + list(getattr(a, "keys", ())) + (
                [a.htpasswd] if isinstance(getattr(a, "htpasswd", None), ir.Secret) else []):
            monkeypatch.setenv(secret.secret, "user:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=" if a.kind == "basic"
                               else "test-secret-value-long-enough-for-hmac")
        auth.append(a)
    return dataclasses.replace(edge, auth=tuple(auth), observability=dataclasses.replace(
        edge.observability, access_log=ir.AccessLog("off", "-")))


@contextlib.contextmanager
def served(sample, env, tmp_path, monkeypatch):
    """The sample's edge served by the runtime with echo backends and free ports: yields that edge."""
    from edgec.pipeline import analyse
    edge = analyse(sample.read_text(), str(sample), env=env).edge
    assert edge is not None
    echoes = {u.name: EchoServer(u.name).start() for u in edge.upstreams}
    runtime = None
    try:
        ports = {lst.port: free_port() for lst in edge.listeners}
        live = corpus.with_listener_ports(corpus.with_servers(edge, {n: e.address for n, e in echoes.items()}), ports)
        live = _credentials(live, tmp_path, monkeypatch)
        runtime = LiveRuntime(live).start()
        yield live
    finally:
        if runtime is not None:
            runtime.stop()
        for e in echoes.values():
            e.stop()


@pytest.mark.parametrize("sample,env", sample_envs())
def test_sample_is_served(sample, env, tmp_path, monkeypatch):
    with served(sample, env, tmp_path, monkeypatch) as live:
        lst = next((x for x in live.listeners if x.redirect is None), live.listeners[0])
        answers = {}
        for route in live.routes:
            m = route.matches[0]
            path = m.path.value if m.path.type != "regex" else "/"
            host = m.hosts[0].replace("*", "x") if m.hosts else "edge.test"
            if lst.tls is not None:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection("127.0.0.1", lst.port, context=ctx, timeout=10)
            else:
                conn = http.client.HTTPConnection("127.0.0.1", lst.port, timeout=10)
            conn.request(m.methods[0] if m.methods else "GET", path, headers={"Host": host})
            resp = conn.getresponse()
            resp.read()
            conn.close()
            answers[route.name] = resp.status
        assert answers and all(status < 500 for status in answers.values()), answers
