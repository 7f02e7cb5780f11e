"""Error pages in the visitor's language, in the look of the side they came from."""

from __future__ import annotations

from flask import Flask, render_template, request
from .i18n import ngettext_digits
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .accounts.views import settled_without_csrf
from .analytics.plan_maker import PlanPending
from .logs import is_respondent_path
from .web import is_api_path
from .respond.views import form_unreadable_page, handle_csrf_error, use_respondent_language


def init_app(app: Flask) -> None:
    """Register the error pages: every HTTP error and a refused CSRF token.

    An HTTP error gets error.html in the visitor's language with its own
    status (a 429 also Retry-After, in seconds); a respondent POST refused
    with 400 or 413 gets the respondent page saying its answers could not be
    read. A refused CSRF token gets 400 "the form had expired" (on a
    respondent page, the answers typed are kept as a draft), except that a
    sign-in or sign-out already done gets the 303 the first one got. A
    results page, export or API request whose suppression plan is still
    being made (PlanPending) gets 503 with Retry-After: a page that says so
    with a link to try again (no timed reload: WCAG 2.2.1), or the API's
    JSON error "being_prepared".
    """
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(PlanPending, _plan_pending)


def _messages(status: int) -> tuple[str, str]:
    if status == 404:
        return _("Page not found"), _("Check the address, or go back to where you came from.")
    if status == 403:
        return _("Not allowed"), _("Your account does not give access to this page.")
    if status == 429:
        return _("Too many attempts"), _("Wait a minute and try again.")
    if status >= 500:
        return _("Something went wrong"), _("Nothing you did caused this. Please try again in a moment.")
    return _("The request could not be handled"), _("Go back and try again.")


def _http_error(error: HTTPException):
    status = error.code or 500
    if is_api_path(request.path):
        return _api_error(error, status)
    if is_respondent_path(request.path):
        # A customer's error page speaks the language of their link, where known.
        use_respondent_language()
        if request.method == "POST" and status in (400, 413):
            # The survey form itself could not be read (malformed, too large).
            page, _unused = form_unreadable_page()
            return page, status
    heading, text = _messages(status)
    headers = {}
    if status == 429:
        text, headers["Retry-After"] = _wait_text()
    return render_template("error.html", heading=heading, text=text), status, headers


def _api_error(error: HTTPException, status: int):
    """The JSON API's answer to an HTTP error (an unknown address, a method, a limit, a crash): JSON, never HTML."""
    from .api.responses import http_error_code, json_error

    headers = {}
    if status == 429:
        text, headers["Retry-After"] = _wait_text()
    elif status >= 500:
        text = _messages(status)[1]
    elif error.description and error.description != type(error).description:
        text = error.description  # a sentence the code gave (already in the reader's language)
    else:
        text = _messages(status)[1]  # not werkzeug's English default: the reader's language
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    return json_error(status, http_error_code(error.name or "error"), text, headers)


def _wait_text() -> tuple[str, str]:
    # A link opening's limit lasts a minute; a locked sign-in up to an hour: say which.
    from .limits import seconds_until_allowed

    seconds = seconds_until_allowed()
    if seconds <= 60:
        return _("Wait a minute and try again."), str(seconds or 60)
    minutes = -(-seconds // 60)
    return ngettext_digits("Wait %(minutes)s minute and try again.", "Wait %(minutes)s minutes and try again.",
                           minutes, minutes=minutes), str(seconds)


def _plan_pending(error: PlanPending):
    heading = _("The figures are being worked out")
    text = _("The figures are being worked out, hiding every group too small to be shown. This takes up to a "
             "minute or two: then try again.")
    headers = {"Retry-After": str(error.retry_after)}
    if is_api_path(request.path):
        from .api.responses import json_error

        return json_error(503, "being_prepared", _("The figures are being worked out. Try again in a minute."),
                          headers)
    return render_template("analytics/pending.html", heading=heading, text=text), 503, headers


def _csrf_error(error: CSRFError):
    if is_respondent_path(request.path):
        return handle_csrf_error(error)
    settled = settled_without_csrf()
    if settled is not None:
        return settled
    heading = _("The form had expired")
    text = _("For your security, forms expire. Nothing was saved: go back, reload the page and try again.")
    return render_template("error.html", heading=heading, text=text), 400


def internal_error_page():
    """The 500 page in the visitor's language, as (html, status)."""
    heading, text = _messages(500)
    return render_template("error.html", heading=heading, text=text), 500
