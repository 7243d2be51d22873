"""Small loopback servers the runtime tests need beside the echo backend: a static JSON
server (a JWKS), a WebSocket-style upgrade server, a real WebSocket echo server, and a server
that accepts and never answers."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets.sync.server


class JsonServer:
    """Serves one JSON document at every path; counts the requests."""

    def __init__(self, document: dict, port: int = 0):
        self.body = json.dumps(document).encode()
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/jwks.json"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _RawServer:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self):
        self.running = False
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


class HangingServer(_RawServer):
    """Accepts, reads, never answers."""

    def handle(self, conn):
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass


def upgrade_roundtrip(port: int, path: str = "/chat") -> tuple[bytes, bytes]:
    """A WebSocket-style upgrade through a gateway on `port`: (response head, the answer to
    "ping frame" sent after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: edge.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                return head, b""
            head += chunk
        s.sendall(b"ping frame")
        got = b""
        while len(got) < 10:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return head, got


class UpgradeServer(_RawServer):
    """Answers an Upgrade request with 101, then echoes every byte back upper-cased."""

    def handle(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        self.request_head = head.decode("latin-1")
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        if rest:
            conn.sendall(rest.upper())
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                conn.sendall(chunk.upper())
        except OSError:
            pass


class EarlyAnswerServer(_RawServer):
    """Answers 200 (keep-alive) as soon as a request head arrives, without reading its body,
    and records every byte each connection receives: what a reused connection would carry."""

    def __init__(self, answer_after_s: float = 0.0):
        self.received: list[bytearray] = []
        self.answer_after_s = answer_after_s
        super().__init__()

    def handle(self, conn):
        got = bytearray()
        self.received.append(got)
        seen = 0  # where the search for the next head's end goes on
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                got += chunk
                while (end := got.find(b"\r\n\r\n", seen)) >= 0:
                    seen = end + 4
                    if self.answer_after_s:
                        time.sleep(self.answer_after_s)  # not reading: the edge's writes back up
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
        except OSError:
            pass


class EndlessHeadServer(_RawServer):
    """Answers every request with a response head that never ends (header lines, 1 MB)."""

    def handle(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for i in range(1024):
                conn.sendall(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000))
            conn.recv(65536)  # until the edge gives up on it
        except OSError:
            pass


class WebSocketEchoServer:
    """A WebSocket server (the websockets library) sending every message back, prefixed with
    the path it was opened on."""

    def __init__(self):
        def echo(ws):
            for message in ws:
                prefix = ws.request.path if isinstance(message, str) else ws.request.path.encode()
                ws.send(prefix + message)
        self.server = websockets.sync.server.serve(echo, "127.0.0.1", 0, max_size=None)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()


class OneAnswerServer(_RawServer):
    """Answers the first request of each connection (keep-alive, as far as it says) and
    closes the connection when a second one arrives: a kept-alive connection gone stale."""

    def handle(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            conn.recv(65536)
        except OSError:
            pass
        conn.close()
