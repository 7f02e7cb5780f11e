"""Which of our languages a browser's Accept-Language header asks for.

One function, `negotiate_language`, implements the "lookup" scheme of
RFC 4647 section 3.4 over the ten languages of `languages.LANGUAGES`.

Why not a library: werkzeug's `LanguageAccept.best_match` (used before)
lets a wildcard match the first candidate before a region falls back to
its language - `ar-EG, *` gave Swedish. Babel's `negotiate_locale` takes
no q-values and no wildcard, and truncates only once, to the first subtag
(`ku-Arab-IQ` never reaches our `ku-Arab`). langcodes' closest match is
CLDR's distance-based matching, a different algorithm that may choose a
language the browser never listed. werkzeug still does the header's
parsing (RFC 9110 syntax, invalid q-values dropped); the lookup itself is
the twenty lines below.
"""

from __future__ import annotations

import re

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .languages import ACCEPT_LANGUAGE_ALIASES, DEFAULT_LANGUAGE, LANGUAGES

#: RFC 4647 section 2.1 `language-range`, without the wildcard (handled apart).
LANGUAGE_RANGE = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
WILDCARD = "*"
#: Served when nothing listed matches: Swedish, or English for a browser
#: that refuses Swedish outright (`sv;q=0`).
FALLBACKS = (DEFAULT_LANGUAGE, "en")


def negotiate_language(header: str | None) -> str:
    """The code of the language (a key of `LANGUAGES`) to serve for an Accept-Language header.

    RFC 4647 section 3.4 (lookup): the ranges are taken in descending
    q-value order (equal q-values in the order sent); each is tried as it
    is, mapped through `ACCEPT_LANGUAGE_ALIASES` (`fa-AF` is Dari, `prs`),
    and then truncated one subtag at a time (`ar-EG` -> `ar`; a single-letter
    subtag left at the end goes with it, as the RFC says) before the next
    range is tried. A range with q=0 is not acceptable: it is never tried,
    and a truncation that arrives at it is skipped. The wildcard `*` matches
    nothing by itself; when nothing matches, the default is returned:
    Swedish, or English if the header refuses Swedish. Ranges that are not
    well-formed (RFC 4647 section 2.1; `_` is read as `-`) are ignored.

    `header` may be None, empty or garbage; this never raises.
    """
    ranges = list(parse_accept_header(header, LanguageAccept))
    refused = {_normalised(value) for value, quality in ranges if quality == 0}
    # sorted() is stable: ranges of equal quality keep the order they were sent in.
    for value, _quality in sorted(((v, q) for v, q in ranges if q > 0), key=lambda item: -item[1]):
        tag = _normalised(value)
        if tag == WILDCARD or not LANGUAGE_RANGE.fullmatch(tag):
            continue
        subtags = tag.split("-")
        while subtags:
            candidate = "-".join(subtags)
            code = ACCEPT_LANGUAGE_ALIASES.get(candidate, candidate)
            if code in LANGUAGES and candidate not in refused and code not in refused:
                return code
            subtags.pop()
            if subtags and len(subtags[-1]) == 1:
                subtags.pop()
    return next((code for code in FALLBACKS if code not in refused), DEFAULT_LANGUAGE)


def _normalised(value: str) -> str:
    return value.strip().replace("_", "-").lower()
