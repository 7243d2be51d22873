"""HTTP/2 on a TLS listener with `http2`: curl (nghttp2) and an h2-library client over a real
TLS socket against the running gateway and echo backends. Streams on one connection are
answered independently: a limit refused on one stream, or one stream reset by the client,
leaves the others and the connection serving. Clients that do not offer h2 get HTTP/1.1."""
from __future__ import annotations

import http.client
import json
import signal
import socket
import ssl
import subprocess
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from h2.connection import ConnectionInputs, ConnectionState
from h2.errors import ErrorCodes

from tests.conftest import free_port, sample_envs
from tests.runtime.conftest import RuntimeProcess
from tests.runtime.test_operations import _certificate, _until, _write
from tests.runtime.test_samples import served

class Response:
    def __init__(self):
        self.status = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.ended = False
        self.reset = None  # the error code of a RST_STREAM from the server
        self.interim: list[int] = []  # statuses of 1xx responses

    @property
    def json(self):
        return json.loads(self.body)


class H2Client:
    """The tests' own HTTP/2 client: the h2 library over a TLS socket, one thread."""

    def __init__(self, port: int, validate: bool = True, read_window: bool = True):
        """`read_window=False`: a client that never reopens its windows (never acknowledges data)."""
        self.read_window = read_window
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=validate,
            normalize_outbound_headers=validate))
        # h2 treats any GOAWAY received as the end of the connection; the streams a graceful one
        # lets finish (RFC 9113 §6.8) are what these tests read, so for this client it is not
        machine = self.h2.state_machine
        machine._transitions = {**machine._transitions,
                                (ConnectionState.CLIENT_OPEN, ConnectionInputs.RECV_GOAWAY):
                                    (None, ConnectionState.CLIENT_OPEN)}
        self.h2.initiate_connection()
        self.responses: dict[int, Response] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.closed = False
        self.flush()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, method: str, path: str, headers=(), body: bytes | None = None, end: bool = True,
              authority: str = "localhost") -> int:
        """A new stream; with neither a body nor `end`, the request stays open for send_body."""
        sid = self.h2.get_next_available_stream_id()
        pseudo = [(":method", method), (":authority", authority)]
        if method != "CONNECT":
            pseudo += [(":scheme", "https"), (":path", path)]
        self.responses[sid] = Response()
        self.h2.send_headers(sid, pseudo + list(headers), end_stream=body is None and end)
        self.flush()
        if body is not None:
            self.send_body(sid, body)
        return sid

    def send_body(self, sid: int, body: bytes, end: bool = True) -> None:
        """In pieces as the server's windows allow; stops if the server has answered and reset."""
        view = memoryview(body)
        while view:
            if self.responses[sid].reset is not None or self.closed:
                return
            size = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size, len(view))
            if size <= 0:
                self.read()
                continue
            self.h2.send_data(sid, bytes(view[:size]))
            view = view[size:]
            self.flush()
        if end and self.responses[sid].reset is None:
            self.h2.end_stream(sid)
            self.flush()

    def read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return
        for ev in self.h2.receive_data(data):
            if isinstance(ev, h2.events.InformationalResponseReceived):
                self.responses[ev.stream_id].interim.append(int(dict(ev.headers)[":status"]))
            elif isinstance(ev, h2.events.ResponseReceived):
                r = self.responses[ev.stream_id]
                fields = dict(ev.headers)
                r.status = int(fields.pop(":status"))
                r.headers = fields
            elif isinstance(ev, h2.events.DataReceived):
                self.responses[ev.stream_id].body += ev.data
                if self.read_window:
                    self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self.responses[ev.stream_id].ended = True
            elif isinstance(ev, h2.events.StreamReset):
                self.responses[ev.stream_id].reset = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev
        self.flush()

    def wait(self, *sids: int) -> list[Response]:
        """Read until each stream is answered in full, or reset."""
        while not self.closed and not all(self.responses[s].ended or self.responses[s].reset is not None
                                          for s in sids):
            self.read()
        return [self.responses[s] for s in sids]

    def get(self, path: str, headers=()) -> Response:
        return self.wait(self.start("GET", path, headers))[0]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def h2_gateway(tmp_path, echo_servers, gateway):
    """h2_gateway(extra edge lines) → (port of an https+http2 listener, echo backend, LiveRuntime)."""
    cert, key = _certificate(tmp_path)

    def make(extra: str = ""):
        echo = echo_servers("a")["a"]
        port = free_port()
        rt, _ = gateway(f"""edge "h2" {{
          listen https {port} {{ tls cert "{cert}" key "{key}" http2 }}
          upstream a {{ server "{echo.address}" }}
          route r {{ forward a }}
          access_log off
          {extra}
        }}""")
        return port, echo, rt
    return make


def _curl(*args: str) -> tuple[str, str]:
    """curl's body and the HTTP version it spoke (`-w %{http_version}`)."""
    out = subprocess.run(["curl", "-sS", "-k", "--max-time", "20", "-w", "\n%{http_version}", *args],
                         capture_output=True, check=True, timeout=30).stdout.decode()
    body, _, version = out.rpartition("\n")
    return body, version


def test_curl_speaks_http2_through_edgec_run(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    cert, key = _certificate(tmp_path)
    log = tmp_path / "access.log"
    f = _write(tmp_path / "h2.edge", f"""edge "h2" {{
      listen https {port} {{ tls cert "{cert}" key "{key}" http2 }}
      upstream a {{ server "{echo.address}" }}
      route r {{ forward a }}
      access_log json "{log}"
    }}""")
    with RuntimeProcess(f, port) as proc:
        body, version = _curl("--http2", f"https://localhost:{port}/shop/cart?id=3", "-H", "X-Trace: t1",
                              "-H", "Cookie: a=1", "-H", "Cookie: b=2")
        assert version == "2"
        seen = json.loads(body)
        assert seen["method"] == "GET" and seen["path"] == "/shop/cart?id=3"
        assert seen["host"] == f"localhost:{port}"
        assert seen["headers"]["x-trace"] == "t1" and seen["headers"]["cookie"] == "a=1; b=2"
        assert seen["headers"]["x-forwarded-proto"] == "https" and seen["headers"]["x-forwarded-for"] == "127.0.0.1"

        body, version = _curl("--http2", f"https://localhost:{port}/orders", "--data-binary", "item=42")
        seen = json.loads(body)
        assert version == "2" and seen["method"] == "POST" and seen["body"] == "item=42"

        body, version = _curl("--http1.1", f"https://localhost:{port}/old")
        assert version == "1.1" and json.loads(body)["path"] == "/old"

        assert _until(lambda: log.exists() and len(log.read_text().splitlines()) == 3)
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        assert [x["protocol"] for x in lines] == ["HTTP/2.0", "HTTP/2.0", "HTTP/1.1"]
        assert [x["status"] for x in lines] == [200, 200, 200]
        assert "HTTP/1.1 only" not in proc.output()

        # a reload that takes http2 away: the port is listened on again, offering HTTP/1.1 only
        _write(f, f.read_text().replace(" http2 }", " }"))
        proc.signal(signal.SIGHUP)
        assert _until(lambda: "reloaded" in proc.output())
        assert _curl("--http2", f"https://localhost:{port}/now")[1] == "1.1"


def test_clients_without_h2_in_alpn_get_http11(h2_gateway):
    port, _, _ = h2_gateway()
    for alpn in (["http/1.1"], None):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if alpn:
            ctx.set_alpn_protocols(alpn)
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.request("GET", "/plain", headers={"Host": "localhost"})
        r = c.getresponse()
        assert r.status == 200 and r.version == 11 and json.loads(r.read())["path"] == "/plain"
        assert c.sock.selected_alpn_protocol() in (alpn or [None])
        c.close()


def test_head_and_expect_continue(h2_gateway):
    port, echo, _ = h2_gateway()
    client = H2Client(port)
    (head,) = client.wait(client.start("HEAD", "/h"))
    assert head.status == 200 and head.ended and head.body == b"" and int(head.headers["content-length"]) > 0
    sid = client.start("POST", "/continue", [("expect", "100-continue"), ("content-length", "4")], end=False)
    while not client.responses[sid].interim:
        client.read()  # the body waits for the edge's 100 Continue, sent once the backend is reached
    client.send_body(sid, b"data")
    (r,) = client.wait(sid)
    assert r.interim == [100] and r.status == 200 and r.json["body"] == "data"
    client.close()


def test_post_body_streamed_without_length(h2_gateway):
    port, echo, _ = h2_gateway()
    client = H2Client(port)
    sid = client.start("POST", "/upload", [("content-type", "text/plain")], end=False)
    for part in (b"first,", b"second,", b"third"):
        client.send_body(sid, part, end=False)
    client.h2.end_stream(sid)
    client.flush()
    (r,) = client.wait(sid)
    assert r.status == 200
    seen = r.json
    assert seen["body"] == "first,second,third" and seen["headers"]["transfer-encoding"] == "chunked"
    assert "content-length" not in seen["headers"]
    client.close()


def test_many_concurrent_streams_on_one_connection(h2_gateway):
    port, echo, _ = h2_gateway()
    client = H2Client(port)
    sids = {}
    for i in range(100):
        if i % 2:
            sids[client.start("POST", f"/item/{i}", [("x-n", str(i))], body=f"body {i}".encode())] = i
        else:
            sids[client.start("GET", f"/item/{i}?q={i}", [("x-n", str(i))])] = i
    responses = client.wait(*sids)
    for sid, r in zip(sids, responses):
        i = sids[sid]
        assert r.status == 200 and r.ended, (i, r.status, r.reset)
        seen = r.json
        assert seen["headers"]["x-n"] == str(i)
        if i % 2:
            assert seen["method"] == "POST" and seen["path"] == f"/item/{i}" and seen["body"] == f"body {i}"
        else:
            assert seen["method"] == "GET" and seen["path"] == f"/item/{i}?q={i}"
    assert len(echo.requests) == 100
    client.close()


def test_large_bodies_through_flow_control(h2_gateway, tmp_path):
    port, _, _ = h2_gateway("limits { max_body 8mb }")
    client = H2Client(port)  # the client's windows are h2's default 64 KiB: the response waits on them
    big = bytes(range(32, 127)) * (4 * 1024 * 1024 // 95)
    sid = client.start("POST", "/big", [("content-length", str(len(big)))], body=big)
    other = client.start("GET", "/small")
    r, small = client.wait(sid, other)
    assert r.status == 200 and r.ended and int(r.headers["content-length"]) == len(r.body) > len(big)
    assert r.json["body"].encode() == big
    assert small.status == 200 and small.json["path"] == "/small"
    data = tmp_path / "big.bin"
    data.write_bytes(big)
    body, version = _curl("--http2", f"https://localhost:{port}/curl-big", "--data-binary", f"@{data}")
    assert version == "2" and json.loads(body)["body"].encode() == big
    client.close()


def test_an_answer_in_one_piece_waits_on_a_window_smaller_than_it(h2_gateway):
    port, _, _ = h2_gateway()
    client = H2Client(port)
    client.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1000})
    client.flush()
    body = "w" * 6000  # the backend's answer, about 6.5 KB, comes in one piece: a frame any peer accepts
    (r,) = client.wait(client.start("POST", "/small-window", [("content-length", str(len(body)))],
                                    body=body.encode()))
    assert r.status == 200 and r.ended and len(r.body) == int(r.headers["content-length"]) > 6000
    assert r.json["body"] == body
    assert client.get("/next").status == 200
    client.close()


def test_header_and_body_limits_refuse_one_stream_only(h2_gateway):
    port, echo, _ = h2_gateway("limits { max_body 16kb max_headers 20 max_header_size 1kb }")
    client = H2Client(port)
    many = client.start("GET", "/many", [(f"x-h{i}", "v") for i in range(30)])
    large = client.start("GET", "/large", [("x-big", "v" * 2000)])
    declared = client.start("POST", "/declared", [("content-length", str(64 * 1024))], end=False)
    sent = client.start("POST", "/sent", end=False)  # no length: refused when the body passes the limit
    long_target = client.start("GET", "/" + "p" * 2000)
    ok = client.start("GET", "/ok")
    client.send_body(sent, b"x" * (64 * 1024))
    r_many, r_large, r_declared, r_sent, r_long, r_ok = client.wait(many, large, declared, sent, long_target, ok)
    assert (r_many.status, r_large.status, r_declared.status, r_sent.status) == (431, 431, 413, 413)
    assert r_long.status == 414
    assert r_many.json["error"] == "too many headers" and r_sent.json["error"] == "request body too large"
    assert r_ok.status == 200 and r_ok.json["path"] == "/ok"
    assert client.get("/after").status == 200  # the same connection
    assert {x["path"] for x in echo.requests} >= {"/ok", "/after"}
    assert not {"/many", "/large", "/declared"} & {x["path"] for x in echo.requests}
    client.close()


def test_stream_reset_by_client_leaves_connection_serving(h2_gateway):
    port, echo, _ = h2_gateway()
    client = H2Client(port)
    slow = client.start("GET", "/slow?delay=0.5")
    assert _until(lambda: any(x["path"].startswith("/slow") for x in echo.requests))
    client.h2.reset_stream(slow, ErrorCodes.CANCEL)
    client.flush()
    upload = client.start("POST", "/upload", end=False)
    client.send_body(upload, b"partial", end=False)
    client.h2.reset_stream(upload, ErrorCodes.CANCEL)
    client.flush()
    r = client.get("/after")
    assert r.status == 200 and r.json["path"] == "/after"
    assert client.goaway is None and not client.closed
    client.close()


def test_timeouts_slow_body_stalled_reader_idle_connection(h2_gateway):
    port, echo, _ = h2_gateway("limits { header_timeout 1s idle_timeout 1s max_body 8mb }")
    client = H2Client(port)
    upload = client.start("POST", "/slow-upload", end=False)
    client.send_body(upload, b"some but not all", end=False)
    (r,) = client.wait(upload)  # the client sends nothing more
    assert r.status == 408 and r.json["error"] == "request timeout"
    while r.reset is None and not client.closed:
        client.read()
    assert r.reset == ErrorCodes.NO_ERROR  # the upload the answer made useless is stopped
    assert client.get("/next").status == 200
    while not client.closed:  # then no stream for the idle timeout: GOAWAY, and the connection closes
        client.read()
    assert client.goaway is not None and client.goaway.error_code == ErrorCodes.NO_ERROR
    client.close()

    stalled = H2Client(port, read_window=False)
    (r,) = stalled.wait(stalled.start("POST", "/big", body=b"x" * (1024 * 1024)))
    assert r.status == 200 and r.reset == ErrorCodes.CANCEL and not r.ended
    assert len(r.body) <= 65_535  # what h2's default window let through before the client stopped
    stalled.close()


def test_connect_refused_and_malformed_request_ends_only_its_connection(h2_gateway):
    port, _, _ = h2_gateway()
    client = H2Client(port)
    (r,) = client.wait(client.start("CONNECT", "", authority="example.com:443"))
    assert r.status == 501
    assert client.get("/still").status == 200
    client.close()
    bad = H2Client(port, validate=False)
    bad.start("GET", "/", [("host", "other.example")])  # differs from :authority: malformed (RFC 9113 §8.3.1)
    while not bad.closed and bad.goaway is None:
        bad.read()
    assert bad.goaway is not None and bad.goaway.error_code == ErrorCodes.PROTOCOL_ERROR
    bad.close()
    assert H2Client(port).get("/next").status == 200


@pytest.mark.parametrize("fields", [
    [("X-Smuggle", "1")], [("x-a", "1\r\nx-b: 2")], [("x-a", " 1")], [("transfer-encoding", "chunked")],
    [("te", "gzip")], [("x-a", "1"), (":authority", "localhost")], [(":status", "200")],
], ids=["upper-case name", "CRLF in value", "space around value", "transfer-encoding", "te", "late pseudo-field",
        "response pseudo-field"])
def test_malformed_requests_end_their_connection(h2_gateway, fields):
    """Each request RFC 9113 calls malformed (tests/runtime/test_h2fields.py has them all) gets
    GOAWAY PROTOCOL_ERROR and reaches no backend; the stream opened before it is answered."""
    port, echo, _ = h2_gateway()
    bad = H2Client(port, validate=False)
    good = bad.start("GET", "/first")
    bad.wait(good)
    bad.start("GET", "/bad", fields)
    while not bad.closed and bad.goaway is None:
        bad.read()
    assert bad.goaway is not None and bad.goaway.error_code == ErrorCodes.PROTOCOL_ERROR
    assert bad.responses[good].status == 200
    bad.close()
    assert H2Client(port).get("/next").status == 200
    assert [r["path"] for r in echo.requests] == ["/first", "/next"]


def test_streams_in_flight_when_the_client_sends_goaway_are_let_go(h2_gateway, caplog):
    """h2 sends nothing after a GOAWAY it receives: the answer of a stream still in flight
    is dropped (no internal error, no broken backend connection) and the connection closes."""
    port, echo, _ = h2_gateway()
    client = H2Client(port)
    assert client.get("/first").status == 200  # both sides' settings exchanged
    client.start("GET", "/inflight?delay=0.3")
    _until(lambda: len(echo.requests) == 2)
    client.h2.close_connection()
    client.flush()
    time.sleep(0.6)  # the backend has answered meanwhile
    while not client.closed:
        client.read()
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    assert H2Client(port).get("/next").status == 200


def test_graceful_shutdown_sends_goaway_and_finishes_streams(h2_gateway):
    port, echo, rt = h2_gateway()
    client = H2Client(port)
    sid = client.start("GET", "/inflight?delay=0.5")
    assert _until(lambda: any(x["path"].startswith("/inflight") for x in echo.requests))
    stopper = threading.Thread(target=rt.stop)
    stopper.start()
    try:
        (r,) = client.wait(sid)
        while not client.closed:
            client.read()
    finally:
        stopper.join(15)
    assert client.goaway is not None and client.goaway.error_code == ErrorCodes.NO_ERROR
    assert client.goaway.last_stream_id == sid
    assert r.status == 200 and r.ended and r.json["path"] == "/inflight?delay=0.5"
    client.close()


def _http2_samples():
    from edgec.pipeline import analyse
    out = []
    for param in sample_envs():
        sample, env = param.values
        edge = analyse(sample.read_text(), str(sample), env=env).edge
        if edge is not None and any(lst.http2 and lst.tls for lst in edge.listeners):
            out.append(param)
    return out


@pytest.mark.parametrize("sample,env", _http2_samples())
def test_samples_with_http2_serve_it(sample, env, tmp_path, monkeypatch):
    with served(sample, env, tmp_path, monkeypatch) as live:
        for lst in live.listeners:
            if lst.http2 and lst.tls:
                _, version = _curl("--http2", "-o", "/dev/null", f"https://127.0.0.1:{lst.port}/")
                assert version == "2"


def test_curl_parallel_streams_share_one_connection(h2_gateway):
    port, echo, _ = h2_gateway()
    urls = [f"https://localhost:{port}/p/{i}" for i in range(20)]
    args = [x for u in urls for x in ("-o", "/dev/null", u)]
    out = subprocess.run(["curl", "-sS", "-k", "--http2", "--parallel", "--max-time", "20",
                          "-w", "%{http_version} %{http_code} %{num_connects} %{url_effective}\n", *args],
                         capture_output=True, check=True, timeout=30).stdout.decode()
    lines = [x.split() for x in out.splitlines() if x]
    assert len(lines) == 20 and all(x[:2] == ["2", "200"] for x in lines)
    assert sum(int(x[2]) for x in lines) == 1  # one connection, every transfer a stream on it
    assert {x[3] for x in lines} == set(urls)
    assert sorted(x["path"] for x in echo.requests) == sorted(f"/p/{i}" for i in range(20))


def _until_dropped(client: H2Client) -> None:
    """Read, sending nothing more (the server may refuse it), until the server ends the
    connection; a GOAWAY and streams that ended are noted."""
    try:
        while data := client.sock.recv(65536):
            for ev in client.h2.receive_data(data):
                if isinstance(ev, h2.events.ConnectionTerminated):
                    client.goaway = ev
                elif isinstance(ev, h2.events.StreamEnded):
                    client.responses[ev.stream_id].ended = True
    except (ConnectionResetError, ssl.SSLError):
        pass
    client.closed = True


@pytest.mark.parametrize("frame", ["ping", "settings", "priority"])
def test_control_frame_flood_gets_goaway_and_others_go_on(h2_gateway, frame):
    """A client sending control frames without end (CVE-2019-9512, -9515): GOAWAY
    ENHANCE_YOUR_CALM past the burst, the connection closed; other clients are served."""
    port, echo, _ = h2_gateway()
    other = H2Client(port)
    flood = H2Client(port)
    for i in range(3000):
        if frame == "ping":
            flood.h2.ping(b"%08d" % i)
        elif frame == "settings":
            flood.h2.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100 + i % 2})
        else:
            flood.h2.prioritize(1 + 2 * (i % 50), weight=1 + i % 200)
        if i % 100 == 99:
            try:
                flood.flush()
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                break  # dropped already
    _until_dropped(flood)
    assert flood.goaway is not None and flood.goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert other.get("/other").status == 200 and H2Client(port).get("/new").status == 200
    other.close()


def test_rapid_reset_gets_goaway(h2_gateway):
    """Streams opened and reset at once (CVE-2023-44487): past the bound, GOAWAY
    ENHANCE_YOUR_CALM; a client resetting now and then is served on."""
    port, echo, _ = h2_gateway()
    polite = H2Client(port)
    for _ in range(20):  # a few cancelled requests among normal ones
        sid = polite.start("GET", "/slow?delay=0.2")
        polite.h2.reset_stream(sid, ErrorCodes.CANCEL)
        polite.flush()
        assert polite.get("/ok").status == 200
    flood = H2Client(port)
    try:
        for i in range(2000):
            sid = flood.start("GET", f"/r/{i}", end=True)
            flood.h2.reset_stream(sid, ErrorCodes.CANCEL)
            if i % 50 == 49:
                flood.flush()
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        pass
    _until_dropped(flood)
    assert flood.goaway is not None and flood.goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert flood.goaway.last_stream_id < 2 * 2000 - 1  # the connection ended before the flood did
    assert polite.get("/still").status == 200 and polite.goaway is None
    polite.close()


def test_client_that_reads_nothing_is_dropped(h2_gateway, monkeypatch):
    """Frames that answer a client's own (PING acks here) are not held without bound for a
    client that reads none of what it is sent: past UNREAD_LIMIT bytes waiting (lowered here,
    so that the test needs not send enough to reach it) the client is disconnected."""
    from edgec.runtime import h2conn
    monkeypatch.setattr(h2conn, "UNREAD_LIMIT", 1)
    port, echo, _ = h2_gateway("limits { max_body 16mb }")
    client = H2Client(port)
    client.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2 ** 31 - 1})
    client.h2.increment_flow_control_window(2 ** 30)
    sid = client.start("POST", "/big", body=b"x" * (8 * 1024 * 1024))  # answered with 8 MB the client never reads
    assert _until(lambda: len(echo.requests) == 1)
    try:
        for i in range(50):  # within the control-frame burst: only the unread bytes can end it
            time.sleep(0.1)
            client.h2.ping(b"%08d" % i)
            client.flush()
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        pass
    _until_dropped(client)
    assert client.closed and not client.responses[sid].ended  # cut before its answer was read whole
    assert H2Client(port).get("/next").status == 200


def test_head_over_the_bound_refuses_its_stream(h2_gateway):
    """The header lines of one stream together within 4 x max_header_size, as over HTTP/1.1."""
    port, echo, _ = h2_gateway("limits { max_header_size 1kb }")
    client = H2Client(port)
    (big,) = client.wait(client.start("GET", "/big", [(f"x-pad-{i}", "a" * 900) for i in range(5)]))
    assert big.status == 431 and big.json["error"] == "request head too large"
    assert client.get("/small", [(f"x-pad-{i}", "a" * 900) for i in range(3)]).status == 200
    assert [r["path"] for r in echo.requests] == ["/small"]
    client.close()


def _one_answer_backend(tmp_path, gateway, answer: bytes) -> int:
    """A backend that answers one request with `answer` (sent in pieces, as a backend streams
    it), behind an edge with HTTP/2: the edge's port."""
    backend = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = backend.accept()
        with conn:
            while not conn.recv(65536).endswith(b"\r\n\r\n"):
                pass
            for at in range(0, len(answer), 7):
                conn.sendall(answer[at:at + 7])
                time.sleep(0.001)
            if b"Connection: close" not in answer:
                conn.recv(1)  # until the edge closes
        backend.close()

    threading.Thread(target=serve, daemon=True).start()
    cert, key = _certificate(tmp_path)
    port = free_port()
    gateway(f"""edge "h2" {{
      listen https {port} {{ tls cert "{cert}" key "{key}" http2 }}
      upstream a {{ server "127.0.0.1:{backend.getsockname()[1]}" }}
      route r {{ forward a }}
      access_log off
    }}""")
    return port


def test_backend_fields_go_out_as_http2_has_them(tmp_path, gateway):
    """HTTP/1.1 lets a backend write field names in upper case and values with whitespace after
    them; over HTTP/2 they go out lower-cased and stripped (the edge's own HEADERS are not checked
    again by h2, so the edge makes them so itself), and the client's h2 accepts them."""
    port = _one_answer_backend(tmp_path, gateway, b"HTTP/1.1 200 OK\r\nX-Padded: v  \t\r\nX-UPPER: Kept Case \r\n"
                                                  b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
    client = H2Client(port)
    r = client.get("/")
    assert (r.status, r.body) == (200, b"ok")
    assert r.headers["x-padded"] == "v" and r.headers["x-upper"] == "Kept Case"
    client.close()


@pytest.mark.parametrize("answer, status, body", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n", 200,
     b"firstsecond"),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the backend closes", 200, b"until the backend closes"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, b""),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
    (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", 200,
     b"body"),
], ids=["chunked", "close-delimited", "empty", "204", "103-then-200"])
def test_backend_bodies_of_every_framing_end_their_stream(tmp_path, gateway, answer, status, body):
    """The stream's DATA is the backend's body whatever its HTTP/1.1 framing, and the stream ends
    with it (no framing field reaches the client)."""
    client = H2Client(_one_answer_backend(tmp_path, gateway, answer))
    (r,) = client.wait(client.start("GET", "/"))
    assert (r.status, r.body, r.ended) == (status, body, True)
    assert "transfer-encoding" not in r.headers and "connection" not in r.headers
    client.close()
