"""Logging that cannot betray a respondent.

Respondent pages (links with tokens, the survey, the thank-you page) are
never access-logged: a token, an address or even the time and order of a
submit could be matched with a response. Staff requests are logged
without client addresses. Errors on respondent pages are logged with the
route pattern, never the actual path.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from gunicorn.glogging import Logger as GunicornLogger

from .respond import RESPONDENT_PATH_PREFIXES


#: Gunicorn access-log line: no client address (%(h)s), no Referer, no user agent.
ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def is_respondent_path(path: str) -> bool:
    """Whether `path` (a URL path) is a respondent page, which no access log may record."""
    return path.startswith(RESPONDENT_PATH_PREFIXES)


class AnonymousAccessLogger(GunicornLogger):
    """Gunicorn logger that leaves respondent requests out of the access log."""

    def access(self, resp, req, environ, request_time):
        """Log the request like gunicorn does, unless it is a respondent request."""
        if is_respondent_path(environ.get("PATH_INFO", "")):
            return
        super().access(resp, req, environ, request_time)


class _DropRespondentRequests(logging.Filter):
    """For the development server (werkzeug), which logs every request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a development-server log line about a respondent request (it is dropped)."""
        text = record.getMessage()
        return not any(f" {prefix}" in text for prefix in RESPONDENT_PATH_PREFIXES)


def init_app(app: Flask) -> None:
    """Keep respondent requests out of the development server's request log."""
    logging.getLogger("werkzeug").addFilter(_DropRespondentRequests())


def log_exception_anonymously(app: Flask, exc_info) -> None:
    """Flask's log_exception, naming the route instead of the path on respondent pages."""
    where = request.path
    if is_respondent_path(where):
        where = request.url_rule.rule if request.url_rule else "(respondent page)"
    app.logger.error("Exception on %s [%s]", where, request.method, exc_info=exc_info)
