"""A page gzip-compressed once, with a hole for a few bytes that differ per visitor.

A deflate stream is a run of blocks. A block can be made to end on a byte
boundary (a sync flush), and the decoder resolves a back-reference against
whatever it has already produced, not against the block it came in. So a
page cut around its hole is compressed ahead of time as two runs of blocks:
the part before the hole, and the part after it - the latter with "before +
a stand-in for the hole" as its preset dictionary, so it still refers back
to the whole page. Serving a visitor is then concatenation: gzip header and
"before", the visitor's bytes in a small block of their own, "after", and
the gzip trailer (CRC-32 and length of the whole page).

The stand-in is NUL bytes, which a page never contains: a back-reference
copies bytes equal to the ones it encodes, so none can land in the stand-in,
and every reference into "before" lands on the same bytes for every
visitor. The pieces are made for one hole length at a time; the CSRF token
this serves has one length (Flask-WTF signs a fixed-size secret).

This is how pigz compresses in parallel (RFC 1951 blocks, RFC 1952 member);
zlib does all the compressing, this module only orders its output.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

#: Highest deflate level: compressing happens once per page, not per visitor.
LEVEL = 9
#: gzip wrapper (RFC 1952) around the deflate data, with a fixed mtime of 0.
GZIP_WBITS = 16 + zlib.MAX_WBITS
RAW_WBITS = -zlib.MAX_WBITS
#: The hole's bytes are compressed alone: a 512-byte window and the smallest
#: memory level make that cost microseconds rather than a 256 KB allocation.
HOLE_WBITS, HOLE_MEMLEVEL = -9, 1
STAND_IN = b"\0"


@dataclass
class _Pieces:
    before: bytes
    after: bytes
    crc_before: int


@dataclass
class HoledPage:
    """`page` = prefix + hole + suffix; serve it with any bytes in the hole."""

    prefix: bytes
    suffix: bytes
    _by_hole_length: dict[int, _Pieces] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if STAND_IN in self.prefix or STAND_IN in self.suffix:
            raise ValueError("a page with NUL bytes cannot be served with a hole")

    def identity(self, hole: bytes) -> bytes:
        """The page with `hole` filled in, uncompressed."""
        return self.prefix + hole + self.suffix

    def gzip(self, hole: bytes) -> bytes:
        """The page with `hole` filled in, as one gzip member."""
        pieces = self._by_hole_length.get(len(hole))
        if pieces is None:
            pieces = self._by_hole_length[len(hole)] = self._compress_around(len(hole))
        filler = zlib.compressobj(LEVEL, zlib.DEFLATED, HOLE_WBITS, HOLE_MEMLEVEL)
        crc = zlib.crc32(self.suffix, zlib.crc32(hole, pieces.crc_before))
        size = len(self.prefix) + len(hole) + len(self.suffix)
        return b"".join((
            pieces.before,
            filler.compress(hole), filler.flush(zlib.Z_SYNC_FLUSH),
            pieces.after,
            struct.pack("<II", crc, size & 0xFFFFFFFF),
        ))

    def _compress_around(self, hole_length: int) -> _Pieces:
        head = zlib.compressobj(LEVEL, zlib.DEFLATED, GZIP_WBITS)
        before = head.compress(self.prefix) + head.flush(zlib.Z_SYNC_FLUSH)
        tail = zlib.compressobj(LEVEL, zlib.DEFLATED, RAW_WBITS,
                                zdict=self.prefix + STAND_IN * hole_length)
        after = tail.compress(self.suffix) + tail.flush(zlib.Z_FINISH)
        return _Pieces(before, after, zlib.crc32(self.prefix))
