"""The fields of an HTTP/2 request, checked as RFC 9113 §8.2 and §8.3 require, in one pass.

h2 can check them too (its validate_inbound_headers), through a chain of seven generators per
header block that costs about a tenth of the edge's work per request. Here the same checks run
in the loop that picks the pseudo-fields out anyway, with one regular expression per name and
per value, and a regular field a client sent before in a well-formed request is not checked
again. Each of them keeps a request the edge forwards over HTTP/1.1 from meaning something
else to the backend than to the edge (smuggling): control bytes and CR/LF/NUL, upper case,
connection-specific fields, TE, pseudo-fields duplicated, late, unknown or missing, and a Host
that differs from :authority. A name must moreover be an HTTP token (RFC 9110 §5.1), as
httptools requires of an HTTP/1.1 request, since that is how the backend receives it.

Trailers are not forwarded (h2conn ignores them), so they are not checked either.
"""
from __future__ import annotations

import re

_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")  # a token, lower case (RFC 9110 §5.1, 9113 §8.2.1)
_CONTROL = re.compile(rb"[\x00\r\n]")  # NUL, CR or LF anywhere (RFC 9113 §8.2.1)
_EDGE_WHITESPACE = (0x20, 0x09)  # nor whitespace at either end (a value's first or last byte)
_CONNECTION_SPECIFIC = frozenset((b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding",
                                  b"upgrade"))
_PSEUDO = frozenset((b":method", b":scheme", b":authority", b":path", b":protocol"))
# Regular fields found well-formed, passed on without their checks made again: a client sends
# the same few on every request (HPACK gives them back as the very same objects), and none of
# these checks depends on the rest of the request (Host and Cookie, which do, are not kept).
# Bounded: a client sending ever new fields empties it, and a long value is not kept.
_WELL_FORMED: set = set()
_WELL_FORMED_MAX = 512
_WELL_FORMED_VALUE_MAX = 256


class Malformed(Exception):
    """A request RFC 9113 calls malformed; the message says why."""


def request(fields) -> tuple[bytes, bytes | None, list]:
    """`fields` as h2 decoded them (bytes pairs, in order) → the method, the path and the other
    fields in order (a Host made from :authority when there is none; split cookies joined with
    "; ", last); Malformed when RFC 9113 says the request is."""
    pseudo: dict[bytes, bytes] = {}
    headers = []
    cookies = None
    host = None
    control = _CONTROL.search
    name_ok = _NAME.fullmatch
    well_formed = _WELL_FORMED
    for field in fields:
        if field in well_formed:
            headers.append(field)
            continue
        name, value = field[0], field[1]
        if value and (value[0] in _EDGE_WHITESPACE or value[-1] in _EDGE_WHITESPACE or control(value)):
            raise Malformed(f"illegal value of {name!r}")
        if name[:1] == b":":
            if headers or cookies:
                raise Malformed(f"pseudo-field {name!r} after a regular field")
            if name not in _PSEUDO or name in pseudo:
                raise Malformed(f"unknown or repeated pseudo-field {name!r}")
            pseudo[name] = value
            continue
        if not name_ok(name):
            raise Malformed(f"illegal field name {name!r}")
        if name in _CONNECTION_SPECIFIC:
            raise Malformed(f"connection-specific field {name!r}")
        if name == b"cookie":
            cookies = [value] if cookies is None else cookies + [value]
            continue
        if name == b"host":
            if host is not None:
                raise Malformed("more than one Host")
            host = value
        elif name == b"te" and value.lower() != b"trailers":
            raise Malformed("TE other than trailers")
        field = (name, value)
        headers.append(field)
        if name != b"host" and len(value) <= _WELL_FORMED_VALUE_MAX:
            if len(well_formed) >= _WELL_FORMED_MAX:
                well_formed.clear()
            well_formed.add(field)
    method = pseudo.get(b":method")
    path = pseudo.get(b":path")
    authority = pseudo.get(b":authority")
    if method is None:
        raise Malformed("no :method")
    if method == b"CONNECT":
        if b":protocol" not in pseudo and (b":scheme" in pseudo or path is not None):
            raise Malformed("CONNECT with :scheme or :path")
    elif b":protocol" in pseudo:
        raise Malformed(":protocol without CONNECT")
    elif not path or b":scheme" not in pseudo:
        raise Malformed("no :scheme, or no or an empty :path")
    if host is None:
        if authority is None:
            raise Malformed("neither :authority nor Host")
        headers.append((b"host", authority))
    elif authority is not None and authority != host:
        raise Malformed("Host differs from :authority")
    if cookies is not None:
        headers.append((b"cookie", b"; ".join(cookies)))
    return method, path, headers

