"""HPACK for the edge's HTTP/2 answers: hpack's Encoder, with what the edge knows about its
own fields.

hpack's Encoder inserts every field it cannot index into the dynamic table and searches that
table, field by field, for each later one. Fields whose value changes on (nearly) every answer
(Date, X-Request-Id, Content-Length, ...) then fill the table with entries no answer reuses,
and make each search walk all of them. Here those fields go out as literals that are never
inserted (as nginx sends all its fields), unencoded (Huffman in pure Python costs more than the
bytes it saves on a value sent once); every other field is indexed as hpack would, so the table
holds only what answers repeat (Content-Type, Strict-Transport-Security, CORS fields) and stays
short to search. The dynamic table, its size updates and Huffman coding are hpack's own.

A field sent as an index (static or dynamic) is remembered with its bytes until the dynamic table
changes (an entry added or evicted, a new size): answers repeat their stable fields, and in a
steady state the table does not change, so those fields cost a dictionary lookup.
"""
from __future__ import annotations

from hpack import Encoder, HeaderTuple
from hpack.table import HeaderTable

# fields whose value is (nearly) unique to one answer: an entry for them would never be reused
VOLATILE = frozenset((b"age", b"content-length", b"content-range", b"date", b"etag", b"expires",
                      b"last-modified", b"location", b"set-cookie", b"x-request-id"))

_DYNAMIC_BASE = HeaderTable.STATIC_TABLE_LENGTH + 1  # index of the newest dynamic entry
# name → (index of its first static entry, value → index of its static entry)
_STATIC: dict[bytes, tuple[int, dict[bytes, int]]] = {}
for _index, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, 1):
    _STATIC.setdefault(_name, (_index, {}))[1][_value] = _index


def _integer(value: int, prefix_bits: int, flags: int) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) whose first byte also carries `flags` above its prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((flags | value,))
    out = bytearray((flags | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _raw(string: bytes) -> bytes:
    """A string literal without Huffman coding (RFC 7541 §5.2)."""
    size = len(string)
    return (_SHORT[size] if size < 0x7F else _integer(size, 7, 0)) + string


_SHORT = [bytes((n,)) for n in range(0x7F)]  # the length of a short string: its integer fits in one byte


_INDEXED = [_integer(i, 7, 0x80) for i in range(_DYNAMIC_BASE + 64)]  # indexed field (§6.1)


def _indexed(index: int) -> bytes:
    return _INDEXED[index] if index < len(_INDEXED) else _integer(index, 7, 0x80)
_NOT_INDEXED, _NEVER_INDEXED, _INCREMENTAL = 0x00, 0x10, 0x40  # literal field kinds (§6.2)
# what a VOLATILE field's literal starts with: its kind and its name (a static index where there
# is one), made once
_VOLATILE_NAME = {name: _integer(_STATIC[name][0], 4, _NOT_INDEXED) if name in _STATIC
                  else bytes((_NOT_INDEXED,)) + _raw(name) for name in VOLATILE}


class AnswerEncoder(Encoder):
    """hpack's Encoder for a connection's answers: fields in VOLATILE never enter the dynamic
    table; a field marked sensitive (hpack's NeverIndexedHeaderTuple, or a third item True)
    goes out never-indexed, as hpack sends it. Headers are (bytes, bytes) pairs in order,
    pseudo-fields first, as h2 hands them over."""

    def __init__(self) -> None:
        super().__init__()
        # (name, value) → its index's bytes, while the dynamic table is unchanged; only plain
        # pairs, so a sensitive field (a tuple subclass or a triple) is never taken for one
        self.indexed: dict[tuple[bytes, bytes], bytes] = {}

    def encode(self, headers, huffman: bool = True) -> bytes:
        table = self.header_table
        indexed = self.indexed
        block = []
        if table.resized:
            block.append(self._encode_table_size_change())
            table.resized = False
            indexed.clear()
        for header in headers:
            plain = type(header) is tuple
            if plain:
                coded = indexed.get(header)
                if coded is not None:
                    block.append(coded)
                    continue
                # a volatile field goes out as below without a look at the static table first: its
                # entries for those names all have an empty value (a triple may be sensitive)
                start = _VOLATILE_NAME.get(header[0])
                if start is not None and header[1] and len(header) == 2:
                    block.append(start + _raw(header[1]))
                    continue
            name, value = header[0], header[1]
            static = _STATIC.get(name)
            if static is not None:
                index = static[1].get(value)
                if index is not None:
                    block.append(_INDEXED[index])
                    if plain:
                        indexed[header] = _INDEXED[index]
                    continue
            if isinstance(header, HeaderTuple):
                sensitive = not header.indexable
            else:
                sensitive = len(header) > 2 and header[2]
            if sensitive:
                if static is not None:
                    block.append(_integer(static[0], 4, _NEVER_INDEXED) + _raw(value))
                else:
                    block.append(bytes((_NEVER_INDEXED,)) + _raw(name) + _raw(value))
                continue
            start = _VOLATILE_NAME.get(name)
            if start is not None:
                block.append(start + _raw(value))
                continue
            name_index = static[0] if static is not None else 0
            for i, entry in enumerate(table.dynamic_entries):
                if entry[0] == name:
                    if entry[1] == value:
                        coded = _indexed(i + _DYNAMIC_BASE)
                        block.append(coded)
                        if plain:
                            indexed[header] = coded
                        break
                    if not name_index:
                        name_index = i + _DYNAMIC_BASE
            else:
                coded = self.huffman_coder.encode(value) if huffman else value
                value_part = _integer(len(coded), 7, 0x80 if huffman else 0) + coded
                if name_index:
                    block.append(_integer(name_index, 6, _INCREMENTAL) + value_part)
                else:
                    coded = self.huffman_coder.encode(name) if huffman else name
                    block.append(bytes((_INCREMENTAL,)) + _integer(len(coded), 7, 0x80 if huffman else 0) + coded
                                 + value_part)
                table.add(name, value)
                indexed.clear()  # the dynamic indexes have moved (and the oldest entry may be gone)
        return b"".join(block)
