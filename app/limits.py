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


#: Pages every customer loads that carry no limit of their own. The limiter
#: would still look up limits for them on every request, about 6 % of a
#: survey page's cost; a limit added to one of these must leave this set.
UNLIMITED_CUSTOMER_PAGES = frozenset({"respond.survey", "respond.thanks"})


@limiter.request_filter
def _skip_unlimited_customer_pages() -> bool:
    return request.endpoint in UNLIMITED_CUSTOMER_PAGES
