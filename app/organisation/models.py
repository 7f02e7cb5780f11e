from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from ..db import Base
from ..text import KEY_EXPANSION, match_key, typed_name

#: Longest provider or programme name, in characters (code points) of its NFC form.
NAME_MAX = 200
#: Longest programme code, likewise.
CODE_MAX = 20


class Provider(Base):
    """A company or organisation that delivers programmes (Sw. anordnare)."""

    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name as the municipality writes it (`typed_name`); shown to customers as is.
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: `match_key(name)`, set with the name: two providers are the same when their keys are.
    name_key: Mapped[str] = mapped_column(String(NAME_MAX * KEY_EXPANSION), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @validates("name")
    def _name_and_key(self, _attribute: str, value: str) -> str:
        value = typed_name(value)
        self.name_key = match_key(value)
        return value


class Programme(Base):
    """A programme (Sw. insats) that surveys are scoped to, e.g. SO or JPG."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code used in reports: "SO", "JPG", "AMI 1" (`typed_name`).
    code: Mapped[str] = mapped_column(String(CODE_MAX))
    #: `match_key(code)`, set with the code: "ami 1" is "AMI 1".
    code_key: Mapped[str] = mapped_column(String(CODE_MAX * KEY_EXPANSION), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @validates("code")
    def _code_and_key(self, _attribute: str, value: str) -> str:
        value = typed_name(value)
        self.code_key = match_key(value)
        return value

    @validates("name")
    def _name_as_typed(self, _attribute: str, value: str) -> str:
        return typed_name(value)
