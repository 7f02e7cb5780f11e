"""One rule for every language: everything translated, nothing broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from app.i18n import LANGUAGES, TRANSLATIONS_DIR
from app.i18n.cli import POT, catalog_path, extract

from .conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TEMPLATE_DIRS = [ROOT / "app"]


def load(path: Path) -> Catalog:
    with open(path, "rb") as handle:
        return read_po(handle)


def test_catalog_folders_are_exactly_our_languages():
    folders = {p.name for p in TRANSLATIONS_DIR.iterdir() if p.is_dir()}
    assert folders == {language.babel_locale for language in LANGUAGES.values()}


def test_pot_is_up_to_date(tmp_path, monkeypatch):
    committed = {m.id for m in load(POT) if m.id}
    monkeypatch.setattr("app.i18n.cli.POT", tmp_path / "fresh.pot")
    extract()
    fresh = {m.id for m in load(tmp_path / "fresh.pot") if m.id}
    assert fresh == committed, "run `flask --app app i18n extract` and `... i18n update`"


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_message_is_translated(code):
    language = LANGUAGES[code]
    catalog = load(catalog_path(language.babel_locale))
    template_ids = {m.id for m in load(POT) if m.id}
    assert {m.id for m in catalog if m.id} == template_ids
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{code}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{code}: fuzzy {message.id!r}"


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_placeholders_are_intact(code):
    catalog = load(catalog_path(LANGUAGES[code].babel_locale))
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            expected = set(PLACEHOLDER.findall(message.id[1]))
            for form in message.string:
                assert set(PLACEHOLDER.findall(form)) == expected, (code, message.id)
        else:
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), (code, message.id)
    # Babel's own checkers: format strings compatible, plural counts right.
    problems = [(m.id, errors) for m, errors in catalog.check()]
    assert not problems, problems


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_plural_forms_are_valid(code):
    language = LANGUAGES[code]
    catalog = load(catalog_path(language.babel_locale))
    expected = Catalog(locale=Locale.parse(language.babel_locale))
    assert catalog.plural_forms == expected.plural_forms
    for message in catalog:
        if message.pluralizable and message.id:
            assert len(message.string) == catalog.num_plurals, (code, message.id)


def _visible_template_text(source: str) -> str:
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<style>.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-z]+;", " ", text)
    return text


def test_templates_have_no_untranslated_text():
    """Every word a template shows comes from the catalogs (or from data)."""
    offenders = {}
    for template in sorted(ROOT.joinpath("app").rglob("templates/**/*.html")):
        words = re.findall(r"[^\W\d_]+", _visible_template_text(template.read_text()))
        words = [w for w in words if w not in {"v"}]  # "v2": a survey version number
        if words:
            offenders[str(template.relative_to(ROOT))] = words
    assert not offenders


def test_status_file_covers_every_language():
    status = (TRANSLATIONS_DIR / "STATUS.md").read_text()
    for code, language in LANGUAGES.items():
        assert re.search(rf"^\| `{code}` ", status, re.M), f"STATUS.md has no row for {code}"


def test_language_metadata():
    """The language table against the hand-written facts (tests/helpers.py), every field."""
    from .helpers import LANGUAGE_FACTS

    actual = {code: (language.html_lang, language.direction, language.own_name) for code, language in LANGUAGES.items()}
    assert actual == LANGUAGE_FACTS
    # Babel knows no Dari: its catalogs live under fa_AF (docs in app/i18n).
    assert {code: language.babel_locale for code, language in LANGUAGES.items() if language.babel_locale != code} == {
        "prs": "fa_AF"}
