"""The ten languages Kundröst speaks, and what each needs to be shown right.

The public code (URLs, data, survey files) is the ISO 639 code customers'
links carry. Babel does not know Dari (`prs`), so it is served from the
`fa_AF` locale data and catalog; its own name comes from CLDR's language
names, not from the locale's display name ("Persian (Afghanistan)").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from babel import Locale


LATIN_DIGITS = "0123456789"
# Babel formats numbers but does not transliterate digits; these are CLDR's.
NATIVE_DIGITS = {
    "latn": LATIN_DIGITS,
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "ethi": LATIN_DIGITS,  # Ethiopic numerals are not positional; Tigrinya uses 0-9 in practice.
}


@dataclass(frozen=True)
class Language:
    """One language of the service: its codes, and what its locale says about showing it (digits, direction, name)."""

    #: Public code used in links, data and survey files.
    code: str
    #: Babel locale identifier; also the catalog folder under translations/.
    babel_locale: str
    #: Value of the HTML lang attribute (BCP 47).
    html_lang: str

    @cached_property
    def locale(self) -> Locale:
        """The Babel Locale of `babel_locale`, parsed once."""
        return Locale.parse(self.babel_locale)

    @property
    def digits(self) -> str:
        """The locale's own digits 0-9 (CLDR default numbering system)."""
        return NATIVE_DIGITS.get(self.locale.default_numbering_system or "latn", LATIN_DIGITS)

    def number(self, value: int) -> str:
        """An integer written with the language's own digits (question numbers, scale points).

        The one place digits are chosen: every number a customer reads goes
        through here, or through `localise_digits` for text Babel formatted
        (dates), so that a page never mixes two digit systems.
        """
        return self.localise_digits(str(value))

    def localise_digits(self, text: str) -> str:
        """`text` with every ASCII digit 0-9 written in the language's own digits.

        For text Babel formatted with ASCII digits (a date): Babel picks
        month names per locale but not the digits. Only for text the
        product formatted, never for names or answers people typed.
        """
        return text.translate(str.maketrans(LATIN_DIGITS, self.digits))

    @property
    def direction(self) -> str:
        """"rtl" or "ltr", for the HTML dir attribute."""
        # From the locale, never guessed from the text.
        return "rtl" if self.locale.text_direction == "rtl" else "ltr"

    @property
    def own_name(self) -> str:
        """The language's name in the language itself, as a speaker writes it."""
        name = self.locale.languages.get(self.babel_locale) or self.locale.get_display_name()
        # Menus list languages capitalised ("Svenska"); scripts without case are unchanged.
        return name[:1].upper() + name[1:]


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("sv", "sv", "sv"),
        Language("en", "en", "en"),
        Language("ar", "ar", "ar"),
        Language("prs", "fa_AF", "fa-AF"),
        Language("fa", "fa", "fa"),
        Language("ps", "ps", "ps"),
        Language("ti", "ti", "ti"),
        Language("so", "so", "so"),
        Language("uk", "uk", "uk"),
        Language("ckb", "ckb", "ckb"),
    )
}

DEFAULT_LANGUAGE = "sv"

#: Accept-Language tags that mean one of ours although they are spelled otherwise.
ACCEPT_LANGUAGE_ALIASES = {
    "fa-af": "prs",
    "fa-arab-af": "prs",  # with its script subtag: still Dari, not Persian
    "ku-arab": "ckb",
    "ku-iq": "ckb",
}


def get_language(code: str | None) -> Language | None:
    """The Language with public code `code`; None for None, "" or a code not in LANGUAGES."""
    return LANGUAGES.get(code or "")


def by_babel_locale(babel_locale: str) -> Language:
    """The Language served from Babel locale `babel_locale` ("fa_AF" is Dari). Raises KeyError for a locale none uses."""
    for language in LANGUAGES.values():
        if language.babel_locale == babel_locale:
            return language
    raise KeyError(babel_locale)
