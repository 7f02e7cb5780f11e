"""Every row version on the heap pages, live and dead, read with pageinspect before any VACUUM.

A dead row version keeps its xmin (the transaction that wrote it), its
xmax (the one that replaced or deleted it) and its column values until
pruning or VACUUM removes it. Autovacuum is off on these machines; the
application's own reads prune pages now and then, as they would in
production.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import pg_cluster

TABLES = ("invitation", "response", "answer", "waiting_answer", "form_nonce")


@dataclass(frozen=True)
class Version:
    table: str
    block: int
    offset: int
    xmin: int
    xmax: int
    ctid: tuple[int, int]
    #: Decoded columns where the type is simple (integers, booleans, text); raw bytes otherwise.
    values: dict


def _varlena(raw: bytes) -> bytes | None:
    if not raw:
        return None
    first = raw[0]
    if first & 0x01:  # one-byte header
        if first == 0x01:  # TOAST pointer: not followed
            return None
        return raw[1:(first >> 1)]
    size = struct.unpack("<I", raw[:4])[0] >> 2
    if first & 0x02:  # compressed inline
        return None
    return raw[4:size]


def _decode(raw: bytes | None, type_name: str):
    if raw is None:
        return None
    if type_name in ("int4", "integer"):
        return struct.unpack("<i", raw[:4])[0]
    if type_name in ("int8", "bigint"):
        return struct.unpack("<q", raw[:8])[0]
    if type_name == "int2":
        return struct.unpack("<h", raw[:2])[0]
    if type_name == "bool":
        return raw[:1] == b"\x01"
    if type_name in ("varchar", "text", "bpchar"):
        data = _varlena(raw)
        return data.decode("utf-8", "replace") if data is not None else None
    if type_name == "bytea":
        return _varlena(raw)
    if type_name == "date":
        return struct.unpack("<i", raw[:4])[0]  # days since 2000-01-01
    return raw


def read_versions() -> dict[str, list[Version]]:
    """Every row version of the watched tables that exist, in page order."""
    found: dict[str, list[Version]] = {}
    with pg_cluster.connect(pg_cluster.DATABASE) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        for table in TABLES:
            if connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
                continue
            columns = connection.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a LEFT JOIN pg_type t ON t.oid = a.atttypid"
                " WHERE a.attrelid = %s::regclass AND a.attnum > 0 ORDER BY a.attnum", (table,)).fetchall()
            pages = connection.execute(
                "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", (table,)).fetchone()[0]
            versions = []
            for block in range(pages):
                rows = connection.execute(
                    "SELECT lp, t_xmin::text::bigint, t_xmax::text::bigint, t_ctid::text, t_attrs"
                    " FROM heap_page_item_attrs(get_raw_page(%s, %s), %s::regclass)"
                    " WHERE lp_flags = 1 AND t_xmin IS NOT NULL", (table, block, table)).fetchall()
                for lp, xmin, xmax, ctid, attrs in rows:
                    values = {}
                    for (name, type_name), raw in zip(columns, attrs or []):
                        values[name] = _decode(bytes(raw) if raw is not None else None, type_name)
                    block_no, offset = ctid.strip("()").split(",")
                    versions.append(Version(table, block, lp, xmin, xmax, (int(block_no), int(offset)), values))
            found[table] = versions
    return found
