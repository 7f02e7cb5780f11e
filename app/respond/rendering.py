"""The blank survey page, rendered and compressed once per survey, language, locale and provider.

Rendering thirteen questions with their sixty-odd touch targets, and
compressing the result, is most of the cost of a survey page. Shown blank,
the page is the same for every customer of a provider but for one thing:
the CSRF token. Each process therefore keeps the blank page with a hole
where the token goes, compressed around the hole (app/precompressed.py), and
a visitor's page costs a copy and a CRC. Pages with answers, errors or notes
in them are rendered in full every time.

Blank pages go out gzip-compressed even to browsers that also accept
Brotli: Brotli leaves no such hole to fill, and gzip at level 9 makes the
page 2-5 % larger than the Brotli level 4 it would otherwise get.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..i18n.languages import Language
from ..precompressed import HoledPage
from ..surveys.definition import SurveyDefinition

CACHE_KEY = "kundrost.respond.blank_pages"
#: Rendered where the CSRF token goes. Survey text is escaped on the way into
#: the page, so this markup cannot occur anywhere but in the slot.
CSRF_SLOT = Markup("<csrf-token>")
#: Surveys x languages x locales x providers in use stays small; the bound
#: only guards against a process that lives through many survey versions.
MAX_ENTRIES = 2048


def blank_survey_page(
    definition: SurveyDefinition,
    language: Language,
    provider_name: str,
    render: Callable[[Markup], str],
) -> Response:
    """The blank page for this visitor; `render(csrf_slot)` renders it on a miss."""
    cache: dict = current_app.extensions.setdefault(CACHE_KEY, {})
    # The entry holds the definition, so its id() cannot be reused meanwhile.
    key = (id(definition), language.code, str(get_locale()), provider_name)
    entry = cache.get(key)
    if entry is None or entry[0] is not definition:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        entry = cache[key] = (definition, _with_hole(render(CSRF_SLOT)))
    return _serve(entry[1], generate_csrf().encode("ascii"))


def _with_hole(html: str) -> HoledPage:
    prefix, suffix = html.encode().split(CSRF_SLOT.encode(), 1)
    return HoledPage(prefix, suffix)


def _serve(page: HoledPage, token: bytes) -> Response:
    if request.accept_encodings.quality("gzip") > 0:
        response = Response(page.gzip(token), mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(page.identity(token), mimetype="text/html")
    response.vary.add("Accept-Encoding")
    return response
