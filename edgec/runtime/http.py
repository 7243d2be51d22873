"""HTTP/1.1 framing helpers shared by both sides of the proxy (never a parser: httptools parses)."""
from __future__ import annotations

import json
from http import HTTPStatus

# RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones proxies still see
HOP_BY_HOP = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"transfer-encoding", b"upgrade", b"proxy-authenticate", b"proxy-authorization"))
# backend identity the edge hides
HIDDEN_RESPONSE = frozenset((b"server", b"x-powered-by"))

class Refused(Exception):
    """A request the edge answers with `status` before any more of it is read."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
REASONS[499] = b"Client Closed Request"


STATUS_LINES = {code: b"HTTP/1.1 %d %s\r\n" % (code, reason) for code, reason in REASONS.items()}


_PAIR = b": ".join  # one header line of a (name, value) pair, joined in C


def head(status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    line = STATUS_LINES.get(status) or b"HTTP/1.1 %d Unknown\r\n" % status
    if not headers:
        return line + b"\r\n"
    return line + b"\r\n".join(map(_PAIR, headers)) + b"\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def error_body(status: int, message: str | None = None) -> tuple[bytes, bytes]:
    """The edge's own error answers: small JSON, never a traceback or a backend detail."""
    text = message or REASONS.get(status, b"error").decode()
    return json.dumps({"error": text, "status": status}).encode(), b"application/json"


def cookies(raw: bytes | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if raw:
        for part in raw.decode("latin-1").split(";"):
            k, sep, v = part.strip().partition("=")
            if sep and k not in out:
                out[k] = v
    return out
