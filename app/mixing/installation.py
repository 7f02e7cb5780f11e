"""Which mixer may mix this database, with which key folder.

- **One mixer at a time.** A mixer first takes an operating-system-level
  lock - PostgreSQL: a session advisory lock, released when its connection
  or process dies; SQLite: an flock on a file beside the database's real
  path (a symlink leads to the same lock) - and then writes its random
  token into `mixer_installation.holder`. Every transaction the mixer runs
  afterwards first checks the token is still its own (`fence`): if its lock
  was lost (a killed backend, a network cut) and another mixer took over,
  it writes nothing more and stops.
- **Its own keys.** The installation row names the key folder
  (`<MIXER_KEY_DIR>/<installation id>/`) and records where the database
  lives. A copy of the database (staging, a restore elsewhere) has another
  location: its mixer refuses to start until an operator says whether the
  database was moved (keep the keys) or copied (a new installation, a new
  folder) - `flask mixer adopt`. So a copy never opens, re-seals or erases
  the original's keys.
- **A physical copy** (a base backup restored, a standby promoted) keeps the
  location too. Two more guards: the mixer locks the key folder itself, so
  two databases never use one folder at once; and every key change advances
  a generation written both in the database and in the folder - a database
  behind its folder is an older copy or restore, and its mixer refuses to
  start (and erases nothing). What no guard can tell: a byte-identical copy
  taken since the last key change, run while the original's mixer is
  stopped. Never give a copy the original's MIXER_KEY_DIR (docs/operations.md).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection

from ..config import Config
from ..db import Database, writer_turn
from .keys import KeyFolder
from .models import MixerInstallation

#: PostgreSQL advisory lock held by the running mixer: (MIXER_LOCK_CLASS, 0).
MIXER_LOCK_CLASS = 7302
#: Beside a SQLite database file (its real path): the lock the running mixer holds.
MIXER_LOCK_SUFFIX = "-mixer.lock"


class MixerError(RuntimeError):
    """The mixer cannot go on; the message says why and what to do."""


class MixerBusy(MixerError):
    """Another mixer holds the lock for this database."""


class LeaseLost(MixerError):
    """Another mixer took over: this one must stop writing."""


class DatabaseMoved(MixerError):
    """The database is not where its mixer installation was made (moved, or a copy)."""


def database_location(connection: Connection) -> str:
    """Where a database lives: what a copy or a restore elsewhere does not share.

    SQLite: "sqlite:" and the real path of the file. PostgreSQL: "postgresql:"
    and the cluster's system identifier and the database's name.
    """
    if connection.dialect.name == "postgresql":
        system = connection.scalar(text("SELECT system_identifier FROM pg_control_system()"))
        return f"postgresql:{system}/{connection.scalar(text('SELECT current_database()'))}"
    return "sqlite:" + os.path.realpath(connection.engine.url.database or "")


@contextmanager
def mixer_lock(database: Database) -> Iterator[None]:
    """Hold the one-mixer lock for the block; raises MixerBusy if another mixer has it."""
    engine = database.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:c, 0)"), {"c": MIXER_LOCK_CLASS}):
                raise MixerBusy("another mixer is running for this database")
            connection.commit()
            try:
                yield
            finally:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:c, 0)"), {"c": MIXER_LOCK_CLASS})
                    connection.commit()
                except Exception:  # the connection is gone, and the lock with it
                    pass
        return
    path = os.path.realpath(engine.url.database or "") + MIXER_LOCK_SUFFIX
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MixerBusy("another mixer is running for this database") from None
        yield
    finally:
        os.close(descriptor)


class KeyFolderAhead(MixerError):
    """The key folder has seen key changes this database has not: an older copy or restore."""


@dataclass
class Installation:
    """This database's mixer installation as the running mixer holds it."""

    id: str
    folder: KeyFolder
    #: This mixer's token in `mixer_installation.holder`.
    holder: str
    #: The open, locked `.lock` file of the key folder (kept for the mixer's life).
    folder_lock: int = -1

    def advance(self, connection: Connection) -> int:
        """In a key change's transaction (after `fence`): the next generation.

        Write it to the folder with `folder.write_generation` once the
        transaction has committed, and before erasing anything.
        """
        connection.execute(update(MixerInstallation.__table__)
                           .where(MixerInstallation.id == self.id)
                           .values(generation=MixerInstallation.generation + 1))
        return connection.scalar(select(MixerInstallation.generation).where(MixerInstallation.id == self.id))

    def fence(self, connection: Connection) -> None:
        """First statement of every mixer transaction: raise LeaseLost if another mixer took over."""
        still_ours = connection.execute(
            update(MixerInstallation.__table__)
            .where(MixerInstallation.id == self.id, MixerInstallation.holder == self.holder)
            .values(holder=self.holder)
        ).rowcount
        if still_ours != 1:
            connection.rollback()
            raise LeaseLost("another mixer took over this database; this one stops")


def key_root(database: Database, config: Config) -> Path:
    """The MIXER_KEY_DIR in use for this database; raises MixerError if it is a file, not a folder."""
    root = config.resolved_mixer_key_dir(str(database.engine.url))
    if root.exists() and not root.is_dir():
        raise MixerError(f"MIXER_KEY_DIR {root} is not a folder")
    return root


def take_over(database: Database, config: Config) -> Installation:
    """Find (or make) the installation, check the database is where it was, and take the lease.

    Call while holding `mixer_lock`. Raises DatabaseMoved for a moved or
    copied database, MixerError for an unusable key folder.
    """
    root = key_root(database, config)
    holder = secrets.token_hex(16)
    with database.engine.connect() as connection, writer_turn(connection):
        here = database_location(connection)
        row = connection.execute(
            select(MixerInstallation.id, MixerInstallation.location, MixerInstallation.generation)).first()
        if row is None:
            installation_id, generation = uuid.uuid4().hex, 0
            connection.execute(MixerInstallation.__table__.insert(),
                               {"id": installation_id, "location": here, "holder": holder, "generation": 0})
        elif row.location != here:
            connection.rollback()
            raise DatabaseMoved(
                f"this database's mixer was set up at {row.location}, and the database is now at {here}. "
                "If the database was moved (or restored in place of the original), run "
                "`flask --app app mixer adopt --moved`: the mixer keeps its keys. If it is a copy (staging, a test "
                "restore), run `flask --app app mixer adopt --copy`: the copy gets keys of its own, and what waits "
                "in it, sealed to the original's keys, cannot be opened here."
            )
        else:
            installation_id, generation = row.id, row.generation
        folder = KeyFolder(root, installation_id)
        try:
            folder_lock = folder.lock()
        except BlockingIOError:
            connection.rollback()
            raise MixerBusy(f"another mixer uses the key folder {folder.folder} (another database's?)") from None
        if folder.generation() > generation:
            os.close(folder_lock)
            connection.rollback()
            raise KeyFolderAhead(
                f"the key folder {folder.folder} has seen {folder.generation()} key changes, this database "
                f"only {generation}: the database is an older copy or restore of the one that uses this folder. "
                "Give it a folder of its own: `flask --app app mixer adopt --copy`. Nothing was changed.")
        if generation > folder.generation():
            folder.write_generation(generation)  # a crash came between a commit and the folder's record
        connection.execute(update(MixerInstallation.__table__).values(holder=holder))
        connection.commit()
    return Installation(installation_id, folder, holder, folder_lock)


def _still_there(connection: Connection, location: str) -> bool:
    """Whether the database at `location` (as `database_location` wrote it) still exists, where we can tell."""
    kind, _, where = location.partition(":")
    if kind == "sqlite":
        return os.path.exists(where)
    system, _, name = where.partition("/")
    here = str(connection.scalar(text("SELECT system_identifier FROM pg_control_system()")))
    return system == here and bool(connection.scalar(
        text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}))


def adopt(database: Database, copied: bool) -> str:
    """Record the database's new location; for a copy, also a new installation id
    (a new, empty key folder, generation 0). Returns the id in use.

    Raises MixerError for `moved` while the database at the old location
    still exists: that one is the original, and this one a copy.
    """
    with database.engine.connect() as connection, writer_turn(connection):
        here = database_location(connection)
        old = connection.scalar(select(MixerInstallation.location))
        if not copied and old is not None and old != here and _still_there(connection, old):
            connection.rollback()
            raise MixerError(f"the database at {old} still exists: this one is a copy of it. "
                             "Use `flask --app app mixer adopt --copy`.")
        values = {"location": here, "holder": None}
        if copied:
            values.update(id=uuid.uuid4().hex, generation=0)
        connection.execute(update(MixerInstallation.__table__).values(**values))
        connection.commit()
        return connection.scalar(select(MixerInstallation.id))
