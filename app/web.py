"""Response headers, inline styles and the session cookie shared by every page.

Pages inline their one stylesheet (a phone then needs a single request);
the Content-Security-Policy allows exactly those styles by hash and no
script at all.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

STYLES_DIR = Path(__file__).parent / "static" / "css"
# Our stylesheets hold no strings or urls containing "/*", so a plain
# pattern strips their comments: they are for maintainers, not phones.
CSS_COMMENT = re.compile(r"/\*.*?\*/\s*", re.DOTALL)


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


def security_headers(policy: str) -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]


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
    defaults = security_headers(content_security_policy(styles))
    app.jinja_env.globals["inline_style"] = styles.__getitem__
    app.session_interface = SignedCookieSessions()

    @app.after_request
    def _security_headers(response):
        # A view may set its own value of any of these; the rest are added in one pass.
        present = {key.lower() for key in response.headers.keys()}
        response.headers.extend([(key, value) for key, value in defaults if key.lower() not in present])
        return response
