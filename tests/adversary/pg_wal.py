"""PostgreSQL's write-ahead log, read as an adversary with the WAL and a base backup would.

`pg_waldump` lists every record with its transaction id, its kind (INSERT,
UPDATE, HOT_UPDATE, DELETE, LOCK, ...), the relation (tablespace/database/
relfilenode), block and line pointer offset. Records name row *positions*,
not rows: this module follows each row's lineage through the log - an
INSERT starts one at (block, offset), an UPDATE moves it to its new
position, a DELETE ends it - in LSN order, since pruning frees offsets
that later inserts reuse. Only committed transactions move lineages (an
aborted update leaves the row where it was).

Lineages get their row's primary key from anchors: snapshots of
`ctid -> primary key` taken at quiet moments (no one writing), each with
the WAL insert position at that moment - what a base backup, or the final
database, tells an adversary. A lineage found at a position in an anchor
takes that key. Lineages never seen in an anchor keep a stable token made
of their first position.

The result is `model.Transaction`s in commit order, plus what the model
has no shape for (row locks, record positions) for the attacks.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from . import pg_cluster
from .model import DELETE, INSERT, UPDATE, RowChange, Transaction

#: Tables whose rows get their primary key from the anchors.
LABELLED_TABLES = ("invitation", "response", "waiting_answer", "form_nonce")

LINE = re.compile(
    r"^rmgr: (?P<rmgr>\S+)\s+len \(rec/tot\):\s*\d+/\s*\d+, tx:\s*(?P<xid>\d+), "
    r"lsn: (?P<lsn>[0-9A-F]+/[0-9A-F]+), prev [0-9A-F]+/[0-9A-F]+, desc: (?P<rest>.*)$"
)
BLKREF = re.compile(r"blkref #(\d+): rel (\d+)/(\d+)/(\d+)(?: fork \w+)? blk (\d+)")
OFF = re.compile(r"\boff (\d+)")
NEW_OFF = re.compile(r"\bnew off (\d+)")
SUBXACTS = re.compile(r"subxacts: ([\d ]+)")


@dataclass
class Record:
    lsn: int
    xid: int
    rmgr: str
    kind: str  # INSERT, UPDATE, HOT_UPDATE, DELETE, LOCK, MULTI_INSERT, ... (without +INIT)
    desc: str
    blocks: dict[int, tuple[int, int, int]]  # blkref no. -> (db oid, relfilenode, block)


@dataclass
class Lineage:
    table: str
    first_lsn: int
    first_position: tuple[int, int]
    label: Hashable | None = None

    @property
    def key(self) -> Hashable:
        if self.label is not None:
            return self.label
        return f"{self.table}@{self.first_lsn:X}:{self.first_position[0]}.{self.first_position[1]}"


@dataclass
class Anchor:
    label: str
    lsn: int
    relations: dict[int, str]  # relfilenode -> table
    positions: dict[str, dict[tuple[int, int], Hashable]]  # table -> (block, offset) -> primary key


@dataclass
class Change:
    """One row change of a committed transaction, before keys are resolved."""

    lsn: int
    table: str
    kind: str
    lineage: Lineage


@dataclass
class WalTrace:
    transactions: list[Transaction]
    #: xid (top level) -> commit LSN, for committed transactions with changes
    commit_lsn: dict[int, int]
    #: top xid -> [(table, key)] rows locked (SELECT ... FOR UPDATE/SHARE, foreign key checks)
    locks: dict[int, list[tuple[str, Hashable]]]
    #: (table, key) -> LSN of the record that inserted that row
    inserted_at: dict[tuple[str, Hashable], int]
    #: (table, key) -> LSN of the first update of that row (for invitations: the claim)
    first_update_at: dict[tuple[str, Hashable], int]
    records_read: int
    #: Problems following lineages: each one weakens what the trace proves.
    problems: list[str] = field(default_factory=list)


class WalReader:
    """Collects anchors during the run; reads the WAL afterwards."""

    def __init__(self, cluster: pg_cluster.Cluster, database_oid: int):
        self.cluster = cluster
        self.database_oid = database_oid
        self.anchors: list[Anchor] = []

    def anchor(self, label: str) -> None:
        """Snapshot positions -> keys now. Call only when nothing writes to the database."""
        lsn = pg_cluster.insert_lsn()
        with pg_cluster.connect(pg_cluster.DATABASE) as connection:
            relations = {
                node: name for node, name in connection.execute(
                    "SELECT c.relfilenode, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relfilenode <> 0")
            }
            positions: dict[str, dict[tuple[int, int], Hashable]] = {}
            for table in LABELLED_TABLES:
                if table not in relations.values():
                    continue
                columns = [row[0] for row in connection.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                    " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
                    " ORDER BY array_position(i.indkey::int2[], a.attnum)", (table,))]
                if not columns:
                    continue
                rows = connection.execute(
                    f"SELECT ctid::text, {', '.join(columns)} FROM {table}").fetchall()
                positions[table] = {
                    _ctid(row[0]): (row[1] if len(columns) == 1 else tuple(row[1:])) for row in rows
                }
        self.anchors.append(Anchor(label, lsn, relations, positions))

    def dump(self, start: int, end: int) -> Iterable[Record]:
        command = [str(self.cluster.pg_waldump), "-p", str(self.cluster.pg_wal),
                   "-s", pg_cluster.int_to_lsn(start), "-e", pg_cluster.int_to_lsn(end)]
        mine = f"/{self.database_oid}/"
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None and process.stderr is not None
            for line in process.stdout:
                if not (line.startswith("rmgr: Transaction") or (mine in line and line.startswith("rmgr: Heap"))):
                    continue
                match = LINE.match(line.rstrip("\n"))
                if not match:
                    continue
                desc, _, refs = match["rest"].partition(", blkref #")
                refs = "blkref #" + refs if refs else ""
                blocks = {int(m[1]): (int(m[3]), int(m[4]), int(m[5])) for m in BLKREF.finditer(refs)}
                kind = desc.split(" ", 1)[0].split("+", 1)[0]
                yield Record(pg_cluster.lsn_to_int(match["lsn"]), int(match["xid"]), match["rmgr"], kind, desc, blocks)
            stderr = process.stderr.read()
            code = process.wait()
        # pg_waldump says "invalid record length" when it reaches the end of what was written.
        if code != 0 and "invalid record length" not in stderr:
            raise RuntimeError(f"pg_waldump exited {code}: {stderr[-2000:]}")

    def read(self, start: int, end: int) -> WalTrace:
        records = list(self.dump(start, end))
        # Pass 1: which transactions committed, and their subtransactions.
        commit_lsn: dict[int, int] = {}
        top_of: dict[int, int] = {}
        for record in records:
            if record.rmgr == "Transaction" and record.kind in ("COMMIT", "COMMIT_PREPARED"):
                commit_lsn[record.xid] = record.lsn
                sub = SUBXACTS.search(record.desc)
                if sub:
                    for xid in sub.group(1).split():
                        top_of[int(xid)] = record.xid
        relations: dict[int, str] = {}
        for anchor in self.anchors:
            relations.update(anchor.relations)
        anchors = sorted(self.anchors, key=lambda a: a.lsn)
        problems: list[str] = []
        alive: dict[tuple[str, int, int], Lineage] = {}  # (table, block, offset) -> lineage
        changes: dict[int, list[Change]] = defaultdict(list)
        locks: dict[int, list[tuple[str, Lineage]]] = defaultdict(list)
        inserted_at: dict[int, int] = {}  # id(lineage) -> lsn
        first_update_at: dict[int, int] = {}
        lineages: list[Lineage] = []
        next_anchor = 0

        def apply_anchor(anchor: Anchor) -> None:
            for table, positions in anchor.positions.items():
                for (block, offset), key in positions.items():
                    lineage = alive.get((table, block, offset))
                    if lineage is None:
                        # A row the log did not show being written (before the start, or unfollowed).
                        lineage = Lineage(table, anchor.lsn, (block, offset), key)
                        alive[(table, block, offset)] = lineage
                        lineages.append(lineage)
                        if anchor is not anchors[0]:
                            problems.append(f"{table} row {key!r} at {(block, offset)} at anchor "
                                            f"{anchor.label!r} was never seen written")
                    elif lineage.label is None:
                        lineage.label = key
                    elif lineage.label != key:
                        problems.append(f"{table} at {(block, offset)}: lineage of {lineage.label!r} "
                                        f"found holding {key!r} at anchor {anchor.label!r}")

        for record in records:
            while next_anchor < len(anchors) and anchors[next_anchor].lsn <= record.lsn:
                apply_anchor(anchors[next_anchor])
                next_anchor += 1
            if record.rmgr not in ("Heap", "Heap2") or 0 not in record.blocks:
                continue
            top = top_of.get(record.xid, record.xid)
            if top not in commit_lsn:
                continue
            db, node, block = record.blocks[0]
            table = relations.get(node)
            if db != self.database_oid or table is None:
                continue
            off = OFF.search(record.desc)
            offset = int(off.group(1)) if off else None
            if record.kind == "INSERT" and offset is not None:
                lineage = Lineage(table, record.lsn, (block, offset))
                lineages.append(lineage)
                alive[(table, block, offset)] = lineage
                inserted_at[id(lineage)] = record.lsn
                changes[top].append(Change(record.lsn, table, INSERT, lineage))
            elif record.kind in ("UPDATE", "HOT_UPDATE") and offset is not None:
                old_block = record.blocks[1][2] if 1 in record.blocks else block
                new = NEW_OFF.search(record.desc)
                lineage = alive.pop((table, old_block, offset), None)
                if lineage is None:
                    # A row written before the start (a campaign, a provider): only a problem where keys matter.
                    lineage = Lineage(table, record.lsn, (old_block, offset))
                    lineages.append(lineage)
                    if table in LABELLED_TABLES:
                        problems.append(f"{table}: update at {pg_cluster.int_to_lsn(record.lsn)} of "
                                        f"{(old_block, offset)}, a position with no known row")
                if new:
                    alive[(table, block, int(new.group(1)))] = lineage
                first_update_at.setdefault(id(lineage), record.lsn)
                changes[top].append(Change(record.lsn, table, UPDATE, lineage))
            elif record.kind == "DELETE" and offset is not None:
                lineage = alive.pop((table, block, offset), None)
                if lineage is None:
                    lineage = Lineage(table, record.lsn, (block, offset))
                    lineages.append(lineage)
                    if table in LABELLED_TABLES:
                        problems.append(f"{table}: delete at {pg_cluster.int_to_lsn(record.lsn)} of "
                                        f"{(block, offset)}, a position with no known row")
                if "SUPER" in record.desc:
                    # A speculative insert (ON CONFLICT) taken back: as if never inserted.
                    changes[top] = [c for c in changes[top] if c.lineage is not lineage]
                    continue
                changes[top].append(Change(record.lsn, table, DELETE, lineage))
            elif record.kind in ("LOCK", "LOCK_UPDATED") and offset is not None:
                lineage = alive.get((table, block, offset))
                if lineage is not None:
                    locks[top].append((table, lineage))
            elif record.kind == "MULTI_INSERT":
                problems.append(f"{table}: MULTI_INSERT at {pg_cluster.int_to_lsn(record.lsn)} "
                                "(COPY): pg_waldump does not show its offsets; rows not followed")
        while next_anchor < len(anchors):
            apply_anchor(anchors[next_anchor])
            next_anchor += 1

        transactions = []
        for position, xid in enumerate(sorted(changes, key=lambda x: commit_lsn[x])):
            transactions.append(Transaction(
                ident=str(xid), position=position,
                changes=tuple(RowChange(c.table, c.kind, c.lineage.key) for c in changes[xid]),
            ))
        by_id = {id(lineage): lineage for lineage in lineages}
        return WalTrace(
            transactions=transactions,
            commit_lsn={xid: commit_lsn[xid] for xid in changes},
            locks={xid: [(table, lineage.key) for table, lineage in rows] for xid, rows in locks.items()},
            inserted_at={(by_id[i].table, by_id[i].key): lsn for i, lsn in inserted_at.items()},
            first_update_at={(by_id[i].table, by_id[i].key): lsn for i, lsn in first_update_at.items()},
            records_read=len(records),
            problems=problems,
        )


def _ctid(text: str) -> tuple[int, int]:
    block, offset = text.strip("()").split(",")
    return int(block), int(offset)
