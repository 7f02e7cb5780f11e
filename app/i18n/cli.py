"""`flask i18n extract|update|compile`: the interface-text catalogs.

`extract` writes translations/messages.pot reproducibly (sorted, no
locations, no dates), `update` merges it into every language's catalog
(creating missing ones), `compile` writes the .mo files the app reads.
The .mo files are build output and not committed.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from flask.cli import AppGroup

from . import TRANSLATIONS_DIR
from .languages import LANGUAGES

ROOT = TRANSLATIONS_DIR.parent
POT = TRANSLATIONS_DIR / "messages.pot"
#: Besides gettext, ngettext and _ (pybabel's defaults); the *_digits ones are app/i18n's.
KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "gettext_digits", "ngettext_digits:1,2"]

i18n_cli = AppGroup("i18n", help="Interface translations (gettext catalogs).")


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def catalog_path(babel_locale: str) -> Path:
    """The .po file of `babel_locale` (e.g. "fa_AF") under translations/."""
    return TRANSLATIONS_DIR / babel_locale / "LC_MESSAGES" / "messages.po"


def extract() -> None:
    """Rewrite translations/messages.pot from the _() calls in app/ (no source locations, sorted)."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel(
        "extract", "-F", str(ROOT / "babel.cfg"), "--no-location", "--sort-output",
        "--no-wrap", "--project", "Kundröst", "--copyright-holder", "Kundröst",
        *keywords, "-o", str(POT), str(ROOT / "app"),
    )
    _drop_creation_date(POT)


def _drop_creation_date(path: Path) -> None:
    # Without it, an unchanged extraction or update gives unchanged files.
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(l for l in lines if not l.startswith('"POT-Creation-Date')), encoding="utf-8")


def update() -> None:
    """Bring every language's .po file in line with messages.pot, creating missing ones; English repeats its msgids."""
    for language in LANGUAGES.values():
        command = "update" if catalog_path(language.babel_locale).exists() else "init"
        extra = ["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []
        _pybabel(command, "-i", str(POT), "-d", str(TRANSLATIONS_DIR), "-l",
                 language.babel_locale, "--no-wrap", *extra)
    _fill_source_language()
    for language in LANGUAGES.values():
        _drop_creation_date(catalog_path(language.babel_locale))


def _fill_source_language() -> None:
    """English is the msgid language: its catalog repeats every msgid."""
    from babel.messages.pofile import read_po, write_po

    path = catalog_path("en")
    with open(path, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and not any(message.string if isinstance(message.string, tuple) else [message.string]):
            message.string = message.id
    with open(path, "wb") as handle:
        write_po(handle, catalog, width=0)


def compile_catalogs() -> None:
    """Compile every .po file to the .mo file Flask-Babel reads. Babel's errors propagate."""
    for language in LANGUAGES.values():
        _pybabel("compile", "-d", str(TRANSLATIONS_DIR), "-l", language.babel_locale)


@i18n_cli.command("extract", with_appcontext=False)
def extract_command() -> None:
    """Write translations/messages.pot from the code and templates."""
    extract()


@i18n_cli.command("update", with_appcontext=False)
def update_command() -> None:
    """Merge messages.pot into every language's catalog."""
    update()


@i18n_cli.command("compile", with_appcontext=False)
def compile_command() -> None:
    """Compile every catalog to the .mo file the app reads."""
    compile_catalogs()


if __name__ == "__main__":  # python -m app.i18n.cli compile: no app needed
    i18n_cli()
