"""The embedded SQLite database under concurrent writers: turns, and checkpoints out of commits.

These run on a SQLite file of their own whatever TEST_DATABASE_URL says:
they are about SQLite's settings, which PostgreSQL does not have.
"""

from __future__ import annotations

import os
import threading
import time

from sqlalchemy import text

from app import db


def sqlite_engine(tmp_path, name: str = "db.sqlite3"):
    path = tmp_path / name
    return db.make_engine(f"sqlite:///{path}"), path


def test_a_writer_waits_for_the_turn_of_the_one_before_it(tmp_path):
    engine, path = sqlite_engine(tmp_path)
    events: list[str] = []
    first_in = threading.Event()

    def first():
        with engine.connect() as connection, db.writer_turn(connection):
            events.append("first starts")
            first_in.set()
            time.sleep(0.3)
            events.append("first ends")

    def second():
        first_in.wait()
        with engine.connect() as connection, db.writer_turn(connection):
            events.append("second starts")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert events == ["first starts", "first ends", "second starts"]
    # The second went as soon as the first was done, not after a poll interval.
    assert time.monotonic() - started < 1.0
    assert os.path.exists(str(path) + db.WRITERS_LOCK_SUFFIX)
    engine.dispose()


def test_a_commit_leaves_the_log_to_be_checkpointed_when_connections_come_back(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 3)
    engine, path = sqlite_engine(tmp_path)
    with engine.connect() as connection:  # check-in 1
        connection.execute(text("CREATE TABLE blob (data BLOB)"))
        connection.commit()

    writer = engine.connect()
    # About 6 MB: well past the 1,000 pages at which SQLite would checkpoint inside the commit.
    writer.execute(text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)"
                        " INSERT INTO blob SELECT randomblob(4000) FROM n"))
    writer.commit()
    database_bytes, log_bytes = os.path.getsize(path), os.path.getsize(f"{path}-wal")
    assert log_bytes > 5_000_000
    assert database_bytes < 1_000_000, "the commit checkpointed the log itself"

    writer.close()  # check-in 2
    assert os.path.getsize(path) == database_bytes
    with engine.connect():  # check-in 3: the checkpoint
        pass
    assert os.path.getsize(path) > 5_000_000
    engine.dispose()
