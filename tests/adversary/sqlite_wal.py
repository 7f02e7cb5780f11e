"""What an adversary reads from a SQLite database's own files.

It reads the main database file and every frame of its `-wal` file - also
the stale frames an earlier generation of the log left past the current
write point (after a checkpoint SQLite starts the log again from the top
with new salts and overwrites only as far as it writes) - with nothing but
`struct`, following https://www.sqlite.org/fileformat.html. It never asks
SQLite: what it reports is what the bytes on disk say.

Public functions:

- `read_transactions(db_path, wal_path=None) -> list[model.Transaction]`:
  every committed transaction of the log, oldest first, with the row
  changes it made (`model.RowChange`: table, kind, key, values, old_values).
- `read_wal(db_path, wal_path=None) -> WalHistory`: the same transactions,
  with counts (frames, generations, transactions, incomplete tails,
  checksum failures) and the changes whose kind had to be guessed.
- `read_main_file(db_path) -> dict[str, list[dict]]`: every live row of
  every table in the main file alone, in physical (page, cell) order.
- `free_page_records(db_path) -> list[FreeRecord]`: records still readable
  in freelist pages and in the unallocated space of b-tree pages of the
  main file.

How a transaction's changes are found. The log's frames are page images.
The state after a transaction is the main file's pages overlaid with the
frames read up to and including it. For every table whose b-tree holds a
page the transaction wrote, the reader walks the tree from its root in the
state after the transaction, and compares the records of the pages that
changed (or joined or left the tree) with what those pages held before: a
key found only after is an insert, a key found only before a delete, a key
found in both with other values an update. Records that only move between
pages (b-tree balancing) change nothing. A rowid table's rows are keyed by
rowid (its INTEGER PRIMARY KEY when it has one; a declared non-integer
primary key is reported as the key); a WITHOUT ROWID table's by its
primary key (one value, or a tuple for several columns), read from the
index b-tree that holds the whole row, interior cells too. Overflow chains
are followed through the page images of the same moment.

Transactions are identified as "<salt-1 of their generation>:<index of
their first frame in the file>" and come in log order: generations by
salt-1 (it grows by one at each restart of the log), frames by position.

When is each earlier state known? Before the current generation began, the
one before it was copied into the main file whole (SQLite restarts the log
only then). A checkpoint since copies only the pages whose latest frame is
older than every reader's snapshot, so each page of the main file has its
own time: an image equal to one a frame of the current generation wrote
shows that frame's state (the future, for every transaction before it);
any other shows the state before the current generation. From
`WalHistory.exact_from` on - once each such page has been written again -
every earlier state is known and the changes are exact. Before it (the
stale generations' tails, and the start of the current generation while
such pages remain) the state mixes times: only a frame of the same
generation, or in the current generation a main-file image no frame
wrote, is a known earlier state. There the reader compares only the pages
the transaction wrote, gives each page version to the tree that reaches it
and whose record shape it fits (shapes learnt from the main file; ordinary
indexes compete too, so their entries are not taken for rows), else to the
tree it last belonged to, else to the one tree its shape fits; records of
pages a merge freed without logging them (a written parent no longer points
to them) count as already there. A change whose kind or values rest on an
unknown earlier state is still reported - a key never seen before counts
as inserted by the first transaction that shows it, a known key with other
values as updated from the last values seen - and listed in
`WalHistory.uncertain`; a key that vanishes from a page whose earlier state
is unknown is not reported as deleted. In the randomized histories the
tests compare with SQLite's own view, every change not listed there was
right.

Limits - what it cannot reconstruct:

- Overwritten frames are gone. Of an earlier generation only a tail of
  frames remains; its first transaction may be cut (the frames it wrote
  before the tail are lost) and is reported with what remains. Between two
  stale generations lie the lost heads of later ones.
- Before `exact_from`: an update whose earlier state is lost (an
  invitation's `responded` going 0 -> 1 on a page whose earlier frames were
  overwritten) reads as an insert or, if an earlier frame showed the row,
  as an update from that frame's values; deletes there are missed; values
  read through overflow pages from another time are marked uncertain (they
  may be another row's bytes, or cut short: None).
- Frames of the incomplete tail (written, never committed) are counted
  but not reported as transactions; nor are intermediate images of a page
  a transaction wrote twice (cache spills; counted in `rewritten_pages`).
- The log holds page images, not statements: the order of changes inside a
  transaction is not recorded. Changes are listed per table (schema order),
  deletes, updates, inserts, each sorted by key. Where on a page a record
  was put (which can hint at the order of inserts) is not reported.
- Ordinary indexes are walked (to know which pages are whose) but their
  entries are not reported; `sqlite_*` tables are not reported. Dropped
  or re-created tables are not followed beyond their new root.
- Column values missing from a record (a column added later with ALTER
  TABLE) read as None, not as the column's default.
"""

from __future__ import annotations

import operator
import re
import struct
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from . import model

_WAL_MAGIC = (0x377F0682, 0x377F0683)
_INDEX_INTERIOR, _TABLE_INTERIOR, _INDEX_LEAF, _TABLE_LEAF = 2, 5, 10, 13
_INTERIOR = (_INDEX_INTERIOR, _TABLE_INTERIOR)
_TEXT_ENCODINGS = {1: "utf-8", 2: "utf-16-le", 3: "utf-16-be"}
_INT_SIZES = (0, 1, 2, 3, 4, 6, 8)
_MASK = 0xFFFFFFFF


class _Bad(Exception):
    """Bytes that are not what the format says they should be."""


# --------------------------------------------------------------------------
# Varints and records


def _varint(buf, i: int) -> tuple[int, int]:
    x = buf[i]
    if x < 0x80:
        return x, i + 1
    value = x & 0x7F
    for j in range(1, 8):
        x = buf[i + j]
        value = (value << 7) | (x & 0x7F)
        if x < 0x80:
            return value, i + j + 1
    return (value << 8) | buf[i + 8], i + 9


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _record_types(payload, start: int = 0, limit: int | None = None) -> tuple[list[int], int]:
    """The serial types of the record at `start`, and where its body begins."""
    end = len(payload) if limit is None else limit
    header_size, i = _varint(payload, start)
    header_end = start + header_size
    if header_size < 1 or header_end > end:
        raise _Bad("record header")
    types = []
    while i < header_end:
        serial, i = _varint(payload, i)
        if serial in (10, 11):
            raise _Bad("reserved serial type")
        types.append(serial)
    if i != header_end:
        raise _Bad("record header overruns")
    return types, header_end


def _body_size(types: list[int]) -> int:
    size = 0
    for serial in types:
        if serial < 7:
            size += _INT_SIZES[serial]
        elif serial == 7:
            size += 8
        elif serial >= 12:
            size += (serial - 12) >> 1
    return size


def _record_values(payload, types: list[int], pos: int, encoding: str, partial: bool = False) -> list[Any]:
    """The values of a record; with `partial`, those past the payload's end are None."""
    values: list[Any] = []
    append = values.append
    end = len(payload)
    for serial in types:
        if partial and pos + _body_size([serial]) > end:
            append(None)
            continue
        if serial == 0:
            append(None)
        elif serial < 7:
            size = _INT_SIZES[serial]
            append(int.from_bytes(payload[pos : pos + size], "big", signed=True))
            pos += size
        elif serial == 7:
            append(struct.unpack_from(">d", payload, pos)[0])
            pos += 8
        elif serial == 8:
            append(0)
        elif serial == 9:
            append(1)
        else:
            size = (serial - 12) >> 1
            chunk = bytes(payload[pos : pos + size])
            append(chunk.decode(encoding, "replace") if serial & 1 else chunk)
            pos += size
    if pos > len(payload):
        raise _Bad("record body truncated")
    return values


def _decode_record(payload, encoding: str, partial: bool = False) -> list[Any]:
    types, pos = _record_types(payload)
    return _record_values(payload, types, pos, encoding, partial)


# --------------------------------------------------------------------------
# The schema: CREATE TABLE just far enough for column order and keys


_TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?(?:\*/|$)"""
    r"""|(?P<tok>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|'(?:[^']|'')*'"""
    r"""|[A-Za-z_\x80-\U0010ffff][\w$\x80-\U0010ffff]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|.)""",
    re.DOTALL,
)
_COLUMN_CONSTRAINT = {
    "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
    "COLLATE", "REFERENCES", "GENERATED", "AS",
}
_TABLE_CONSTRAINT = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


def _tokens(sql: str) -> list[str]:
    return [m.group("tok") for m in _TOKEN.finditer(sql) if m.group("tok")]


def _unquote(token: str) -> str:
    if token[:1] in "\"`'" and len(token) >= 2:
        quote = token[0]
        return token[1:-1].replace(quote * 2, quote)
    if token[:1] == "[":
        return token[1:-1]
    return token


def _split_top(tokens: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return [p for p in parts if p]


@dataclass(frozen=True)
class _Table:
    name: str
    root: int
    #: Column names in declaration order.
    columns: tuple[str, ...]
    without_rowid: bool
    #: The INTEGER PRIMARY KEY column (the rowid's alias), if any.
    ipk: int | None
    #: Primary key columns (declaration indices) in key order.
    pk: tuple[int, ...]
    #: For each value of a stored record: the declaration index it belongs to.
    storage: tuple[int, ...]
    #: Declaration indices of columns declared NOT NULL, and of text affinity.
    not_null: frozenset[int]
    text_affinity: frozenset[int]

    def row_key(self, values: tuple) -> Hashable:
        """The key reported for a row: the primary key (one value or a tuple)."""
        if not self.pk:
            return None
        if len(self.pk) == 1:
            return values[self.pk[0]]
        return tuple(values[i] for i in self.pk)

    def as_dict(self, values: tuple) -> dict[str, Any]:
        return dict(zip(self.columns, values))

    def from_record(self, record: list[Any], rowid: int | None) -> tuple:
        values: list[Any] = [None] * len(self.columns)
        for position, value in enumerate(record[: len(self.storage)]):
            values[self.storage[position]] = value
        if self.ipk is not None and rowid is not None:
            values[self.ipk] = rowid
        return tuple(values)


def _parse_table(name: str, root: int, sql: str | None) -> _Table | None:
    tokens = _tokens(sql or "")
    try:
        start = tokens.index("(")
    except ValueError:
        return None  # CREATE TABLE ... AS SELECT, or no SQL: nothing to go on
    depth, end = 0, None
    for i in range(start, len(tokens)):
        if tokens[i] == "(":
            depth += 1
        elif tokens[i] == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    if end is None:
        return None
    options = " ".join(t.upper() for t in tokens[end + 1 :])
    without_rowid = bool(re.search(r"\bWITHOUT ROWID\b", options))
    columns: list[str] = []
    types: list[str] = []
    not_null: set[int] = set()
    virtual: set[int] = set()
    pk_names: list[str] = []
    column_pk_desc = False
    for item in _split_top(tokens[start + 1 : end]):
        head = item[0].upper()
        if head in _TABLE_CONSTRAINT:
            upper = [t.upper() for t in item]
            if "PRIMARY" in upper:
                at = upper.index("PRIMARY")
                if at + 2 < len(item) and item[at + 2] == "(":
                    close = item.index(")", at + 2)
                    for part in _split_top(item[at + 3 : close]):
                        pk_names.append(_unquote(part[0]))
            continue
        index = len(columns)
        columns.append(_unquote(item[0]))
        type_tokens: list[str] = []
        i, depth = 1, 0
        while i < len(item):
            token = item[i]
            if depth == 0 and token.upper() in _COLUMN_CONSTRAINT:
                break
            depth += token == "("
            depth -= token == ")"
            type_tokens.append(token)
            i += 1
        types.append(" ".join(type_tokens).upper())
        rest = [t.upper() for t in item[i:]]
        for j, token in enumerate(rest):
            if token == "PRIMARY" and j + 1 < len(rest) and rest[j + 1] == "KEY":
                pk_names.append(columns[index])
                column_pk_desc = j + 2 < len(rest) and rest[j + 2] == "DESC"
            elif token == "NOT" and j + 1 < len(rest) and rest[j + 1] == "NULL":
                not_null.add(index)
        if "AS" in rest and "STORED" not in rest:
            virtual.add(index)
    lower = [c.lower() for c in columns]
    pk: list[int] = []
    for pk_name in pk_names:
        if pk_name.lower() in lower and lower.index(pk_name.lower()) not in pk:
            pk.append(lower.index(pk_name.lower()))
    ipk = None
    if not without_rowid and len(pk) == 1 and types[pk[0]] == "INTEGER" and not column_pk_desc:
        ipk = pk[0]
    stored = [i for i in range(len(columns)) if i not in virtual]
    if without_rowid:
        storage = tuple(pk + [i for i in stored if i not in pk])
    else:
        storage = tuple(stored)
    text_affinity = frozenset(
        i for i, t in enumerate(types) if "INT" not in t and any(k in t for k in ("CHAR", "CLOB", "TEXT"))
    )
    return _Table(
        name=name,
        root=root,
        columns=tuple(columns),
        without_rowid=without_rowid,
        ipk=ipk,
        pk=tuple(pk),
        storage=storage,
        not_null=frozenset(not_null) | ({ipk} if ipk is not None else frozenset()),
        text_affinity=text_affinity,
    )


# --------------------------------------------------------------------------
# Pages


@dataclass
class _Page:
    kind: int
    data: bytes
    #: Offsets of the cells, in cell-pointer order.
    cells: tuple[int, ...]
    #: Child page numbers (interior pages), left to right.
    children: tuple[int, ...]
    #: Where the cell-pointer array ends and the cell content area begins.
    pointer_end: int
    content_start: int
    first_freeblock: int


def _parse_page(data: bytes | None, pgno: int, usable: int) -> _Page | None:
    """A b-tree page, or None when these bytes are not one."""
    if data is None:
        return None
    base = 100 if pgno == 1 else 0
    if len(data) < base + 8:
        return None
    kind = data[base]
    if kind not in (2, 5, 10, 13):
        return None
    first_freeblock, ncells, content_start = struct.unpack_from(">HHH", data, base + 1)
    content_start = content_start or 65536
    header = 12 if kind in _INTERIOR else 8
    pointer_end = base + header + 2 * ncells
    if pointer_end > usable or content_start > usable or pointer_end > content_start:
        return None
    cells = struct.unpack_from(f">{ncells}H", data, base + header)
    for offset in cells:
        if offset < pointer_end or offset >= usable:
            return None
    children: tuple[int, ...] = ()
    if kind in _INTERIOR:
        children = tuple(struct.unpack_from(">I", data, c)[0] for c in cells) + (
            struct.unpack_from(">I", data, base + 8)[0],
        )
    return _Page(kind, data, tuple(cells), children, pointer_end, content_start, first_freeblock)


class _Geometry:
    """Page size, usable size and text encoding, and payload spilling."""

    def __init__(self, page_size: int, reserved: int, encoding: str):
        self.page_size = page_size
        self.usable = page_size - reserved
        self.encoding = encoding
        u = self.usable
        self.max_local_table = u - 35
        self.max_local_index = ((u - 12) * 64 // 255) - 23
        self.min_local = ((u - 12) * 32 // 255) - 23

    def local_size(self, kind: int, payload_size: int) -> int:
        x = self.max_local_table if kind == _TABLE_LEAF else self.max_local_index
        if payload_size <= x:
            return payload_size
        m = self.min_local
        k = m + (payload_size - m) % (self.usable - 4)
        return k if k <= x else m

    def payload(
        self, data: bytes, offset: int, kind: int, size: int, lookup: Callable[[int], bytes | None],
        partial: bool = False,
    ) -> bytes:
        """A cell's whole payload, following its overflow chain through `lookup`.

        With `partial`, a broken chain ends the payload where it breaks.
        """
        local = self.local_size(kind, size)
        if offset + local > self.usable:
            raise _Bad("cell overruns its page")
        if local == size:
            return data[offset : offset + size]
        parts = [data[offset : offset + local]]
        remaining = size - local
        (next_page,) = struct.unpack_from(">I", data, offset + local)
        seen: set[int] = set()
        room = self.usable - 4
        while remaining > 0:
            image = None if not next_page or next_page in seen else lookup(next_page)
            if image is None:
                if partial:
                    break
                raise _Bad("overflow chain broken")
            seen.add(next_page)
            take = min(remaining, room)
            parts.append(image[4 : 4 + take])
            remaining -= take
            (next_page,) = struct.unpack_from(">I", image, 0)
        return b"".join(parts)


def _cell_start(page: _Page, offset: int) -> tuple[int, int | None, int]:
    """(payload size, rowid or None, where the payload starts) of a record cell."""
    data = page.data
    if page.kind == _INDEX_INTERIOR:
        offset += 4
    size, i = _varint(data, offset)
    rowid = None
    if page.kind == _TABLE_LEAF:
        raw, i = _varint(data, i)
        rowid = _signed64(raw)
    return size, rowid, i


def _cell_entries(page: _Page, geometry: _Geometry, lookup) -> list[tuple[int, int | None, bytes]]:
    """(cell index, rowid or None, payload) of every record a page holds."""
    if page.kind == _TABLE_INTERIOR:
        return []
    out = []
    for index, offset in enumerate(page.cells):
        size, rowid, start = _cell_start(page, offset)
        out.append((index, rowid, geometry.payload(page.data, start, page.kind, size, lookup)))
    return out


def _types_fit(table: _Table, types: list[int]) -> bool:
    """Could a record with these serial types be a row of this table?"""
    if len(types) != len(table.storage):
        return False
    for position, serial in enumerate(types):
        column = table.storage[position]
        if column == table.ipk:
            if serial != 0:
                return False
        elif serial == 0 and column in table.not_null:
            return False
        elif column in table.text_affinity and (1 <= serial <= 9 or (serial >= 12 and not serial & 1)):
            return False  # numbers become text there; blobs are possible but not written by the app
    return True


def _shape_fits(tree: _Tree, types: list[int]) -> bool:
    """Could a record with these serial types be an entry of this tree?"""
    if tree.table is not None and not _types_fit(tree.table, types):
        return False
    if tree.width is not None and len(types) != tree.width:
        return False
    if tree.table is None and tree.width is None:
        return False
    if tree.kinds is not None:
        for position, serial in enumerate(types):
            kind = _serial_kind(serial)
            seen = tree.kinds[position]
            if seen and kind not in seen and kind != "null" and not (kind == "int" and "float" in seen):
                return False
    return True


def _header_geometry(page1: bytes | None, default_size: int) -> _Geometry:
    if page1 is None or len(page1) < 100 or page1[:16] != b"SQLite format 3\x00":
        return _Geometry(default_size, 0, "utf-8")
    (size,) = struct.unpack_from(">H", page1, 16)
    size = 65536 if size == 1 else size
    (encoding,) = struct.unpack_from(">I", page1, 56)
    return _Geometry(size, page1[20], _TEXT_ENCODINGS.get(encoding, "utf-8"))


# --------------------------------------------------------------------------
# The -wal file


@dataclass(frozen=True)
class _Frame:
    index: int
    offset: int  # of the page image in the file
    pgno: int
    commit: int
    salts: tuple[int, int]


@dataclass
class _Txn:
    salts: tuple[int, int]
    generation: int  # ordinal of its generation in read order
    frames: list[_Frame]
    maybe_cut: bool  # first transaction of a stale generation's tail

    @property
    def ident(self) -> str:
        return f"{self.salts[0]}:{self.frames[0].index}"


@dataclass
class Generation:
    """One generation of the log (one pair of salts) as far as it survives."""

    salt1: int
    salt2: int
    #: Is this the generation the log's header names (the current one)?
    current: bool
    first_frame: int
    frames: int
    transactions: int
    #: Frames after its last commit (never committed, or left by a rollback).
    incomplete_tail: int
    #: Frames after a checksum failure (not part of the log).
    invalid_frames: int


@dataclass
class WalHistory:
    transactions: list[model.Transaction] = field(default_factory=list)
    #: transaction ident -> (table, key) of changes whose kind is a guess:
    #: the page's previous state was unknown (see the module docstring).
    uncertain: dict[str, frozenset[tuple[str, Hashable]]] = field(default_factory=dict)
    page_size: int = 0
    #: Frame slots in the file, and generations in read order (oldest first).
    frames: int = 0
    generations: list[Generation] = field(default_factory=list)
    incomplete_tail_frames: int = 0
    #: Frames of a transaction not committed (yet): SQLite salts them at commit.
    unsalted_frames: int = 0
    checksum_failures: int = 0
    #: From this position on every earlier state is known and the changes are
    #: exact (before it, see `uncertain`).
    exact_from: int = 0
    #: Pages whose main-file image a checkpoint already took from a frame of
    #: the current generation.
    main_file_future_pages: int = 0
    #: Pages a transaction wrote more than once (intermediate images skipped).
    rewritten_pages: int = 0
    #: Written record pages no tree reached where times mix, read anyway under
    #: the tree they last belonged to or whose shape they fit.
    orphan_pages: int = 0
    #: Transactions whose first frames may have been overwritten (the first of
    #: each stale generation's tail): what remains of them is reported.
    maybe_cut: frozenset[str] = frozenset()
    #: Pages or records that could not be parsed.
    unreadable: int = 0
    #: Salt-1 order disagreed with the order of positions (positions used).
    salt_order_disagreed: bool = False


def _checksum_words(data, offset: int, count: int, big: bool) -> tuple[int, ...]:
    return struct.unpack_from((">" if big else "<") + f"{count}I", data, offset)


def _checksum_loop(words, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _MASK
        s1 = (s1 + words[i + 1] + s0) & _MASK
    return s0, s1


class _FrameChecksum:
    """SQLite's frame checksum, as a linear map of the words (fast in Python).

    One step is (s0, s1) -> M (s0, s1) + (a, a + b) with M = [[1, 1], [1, 2]],
    so the result over n word pairs is M^n (s0, s1) plus a fixed weighted sum
    of the words: two dot products per frame instead of a loop per word.
    """

    def __init__(self, page_size: int):
        pairs = 1 + page_size // 8
        powers = [(1, 0, 0, 1)]
        for _ in range(pairs):
            p, q, r, t = powers[-1]
            powers.append(((p + q) & _MASK, (p + 2 * q) & _MASK, (r + t) & _MASK, (r + 2 * t) & _MASK))
        self.start = powers[pairs]
        c0: list[int] = []
        c1: list[int] = []
        for k in range(1, pairs + 1):
            p, q, r, t = powers[pairs - k]
            c0 += [(p + q) & _MASK, q]
            c1 += [(r + t) & _MASK, t]
        self.c0, self.c1 = c0, c1
        self.page_words = page_size // 4

    def __call__(self, wal: bytes, frame_offset: int, big: bool, s0: int, s1: int) -> tuple[int, int]:
        words = _checksum_words(wal, frame_offset, 2, big) + _checksum_words(
            wal, frame_offset + 24, self.page_words, big
        )
        p, q, r, t = self.start
        mul = operator.mul
        return (
            (p * s0 + q * s1 + sum(map(mul, self.c0, words))) & _MASK,
            (r * s0 + t * s1 + sum(map(mul, self.c1, words))) & _MASK,
        )


@dataclass
class _Log:
    page_size: int
    frames: int
    transactions: list[_Txn]
    generations: list[Generation]
    checksum_failures: int
    salt_order_disagreed: bool
    unsalted_frames: int = 0


def _signed32(value: int) -> int:
    value &= _MASK
    return value - (1 << 32) if value >= 1 << 31 else value


def _read_log(wal: bytes) -> _Log | None:
    if len(wal) < 32:
        return None
    magic, _version, page_size, _seq, hsalt1, hsalt2, hck1, hck2 = struct.unpack_from(">8I", wal, 0)
    if magic not in _WAL_MAGIC or page_size < 512 or page_size & (page_size - 1):
        return None
    big = bool(magic & 1)
    header_ok = _checksum_loop(_checksum_words(wal, 0, 6, big)) == (hck1, hck2)
    frame_size = 24 + page_size
    count = (len(wal) - 32) // frame_size
    frames = []
    for index in range(count):
        at = 32 + index * frame_size
        pgno, commit, s1, s2, c1, c2 = struct.unpack_from(">6I", wal, at)
        frames.append((at, pgno, commit, (s1, s2), (c1, c2)))
    # Runs: contiguous frames with one pair of salts. Frames with zero salts
    # belong to a transaction that rewrote a page it had already spilled:
    # SQLite salts and checksums them only when it commits.
    runs: list[tuple[int, int]] = []  # (first index, end index)
    unsalted = 0
    for index, frame in enumerate(frames):
        if frame[1] == 0 or frame[3] == (0, 0):
            unsalted += frame[1] != 0
            continue
        if runs and frames[runs[-1][0]][3] == frame[3] and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    checksum = _FrameChecksum(page_size)
    current_salts = (hsalt1, hsalt2)
    # Read order: by salt-1 relative to the header's (it grows by one at each
    # restart); older generations' tails lie further into the file.
    def salt_age(run):
        return _signed32(frames[run[0]][3][0] - hsalt1)

    by_salt = sorted(runs, key=lambda run: (salt_age(run), -run[0]))
    by_position = sorted(runs, key=lambda run: -run[0] if frames[run[0]][3] != current_salts else 1)
    disagreed = by_salt != by_position
    order = by_position if disagreed else by_salt
    transactions: list[_Txn] = []
    generations: list[Generation] = []
    failures = 0
    for ordinal, (first, end) in enumerate(order):
        salts = frames[first][3]
        current = salts == current_salts and first == 0
        if current:
            if not header_ok:
                failures += 1
                seed = None
            else:
                seed = (hck1, hck2)
            start = first
        else:
            seed = frames[first][4]  # the first survivor cannot be checked
            start = first + 1
        valid_end = end if seed is not None else first
        for index in range(start, end if seed is not None else first):
            at = frames[index][0]
            seed = checksum(wal, at, big, *seed)
            if seed != frames[index][4]:
                failures += 1
                valid_end = index
                break
        pending: list[_Frame] = []
        txns = 0
        for index in range(first, valid_end):
            at, pgno, commit, frame_salts, _ck = frames[index]
            pending.append(_Frame(index, at + 24, pgno, commit, frame_salts))
            if commit:
                transactions.append(_Txn(salts, ordinal, pending, maybe_cut=not current and txns == 0))
                pending = []
                txns += 1
        generations.append(
            Generation(
                salt1=salts[0],
                salt2=salts[1],
                current=current,
                first_frame=first,
                frames=end - first,
                transactions=txns,
                incomplete_tail=len(pending),
                invalid_frames=end - valid_end,
            )
        )
    return _Log(page_size, count, transactions, generations, failures, disagreed, unsalted)


# --------------------------------------------------------------------------
# Replaying the log


@dataclass
class _Tree:
    root: int
    table: _Table | None  # None: an ordinary index (walked, not reported)
    #: Pages holding records (table leaves; every page of an index b-tree).
    records: dict[int, int] = field(default_factory=dict)  # pgno -> version
    pages: set[int] = field(default_factory=set)
    #: Learnt from the main file: values per record, and per value the kinds
    #: of serial type seen (null, int, float, text, blob).
    width: int | None = None
    kinds: list[set[str]] | None = None

    @property
    def index_kind(self) -> bool:
        return self.table is None or self.table.without_rowid


def _serial_kind(serial: int) -> str:
    if serial == 0:
        return "null"
    if serial == 7:
        return "float"
    if serial < 12:
        return "int"
    return "text" if serial & 1 else "blob"


def _sort_key(key: Hashable):
    if isinstance(key, tuple):
        return tuple(_sort_key(k) for k in key)
    return (type(key).__name__, key if key is not None else 0)


_SCHEMA_TABLE = _Table(
    "sqlite_schema", 1, ("type", "name", "tbl_name", "rootpage", "sql"),
    False, None, (), (0, 1, 2, 3, 4), frozenset(), frozenset(),
)
_UNREADABLE = (_Bad, IndexError, ValueError, struct.error)


class _Replay:
    """Page images as of one moment of the log, and the b-trees they hold.

    A page version is -1 for the main file's image, else the offset of a
    frame's page image in the -wal file.
    """

    def __init__(self, main: bytes, wal: bytes, page_size: int, page1: bytes | None = None):
        self.main = main
        self.wal = wal
        self.page_size = page_size
        self.cur: dict[int, int] = {}  # pgno -> version, where not the main file's
        self.generation_of: dict[int, int] = {}  # frame version -> generation ordinal
        self.position_of: dict[int, int] = {}  # frame version -> transaction position
        self.pages: dict[tuple[int, int], _Page | None] = {}
        self.rows: dict[tuple[int, int], tuple[dict[Hashable, tuple], frozenset]] = {}
        self.geometry = _header_geometry(self.image(1, -1) or page1, page_size)
        self.schema_pages: set[int] = set()
        self.schema_sql: dict[str, tuple[str, int, str | None]] = {}
        self.trees: dict[str, _Tree] = {}
        self.owner: dict[int, str] = {}  # pgno -> the tree whose walk reached it
        self.unreadable = 0
        #: Is the main file's image of a page not its state before the
        #: current generation (set by the reader)?
        self.main_unknown: Callable[[int], bool] = lambda pgno: False

    def image(self, pgno: int, version: int) -> bytes | None:
        if version < 0:
            start = (pgno - 1) * self.page_size
            if pgno < 1 or start + self.page_size > len(self.main):
                return None
            return self.main[start : start + self.page_size]
        return self.wal[version : version + self.page_size]

    def version_of(self, pgno: int) -> int:
        return self.cur.get(pgno, -1)

    def lookup(self, pgno: int) -> bytes | None:
        return self.image(pgno, self.cur.get(pgno, -1))

    def page(self, pgno: int, version: int) -> _Page | None:
        key = (pgno, version)
        if key not in self.pages:
            self.pages[key] = _parse_page(self.image(pgno, version), pgno, self.geometry.usable)
        return self.pages[key]

    def page_rows(
        self, pgno: int, version: int, table: _Table, version_of=None
    ) -> tuple[dict[Hashable, tuple], frozenset]:
        """b-tree key -> row values (declaration order) of one page version,
        and the keys whose overflow pages may be from another time.

        Overflow pages are read through `version_of` (default: the current
        state). A key is suspect (its values may be another row's bytes)
        when its chain ran through a page image of another time than the
        page version's: a frame of another generation or written after it,
        or, for a main-file version, a frame at all; a main-file image that
        is not the state before the current generation (`main_unknown`).
        """
        cached = self.rows.get((pgno, version))
        if cached is not None:
            return cached
        version_of = version_of or self.version_of
        own_generation = self.generation_of.get(version)
        rows: dict[Hashable, tuple] = {}
        suspect: set[Hashable] = set()
        page = self.page(pgno, version)
        other_time = False

        def lookup(overflow: int) -> bytes | None:
            nonlocal other_time
            seen = version_of(overflow)
            if seen < 0:
                other_time = other_time or self.main_unknown(overflow)
            elif (
                version < 0
                or self.generation_of.get(seen) != own_generation
                or self.position_of[seen] > self.position_of[version]
            ):
                other_time = True
            return self.image(overflow, seen)

        if page is not None and page.kind != _TABLE_INTERIOR:
            for offset in page.cells:
                other_time = False
                try:
                    size, rowid, start = _cell_start(page, offset)
                    payload = self.geometry.payload(page.data, start, page.kind, size, lookup, partial=True)
                    cut = len(payload) < size
                    values = table.from_record(_decode_record(payload, self.geometry.encoding, cut), rowid)
                except _UNREADABLE:
                    self.unreadable += 1
                    continue
                if cut:
                    # The chain broke (its pages hold other things by now):
                    # the row is there, its last values are not readable.
                    self.unreadable += 1
                key = tuple(values[i] for i in table.pk) if table.without_rowid else rowid
                rows[key] = values
                if other_time or cut:
                    suspect.add(key)
        result = (rows, frozenset(suspect))
        self.rows[(pgno, version)] = result
        return result

    def fits(self, tree: _Tree, page: _Page) -> bool:
        """Do the first and last records of a page fit the tree's shape?"""
        index_kind = page.kind in (_INDEX_LEAF, _INDEX_INTERIOR)
        if page.kind == _TABLE_INTERIOR or index_kind != tree.index_kind or not page.cells:
            return False
        for offset in {page.cells[0], page.cells[-1]}:
            types = self.record_types_at(page, offset)
            if types is None or not _shape_fits(tree, types):
                return False
        return True

    def record_types_at(self, page: _Page, offset: int) -> list[int] | None:
        try:
            size, _rowid, start = _cell_start(page, offset)
            local = self.geometry.local_size(page.kind, size)
            return _record_types(page.data, start, start + local)[0]
        except _UNREADABLE:
            return None

    def learn_shapes(self, most_pages: int = 200) -> None:
        """Each tree's record width and value kinds, from the current state."""
        for tree in self.trees.values():
            kinds: list[set[str]] | None = None
            for pgno in sorted(tree.records)[:most_pages]:
                page = self.page(pgno, tree.records[pgno])
                if page is None or page.kind == _TABLE_INTERIOR:
                    continue
                for offset in page.cells:
                    types = self.record_types_at(page, offset)
                    if types is None:
                        continue
                    if kinds is None:
                        kinds = [set() for _ in types]
                    if len(types) != len(kinds):
                        kinds = None
                        break
                    for position, serial in enumerate(types):
                        kinds[position].add(_serial_kind(serial))
                else:
                    continue
                break
            tree.kinds = kinds
            if kinds is not None:
                tree.width = len(kinds)
            else:
                tree.width = len(tree.table.storage) if tree.table else None

    def walk(self, root: int, index_kind: bool) -> tuple[dict[int, int], set[int]]:
        records: dict[int, int] = {}
        pages: set[int] = set()
        stack = [root]
        allowed = (_INDEX_INTERIOR, _INDEX_LEAF) if index_kind else (_TABLE_INTERIOR, _TABLE_LEAF)
        while stack:
            pgno = stack.pop()
            if pgno in pages or pgno < 1:
                continue
            version = self.cur.get(pgno, -1)
            page = self.page(pgno, version)
            if page is None or page.kind not in allowed:
                self.unreadable += 1
                continue
            pages.add(pgno)
            if page.kind in _INTERIOR:
                stack.extend(page.children)
            if page.kind != _TABLE_INTERIOR:
                records[pgno] = version
        return records, pages

    def read_schema(self) -> bool:
        """Re-read sqlite_schema; True if it changed."""
        records, pages = self.walk(1, False)
        self.schema_pages = pages
        entries: dict[str, tuple[str, int, str | None]] = {}
        for pgno, version in records.items():
            for values in self.page_rows(pgno, version, _SCHEMA_TABLE)[0].values():
                kind, name, _tbl, root, sql = values
                usable = isinstance(name, str) and isinstance(root, int) and root > 0
                if kind in ("table", "index") and usable:
                    entries[name] = (kind, root, sql)
        if entries == self.schema_sql:
            return False
        self.schema_sql = entries
        return True

    def sync_trees(self) -> set[str]:
        """Trees from the schema; the names of those new or moved."""
        fresh: set[str] = set()
        for name in list(self.trees):
            if name not in self.schema_sql or self.schema_sql[name][1] != self.trees[name].root:
                for pgno in self.trees.pop(name).pages:
                    if self.owner.get(pgno) == name:
                        del self.owner[pgno]
        for name, (kind, root, sql) in self.schema_sql.items():
            if name in self.trees or (kind == "table" and name.startswith("sqlite_")):
                continue
            table = _parse_table(name, root, sql) if kind == "table" else None
            if kind == "table" and table is None:
                continue
            self.trees[name] = _Tree(root, table)
            fresh.add(name)
        return fresh

    def rewalk(self, name: str) -> tuple[dict[int, int], set[int]]:
        tree = self.trees[name]
        records, pages = self.walk(tree.root, tree.index_kind)
        for pgno in tree.pages - pages:
            if self.owner.get(pgno) == name:
                del self.owner[pgno]
        for pgno in pages:
            self.owner[pgno] = name
        return records, pages

    def start_from_main_file(self) -> None:
        """The state is the main file alone: forget the overlay, walk every tree."""
        self.cur.clear()
        self.pages.clear()
        self.rows.clear()
        self.owner.clear()
        self.trees.clear()
        self.schema_sql = {}
        self.read_schema()
        self.sync_trees()
        for name, tree in self.trees.items():
            tree.records, tree.pages = self.rewalk(name)
        self.learn_shapes()


def _main_file_times(replay: _Replay, log: _Log) -> tuple[int, int | None, frozenset[int]]:
    """When the main file's pages were current.

    Returns (from which position on every earlier state is known, the
    position of the current generation's first transaction, and the pages
    whose main-file image is already one a current-generation frame wrote).

    Before the current generation began, the previous one was copied into
    the main file whole (SQLite restarts the log only then). Checkpoints
    since copy only pages whose latest frame is old enough for every reader
    (a partial checkpoint skips the rest entirely), so each page has its own
    time: a main-file image that equals a frame of the current generation
    shows that frame's state, from the future of every transaction before
    it; any other shows the state before the current generation. Once every
    such page has been written again, each earlier state is known.
    """
    txns = log.transactions
    current = [i for i, t in enumerate(txns) if log.generations[t.generation].current]
    if not current:
        return len(txns), None, frozenset()
    first_write: dict[int, int] = {}
    future: set[int] = set()
    for i in current:
        for frame in txns[i].frames:
            first_write.setdefault(frame.pgno, i)
            pgno = frame.pgno
            if pgno not in future and replay.image(pgno, frame.offset) == replay.image(pgno, -1):
                future.add(pgno)
    exact_from = max([current[0]] + [first_write[p] + 1 for p in future])
    return exact_from, current[0], frozenset(future)


#: Per table: (pages as before: [(pgno, version)], pages as after, some
#: earlier state unknown, pages that left the tree unwritten - where times
#: mix, these only say a record was there already, never that it went).
_Sides = dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]], bool, list[tuple[int, int]]]]


class _Reader:
    """Replays the log transaction by transaction and says what each changed."""

    def __init__(self, replay: _Replay, log: _Log, history: WalHistory):
        self.replay = replay
        self.log = log
        self.history = history
        self.exact_from, self.current_from, self.future = _main_file_times(replay, log)
        history.exact_from = self.exact_from
        history.main_file_future_pages = len(self.future)
        #: The last values seen per table and key (for pages whose earlier
        #: state is unknown).
        self.present: dict[str, dict[Hashable, tuple]] = {}
        #: pgno -> the tree whose records it last held (for states that mix times).
        self.last_owner: dict[int, str] = {}

    def run(self) -> None:
        replay = self.replay
        future = self.future
        in_current = self.current_from == 0
        replay.main_unknown = lambda pgno: not in_current or pgno in future
        replay.start_from_main_file()
        self.remember_main_file(rows=in_current)
        for position, txn in enumerate(self.log.transactions):
            if position == self.current_from and position > 0:
                # The stale generations' frames are older than every page
                # of the main file: the current generation starts from it.
                replay.main_unknown = lambda pgno: pgno in future
                replay.start_from_main_file()
                self.remember_main_file(rows=True)
            self.step(position, txn)
        self.history.unreadable = replay.unreadable

    def remember_main_file(self, rows: bool) -> None:
        """Note which tree holds which page, and (rows) the rows the main
        file shows as they were before the current generation."""
        for name, tree in self.replay.trees.items():
            for pgno in tree.records:
                self.last_owner[pgno] = name
            if tree.table is None or not rows:
                continue
            present = self.present.setdefault(name, {})
            for pgno, version in tree.records.items():
                if pgno not in self.future:
                    present.update(self.replay.page_rows(pgno, version, tree.table)[0])

    def step(self, position: int, txn: _Txn) -> None:
        replay = self.replay
        written: dict[int, int] = {}
        for frame in txn.frames:
            if frame.pgno in written:
                self.history.rewritten_pages += 1
            written[frame.pgno] = frame.offset
            replay.generation_of[frame.offset] = txn.generation
            replay.position_of[frame.offset] = position
        previous = {pgno: replay.cur.get(pgno, -1) for pgno in written}

        def version_before(pgno: int) -> int:
            return previous[pgno] if pgno in previous else replay.cur.get(pgno, -1)

        replay.cur.update(written)
        affected = {replay.owner[p] for p in written if p in replay.owner}
        if written.keys() & (replay.schema_pages | {1}) and replay.read_schema():
            affected |= replay.sync_trees()
        new_trees = {name: replay.rewalk(name) for name in affected if name in replay.trees}
        mixed = position < self.exact_from
        in_current = self.current_from is not None and position >= self.current_from

        def before_known(pgno: int, version: int) -> bool:
            # A frame of the same generation is a known earlier state (between
            # generations lie the overwritten heads of later ones); so is the
            # main file's image in the current generation, unless it is one a
            # frame of this generation wrote (see _main_file_times).
            if version < 0:
                return in_current and pgno not in self.future
            return replay.generation_of[version] == txn.generation

        if mixed:
            sides = self.mixed_sides(written, previous, new_trees, before_known)
        else:
            sides = self.consistent_sides(new_trees)
        for name, (records, pages) in new_trees.items():
            replay.trees[name].records, replay.trees[name].pages = records, pages

        changes: list[model.RowChange] = []
        uncertain: set[tuple[str, Hashable]] = set()
        for name in sorted(sides, key=lambda n: replay.trees[n].root):
            old_side, new_side, had_unknown, detached = sides[name]
            self.compare(
                name, old_side, new_side, had_unknown, detached, before_known, version_before, mixed, changes,
                uncertain,
            )
        # Forget the page versions this transaction replaced.
        for pgno, version in previous.items():
            replay.pages.pop((pgno, version), None)
            replay.rows.pop((pgno, version), None)
        self.history.transactions.append(model.Transaction(txn.ident, position, tuple(changes)))
        if uncertain:
            self.history.uncertain[txn.ident] = frozenset(uncertain)

    def consistent_sides(self, new_trees) -> _Sides:
        """Every record page whose version changed, or that joined or left a tree."""
        sides: _Sides = {}
        for name, (new_records, _pages) in new_trees.items():
            tree = self.replay.trees[name]
            if tree.table is None:
                continue
            old_records = tree.records
            pages = old_records.keys() | new_records.keys()
            touched = [p for p in pages if old_records.get(p) != new_records.get(p)]
            if touched:
                sides[name] = (
                    [(p, old_records[p]) for p in touched if p in old_records],
                    [(p, new_records[p]) for p in touched if p in new_records],
                    False,
                    [],
                )
        return sides

    def mixed_sides(
        self, written: dict[int, int], previous: dict[int, int], new_trees, known_before
    ) -> _Sides:
        """Only the pages this transaction wrote, each version given to a tree.

        Where the state mixes times, walks reach pages of other trees or miss
        their own: a page version goes to the one tree that reaches it and
        whose shape it fits (shapes learnt from the main file), else to the
        tree it last belonged to if it fits, else to the one tree whose
        shape it fits. Ordinary indexes take part, so that their pages are
        not read as rows; a page no tree can take makes the tables of its
        kind uncertain in this transaction.
        """
        replay = self.replay
        trees = replay.trees
        sides: _Sides = {}
        unresolved: set[bool] = set()  # index-kind or not, of pages no tree could take

        def attribute(pgno: int, version: int, reached_by: list[str]) -> str | None:
            page = replay.page(pgno, version)
            if page is None or page.kind == _TABLE_INTERIOR or not page.cells:
                return None
            fitting = [n for n in reached_by if replay.fits(trees[n], page)]
            if len(fitting) == 1:
                return fitting[0]
            last = self.last_owner.get(pgno)
            if last in trees and replay.fits(trees[last], page) and (not fitting or last in fitting):
                return last
            if not fitting:
                shaped = [n for n, t in trees.items() if replay.fits(t, page)]
                if len(shaped) == 1:
                    return shaped[0]
            unresolved.add(page.kind in (_INDEX_LEAF, _INDEX_INTERIOR))
            return None

        for pgno, version in written.items():
            if pgno in replay.schema_pages:
                continue
            old_reach = [n for n, t in trees.items() if pgno in t.records]
            new_reach = [
                n for n, t in trees.items() if pgno in (new_trees[n][0] if n in new_trees else t.records)
            ]
            old_name = attribute(pgno, previous[pgno], old_reach)
            new_name = attribute(pgno, version, new_reach)
            if new_name is not None:
                self.last_owner[pgno] = new_name
                if not new_reach:
                    self.history.orphan_pages += 1
            if old_name is not None and trees[old_name].table is not None:
                sides.setdefault(old_name, ([], [], False, []))[0].append((pgno, previous[pgno]))
            if new_name is not None and trees[new_name].table is not None:
                side = sides.setdefault(new_name, ([], [], False, []))
                side[1].append((pgno, version))
                if not known_before(pgno, previous[pgno]):
                    # What the page held before this transaction is lost: its
                    # records may have been anywhere in the table already.
                    sides[new_name] = (side[0], side[1], True, side[3])
        # A merge frees a page without writing it (freelist leaves are not
        # logged): its records went to pages this transaction wrote. Such a
        # page left the tree as walked, or its parent, written now, no longer
        # points to it.
        freed: dict[str, list[tuple[int, int]]] = {}
        for pgno, version in written.items():
            before, after = replay.page(pgno, previous[pgno]), replay.page(pgno, version)
            if before is None or before.kind not in _INTERIOR or not known_before(pgno, previous[pgno]):
                continue
            kept = set(after.children) if after is not None and after.kind == before.kind else set()
            for child in set(before.children) - kept:
                # (A freed page can be taken again in the same transaction.)
                child_version = previous[child] if child in previous else replay.cur.get(child, -1)
                page = replay.page(child, child_version)
                name = None
                if known_before(child, child_version) and page is not None:
                    reach = [n for n, t in trees.items() if child in t.records]
                    name = attribute(child, child_version, reach)
                if name is None:
                    unresolved.add(before.kind == _INDEX_INTERIOR)
                elif trees[name].table is not None:
                    freed.setdefault(name, []).append((child, child_version))
        result: _Sides = {}
        for name in sides.keys() | freed.keys():
            old, new, unknown, _detached = sides.get(name, ([], [], False, []))
            tree = trees[name]
            records = new_trees[name][0] if name in new_trees else tree.records
            detached = {p: v for p, v in tree.records.items() if p not in written and p not in records}
            detached.update(freed.get(name, []))
            unknown = (
                unknown
                or tree.index_kind in unresolved
                or any(not known_before(p, v) for p, v in detached.items())
            )
            result[name] = (old, new, unknown, [(p, v) for p, v in detached.items() if known_before(p, v)])
        return result

    def compare(
        self, name, old_side, new_side, had_unknown, detached, before_known, version_before, mixed, changes,
        uncertain,
    ) -> None:
        replay = self.replay
        table = replay.trees[name].table
        known_before: dict[Hashable, tuple] = {}
        unknown_before: set[Hashable] = set()
        suspect: set[Hashable] = set()
        for pgno, version in old_side:
            rows, odd = replay.page_rows(pgno, version, table, version_before)
            if before_known(pgno, version):
                known_before.update(rows)
                suspect |= odd
            else:
                had_unknown = True
                unknown_before.update(rows)
        after: dict[Hashable, tuple] = {}
        for pgno, version in new_side:
            rows, odd = replay.page_rows(pgno, version, table)
            after.update(rows)
            suspect |= odd
        moved_in: dict[Hashable, tuple] = {}
        for pgno, version in detached:
            rows, odd = replay.page_rows(pgno, version, table, version_before)
            moved_in.update(rows)
            suspect |= odd
        present = self.present.setdefault(name, {})
        deletes, updates, inserts = [], [], []
        for key, values in after.items():
            if key in known_before:
                old = known_before[key]
                guessed = key in suspect
            elif key in moved_in:
                old = moved_in[key]
                guessed = key in suspect
            elif mixed:
                # Only the last values seen: the row may have gone and come
                # back unseen since.
                old = present.get(key)
                guessed = had_unknown or key in suspect or old is not None
            else:
                old, guessed = None, False
            if old is None:
                inserts.append((key, values, guessed))
            elif old != values:
                updates.append((key, values, old, guessed))
            present[key] = values
        for key, old in known_before.items():
            if key not in after:
                # Where times mix and a page could not be placed, the record
                # may have moved there rather than gone.
                deletes.append((key, old, key in suspect or (mixed and had_unknown)))
                present.pop(key, None)
        for key in unknown_before - after.keys():
            present.pop(key, None)  # gone by now; when, the log does not say

        def add(kind: str, key: Hashable, values, old, guessed: bool) -> None:
            changes.append(model.RowChange(
                name, kind, key,
                table.as_dict(values) if values is not None else None,
                table.as_dict(old) if old is not None else None,
            ))
            if guessed:
                uncertain.add((name, key))

        for key, old, guessed in sorted(deletes, key=lambda d: _sort_key(d[0])):
            add(model.DELETE, _report_key(table, key, old), None, old, guessed)
        for key, values, old, guessed in sorted(updates, key=lambda u: _sort_key(u[0])):
            new_key, old_key = _report_key(table, key, values), _report_key(table, key, old)
            if new_key != old_key:  # a rowid reused for another primary key
                add(model.DELETE, old_key, None, old, guessed)
                add(model.INSERT, new_key, values, None, guessed)
            else:
                add(model.UPDATE, new_key, values, old, guessed)
        for key, values, guessed in sorted(inserts, key=lambda i: _sort_key(i[0])):
            add(model.INSERT, _report_key(table, key, values), values, None, guessed)


def read_wal(db_path: str, wal_path: str | None = None) -> WalHistory:
    """Every committed transaction in the log, with counts (see the module docstring).

    `wal_path` defaults to `db_path + "-wal"`; without a log there are no
    transactions.
    """
    wal_path = db_path + "-wal" if wal_path is None else wal_path
    main = _read_file(db_path)
    wal = _read_file(wal_path)
    history = WalHistory()
    log = _read_log(wal)
    if log is None:
        return history
    history.page_size = log.page_size
    history.frames = log.frames
    history.generations = log.generations
    history.incomplete_tail_frames = sum(g.incomplete_tail for g in log.generations)
    history.checksum_failures = log.checksum_failures
    history.salt_order_disagreed = log.salt_order_disagreed
    history.unsalted_frames = log.unsalted_frames
    history.maybe_cut = frozenset(t.ident for t in log.transactions if t.maybe_cut)
    first_page1 = next((f for t in log.transactions for f in t.frames if f.pgno == 1), None)
    page1 = wal[first_page1.offset : first_page1.offset + log.page_size] if first_page1 else None
    replay = _Replay(main, wal, log.page_size, page1)
    _Reader(replay, log, history).run()
    return history


def _report_key(table: _Table, btree_key: Hashable, values: tuple) -> Hashable:
    if table.without_rowid:
        return btree_key[0] if len(btree_key) == 1 else btree_key
    if table.ipk is not None or not table.pk:
        return btree_key
    return table.row_key(values)


def read_transactions(db_path: str, wal_path: str | None = None) -> list[model.Transaction]:
    """The row changes of every committed transaction in the -wal file, in log order.

    See the module docstring for how they are found and what is uncertain;
    `read_wal` gives the same with counts.
    """
    return read_wal(db_path, wal_path).transactions


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return b""


# --------------------------------------------------------------------------
# The main file alone


def _main_replay(db_path: str) -> _Replay:
    main = _read_file(db_path)
    geometry = _header_geometry(main[:100] if len(main) >= 100 else None, 4096)
    replay = _Replay(main, b"", geometry.page_size)
    replay.start_from_main_file()
    return replay


def read_main_file(db_path: str) -> dict[str, list[dict[str, Any]]]:
    """Every live row of every table in the main file, in (page, cell) order."""
    replay = _main_replay(db_path)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, tree in replay.trees.items():
        table = tree.table
        if table is None:
            continue
        rows = []
        for pgno in sorted(tree.records):
            page = replay.page(pgno, -1)
            try:
                entries = _cell_entries(page, replay.geometry, replay.lookup)
            except (_Bad, IndexError, struct.error):
                continue
            for index, rowid, payload in entries:
                try:
                    values = table.from_record(_decode_record(payload, replay.geometry.encoding), rowid)
                except (_Bad, IndexError, struct.error):
                    continue
                rows.append((pgno, index, table.as_dict(values)))
        out[name] = [row for _p, _i, row in sorted(rows, key=lambda r: (r[0], r[1]))]
    return out


@dataclass(frozen=True)
class FreeRecord:
    """A record found where no live row is: a freed page, or a page's free space."""

    page: int
    #: Offset of the record (its header) in the page.
    offset: int
    #: "freelist-cell": a cell of a freed b-tree page, still whole;
    #: "freelist": carved from a freed page's bytes;
    #: "freeblock" / "unallocated": carved from a live b-tree page's free space.
    where: str
    #: The record's values as stored.
    fields: tuple
    #: The table whose shape it fits (the page's own table first), else None.
    table: str | None = None
    #: Column name -> value when the table is known.
    row: dict[str, Any] | None = None
    #: The row's key where it can be read (a rowid needs the cell's prefix).
    key: Hashable = None


def free_page_records(db_path: str) -> list[FreeRecord]:
    """Records still readable in the main file where no live row is.

    Freed pages keep their old bytes (no secure_delete): a freed b-tree
    page's cells are read whole; other freed pages, and the free space of
    live b-tree pages (between the cell pointers and the cell content, and
    freeblocks), are carved: every offset is tried as a record header, and a
    record is kept when its column count and types fit a table (NOT NULL
    columns not NULL, the INTEGER PRIMARY KEY NULL, no number in a text
    column) and it ends inside the region. A freed cell's first four bytes
    are overwritten by the freeblock list, which takes a small record's
    header size (and first serial type) with them: rebuilt for rowid tables
    whose first column is the INTEGER PRIMARY KEY (its type is NULL), the
    rowid is lost; for other tables such records are not found. A carved
    record whose payload spilled to overflow pages is not found either.
    """
    replay = _main_replay(db_path)
    main = replay.main
    geometry = replay.geometry
    tables = [t for t in replay.trees.values() if t.table is not None]
    found: list[FreeRecord] = []
    page_count = len(main) // geometry.page_size
    if page_count == 0:
        return found

    freelist_trunks: list[tuple[int, int]] = []  # (pgno, leaf count)
    freelist_leaves: list[int] = []
    (trunk,) = struct.unpack_from(">I", main, 32)
    seen: set[int] = set()
    while 0 < trunk <= page_count and trunk not in seen:
        seen.add(trunk)
        data = replay.image(trunk, -1)
        nxt, leaves = struct.unpack_from(">II", data, 0)
        leaves = min(leaves, (geometry.usable - 8) // 4)
        freelist_trunks.append((trunk, leaves))
        freelist_leaves.extend(p for p in struct.unpack_from(f">{leaves}I", data, 8) if 0 < p <= page_count)
        trunk = nxt

    def carve(pgno: int, data: bytes, start: int, end: int, where: str, prefer: _Tree | None) -> None:
        offset = start
        if where == "freeblock":
            # The freed cell began where the freeblock's 4-byte header is.
            hit = _carve_clobbered(data, start - 4, end, geometry.encoding, tables, prefer)
            if hit is not None:
                table, fields, record_end = hit
                values = table.from_record(fields, None)
                row = table.as_dict(values)
                found.append(FreeRecord(pgno, start - 4, where, tuple(fields), table.name, row))
                offset = record_end
        while offset < end - 1:
            hit = _carve_at(data, offset, end, geometry.encoding, tables, prefer)
            if hit is None:
                offset += 1
                continue
            table, fields, record_end = hit
            values = table.from_record(fields, None) if table else None
            key = None
            if table is not None and table.without_rowid:
                key = _report_key(table, tuple(values[i] for i in table.pk), values)
            elif table is not None:
                rowid = _rowid_before(data, offset, record_end - offset)
                if rowid is not None:
                    values = table.from_record(fields, rowid)
                    key = _report_key(table, rowid, values)
            found.append(FreeRecord(pgno, offset, where, tuple(fields), table.name if table else None,
                                    table.as_dict(values) if table else None, key))
            offset = record_end

    for pgno in freelist_leaves:
        data = replay.image(pgno, -1)
        page = _parse_page(data, pgno, geometry.usable)
        if page is None or page.kind == _TABLE_INTERIOR:
            carve(pgno, data, 0, geometry.usable, "freelist", None)
            continue
        try:
            entries = _cell_entries(page, geometry, replay.lookup)
        except (_Bad, IndexError, struct.error):
            entries = []
        prefer = None
        for index, rowid, payload in entries:
            try:
                fields = _decode_record(payload, geometry.encoding)
            except (_Bad, IndexError, struct.error):
                continue
            tree = _fitting_tree(fields, tables, page.kind)
            table = tree.table if tree is not None else None
            values = row = key = None
            if table is not None:
                values = table.from_record(fields, rowid)
                btree_key = tuple(values[i] for i in table.pk) if table.without_rowid else rowid
                key = _report_key(table, btree_key, values)
                row = table.as_dict(values)
                prefer = prefer or tree
            found.append(FreeRecord(pgno, page.cells[index], "freelist-cell", tuple(fields),
                                    table.name if table else None, row, key))
        for start, end, _where in _free_regions(page, geometry.usable):
            carve(pgno, data, start, end, "freelist", prefer)
    for pgno, leaves in freelist_trunks:
        data = replay.image(pgno, -1)
        carve(pgno, data, 8 + 4 * leaves, geometry.usable, "freelist", None)
    for tree in replay.trees.values():
        for pgno in sorted(tree.pages):
            page = replay.page(pgno, -1)
            if page is None:
                continue
            for start, end, where in _free_regions(page, geometry.usable):
                carve(pgno, page.data, start, end, where, tree if tree.table is not None else None)
    return found


def _free_regions(page: _Page, usable: int) -> list[tuple[int, int, str]]:
    """A b-tree page's free space: the gap after the cell pointers, and freeblocks."""
    regions = [(page.pointer_end, page.content_start, "unallocated")]
    offset, seen = page.first_freeblock, set()
    while offset and offset not in seen and offset + 4 <= usable:
        seen.add(offset)
        nxt, size = struct.unpack_from(">HH", page.data, offset)
        regions.append((offset + 4, min(offset + size, usable), "freeblock"))
        offset = nxt
    return regions


def _rowid_before(data: bytes, offset: int, record_size: int) -> int | None:
    """A table-leaf cell's rowid, if its prefix (payload size, rowid) survives."""
    for size_at in range(max(0, offset - 18), offset - 1):
        try:
            size, i = _varint(data, size_at)
            if size != record_size:
                continue
            rowid, j = _varint(data, i)
        except IndexError:
            continue
        if j == offset:
            return _signed64(rowid)
    return None


def _fitting_tree(fields: list[Any], trees: list[_Tree], kind: int) -> _Tree | None:
    """The first table of the page's kind with as many stored columns."""
    for tree in trees:
        index_kind = kind in (_INDEX_LEAF, _INDEX_INTERIOR)
        if index_kind == tree.index_kind and len(fields) == len(tree.table.storage):
            return tree
    return None


def _carve_clobbered(
    data: bytes, cell: int, end: int, encoding: str, trees: list[_Tree], prefer: _Tree | None
):
    """A rowid-table record whose cell's first 4 bytes a freeblock header took.

    The cell was (payload size, rowid, record); with 2 or 3 bytes of prefix
    the record's header size, and maybe its first serial type, are lost. If
    the table's first stored column is its INTEGER PRIMARY KEY, that type is
    0 (NULL): the rest of the header still says where the values are.
    """
    for tree in ([prefer] if prefer else []) + trees:
        table = tree.table
        if table.without_rowid or table.ipk is None or table.storage[0] != table.ipk:
            continue
        for lost_first_type in (False, True):
            try:
                types = [0] if lost_first_type else []
                i = cell + 4
                while len(types) < len(table.storage):
                    serial, i = _varint(data, i)
                    types.append(serial)
            except IndexError:
                continue
            record_end = i + _body_size(types)
            if types[0] != 0 or 10 in types or 11 in types or record_end > end:
                continue
            if not _shape_fits(tree, types):
                continue
            try:
                return table, _record_values(data, types, i, encoding), record_end
            except _UNREADABLE:
                continue
    return None


def _carve_at(data: bytes, offset: int, end: int, encoding: str, trees: list[_Tree], prefer: _Tree | None):
    """(table, fields, end of record) if a plausible record starts here."""
    try:
        header_size = data[offset]
        if header_size < 2 or header_size > 0x7F:
            return None
        types, body = _record_types(data, offset, end)
    except (_Bad, IndexError):
        return None
    record_end = body + _body_size(types)
    if record_end > end:
        return None
    for tree in ([prefer] if prefer else []) + trees:
        if _shape_fits(tree, types):
            try:
                fields = _record_values(data, types, body, encoding)
            except _UNREADABLE:
                return None
            return tree.table, fields, record_end
    return None
