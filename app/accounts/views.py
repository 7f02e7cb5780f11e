from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from ..db import db_session
from ..idempotency import done, once
from ..limits import failed_sign_in, limit, sign_in_account_client_key, sign_in_account_key
from .forms import LoginForm, PasswordChangeForm
from .models import User
from .policy import Permission, can
from .services import authenticate, change_password

bp = Blueprint("accounts", __name__, url_prefix="/staff", template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, fingerprint = session_id.partition(".")
    user = db_session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or fingerprint != user.password_fingerprint:
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    return redirect(url_for("accounts.login", next=request.path))


#: Failed sign-ins allowed (only wrong username/password answers count; a
#: success costs nothing). Why these numbers: docs/operations.md, "Sign-in limits".
#: Per client address, whatever the account (password spraying):
SIGN_IN_PER_CLIENT = "10 per minute"
#: Per account and client address: one address can add at most this much to
#: the per-account count, so no single address can lock an account.
SIGN_IN_PER_ACCOUNT_AND_CLIENT = "10 per hour"
#: Per account from all addresses together: the most guesses a distributed
#: attack gets (1,200 a day); tripping it takes at least five addresses.
SIGN_IN_PER_ACCOUNT = "50 per hour"


@bp.route("/login", methods=["GET", "POST"])
@limit(SIGN_IN_PER_CLIENT, methods=["POST"], deduct_when=failed_sign_in)
@limit(SIGN_IN_PER_ACCOUNT_AND_CLIENT, methods=["POST"], deduct_when=failed_sign_in,
       key_func=sign_in_account_client_key)
@limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], deduct_when=failed_sign_in, key_func=sign_in_account_key)
def login():
    """The staff sign-in form (GET) and its check (POST: 303 to `next`, 401 on a wrong name or password).

    429 once a sign-in limit above is used up; the page says to wait.
    """
    if current_user.is_authenticated:
        # Signed in already - also when the sign-in form is sent again (a
        # reload, a double click): the same answer as the first sign-in gave.
        if request.method == "POST":
            return redirect(_safe_next(request.args.get("next")), code=303)
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(db_session, form.username.data, form.password.data)
        if user is not None:
            language = session.get("lang")
            session.clear()  # no session fixation: a fresh session for the signed-in user
            if language:
                session["lang"] = language
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")), code=303)
        error = _("Wrong username or password. Check them and try again.")
    return render_template("accounts/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    """Sign out and 303 to the sign-in page; signed out already, the same answer."""
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("accounts.login"), code=303)


def settled_without_csrf():
    """The answer for a sign-in or sign-out form whose CSRF token no longer fits, if it needs none.

    Signing in or out starts a new session, and with it new CSRF tokens: the
    same form sent again (a reload, "back" and resend, a retry after a lost
    reply) carries the old one. If what it asks for is so already - signed
    in, or signed out - the answer is the one the first send got, and nothing
    is done; otherwise None (the form is refused as expired).
    """
    if request.endpoint == "accounts.login" and current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")), code=303)
    if request.endpoint == "accounts.logout" and not current_user.is_authenticated:
        return redirect(url_for("accounts.login"), code=303)
    return None


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect. Browsers read a
    # backslash as a slash ("/\\evil.example" is "//evil.example") and drop
    # tabs and line breaks, so a target with any of them is refused.
    if target and target.startswith("/") and not target.startswith("//") \
            and not any(character in target for character in "\\\t\r\n"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("accounts.home")


@bp.get("/")
@login_required
def home():
    """Where signing in leads: the first page the account's role may use."""
    if can(Permission.MANAGE_CAMPAIGNS):
        return redirect(url_for("campaigns.index"))
    if can(Permission.VIEW_ALL_RESULTS) or can(Permission.VIEW_OWN_RESULTS):
        # A provider account's results too (the new user of 2026-12-01 met "no pages for your role").
        return redirect(url_for("analytics.index"))
    return render_template("accounts/home.html")


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limit("10 per minute", methods=["POST"])
@once()
def password():
    """GET: the change-password form. POST: change it, then 303 to the staff home with a notice.

    The session is renewed for the new password, and every other session of
    the account is signed out (User.get_id). 422 with the form's errors, a
    wrong current password among them. Once per submission (`once`); at
    most 10 POSTs a minute per client (429). Needs a signed-in user.
    """
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if change_password(db_session, current_user, form.current.data, form.new.data):
            response = done(url_for("accounts.home"),
                            _("Your password has been changed. Other places where you were signed in are signed out."))
            # The session's id names the old password: renew it (once the new
            # one is committed), or this session would be signed out with all the others.
            login_user(current_user._get_current_object())
            return response
        form.current.errors.append(_("That is not your current password."))
    status = 422 if form.errors else 200
    return render_template("accounts/password.html", form=form), status
