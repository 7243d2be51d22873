"""The edge's checks of an HTTP/2 request's fields: every request RFC 9113 calls malformed, and
that h2's own inbound checks refuse, is refused; well-formed requests come out as the edge
forwards them (Host from :authority, split cookies joined). Over a real connection:
tests/runtime/test_http2.py::test_malformed_requests_end_their_connection."""
from __future__ import annotations

import pytest
from h2.exceptions import ProtocolError
from h2.utilities import HeaderValidationFlags, validate_headers

from edgec.runtime import h2fields
from edgec.runtime.h2fields import Malformed, request

GET = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/a"), (b":authority", b"example.com")]

# each of them malformed: (what, the request's fields)
MALFORMED = [
    ("upper case in a name", GET + [(b"X-Smuggle", b"1")]),
    ("space in a name", GET + [(b"x smuggle", b"1")]),
    ("control byte in a name", GET + [(b"x-\x01", b"1")]),
    ("colon inside a name", GET + [(b"x:y", b"1")]),
    ("non-ASCII name", GET + [("é".encode(), b"1")]),
    ("empty name", GET + [(b"", b"1")]),
    ("LF in a value", GET + [(b"x-a", b"1\nx-b: 2")]),
    ("CR in a value", GET + [(b"x-a", b"1\r")]),
    ("NUL in a value", GET + [(b"x-a", b"1\x002")]),
    ("leading space in a value", GET + [(b"x-a", b" 1")]),
    ("trailing tab in a value", GET + [(b"x-a", b"1\t")]),
    ("CR in a pseudo-field", [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/a\r\nx: 1"),
                              (b":authority", b"example.com")]),
    ("transfer-encoding", GET + [(b"transfer-encoding", b"chunked")]),
    ("connection", GET + [(b"connection", b"close")]),
    ("keep-alive", GET + [(b"keep-alive", b"timeout=5")]),
    ("proxy-connection", GET + [(b"proxy-connection", b"close")]),
    ("upgrade", GET + [(b"upgrade", b"websocket")]),
    ("TE other than trailers", GET + [(b"te", b"gzip")]),
    ("pseudo-field after a regular one", GET[:3] + [(b"x-a", b"1"), (b":authority", b"example.com")]),
    ("repeated pseudo-field", GET + [(b":path", b"/b")]),
    ("unknown pseudo-field", GET + [(b":smuggle", b"1")]),
    ("a response's pseudo-field", GET + [(b":status", b"200")]),
    ("no :method", GET[1:]),
    ("no :scheme", [GET[0], GET[2], GET[3]]),
    ("no :path", [GET[0], GET[1], GET[3]]),
    ("empty :path", [GET[0], GET[1], (b":path", b""), GET[3]]),
    (":protocol without CONNECT", GET + [(b":protocol", b"websocket")]),
    ("CONNECT with :path", [(b":method", b"CONNECT"), (b":path", b"/"), (b":authority", b"example.com:443")]),
    ("neither :authority nor Host", GET[:3]),
    ("Host differs from :authority", GET + [(b"host", b"other.example")]),
    ("two Hosts", GET[:3] + [(b"host", b"example.com"), (b"host", b"example.com")]),
]


def _h2_refuses(fields) -> bool:
    flags = HeaderValidationFlags(is_client=False, is_trailer=False, is_response_header=False,
                                  is_push_promise=False)
    try:
        list(validate_headers(fields, flags))
    except ProtocolError:
        return True
    return False


@pytest.mark.parametrize(("what", "fields"), MALFORMED, ids=[what for what, _ in MALFORMED])
def test_malformed_requests_are_refused_as_h2_refuses_them(what, fields):
    assert _h2_refuses(fields), what  # the case is one h2's own checks would have refused
    with pytest.raises(Malformed):
        request(fields)


def test_fields_seen_in_well_formed_requests_do_not_let_a_malformed_one_through():
    # every regular field of the cases above that some request may carry (with or without an
    # :authority to agree with), seen first: the checks skipped for a field seen before must not
    # be the ones that depend on the rest of the request (order, Host, cookies)
    for _, fields in MALFORMED:
        for field in fields:
            for start in (GET, GET[:3]):
                try:
                    request(start + [field])
                except Malformed:
                    pass
    for what, fields in MALFORMED:
        with pytest.raises(Malformed):
            request(fields)
        assert _h2_refuses(fields), what


def test_the_fields_remembered_are_bounded():
    for n in range(3 * h2fields._WELL_FORMED_MAX):
        request(GET + [(b"x-%d" % n, b"1"), (b"x-long", b"v" * (n % 1000))])
        assert len(h2fields._WELL_FORMED) <= h2fields._WELL_FORMED_MAX
    assert (b"x-long", b"v" * 999) not in h2fields._WELL_FORMED


def test_names_outside_http_tokens_are_refused_though_http2_allows_them():
    # a backend receives the field over HTTP/1.1, where a name is a token (httptools refuses others)
    fields = GET + [(b'x-"quoted"', b"1")]
    assert not _h2_refuses(fields)
    with pytest.raises(Malformed):
        request(fields)


def test_a_well_formed_request_is_taken_apart_as_forwarded():
    fields = GET + [(b"cookie", b"a=1"), (b"accept", b"*/*"), (b"cookie", b"b=2"), (b"te", b"Trailers"),
                    (b"x-empty", b""), (b"x-inner", b"a  b\tc")]
    assert not _h2_refuses(fields)
    method, path, headers = request(fields)
    assert (method, path) == (b"GET", b"/a")
    assert headers == [(b"accept", b"*/*"), (b"te", b"Trailers"), (b"x-empty", b""), (b"x-inner", b"a  b\tc"),
                       (b"host", b"example.com"), (b"cookie", b"a=1; b=2")]
    assert request(fields) == (method, path, headers)  # its fields seen before: the same


def test_host_alone_or_equal_to_authority_is_kept_where_it_was():
    assert request(GET[:3] + [(b"host", b"example.com"), (b"x-a", b"1")])[2] == [
        (b"host", b"example.com"), (b"x-a", b"1")]
    assert request(GET + [(b"host", b"example.com")])[2] == [(b"host", b"example.com")]


def test_connect_is_passed_on_for_the_edge_to_refuse():
    method, path, _ = request([(b":method", b"CONNECT"), (b":authority", b"example.com:443")])
    assert (method, path) == (b"CONNECT", None)
