from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from ..db import db_session
from ..limits import limiter
from .forms import LoginForm
from .models import User
from .services import authenticate

bp = Blueprint("accounts", __name__, url_prefix="/staff", template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db_session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def _unauthorized():
    return redirect(url_for("accounts.login", next=request.path))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("campaigns.index"))
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
@login_required
def logout():
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("accounts.login"), code=303)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("campaigns.index")
