"""Gunicorn settings for the baseline app: the app's own (`app.serving`), without access log.

The app never access-logs respondent pages (/s/, /survey, /thanks), so the
baseline routes must not pay for a log line either.
"""

from app.serving import *  # noqa: F401,F403

accesslog = None
