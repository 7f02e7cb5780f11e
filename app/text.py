"""Text as people type it: what every free-text input keeps, counted as the browser counts it."""

from __future__ import annotations

import re
import unicodedata

#: Control characters no keyboard types - only a crafted request sends them,
#: and PostgreSQL cannot store NUL at all. Tabs and line breaks stay.
UNTYPEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


#: Line breaks as forms send them (CR LF) or old systems write them (CR).
LINE_BREAK = re.compile(r"\r\n?")


def typed_text(raw: str) -> str:
    """`raw` without untypeable characters or surrounding white space, line breaks as LF.

    A browser sends a text box's line breaks as CR LF but counts each as
    one character against `maxlength`; stored as LF, the text is what the
    person saw.
    """
    return UNTYPEABLE.sub("", LINE_BREAK.sub("\n", raw)).strip()


def browser_length(text: str) -> int:
    """Length as a browser's `maxlength` counts it: UTF-16 code units.

    A character outside the Basic Multilingual Plane (most emoji) counts
    two, as it does in the browser (HTML: "the length of the value ... in
    code units"). Line breaks count one once `typed_text` made them LF.
    """
    return len(text.encode("utf-16-le")) // 2


# -- Names people type and the system matches ---------------------------------

#: Invisible characters: Unicode's Default_Ignorable_Code_Point property
#: (DerivedCoreProperties.txt, Unicode 15), which Python's unicodedata does
#: not expose. A soft hyphen or zero-width space pasted from a document,
#: or a bidi control, must not make a second "Nordljus AB" that looks like
#: the first.
DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)

#: A key is at most this many times as long as the (NFC) name it folds:
#: no code point's NFC form or case fold is longer than three (ﬃ -> "ffi",
#: the Hebrew presentation forms), and composing, dropping and collapsing
#: only shorten. Key columns are sized with it.
KEY_EXPANSION = 3


#: What `typed_name` drops: the invisible characters except the zero-width
#: non-joiner and joiner, which Persian, Kurdish and Indic names need to be
#: spelled right. Bidi controls among them: an unterminated right-to-left
#: override in a provider's name would reverse the survey's anonymity
#: promise around it, and make "ba snetepmok" look like "Kompetens AB".
INVISIBLE_IN_NAMES = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
#: Characters that show as a blank though Unicode does not call them white space.
BLANK_LOOKING = re.compile("[\u2800]")


def typed_name(raw: str) -> str:
    """A name as it is stored and shown: `typed_text`, in NFKC, without invisibles, white space runs as one space.

    Takes any string (a form field, a command-line argument) and returns
    the name without untypeable or invisible characters (`INVISIBLE_IN_NAMES`;
    a name of nothing else is ""), in compatibility-composed form (NFKC,
    which is also NFC: an "Å" typed as A + combining ring becomes the one
    character "Å" other keyboards send, and full-width "Ｆｉｎａｎｓ", a Roman
    numeral "Ⅰ" or a ligature "Ĳ" become the letters a reader takes them
    for, so two names cannot look alike and differ), its white space - tabs,
    line breaks, no-break and ideographic spaces, the Braille blank -
    folded to single spaces and trimmed. NFKC can make a string longer
    (a ligature becomes its letters): check lengths after this, not before.
    """
    cleaned = INVISIBLE_IN_NAMES.sub("", BLANK_LOOKING.sub(" ", typed_text(raw)))
    return " ".join(unicodedata.normalize("NFKC", cleaned).split())


def match_key(name: str) -> str:
    """The key two names are the same by: what unique columns and lookups compare.

    Takes any string; returns a string in NFC, at most `KEY_EXPANSION`
    times as long as `typed_name(name)`. Two names have the same key when
    they differ only in

    - Unicode normalisation (NFC or NFD "Ångström"),
    - case, by Unicode's full default case folding (`str.casefold`): "ß"
      and "SS", final "ς" and "Σ", "ﬁ" and "FI" all match; Swedish Å, Ä and
      Ö keep their dots and rings, so "Åker" and "Aker" stay two names;
    - the dotted and dotless i of Turkish and Azeri ("İ", "I", "i" and "ı"
      are one letter here): default folding sends "I" to "i" but "ı" to
      itself and "İ" to "i" + dot, so "ILGIN", "Ilgın" and "ılgın" - one
      name in Turkish - would otherwise be two or three;
    - invisible characters (`DEFAULT_IGNORABLE`), what `typed_name`
      leaves out (control characters) and white space (runs, kind of
      space, at either end).

    This is Unicode's compatibility caseless match (The Unicode Standard,
    section 3.13, D146: NFKD(toCasefold(NFKD(toCasefold(NFD(X)))))) plus
    the last two points - compatibility forms (full-width letters, Roman
    numerals, ligatures) are one with their letters -
    computed in Python so that SQLite (whose `lower()` knows only ASCII)
    and PostgreSQL compare exactly the same keys. Stored key columns hold
    this function's result: changing it needs a migration that recomputes
    them (see migrations/versions/0005_folded_name_keys.py).
    """
    once = unicodedata.normalize("NFKD", unicodedata.normalize("NFD", typed_name(name)).casefold())
    folded = unicodedata.normalize("NFKD", once.casefold())
    folded = _undotted_i(folded.replace("\u0131", "i"))
    folded = DEFAULT_IGNORABLE.sub("", folded)
    return unicodedata.normalize("NFC", " ".join(folded.split()))


def _undotted_i(text: str) -> str:
    """`text` (in NFD) without a combining dot above that belongs to an "i".

    The dot belongs to the "i" when no starter and no other mark above
    comes between them (Unicode's After_Soft_Dotted condition, section
    3.13): "i" + dot below + dot above is an "İ" with a dot below.
    """
    kept = []
    after_i = False
    for char in text:
        if char == "\u0307" and after_i:
            continue
        if char == "i":
            after_i = True
        elif unicodedata.combining(char) in (0, 230):
            after_i = False
        kept.append(char)
    return "".join(kept)


# -- What a database can store at all -----------------------------------------

#: Characters no database of ours can take in text: NUL (PostgreSQL refuses
#: it in any text value) and lone UTF-16 surrogates (not Unicode scalar
#: values: they cannot be encoded as UTF-8, so SQLite's driver fails too).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> bool:
    """Whether `value` can be written to or compared in a text column of SQLite and PostgreSQL."""
    return UNSTORABLE.search(value) is None


def without_unstorable(value: str) -> str:
    """`value` without the characters of `UNSTORABLE`."""
    return UNSTORABLE.sub("", value)
