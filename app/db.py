"""Engine, per-request session and the declarative base.

One engine per application; one ORM session per application context
(`db_session`), closed when the context ends. On SQLite, writers under
load take turns (`writer_turn`) and the write-ahead log is checkpointed
when connections go back to the pool rather than inside a commit.
"""

from __future__ import annotations

import fcntl
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Column, MetaData, create_engine, event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from werkzeug.local import LocalProxy

# Stable constraint names, so Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model; constraint names follow NAMING_CONVENTION so migrations can name them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: PostgreSQL's SQLSTATE for a unique violation; SQLite says it in words.
UNIQUE_VIOLATION = "23505"


def violates_unique(error: exc.IntegrityError, column: Column) -> bool:
    """Whether `error` is the refusal of `column`'s own unique constraint (on either database).

    `column` is a table column declared `unique=True` (its constraint named
    by NAMING_CONVENTION). For the last guard of a "this name is taken"
    check: two requests can both find a name free, and only the database
    sees the second insert. Any other integrity error is not ours to explain.
    """
    constraint = f"uq_{column.table.name}_{column.name}"
    diagnostics = getattr(error.orig, "diag", None)
    if getattr(error.orig, "sqlstate", None) == UNIQUE_VIOLATION:
        return getattr(diagnostics, "constraint_name", None) == constraint
    return str(error.orig) == f"UNIQUE constraint failed: {column.table.name}.{column.name}"


#: A SQLite engine checkpoints its write-ahead log at every this many pool check-ins.
CHECKPOINT_EVERY = 100
#: Beside the database file: the lock writers queue on (`writer_turn`).
WRITERS_LOCK_SUFFIX = "-writers.lock"


def make_engine(url: str) -> Engine:
    """The application's engine for `url`.

    `hide_parameters`: an error's message never carries the statement's
    values - a failed submit or mixing must not print answers, claims or
    ciphertexts into a log, a traceback or a cron mail.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine.pool, "checkin", _checkpoint_now_and_then(CHECKPOINT_EVERY))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)


def _configure_sqlite(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes a
    # second writer wait instead of failing; SQLite leaves foreign keys off
    # unless asked on every connection. No commit checkpoints the log
    # (_checkpoint_now_and_then does).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _checkpoint_now_and_then(every: int):
    """A pool check-in listener: copy the write-ahead log into the database file now and then.

    SQLite's own checkpoint runs inside the commit that makes the log long
    enough (1,000 pages): 5-10 ms here, during which a submit holds its
    writer turn and every other writer waits for it. Run after the
    connection is handed back, it delays only the request that runs it.
    PASSIVE: it copies what no reader still needs and never waits for one.
    """
    check_ins = itertools.count(1)

    def checkpoint(dbapi_connection, _record) -> None:
        """Pool check-in hook: every `every`-th check-in, checkpoint the SQLite write-ahead log (PASSIVE)."""
        # None: the connection was invalidated and is being thrown away.
        if next(check_ins) % every == 0 and dbapi_connection is not None:
            dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    return checkpoint


@contextmanager
def writer_turn(connection: Connection) -> Iterator[None]:
    """On a SQLite file, wait until the writers ahead (in any process) are done.

    SQLite lets one writer in at a time and makes the others retry in its
    busy handler, which sleeps 1, 2, 5, 10... ms between tries - far longer
    than a submit holds the lock (about 0.1 ms). Under load the waits were
    a quarter of a served submit's time (0.47 of 1.8 ms). Writers queued on
    a file lock instead start the moment the one before them commits.
    Closing the file releases the lock, also when a worker dies. A turn
    lasts one write: a writer outside the queue (staff, the CLI) can hold
    it up at most for SQLite's busy timeout (15 s), after which the write
    fails and the turn passes on. PostgreSQL queues writers itself.
    """
    path = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    lock = os.open(path + WRITERS_LOCK_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock)


class Database:
    """The engine for one database URL and the session factory bound to it."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, and before a forked process uses the engine)."""
        self.engine.dispose()


def init_app(app: Flask, url: str) -> Database:
    """Create the Database for `url`, keep it in `app.extensions`, and close each request's session at teardown."""
    database = Database(url)
    app.extensions["kundrost.db"] = database
    app.teardown_appcontext(_close_session)
    return database


def get_database() -> Database:
    """The current app's Database. Raises RuntimeError outside an application context."""
    return current_app.extensions["kundrost.db"]


def get_session() -> Session:
    """This request's (or app context's) Session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


#: The ORM session of the current application context.
db_session: Session = LocalProxy(get_session)  # type: ignore[assignment]
