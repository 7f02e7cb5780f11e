"""The page compressed once with a hole (app/precompressed.py), read back by gzip itself."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib

import pytest

from app.precompressed import HoledPage

PREFIX = ('<!doctype html><html lang="ti"><style>.scale label{padding:1rem}</style>'
          '<form method="post"><input type="hidden" name="csrf_token" value="').encode()
SUFFIX = ('"><fieldset class="scale">'
          + "".join(f'<label><input type="radio" name="q{n}" value="{p}">ዝበለጸ ዕጉብ</label>'
                    for n in range(12) for p in range(1, 6))
          + "</fieldset></form></html>").encode()


def single_member(compressed: bytes) -> bytes:
    """Decompress, insisting on exactly one complete gzip member and nothing after it."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    page = decoder.decompress(compressed) + decoder.flush()
    assert decoder.eof and decoder.unused_data == b""
    return page


@pytest.mark.parametrize("hole", [b"", b"x", b"ImQ1Y2Y.aB-9" * 8, bytes(range(1, 256))])
def test_any_hole_comes_back_exactly_in_place(hole):
    page = HoledPage(PREFIX, SUFFIX)
    compressed = page.gzip(hole)
    assert single_member(compressed) == PREFIX + hole + SUFFIX
    assert gzip.decompress(compressed) == page.identity(hole)


def test_visitors_with_holes_of_one_length_share_the_compressed_parts():
    page = HoledPage(PREFIX, SUFFIX)
    first, second = page.gzip(b"a" * 91), page.gzip(b"b" * 91)
    assert single_member(first) != single_member(second)
    assert single_member(second) == PREFIX + b"b" * 91 + SUFFIX
    # The hole costs its own bytes and a few of framing, not a weaker compression of the rest.
    whole = len(gzip.compress(PREFIX + b"b" * 91 + SUFFIX, 9))
    assert len(second) <= whole + 40


def test_the_stream_passes_the_gzip_tool(tmp_path):
    if shutil.which("gzip") is None:
        pytest.skip("gzip tool not installed")
    target = tmp_path / "page.html.gz"
    target.write_bytes(HoledPage(PREFIX, SUFFIX).gzip(b"token-of-a-visitor"))
    subprocess.run(["gzip", "--test", str(target)], check=True)
    assert subprocess.run(["gzip", "-dc", str(target)], check=True, capture_output=True).stdout \
        == PREFIX + b"token-of-a-visitor" + SUFFIX


def test_a_page_containing_nul_bytes_is_refused():
    with pytest.raises(ValueError):
        HoledPage(PREFIX + b"\0", SUFFIX)
