"""HPACK for the requests an HTTP/2 connection receives: hpack's Decoder, with its header block
loop made cheap for what clients send.

A client's requests after its first are mostly indexed fields, one byte each (RFC 7541 §6.1):
hpack's Decoder spends a slice of the block, a method call, an integer decoder call, a table
method call, a tuple object and two debug log calls on each. This loop reads one-byte indexes
inline and goes to hpack's own helpers (decode_integer, decode_huffman, its HeaderTable) for
the rest. The limits are hpack's, kept the same way: the header list size (an HPACK bomb is
refused as hpack refuses it), table size updates only first and within the size the edge has
allowed, indexes within the tables, truncated strings. tests/runtime/test_hpack_in.py compares
it with hpack's Decoder on the same blocks, well-formed and broken.

A client repeating a request sends the very same block (its fields all indexes once they are in
the tables), and a block that neither adds to the dynamic table nor resizes it decodes the
same way for as long as the table is unchanged: such a block's fields are remembered, and
forgotten as soon as any block changes the table. The limits are checked again on each use.
"""
from __future__ import annotations

from hpack import Decoder, HPACKDecodingError, InvalidTableIndex, InvalidTableSizeError, NeverIndexedHeaderTuple
from hpack import OversizedHeaderListError
from hpack.hpack import decode_integer
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

_STATIC = (None, *HeaderTable.STATIC_TABLE)  # by index, from 1
_FIRST_DYNAMIC = len(_STATIC)
_ENTRY_OVERHEAD = 32  # RFC 7541 §4.1
# blocks remembered per connection, and the largest (a request's indexes are a few bytes each)
_KNOWN_MAX = 32
_KNOWN_BLOCK_MAX = 256


class RequestDecoder(Decoder):
    """hpack's Decoder, whose decode(raw=True) (what h2 calls) returns (name, bytes) pairs, a
    never-indexed field as hpack's NeverIndexedHeaderTuple."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # block → (its fields, their size), for blocks that leave the dynamic table as it is
        self.known: dict[bytes, tuple[tuple, int]] = {}

    def decode(self, data, raw: bool = False):
        if not raw:
            return super().decode(data, raw)
        if not isinstance(data, bytes):
            data = bytes(data)
        known = self.known.get(data)
        if known is not None:
            fields, size = known
            if size <= self.max_header_list_size and self.header_table_size <= self.max_allowed_table_size:
                return list(fields)
            # a limit lowered since: decoded again below, and refused as any block would be
        view = memoryview(data)
        table = self.header_table
        dynamic = table.dynamic_entries
        headers = []
        size = 0
        limit = self.max_header_list_size
        at = 0
        end = len(data)
        changed = False  # the dynamic table: an entry added (and maybe others evicted), or resized
        while at < end:
            first = data[at]
            if first & 0x80:  # indexed field (§6.1)
                if first != 0xFF:
                    index = first & 0x7F
                    at += 1
                else:
                    index, used = decode_integer(view[at:], 7)
                    at += used
                header = self._entry(index, dynamic)
            elif first & 0x40 or not first & 0x20:  # literal field (§6.2)
                incremental = first & 0x40
                mask = 0x3F if incremental else 0x0F
                index = first & mask
                if index == mask:
                    index, used = decode_integer(view[at:], 6 if incremental else 4)
                    at += used
                else:
                    at += 1
                if index:
                    name = self._entry(index, dynamic)[0]
                else:
                    name, at = _string(data, view, at)
                value, at = _string(data, view, at)
                if incremental:
                    changed = True
                    self.known.clear()
                    table.add(name, value)
                    header = (name, value)
                elif first & 0x10:
                    header = NeverIndexedHeaderTuple(name, value)
                else:
                    header = (name, value)
            else:  # dynamic table size update (§6.3): only before the first field
                if headers:
                    raise HPACKDecodingError("Table size update not at the start of the block")
                new_size, used = decode_integer(view[at:], 5)
                if new_size > self.max_allowed_table_size:
                    raise InvalidTableSizeError("Encoder exceeded max allowable table size")
                changed = True
                self.known.clear()
                self.header_table_size = new_size
                at += used
                continue
            headers.append(header)
            size += _ENTRY_OVERHEAD + len(header[0]) + len(header[1])
            if size > limit:
                raise OversizedHeaderListError(f"A header list larger than {limit} has been received")
        if self.header_table_size > self.max_allowed_table_size:
            raise InvalidTableSizeError("Encoder did not shrink table size to within the max")
        if not changed and end <= _KNOWN_BLOCK_MAX:
            known = self.known
            if len(known) >= _KNOWN_MAX:
                known.clear()
            known[data] = (tuple(headers), size)
        return headers

    @staticmethod
    def _entry(index: int, dynamic) -> tuple[bytes, bytes]:
        if 0 < index < _FIRST_DYNAMIC:
            return _STATIC[index]
        if 0 <= index - _FIRST_DYNAMIC < len(dynamic):
            return dynamic[index - _FIRST_DYNAMIC]
        raise InvalidTableIndex(f"Invalid table index {index}")


def _string(data: bytes, view: memoryview, at: int) -> tuple[bytes, int]:
    """A string literal (§5.2) at `at` → its bytes and where the next item starts."""
    if at >= len(data):
        raise HPACKDecodingError("Truncated header block")
    first = data[at]
    if first & 0x7F != 0x7F:
        length = first & 0x7F
        at += 1
    else:
        length, used = decode_integer(view[at:], 7)
        at += used
    string = data[at:at + length]
    if len(string) != length:
        raise HPACKDecodingError("Truncated header block")
    if first & 0x80:
        string = decode_huffman(string)
    return string, at + length
