"""What every request and page share: input the database can hold, headers, styles, the session cookie.

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

No value from a request reaches the database in a form it refuses (NUL,
which PostgreSQL cannot store; lone surrogates, which no driver can
encode; ids beyond PostgreSQL's `integer`): URL path values are checked
by the URL converters (a value that fails names nothing: 404), query
strings and headers by `refuse_unstorable_input` (400), and form fields,
upload file names and JSON bodies are cleaned as they are parsed
(`StorableRequest`) - what the staff forms then make of typed text is
app/text.py's and app/forms.py's. A route added later gets all of this
without doing anything.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import unquote_to_bytes

from flask import Flask, Request, abort, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.routing import IntegerConverter, Map, PathConverter, UnicodeConverter

from .text import storable, without_unstorable

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
    """Every stylesheet of app/static/css, comments stripped, as {file stem: CSS} to inline in pages."""
    return {
        path.stem: Markup(CSS_COMMENT.sub("", path.read_text()).strip())
        for path in sorted(STYLES_DIR.glob("*.css"))
    }


def content_security_policy(styles: dict[str, Markup]) -> str:
    """The Content-Security-Policy value: nothing by default (so no script), and only what the pages need.

    Styles only as the SHA-256 hashes of `styles` (the inline
    stylesheets), images from this site or data: URLs, forms posted to
    this site only, no framing, no <base>.
    """
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


#: Where the JSON API lives (app/api/): authenticated by a token, never by a cookie.
API_PATH_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    """Whether `path` (a URL path) is the JSON API's: no session, JSON errors, no `?lang=` redirect."""
    return path.startswith(API_PATH_PREFIX)


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its signer built once rather than on every request.

    The secret key is configuration, read once at start-up like the rest.
    Requests to the JSON API (`is_api_path`) get an empty session that is
    never saved: a staff cookie sent along is not read, and no answer of
    the API sets a cookie.
    """

    _serializer = None

    def open_session(self, app: Flask, request_: Request):
        """The session from the cookie; for an API request an empty one, whatever the request carries."""
        if is_api_path(request_.path):
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app: Flask, session, response) -> None:
        """Write the session cookie as Flask does; never for an API request."""
        if is_api_path(request.path):
            return
        super().save_session(app, session, response)

    def get_signing_serializer(self, app: Flask):
        """Flask's serializer for `app`, built on the first call that has a secret key and reused after."""
        if self._serializer is None:
            self._serializer = super().get_signing_serializer(app)
        return self._serializer


# -- Input the database can hold ----------------------------------------------

#: The largest id (and number in a path): PostgreSQL's `integer`, the type
#: of every id column. A larger number names no row, and the driver
#: refuses to compare with it (SQLite's beyond 2**63).
ID_MAX = 2**31 - 1
#: The longest path value a route takes unless it says otherwise: tokens
#: and codes are far shorter, and no column of ours is longer.
PATH_VALUE_MAX = 200
#: Characters no path value has: control characters (NUL among them), the
#: replacement character that stands for bytes that were not UTF-8, and
#: lone surrogates.
_NOT_IN_PATH_VALUES = "\\x00-\\x1f\\x7f\\ufffd\\ud800-\\udfff"


class TextConverter(UnicodeConverter):
    """The default converter (`<name>`, `<string:name>`): one path segment the database can compare.

    Takes werkzeug's `minlength`, `maxlength` (default PATH_VALUE_MAX) and
    `length`; a segment with a character of `_NOT_IN_PATH_VALUES` or
    beyond the length does not match, so the route answers 404.
    """

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = PATH_VALUE_MAX,
                 length: int | None = None) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", f"[^/{_NOT_IN_PATH_VALUES}]", 1)


class PathTextConverter(PathConverter):
    """`<path:name>`: like werkzeug's (slashes allowed), without the characters of `_NOT_IN_PATH_VALUES`."""

    regex = f"[^/{_NOT_IN_PATH_VALUES}][^{_NOT_IN_PATH_VALUES}]*?"


class IdConverter(IntegerConverter):
    """`<int:name>`: ASCII digits, at most ID_MAX (at least -ID_MAX - 1 when signed).

    werkzeug's own takes any Unicode digit (`\\d`: "/campaigns/٣" was
    campaign 3) and any size (a 20-digit id was a server error on both
    databases).
    """

    regex = r"[0-9]+"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = ID_MAX,
                 signed: bool = False) -> None:
        if signed and min is None:
            min = -ID_MAX - 1
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


CONVERTERS = {"default": TextConverter, "string": TextConverter, "path": PathTextConverter, "int": IdConverter}


def _clean_json(value):
    if isinstance(value, str):
        return without_unstorable(value)
    if isinstance(value, list):
        return [_clean_json(item) for item in value]
    if isinstance(value, dict):
        return {without_unstorable(key): _clean_json(item) for key, item in value.items()}
    return value


class StorableRequest(Request):
    """Flask's request, its form fields, upload file names and JSON without what no database stores.

    Only `text.UNSTORABLE` is taken out (a crafted request's NUL, a lone
    surrogate): forms are cleaned, not refused, so that nothing a person
    typed is lost to a character they cannot have typed.
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form is not None and not all(storable(k) and storable(v) for k, v in form.items(multi=True)):
            self.__dict__["form"] = self.parameter_storage_class(
                [(without_unstorable(k), without_unstorable(v)) for k, v in form.items(multi=True)]
            )
        files = self.__dict__.get("files")
        if files is not None and not all(storable(k) for k in files.keys()):
            self.__dict__["files"] = self.parameter_storage_class(
                [(without_unstorable(k), upload) for k, upload in files.items(multi=True)]
            )
        for upload in (files or MultiDict()).values():
            if isinstance(upload, FileStorage) and upload.filename and not storable(upload.filename):
                upload.filename = without_unstorable(upload.filename)

    def get_json(self, *args, **kwargs):
        """werkzeug's `get_json`, every string in it (keys too) without `text.UNSTORABLE`."""
        return _clean_json(super().get_json(*args, **kwargs))


def _is_utf8(query_string: bytes) -> bool:
    try:
        unquote_to_bytes(query_string.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def refuse_unstorable_input() -> None:
    """Before every request: 400 for a query or header the database could not take, 404 for such a path value.

    Path values were checked by the converters; this catches a converter
    of another kind. A query string must be UTF-8 once percent-decoded
    (werkzeug would quietly make the rest U+FFFD) and hold no NUL; a
    header, no NUL either (RFC 9110, section 5.5: a field value never
    has one). Raises werkzeug's NotFound or BadRequest.
    """
    for value in (request.view_args or {}).values():
        if (isinstance(value, str) and not storable(value)) or (
            isinstance(value, int) and not -ID_MAX - 1 <= value <= ID_MAX
        ):
            abort(404)
    if not _is_utf8(request.query_string) or not all(
        storable(key) and storable(value) for key, value in request.args.items(multi=True)
    ):
        abort(400)
    if not all(storable(value) for _key, value in request.headers.items()):
        abort(400)


def init_app(app: Flask) -> None:
    """Install the converters, the input guard (before every other), the request class and the headers.

    Call before any URL rule is added: rules take their converters when added.
    """
    app.url_map.converters.update(CONVERTERS)
    app.request_class = StorableRequest
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable_input)
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
