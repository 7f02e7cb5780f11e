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


@dataclass
class Installation:
    """This database's mixer installation as the running mixer holds it."""

    id: str
    folder: KeyFolder
    #: This mixer's token in `mixer_installation.holder`.
    holder: str

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
        row = connection.execute(select(MixerInstallation.id, MixerInstallation.location)).first()
        if row is None:
            installation_id = uuid.uuid4().hex
            connection.execute(MixerInstallation.__table__.insert(),
                               {"id": installation_id, "location": here, "holder": holder})
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
            installation_id = row.id
            connection.execute(update(MixerInstallation.__table__).values(holder=holder))
        connection.commit()
    return Installation(installation_id, KeyFolder(root, installation_id), holder)


def adopt(database: Database, copied: bool) -> str:
    """Record the database's new location; for a copy, also a new installation id. Returns the id in use."""
    with database.engine.connect() as connection, writer_turn(connection):
        here = database_location(connection)
        values = {"location": here, "holder": None}
        if copied:
            values["id"] = uuid.uuid4().hex
        connection.execute(update(MixerInstallation.__table__).values(**values))
        connection.commit()
        return connection.scalar(select(MixerInstallation.id))
