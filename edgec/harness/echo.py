"""Echo backends for behaviour and conformance tests.

Each backend answers every request with JSON describing what reached it:
{"backend": NAME, "method", "path" (path + query as received), "host", "headers": {lower-case name: value,
...}, "body"}. Repeated request headers are joined with "," (as the Gateway API conformance
harness compares them).

Test controls, all optional, read from the query string:
  delay=<seconds>                          wait before answering (timeouts)
  status=<code>                            answer with this status
  responseCode=<C>&succeedAfter=<N>&uuid=<U>  answer C for the first N requests of uuid U, then 200 (retries)
and from the request header `X-Echo-Set-Header: Name: value, Name2: value2`, response headers to send
(response header modifier cases).

Run one per upstream: `EchoServer("v1").start()` listens on 127.0.0.1 on a free port;
`.stop()` stops it and cuts its open connections. `.requests` holds every request seen (for mirror checks).
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "echo"
    # head and body are written separately: with Nagle on, every keep-alive request through a
    # proxy would wait ~40 ms for a delayed ACK
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _handle(self):
        server: EchoServer = self.server.echo  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        # the target as sent: http.server turns a leading "//" into "/" in self.path
        target = self.requestline.split(" ")[1] if self.requestline.count(" ") == 2 else self.path
        record = {"backend": server.name, "method": self.command, "path": target,
                  "host": self.headers.get("Host", ""), "headers": headers,
                  "body": body.decode("utf-8", "replace")}
        with server.lock:
            server.requests.append(record)
        query = parse_qs(urlsplit(self.path).query)
        status = server.status
        if "delay" in query:
            time.sleep(float(query["delay"][0].rstrip("s")))
        if "status" in query:
            status = int(query["status"][0])
        if "responseCode" in query and "uuid" in query:
            uuid = query["uuid"][0]
            with server.lock:
                seen = server.attempts.get(uuid, 0)
                server.attempts[uuid] = seen + 1
            if seen < int(query.get("succeedAfter", ["0"])[0]):
                status = int(query["responseCode"][0])
        payload = json.dumps(record).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Backend", server.name)
        for item in self.headers.get_all("X-Echo-Set-Header") or []:
            for pair in item.split(","):
                name, sep, value = pair.partition(":")
                if sep:
                    self.send_header(name.strip(), value.strip())
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _handle


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 overflows when a proxy opens many connections at once
    request_queue_size = 256
    daemon_threads = True

    def get_request(self):
        conn, addr = super().get_request()
        with self.echo.lock:  # type: ignore[attr-defined]
            self.echo.connections.add(conn)  # type: ignore[attr-defined]
        return conn, addr

    def shutdown_request(self, request):
        with self.echo.lock:  # type: ignore[attr-defined]
            self.echo.connections.discard(request)  # type: ignore[attr-defined]
        super().shutdown_request(request)


class EchoServer:
    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0, tls=None, status: int = 200):
        """`tls`: an ssl.SSLContext (server side) to answer over HTTPS; `status`: what every answer
        the query does not decide has (a server that fails at the application level)."""
        self.name = name
        self.status = status
        self.requests: list[dict] = []
        self.attempts: dict[str, int] = {}
        self.connections: set = set()
        self.lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.echo = self  # type: ignore[attr-defined]
        if tls is not None:
            # the handshake runs in the request's thread: one that fails closes that connection only
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "EchoServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"echo-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop as a killed server does: no more connections, and the open ones (a proxy's
        keep-alive pool) cut."""
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            open_ = list(self.connections)
        for conn in open_:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
