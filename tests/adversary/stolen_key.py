"""The key files as they are on the day of the theft, tried on every ciphertext
the database's own files kept.

Forward secrecy (docs/anonymity.md, "Keys and forward secrecy"): a thief who
also takes the mixer's key folder opens only what was sealed since the last
key was published; everything sealed before - in the WAL, in old page
images - was sealed to keys that were erased. This module finds every
sealed answer the adversary can read out of the files:

- PostgreSQL: the raw WAL segments between two LSNs. WAL pages are 8 KB with
  a header (40 bytes on a segment's first page, 24 on the others) and a
  record may cross them: the headers are cut out, so a value split over two
  pages reads whole. A sealed answer is a bytea of a known length (the
  survey's padded size + 48) stored in line: its 4-byte varlena header,
  little-endian `(length + 4) << 2`, marks it - in heap inserts and in full
  page images alike.
- SQLite: every `waiting_answer` row version the frame reader
  (sqlite_wal.read_transactions) recovers, stale generations included.

Each candidate is tried with every stolen private key and every campaign id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.mixing.keys import KEY_SUFFIX, public_bytes
from app.mixing.sealing import SealError, open_sealed

from .model import INSERT, UPDATE, Transaction

WAL_PAGE = 8192
LONG_HEADER, SHORT_HEADER = 40, 24


@dataclass
class Ciphertext:
    #: PostgreSQL: its LSN; SQLite: the position of the transaction that wrote it.
    position: int
    sealed: bytes


@dataclass
class Theft:
    """What the stolen keys opened, before and after the oldest of them was published."""

    keys: int
    before: int = 0
    opened_before: int = 0
    after: int = 0
    opened_after: int = 0
    notes: list[str] = field(default_factory=list)


def steal(key_folder: Path) -> list[X25519PrivateKey]:
    """Every private key file in the mixer's key folder (its installation sub-folders)."""
    return [X25519PrivateKey.from_private_bytes(path.read_bytes())
            for path in sorted(key_folder.rglob("*" + KEY_SUFFIX))]


def public_keys(keys: list[X25519PrivateKey]) -> set[bytes]:
    return {public_bytes(key) for key in keys}


def try_keys(candidates: list[Ciphertext], keys: list[X25519PrivateKey], campaign_ids: list[int],
             published_at: int) -> Theft:
    """Try every key on every candidate; split the count at `published_at`: the
    publication of the oldest stolen key. Nothing written before it may open."""
    theft = Theft(keys=len(keys))
    for candidate in candidates:
        opened = any(_opens(candidate.sealed, key, campaign_id) for key in keys for campaign_id in campaign_ids)
        if candidate.position < published_at:
            theft.before += 1
            theft.opened_before += opened
        else:
            theft.after += 1
            theft.opened_after += opened
    return theft


def _opens(sealed: bytes, key: X25519PrivateKey, campaign_id: int) -> bool:
    try:
        open_sealed(sealed, key, campaign_id)
    except SealError:
        return False
    return True


def _segment_start(path: Path, segment_size: int) -> int:
    # File names: 8 hex digits of timeline, then the LSN's high 32 bits, then the segment number.
    log, segment = int(path.name[8:16], 16), int(path.name[16:24], 16)
    return (log << 32) + segment * segment_size


def postgresql_ciphertexts(pg_wal: Path, start: int, end: int, sizes: set[int],
                           segment_size: int = 16 * 1024 * 1024) -> list[Ciphertext]:
    """Sealed answers in the raw WAL between LSNs `start` and `end` (see the module docstring)."""
    headers = {size: struct.pack("<I", (size + 4) << 2) for size in sizes}
    found = []
    for path in sorted(p for p in pg_wal.iterdir() if len(p.name) == 24 and p.name.isalnum()):
        first = _segment_start(path, segment_size)
        if first + segment_size <= start or first >= end:
            continue
        raw = path.read_bytes()
        # Cut out page headers, remembering where each kept byte came from.
        kept, origin = bytearray(), []
        for page in range(0, len(raw), WAL_PAGE):
            header = LONG_HEADER if page == 0 else SHORT_HEADER
            origin.append((len(kept), page + header))
            kept += raw[page + header:page + WAL_PAGE]
        for size, header in headers.items():
            at = kept.find(header)
            while at != -1:
                lsn = first + _original_offset(origin, at)
                if start <= lsn < end and at + 4 + size <= len(kept):
                    found.append(Ciphertext(lsn, bytes(kept[at + 4:at + 4 + size])))
                at = kept.find(header, at + 1)
    return found


def _original_offset(origin: list[tuple[int, int]], kept_offset: int) -> int:
    low, high = 0, len(origin) - 1
    while low < high:  # the last page whose kept bytes start at or before kept_offset
        middle = (low + high + 1) // 2
        if origin[middle][0] <= kept_offset:
            low = middle
        else:
            high = middle - 1
    kept_start, original_start = origin[low]
    return original_start + (kept_offset - kept_start)


def sqlite_ciphertexts(transactions: list[Transaction]) -> list[Ciphertext]:
    """Every sealed answer a `waiting_answer` row version carried in the frames read."""
    found = []
    for transaction in transactions:
        for change in transaction.changes:
            if change.table == "waiting_answer" and change.kind in (INSERT, UPDATE) and change.values:
                sealed = change.values.get("sealed")
                if sealed:
                    found.append(Ciphertext(transaction.position, bytes(sealed)))
    return found


def sqlite_oldest_stolen_published(transactions: list[Transaction], stolen: set[bytes]) -> int | None:
    """Position of the transaction that published the oldest of the stolen keys (SQLite frames)."""
    positions = [
        t.position for t in transactions for c in t.changes
        if c.table == "answer_key" and c.kind == INSERT and c.values and bytes(c.values.get("public_key") or b"") in stolen
    ]
    return min(positions) if positions else None


def postgresql_oldest_stolen_published(connection, stolen: set[bytes], commit_lsn: dict[int, int]) -> int | None:
    """Commit LSN of the transaction that published the oldest stolen key: its row's xmin, in the WAL read."""
    xids = [int(xid) for (xid,) in connection.execute(
        "SELECT xmin::text FROM answer_key WHERE public_key = ANY(%s)", [list(stolen)])]
    lsns = [commit_lsn[xid] for xid in xids if xid in commit_lsn]
    return min(lsns) if lsns else None
