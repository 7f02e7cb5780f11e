"""Rate limits (Flask-Limiter) keyed without keeping anyone's address.

The key is a keyed hash of the client address that changes every day; the
limiter's storage (memory, or Redis when configured) forgets it when the
window ends. No address reaches a log or the database.

The client address is `request.remote_addr`: behind TRUSTED_PROXY_COUNT
proxies, the address the nearest trusted proxy saw (ProxyFix in
app/__init__.py), never one the client wrote itself.

Staff sign-in is limited three ways, counting only failed attempts
(SIGN_IN_PER_CLIENT, SIGN_IN_PER_ACCOUNT_AND_CLIENT and SIGN_IN_PER_ACCOUNT
in app/accounts/views.py; docs/operations.md explains the numbers).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import current_app, request
from flask_limiter import Limiter

from .text import match_key


def _daily_hash(*parts: str) -> str:
    """A 24-hex-digit HMAC of `parts` under the app's secret and today's UTC day number.

    Not reversible without SECRET_KEY, and a different value every day, so a
    stored counter key cannot be matched to an address later.
    """
    day = str(int(time.time() // 86400)).encode()
    secret = current_app.config["SECRET_KEY"].encode()
    message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(secret + day, message, hashlib.sha256).hexdigest()[:24]


def anonymous_client_key() -> str:
    """The limiter key of the requesting client: a daily hash of its address (str, 24 hex digits)."""
    return _daily_hash(request.remote_addr or "")


def account_fold(typed: str) -> str:
    """The account a typed username means, for counting attempts at it: its `match_key`.

    The very key sign-in finds the account by (app/text.py), so that every
    spelling that signs in to an account - "ADMİN", "admin" with a zero-width
    space, "a" + soft hyphen + "dmin" - counts against that one account's
    budget; a looser or stricter fold here would give an attacker endless
    fresh budgets for one account.
    """
    return match_key(typed)


def _typed_username() -> str:
    return account_fold(request.form.get("username", "")[:200])


def sign_in_account_key() -> str:
    """Limiter key of the account being signed in to, from every address (daily hash)."""
    return _daily_hash("account", _typed_username())


def sign_in_account_client_key() -> str:
    """Limiter key of the pair (account being signed in to, client address) (daily hash)."""
    return _daily_hash("account+client", _typed_username(), request.remote_addr or "")


def failed_sign_in(response) -> bool:
    """Whether a sign-in response means a wrong username or password (401): only those count."""
    return response.status_code == 401


limiter = Limiter(key_func=anonymous_client_key, headers_enabled=False)


def seconds_until_allowed() -> int:
    """Whole seconds (at least 1) until every limit this request broke has reset; 0 if it broke none.

    Read in the 429 page (app/errors.py), which says how long to wait. Needs
    RATELIMIT_FAIL_ON_FIRST_BREACH off, so that every limit of the request is
    looked at, not only the shortest broken one.
    """
    # window[0]: when the limit's window ends (epoch seconds, float).
    resets = [request_limit.window[0] for request_limit in limiter.current_limits if request_limit.breached]
    if not resets:
        return 0
    return max(1, math.ceil(max(resets) - time.time()))


_limited_views: set = set()


def limit(rule, **options):
    """`limiter.limit`, noted so that the limiter can skip every route without a limit.

    Kundröst sets no default limits: each limit is declared on its route with
    this decorator. Flask-Limiter would otherwise resolve limits for every
    request - about 6 % of a survey page's cost.
    """
    decorate = limiter.limit(rule, **options)

    def note(view):
        """Apply the limit to `view` and record the limited view (the 429 page asks these how long to wait)."""
        limited = decorate(view)
        _limited_views.add(limited)
        return limited

    return note


@limiter.request_filter
def skips_this_request() -> bool:
    """Flask-Limiter's request filter: True (skip all limit work) when the request's view declares no `limit`."""
    return not _declares_a_limit(current_app.view_functions.get(request.endpoint))


def _declares_a_limit(view) -> bool:
    # Decorators applied over `limit` (login_required, ...) wrap its view.
    while view is not None:
        if view in _limited_views:
            return True
        view = getattr(view, "__wrapped__", None)
    return False
