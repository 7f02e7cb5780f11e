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


#: The functions whose first string argument is a msgid (Babel's defaults and app.i18n.cli.KEYWORDS).
GETTEXT_CALLS = {"_", "gettext", "ngettext", "lazy_gettext", "lazy_ngettext", "_l", "gettext_digits",
                 "ngettext_digits"}


def test_every_msgid_in_the_code_reaches_the_catalog():
    # The new user's case: `f"{campaign.name} · {_('Page')}"` - Babel's extractor skips a call inside
    # an f-string on Python 3.11, so "Page" was in no catalog and every PDF footer said it in English.
    # Python's own parser finds every call, f-strings too: each literal msgid must be in messages.pot.
    import ast

    committed = {m.id if isinstance(m.id, str) else m.id[0] for m in load(POT) if m.id}
    missing = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_CALLS
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and node.args[0].value not in committed):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.args[0].value!r}")
    assert missing == [], "not extracted (a call inside an f-string?); write it outside the f-string:\n" + "\n".join(
        missing)


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


# --- Script, digit and vocabulary conventions (the 2026-11-30 language review) ---
#
# What a reader found wrong and a machine can find again: each check runs over
# every interface text (all plural forms) and every survey text in the library,
# in the language it is written in. See translations/STATUS.md.

def all_texts() -> dict[str, list[tuple[str, str]]]:
    """language code -> [(where, text)]: catalog strings and library survey texts."""
    import yaml

    from app.surveys.services import builtin_files

    texts: dict[str, list[tuple[str, str]]] = {code: [] for code in LANGUAGES}
    for code, language in LANGUAGES.items():
        for message in load(catalog_path(language.babel_locale)):
            if message.id:
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                where = message.id if isinstance(message.id, str) else message.id[0]
                texts[code] += [(f"catalog: {where}", s) for s in strings]

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            if node and set(node) <= set(LANGUAGES) and all(isinstance(v, str) for v in node.values()):
                for code, text in node.items():
                    texts[code].append((where, text))
                return
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{value.get('key', index) if isinstance(value, dict) else index}]")

    for path in builtin_files():
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.stem)
    return texts


TEXTS = all_texts()
QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|”[^”]*”|“[^”]*”|\([A-Z]+\)")


def offenders(code: str, pattern: str) -> list[tuple[str, str]]:
    regex = re.compile(pattern)
    return [(where, text) for where, text in TEXTS[code] if regex.search(text)]


def test_tigrinya_word_separator_is_never_a_comma():
    """Modern Tigrinya separates words with spaces; ፡ (U+1361) is not a comma: ፣ is.

    The example: 27 survey texts used ፡ as a comma ("ናብ ሽወደን ምምጻእ (ታሪኽ፡ ባህሊ፡ ስደት)").
    """
    assert offenders("ti", "\u1361") == []
    # Nor Latin punctuation right after Ethiopic letters (። ፣ ፤ ፦ are the Ethiopic ones).
    assert offenders("ti", r"[\u1200-\u137F][,.;:]") == []


def test_tigrinya_addresses_customers_in_the_polite_plural():
    """No masculine-singular "your" (-ኻ at the end of a word) in texts that say ኩም elsewhere."""
    assert offenders("ti", r"ኻ(?=[\s።፣፤፦?)]|$)") == []


ARABIC_LETTERS = r"\u0621-\u064A\u0671-\u06D3"
WRONG_LETTERS = {
    # Arabic writes ي and ك; Persian, Dari and Sorani write ی and ک.
    "ar": "[\u06CC\u06A9\u06AF]",
    "prs": "[\u064A\u0643\u0649]",
    "fa": "[\u064A\u0643\u0649]",
    "ckb": "[\u064A\u0643\u0649]",
    # Pashto: ک and ګ (never ك or گ); ي only at the end of a word (-i), ی elsewhere.
    "ps": f"[\u0643\u0649\u06AF]|\u064A(?=[{ARABIC_LETTERS}])",
}


@pytest.mark.parametrize("code", sorted(WRONG_LETTERS))
def test_arabic_script_letters_belong_to_the_language(code):
    assert offenders(code, WRONG_LETTERS[code]) == []


@pytest.mark.parametrize("code", ["ar", "prs", "fa", "ps", "ckb"])
def test_arabic_script_punctuation(code):
    """، ؛ ؟ in Arabic-script text; Latin , ; ? only inside a quoted Latin example."""
    bad = [(where, text) for where, text in TEXTS[code] if re.search(r"[,;?]", QUOTED.sub("", text))]
    assert bad == []


#: Each language's own digits, as customers read them (app/i18n/languages.py).
DIGITS = {
    "sv": "0123456789", "en": "0123456789", "ar": "0123456789", "ti": "0123456789",
    "so": "0123456789", "uk": "0123456789",
    "prs": "۰۱۲۳۴۵۶۷۸۹", "fa": "۰۱۲۳۴۵۶۷۸۹", "ps": "۰۱۲۳۴۵۶۷۸۹",
    "ckb": "٠١٢٣٤٥٦٧٨٩",
}


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_number_in_a_text_uses_the_languages_digits(code):
    """One digit system per language: Sorani "1 تا 5000" beside ١–١٠ elsewhere was the example.

    Numbers inside a quoted Latin example ("AMI 1") stay as written.
    """
    assert LANGUAGES[code].digits == DIGITS[code]
    bad = []
    for where, text in TEXTS[code]:
        visible = QUOTED.sub("", PLACEHOLDER.sub("", text))
        digits = {ch for ch in visible if ch.isdigit()}
        if not digits <= set(DIGITS[code]):
            bad.append((where, text))
    assert bad == []


#: Words the review found wrong here, and why: a new occurrence fails.
FORBIDDEN = {
    "so": [
        (r"(?i)qarsood", "qarsoodi is 'secret, confidential' (someone knows); anonymous is \"magac la'aan\""),
        (r"(?i)\bkood(?!h)", "code is spelled 'koodh'"),
    ],
    "fa": [
        ("نویسه", "a rare Academy coinage: write حرف"),
        ("مشتری", "'buyers': customers are مراجعان"),
        ("\u0647\u200c\u06cc(?=[\\s.،؟:)]|$)", "write the ezafe after silent h as ـهٔ, as everywhere else"),
    ],
    "prs": [
        ("نویسه", "a Persian Academy coinage: write حرف"),
        ("مشتری", "'buyers': customers are مراجعین"),
        ("عرضه‌کنند", "'supplier of goods': a provider is موسسه"),
        ("سالمند", "Iranian usage: افراد مسن or کهن‌سالان"),
        ("معاش", "in Dari معاش is a monthly salary: making a living is تأمین مصارف زندگی"),
        # Iranian words where the Dari texts use their own (translations/STATUS.md).
        (r"\b(پرونده|کلاس|معلم|مدرسه|کودکان|بله|پیامک|تلفن|اسکن|کد)\b",
         "Iranian Persian: Dari says دوسیه، صنف، استاد، مکتب، اطفال، بلی، پیام کوتاه، تیلفون، سکن، کود"),
    ],
    "ar": [
        ("العملاء", "'buyers': customers are المستفيدون"),
        ("\u0627\u064b", "tanween: write ًا (fathatan on the letter before the alif), as the catalog does"),
    ],
    "ps": [
        ("پېرودونک|پیرودونک", "'buyers': customers are مراجعین"),
        ("هیڅ", "spell هېڅ"),
        (r" یې(?=[؟.،]|$)", "the clitic یې stands before the verb (ترلاسه یې کوئ), not after it at the end"),
    ],
    "ckb": [
        ("کڕیار", "'buyers': customers are سوودمەندان"),
        ("پرسیارنامە", "the survey is ڕاپرسی everywhere"),
    ],
    "ti": [
        ("ምላሽ", "Amharic-leaning: an answer is መልሲ"),
        (r"(^|\s)አ", "Amharic spelling: Tigrinya writes ኣ"),
        ("ነው|እባክ", "Amharic (copula ነው, 'please' እባክ): Tigrinya says እዩ, በጃኹም"),
        ("ብኤስኤምኤስ", "write ብጽሑፍ መልእኽቲ (SMS), as the interface does"),
    ],
    "uk": [
        ("'", "the apostrophe is ’, as in the catalog"),
    ],
}


@pytest.mark.parametrize("code", sorted(FORBIDDEN))
def test_words_found_wrong_do_not_come_back(code):
    bad = [(why, where, text) for pattern, why in FORBIDDEN[code] for where, text in offenders(code, pattern)]
    assert bad == []


def test_somali_never_calls_anonymous_answers_confidential():
    """The example of kind 13: "Your answers are anonymous." said "qarsoodi" (confidential)."""
    catalog = load(catalog_path("so"))
    assert catalog["Your answers are anonymous."].string.startswith("Jawaabahaagu waa magac la'aan")


def test_arabic_plurals_follow_the_catalogs_plural_formula():
    """Form 4 is for 100-102 (genitive: "100 سؤال"), form 5 for 11-99 (accusative: "11 سؤالًا").

    The older "You have not answered" entry had the two the other way round.
    """
    from babel.support import Translations

    arabic = Translations.load(str(TRANSLATIONS_DIR), ["ar"])
    question = "You have not answered %(num)d question:", "You have not answered %(num)d questions:"
    expected = {1: "لم تُجب عن 1 سؤال:", 2: "لم تُجب عن 2 سؤالين:", 3: "لم تُجب عن 3 أسئلة:",
                11: "لم تُجب عن 11 سؤالًا:", 99: "لم تُجب عن 99 سؤالًا:", 100: "لم تُجب عن 100 سؤال:",
                102: "لم تُجب عن 102 سؤال:"}
    assert {n: arabic.ngettext(*question, n) % {"num": n} for n in expected} == expected
    for message in load(catalog_path("ar")):
        if message.pluralizable and message.id:
            assert "\u064b" in message.string[5], message.id  # tanween fath on the counted noun
            assert "\u064b" not in message.string[4], message.id


def test_no_two_points_of_a_scale_say_the_same():
    import yaml

    from app.surveys.services import builtin_files

    for path in builtin_files():
        for name, scale in yaml.safe_load(path.read_text(encoding="utf-8"))["scales"].items():
            for code in LANGUAGES:
                labels = [texts[code].strip().casefold() for texts in scale["labels"].values()]
                assert len(set(labels)) == len(labels), (path.name, name, code, labels)
