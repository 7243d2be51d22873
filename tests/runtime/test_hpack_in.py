"""The edge's HPACK decoder against hpack's Decoder: the same fields from the same blocks over
many requests on one connection (the dynamic tables kept alike), every representation RFC 7541
has (indexed, literal with and without indexing, never indexed, Huffman or not, long integers,
table size updates), and the same refusals of broken blocks: truncated, bad indexes, size
updates late or too large, a header list past its limit (an HPACK bomb)."""
from __future__ import annotations

import random

import pytest
from hpack import Decoder, Encoder, HPACKError, NeverIndexedHeaderTuple

from edgec.runtime.hpack_in import RequestDecoder


def _both(data: bytes, pair) -> object:
    """What each decoder makes of `data`: the fields, or that it refused them."""
    out = []
    for decoder in pair:
        try:
            out.append([(tuple(h), isinstance(h, NeverIndexedHeaderTuple)) for h in decoder.decode(data, raw=True)])
        except (HPACKError, IndexError) as err:  # IndexError: what h2 also takes from hpack's Decoder
            out.append(type(err).__name__ if not isinstance(err, IndexError) else "IndexError")
    return out


def _requests(rng: random.Random, n: int):
    paths = [b"/", b"/a", b"/api/v1/items?id=%d" % rng.randrange(10**6), b"/" + b"x" * 300]
    for i in range(n):
        fields = [(b":method", rng.choice([b"GET", b"POST", b"PATCH"])), (b":scheme", b"https"),
                  (b":path", rng.choice(paths)), (b":authority", b"example.com"),
                  (b"user-agent", b"client/%d" % rng.randrange(3)), (b"x-id", b"%d" % i)]
        if rng.random() < 0.3:
            fields.append(NeverIndexedHeaderTuple(b"authorization", b"Bearer %d" % i))
        if rng.random() < 0.2:
            fields.append((b"x-long-" + b"n" * rng.randrange(200), b"v" * rng.randrange(400)))
        yield fields


def test_a_connection_of_requests_decodes_as_hpack_does():
    rng = random.Random(7)
    encoder = Encoder()
    edge, reference = RequestDecoder(), Decoder()
    for n, fields in enumerate(_requests(rng, 400)):
        if n % 97 == 50:  # the client changes its table size: an update at the head of the next block
            encoder.header_table_size = rng.choice([0, 256, 4096])
        block = encoder.encode(fields, huffman=bool(n % 2))
        mine, theirs = _both(block, (edge, reference))
        assert mine == theirs and [f for f, _ in mine] == [tuple(f) for f in fields]
        assert list(edge.header_table.dynamic_entries) == list(reference.header_table.dynamic_entries)


@pytest.mark.parametrize(("what", "block"), [
    ("index 0", b"\x80"),
    ("index past the tables", b"\xbe"),
    ("long index past the tables", b"\xff\x80\x01"),
    ("integer without its end", b"\xff\x80"),
    ("integer too long", b"\xff" + b"\x80" * 12 + b"\x01"),
    ("truncated name", b"\x40\x05ab"),
    ("truncated value", b"\x44\x05ab"),
    ("missing value", b"\x44"),
    ("literal name missing", b"\x00"),
    ("size update after a field", b"\x82\x3f\xe1\x1f"),
    ("size update over the allowed", b"\x3f\xe2\x1f"),
    ("bad Huffman padding", b"\x04\x83\xff\xff\xff\x81\x00"),
    ("indexed name past the tables", b"\x0f\x80\x01\x01a"),
])
def test_broken_blocks_are_refused_as_hpack_refuses_them(what, block):
    mine, theirs = _both(block, (RequestDecoder(), Decoder()))
    assert isinstance(theirs, str), what
    assert mine == theirs or {mine, theirs} <= {"HPACKDecodingError", "InvalidTableIndex", "IndexError",
                                                 "InvalidTableIndexError"}, what


def test_a_header_list_past_its_limit_is_refused():
    encoder = Encoder()
    block = encoder.encode([(b"x-big", b"v" * 500)] + [(b"x-big", b"v" * 500)] * 200)
    for decoder in (RequestDecoder(max_header_list_size=16_384), Decoder(max_header_list_size=16_384)):
        with pytest.raises(HPACKError, match="larger than 16384"):
            decoder.decode(block, raw=True)


def test_mutated_blocks_are_decoded_or_refused_alike():
    rng = random.Random(11)
    encoder = Encoder()
    for fields in _requests(rng, 300):
        block = bytearray(encoder.encode(fields, huffman=rng.random() < 0.5))
        for _ in range(rng.randrange(1, 4)):
            block[rng.randrange(len(block))] = rng.randrange(256)
        if rng.random() < 0.3:
            block = block[:rng.randrange(len(block))]
        # fresh tables on both sides: each mutated block is compared on its own
        mine, theirs = _both(bytes(block), (RequestDecoder(), Decoder()))
        if isinstance(theirs, str):
            assert isinstance(mine, str)
        else:
            assert mine == theirs


def test_a_repeated_block_decodes_anew_once_the_table_has_changed():
    # index 62 is the newest dynamic entry: the same one-byte block names another field after each insertion
    edge, reference = RequestDecoder(), Decoder()
    blocks = (b"\x40\x01a\x01b", b"\xbe", b"\xbe",  # a: b, then remembered
              b"\x40\x01c\x01d", b"\xbe", b"\xbe",  # c: d
              b"\x20", b"\xbe",  # the table emptied: no index 62 any more
              b"\x3f\xe1\x1f\x40\x01e\x01f", b"\xbe", b"\xbe")  # room again, e: f
    for block in blocks:
        mine, theirs = _both(block, (edge, reference))
        assert mine == theirs, block
    assert edge.known == {b"\xbe": (((b"e", b"f"),), 34)}


def test_repeated_requests_decode_as_hpack_does():
    rng = random.Random(5)
    encoder = Encoder()
    edge, reference = RequestDecoder(), Decoder()
    shapes = [[(b":method", b"GET"), (b":scheme", b"https"), (b":path", path), (b":authority", b"example.com"),
               (b"user-agent", b"client/1"), NeverIndexedHeaderTuple(b"authorization", b"Bearer x")]
              for path in (b"/", b"/a", b"/api/v1/items?id=7")]
    remembered = 0
    for n in range(400):
        fields = rng.choice(shapes)
        if n % 53 == 20:  # a new field: an insertion that moves every dynamic index
            fields = [*fields, (b"x-new", b"%d" % n)]
        if n % 131 == 70:
            encoder.header_table_size = rng.choice([0, 256, 4096])
        block = encoder.encode(fields, huffman=bool(n % 3))
        remembered += block in edge.known
        mine, theirs = _both(block, (edge, reference))
        assert mine == theirs and [f for f, _ in mine] == [tuple(f) for f in fields]
    assert remembered > 150  # many repeats were answered from what the decoder remembered


def test_a_remembered_block_meets_limits_lowered_since():
    encoder = Encoder()
    fields = [(b":method", b"GET"), (b"x-big", b"v" * 200)]
    block = encoder.encode(fields, huffman=False)
    edge = RequestDecoder()
    edge.decode(block, raw=True)
    block = encoder.encode(fields, huffman=False)  # the same fields, now indexes: remembered
    assert edge.decode(block, raw=True) == fields and block in edge.known
    edge.max_header_list_size = 100
    with pytest.raises(HPACKError, match="larger than 100"):
        edge.decode(block, raw=True)
    edge.max_header_list_size = 65_536
    edge.max_allowed_table_size = 0  # the edge's smaller table: the client must say it has shrunk its own
    with pytest.raises(HPACKError, match="did not shrink"):
        edge.decode(block, raw=True)
