"""Accept-Language -> the language a page is served in (RFC 4647 lookup, app/i18n/negotiation.py).

The headers are what real browsers send (Chrome on Android, Firefox,
Safari on iOS, Windows) with the phone set to one of our languages, plus
hostile and contradictory ones. Expected languages are written out.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.i18n import LANGUAGES, negotiate_language

REAL_HEADERS = [
    # The example: the region falls back to the language before the wildcard.
    ("ar-EG, *", "ar"),
    ("fa-Arab-AF", "prs"),  # Dari with its script subtag
    # Chrome on Android, phone in Arabic (Egypt)
    ("ar-EG,ar;q=0.9,en-US;q=0.8,en;q=0.7", "ar"),
    # Safari on iOS, Arabic (Saudi Arabia)
    ("ar-SA,ar;q=0.9", "ar"),
    # Chrome on Android, Persian (Iran)
    ("fa-IR,fa;q=0.9,en-US;q=0.8,en;q=0.7", "fa"),
    # Firefox, Persian
    ("fa-IR,fa;q=0.8,en-US;q=0.5,en;q=0.3", "fa"),
    # Chrome on Android, Dari (Android's "fa-AF"): Dari, not Persian, although fa is listed
    ("fa-AF,fa;q=0.9,en-US;q=0.8,en;q=0.7", "prs"),
    # Windows set to Dari
    ("prs-AF,prs;q=0.9,en;q=0.8", "prs"),
    # Chrome on Android, Pashto (Afghanistan)
    ("ps-AF,ps;q=0.9,en-US;q=0.8,en;q=0.7", "ps"),
    ("ps-AF", "ps"),
    # Tigrinya (Eritrea, Ethiopia)
    ("ti-ER", "ti"),
    ("ti-ER,ti;q=0.9,en-US;q=0.8,en;q=0.7", "ti"),
    ("ti-ET,ti;q=0.9,am;q=0.8", "ti"),
    # Somali
    ("so-SO", "so"),
    ("so-SO,so;q=0.9,en-US;q=0.8,en;q=0.7", "so"),
    ("so,en-US;q=0.7,en;q=0.3", "so"),
    # Ukrainian, also when Russian comes first: Russian is not ours, Ukrainian is
    ("uk-UA,uk;q=0.9,ru;q=0.8", "uk"),
    ("uk-UA,uk;q=0.9,ru;q=0.8,en-US;q=0.7,en;q=0.6", "uk"),
    ("ru-RU,ru;q=0.9,uk;q=0.8,en-US;q=0.7,en;q=0.6", "uk"),
    # Sorani: ckb, and Kurdish in Iraq or in Arabic script
    ("ckb-IQ", "ckb"),
    ("ckb-IQ,ckb;q=0.9,ar;q=0.8,en;q=0.7", "ckb"),
    ("ku-IQ", "ckb"),
    ("ku-Arab-IQ,ku;q=0.9", "ckb"),
    # Kurmanji (Latin script, Turkey) is not Sorani: nothing of ours matches before Turkish runs out
    ("ku-TR,ku;q=0.9,tr;q=0.8", "sv"),
    # Swedish and English
    ("sv-SE", "sv"),
    ("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7", "sv"),
    ("sv-FI,sv;q=0.9,fi;q=0.8", "sv"),
    ("en-GB,en;q=0.9", "en"),
    ("en-US,en;q=0.5", "en"),
    ("de-DE,de;q=0.9,en;q=0.8", "en"),
    ("de-DE,de", "sv"),
]

EDGE_HEADERS = [
    # q=0 means "not acceptable"
    ("en;q=0, sv", "sv"),
    ("en;q=0, ar;q=0.5", "ar"),
    ("en-US, en;q=0", "sv"),
    ("ar;q=0, ar-EG", "sv"),
    ("prs;q=0, fa-AF, fa;q=0.5", "fa"),
    ("sv;q=0", "en"),
    ("sv;q=0, *", "en"),
    ("sv;q=0, en;q=0", "sv"),
    # q-values, not the order written, decide
    ("en;q=0.5, ar", "ar"),
    ("fa-AF;q=0.5, fa", "fa"),
    ("so;q=0.8, ti;q=0.9", "ti"),
    # equal q-values: the order written
    ("ti, so", "ti"),
    ("so, ti", "so"),
    # the wildcard never beats a listed language, whatever its q
    ("*", "sv"),
    ("*;q=1, ar;q=0.1", "ar"),
    ("*, uk-UA", "uk"),
    # truncation, subtag by subtag; a single-letter subtag goes with the one after it
    ("zh-Hant-TW, ar;q=0.5", "ar"),
    ("ar-x-private", "ar"),
    ("x-klingon, ps", "ps"),
    # spelling
    ("AR-eg", "ar"),
    ("en_US", "en"),
    ("  ti-ER  ", "ti"),
    # nothing usable
    ("", "sv"),
    (None, "sv"),
    ("garbage!!", "sv"),
    (",,,;;;", "sv"),
    ("en;q=abc, ar", "ar"),
    ("en;q=1.5, so", "so"),
    ("\x00ar", "sv"),
    ("a" * 10_000, "sv"),
    ("ar-EG-" + "x" * 9, "sv"),
    ("عربي, fa", "fa"),
]


@pytest.mark.parametrize(("header", "expected"), REAL_HEADERS + EDGE_HEADERS)
def test_accept_language_lookup(header, expected):
    assert negotiate_language(header) == expected


@pytest.mark.parametrize(("header", "html_lang"), [
    ("ar-EG, *", "ar"),
    ("fa-AF,fa;q=0.9,en-US;q=0.8,en;q=0.7", "fa-AF"),
    ("ku-IQ", "ckb"),
    ("en;q=0, sv", "sv"),
    ("uk-UA,uk;q=0.9,ru;q=0.8", "uk"),
    ("garbage!!", "sv"),
])
def test_pages_are_served_in_the_negotiated_language(client, header, html_lang):
    for path in ("/", "/staff/login", "/no/such/page", "/survey"):
        html = client.get(path, headers={"Accept-Language": header}).get_data(as_text=True)
        assert f'<html lang="{html_lang}"' in html, path


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_header_gives_one_of_our_languages(header):
    assert negotiate_language(header) in LANGUAGES


SUBTAG = st.from_regex(r"\A(?:[A-Za-z]{2}|[0-9]{3}|[A-Za-z]{4}|[A-Za-z0-9]{5,8})\Z")


@settings(max_examples=300)
@given(
    code=st.sampled_from(sorted(set(LANGUAGES) | {lang.html_lang for lang in LANGUAGES.values()})),
    subtags=st.lists(SUBTAG, max_size=3),
    others=st.lists(st.sampled_from(["*", "de", "tr-TR", "ru", "zh-Hant", "x-private", "es-419"]), max_size=4),
)
def test_a_region_or_script_falls_back_to_our_language_before_anything_else(code, subtags, others):
    """`<ours>-<anything>` first, then ranges of equal q that are not ours: always ours.

    Appending subtags to `fa` could spell `fa-AF`, which is Dari; those cases are left out.
    """
    tag = "-".join([code, *subtags])
    if tag.lower().startswith("fa-af"):
        return
    expected = {"fa-AF": "prs"}.get(code, code)
    assert negotiate_language(", ".join([tag, *others])) == expected


RANGES = ["sv", "sv-SE", "en", "en-GB", "ar", "ar-EG", "fa", "fa-AF", "prs", "ps", "ti-ER", "so", "uk",
          "ckb", "ku-IQ", "de", "ru", "*", "zh-Hant"]
QUALITIES = ["", ";q=1", ";q=0.9", ";q=0.5", ";q=0.1", ";q=0", ";q=0.000"]


@settings(max_examples=500)
@given(st.lists(st.tuples(st.sampled_from(RANGES), st.sampled_from(QUALITIES)), min_size=1, max_size=8))
def test_a_refused_language_is_never_served(items):
    """A language listed with q=0 is not served, whatever else is listed - unless Swedish
    and English are both refused: something must be served, and that is Swedish."""
    refused = {tag for tag, quality in items if quality in (";q=0", ";q=0.000") and tag in LANGUAGES}
    chosen = negotiate_language(", ".join(tag + quality for tag, quality in items))
    if {"sv", "en"} <= refused:
        assert chosen not in refused - {"sv"}
    else:
        assert chosen not in refused
