"""The one write path for answers, whatever the channel (web, QR, SMS, paper).

`store_answers` seals a customer's `AnswerSheet` to the newest published
answer key and, in one transaction:

1. takes the campaign's submit lock in shared mode (finalisation takes it
   exclusively, so a submit in flight lands before finalisation or is
   refused, never half-way);
2. checks the campaign still accepts answers (not past its last day - or,
   for late entry such as paper forms, not finalised), and that the answers
   were sealed to the newest published key (if not, it writes nothing and
   the answers are sealed again to the newest: so the mixer may retire an
   old key as soon as it has published a new one);
3. checks the invitation or open link exists with exactly the scope the
   answers carry (campaign, provider, programme, channel, link language),
   then claims the invitation (`responded` false -> true) or records the
   open-link form's nonce - whichever makes this submission single; if
   that was done before, nothing is written ("already answered");
4. inserts the sealed answer into `waiting_answer`.

No response is written here: the mixing step (mixer.py) does that later,
for a whole cell at once. So this transaction, its statements and the
server's log of them hold an invitation (or nonce) beside a ciphertext
that only a key erased later opens - never beside a response or a readable
answer - and a submit's cost does not depend on how many answers its cell
already has.

PostgreSQL runs the four steps as one call of the database function
`store_waiting_answer` (migration 0004) in autocommit: one round trip
instead of five. SQLite runs in this process, where separate statements
cost no trip, and takes a writer turn (db.writer_turn) first. The steps and
their order are the same; the two are tested against each other by running
the whole suite on both databases.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, exc, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .. import crashpoints
from ..campaigns.models import Campaign, Invitation, OpenLink
from ..db import writer_turn
from ..surveys.definition import SurveyDefinition
from .keys import PublishedKeys
from .models import AnswerKey, FormNonce, WaitingAnswer
from .sealing import AnswerSheet, padded_size, seal

#: A submit seals again at most this often when its key was superseded meanwhile.
KEY_ATTEMPTS = 3
#: The first key of PostgreSQL's two-key advisory locks taken on campaigns:
#: (SUBMIT_LOCK_CLASS, campaign id). Submits share it, finalisation holds it alone.
SUBMIT_LOCK_CLASS = 7301


class Outcome(enum.Enum):
    """What became of a submission; only STORED wrote anything."""

    STORED = "stored"
    #: The invitation was claimed, or this form's nonce was used, before.
    ALREADY_ANSWERED = "already_answered"
    #: Past the last answering day (or finalised), or no such campaign.
    CLOSED = "closed"
    #: No usable answer key: none published yet (the mixer never ran), or
    #: keys changed faster than the answers could be sealed. Nothing stored.
    NO_KEY = "no_key"
    #: Sealed to a key that is no longer the newest (internal: sealed again and retried).
    STALE_KEY = "stale_key"
    #: No invitation or open link with this scope: a forged or outdated grant.
    INVALID = "invalid"


@dataclass(frozen=True)
class Submission:
    """One customer's answers and what makes them single.

    Exactly one of `invitation_id` (a single-use link, claimed) and
    `form_nonce` (an open link's form, a random value from the customer's
    cookie; only its SHA-256 is stored) is set. `late_entry` lets answers
    in after the last answering day until the campaign is finalised (paper
    forms are typed in after the period); a customer's own submit never has it.
    """

    campaign_id: int
    sheet: AnswerSheet
    #: The link's language (the sheet has the language answered in).
    link_language: str
    invitation_id: int | None = None
    form_nonce: str | None = None
    #: The open link the form came from, checked against the sheet's scope.
    open_link_id: int | None = None
    late_entry: bool = False

    def __post_init__(self) -> None:
        if (self.invitation_id is None) == (self.form_nonce is None):
            raise ValueError("a submission needs exactly one of invitation_id and form_nonce")


def nonce_hash(form_nonce: str) -> str:
    """SHA-256 (hex) of an open-link form's nonce: what `form_nonce` keeps."""
    return hashlib.sha256(form_nonce.encode("utf-8")).hexdigest()


def new_form_nonce() -> str:
    """A fresh 128-bit nonce for an open-link survey form (URL-safe text)."""
    return secrets.token_urlsafe(16)


def store_answers(
    connection: Connection,
    submission: Submission,
    definition: SurveyDefinition,
    *,
    today: date,
    keys: PublishedKeys,
    crash_at: str = "",
) -> Outcome:
    """Seal and store one customer's answers (see the module docstring).

    `today` is the municipality's date; `definition` the campaign's survey,
    which fixes the padded size. Returns the outcome; raises only on
    database failures. The connection is left with nothing pending.
    """
    size = padded_size(definition)
    if connection.dialect.name == "postgresql" and connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        # Each statement its own transaction, the key's read included; the
        # pool resets the isolation level when the connection is returned.
        connection.execution_options(isolation_level="AUTOCOMMIT")
    for attempt in range(1, KEY_ATTEMPTS + 1):
        key = keys.current(connection)
        if key is None:
            return Outcome.NO_KEY
        row = {
            "key_id": key.id,
            "sealed": seal(submission.sheet, key.public_key, submission.campaign_id, size),
        }
        crashpoints.reached("submit.sealed", crash_at)
        try:
            if connection.dialect.name == "postgresql":
                outcome = _store_on_postgresql(connection, submission, row, today)
            else:
                outcome = _store_on_sqlite(connection, submission, row, today, crash_at)
        except exc.IntegrityError as error:
            # The key was retired between our read and the insert (the
            # foreign key refused it): read the newest and seal again.
            if attempt == KEY_ATTEMPTS or not _names_key_constraint(error):
                raise
            keys.forget()
            continue
        if outcome is Outcome.STALE_KEY:
            keys.forget()
            if attempt < KEY_ATTEMPTS:
                continue
            return Outcome.NO_KEY  # keys changing faster than we can seal: nothing stored, try later
        crashpoints.reached("submit.stored", crash_at)
        return outcome
    raise AssertionError("unreachable")


#: PostgreSQL's SQLSTATE for a foreign key violation (the only foreign key a
#: submit's insert can break is the answer key's); SQLite says it in words.
FOREIGN_KEY_VIOLATION = "23503"


def _names_key_constraint(error: exc.IntegrityError) -> bool:
    return (getattr(error.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION
            or str(error.orig) == "FOREIGN KEY constraint failed")


_campaign = Campaign.__table__.c
# The campaign's state and the newest key's id in one statement: each is a
# step of the submit, and SQLite runs them inside the writer's turn.
_CAMPAIGN_STATE = select(
    _campaign.ends_on, _campaign.finalised_on, select(func.max(AnswerKey.id)).scalar_subquery().label("newest_key_id")
).where(_campaign.id == bindparam("campaign_id"))
_CLAIM = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("claimed_id"), Invitation.__table__.c.responded.is_(False))
    .values(responded=True)
)
_RECORD_NONCE = sqlite_insert(FormNonce.__table__).on_conflict_do_nothing()
_INSERT_WAITING = insert(WaitingAnswer.__table__)
_STORE_ON_POSTGRESQL = text(
    "SELECT store_waiting_answer(:campaign_id, :today, :late_entry, :provider_id, :programme_id, :channel,"
    " :link_language, :claimed_id, :open_link_id, :nonce_hash, :key_id, :sealed)"
)
_invitation, _open_link = Invitation.__table__.c, OpenLink.__table__.c
_INVITATION_IN_SCOPE = select(_invitation.id).where(
    _invitation.id == bindparam("link_id"), _invitation.campaign_id == bindparam("campaign_id"),
    _invitation.provider_id == bindparam("provider_id"), _invitation.programme_id == bindparam("programme_id"),
    _invitation.channel == bindparam("channel"), _invitation.language == bindparam("link_language"),
)
_OPEN_LINK_IN_SCOPE = select(_open_link.id).where(
    _open_link.id == bindparam("link_id"), _open_link.campaign_id == bindparam("campaign_id"),
    _open_link.provider_id == bindparam("provider_id"), _open_link.programme_id == bindparam("programme_id"),
    _open_link.channel == bindparam("channel"), _open_link.language == bindparam("link_language"),
)


def _scope(submission: Submission) -> dict:
    sheet = submission.sheet
    return {"campaign_id": submission.campaign_id, "provider_id": sheet.provider_id,
            "programme_id": sheet.programme_id, "channel": sheet.channel, "link_language": submission.link_language}


def accepts_answers(ends_on: date, finalised_on: date | None, today: date, late_entry: bool) -> bool:
    """Whether a campaign takes a submission today (the rule both databases apply)."""
    if finalised_on is not None:
        return False
    return late_entry or today <= ends_on


def _store_on_postgresql(connection: Connection, submission: Submission, row: dict, today: date) -> Outcome:
    outcome = connection.scalar(_STORE_ON_POSTGRESQL, {
        **_scope(submission),
        "today": today,
        "late_entry": submission.late_entry,
        "claimed_id": submission.invitation_id,
        "open_link_id": submission.open_link_id,
        "nonce_hash": nonce_hash(submission.form_nonce) if submission.form_nonce else None,
        **row,
    })
    return Outcome(outcome)


def _store_on_sqlite(
    connection: Connection, submission: Submission, row: dict, today: date, crash_at: str
) -> Outcome:
    with writer_turn(connection):
        try:
            state = connection.execute(_CAMPAIGN_STATE, {"campaign_id": submission.campaign_id}).first()
            if state is None or not accepts_answers(state.ends_on, state.finalised_on, today, submission.late_entry):
                connection.rollback()
                return Outcome.CLOSED
            if row["key_id"] != state.newest_key_id:
                connection.rollback()
                return Outcome.STALE_KEY
            for link_id, in_scope in ((submission.invitation_id, _INVITATION_IN_SCOPE),
                                      (submission.open_link_id, _OPEN_LINK_IN_SCOPE)):
                if link_id is not None and connection.scalar(in_scope, {**_scope(submission), "link_id": link_id}) is None:
                    connection.rollback()
                    return Outcome.INVALID
            if submission.invitation_id is not None:
                if connection.execute(_CLAIM, {"claimed_id": submission.invitation_id}).rowcount != 1:
                    connection.rollback()
                    return Outcome.ALREADY_ANSWERED
            elif connection.execute(_RECORD_NONCE, {
                "hash": nonce_hash(submission.form_nonce), "campaign_id": submission.campaign_id,
            }).rowcount != 1:
                connection.rollback()
                return Outcome.ALREADY_ANSWERED
            crashpoints.reached("submit.claimed", crash_at)
            connection.execute(_INSERT_WAITING, {
                "campaign_id": submission.campaign_id, "key_id": row["key_id"], "sealed": row["sealed"],
            })
            connection.commit()
            return Outcome.STORED
        except BaseException:
            connection.rollback()
            raise

