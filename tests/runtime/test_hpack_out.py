"""The edge's HPACK encoder against hpack's Decoder: every header block it makes decodes to the
fields given, across many answers on one connection (one dynamic table on each side), with
table size updates, long values and dynamic indexes past one byte; fields that change on every
answer never enter the table."""
from __future__ import annotations

import random

from hpack import Decoder, NeverIndexedHeaderTuple

from edgec.runtime.hpack_out import VOLATILE, AnswerEncoder


def _pair():
    return AnswerEncoder(), Decoder()


def _roundtrip(encoder, decoder, fields):
    block = encoder.encode(fields)
    assert [tuple(f[:2]) for f in decoder.decode(block, raw=True)] == [tuple(f[:2]) for f in fields]
    return block


def test_an_answer_repeated_is_indexed_and_its_volatile_fields_stay_out_of_the_table():
    encoder, decoder = _pair()
    for n in range(3):
        fields = [(b":status", b"200"), (b"date", b"Sat, 05 Dec 2026 08:%02d:00 GMT" % n),
                  (b"content-type", b"text/plain"), (b"content-length", b"%d" % (n + 3)),
                  (b"x-request-id", b"4f1c2a%08x" % n), (b"strict-transport-security", b"max-age=31536000")]
        block = _roundtrip(encoder, decoder, fields)
        if n:  # the stable fields are one byte each now: an index into the dynamic table
            assert block.count(b"text/plain") == 0 and b"max-age" not in block
    names = {name for name, _ in decoder.header_table.dynamic_entries}
    assert names == {b"content-type", b"strict-transport-security"}
    assert len(decoder.header_table.dynamic_entries) == 2
    assert not names & VOLATILE


def test_static_entries_are_indexed_and_sensitive_fields_go_out_never_indexed():
    encoder, decoder = _pair()
    assert encoder.encode([(b":status", b"200"), (b":status", b"404"), (b"accept-encoding", b"gzip, deflate")]) \
        == bytes((0x80 | 8, 0x80 | 13, 0x80 | 16))
    # set-cookie: a field that changes on every answer, which goes out never-indexed all the same
    fields = [NeverIndexedHeaderTuple(b"authorization", b"Bearer x"), (b"x-secret", b"s", True),
              (b"x-secret", b"s", True), (b"set-cookie", b"id=1", True)]
    decoded = decoder.decode(encoder.encode(fields), raw=True)
    assert [tuple(f) for f in decoded] == [(b"authorization", b"Bearer x"), (b"x-secret", b"s"), (b"x-secret", b"s"),
                                           (b"set-cookie", b"id=1")]
    assert all(isinstance(f, NeverIndexedHeaderTuple) for f in decoded)
    assert not decoder.header_table.dynamic_entries


def test_a_field_remembered_as_an_index_is_still_sent_never_indexed_when_sensitive():
    encoder, decoder = _pair()
    plain = (b"x-token", b"t1")
    _roundtrip(encoder, decoder, [plain])
    assert _roundtrip(encoder, decoder, [plain]) == bytes((0x80 | 62,))  # now an index, remembered
    for sensitive in (NeverIndexedHeaderTuple(*plain), (*plain, True)):
        decoded = decoder.decode(encoder.encode([sensitive, plain]), raw=True)
        assert isinstance(decoded[0], NeverIndexedHeaderTuple) and tuple(decoded[0]) == plain
        assert tuple(decoded[1]) == plain


def test_indexes_remembered_follow_the_table_as_it_changes():
    encoder, decoder = _pair()
    stable = [(b"content-type", b"text/plain"), (b"vary", b"accept")]
    for n in range(40):  # each answer adds an entry ahead of the stable ones, and 40 evict the oldest
        _roundtrip(encoder, decoder, [*stable, (b"x-new", b"%d" % n * 40)])
        _roundtrip(encoder, decoder, stable)
    encoder.header_table_size = 0
    _roundtrip(encoder, decoder, stable)
    assert not decoder.header_table.dynamic_entries


def test_table_size_updates_long_values_and_indexes_past_one_byte():
    encoder, decoder = _pair()
    many = [(b"x-%d" % i, b"v") for i in range(100)]  # ~36 bytes each: all 100 fit in 4,096
    _roundtrip(encoder, decoder, many)
    block = _roundtrip(encoder, decoder, many[:5])  # the oldest entries: indexes 157..161, two bytes each
    assert len(block) == 10
    # lengths whose integer ends on each side of a continuation byte (RFC 7541 §5.1)
    _roundtrip(encoder, decoder, [(b"x-long", b"v" * 300), (b"date", b"d" * 255), (b"etag", b"e" * 254)])
    encoder.header_table_size = 0  # as h2 does on a SETTINGS_HEADER_TABLE_SIZE from the client
    _roundtrip(encoder, decoder, [(b"content-type", b"text/html")])
    assert not decoder.header_table.dynamic_entries
    encoder.header_table_size = 100
    _roundtrip(encoder, decoder, [(b"content-type", b"text/html"), (b"content-type", b"text/html")])
    assert decoder.header_table.maxsize == 100 and len(decoder.header_table.dynamic_entries) == 1


def test_random_answers_decode_to_what_was_encoded():
    rng = random.Random(22)
    names = [b"content-type", b"date", b"x-request-id", b"vary", b"x-custom", b"set-cookie", b"cache-control",
             b"x-" + b"n" * 130, b"content-length", b"access-control-allow-origin"]
    encoder, decoder = _pair()
    for _ in range(500):
        if rng.random() < 0.02:
            size = rng.choice((0, 256, 4096))
            encoder.header_table_size = size
        fields = [(b":status", rng.choice((b"200", b"204", b"302", b"418")))]
        for _ in range(rng.randrange(8)):
            value = rng.choice((b"a", b"text/plain", b"*", b"x" * rng.randrange(200), b"%d" % rng.randrange(10**9)))
            fields.append((rng.choice(names), value))
        _roundtrip(encoder, decoder, fields)
        assert not {name for name, _ in decoder.header_table.dynamic_entries} & VOLATILE
