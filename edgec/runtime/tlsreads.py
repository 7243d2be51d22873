"""The reads of a TLS connection's protocol. Not compiled with the runtime's request path (setup.py):
server.TlsClientConnection, which is, joins this class to its compiled base, and a compiled class
can have only one base compiled with it."""
from __future__ import annotations

import asyncio


# A TLS transport reads for a plain Protocol into a new bytes object of 256 KiB (uvloop's and
# asyncio's SSL_READ_MAX_SIZE), which the allocator maps afresh for each read and shrinks to what
# was read: an mmap, an mremap and a munmap per read, each request's. A BufferedProtocol is read
# into a buffer it gives; this one is the process's, since what is read is copied out of it at
# once (before any other connection can be read).
_READ_BUFFER = memoryview(bytearray(64 * 1024))


class BufferedReads(asyncio.BufferedProtocol):
    """Reads into the process's buffer, handed on to data_received: for a TLS connection's
    protocol (a plain TCP transport reads into a buffer of its own already)."""

    __slots__ = ()

    def get_buffer(self, sizehint: int) -> memoryview:
        return _READ_BUFFER

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(_READ_BUFFER[:nbytes].tobytes())  # type: ignore[attr-defined]  # (the protocol's)
