"""Holding a running gateway to a routing case over real HTTP (the conformance tests, `edgec fuzz`).

`check(case, echoes, base_url=...)` sends the case's request to the gateway (redirects are
not followed) and returns what differs from the case's expectation, in words; an empty
list is a pass. `echoes` maps upstream name → tests.support.echo.EchoServer; each echo
answers with JSON saying which backend got the request and what it saw.
"""
from __future__ import annotations

import http.client
import json
import ssl
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from edgec.cases import Case, header_mismatches
from edgec.routing import DEFAULT_PORTS, compile as compile_router

from .live import edge_of


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return ",".join(values) if values else None

    def echo(self) -> dict | None:
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) and "backend" in data else None


class _Raw:
    """A request line sent as given: a target with raw UTF-8 (which http.client refuses) is
    one of the hostile requests a gateway must answer."""

    def _encode_request(self, request: str) -> bytes:
        return request.encode("utf-8")


class _RawHTTP(_Raw, http.client.HTTPConnection):
    pass


class _RawHTTPS(_Raw, http.client.HTTPSConnection):
    pass


def send(scheme: str, host: str, port: int, method: str, target: str, headers, timeout: float = 10.0) -> Response:
    """One request with exactly these header lines (Host among them) and the target as given."""
    if scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = _RawHTTPS(host, port, timeout=timeout, context=ctx)
    else:
        conn = _RawHTTP(host, port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, list(resp.getheaders()), body)
    finally:
        conn.close()


class Client:
    """Requests to a gateway on loopback whose `ports` map each declared listener port to the
    real one (the first listener when no port is given)."""

    ports: dict[int, int]

    def request(self, method: str, target: str, headers=(), port: int | None = None, https: bool = False,
                host: str = "edge.test") -> Response:
        real = self.ports[port] if port is not None else next(iter(self.ports.values()))
        lines = list(headers)
        if not any(n.lower() == "host" for n, _ in lines):
            lines.insert(0, ("Host", host))
        return send("https" if https else "http", "127.0.0.1", real, method, target, lines)

    def get(self, target: str, headers=(), **kw) -> Response:
        return self.request("GET", target, headers, **kw)


def check(case: Case, echoes: dict, *, base_url: str | None = None, listener_ports: dict[int, int] | None = None,
          timeout: float = 10.0, edge=None) -> list[str]:
    """Run the case against a live gateway. Either `base_url` (one listener) or
    `listener_ports` ({port in the .edge file: port the gateway really listens on}, on
    127.0.0.1) says where to send it. `edge`: the case's IR, when its file names none."""
    edge = edge if edge is not None else edge_of(case)
    router = compile_router(edge)
    req = case.request(edge)
    declared_port = router.listener_port(req)
    if listener_ports is not None:
        scheme, host, port = req.scheme, "127.0.0.1", listener_ports[declared_port]
    else:
        parts = urlsplit(base_url)
        scheme, host, port = parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme]
    target = req.target.replace("{uuid}", uuid.uuid4().hex)
    lines = [("Host", req.host)] + list(req.headers)
    exp = case.expect
    if case.statistical:
        return _statistical(case, scheme, host, port, req.method, target, lines, timeout)
    seen_before = {name: len(e.requests) for name, e in echoes.items()}
    try:
        resp = send(scheme, host, port, req.method, target, lines, timeout)
    except (OSError, http.client.HTTPException) as err:
        return [f"request failed: {err!r}"]
    bad: list[str] = []
    new = {name: e.requests[seen_before[name]:] for name, e in echoes.items() if len(e.requests) > seen_before[name]}
    echo = resp.echo()
    if echo is None:  # HEAD, or a body the gateway replaced
        name = next((n for n in (exp.get("upstream"), *exp.get("upstreams", ())) if n in new), None)
        echo = new[name][-1] if name else None
    if "status" in exp and resp.status != exp["status"]:
        bad.append(f"status: expected {exp['status']}, got {resp.status}")
    if "route" in exp and exp["route"] is None and new:
        bad.append(f"no backend should be reached, but {', '.join(sorted(new))} got the request")
    if "upstream" in exp:
        got = echo["backend"] if echo else None
        if got != exp["upstream"]:
            bad.append(f"upstream: expected {exp['upstream']!r}, got {got!r} (status {resp.status})")
    if "upstreams" in exp:
        got = echo["backend"] if echo else None
        if got not in exp["upstreams"]:
            bad.append(f"upstream: expected one of {exp['upstreams']!r}, got {got!r} (status {resp.status})")
    if echo is not None:
        if "path" in exp and echo["path"] != exp["path"]:
            bad.append(f"backend path: expected {exp['path']!r}, got {echo['path']!r}")
        if "host" in exp and echo["host"] != exp["host"]:
            bad.append(f"backend host: expected {exp['host']!r}, got {echo['host']!r}")
        if "headers" in exp or "absent_headers" in exp:
            bad.extend(header_mismatches("backend header", list(echo["headers"].items()),
                                         exp.get("headers") or {}, exp.get("absent_headers") or []))
    elif any(k in exp for k in ("path", "host", "headers", "absent_headers")):
        bad.append(f"expected the request to reach a backend, got status {resp.status} without an echo body")
    if "response_headers" in exp or "absent_response_headers" in exp:
        bad.extend(header_mismatches("response header", resp.headers, exp.get("response_headers") or {},
                                     exp.get("absent_response_headers") or []))
    if "location" in exp:
        want = _expected_location(case, edge, router, exp["location"], listener_ports)
        got = resp.header("Location")
        if got != want:
            bad.append(f"location: expected {want!r}, got {got!r}")
    for name in exp.get("mirrored") or ():
        if not _received(echoes.get(name), seen_before.get(name, 0), target.split("?")[0]):
            bad.append(f"mirror {name}: no copy of the request arrived within {MIRROR_WAIT_S}s")
    if "body" in exp and resp.body.decode("utf-8", "replace") != exp["body"]:
        bad.append(f"body: expected {exp['body']!r}, got {resp.body[:200]!r}")
    return bad


MIRROR_WAIT_S = 3.0


def failures(cases, skipped: dict[str, str | None], echoes: dict, listener_ports: dict[int, int],
             edge=None) -> dict[str, list[str]]:
    """Every case not skipped, run against a live gateway: case name → its problems."""
    found = {}
    for case in cases:
        if not skipped[case.name]:
            problems = check(case, echoes, listener_ports=listener_ports, edge=edge)
            if problems:
                found[case.name] = problems
    return found


def _received(echo, before: int, path: str) -> bool:
    """Did the echo backend get a request for this path (mirrors are sent asynchronously)?"""
    if echo is None:
        return False
    deadline = time.monotonic() + MIRROR_WAIT_S
    while True:
        if any(r["path"].split("?")[0] == path for r in echo.requests[before:]):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _expected_location(case, edge, router, expected: str | None, listener_ports) -> str | None:
    """The expected Location, with the port moved when it comes from the listener the
    gateway was moved off (a redirect that names neither scheme nor port)."""
    if expected is None or not listener_ports:
        return expected
    decision = router.decide(case.request(edge))
    if decision.action != "redirect":
        return expected
    action = edge.route(decision.route).action
    if action.scheme is not None or action.port is not None:
        return expected
    parts = urlsplit(expected)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    actual = listener_ports.get(port, port)
    authority = parts.hostname if actual == DEFAULT_PORTS[parts.scheme] else f"{parts.hostname}:{actual}"
    return expected.replace(parts.netloc, authority, 1)


def _statistical(case: Case, scheme, host, port, method, target, lines, timeout) -> list[str]:
    exp = case.expect
    n = int(exp.get("n", 500))
    tolerance = float(exp.get("tolerance", 0.05))
    counts: dict[str, int] = {}
    for i in range(n):
        try:
            resp = send(scheme, host, port, method, target, lines + [("X-Entropy", uuid.uuid4().hex)], timeout)
        except (OSError, http.client.HTTPException) as err:
            return [f"request {i + 1} of {n} failed: {err!r}"]
        echo = resp.echo()
        name = echo["backend"] if echo else f"status {resp.status}"
        counts[name] = counts.get(name, 0) + 1
    bad = []
    for name, share in exp["weights"].items():
        got = counts.get(name, 0) / n
        if (share == 0 and got > 0) or abs(got - float(share)) > tolerance:
            bad.append(f"share of {name}: expected {share} ± {tolerance}, got {got:.3f} over {n} requests")
    for name, count in counts.items():
        if name not in exp["weights"]:
            bad.append(f"{count} of {n} requests went to {name}, which should get none")
    return bad
