"""CORS: answers preflight requests at the edge and decorates the responses of allowed origins."""
from __future__ import annotations

from .. import ir


class CorsPolicy:
    def __init__(self, cors: ir.Cors):
        self.any = "*" in cors.origins
        self.origins = frozenset(cors.origins)
        self.credentials = cors.credentials
        self.methods = ", ".join(cors.methods).encode()
        self.allow_headers = ", ".join(cors.headers).encode()
        self.expose = ", ".join(cors.expose).encode()
        self.max_age = str(cors.max_age_s).encode()

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (self.any or origin in self.origins)

    @staticmethod
    def is_preflight(method: str, headers: dict[str, str]) -> bool:
        return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers

    def _origin(self, origin: str) -> list[tuple[bytes, bytes]]:
        # with credentials the browser refuses "*": echo the origin, and say the answer varies by it
        if self.any and not self.credentials:
            out = [(b"access-control-allow-origin", b"*")]
        else:
            out = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if self.credentials:
            out.append((b"access-control-allow-credentials", b"true"))
        return out

    def preflight(self, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
        """The preflight answer's own headers: the origin's come with every answer on the route
        (actual, added as the answer is sent), once."""
        out = [(b"access-control-allow-methods", self.methods)]
        requested = headers.get("access-control-request-headers")
        if self.allow_headers:
            out.append((b"access-control-allow-headers", self.allow_headers))
        elif requested and self.any and not self.credentials:
            out.append((b"access-control-allow-headers", requested.encode("latin-1")))
        out.append((b"access-control-max-age", self.max_age))
        return out

    def actual(self, origin: str) -> list[tuple[bytes, bytes]]:
        out = self._origin(origin)
        if self.expose:
            out.append((b"access-control-expose-headers", self.expose))
        return out
