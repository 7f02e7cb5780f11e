"""Which language a request is served in, and how templates learn it.

Precedence, for customers and staff alike: the language the person chose
explicitly (kept in the session), then the language of the link they came
by (set by the respondent views), then the browser's Accept-Language
(RFC 4647 lookup: negotiation.py), then Swedish.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, redirect, request, session
from flask_babel import Babel, format_date, format_decimal, format_percent

from .languages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    get_language,
)
from .negotiation import negotiate_language

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"
SESSION_KEY = "lang"
SWITCH_PARAMETER = "lang"

__all__ = ["LANGUAGES", "Language", "current_language", "init_app", "negotiate_language", "set_link_language"]


def init_app(app: Flask) -> None:
    # Flask-Babel resolves relative paths against app/; ours is absolute and must exist.
    assert TRANSLATIONS_DIR.is_dir(), f"translations folder missing: {TRANSLATIONS_DIR}"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_LOCALE"] = LANGUAGES[DEFAULT_LANGUAGE].babel_locale
    # format_datetime / format_time show the municipality's time, never UTC or the server's.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["KUNDROST"].timezone
    Babel(app, locale_selector=lambda: current_language().babel_locale)
    app.jinja_env.globals.update(
        format_date=format_date, format_decimal=format_decimal, format_percent=format_percent
    )
    app.before_request(_apply_language_switch)
    app.context_processor(_template_context)


def current_language() -> Language:
    if "language" not in g:
        g.language = _choose_language()
    return g.language


def set_link_language(code: str) -> None:
    """Called by views that know the language of the link a customer used."""
    g.link_language = code
    g.pop("language", None)


def choose_explicitly(code: str) -> bool:
    language = get_language(code)
    if language is None:
        return False
    session[SESSION_KEY] = language.code
    g.pop("language", None)
    return True


def forget_explicit_choice() -> None:
    """Drop the language chosen in this session (it was someone else's, or is done with)."""
    session.pop(SESSION_KEY, None)
    g.pop("language", None)


def _choose_language() -> Language:
    # In order of precedence; the Accept-Language header is parsed only when needed.
    return (
        get_language(session.get(SESSION_KEY))
        or get_language(g.get("link_language"))
        or LANGUAGES[negotiate_language(request.headers.get("Accept-Language"))]
    )


def _apply_language_switch():
    """`?lang=xx` on any GET page: remember the choice, then show the page without it."""
    if request.method != "GET" or SWITCH_PARAMETER not in request.args:
        return None
    choose_explicitly(request.args[SWITCH_PARAMETER])
    remaining = [(k, v) for k, v in request.args.items(multi=True) if k != SWITCH_PARAMETER]
    target = request.path + ("?" + urlencode(remaining) if remaining else "")
    return redirect(target, code=303)


def _template_context() -> dict:
    return {
        "current_language": current_language(),
        "languages": list(LANGUAGES.values()),
    }
