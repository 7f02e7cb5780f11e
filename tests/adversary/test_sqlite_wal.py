"""The adversary's reader of SQLite's own files, against files SQLite wrote.

Every database here is made by Python's sqlite3 the way the app runs it
(`journal_mode=WAL`, `wal_autocheckpoint=0`), and the log is read while a
connection still holds it open (closing the last one would checkpoint and
delete it). The expected row changes are written out in each test, not
taken from the reader; the randomized tests compare it with what SQLite
itself says the tables held after every commit.
"""

from __future__ import annotations

import os
import random
import sqlite3
import struct
import time
from pathlib import Path

import pytest

from . import model, sqlite_wal

SCHEMA = [
    (
        "CREATE TABLE invitation (id INTEGER NOT NULL, token_hash VARCHAR(64) NOT NULL,"
        " responded BOOLEAN NOT NULL, CONSTRAINT pk_invitation PRIMARY KEY (id))"
    ),
    (
        "CREATE TABLE sealed_answer (id VARCHAR(32) NOT NULL, box BLOB NOT NULL,"
        " CONSTRAINT pk_sealed_answer PRIMARY KEY (id)) WITHOUT ROWID"
    ),
]
BLOB = 6000  # bytes: more than a 4096-byte page holds, so every row overflows


def blob(tag: int) -> bytes:
    return bytes([tag % 256]) * BLOB


def open_db(tmp_path: Path, name: str = "survey.sqlite3", schema=SCHEMA) -> tuple[sqlite3.Connection, str]:
    path = str(tmp_path / name)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL").fetchall()
    con.execute("PRAGMA wal_autocheckpoint=0")
    for statement in schema:
        con.execute(statement)
    return con, path


def transaction(con: sqlite3.Connection, *statements: tuple) -> None:
    con.execute("BEGIN")
    for statement in statements:
        if isinstance(statement, str):
            con.execute(statement)
        elif isinstance(statement[1], list):
            con.executemany(*statement)
        else:
            con.execute(*statement)
    con.execute("COMMIT")


def kinds(txn: model.Transaction) -> set[tuple[str, str, object]]:
    return {(change.table, change.kind, change.key) for change in txn.changes}


def change(txn: model.Transaction, table: str, key) -> model.RowChange:
    (found,) = [c for c in txn.changes if c.table == table and c.key == key]
    return found


def with_changes(transactions: list[model.Transaction]) -> list[model.Transaction]:
    return [t for t in transactions if t.changes]


def test_each_transaction_reports_exactly_the_rows_it_inserted_updated_and_deleted(tmp_path):
    con, path = open_db(tmp_path)
    transaction(
        con,
        ("INSERT INTO invitation VALUES (?, ?, 0)", [(1, "t1"), (2, "t2"), (3, "t3")]),
        ("INSERT INTO sealed_answer VALUES ('a1', ?)", (blob(1),)),
    )
    transaction(
        con,
        "UPDATE invitation SET responded = 1 WHERE id = 2",
        ("INSERT INTO sealed_answer VALUES ('a2', ?)", (blob(2),)),
    )
    transaction(con, "DELETE FROM sealed_answer WHERE id = 'a1'")
    # Enough rows to split both b-trees: the rows already there move between
    # pages, which is no change.
    transaction(
        con,
        ("INSERT INTO invitation VALUES (?, ?, 0)", [(i, f"t{i}") for i in range(4, 204)]),
        ("INSERT INTO sealed_answer VALUES (?, ?)", [(f"b{i:02d}", blob(i)) for i in range(60)]),
    )
    # Deleting most of them merges pages again.
    transaction(
        con,
        "DELETE FROM invitation WHERE id BETWEEN 10 AND 190",
        "DELETE FROM sealed_answer WHERE id BETWEEN 'b05' AND 'b54'",
    )

    history = sqlite_wal.read_wal(path)
    con.close()

    creates, writes = history.transactions[:2], history.transactions[2:]
    assert [t.changes for t in creates] == [(), ()]  # CREATE TABLE: only sqlite_schema
    assert [t.position for t in history.transactions] == list(range(7))
    assert [kinds(t) for t in writes] == [
        {
            ("invitation", "insert", 1),
            ("invitation", "insert", 2),
            ("invitation", "insert", 3),
            ("sealed_answer", "insert", "a1"),
        },
        {("invitation", "update", 2), ("sealed_answer", "insert", "a2")},
        {("sealed_answer", "delete", "a1")},
        {("invitation", "insert", i) for i in range(4, 204)}
        | {("sealed_answer", "insert", f"b{i:02d}") for i in range(60)},
        {("invitation", "delete", i) for i in range(10, 191)}
        | {("sealed_answer", "delete", f"b{i:02d}") for i in range(5, 55)},
    ]
    claim = change(writes[1], "invitation", 2)
    assert claim.old_values == {"id": 2, "token_hash": "t2", "responded": 0}
    assert claim.values == {"id": 2, "token_hash": "t2", "responded": 1}
    # Overflow chains are followed: the whole 6000-byte blob, going in and out.
    assert change(writes[0], "sealed_answer", "a1").values == {"id": "a1", "box": blob(1)}
    assert change(writes[2], "sealed_answer", "a1").old_values == {"id": "a1", "box": blob(1)}
    assert change(writes[3], "sealed_answer", "b42").values == {"id": "b42", "box": blob(42)}
    assert history.uncertain == {}
    assert history.exact_from == 0
    assert len(history.generations) == 1 and history.generations[0].current
    assert history.checksum_failures == history.incomplete_tail_frames == 0
    assert history.frames == sum(g.frames for g in history.generations)
    assert sqlite_wal.read_transactions(path + "-no-such-log") == []


def test_stale_frames_of_an_earlier_generation_are_read_after_the_log_restarts(tmp_path):
    con, path = open_db(tmp_path)
    transaction(con, ("INSERT INTO invitation VALUES (?, ?, 0)", [(1, "t1"), (2, "t2"), (3, "t3")]))
    transaction(
        con,
        "UPDATE invitation SET responded = 1 WHERE id = 2",
        ("INSERT INTO sealed_answer VALUES ('a1', ?)", (blob(1),)),
    )
    transaction(con, "DELETE FROM sealed_answer WHERE id = 'a1'")
    transaction(con, ("INSERT INTO sealed_answer VALUES (?, ?)", [(f"b{i:02d}", blob(i)) for i in range(30)]))
    frames_before = (os.path.getsize(path + "-wal") - 32) // (24 + 4096)
    # PASSIVE copies the log into the database file and leaves it in place
    # (TRUNCATE would empty it); the next write starts the log again from the
    # top with new salts, overwriting only as far as it writes.
    assert con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall() == [(0, frames_before, frames_before)]
    transaction(con, "UPDATE invitation SET responded = 1 WHERE id = 3")

    history = sqlite_wal.read_wal(path)
    con.close()

    stale, current = history.generations
    assert current.current and not stale.current
    assert stale.salt1 + 1 == current.salt1  # salt-1 grows by one at each restart
    assert current.first_frame == 0 and stale.first_frame == current.frames
    assert stale.first_frame + stale.frames == frames_before == history.frames
    idents = [t.ident for t in history.transactions]
    assert all(i.startswith(f"{stale.salt1}:") for i in idents[:-1])
    assert idents[-1] == f"{current.salt1}:0"
    # The restart overwrote only the top of the first CREATE TABLE: all four
    # writes of the earlier generation are read from its stale frames.
    first, claim2, delete_a1, bulk, claim3 = with_changes(history.transactions)
    assert kinds(first) == {("invitation", "insert", k) for k in (1, 2, 3)}
    assert kinds(claim2) == {("invitation", "update", 2), ("sealed_answer", "insert", "a1")}
    assert kinds(delete_a1) == {("sealed_answer", "delete", "a1")}
    assert kinds(bulk) == {("sealed_answer", "insert", f"b{i:02d}") for i in range(30)}
    assert kinds(claim3) == {("invitation", "update", 3)}
    # Their earlier states are in surviving frames of the same generation (or
    # in the database file, for the current one): these are exact.
    assert change(claim2, "invitation", 2).old_values["responded"] == 0
    assert change(claim2, "invitation", 2).values["responded"] == 1
    assert change(claim3, "invitation", 3).old_values["responded"] == 0
    # The bulk insert's new pages are, in the database file, already full of
    # its rows (the checkpoint copied them): their earlier state is unknown,
    # and the inserts are marked as such.
    assert history.uncertain == {bulk.ident: {("sealed_answer", f"b{i:02d}") for i in range(30)}}
    assert history.exact_from == idents.index(claim3.ident)


def test_a_transaction_still_open_or_rolled_back_is_not_a_transaction(tmp_path):
    con, path = open_db(tmp_path)
    con.execute("PRAGMA cache_size=5")  # pages: a big transaction spills into the log
    transaction(con, ("INSERT INTO sealed_answer VALUES ('k1', ?)", (blob(1),)))
    con.execute("BEGIN")
    con.executemany("INSERT INTO sealed_answer VALUES (?, ?)", [(f"x{i:02d}", blob(i)) for i in range(40)])

    open_now = sqlite_wal.read_wal(path)
    con.execute("ROLLBACK")
    transaction(con, ("INSERT INTO sealed_answer VALUES ('k2', ?)", (blob(2),)))
    after = sqlite_wal.read_wal(path)
    con.close()

    assert [kinds(t) for t in with_changes(open_now.transactions)] == [{("sealed_answer", "insert", "k1")}]
    assert open_now.incomplete_tail_frames + open_now.unsalted_frames > 0
    # The next commit overwrote the rolled-back frames from the last commit
    # on; those left past it break the checksum chain and are not read.
    assert [kinds(t) for t in with_changes(after.transactions)] == [
        {("sealed_answer", "insert", "k1")},
        {("sealed_answer", "insert", "k2")},
    ]
    assert after.checksum_failures >= 1 and after.generations[-1].invalid_frames > 0


def test_the_frame_checksum_is_sqlites(tmp_path):
    rng = random.Random(7)
    data = rng.randbytes(24 + 4096)
    for big in (False, True):
        words = sqlite_wal._checksum_words(data, 0, 2, big) + sqlite_wal._checksum_words(data, 24, 1024, big)
        expected = sqlite_wal._checksum_loop(words, 12345, 678)  # the format's loop, word by word
        assert sqlite_wal._FrameChecksum(4096)(data, 0, big, 12345, 678) == expected
    # And a real log verifies from its header to its last frame.
    con, path = open_db(tmp_path)
    transaction(con, ("INSERT INTO sealed_answer VALUES ('k1', ?)", (blob(1),)))
    assert sqlite_wal.read_wal(path).checksum_failures == 0
    con.close()


TRICKY_SCHEMA = [
    'CREATE TABLE "odd table" ([key] TEXT, "va""l" BLOB, n INTEGER PRIMARY KEY DESC)',
    "CREATE TABLE pair (b TEXT NOT NULL, a INTEGER NOT NULL, c BLOB, PRIMARY KEY (a, b)) WITHOUT ROWID",
    "CREATE TABLE pk_in_column (x INT, y TEXT PRIMARY KEY COLLATE NOCASE, z) WITHOUT ROWID",
    "CREATE TABLE plain (x, y)",
    "CREATE TABLE alias (id INTEGER PRIMARY KEY ASC, v -- a comment, with a comma\n)",
]


def app_schema(tmp_path: Path) -> str:
    from app.db import Database
    from app.migrate import upgrade

    path = str(tmp_path / "app.sqlite3")
    database = Database("sqlite:///" + path)
    upgrade(database)
    database.dispose()
    return path


def test_the_schema_reading_agrees_with_sqlites_own_record_layout(tmp_path):
    path = app_schema(tmp_path)
    con = sqlite3.connect(path)
    for statement in TRICKY_SCHEMA:
        con.execute(statement)
    tables = con.execute("SELECT name, rootpage, sql FROM sqlite_schema WHERE type = 'table'").fetchall()
    assert {"invitation", "response", "answer"} <= {name for name, _root, _sql in tables}
    for name, root, sql in tables:
        parsed = sqlite_wal._parse_table(name, root, sql)
        info = con.execute("SELECT name, pk FROM pragma_table_xinfo(?)", (name,)).fetchall()
        assert parsed.columns == tuple(column for column, _pk in info), name
        pk = [column for column, position in sorted(info, key=lambda c: c[1]) if position]
        assert [parsed.columns[i] for i in parsed.pk] == pk, name
        if parsed.without_rowid:
            (index,) = con.execute(
                "SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'", (name,)
            ).fetchall()
            layout = con.execute(
                "SELECT name FROM pragma_index_xinfo(?) ORDER BY seqno", index
            ).fetchall()
            assert [parsed.columns[i] for i in parsed.storage] == [c for (c,) in layout], name
    parsed = {name: sqlite_wal._parse_table(name, root, sql) for name, root, sql in tables}
    assert parsed["invitation"].ipk == 0 and parsed["alias"].ipk == 0
    assert parsed["odd table"].ipk is None  # PRIMARY KEY DESC: not the rowid
    assert parsed["answer"].without_rowid and parsed["response"].without_rowid
    con.close()


def test_the_apps_own_tables_read_with_their_keys(tmp_path):
    path = app_schema(tmp_path)
    con = sqlite3.connect(path, isolation_level=None)  # foreign keys off: no parent rows needed
    con.execute("PRAGMA wal_autocheckpoint=0")
    token = "ab" * 32
    transaction(
        con,
        ("INSERT INTO invitation VALUES (17, ?, 0, '2026-11-30', 1, 2, 3, 'sv', 'sms')", (token,)),
        "INSERT INTO campaign_language VALUES (1, 'sv')",
    )
    response = "0f" * 16
    transaction(
        con,
        "UPDATE invitation SET responded = 1 WHERE id = 17",
        ("INSERT INTO response VALUES (?, 1, 'complete', '2026-11-30', 1, 2, 3, 'sv', 'sms', NULL, 0)", (response,)),
        ("INSERT INTO answer VALUES (?, 'q1', 4, NULL, NULL, 0)", (response,)),
        ("INSERT INTO answer VALUES (?, 'q2', NULL, NULL, ?, 0)", (response, "fritext " * 500)),
    )

    history = sqlite_wal.read_wal(path)
    con.close()

    issue, submit = with_changes(history.transactions)
    assert kinds(issue) == {("invitation", "insert", 17), ("campaign_language", "insert", (1, "sv"))}
    assert kinds(submit) == {
        ("invitation", "update", 17),
        ("response", "insert", response),
        ("answer", "insert", (response, "q1")),
        ("answer", "insert", (response, "q2")),
    }
    assert change(submit, "invitation", 17).old_values["responded"] == 0
    assert change(submit, "invitation", 17).values["responded"] == 1
    assert change(submit, "answer", (response, "q2")).values["text"] == "fritext " * 500
    assert change(submit, "response", response).values["channel"] == "sms"
    assert history.uncertain == {}


def test_the_main_file_alone_gives_every_live_row_in_page_order(tmp_path):
    con, path = open_db(tmp_path)
    transaction(
        con,
        ("INSERT INTO invitation VALUES (?, ?, ?)", [(i, f"t{i}", i % 2) for i in range(1, 301)]),
        ("INSERT INTO sealed_answer VALUES (?, ?)", [(f"s{i:02d}", blob(i)) for i in range(20)]),
    )
    transaction(con, "DELETE FROM invitation WHERE id % 7 = 0")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    rows = sqlite_wal.read_main_file(path)
    con.close()

    assert rows["invitation"] == [
        {"id": i, "token_hash": f"t{i}", "responded": i % 2} for i in range(1, 301) if i % 7
    ]
    assert sorted(r["id"] for r in rows["sealed_answer"]) == [f"s{i:02d}" for i in range(20)]
    assert all(r["box"] == blob(int(r["id"][1:])) for r in rows["sealed_answer"])


def test_deleted_rows_stay_readable_in_free_space_unless_secure_delete_zeroes_them(tmp_path):
    found = {}
    for secure_delete in ("OFF", "ON"):
        con, path = open_db(tmp_path, f"free-{secure_delete}.sqlite3")
        con.execute(f"PRAGMA secure_delete={secure_delete}")
        transaction(
            con,
            ("INSERT INTO invitation VALUES (?, ?, 0)", [(i, f"{i:064x}") for i in range(1, 301)]),
            ("INSERT INTO sealed_answer VALUES (?, ?)", [(f"s{i:02d}", blob(i)) for i in range(40)]),
        )
        transaction(
            con,
            "DELETE FROM invitation WHERE id IN (150, 299)",
            "DELETE FROM sealed_answer WHERE id >= 's20'",
        )
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        found[secure_delete] = sqlite_wal.free_page_records(path)
        con.close()

    loose = found["OFF"]
    # A freed cell's first four bytes hold the freeblock list now: the
    # record's header is rebuilt, its rowid is gone.
    deleted = (f"{150:064x}", f"{299:064x}")
    invitations = [r for r in loose if r.table == "invitation"]
    assert {(r.where, r.row["token_hash"], r.key) for r in invitations if r.row["token_hash"] in deleted} == {
        ("freeblock", deleted[0], None),
        ("freeblock", deleted[1], None),
    }
    # Leaves the deletes emptied went to the freelist whole.
    freed = {r.key for r in loose if r.where == "freelist-cell" and r.table == "sealed_answer"}
    assert freed and freed <= {f"s{i:02d}" for i in range(20, 40)}
    assert all(r.row["box"] == blob(int(r.key[1:])) for r in loose if r.where == "freelist-cell")
    zeroed = found["ON"]
    assert not [r for r in zeroed if r.where in ("freeblock", "freelist-cell")]


# --------------------------------------------------------------------------
# Randomized histories, compared with SQLite's own view after every commit

RANDOM_SCHEMA = [
    SCHEMA[0],
    "CREATE INDEX ix_invitation ON invitation (responded, token_hash)",
    (
        "CREATE TABLE sealed_answer (id VARCHAR(32) NOT NULL, box BLOB NOT NULL, n INTEGER,"
        " CONSTRAINT pk PRIMARY KEY (id)) WITHOUT ROWID"
    ),
    "CREATE TABLE pair (b TEXT NOT NULL, a INTEGER NOT NULL, c BLOB, PRIMARY KEY (a, b)) WITHOUT ROWID",
]


def snapshot(con: sqlite3.Connection) -> dict[str, dict]:
    return {
        "invitation": {
            r[0]: {"id": r[0], "token_hash": r[1], "responded": r[2]}
            for r in con.execute("SELECT id, token_hash, responded FROM invitation")
        },
        "sealed_answer": {
            r[0]: {"id": r[0], "box": r[1], "n": r[2]}
            for r in con.execute("SELECT id, box, n FROM sealed_answer")
        },
        "pair": {
            (r[1], r[0]): {"b": r[0], "a": r[1], "c": r[2]}
            for r in con.execute("SELECT b, a, c FROM pair")
        },
    }


def frozen(values):
    return None if values is None else tuple(sorted(values.items()))


def difference(before: dict, after: dict) -> set:
    out = set()
    for table, rows in after.items():
        for key, values in rows.items():
            if key not in before[table]:
                out.add((table, "insert", key, frozen(values), None))
            elif before[table][key] != values:
                out.add((table, "update", key, frozen(values), frozen(before[table][key])))
        for key, values in before[table].items():
            if key not in rows:
                out.add((table, "delete", key, None, frozen(values)))
    return out


def log_position(path: str) -> tuple[int, int]:
    """(salt-1 of the log header, frames committed) - from the wal-index."""
    with open(path + "-wal", "rb") as wal, open(path + "-shm", "rb") as shm:
        (salt1,) = struct.unpack(">I", wal.read(32)[16:20])
        (mx_frame,) = struct.unpack_from("=I", shm.read(48), 16)
    return salt1, mx_frame


def random_history(tmp_path: Path, seed: int, checkpoints: bool, transactions: int = 70):
    """Random writes; returns the reader's history and, per transaction
    ident, the changes SQLite's own snapshots show."""
    rng = random.Random(seed)
    con, path = open_db(tmp_path, f"random-{seed}.sqlite3", RANDOM_SCHEMA)
    reader = sqlite3.connect(path, isolation_level=None)
    holding = 0
    expected: dict[str, set] = {}
    before = snapshot(con)
    next_id = 1
    for _ in range(transactions):
        if checkpoints:
            if holding == 0 and rng.random() < 0.1:
                # A reader's snapshot keeps a checkpoint from copying pages
                # written since (the app's readers do this under load).
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM invitation").fetchall()
                holding = rng.randint(1, 6)
            elif holding:
                holding -= 1
                if holding == 0:
                    reader.execute("COMMIT")
            if rng.random() < 0.08:
                con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        start = log_position(path)
        con.execute("BEGIN")
        for _ in range(rng.choice([1, 1, 2, 3, 5, 20, 60])):
            op = rng.random()
            ids = [r[0] for r in con.execute("SELECT id FROM sealed_answer")]
            if op < 0.3:
                con.execute("INSERT INTO invitation VALUES (?, ?, 0)", (next_id, f"{next_id:064x}"))
                next_id += 1
            elif op < 0.42:
                con.execute("UPDATE invitation SET responded = 1 WHERE id = ?", (rng.randint(1, next_id),))
            elif op < 0.47:
                con.execute("DELETE FROM invitation WHERE id = ?", (rng.randint(1, next_id),))
            elif op < 0.67:
                size = rng.choice([10, 500, 1500, 6000, 8000])
                con.execute(
                    "INSERT INTO sealed_answer VALUES (?, ?, ?)",
                    (rng.randbytes(8).hex(), rng.randbytes(size), rng.choice([None, 5, -7, 2**40])),
                )
            elif op < 0.77 and ids:
                con.execute("DELETE FROM sealed_answer WHERE id = ?", (rng.choice(ids),))
            elif op < 0.82 and ids:
                con.execute(
                    "UPDATE sealed_answer SET box = ?, n = coalesce(n, 0) + 1 WHERE id = ?",
                    (rng.randbytes(rng.choice([10, 6000])), rng.choice(ids)),
                )
            else:
                con.execute(
                    "INSERT OR REPLACE INTO pair VALUES (?, ?, ?)",
                    (rng.choice("abc"), rng.randint(0, 50), rng.randbytes(rng.choice([0, 100, 5000]))),
                )
        con.execute("COMMIT")
        end = log_position(path)
        after = snapshot(con)
        if end != start:
            first = start[1] if start[0] == end[0] else 0
            expected[f"{end[0]}:{first}"] = difference(before, after)
        before = after
    history = sqlite_wal.read_wal(path)
    reader.close()
    con.close()
    return history, expected


def reported(txn: model.Transaction) -> set:
    return {(c.table, c.kind, c.key, frozen(c.values), frozen(c.old_values)) for c in txn.changes}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_history_in_one_generation_is_read_exactly(tmp_path, seed):
    history, expected = random_history(tmp_path, seed, checkpoints=False)
    read = {t.ident: reported(t) for t in history.transactions}
    assert len(expected) > 50
    for ident, changes in expected.items():
        assert read[ident] == changes, ident
    assert history.uncertain == {} and history.exact_from == 0


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_a_random_history_across_checkpoints_is_exact_where_it_says_so(tmp_path, seed):
    history, expected = random_history(tmp_path, seed, checkpoints=True)
    assert len(history.generations) >= 2  # the log restarted: stale frames are read
    sure = 0
    for txn in history.transactions:
        if txn.ident not in expected:
            continue  # cut: its first frames were overwritten
        changes = expected[txn.ident]
        if txn.position >= history.exact_from:
            assert reported(txn) == changes, txn.ident
            continue
        # Before that, whatever is not marked uncertain is right.
        guessed = history.uncertain.get(txn.ident, frozenset())
        for found in reported(txn):
            if (found[0], found[2]) not in guessed:
                assert found in changes, (txn.ident, found[:3])
                sure += 1
    assert sure > 0 and 0 < history.exact_from < len(history.transactions)


def test_a_twenty_megabyte_log_reads_in_a_few_seconds(tmp_path):
    con, path = open_db(tmp_path)
    rng = random.Random(5)
    for i in range(1000):
        transaction(
            con,
            ("INSERT INTO sealed_answer VALUES (?, ?)", (f"{i:06d}-{rng.randbytes(4).hex()}", blob(i))),
            ("INSERT INTO invitation VALUES (?, ?, 0)", (i + 1, f"{i:064x}")),
        )
    size = os.path.getsize(path + "-wal")
    started = time.perf_counter()
    history = sqlite_wal.read_wal(path)
    elapsed = time.perf_counter() - started
    con.close()
    assert size > 18_000_000 and len(history.transactions) == 1002
    assert sum(len(t.changes) for t in history.transactions) == 2000
    assert elapsed < 10, f"{size / 1e6:.1f} MB, {history.frames} frames read in {elapsed:.1f} s"
