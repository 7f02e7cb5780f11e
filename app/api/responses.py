"""The API's error answers: JSON `{"error": code, "message": text}`, never an HTML page.

Kept apart from views.py so that the application-wide error handler
(app/errors.py) can answer a request under /api/ in JSON without importing
the API's views.
"""

from __future__ import annotations

from flask import Response, jsonify

#: The realm named in WWW-Authenticate (RFC 6750, section 3).
REALM = "kundrost-api"


def json_error(status: int, error: str, message: str, headers: dict | None = None) -> Response:
    """A JSON error answer with `status`; `error` is a stable machine code, `message` a sentence for people."""
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unauthorized(message: str, invalid: bool) -> Response:
    """401 with `WWW-Authenticate: Bearer` (RFC 6750): `invalid` adds error="invalid_token" (a token was sent)."""
    challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if invalid else "")
    return json_error(401, "unauthorized", message, {"WWW-Authenticate": challenge})


def http_error_code(name: str) -> str:
    """werkzeug's error name as a code: "Not Found" -> "not_found", "Too Many Requests" -> "too_many_requests"."""
    return "_".join(name.lower().replace("'", "").split())
