"""The blank survey page, rendered once per survey, language, locale and provider.

Rendering thirteen questions with their sixty-odd touch targets is most of
the cost of a survey page, and shown blank the page is the same for every
customer of a provider but for one thing: the CSRF token. Each process
therefore keeps the blank page with a slot where the token goes. Pages
with answers, errors or notes in them are rendered in full every time.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..i18n.languages import Language
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
) -> str:
    """The blank page for this visitor; `render(csrf_slot)` renders it on a miss."""
    cache: dict = current_app.extensions.setdefault(CACHE_KEY, {})
    # The entry holds the definition, so its id() cannot be reused meanwhile.
    key = (id(definition), language.code, str(get_locale()), provider_name)
    entry = cache.get(key)
    if entry is None or entry[0] is not definition:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        entry = cache[key] = (definition, render(CSRF_SLOT))
    return entry[1].replace(CSRF_SLOT, generate_csrf(), 1)
