"""Response headers, inline styles and the session cookie shared by every page.

Pages inline their one stylesheet (a phone then needs a single request);
the Content-Security-Policy allows exactly those styles by hash and no
script at all.

Every response - staff pages, the sign-in page, exports, respondent pages,
error pages - is `Cache-Control: no-store`: a municipal PC is shared, and
neither its browser nor a proxy may keep results, links or a survey after
the person has left. Only the endpoints in `CACHEABLE_ENDPOINTS` may be
kept; there are none, since the application serves no files (styles are
inline, the icon is a data: URL). With `SECURE_COOKIES` on, every response
also carries HSTS for a year.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

STYLES_DIR = Path(__file__).parent / "static" / "css"
# Our stylesheets hold no strings or urls containing "/*", so a plain
# pattern strips their comments: they are for maintainers, not phones.
CSS_COMMENT = re.compile(r"/\*.*?\*/\s*", re.DOTALL)

#: What every response says about caching, unless its endpoint is below.
NO_STORE = "no-store"
#: Endpoints whose responses may be cached (they set their own Cache-Control).
#: Only public files the same for everyone belong here - a fingerprinted
#: stylesheet or logo, say, under Flask's "static" endpoint - never a page
#: behind sign-in or an export. Empty: Kundröst serves no files.
CACHEABLE_ENDPOINTS: frozenset[str] = frozenset()
#: RFC 6797 Strict-Transport-Security: one year. Without includeSubDomains:
#: the service runs on one host of the municipality's domain (PUBLIC_URL);
#: whether every name under that host must be HTTPS-only is for whoever runs
#: the domain to say (their proxy can add it), not for this application.
HSTS = "max-age=31536000"


def load_styles() -> dict[str, Markup]:
    return {
        path.stem: Markup(CSS_COMMENT.sub("", path.read_text()).strip())
        for path in sorted(STYLES_DIR.glob("*.css"))
    }


def content_security_policy(styles: dict[str, Markup]) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(str(css).encode()).digest()).decode() + "'"
        for css in styles.values()
    )
    return (
        "default-src 'none'; "
        f"style-src {hashes}; "
        "img-src 'self' data:; "
        "form-action 'self'; "
        "frame-ancestors 'none'; "
        "base-uri 'none'"
    )


def security_headers(policy: str, *, https_only: bool) -> list[tuple[str, str]]:
    """The headers every response gets, as (name, value) pairs.

    `policy` is the Content-Security-Policy; `https_only` (SECURE_COOKIES)
    adds Strict-Transport-Security. Cache-Control is set apart, per endpoint.
    """
    headers = [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if https_only:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its signer built once rather than on every request.

    The secret key is configuration, read once at start-up like the rest.
    """

    _serializer = None

    def get_signing_serializer(self, app: Flask):
        if self._serializer is None:
            self._serializer = super().get_signing_serializer(app)
        return self._serializer


def init_app(app: Flask) -> None:
    styles = load_styles()
    defaults = security_headers(
        content_security_policy(styles), https_only=app.config["KUNDROST"].secure_cookies
    )
    app.jinja_env.globals["inline_style"] = styles.__getitem__
    app.session_interface = SignedCookieSessions()

    @app.after_request
    def _security_headers(response):
        # A view may set its own value of any of these; the rest are added in one pass.
        present = {key.lower() for key in response.headers.keys()}
        response.headers.extend([(key, value) for key, value in defaults if key.lower() not in present])
        # Set, not added: no view, error page or extension may make a page cacheable.
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            response.headers["Cache-Control"] = NO_STORE
        return response
