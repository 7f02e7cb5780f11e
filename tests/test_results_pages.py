"""The results pages (issue 9, "Pages"): what an analyst and a provider account see, worked out by hand.

Figures are computed by hand in the comments and looked for as a Swedish
staff member reads them ("4,8", "31 %" with Babel's no-break space).
Responses are written as the mixer writes them (tests/results_fixtures.py).
"""

from __future__ import annotations

import html
import io
import re
import uuid
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.accounts.models import Role
from app.analytics.models import ReferenceValue
from app.analytics.results import result_table
from app.analytics.scope import Breakdown, Selection
from app.campaigns.models import Campaign, Invitation
from app.db import db_session

from .conftest import login
from .forms import hidden_fields
from .helpers import translated
from .results_fixtures import add, build_results_world

PERCENT = "\u00a0%"  # Swedish writes "31 %" with a no-break space
TOO_FEW = translated("Not shown", "sv")


def sv(msgid: str, **values) -> str:
    text = translated(msgid, "sv")
    return text % values if values else text


def signed_in(app, make_user, role=Role.ANALYST, provider_id=None):
    client = app.test_client()
    make_user(role, f"user-{role.value}", provider_id=provider_id)
    assert login(client, f"user-{role.value}").status_code == 303
    return client


def invitations(app, world, provider: str, issued: int, answered: int) -> None:
    """Single-use links of `provider`: `issued` of them, the first `answered` claimed."""
    with app.app_context():
        campaign_id = next(iter(world.campaigns.values()))
        for number in range(issued):
            db_session.add(Invitation(
                campaign_id=campaign_id, provider_id=world.providers[provider], programme_id=world.programmes["JPG"],
                language="sv", channel="sms", token_hash=uuid.uuid4().hex * 2, responded=number < answered,
                created_on=date(2027, 3, 1)))
        db_session.commit()


def row_of(page: str, label: str) -> str:
    """The cells of the table row whose heading is (or links) `label`."""
    match = re.search(r"<tr[^>]*><th scope=\"row\">(?:<a [^>]*>)?" + re.escape(label) + r"(?:</a>)?</th>(.*?)</tr>",
                      page, re.S)
    assert match, label
    return match.group(1)


def campaign_id(world) -> int:
    return next(iter(world.campaigns.values()))


def test_the_overview_shows_hand_computed_figures_in_swedish(app, make_user):
    world = build_results_world(app)
    # Nordljus: four answers 5/5 (score 5) and one 4/4 (score 4): NKI (4 x 5 + 4) / 5 = 4.8.
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=4)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4})
    # Bro: six answers 2/2: NKI 2.0.
    add(app, world, "Bro Coachning", {"a": 2, "b": 2}, times=6)
    # Links: Nordljus 5 of 16 answered = 0.3125 -> 31 %; Bro 6 of 10 = 60 %; all 11 of 26 = 0.423 -> 42 %.
    invitations(app, world, "Nordljus AB", 16, 5)
    invitations(app, world, "Bro Coachning", 10, 6)
    client = signed_in(app, make_user)
    page = client.get(f"/staff/results/{campaign_id(world)}").get_data(as_text=True)
    nordljus = row_of(page, "Nordljus AB")
    assert '<td class="num shown">4,8</td>' in nordljus
    assert f"31{PERCENT}" in row_of(page, "Nordljus AB")
    assert f"60{PERCENT}" in page and f"42{PERCENT}" in page
    assert '<td class="num shown">2,0</td>' in row_of(page, "Bro Coachning")
    # Mean over providers with a value: (4.8 + 2.0) / 2 = 3.4; all eleven answers: (24 + 12) / 11 = 3.27 -> 3,3.
    assert "3,4" in row_of(page, sv("Mean over groups with a value"))
    assert '<td class="num shown">3,3</td>' in row_of(page, sv("All answers"))
    # Charts: the interval chart with the average line, and the rates' bars; questions link to their pages.
    assert 'id="nki-chart"' in page and 'class="reference"' in page
    assert 'id="rate-chart"' in page
    assert f'href="/staff/results/{campaign_id(world)}/questions/a"' in page
    assert f'href="/staff/results/{campaign_id(world)}/providers/{world.providers["Nordljus AB"]}' in page
    assert 'id="waiting-note"' in page
    # Under the rates: why "Besvarade" (11 claimed links) and the responses (11 here) need not agree.
    assert ("”Besvarade” räknar de utdelade länkar och blanketter som har använts, svar som ännu väntar på att "
            "blandas in medräknade; ”Fullständiga svar” och ”Ofullständiga svar” räknar svaren som har blandats "
            "in i resultaten") in html.unescape(page.split('id="rates"', 1)[1])


def test_the_issues_bro_at_4_hides_bro_and_nordljus_and_shows_the_total(app, make_user):
    world = build_results_world(app)
    # Bro 4 answers of 1 (NKI 1.0), Nordljus 6 of 5 (NKI 5.0): Bro is hidden, and Nordljus with it, or
    # (3.4 x 10 - 5.0 x 6) / 4 = 1.0 would give Bro back. The total (6 x 5 + 4 x 1) / 10 = 3.4 stays.
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=6)
    add(app, world, "Bro Coachning", {"a": 1, "b": 1}, times=4)
    client = signed_in(app, make_user)
    page = client.get(f"/staff/results/{campaign_id(world)}").get_data(as_text=True)
    for provider in ("Nordljus AB", "Bro Coachning"):
        assert TOO_FEW in row_of(page, provider)
    assert "5,0" not in page and "1,0" not in page
    assert '<td class="num shown">3,4</td>' in row_of(page, sv("All answers"))
    # The question page too: neither provider's mean of a (5.0, 1.0), the total's 3.4.
    question = client.get(f"/staff/results/{campaign_id(world)}/questions/a").get_data(as_text=True)
    assert TOO_FEW in row_of(question, "Nordljus AB") and "5,0" not in question and "1,0" not in question
    assert "3,4" in row_of(question, sv("All answers"))
    # The note under each table says what a page's hidden cell says, in words: no ".." (the new user's
    # finding: "(..)" in the note, "Visas inte" in the cells). A file writes ".." and its note says so.
    # It speaks of groups (the new user: a shown group's partial responses, 4, read as breaking the rule).
    page_note = ("Värden för en grupp med färre än 5 svar visas inte, och inte heller andra värden som de skulle gå "
                 "att räkna fram ur. Inom en grupp som visas kan ett antal vara litet.")
    file_note = ("Värden för en grupp med färre än 5 svar visas inte (..), och inte heller andra värden som de "
                 "skulle gå att räkna fram ur. Inom en grupp som visas kan ett antal vara litet.")
    provider = client.get(f"/staff/results/{campaign_id(world)}/providers/{world.providers['Nordljus AB']}")
    for text in (page, question, provider.get_data(as_text=True)):
        assert page_note in text and ".." not in re.sub(r"<[^>]*>", "", text)
    summary_csv = client.get(f"/staff/results/{campaign_id(world)}/tables/summary.csv").get_data(as_text=True)
    assert file_note in summary_csv and page_note not in summary_csv
    assert '"Nordljus AB";"..";' in summary_csv


def test_a_malformed_filter_is_a_bad_request_with_the_reason(app, make_user):
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=6)
    client = signed_in(app, make_user)
    answer = client.get(f"/staff/results/{campaign_id(world)}?by=colour")
    assert answer.status_code == 400
    assert sv("Results cannot be filtered or broken down by %(name)s.", name="colour") in answer.get_data(as_text=True)
    month = client.get(f"/staff/results/{campaign_id(world)}?month=2027-13")
    assert month.status_code == 400
    assert sv("The filter value %(value)s is not one this survey has.", value="2027-13") in month.get_data(as_text=True)
    # The form's empty "all" values are no filter.
    assert client.get(f"/staff/results/{campaign_id(world)}?provider=&by=").status_code == 200


def test_a_refused_selection_says_why_and_shows_no_figures(app, make_user):
    world = build_results_world(app)
    # Three women among twelve answers: "women" holds 3 < 5 (too few); "men" leaves out 3 (the complement).
    add(app, world, "Nordljus AB", {"a": 5, "b": 5, "gender": "woman"}, times=3)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4, "gender": "man"}, times=9)
    client = signed_in(app, make_user)
    women = client.get(f"/staff/results/{campaign_id(world)}?background:gender=woman")
    assert women.status_code == 200
    text = women.get_data(as_text=True)
    assert sv("Too few answers are in this selection (fewer than %(k)d) to show any figures. Widen the filter.",
              k=5) in text
    assert 'id="summary"' not in text and "5,0" not in text
    men = client.get(f"/staff/results/{campaign_id(world)}?background:gender=man").get_data(as_text=True)
    assert sv("Too few answers lie outside this selection (fewer than %(k)d): showing it would reveal them "
              "by subtraction. Widen the filter.", k=5) in men
    assert "4,0" not in men


def provider_world(app, others_with_answers: int):
    """Nordljus (the provider account's own, 5 answers of 5) and two others, `others_with_answers` of them answered.

    Bro: five answers of 2 (NKI 2.0); Ek: five answers of 4 (NKI 4.0).
    """
    world = build_results_world(app, providers=("Nordljus AB", "Bro Coachning", "Ek Stöd"))
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=5)
    add(app, world, "Bro Coachning", {"a": 2, "b": 2}, times=5)
    if others_with_answers == 2:
        add(app, world, "Ek Stöd", {"a": 4, "b": 4}, times=5)
    return world


def test_the_provider_role_sees_its_own_page_and_nothing_of_the_others(app, make_user):
    world = provider_world(app, others_with_answers=1)
    own, other = world.providers["Nordljus AB"], world.providers["Bro Coachning"]
    client = signed_in(app, make_user, Role.PROVIDER, provider_id=own)
    base = f"/staff/results/{campaign_id(world)}"
    assert client.get("/staff/results/").status_code == 200
    page = client.get(f"{base}/providers/{own}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<td class="num shown">5,0</td>' in text
    # One other provider with a value: its "average" would be Bro's own 2.0, so it is not shown.
    assert sv("Not shown: fewer than two other providers have a value.") in text
    assert "2,0" not in text and "Bro Coachning" not in text
    assert client.get(f"{base}/providers/{other}").status_code == 404
    assert client.get(f"{base}?by=provider").status_code == 404
    assert client.get(f"{base}?provider={other}").status_code == 404
    # Every download refuses another provider alike (the new user: the report answered 200 with its own).
    for download in ("tables.xlsx", "report.pdf", "summary.csv"):
        assert client.get(f"{base}/{download}?provider={other}").status_code == 404, download
    assert client.get(f"{base}/report.pdf?provider={own}").status_code == 200
    assert client.get(f"{base}/comments").status_code == 403
    assert client.get(f"{base}/questions/a").status_code == 403
    # The overview itself leads a provider account to its own page.
    overview = client.get(base)
    assert overview.status_code == 302 and overview.headers["Location"].endswith(f"/providers/{own}")
    # Its downloads are on its page, and they are its own provider's (the new user's finding: none were linked).
    assert f'href="{base}/tables.xlsx"' in text and f'href="{base}/report.pdf"' in text
    workbook = client.get(f"{base}/tables.xlsx")
    assert workbook.status_code == 200
    cells = {str(value) for sheet in load_workbook(io.BytesIO(workbook.data), read_only=True).worksheets
             for row in sheet.iter_rows(values_only=True) for value in row if value is not None}
    assert "JPG" in " ".join(cells) and not any("Bro Coachning" in cell for cell in cells)


def test_the_average_of_two_other_providers_is_shown(app, make_user):
    world = provider_world(app, others_with_answers=2)
    own = world.providers["Nordljus AB"]
    client = signed_in(app, make_user, Role.PROVIDER, provider_id=own)
    text = client.get(f"/staff/results/{campaign_id(world)}/providers/{own}").get_data(as_text=True)
    # Bro 2.0 and Ek 4.0: (2.0 + 4.0) / 2 = 3.0, for the NKI and for each of a and b.
    assert 'id="nki-average">3,0</dd>' in text
    assert row_of(text, sv_question("a")).count("3,0") == 1
    # All other providers pooled: a's answers 5 x 2 and 5 x 4, so five 2s and five 4s (50 % each).
    assert sv("All other providers") in text
    assert "Bro Coachning" not in text and "Ek Stöd" not in text and "2,0" not in text and "4,0" not in text


def sv_question(key: str) -> str:
    return "text sv"  # results_fixtures gives every question the text "text <language>"


def test_comments_in_their_language_for_analysts_and_none_for_a_small_group(app, make_user):
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4, "comment": "Bra coachning"}, times=5)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4, "comment": "شكراً على المساعدة"}, language="ar", times=2)
    add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=5)
    client = signed_in(app, make_user)
    base = f"/staff/results/{campaign_id(world)}/comments"
    text = client.get(base).get_data(as_text=True)
    assert '<blockquote lang="ar" dir="auto">شكراً على المساعدة</blockquote>' in text
    assert "العربية" in text  # the language named
    assert '<blockquote lang="sv" dir="auto">Bra coachning</blockquote>' in text
    searched = client.get(base + "?q=bra").get_data(as_text=True)
    assert "Bra coachning" in searched and "شكراً" not in searched
    # Arabic answers: 2 of 12, fewer than 5: the selection is refused and no comment is shown.
    small = client.get(base + "?language=ar").get_data(as_text=True)
    assert "شكراً" not in small and "Bra coachning" not in small
    assert sv("Too few answers are in this selection (fewer than %(k)d) to show any figures. Widen the filter.",
              k=5) in small


def test_a_reference_value_is_added_checked_shown_and_deleted(app, make_user):
    world = provider_world(app, others_with_answers=2)
    client = signed_in(app, make_user)
    page = client.get("/staff/results/references").get_data(as_text=True)
    form = hidden_fields(page, "/staff/results/references")
    data = {**form, "figure": "results-test|index|", "year": "2024", "label": "SKR, riket", "value": "4,2"}
    # An NKI on 1-5 cannot be 9: refused with the range, nothing stored.
    refused = client.post("/staff/results/references", data={**data, "value": "9"})
    assert refused.status_code == 422
    assert sv("This figure lies between %(low)s and %(high)s: give a value in that range.",
              low="1", high="5") in refused.get_data(as_text=True)
    added = client.post("/staff/results/references", data=data)
    assert (added.status_code, added.headers["Location"]) == (303, "/staff/results/references")
    assert client.post("/staff/results/references", data=data).status_code == 303  # sent again: nothing more
    with app.app_context():
        [stored] = db_session.scalars(select(ReferenceValue)).all()
        assert (stored.figure, stored.year, stored.value, stored.question_key) == ("index:", 2024, 4.2, None)
        reference_id = stored.id
    assert "4,2 (SKR, riket, 2024)" in client.get("/staff/results/references").get_data(as_text=True)
    own = world.providers["Nordljus AB"]
    provider_page = client.get(f"/staff/results/{campaign_id(world)}/providers/{own}").get_data(as_text=True)
    assert "4,2 (SKR, riket, 2024)" in provider_page
    deleted = client.post(f"/staff/results/references/{reference_id}/delete",
                          data={"csrf_token": form["csrf_token"]})
    assert deleted.status_code == 303
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(ReferenceValue)) == 0


def test_core_a_campaign_without_mixed_responses_still_has_its_response_rate(app):
    world = build_results_world(app)
    invitations(app, world, "Nordljus AB", 8, 0)
    with app.app_context():
        table = result_table(db_session, Selection((campaign_id(world),)), Breakdown("provider"), 5)
    # Nothing mixed yet, 8 links handed out, none answered: the table is shown with its rate, 0 of 8.
    assert (table.total.handed_out, table.total.answered, table.total.response_rate) == (8, 0, 0.0)
    assert table.total.responses == 0 and table.total.nki is None


def test_the_overview_and_question_pages_link_to_their_exports_with_the_same_filters(app, client, make_user):
    # The links carry the page's breakdown and filters, and each one answers (200) with the download.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5, "b": 4, "gender": "woman"}, times=6)
    add(app, world, "Bro Coachning", {"a": 2, "b": 2, "gender": "woman"}, times=6)
    add(app, world, "Bro Coachning", {"a": 2, "b": 2, "gender": "man"}, times=6)
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    cid = campaign_id(world)
    page = client.get(f"/staff/results/{cid}?by=programme&background:gender=woman").get_data(as_text=True)
    links = set(re.findall(r'href="([^"]*/staff/results/\d+/(?:tables[^"]*|answers[^"]*|report\.pdf))"', page))
    summary = next(link for link in links if "tables/summary.csv" in link)
    assert "by=programme" in summary and "background:gender=woman" in summary
    assert len(links) == 10
    for link in links:
        assert client.get(html.unescape(link)).status_code == 200, link
    question = client.get(f"/staff/results/{cid}/questions/a?by=programme").get_data(as_text=True)
    assert f"/staff/results/{cid}/tables/question_a.csv?by=programme" in question


def test_the_trend_flags_a_significant_change_from_the_previous_campaign_only(app, client, make_user):
    # Nordljus: 2027 ten 5s and ten 4s (mean 4.5, sd 0.513), 2028 ten 1s and ten 2s (mean 1.5, sd 0.513):
    # t = 3 / sqrt(2 x 0.263 / 20) = 18.5 on 38 df, p far below 0.05 -> "Lower" on 2028.
    # 2029 ten 2s and ten 1s again (the same mean): no flag. Holm over the two pairs changes neither.
    # Bro, in every campaign with 20 answers of 3, keeps the provider table from hiding Nordljus.
    world = build_results_world(app, campaigns=("2027", "2028", "2029"))
    for campaign, values, year in (("2027", (5, 4), 2027), ("2028", (1, 2), 2028), ("2029", (2, 1), 2029)):
        for value in values:
            add(app, world, "Nordljus AB", {"a": value, "b": value}, times=10, campaign=campaign,
                month=date(year, 3, 1))
        add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=20, campaign=campaign, month=date(year, 3, 1))
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{world.campaigns['2029']}/providers/{world.providers['Nordljus AB']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    trend = text.split('id="trend"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><th scope=\"row\">(\d{4}) .*?</tr>", trend, re.S)
    assert rows == ["2027", "2028", "2029"]
    cells = {year: re.search(rf"<th scope=\"row\">{year} .*?</tr>", trend, re.S).group(0) for year in rows}
    lower = translated("Lower", "sv")
    assert lower in cells["2028"]
    # 2029 was tested and did not differ: it says so, apart from a pair that could not be tested.
    assert lower not in cells["2029"] and translated("Higher", "sv") not in cells["2029"]
    assert "<td>Ingen säker skillnad</td>" in cells["2029"]
    # 2027 has no campaign before it: nothing to say.
    assert cells["2027"].endswith("<td></td></tr>")


def test_the_comparison_column_tells_not_significant_from_not_tested(app, client, make_user):
    # The new user's finding: the column was blank both for "not significant" and "not tested".
    # Nordljus 10 x 5 + 10 x 4 (mean 4.5), Bro 10 x 2 + 10 x 1 (1.5): each far from the rest -> Högre, Lägre.
    # Ek 10 x 3 + 10 x 4: mean 3.5, sd 0.513; the others (Nordljus + Bro, 40 answers): mean 3.0, variance
    # 10 x (4 + 1 + 1 + 4) / 39 = 2.564. t = 0.5 / sqrt(0.263 / 20 + 2.564 / 40) = 0.5 / 0.278 = 1.80 on
    # Welch's 52 df: p = 0.08 before Holm, above 0.05 -> "Ingen säker skillnad".
    # Dal has no answers (NKI missing): it cannot be tested -> "Inte jämfört". The rows below the providers
    # (the mean over them, all answers) are no provider: blank.
    world = build_results_world(app, providers=("Nordljus AB", "Bro Coachning", "Ek AB", "Dal AB"))
    for name, values in (("Nordljus AB", (5, 4)), ("Bro Coachning", (2, 1)), ("Ek AB", (3, 4))):
        for value in values:
            add(app, world, name, {"a": value, "b": value}, times=10)
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{campaign_id(world)}").get_data(as_text=True)
    summary = page.split('id="summary"', 1)[1].split("</table>", 1)[0]

    def compared(label: str) -> str:
        return re.findall(r"<td[^>]*>([^<]*)</td>", row_of(summary, label))[-1]

    assert compared("Nordljus AB") == "Högre"
    assert compared("Bro Coachning") == "Lägre"
    assert compared("Ek AB") == "Ingen säker skillnad"
    assert compared("Dal AB") == "Inte jämfört"
    assert compared(sv("Mean over groups with a value")) == ""
    assert compared(sv("All answers")) == ""
    # The files say the same words.
    summary_csv = client.get(f"/staff/results/{campaign_id(world)}/tables/summary.csv").get_data(as_text=True)
    assert '"Ek AB";' in summary_csv and summary_csv.split('"Ek AB";', 1)[1].split("\r\n")[0].endswith(
        '"Ingen säker skillnad"')
    assert summary_csv.split('"Dal AB";', 1)[1].split("\r\n")[0].endswith('"Inte jämfört"')


def test_answer_shares_have_the_base_of_the_mean_and_the_share_positive(app, client, make_user):
    # The new user's finding: the distribution's shares counted "don't know" in, the share positive did not.
    # Nordljus's b: three 5s, two 4s, one 2 and five "don't know": 6 answers on the scale, 11 in all.
    # Share positive (4 and up): 5 of 6 = 83 %; the 5s are 3 of 6 = 50 %, the 4s 2 of 6 = 33 % (50 + 33 = 83);
    # "don't know" 5 of all 11 = 45 %. (Five, not fewer: a "don't know" on an index question makes its
    # respondent partly scored, and 1-4 of them would hide the group.) Bro's eight 3s: a second provider.
    world = build_results_world(app)
    for value, times in ((5, 3), (4, 2), (2, 1), ("dk", 5)):
        add(app, world, "Nordljus AB", {"a": 4, "b": value}, times=times)
    add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=8)
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{campaign_id(world)}/questions/b").get_data(as_text=True)
    assert f"83{PERCENT}" in row_of(page, "Nordljus AB")
    chart_data = page.split('class="chart-data"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row_of(chart_data, "Nordljus AB"))
    # Answers 1..5, then "don't know".
    assert cells == [f"0 (0{PERCENT})", f"1 (17{PERCENT})", f"0 (0{PERCENT})", f"2 (33{PERCENT})",
                     f"3 (50{PERCENT})", f"5 (45{PERCENT})"]
    assert sv("“Don't know” is counted apart and is in no mean. Each answer's share is of the answers on the scale, "
              "like the mean and the share positive; the share of “don't know” is of all answers. The 95 %% interval "
              "is the t interval of the mean.").replace("%%", "%") in page


def test_a_merged_row_says_what_finalisation_merged(app, client, make_user):
    # The new user's finding: a finalised campaign's merged row read as answers gone missing. Six responses
    # stored without their provider (merged at finalisation) and six at Nordljus: the table has the merged
    # row, and the note under it says why; broken down by programme (no merged row) it does not.
    world = build_results_world(app)
    add(app, world, None, {"a": 3, "b": 3}, times=6)
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=6)
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    note = ("”Små grupper sammanslagna så att svaren förblir anonyma”: när en enkätomgång slutförs sparas de svar "
            "som ännu väntar i grupper om minst 5; en mindre grupp lämnar först ifrån sig sina bakgrundssvar, sedan "
            "svarsspråk, månad, insats och anordnare, tills den är stor nog.")
    page = client.get(f"/staff/results/{campaign_id(world)}").get_data(as_text=True)
    assert "3,0" in row_of(page, "Små grupper sammanslagna så att svaren förblir anonyma")
    assert html.unescape(page).count(note) == 1  # under the summary table
    summary_csv = client.get(f"/staff/results/{campaign_id(world)}/tables/summary.csv").get_data(as_text=True)
    assert note.replace('"', '""') in summary_csv
    by_programme = client.get(f"/staff/results/{campaign_id(world)}?by=programme").get_data(as_text=True)
    assert "när en enkätomgång slutförs" not in html.unescape(by_programme)


def test_a_yes_no_questions_spread_is_in_per_cent_as_its_mean(app, client, make_user):
    # The new user: "87 %" beside a standard deviation of "0,35". Nordljus: 8 yes, 2 no on y: mean 0.8 -> 80 %;
    # sample sd sqrt((8 x 0.2^2 + 2 x 0.8^2) / 9) = sqrt(1.6 / 9) = 0.4216 -> 42 %. Bro's ten 3s: a second group.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4, "y": 1}, times=8)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4, "y": 0}, times=2)
    add(app, world, "Bro Coachning", {"a": 3, "b": 3, "y": 1}, times=10)
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{campaign_id(world)}/questions/y").get_data(as_text=True)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row_of(page, "Nordljus AB"))
    assert cells[:3] == ["10", f"80{PERCENT}", f"42{PERCENT}"]


def test_a_finalised_campaign_says_why_background_answers_and_comments_may_be_missing(app, client, make_user):
    # The new user: the finalised demo campaign's gender page said 0 answers and its comments page "Inga
    # kommentarer.", as if nobody had answered. Once finalised, both pages say what finalisation withholds.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4}, times=6)
    add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=6)
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    cid = campaign_id(world)
    pages = {path: f"/staff/results/{cid}{path}" for path in ("/questions/gender", "/questions/a", "/comments")}
    before = {path: client.get(url).get_data(as_text=True) for path, url in pages.items()}
    assert not any('id="background-note"' in text or 'id="withheld-note"' in text for text in before.values())
    with app.app_context():
        db_session.get(Campaign, cid).finalised_on = date(2028, 1, 10)
        db_session.commit()
    after = {path: html.unescape(client.get(url).get_data(as_text=True)) for path, url in pages.items()}
    assert ("Det här är en bakgrundsfråga. När enkätomgången slutfördes lämnade grupper med färre än 5 svar först "
            "ifrån sig sina svar på den") in after["/questions/gender"]
    assert 'id="background-note"' not in after["/questions/a"]
    assert ("När enkätomgången slutfördes lämnade grupper med färre än 5 svar som lämnade ifrån sig sitt språk "
            "eller sina bakgrundssvar också ifrån sig sina kommentarer") in after["/comments"]
