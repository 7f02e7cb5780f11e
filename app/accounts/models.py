from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, Enum, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, validates

from ..db import Base
from ..text import KEY_EXPANSION, match_key, typed_name

#: Longest username, in characters (code points) of its NFC form.
USERNAME_MAX = 80


class Role(str, enum.Enum):
    """A staff account's role, stored as its value; what each may do is `policy.ROLE_PERMISSIONS`."""

    #: Everything, accounts included.
    ADMIN = "admin"
    #: A quality developer: creates campaigns, reads all results.
    ANALYST = "analyst"
    #: Types in paper forms.
    ENTRY = "entry"
    #: Sees one provider's results only.
    PROVIDER = "provider"


class User(UserMixin, Base):
    """A staff account (table `staff_user`); an inactive one cannot sign in.

    A provider-role account names its one provider and no other role has
    one (a database check).
    """

    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint(
            "(role = 'provider') = (provider_id IS NOT NULL)", name="provider_role_has_provider"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: As typed when the account was made (`typed_name`); shown in lists.
    username: Mapped[str] = mapped_column(String(USERNAME_MAX))
    #: `match_key(username)`, set with it: signing in as "KARIN" or "karin" is the same.
    username_key: Mapped[str] = mapped_column(String(USERNAME_MAX * KEY_EXPANSION), unique=True)
    #: argon2id hash, see accounts.passwords.
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, values_callable=lambda roles: [r.value for r in roles], native_enum=False,
             length=20, create_constraint=True, name="role")
    )
    #: Set for the provider role only: the one provider whose results this user sees.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @validates("username")
    def _username_and_key(self, _attribute: str, value: str) -> str:
        value = typed_name(value)
        self.username_key = match_key(value)
        return value

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: it names the password too.

        Changing the password changes it, so every other session of the
        account (a forgotten laptop, a stolen cookie) is signed out.
        """
        return f"{self.id}.{self.password_fingerprint}"

    @property
    def password_fingerprint(self) -> str:
        """16 hex digits of the SHA-256 of the password hash: a new password, a new value (see `get_id`)."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]
