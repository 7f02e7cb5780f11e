"""The PostgreSQL cluster the adversary reads: its own database, the WAL slot, the server log.

Everything here runs as the cluster's superuser `postgres` over TCP
(127.0.0.1:5432, trust authentication, as on the project's machines) and,
for the files (pg_wal, the server log), as root on the same machine.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg

ADMIN_DSN = os.environ.get("ADVERSARY_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
#: The test's own database: never `test`, which the rest of the suite may be using.
DATABASE = "kundrost_adversary"
SLOT = "kundrost_adversary_wal"


def connect(dbname: str = "postgres", autocommit: bool = True) -> psycopg.Connection:
    dsn = ADMIN_DSN.replace("dbname=postgres", f"dbname={dbname}")
    return psycopg.connect(dsn, autocommit=autocommit)


def sqlalchemy_url(dbname: str = DATABASE) -> str:
    params = dict(item.split("=", 1) for item in ADMIN_DSN.split())
    return (f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
            f"{params.get('port', '5432')}/{dbname}")


def lsn_to_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass
class Cluster:
    version: int
    data_directory: Path
    bin_dir: Path
    log_file: Path

    @property
    def pg_wal(self) -> Path:
        return self.data_directory / "pg_wal"

    @property
    def pg_waldump(self) -> Path:
        return self.bin_dir / "pg_waldump"


def what_is_missing() -> tuple[Cluster | None, list[str]]:
    """The cluster's facts, and what keeps the PostgreSQL adversary from running here."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (to read pg_wal and the server log)")
    try:
        with connect() as connection:
            version = int(connection.execute("SHOW server_version_num").fetchone()[0]) // 10000
            data_directory = Path(connection.execute("SHOW data_directory").fetchone()[0])
            wal_level = connection.execute("SHOW wal_level").fetchone()[0]
            slots = int(connection.execute("SHOW max_replication_slots").fetchone()[0])
            collector = connection.execute("SHOW logging_collector").fetchone()[0]
            current_log = connection.execute("SELECT pg_current_logfile()").fetchone()[0]
            has_pageinspect = connection.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'pageinspect'").fetchone()[0]
    except psycopg.Error as error:
        return None, [f"PostgreSQL at {ADMIN_DSN!r} as superuser: {error}".strip()]
    if wal_level not in ("replica", "logical"):
        missing.append(f"wal_level replica or logical (it is {wal_level})")
    if slots < 1:
        missing.append("max_replication_slots >= 1")
    if not has_pageinspect:
        missing.append("the pageinspect extension (postgresql-contrib)")
    bin_dir = Path(f"/usr/lib/postgresql/{version}/bin")
    if not (bin_dir / "pg_waldump").exists():
        found = shutil.which("pg_waldump")
        if found:
            bin_dir = Path(found).parent
        else:
            missing.append(f"pg_waldump ({bin_dir})")
    if collector == "on" and current_log:
        log_file = data_directory / current_log if not current_log.startswith("/") else Path(current_log)
    else:
        log_file = Path(f"/var/log/postgresql/postgresql-{version}-main.log")
    if not log_file.exists() or not os.access(log_file, os.R_OK):
        missing.append(f"a readable server log ({log_file})")
    return Cluster(version, data_directory, bin_dir, log_file), missing


def recreate_database() -> int:
    """Drop and create the test's own database; return its OID."""
    with connect() as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
        return connection.execute("SELECT oid FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()[0]


def drop_database() -> None:
    with connect() as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def set_statement_logging(on: bool) -> None:
    with connect() as connection:
        if on:
            connection.execute(f"ALTER DATABASE {DATABASE} SET log_min_duration_statement = 0")
        else:
            connection.execute(f"ALTER DATABASE {DATABASE} RESET log_min_duration_statement")


def create_slot() -> int:
    """A physical slot reserving WAL from now on; returns the insert LSN after it."""
    with connect() as connection:
        connection.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                           (SLOT,))
        connection.execute("SELECT pg_create_physical_replication_slot(%s, true)", (SLOT,))
        return lsn_to_int(connection.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0])


def drop_slot() -> None:
    with connect() as connection:
        connection.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                           (SLOT,))


def insert_lsn() -> int:
    with connect() as connection:
        return lsn_to_int(connection.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0])


def flushed_end_lsn() -> int:
    """The insert LSN now, after a commit that makes sure all of it is on disk."""
    end = insert_lsn()
    with connect(DATABASE, autocommit=False) as connection:
        connection.execute("SELECT txid_current()")  # an xid: its commit flushes the WAL past `end`
        connection.commit()
    return end
