"""Rate limits (Flask-Limiter) keyed without keeping anyone's address.

The key is a keyed hash of the client address that changes every day; the
limiter's storage (memory, or Redis when configured) forgets it when the
window ends. No address reaches a log or the database.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app, request
from flask_limiter import Limiter


def anonymous_client_key() -> str:
    day = str(int(time.time() // 86400)).encode()
    secret = current_app.config["SECRET_KEY"].encode()
    address = (request.remote_addr or "").encode()
    return hmac.new(secret + day, address, hashlib.sha256).hexdigest()[:24]


limiter = Limiter(key_func=anonymous_client_key, headers_enabled=False)


_limited_views: set = set()


def limit(rule, **options):
    """`limiter.limit`, noted so that the limiter can skip every route without a limit.

    Kundröst sets no default limits: each limit is declared on its route with
    this decorator. Flask-Limiter would otherwise resolve limits for every
    request - about 6 % of a survey page's cost.
    """
    decorate = limiter.limit(rule, **options)

    def note(view):
        limited = decorate(view)
        _limited_views.add(limited)
        return limited

    return note


@limiter.request_filter
def skips_this_request() -> bool:
    return not _declares_a_limit(current_app.view_functions.get(request.endpoint))


def _declares_a_limit(view) -> bool:
    # Decorators applied over `limit` (login_required, ...) wrap its view.
    while view is not None:
        if view in _limited_views:
            return True
        view = getattr(view, "__wrapped__", None)
    return False
