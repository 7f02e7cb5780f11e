"""Making, finding and revoking API tokens: the token is shown once, only its SHA-256 is kept.

A token is `secrets.token_urlsafe(32)`: 256 random bits, 43 URL-safe
characters. Being random, its plain SHA-256 (hex, 64 digits) cannot be
guessed back, so no salt or slow hash is needed, and the presented token
is found with one index probe on `api_token.token_hash`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..organisation.models import Provider
from ..text import typed_name
from .models import ApiToken

#: Longest token name, in characters (the column's length).
NAME_MAX = 100
#: Longest text taken as a token at all: a real one is 43 characters; more is not worth hashing.
PRESENTED_MAX = 200


class TokenError(ValueError):
    """A token that cannot be made or revoked as asked; str(error) says why (English: CLI only)."""


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: its record and the token itself, which exists nowhere else after this."""

    record: ApiToken
    token: str


def token_hash(token: str) -> str:
    """The SHA-256 of `token` (its UTF-8 bytes), 64 lowercase hex digits: what `api_token` keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, name: str, today: date, provider_id: int | None = None) -> IssuedToken:
    """Add a token named `name` (made on `today`, a municipal date), limited to `provider_id` when given.

    Raises TokenError for an empty or over-long name or an unknown
    provider. The caller commits and shows `IssuedToken.token` once.
    """
    name = typed_name(name or "")
    if not name:
        raise TokenError("a token needs a name (what it is for)")
    if len(name) > NAME_MAX:
        raise TokenError(f"a token's name has at most {NAME_MAX} characters")
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise TokenError(f"no provider with id {provider_id}")
    token = secrets.token_urlsafe(32)
    record = ApiToken(name=name, token_hash=token_hash(token), provider_id=provider_id, created_on=today,
                      revoked=False)
    session.add(record)
    session.flush()
    return IssuedToken(record, token)


def find_token(session: Session, presented: str) -> ApiToken | None:
    """The live (not revoked) token whose SHA-256 is that of `presented`; None for any other text."""
    if not presented or len(presented) > PRESENTED_MAX:
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(presented)))
    if record is None or record.revoked:
        return None
    return record


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Mark token `token_id` revoked: it is refused from the next request on. The caller commits.

    Revoking a revoked token changes nothing. Raises TokenError for an unknown id.
    """
    record = session.get(ApiToken, token_id)
    if record is None:
        raise TokenError(f"no API token with id {token_id}")
    record.revoked = True
    return record


def all_tokens(session: Session) -> list[ApiToken]:
    """Every token record, live and revoked, in the order they were made (by id)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
