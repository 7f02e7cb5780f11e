"""Writes and reads of staff accounts."""

from __future__ import annotations

from sqlalchemy import exc, select
from sqlalchemy.orm import Session

from ..db import violates_unique
from ..organisation.models import Provider
from ..text import match_key, typed_name
from .models import Role, User
from .passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password


class AccountError(ValueError):
    """A request about an account that cannot be met; the message says why (in English, for the CLI)."""


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role,
    provider: Provider | None = None,
) -> User:
    """Add an account to `session` (not committed) and return it.

    `username` is stored as `typed_name` makes it; it must differ from
    every other account's by more than case, normalisation or spaces
    (`match_key`). Raises AccountError for an empty or taken username, a
    short password, or a provider given to the wrong role - also when
    another account with the same key was made since the check (the
    session is then rolled back).
    """
    username = typed_name(username)
    if not username:
        raise AccountError("username is empty")
    if len(password) < MIN_LENGTH:
        raise AccountError(f"password must have at least {MIN_LENGTH} characters")
    if (role is Role.PROVIDER) != (provider is not None):
        raise AccountError("a provider account needs exactly one provider; other roles none")
    if find_user(session, username) is not None:
        raise AccountError(f"user {username!r} exists already")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        provider_id=provider.id if provider else None,
        active=True,
    )
    session.add(user)
    try:
        session.flush()
    except exc.IntegrityError as error:
        # Someone made the same account since find_user looked.
        session.rollback()
        if violates_unique(error, User.__table__.c.username_key):
            raise AccountError(f"user {username!r} exists already") from error
        raise
    return user


def find_user(session: Session, username: str) -> User | None:
    """The account whose username matches `username` as typed (`match_key`), or None."""
    return session.scalar(select(User).where(User.username_key == match_key(username)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active account whose username matches `username` (`match_key`) and whose password is `password`, else None.

    Costs one argon2 check whether or not the account exists (equal
    timing). On success, a hash made with older argon2 parameters is
    replaced and committed.
    """
    user = find_user(session, username)
    # verify_password runs the full hash also for unknown users: equal timing.
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> bool:
    """Set a new password if `current` is right; False (and nothing changed) if not.

    Nothing is committed: the caller commits with whatever else belongs to
    the same request (the staff page records its form's submission with it).
    """
    if not verify_password(user.password_hash, current):
        return False
    set_password(user, new)
    return True


def set_password(user: User, new: str) -> None:
    """A new password; it also signs the account out everywhere (see User.get_id)."""
    if len(new) < MIN_LENGTH:
        raise AccountError(f"password must have at least {MIN_LENGTH} characters")
    user.password_hash = hash_password(new)
