"""Writes of providers and programmes: a name is taken whatever its case or normalisation."""

from __future__ import annotations

from sqlalchemy import Column, exc, exists, select
from sqlalchemy.orm import Session

from ..db import violates_unique
from ..text import match_key
from .models import Programme, Provider


def name_taken(session: Session, name: str) -> bool:
    """Whether a provider's name matches `name` (`match_key`: case, NFC/NFD, spaces aside)."""
    return session.scalar(select(exists().where(Provider.name_key == match_key(name))))


def code_taken(session: Session, code: str) -> bool:
    """Whether a programme's code matches `code`, as `name_taken` compares."""
    return session.scalar(select(exists().where(Programme.code_key == match_key(code))))


def add_provider(session: Session, name: str) -> Provider | None:
    """Add a new active provider to the session's transaction (flushed; the caller commits).

    None if the name is taken. When the database's unique key found it (a
    name added meanwhile), the whole transaction has been rolled back, so
    the caller's other work in it (a form submission's record) is undone
    too; when the check before found it, nothing was rolled back (`once`
    rolls back a view that answers without `done`).

    `name` should have passed the form's checks (not empty, at most
    NAME_MAX characters once `typed_name` made it NFC).
    """
    if name_taken(session, name):
        return None
    return _add_unless_taken(session, Provider(name=name, active=True), Provider.__table__.c.name_key)


def add_programme(session: Session, code: str, name: str) -> Programme | None:
    """Add a new active programme as `add_provider` adds a provider; None (rolled back) if the code is taken."""
    if code_taken(session, code):
        return None
    return _add_unless_taken(
        session, Programme(code=code, name=name, active=True), Programme.__table__.c.code_key
    )


def _add_unless_taken(session: Session, item, key: Column):
    # Two staff members (or a double click) can both find a name free: the
    # unique key is the last guard, and its refusal means "taken" as well.
    # The caller commits: a staff form's record and its work are one
    # transaction (app/idempotency.py).
    session.add(item)
    try:
        session.flush()
    except exc.IntegrityError as error:
        session.rollback()
        if violates_unique(error, key):
            return None
        raise
    return item
