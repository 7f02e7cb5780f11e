"""Which language a request is served in, and how templates learn it.

Precedence, for customers and staff alike: the language the person chose
explicitly (kept in the session), then the language of the link they came
by (set by the respondent views), then the browser's Accept-Language
(RFC 4647 lookup: negotiation.py), then Swedish.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from babel.dates import format_skeleton
from flask import Flask, g, redirect, request, session
from flask_babel import (
    Babel,
    format_date,
    format_decimal,
    format_percent,
    get_locale,
    get_translations,
)

from ..web import is_api_path
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

__all__ = [
    "LANGUAGES", "Language", "current_language", "gettext_digits", "init_app", "local_date",
    "local_number", "negotiate_language", "ngettext_digits", "numeric_date", "set_link_language",
]


def init_app(app: Flask) -> None:
    """Set up Flask-Babel (translations/, Swedish by default, the municipality's time zone) and the templates' helpers.

    Also installs the `?lang=` switch before every request. Fails with an
    AssertionError when the translations folder is missing.
    """
    # Flask-Babel resolves relative paths against app/; ours is absolute and must exist.
    assert TRANSLATIONS_DIR.is_dir(), f"translations folder missing: {TRANSLATIONS_DIR}"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_LOCALE"] = LANGUAGES[DEFAULT_LANGUAGE].babel_locale
    # format_datetime / format_time show the municipality's time, never UTC or the server's.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["KUNDROST"].timezone
    Babel(app, locale_selector=lambda: current_language().babel_locale)
    # No format_date: a staff page writes a date with numeric_date, a customer page with local_date.
    app.jinja_env.globals.update(
        format_decimal=format_decimal, format_percent=format_percent,
        gettext_digits=gettext_digits, ngettext_digits=ngettext_digits, local_number=local_number,
        local_date=local_date, numeric_date=numeric_date,
    )
    app.before_request(_apply_language_switch)
    app.context_processor(_template_context)


def current_language() -> Language:
    """The Language this request is served in, by the precedence of the module docstring; chosen once per request."""
    if "language" not in g:
        g.language = _choose_language()
    return g.language


def local_number(value: int) -> str:
    """An integer in the current language's own digits (`Language.number`), e.g. "۲" in Dari."""
    return current_language().number(value)


def numeric_date(day: date) -> str:
    """`day` as the staff member's locale writes a date in figures with the full year.

    CLDR's "yMd" skeleton: 2027-01-15 in Swedish, 15.01.2027 in Ukrainian,
    15/1/2027 in Arabic - the form a quality developer's report uses. Where
    that form puts the month first (English, Dari, Somali, Tigrinya:
    1/15/2027), ISO 8601 instead (2027-01-15): in a Swedish municipality
    12/1 reads as 12 January.
    """
    locale = get_locale()
    pattern = locale.datetime_skeletons["yMd"].pattern
    if pattern.find("M") < pattern.find("d") < pattern.find("y"):
        return day.isoformat()
    return format_skeleton("yMd", day, locale=locale)


def local_date(day: date, format: str = "long") -> str:
    """`day` as Babel writes it in the current locale, in the language's own digits.

    Babel chooses the month's name and the order per locale but writes
    ASCII digits ("3 دسامبر 2026" in Persian); here they become the
    language's ("۳ دسامبر ۲۰۲۶").
    """
    return current_language().localise_digits(format_date(day, format=format))


#: `%(name)d` in a message: filled with a number already written in local digits.
_INTEGER_PLACEHOLDER = re.compile(r"%\((\w+)\)d")


def gettext_digits(msgid: str, **variables) -> str:
    """`gettext`, with every integer variable written in the current language's digits.

    Takes the msgid (English, with `%(name)d` / `%(name)s` placeholders)
    and its variables; returns the translated, filled-in text. For every
    customer-facing message with a number in it (the plain `gettext`
    writes `%(num)d` in ASCII digits beside Persian question numbers).
    Extracted for translation like `gettext` (app/i18n/cli.py KEYWORDS).
    """
    return _fill(get_translations().ugettext(msgid), variables)


def ngettext_digits(singular: str, plural: str, num: int, **variables) -> str:
    """`ngettext` (the plural form chosen by `num`), its numbers in the language's digits.

    `num` is available to the message as `%(num)d`, as with `ngettext`.
    """
    variables.setdefault("num", num)
    return _fill(get_translations().ungettext(singular, plural, num), variables)


def _fill(translated: str, variables: dict) -> str:
    if not variables:
        return translated
    language = current_language()
    values = {
        name: language.number(value) if type(value) is int else value
        for name, value in variables.items()
    }
    return _INTEGER_PLACEHOLDER.sub(r"%(\1)s", translated) % values


def set_link_language(code: str) -> None:
    """Called by views that know the language of the link a customer used."""
    g.link_language = code
    g.pop("language", None)


def choose_explicitly(code: str) -> bool:
    """Remember `code` in the session as the person's own choice; False (nothing changed) for a code not in LANGUAGES."""
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
    if request.method != "GET" or SWITCH_PARAMETER not in request.args or is_api_path(request.path):
        # The JSON API keeps no session to remember a choice in: it answers in Accept-Language's.
        return None
    choose_explicitly(request.args[SWITCH_PARAMETER])
    remaining = [(k, v) for k, v in request.args.items(multi=True) if k != SWITCH_PARAMETER]
    target = request.path + ("?" + urlencode(remaining) if remaining else "")
    return redirect(target, code=303)


def _template_context() -> dict:
    return {
        "current_language": current_language(),
        "languages": list(LANGUAGES.values()),
        "in_language": in_language,
    }


def in_language(code: str) -> str:
    """The staff language menu's link: this page's query string (filters, breakdown, pooled campaigns -
    repeated parameters kept) with `lang=<code>` instead of any `lang` it had, e.g. "?by=month&lang=ar"."""
    kept = [(name, value) for name, value in request.args.items(multi=True) if name != SWITCH_PARAMETER]
    return "?" + urlencode([*kept, (SWITCH_PARAMETER, code)])
