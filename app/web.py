"""Response headers and inline styles shared by every page.

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


def init_app(app: Flask) -> None:
    styles = load_styles()
    policy = content_security_policy(styles)
    app.jinja_env.globals["inline_style"] = styles.__getitem__

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
