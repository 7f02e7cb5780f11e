"""Tables of the mixing step: answer keys, answers waiting to be mixed, form
nonces of open links, and the counts a finalised campaign keeps.

None of them holds an answer readable without a private key, and none is
joined to a response: see docs/anonymity.md.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

#: Length of an X25519 public key in bytes.
PUBLIC_KEY_BYTES = 32


class MixerInstallation(Base):
    """One row: this database's mixer - its key folder, where it lives, who mixes now.

    Keys live in `<MIXER_KEY_DIR>/<installation id>/`. A copy of the database
    (a staging copy, a restore elsewhere) carries the row along, but not its
    `location`: the mixer then refuses to start until told whether the
    database was moved or copied (`flask mixer adopt`), so a copy never uses
    - or erases - the original's keys.
    """

    __tablename__ = "mixer_installation"

    #: Random 128-bit value (hex), made by the mixer's first start.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Where the database lives: SQLite's real file path, or PostgreSQL's
    #: cluster system identifier and database name (mixer.database_location).
    location: Mapped[str] = mapped_column(String(1000))
    #: The running mixer's random token. Every transaction of a mixer checks
    #: it still holds it, so one that lost its lock writes nothing more.
    holder: Mapped[str | None] = mapped_column(String(32))
    #: Key changes so far (publications and retirements), also written in the
    #: key folder: a database behind its folder is an older copy or restore.
    generation: Mapped[int] = mapped_column(Integer, default=0)


class AnswerKey(Base):
    """A published X25519 public key that answers are sealed to.

    Its private key is a file on the mixing host only (app/mixing/keys.py).
    A row is deleted once no waiting answer uses it; the foreign key from
    `waiting_answer` refuses that while one still does, so a private key is
    never erased while a row needs it.
    """

    __tablename__ = "answer_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Raw 32-byte X25519 public key.
    public_key: Mapped[bytes] = mapped_column(LargeBinary(PUBLIC_KEY_BYTES), unique=True)
    #: When the key was published: rotation is due `KEY_ROTATION_HOURS` later.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WaitingAnswer(Base):
    """One customer's answers, sealed to an answer key, waiting to be mixed.

    Only the campaign is in clear (finalisation needs it; the claim names it
    anyway). Everything else - provider, programme, language, month, status,
    every answer - is inside `sealed`, padded to one size per survey
    version, so a row's size says nothing about what was answered.
    """

    __tablename__ = "waiting_answer"
    __table_args__ = (
        Index("ix_waiting_answer_campaign_id", "campaign_id"),
        Index("ix_waiting_answer_key_id", "key_id"),
    )

    #: A row number (SQLite's rowid): its order is the order rows were
    #: written, which the database's log shows anyway; rows re-sealed by a
    #: mixing get new numbers in random order. An integer key keeps a
    #: 3.6 KB row in one SQLite page (a WITHOUT ROWID table would spill it
    #: into overflow pages past ~1 KB).
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    key_id: Mapped[int] = mapped_column(ForeignKey("answer_key.id", ondelete="RESTRICT"))
    #: HPKE (RFC 9180) ciphertext: X25519, HKDF-SHA256, ChaCha20-Poly1305.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class FormNonce(Base):
    """An open-link survey form that was sent: a second send of it stores nothing.

    Holds the SHA-256 of a random value that lives in the customer's
    cookie only; never beside the answer. Deleted at finalisation.
    """

    __tablename__ = "form_nonce"
    __table_args__ = (
        Index("ix_form_nonce_campaign_id", "campaign_id"),
        {"sqlite_with_rowid": False},
    )

    #: SHA-256 (hex) of the form's nonce.
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))


LINK = "link"
ANSWERED = "answered"


class CellCount(Base):
    """What a finalised campaign keeps of its per-person rows: counts per cell and month.

    Two kinds of row. `link`: per provider x programme x channel x link
    language x month the invitations were issued - `issued` and `answered`
    (claimed) invitations; the denominator and numerator of the response
    rate. `answered`: per stored cell of the responses (provider, programme,
    channel, answered language, month; NULL where merged for anonymity) -
    `answered`, `complete` and `partial` responses; the one row with every
    scope column NULL also carries `withheld`: answers that could not be
    stored anonymously (the whole campaign had fewer than k waiting at
    finalisation), which count in no figure. Complete and partial are
    never counted per link language: a response does not store its link's
    language, and counting its status by it would narrow its anonymity set.
    """

    __tablename__ = "cell_count"
    __table_args__ = (
        CheckConstraint("language_role IN ('link', 'answered')", name="language_role"),
        Index("ix_cell_count_campaign_id", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    #: "link" (the invitation's language) or "answered" (the response's).
    language_role: Mapped[str] = mapped_column(String(10))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programme.id"))
    channel: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str | None] = mapped_column(String(8))
    #: First day of the month: of issue for `link` rows, of answer for `answered` rows.
    month: Mapped[date | None] = mapped_column(Date)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    complete: Mapped[int] = mapped_column(Integer, default=0)
    partial: Mapped[int] = mapped_column(Integer, default=0)
    withheld: Mapped[int] = mapped_column(Integer, default=0)
