"""The grant: what a customer's browser holds after opening a link.

A link's token is exchanged at once for a grant kept in the signed session
cookie, so the token leaves the address bar. The grant names the scope to
answer for and expires after `respondent_grant_ttl`; answers typed before it
expired are kept beside it as a draft (on the customer's phone only) and
are filled in again when the same link is opened again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import timedelta

from flask import session

from .. import clock
from ..i18n import LANGUAGES, forget_explicit_choice
from ..mixing.intake import new_form_nonce
from .models import CHANNELS

GRANT_KEY = "grant"
DRAFT_KEY = "draft"
INVITATION = "i"
OPEN_LINK = "o"


@dataclass(frozen=True)
class Grant:
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

    @property
    def identity(self) -> str:
        """Stable across re-openings of the same link: drafts are bound to it."""
        return f"{self.kind}{self.link_id}"

    def expired(self, ttl: timedelta, now: float | None = None) -> bool:
        """Whether more than `ttl` has passed since issue at Unix time `now` (default: the app's clock)."""
        return (now if now is not None else clock.now()) - self.issued_at > ttl.total_seconds()


def issue(link, kind: str) -> Grant:
    """Put a grant for `link` (an Invitation or OpenLink) in the session and return it."""
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
    )


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
    """The answers are sent: nothing of this link stays in the session."""
    session.pop(GRANT_KEY, None)
    session.pop(DRAFT_KEY, None)
    # The thank-you page keeps the language through the "done" marker.
    forget_explicit_choice()
