"""Post/Redirect/Get, and a staff form sent twice doing its work once.

Every staff form that creates something carries a hidden `form_key`: 256
random bits issued with the page that shows the form (`OnceForm`). What a
browser sends - the form key, the path it posts to and every field but the
CSRF token - is a *submission*; its id is HMAC-SHA256 keyed with the form
key over the path and the fields, so only the browser that holds the form
can name it, and the database learns nothing from the id (not even a
password field of the form: the key is a secret of 256 bits).

A view decorated with `@once()` runs at most once per submission:

1. On SQLite it first takes the writers' turn (db.writer_turn), so that a
   staff write queues fairly with customers' submits and two identical
   posts run one after the other.
2. If the submission was done before, the view does not run: the answer is
   the same 303 redirect the first one gave (its `Location` is recorded),
   with a note that nothing was done again.
3. Otherwise the submission's row in `form_submission` is inserted first
   (its primary key is the id), then the view runs and finishes with
   `done(location)`, which records where it led and commits both in one
   transaction. Two identical posts at the same moment: the second's insert
   waits for the first's transaction (PostgreSQL's unique index; SQLite's
   writer turn) and then finds it done - one thing is created, both get the
   same answer.
4. A view that answers without `done` (a form with errors, shown again with
   422) has its transaction rolled back: nothing is recorded, and the form,
   corrected and sent again with the same key, is a new submission.

A form sent again after a change ("back", edit, send) is a different
submission and does its work; sent again unchanged (reload, double click,
back and resend, a retry after a lost reply) it is the same. Forms that set
a state rather than create something (sign in, sign out, make a provider
inactive) are idempotent by what they send and need no key
(tests/test_post_redirect_get.py walks every POST route either way).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Response, current_app, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import String, exc
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField

from . import crashpoints
from .db import Base, db_session, writer_turn

#: Name of the hidden field that carries a form's key.
FORM_KEY_FIELD = "form_key"
#: What `new_form_key` makes: 32 random bytes as URL-safe base64 without padding.
FORM_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
#: Flask-WTF's CSRF field (also "<prefix>-csrf_token"): no part of what a form asks for.
_CSRF_FIELD = "csrf_token"
_PENDING = "kundrost.idempotency.pending"


def new_form_key() -> str:
    """A fresh form key: 256 random bits as 43 URL-safe characters."""
    return secrets.token_urlsafe(32)


class OnceForm(FlaskForm):
    """A staff form whose view is decorated with `@once()`: it carries a fresh form key.

    Templates render `form.form_key` beside `form.csrf_token`. A form shown
    again with errors keeps the key it was posted with.
    """

    form_key = HiddenField(default=new_form_key)


class FormSubmission(Base):
    """A staff form's submission that was done, and where its answer led.

    `id` is the submission's HMAC (see the module docstring), never the key.
    Holds no user, no time and no field value.
    """

    __tablename__ = "form_submission"

    #: HMAC-SHA256 (hex) keyed with the form key, over the path and the fields.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The path the 303 answer sent the browser to ("" only inside the transaction that does it).
    location: Mapped[str] = mapped_column(String(500))


@dataclass(frozen=True)
class Submission:
    """What one POST of a keyed form asks for: its key and a digest of its content.

    `key` is the form key as sent (text); `content` the SHA-256 of the path
    and every field but the key and the CSRF token, in a canonical order.
    """

    key: str
    content: bytes

    @property
    def id(self) -> str:
        """The submission's id in `form_submission` (64 hex digits)."""
        return self.secret("submission").hex()

    def secret(self, purpose: str) -> bytes:
        """32 bytes only the holder of the form key can compute, one value per `purpose`.

        HMAC-SHA256(form key, purpose NUL content digest): a pseudo-random
        function of the submission (RFC 2104), independent across purposes.
        """
        message = purpose.encode() + b"\0" + self.content
        return hmac.new(self.key.encode(), message, hashlib.sha256).digest()


def current_submission() -> Submission | None:
    """The submission of this POST, or None if it carries no (or more than one) well-formed form key.

    A form with a prefix (two forms on one page) names its key "<prefix>-form_key".
    """
    keys = [value for name, value in request.form.items(multi=True) if _is_key(name)]
    if len(keys) != 1 or not FORM_KEY_PATTERN.fullmatch(keys[0]):
        return None
    fields = sorted(
        (name, value) for name, value in request.form.items(multi=True)
        if not _is_key(name) and not name.endswith(_CSRF_FIELD)
    )
    canonical = json.dumps([request.path, fields], ensure_ascii=False, separators=(",", ":"))
    return Submission(keys[0], hashlib.sha256(canonical.encode()).digest())


def _is_key(name: str) -> bool:
    return name == FORM_KEY_FIELD or name.endswith("-" + FORM_KEY_FIELD)


class _SentMeanwhile(Exception):
    """The same submission was committed by another request while this one ran."""


ReplayHook = Callable[[Submission], None]


def once(on_replay: ReplayHook | None = None):
    """Decorate a staff view so that each submission of its form does its work once.

    GET requests (the page showing the form) pass straight through.
    The view must end a successful submission with `return done(location)`;
    any other answer rolls back. `on_replay(submission)` runs when the
    submission was done before, just before the recorded redirect is
    answered (the links page uses it to show its links in this browser
    again). A POST without a form key gets the "form had expired" page (400):
    it comes from a page shown before keys existed, or was not sent by a form.
    """

    def decorator(view):
        """Wrap `view` so that each submission of its form does its work once (see `once`)."""
        @wraps(view)
        def wrapped(*args, **kwargs):
            """GET: the view. POST: the recorded answer for a form sent before, else the view's work in one transaction."""
            if request.method != "POST":
                return view(*args, **kwargs)  # the page that shows the form
            submission = current_submission()
            if submission is None:
                return _expired_form()
            with writer_turn(db_session.connection()):
                try:
                    earlier = db_session.get(FormSubmission, submission.id)
                    if earlier is not None:
                        db_session.rollback()
                        return _replay(earlier, submission, on_replay)
                    pending = FormSubmission(id=submission.id, location="")
                    db_session.add(pending)
                    db_session.flush()  # a twin in flight waits here for our commit
                    setattr(g, _PENDING, pending)
                    response = view(*args, **kwargs)
                    if getattr(g, _PENDING, None) is not None:
                        db_session.rollback()  # answered without `done`: nothing happened
                    return response
                except (_SentMeanwhile, exc.IntegrityError) as error:
                    db_session.rollback()
                    earlier = db_session.get(FormSubmission, submission.id)
                    if earlier is None:
                        # Another constraint refused the view's own rows: not ours to answer.
                        raise (error.__cause__ if isinstance(error, _SentMeanwhile) else error) from None
                    return _replay(earlier, submission, on_replay)
                except BaseException:
                    db_session.rollback()  # a 404 or a failure: nothing is recorded
                    raise
                finally:
                    g.pop(_PENDING, None)

        return wrapped

    return decorator


def done(location: str, notice: str | None = None) -> Response:
    """Record where the current submission led, commit everything, and answer 303 to it.

    `location` is a path on this site; `notice` an optional message shown on
    the page it leads to. Raises (to `once`) when an identical submission
    committed first; that one's answer is given instead.
    """
    pending = getattr(g, _PENDING, None)
    if pending is None:
        raise RuntimeError("done() outside a view decorated with @once()")
    pending.location = location
    try:
        db_session.commit()
    except exc.IntegrityError as error:
        raise _SentMeanwhile() from error
    setattr(g, _PENDING, None)
    # Tests kill the worker here: done, and the answer lost on the way.
    crashpoints.reached("form.done", current_app.config["KUNDROST"].crash_at)
    if notice:
        flash(notice, "success")
    return redirect(location, code=303)


def _replay(earlier: FormSubmission, submission: Submission, on_replay: ReplayHook | None) -> Response:
    if on_replay is not None:
        on_replay(submission)
    flash(_("This form had already been sent, so nothing was done again."), "success")
    return redirect(earlier.location, code=303)


def _expired_form():
    heading = _("The form had expired")
    text = _("For your security, forms expire. Nothing was saved: go back, reload the page and try again.")
    return render_template("error.html", heading=heading, text=text), 400
