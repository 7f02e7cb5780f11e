"""New single-use links between the form that makes them and the page that shows them.

The POST that creates a batch answers with a redirect (Post/Redirect/Get);
the links page is a GET that can be reloaded. Its tokens are never stored
anywhere: they derive from a secret of the form's submission (a HMAC keyed
with the form key that only the page's HTML and the posting browser held).
The links page finds that secret in the signed session cookie of the
browser that created the batch, where it is kept for `LINKS_SHOWN_MINUTES`
(default 60) and at most for the last `MAX_KEPT` batches; signing out
clears it. A reply lost on the way (a worker killed, the network gone) is
no loss: the browser sends the same form again, the batch is found by its
submission and the secret put back in the cookie (campaigns/views.py).

The database holds the tokens' SHA-256 (as every invitation did) and the
submission's id, never the secret; the app logs no cookie. So nothing
server-side can show a batch's links again - see docs/anonymity.md.
"""

from __future__ import annotations

import base64

from flask import current_app, session

from .. import clock
from .models import InvitationBatch

SESSION_KEY = "new_links"
#: Batches whose links one browser can show again; older ones are forgotten first.
MAX_KEPT = 8
#: The purpose a batch's seed is derived for (idempotency.Submission.secret).
SEED_PURPOSE = "invitation links"
#: Characters of the batch's submission id kept beside its seed: a seed
#: is used only for the batch it was made for.
_CHECK = 16


def remember(batch: InvitationBatch, seed: bytes, now: float | None = None) -> float:
    """Keep `seed` (32 bytes) for `batch` in this browser's session; returns until when (Unix time)."""
    now = clock.now() if now is None else now
    until = now + current_app.config["KUNDROST"].links_shown.total_seconds()
    kept = [entry for entry in _entries(now) if entry["b"] != batch.id]
    kept.append({
        "b": batch.id,
        "c": batch.submission[:_CHECK],
        "s": base64.urlsafe_b64encode(seed).decode(),
        "u": int(until),
    })
    session[SESSION_KEY] = kept[-MAX_KEPT:]
    return until


def seed_for(batch: InvitationBatch, now: float | None = None) -> tuple[bytes, float] | None:
    """The seed this browser keeps for `batch` and until when, or None (none, or expired)."""
    now = clock.now() if now is None else now
    for entry in _entries(now):
        if entry["b"] == batch.id and entry["c"] == batch.submission[:_CHECK]:
            return base64.urlsafe_b64decode(entry["s"]), float(entry["u"])
    return None


def _entries(now: float) -> list[dict]:
    """The well-formed, unexpired entries of the session (a signed cookie, but be strict)."""
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, list):
        return []
    return [
        entry for entry in raw
        if isinstance(entry, dict)
        and type(entry.get("b")) is int and isinstance(entry.get("c"), str)
        and isinstance(entry.get("s"), str) and len(entry["s"]) == 44
        and type(entry.get("u")) is int and entry["u"] > now
    ]
