"""folded keys for the names people type: provider names, programme codes, usernames

Issue 8, kind 1. Each of these names is now unique by a stored key,
`app.text.match_key(name)` (NFC, Unicode case folding, spaces and
invisible characters aside), instead of by its exact text:

- new columns `provider.name_key`, `programme.code_key`,
  `staff_user.username_key` (NOT NULL), each with a unique constraint
  (`uq_<table>_<column>`); the exact-text unique constraints of 0001
  (`uq_provider_name`, `uq_programme_code`, `uq_staff_user_username`) go,
  the key's is stricter;
- every existing name is stored as `app.text.typed_name` makes it (NFC,
  single spaces, trimmed: it looks the same) and its key is filled in.

Two existing rows whose names fold to the same key (say "Ångström
Coaching" typed once in NFC and once in NFD, or "AMI 1" and "ami 1") both
stay, with everything that refers to them: the older row (lowest id)
keeps its name, each later one gets " (2)", " (3)"... appended (cut to fit
the column) until its key is free. Each such rename is logged as a
warning ("provider 7 renamed ..."): look at them afterwards - deactivate
the provider or programme no longer used, and tell a renamed account's
owner the username to sign in with. Downgrading keeps the new names.

SQLite cannot add a NOT NULL column without a default nor drop a
constraint, so there the three tables are rebuilt: rows are read, the
table is dropped and created anew, and the rows are written back. Other
tables refer to provider and programme (with no ON DELETE action): with
foreign keys deferred, dropping the table leaves their references
pending, and writing the same ids back settles them before the commit,
which fails - keeping everything - if any were left unsettled.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

from app.text import KEY_EXPANSION, match_key, typed_name

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


class Name(NamedTuple):
    """One name column that gets a key: `table.column` (at most `longest` characters) and `table.key`."""

    table: str
    column: str
    key: str
    longest: int
    #: Creates the table as it is at this revision (with_key) or at 0004 (SQLite rebuilds).
    create: Callable[[bool], None]

    @property
    def old_unique(self) -> str:
        return f"uq_{self.table}_{self.column}"

    @property
    def new_unique(self) -> str:
        return f"uq_{self.table}_{self.key}"


def _create_provider(with_key: bool) -> None:
    op.create_table(
        "provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        *([sa.Column("name_key", sa.String(length=200 * KEY_EXPANSION), nullable=False)] if with_key else []),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider")),
        sa.UniqueConstraint(*(["name_key"] if with_key else ["name"]),
                            name=op.f("uq_provider_name_key" if with_key else "uq_provider_name")),
    )


def _create_programme(with_key: bool) -> None:
    op.create_table(
        "programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        *([sa.Column("code_key", sa.String(length=20 * KEY_EXPANSION), nullable=False)] if with_key else []),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint(*(["code_key"] if with_key else ["code"]),
                            name=op.f("uq_programme_code_key" if with_key else "uq_programme_code")),
    )


def _create_staff_user(with_key: bool) -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        *([sa.Column("username_key", sa.String(length=80 * KEY_EXPANSION), nullable=False)] if with_key else []),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.Enum("admin", "analyst", "entry", "provider", name="role", native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"),
                  nullable=False),
        sa.CheckConstraint("(role = 'provider') = (provider_id IS NOT NULL)",
                           name=op.f("ck_staff_user_provider_role_has_provider")),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"], name=op.f("fk_staff_user_provider_id_provider")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint(*(["username_key"] if with_key else ["username"]),
                            name=op.f("uq_staff_user_username_key" if with_key else "uq_staff_user_username")),
    )


NAMES = [
    Name("provider", "name", "name_key", 200, _create_provider),
    Name("programme", "code", "code_key", 20, _create_programme),
    Name("staff_user", "username", "username_key", 80, _create_staff_user),
]


class Keyed(NamedTuple):
    """One row's name as stored before, as stored now, and its key."""

    id: int
    before: str
    name: str
    key: str
    renamed: bool


def keyed_names(rows: list[tuple[int, str]], longest: int) -> list[Keyed]:
    """Each of `rows` (id, name) with its new name and key, in id order.

    The new name is `typed_name`'s (if that is empty or longer than
    `longest`, the stored name as it was); a name whose key an older row
    has is renamed with " (2)", " (3)"... (its base cut so that the whole
    is at most `longest` characters) until its key is free.
    """
    taken: set[str] = set()
    result = []
    for row_id, stored in sorted(rows):
        typed = typed_name(stored)
        name = typed if 0 < len(typed) <= longest else stored
        candidate, number = name, 1
        while match_key(candidate) in taken:
            number += 1
            suffix = f" ({number})"
            candidate = name[: longest - len(suffix)].rstrip() + suffix
        taken.add(match_key(candidate))
        result.append(Keyed(row_id, stored, candidate, match_key(candidate), renamed=candidate != name))
    return result


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _defer_foreign_keys_on_sqlite(bind)
    for name in NAMES:
        rows = bind.execute(sa.text(f"SELECT id, {name.column} FROM {name.table}")).all()
        keyed = keyed_names([tuple(row) for row in rows], name.longest)
        for row in keyed:
            if row.renamed:
                log.warning("%s %d renamed from %r to %r: an older %s has the same name but for case, "
                            "Unicode normalisation or spaces", name.table, row.id, row.before, row.name, name.table)
        if bind.dialect.name == "sqlite":
            _rebuild_on_sqlite(bind, name, {row.id: (row.name, row.key) for row in keyed})
            continue
        op.add_column(name.table, sa.Column(name.key, sa.String(length=name.longest * KEY_EXPANSION), nullable=True))
        update = sa.text(f"UPDATE {name.table} SET {name.column} = :name, {name.key} = :key WHERE id = :id")
        for row in keyed:
            bind.execute(update, {"id": row.id, "name": row.name, "key": row.key})
        op.alter_column(name.table, name.key, nullable=False)
        op.drop_constraint(name.old_unique, name.table, type_="unique")
        op.create_unique_constraint(name.new_unique, name.table, [name.key])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _defer_foreign_keys_on_sqlite(bind)
    for name in NAMES:
        if bind.dialect.name == "sqlite":
            _rebuild_on_sqlite(bind, name, None)
            continue
        op.drop_constraint(name.new_unique, name.table, type_="unique")
        op.drop_column(name.table, name.key)
        op.create_unique_constraint(name.old_unique, name.table, [name.column])


def _defer_foreign_keys_on_sqlite(bind) -> None:
    # Python's sqlite3 opens a transaction only before DML; DDL before it
    # would run (and commit) on its own, and the pragma below lasts one
    # transaction. So open it now: the whole rebuild commits or nothing does.
    if not bind.connection.dbapi_connection.in_transaction:
        bind.exec_driver_sql("BEGIN")
    bind.exec_driver_sql("PRAGMA defer_foreign_keys = ON")


def _rebuild_on_sqlite(bind, name: Name, keyed: dict[int, tuple[str, str]] | None) -> None:
    """Drop `name.table` and create it with (keyed given) or without its key, keeping every row.

    `keyed` maps each row's id to its new name and key.
    """
    rows = [dict(row) for row in bind.execute(sa.text(f"SELECT * FROM {name.table}")).mappings()]
    op.drop_table(name.table)
    name.create(keyed is not None)
    for row in rows:
        if keyed is not None:
            row[name.column], row[name.key] = keyed[row["id"]]
        else:
            row.pop(name.key, None)
    if rows:
        columns = list(rows[0])
        bind.execute(
            sa.text(f"INSERT INTO {name.table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
            rows,
        )
