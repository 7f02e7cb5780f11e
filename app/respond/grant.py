"""The grant: what a customer's browser holds after opening a link.

A link's token is exchanged at once for a grant kept in the signed session
cookie, so the token leaves the address bar. The grant names the scope to
answer for and expires after `respondent_grant_ttl`; answers typed before it
expired are kept beside it as a draft (on the customer's phone only) and
are filled in again when the same link is opened again.

Once the answers are sent, the cookie keeps a "done" record instead: the
language answered in, and for single-use links a receipt - a keyed hash of
the link's token - so that this browser, and only this one, is told that
its answers were received when it opens the used link again. The receipt
never leaves the customer's cookie: the server keeps nothing that links a
browser to an answer (docs/anonymity.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import asdict, dataclass
from datetime import timedelta

from flask import current_app, session

from .. import clock
from ..i18n import LANGUAGES, forget_explicit_choice
from ..mixing.intake import new_form_nonce
from .models import CHANNELS

GRANT_KEY = "grant"
DRAFT_KEY = "draft"
#: Set after a submit: {"lang": code, "at": unix time, "receipts": [[receipt, code], ...]}.
DONE_KEY = "done"
#: Receipts kept per browser: a shared phone on which several customers
#: answered still tells each of them (newest first; older ones drop off).
MAX_RECEIPTS = 8
INVITATION = "i"
OPEN_LINK = "o"


@dataclass(frozen=True)
class Grant:
    """What a customer's cookie holds after opening a link: the scope to answer for, and when it was opened.

    Made by `issue`, read back by `current`; see the module docstring.
    """

    #: "i" for a single-use invitation, "o" for an open (QR/poster) link.
    kind: str
    #: Id of the invitation or open link.
    link_id: int
    campaign_id: int
    provider_id: int
    programme_id: int
    language: str
    channel: str
    #: Unix time the link was opened; kept only in the customer's cookie.
    issued_at: int
    #: Open links only: a random value naming this survey form, so that
    #: sending it twice stores it once (mixing/intake.py keeps its hash
    #: until the campaign is finalised). None for single-use links, whose
    #: claim does that.
    form_nonce: str | None = None
    #: Single-use links only: `receipt_for(token)`, kept as the done record's
    #: receipt once the answers are sent. None for open links, which any
    #: number of people answer.
    receipt: str | None = None

    @property
    def identity(self) -> str:
        """Stable across re-openings of the same link: drafts are bound to it."""
        return f"{self.kind}{self.link_id}"

    def expired(self, ttl: timedelta, now: float | None = None) -> bool:
        """Whether more than `ttl` has passed since issue at Unix time `now` (default: the app's clock)."""
        return (now if now is not None else clock.now()) - self.issued_at > ttl.total_seconds()


def receipt_for(token: str) -> str:
    """A keyed hash of a single-use link's token: 22 URL-safe characters.

    HMAC-SHA256 under the app's SECRET_KEY, cut to 128 bits: without the key
    nobody can tell from a phone's cookie which link it answered, and it is
    not the token_hash the database keeps, so the two cannot be matched.
    """
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"kundrost.receipt\0" + token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


def issue(link, kind: str, receipt: str | None = None) -> Grant:
    """Put a grant for `link` (an Invitation or OpenLink) in the session and return it.

    `receipt` is `receipt_for(token)` for a single-use link, None for an open one.
    """
    grant = Grant(
        kind=kind,
        link_id=link.id,
        campaign_id=link.campaign_id,
        provider_id=link.provider_id,
        programme_id=link.programme_id,
        language=link.language,
        channel=link.channel,
        issued_at=int(clock.now()),
        form_nonce=new_form_nonce() if kind == OPEN_LINK else None,
        receipt=receipt if kind == INVITATION else None,
    )
    previous = _identity_in_session()
    if previous is not None and previous != grant.identity:
        # A shared phone: the last link opened on it was someone else's. Their
        # unsent answers must never be shown, and their language choice is not
        # this customer's: the new link's language applies.
        session.pop(DRAFT_KEY, None)
        forget_explicit_choice()
    session[GRANT_KEY] = asdict(grant)
    return grant


def _identity_in_session() -> str | None:
    """The link the session last answered for: its grant, or its kept draft."""
    grant = current()
    if grant is not None:
        return grant.identity
    draft = session.get(DRAFT_KEY)
    return draft.get("for") if isinstance(draft, dict) else None


#: Ids are database integers: positive and within 32 bits.
_MAX_ID = 2**31 - 1


#: What `new_form_nonce` makes: URL-safe base64 text.
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: What `receipt_for` makes.
_RECEIPT = re.compile(r"[A-Za-z0-9_-]{22}")


def _well_formed(grant: Grant) -> bool:
    """A grant as `issue` makes them. The cookie is signed, but a leaked
    SECRET_KEY must not turn odd values into server errors."""
    ids = (grant.link_id, grant.campaign_id, grant.provider_id, grant.programme_id)
    return (
        grant.kind in (INVITATION, OPEN_LINK)
        and all(type(i) is int and 0 < i <= _MAX_ID for i in ids)
        and type(grant.issued_at) is int
        and grant.language in LANGUAGES and grant.channel in CHANNELS
        and (grant.form_nonce is None or (isinstance(grant.form_nonce, str) and bool(_NONCE.fullmatch(grant.form_nonce))))
        and (grant.receipt is None or _is_receipt(grant.receipt))
    )


def _is_receipt(value) -> bool:
    return isinstance(value, str) and bool(_RECEIPT.fullmatch(value))


def current() -> Grant | None:
    """The session's grant, or None (also for a malformed one, which is dropped)."""
    raw = session.get(GRANT_KEY)
    if not raw:
        return None
    try:
        grant = Grant(**raw)
    except TypeError:
        grant = None
    if grant is None or not _well_formed(grant):
        session.pop(GRANT_KEY, None)
        return None
    return grant


def keep_draft(grant: Grant | None, answers: dict[str, str]) -> None:
    """Keep `answers` (question key -> value as posted) in the cookie as `grant`'s link's draft, replacing any other.

    With `grant` None the draft is bound to no link, and `draft_for` never returns it.
    """
    session[DRAFT_KEY] = {"for": grant.identity if grant else None, "answers": answers}


def draft_for(grant: Grant) -> dict[str, str] | None:
    """The answers kept on this phone for this link, or None (also for a malformed draft)."""
    draft = session.get(DRAFT_KEY)
    if not isinstance(draft, dict) or draft.get("for") != grant.identity:
        return None
    answers = draft.get("answers")
    if not isinstance(answers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in answers.items()):
        return None
    return dict(answers)


def finish() -> None:
    """The answers are sent, or cannot be: nothing of this link stays in the session."""
    session.pop(GRANT_KEY, None)
    session.pop(DRAFT_KEY, None)
    # The thank-you page keeps the language through the done record.
    forget_explicit_choice()


def record_done(grant: Grant, language: str) -> None:
    """Note in the session that `grant`'s answers were stored (now or before).

    `language` is the code of the language the customer answered in. The
    record keeps it, the time (for `recently_done`) and, for a single-use
    link, the grant's receipt - all in the customer's own cookie only.
    """
    earlier = done()
    receipts = [pair for pair in (earlier or {}).get("receipts", []) if pair[0] != grant.receipt]
    if grant.receipt is not None:
        receipts.insert(0, [grant.receipt, language])
    session[DONE_KEY] = {"lang": language, "at": int(clock.now()), "receipts": receipts[:MAX_RECEIPTS]}


def done() -> dict | None:
    """The done record a submit left in this browser's cookie, if well formed.

    Returns {"lang": code, "at": unix time, "receipts": [[receipt, code], ...]}
    (receipts left out when malformed), or None.
    """
    record = session.get(DONE_KEY)
    if not (isinstance(record, dict) and record.get("lang") in LANGUAGES and type(record.get("at")) is int):
        return None
    receipts = record.get("receipts")
    well_formed = [
        list(pair) for pair in (receipts if isinstance(receipts, list) else [])
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and _is_receipt(pair[0]) and pair[1] in LANGUAGES
    ]
    return {"lang": record["lang"], "at": record["at"], "receipts": well_formed}


def recently_done(ttl: timedelta) -> dict | None:
    """The done record, if its answers were sent less than `ttl` ago."""
    record = done()
    if record is not None and clock.now() - record["at"] < ttl.total_seconds():
        return record
    return None


def answered_here(token: str) -> str | None:
    """The language this browser answered `token`'s single-use link in, or None.

    Only a browser whose done record holds the token's receipt gets an
    answer; every other browser gets None without a hash being computed.
    """
    record = done()
    if not record or not record["receipts"]:
        return None
    receipt = receipt_for(token)
    for kept, language in record["receipts"]:
        if hmac.compare_digest(kept, receipt):
            return language
    return None
