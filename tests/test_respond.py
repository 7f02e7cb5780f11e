"""The respondent flow through the Flask test client, in several languages."""

from __future__ import annotations

import gzip
import re
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.db import db_session
from app.campaigns.models import Campaign
from app.respond.grant import GRANT_KEY
from app.respond.views import PAGE_SCOPE_SECONDS, RECENT_SCOPES_KEY

from .conftest import build_world, csrf_token_from, stockholm_today
from .helpers import (
    count_responses,
    count_stored,
    definition_of,
    full_answers,
    open_survey,
    submit,
    html_tag,
    translated,
    waiting_sheets,
)


def stored_sheets(app):
    """What the write path stored: every waiting answer, opened with the test's keys."""
    return waiting_sheets(app)


def test_link_is_short_enough_for_an_sms(app, world):
    token = world.invite(app)[0]
    assert len(f"/s/{token}") <= 32


def test_opening_a_link_trades_the_token_for_a_session(app, client, world):
    token = world.invite(app, "ar")[0]
    opened = client.get(f"/s/{token}")
    assert opened.status_code == 303
    assert opened.headers["Location"] == "/survey?opened=ar"  # the link's language, never its token
    assert opened.data == b""  # nothing a phone would download for nothing
    assert token not in opened.headers["Location"]
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/survey")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert token not in html


@pytest.mark.parametrize("language, direction", [("sv", "ltr"), ("ar", "rtl"), ("ti", "ltr"), ("prs", "rtl"), ("ckb", "rtl")])
def test_survey_is_shown_in_the_language_of_the_link(app, client, world, language, direction):
    definition = definition_of(app, world)
    page, _ = open_survey(client, world.invite(app, language)[0])
    html = page.get_data(as_text=True)
    html_lang = "fa-AF" if language == "prs" else language
    assert f'<html lang="{html_lang}" dir="{direction}">' in html
    assert definition.title[language] in html
    first = next(definition.questions)
    assert first.text[language] in html


def test_scale_points_carry_words_and_a_dont_know_choice(app, client, world):
    definition = definition_of(app, world)
    page, _ = open_survey(client, world.invite(app, "sv")[0])
    html = page.get_data(as_text=True)
    scale_question = next(q for q in definition.questions if q.type == "scale")
    for point in range(1, 6):
        assert scale_question.scale.label(point, "sv") in html
    assert f'name="{scale_question.key}" value="dk"' in html
    assert translated("Don't know / does not apply", "sv") in html


def test_complete_answer_is_stored_sealed_with_scope_and_a_coarse_month(app, client, world):
    definition = definition_of(app, world)
    _, csrf = open_survey(client, world.invite(app, "so")[0])
    sent = submit(client, csrf, full_answers(definition, 5))
    assert sent.status_code == 303 and sent.headers["Location"] == "/thanks"
    assert count_responses(app) == 0  # nothing readable until the mixer releases a cell
    [sheet] = stored_sheets(app)
    assert sheet.status == "complete"
    assert sheet.language == "so"
    assert sheet.channel == "sms"
    assert sheet.provider_id == world.provider_ids[0]
    stockholm_today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    assert sheet.month == stockholm_today.replace(day=1)  # nothing finer than the month
    scale_key = next(q.key for q in definition.questions if q.type == "scale")
    assert sheet.answers[scale_key].value == 5
    thanks = client.get("/thanks")
    assert thanks.status_code == 200
    html = thanks.get_data(as_text=True)
    assert html_tag("so") in html
    assert f"<h1>{translated('Thank you for your answers!', 'so')}</h1>" in html
    assert translated("Your answers have been saved. They are anonymous.", "so") in html


def test_skipped_questions_are_listed_and_can_be_sent_anyway(app, client, world):
    definition = definition_of(app, world)
    answers = full_answers(definition)
    required = next(q for q in definition.questions if q.required)
    del answers[required.key]
    _, csrf = open_survey(client, world.invite(app, "en")[0])
    first = submit(client, csrf, answers)
    assert first.status_code == 200  # the page again, with a note
    html = first.get_data(as_text=True)
    assert 'id="skipped"' in html
    assert f'href="#q-{required.key}"' in html
    assert 'role="status"' not in html  # no "your earlier answers are filled in": none were
    kept = next(k for k in answers if definition.question(k).type == "scale")
    assert f'name="{kept}" value="{answers[kept]}" checked' in html
    assert count_stored(app) == 0
    sent = submit(client, csrf, answers, action="send_anyway")
    assert sent.status_code == 303
    [sheet] = stored_sheets(app)
    assert sheet.status == "partial"


def test_skipping_only_optional_questions_still_counts_as_complete(app, client, world):
    definition = definition_of(app, world)
    answers = full_answers(definition)
    optional = [q.key for q in definition.questions if not q.required]
    assert optional, "the survey should have optional questions"
    for key in optional:
        answers.pop(key, None)
    _, csrf = open_survey(client, world.invite(app)[0])
    assert submit(client, csrf, answers, action="send_anyway").status_code == 303
    assert stored_sheets(app)[0].status == "complete"


def test_dont_know_answers_a_required_question(app, client, world):
    definition = definition_of(app, world)
    answers = full_answers(definition)
    required_scale = next(q for q in definition.questions if q.required and q.type == "scale")
    answers[required_scale.key] = "dk"
    _, csrf = open_survey(client, world.invite(app)[0])
    assert submit(client, csrf, answers).status_code == 303
    [sheet] = stored_sheets(app)
    assert sheet.status == "complete"
    answer = sheet.answers[required_scale.key]
    assert answer.dont_know and answer.value is None


def test_unknown_and_used_links_are_indistinguishable(app, client, world):
    definition = definition_of(app, world)
    token = world.invite(app)[0]
    _, csrf = open_survey(client, token)
    submit(client, csrf, full_answers(definition))
    other = app.test_client()
    used = other.get(f"/s/{token}")
    unknown = other.get("/s/" + "A" * len(token))
    malformed = other.get("/s/short")
    assert used.status_code == unknown.status_code == malformed.status_code == 404
    assert used.get_data() == unknown.get_data() == malformed.get_data()
    assert sorted(used.headers.keys()) == sorted(unknown.headers.keys())
    assert "Set-Cookie" not in used.headers and "Set-Cookie" not in unknown.headers


def test_unknown_and_used_links_take_similar_time(app, world):
    definition = definition_of(app, world)
    tokens = world.invite(app, count=30)
    for token in tokens:
        client = app.test_client()
        _, csrf = open_survey(client, token)
        submit(client, csrf, full_answers(definition))
    client = app.test_client()
    timings = {"used": [], "unknown": []}
    # Interleaved, so that a noisy machine slows both kinds alike.
    for _ in range(3):
        for token in tokens:
            for kind, path in (("used", f"/s/{token}"), ("unknown", "/s/" + token[::-1])):
                start = time.perf_counter()
                client.get(path)
                timings[kind].append(time.perf_counter() - start)
    used, unknown = (sorted(t)[len(t) // 2] for t in (timings["used"], timings["unknown"]))
    assert 0.5 < used / unknown < 2.0


@pytest.mark.parametrize("language", ["sv", "en", "ar", "ti"])
def test_closed_survey_link_says_so_in_the_links_language(app, client, language):
    world = build_world(app, starts_on=stockholm_today() - timedelta(days=30), ends_on=stockholm_today() - timedelta(days=1))
    page = client.get(f"/s/{world.invite(app, language)[0]}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert html_tag(language) in html
    assert f"<h1>{translated('This survey has closed', language)}</h1>" in html
    assert f"<p>{translated('The time to answer this survey is over. Thank you for your interest.', language)}</p>" in html


def close_campaign(app, world) -> None:
    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = stockholm_today() - timedelta(days=1)
        db_session.commit()


def test_a_campaign_closing_while_a_customer_answers_stores_nothing(app, client, world):
    definition = definition_of(app, world)
    _, csrf = open_survey(client, world.invite(app, "uk")[0])
    close_campaign(app, world)
    # The page in hand was read while the campaign ran; the submit reads afresh.
    sent = submit(client, csrf, full_answers(definition))
    assert sent.status_code == 410
    assert f"<h1>{translated('This survey has closed', 'uk')}</h1>" in sent.get_data(as_text=True)
    assert count_stored(app) == 0


def test_survey_page_of_a_closed_campaign_says_so_within_seconds(app, client, world, monkeypatch):
    open_survey(client, world.invite(app, "so")[0])
    close_campaign(app, world)
    # Pages share what they read of a campaign for PAGE_SCOPE_SECONDS (services.RecentScopes).
    later = time.monotonic() + PAGE_SCOPE_SECONDS + 0.1
    monkeypatch.setattr(app.extensions[RECENT_SCOPES_KEY], "clock", lambda: later)
    page = client.get("/survey")
    assert page.status_code == 410
    assert f"<h1>{translated('This survey has closed', 'so')}</h1>" in page.get_data(as_text=True)


@pytest.mark.parametrize(("language", "written"), [("en", "March 7, 2099"), ("sv", "7 mars 2099")])
def test_survey_not_yet_open_gives_its_start_date(app, client, language, written):
    # A start far ahead, so that no other year on the page can stand in for it;
    # the date as a reader of the language writes it, typed out here.
    world = build_world(app, starts_on=date(2099, 3, 7), ends_on=date(2099, 4, 30))
    page = client.get(f"/s/{world.invite(app, language)[0]}")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert f"<h1>{translated('This survey is not open yet', language)}</h1>" in html
    note = translated("You can answer from %(date)s. Please open the link again then.", language)
    assert note % {"date": written} in html


@pytest.mark.parametrize("language", ["sv", "uk"])
def test_survey_page_without_a_link_explains_what_to_do(client, world, language):
    # Every page has <link rel="icon">: the words of the message are what count.
    client.get(f"/?lang={language}")
    page = client.get("/survey")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert f"<h1>{translated('This link cannot be used', language)}</h1>" in html
    assert f"<p>{translated('The link may be incomplete, or it has already been used to answer.', language)}</p>" in html
    what_to_do = translated("If you got the link in a text message, open it again from there. "
                            "If you scanned a code, scan it again.", language)
    assert what_to_do in html


def test_double_submit_stores_one_response(app, client, world):
    definition = definition_of(app, world)
    _, csrf = open_survey(client, world.invite(app)[0])
    first = submit(client, csrf, full_answers(definition))
    # The same page sent again (a double tap, or the back button and send).
    second = submit(client, csrf, full_answers(definition))
    assert first.status_code == 303
    assert second.status_code == 303
    assert second.headers["Location"] == "/thanks?again=1"
    assert count_stored(app) == 1


def test_two_tabs_with_one_session_store_one_response(app, world):
    """Both tabs share the cookie that the first opening of the link set."""
    definition = definition_of(app, world)
    token = world.invite(app)[0]
    tab_one = app.test_client()
    _, csrf = open_survey(tab_one, token)
    cookie = tab_one.get_cookie("kr").value
    tab_two = app.test_client()
    tab_two.set_cookie("kr", cookie)
    first = submit(tab_one, csrf, full_answers(definition))
    second = submit(tab_two, csrf, full_answers(definition, 2))
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == "/thanks?again=1"
    again = tab_two.get(second.headers["Location"])
    assert translated("Your answers have already been received", "sv") in again.get_data(as_text=True)
    assert count_stored(app) == 1
    [sheet] = stored_sheets(app)
    values = {a.value for a in sheet.answers.values() if a.value and a.value > 1}
    assert values == {4}  # the first tab's answers were kept, the second's refused


def test_a_submit_hands_its_connection_back_ready_for_transactions(app, client, world):
    # On PostgreSQL a submit runs its connection in autocommit; a request that
    # got it next from the pool must still be able to roll back.
    definition = definition_of(app, world)
    _, csrf = open_survey(client, world.invite(app)[0])
    assert submit(client, csrf, full_answers(definition)).status_code == 303
    engine = app.extensions["kundrost.db"].engine
    idle = [engine.connect() for _ in range(max(1, engine.pool.checkedin()))]
    try:
        for connection in idle:
            connection.execute(Campaign.__table__.update().values(name="rolled back"))
            connection.rollback()
    finally:
        for connection in idle:
            connection.close()
    with app.app_context():
        assert "rolled back" not in set(db_session.scalars(select(Campaign.name)))


def test_explicit_choice_beats_link_and_browser_language(app, client, world):
    _, csrf = open_survey(client, world.invite(app, "ar")[0], **{"Accept-Language": "uk"})
    switched = client.post("/survey", data={"csrf_token": csrf, "switch_to": "ti"})
    assert switched.status_code == 303
    page = client.get("/survey", headers={"Accept-Language": "uk"})
    assert '<html lang="ti" dir="ltr">' in page.get_data(as_text=True)


def test_link_language_beats_browser_language(app, client, world):
    page, _ = open_survey(client, world.invite(app, "so")[0], **{"Accept-Language": "uk,en;q=0.5"})
    assert '<html lang="so"' in page.get_data(as_text=True)


@pytest.mark.parametrize("header, expected", [
    ("uk,en;q=0.5", "uk"), ("fa-AF,fa;q=0.8", "fa-AF"), ("fa-IR", "fa"), ("de-DE,de", "sv"), ("", "sv"),
])
def test_without_a_link_the_browser_language_then_swedish(client, header, expected):
    page = client.get("/", headers={"Accept-Language": header} if header else {})
    assert f'<html lang="{expected}"' in page.get_data(as_text=True)


def test_switching_language_keeps_the_answers_given(app, client, world):
    definition = definition_of(app, world)
    answers = dict(list(full_answers(definition, 2).items())[:3])
    _, csrf = open_survey(client, world.invite(app, "sv")[0])
    switched = client.post("/survey", data={"csrf_token": csrf, "switch_to": "ar", **answers})
    assert switched.status_code == 303
    html = client.get("/survey").get_data(as_text=True)
    assert html_tag("ar") in html
    for key, value in answers.items():
        assert f'name="{key}" value="{value}" checked' in html
    assert count_stored(app) == 0


def test_expired_session_keeps_answers_until_the_link_is_opened_again(app, client, world):
    definition = definition_of(app, world)
    answers = full_answers(definition, 3)
    token = world.invite(app, "ar")[0]
    _, csrf = open_survey(client, token)
    with client.session_transaction() as session:
        session[GRANT_KEY] = {**session[GRANT_KEY], "issued_at": int(time.time()) - 3 * 3600}
    late = submit(client, csrf, answers)
    assert late.status_code == 200
    assert_expired_page(late.get_data(as_text=True), "ar")  # explained in the customer's language
    assert count_stored(app) == 0
    reopened, csrf = open_survey(client, token)
    html = reopened.get_data(as_text=True)
    scale_key = next(k for k in answers if definition.question(k).type == "scale")
    assert f'name="{scale_key}" value="3" checked' in html
    assert 'role="status"' in html  # "your earlier answers are filled in"
    assert submit(client, csrf, answers).status_code == 303
    assert count_stored(app) == 1


def assert_expired_page(html: str, language: str, kept: bool = True) -> None:
    """The page that asks to open the link again: in `language`, saying how to go on - and that
    the answers are kept on the phone only when they were (`kept`)."""
    assert html_tag(language) in html
    assert f"<h1>{translated('Please open your link again', language)}</h1>" in html
    how_to_go_on = ("Your answers are kept on this phone. Open the link from your text message, "
                    "or scan the code again, to continue and send them." if kept else
                    "If you got the link in a text message, open it again from there. "
                    "If you scanned a code, scan it again.")
    for paragraph in ("For your privacy, the survey page closes after a while without activity.", how_to_go_on):
        assert f"<p>{translated(paragraph, language)}</p>" in html


@pytest.mark.parametrize("forged", [{"provider_id": 999_999}, {"campaign_id": 999_999}])
def test_an_expired_grant_for_a_scope_that_does_not_exist_is_no_server_error(app, client, world, forged):
    # Only someone holding SECRET_KEY can sign such a cookie; it must still get a page, not a 500.
    _, csrf = open_survey(client, world.invite(app, "ti")[0])
    with client.session_transaction() as session:
        session[GRANT_KEY] = {**session[GRANT_KEY], **forged, "issued_at": int(time.time()) - 3 * 3600}
    late = submit(client, csrf, full_answers(definition_of(app, world)))
    assert late.status_code == 200
    # No survey to keep the answers for: the page does not claim they were kept.
    assert_expired_page(late.get_data(as_text=True), "ti", kept=False)
    assert count_stored(app) == 0


def test_a_draft_is_never_shown_to_the_next_link_opened_on_the_phone(app, client, world):
    definition = definition_of(app, world)
    first, second = world.invite(app, "sv", count=2)
    _, csrf = open_survey(client, first)
    scale_key = next(q.key for q in definition.questions if q.type == "scale")
    client.post("/survey", data={"csrf_token": csrf, "switch_to": "en", scale_key: "1"})
    page, _ = open_survey(client, second)
    assert f'name="{scale_key}" value="1" checked' not in page.get_data(as_text=True)


def test_post_without_a_valid_csrf_token_loses_nothing_and_explains(app, client, world):
    definition = definition_of(app, world)
    token = world.invite(app, "uk")[0]
    open_survey(client, token)
    refused = client.post("/survey", data={"csrf_token": "forged", "action": "send", **full_answers(definition, 2)})
    assert refused.status_code == 400
    assert_expired_page(refused.get_data(as_text=True), "uk")
    assert count_stored(app) == 0
    page, _ = open_survey(client, token)
    scale_key = next(q.key for q in definition.questions if q.type == "scale")
    assert f'name="{scale_key}" value="2" checked' in page.get_data(as_text=True)


def test_open_link_answers_count_as_qr_channel(app, client, world):
    definition = definition_of(app, world)
    code = world.open_link_code(app, "ti")
    assert client.get(f"/o/{code}").status_code == 303
    csrf = csrf_token_from(client.get("/survey").get_data(as_text=True))
    answers = full_answers(definition)
    assert submit(client, csrf, answers).status_code == 303
    [sheet] = stored_sheets(app)
    assert (sheet.channel, sheet.language) == ("qr", "ti")
    assert sorted(sheet.answers) == sorted(answers)


def test_respondent_pages_do_not_leak_referrer_or_get_cached(app, client, world):
    page, _ = open_survey(client, world.invite(app)[0])
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert '<meta name="referrer" content="no-referrer">' in page.get_data(as_text=True)


def test_survey_page_loads_nothing_from_other_hosts(app, client, world):
    html = open_survey(client, world.invite(app)[0])[0].get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html


def _into_the_next_second() -> None:
    """Sleep until the clock's whole second changes (at most one second).

    A CSRF token carries the second it was made in (itsdangerous' timestamp):
    two requests in different seconds get different tokens. Crossing a
    second on purpose makes a test that compares two pages meet that case on
    every run, not only when the machine happens to be slow.
    """
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.01)


def without_token(html: str) -> str:
    return html.replace(csrf_token_from(html), "<token>")


def test_survey_page_is_compressed_for_phones(app, world):
    # Two phones, one of them asking twice: each gets the whole page, its own token
    # in it, in one gzip stream it can read - and the token works.
    phones = [app.test_client(), app.test_client()]
    answers = full_answers(definition_of(app, world))
    phone_accepts = {"Accept-Encoding": "gzip, deflate, br"}
    pages = []
    for phone in phones:
        assert phone.get(f"/s/{world.invite(app, 'ar')[0]}").status_code == 303
        plain = phone.get("/survey")
        assert "Content-Encoding" not in plain.headers
        assert plain.headers["Content-Type"].lower() == "text/html; charset=utf-8"
        plain = plain.get_data(as_text=True)
        for _ in range(2):
            _into_the_next_second()
            page = phone.get("/survey", headers=phone_accepts)
            assert page.headers["Content-Encoding"] == "gzip"
            assert page.headers["Content-Type"].lower() == "text/html; charset=utf-8"
            assert "accept-encoding" in {v.strip().lower() for v in page.headers["Vary"].split(",")}
            assert len(page.data) < 14 * 1024
            html = gzip.decompress(page.data).decode()
            # The same page as sent uncompressed, but for the token, which is made afresh.
            assert without_token(html) == without_token(plain)
            assert '<html lang="ar" dir="rtl">' in html
        pages.append(html)
    assert csrf_token_from(pages[0]) != csrf_token_from(pages[1])
    assert without_token(pages[0]) == without_token(pages[1])
    for phone, html in zip(phones, pages):
        assert submit(phone, csrf_token_from(html), answers).status_code == 303
    assert count_stored(app) == 2


def test_survey_page_is_plain_for_a_browser_that_accepts_no_gzip(app, client, world):
    client.get(f"/s/{world.invite(app, 'ti')[0]}")
    page = client.get("/survey", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in page.headers
    assert '<html lang="ti" dir="ltr">' in page.get_data(as_text=True)


def test_the_session_cookie_is_written_when_the_link_opens_not_on_each_page(app, client, world):
    opened = client.get(f"/s/{world.invite(app)[0]}")
    assert "kr=" in opened.headers["Set-Cookie"]
    # The form's CSRF secret came with the grant: loading the page changes nothing the phone holds.
    for _ in range(2):
        page = client.get("/survey")
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers


def test_blank_survey_pages_are_kept_per_provider_with_each_visitors_own_token(app, world):
    # The blank page is rendered once and kept (respond/rendering.py); what
    # differs between visitors must still differ.
    pages = []
    for provider, name in ((0, "Nordljus AB"), (1, "Bro Coachning"), (0, "Nordljus AB")):
        client = app.test_client()
        page, csrf = open_survey(client, world.invite(app, "so", provider=provider)[0])
        html = page.get_data(as_text=True)
        assert name in html
        assert "<csrf-token>" not in html
        assert html.count(csrf) == 1
        pages.append((client, csrf, html))
    (first, first_csrf, first_html), _, (third, third_csrf, third_html) = pages
    assert first_csrf != third_csrf
    assert first_html.replace(first_csrf, "") == third_html.replace(third_csrf, "")
    # Each visitor's token is the one their session accepts, and only theirs.
    answers = full_answers(definition_of(app, world))
    assert submit(first, third_csrf, answers).status_code == 400
    assert submit(first, first_csrf, answers).status_code == 303
    assert submit(third, third_csrf, answers).status_code == 303
    assert count_stored(app) == 2


def test_a_blank_survey_page_is_rendered_once_and_kept(app, world):
    # Kept per survey, language and provider (respond/rendering.py): the next
    # visitor gets the very page kept, not a new rendering.
    from app.respond.rendering import CACHE_KEY

    def visit(language: str, provider: int = 0) -> None:
        phone = app.test_client()
        open_survey(phone, world.invite(app, language, provider=provider)[0])

    visit("so")
    kept = dict(app.extensions[CACHE_KEY])
    assert len(kept) == 1
    visit("so")
    assert len(app.extensions[CACHE_KEY]) == 1
    [(key, (_definition, page))] = kept.items()
    assert app.extensions[CACHE_KEY][key][1] is page
    visit("ti")
    visit("so", provider=1)
    assert len(app.extensions[CACHE_KEY]) == 3


def test_a_page_with_answers_is_never_served_from_the_blank_page(app, client, world):
    definition = definition_of(app, world)
    _page, csrf = open_survey(client, world.invite(app)[0])
    first = next(iter(definition.questions)).key
    switched = client.post("/survey", data={"csrf_token": csrf, first: "5", "switch_to": "en"})
    assert switched.status_code == 303
    html = client.get("/survey").get_data(as_text=True)
    assert f'name="{first}" value="5" checked' in html
    assert client.get("/survey?lang=sv").status_code == 303
    assert f'name="{first}" value="5" checked' in client.get("/survey").get_data(as_text=True)


@pytest.mark.parametrize(
    "survey_key", ["nacka-arbetsmarknad", "samhallsorientering", "skr-brukarundersokning", "nki-scb"]
)
def test_every_kind_of_answer_is_stored_as_given(app, survey_key):
    world = build_world(app, survey_key=survey_key)
    definition = definition_of(app, world)
    posted = full_answers(definition)
    offers_dont_know = [q for q in definition.questions if getattr(q, "dont_know", False)]
    if offers_dont_know:
        posted[offers_dont_know[-1].key] = "dk"
    client = app.test_client()
    _, csrf = open_survey(client, world.invite(app, "ti")[0])
    assert submit(client, csrf, posted, action="send_anyway").status_code == 303
    [sheet] = stored_sheets(app)
    stored = sheet.answers
    assert set(stored) == set(posted)
    for key, raw in posted.items():
        row = stored[key]
        assert (row.value, row.choice, row.text, row.dont_know) == as_stored(definition.question(key).type, raw), key


def as_stored(kind: str, posted: str) -> tuple:
    """How a posted answer must be kept, (value, choice, text, dont_know), by the
    storage rules (app/respond/models.py: a scale point, yes 1 / no 0, an option
    key, the text, or "don't know") - written out here, not asked of the parser under test."""
    if posted == "dk":
        return (None, None, None, True)
    if kind == "scale":
        return (int(posted), None, None, False)
    if kind == "yesno":
        return ({"yes": 1, "no": 0}[posted], None, None, False)
    if kind == "choice":
        return (None, posted, None, False)
    assert kind == "text", kind
    return (None, None, posted, False)


@pytest.mark.parametrize(("survey_key", "posted", "kept"), [
    # question key: what the phone posts -> (value, choice, text, dont_know) kept
    ("nacka-arbetsmarknad",
     {"treated_well": "5", "explains_clearly": "1", "clear_goals": "dk", "gender": "man", "comments": "Bra stöd 😊"},
     {"treated_well": (5, None, None, False), "explains_clearly": (1, None, None, False),
      "clear_goals": (None, None, None, True), "gender": (None, "man", None, False),
      "comments": (None, None, "Bra stöd 😊", False)}),
    ("samhallsorientering", {"study_visits": "no"}, {"study_visits": (0, None, None, False)}),
    ("samhallsorientering", {"study_visits": "yes"}, {"study_visits": (1, None, None, False)}),
])
def test_answers_are_kept_as_these_literal_rows(app, survey_key, posted, kept):
    world = build_world(app, survey_key=survey_key)
    client = app.test_client()
    _, csrf = open_survey(client, world.invite(app)[0])
    assert submit(client, csrf, posted, action="send_anyway").status_code == 303
    [sheet] = stored_sheets(app)
    assert {key: (a.value, a.choice, a.text, a.dont_know) for key, a in sheet.answers.items()} == kept


def test_a_response_with_every_question_skipped_is_kept_as_partial(app, client, world):
    _, csrf = open_survey(client, world.invite(app)[0])
    assert submit(client, csrf, {}, action="send_anyway").status_code == 303
    [sheet] = stored_sheets(app)
    assert sheet.status == "partial"
    assert sheet.answers == {}


def test_a_language_chosen_for_one_link_is_not_forced_on_the_next_person(app, client, world):
    # A shared phone: the first customer switches to Arabic and leaves without sending.
    first, second, third = world.invite(app, "sv")[0], world.invite(app, "ti")[0], world.invite(app, "so")[0]
    _, csrf = open_survey(client, first)
    client.post("/survey", data={"csrf_token": csrf, "switch_to": "ar"})
    assert '<html lang="ar"' in open_survey(client, first)[0].get_data(as_text=True)  # their own link: still Arabic
    page, csrf = open_survey(client, second)
    assert '<html lang="ti"' in page.get_data(as_text=True)  # the next link: its own language
    # After sending, the choice made while answering is done with too.
    client.post("/survey", data={"csrf_token": csrf, "switch_to": "uk"})
    _, csrf = open_survey(client, second)
    assert submit(client, csrf, full_answers(definition_of(app, world))).status_code == 303
    assert html_tag("uk") in client.get("/thanks").get_data(as_text=True)
    assert '<html lang="so"' in open_survey(client, third)[0].get_data(as_text=True)


@pytest.mark.parametrize("language", ["ti", "uk"])
def test_an_over_long_text_comes_back_whole_with_a_note_in_the_customers_language(app, client, world, language):
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    answers = full_answers(definition)
    answers[text_key] = ("Mycket bra stöd. " * 80)[:1200]  # past the text box's limit of 1,000
    _, csrf = open_survey(client, world.invite(app, language)[0])
    sent = submit(client, csrf, answers)
    assert sent.status_code == 422
    html = sent.get_data(as_text=True)
    note = translated("Your text is too long. Please shorten it to at most %(num)d characters.", language)
    assert note % {"num": 1000} in html
    assert answers[text_key] in html.replace("&#39;", "'")  # nothing of it lost
    assert count_stored(app) == 0


def test_free_text_keeps_what_a_person_can_type_and_drops_control_bytes(app, client, world):
    # NUL cannot be stored by PostgreSQL at all; no keyboard types it, a crafted POST can.
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    answers = full_answers(definition)
    answers[text_key] = "Bra \x00stöd\x07,\tmen\r\nför lite praktik 😊 \u200fشكرا"
    _, csrf = open_survey(client, world.invite(app, "ar")[0])
    assert submit(client, csrf, answers).status_code == 303
    [sheet] = stored_sheets(app)
    stored = sheet.answers[text_key].text
    assert stored == "Bra stöd,\tmen\nför lite praktik 😊 \u200fشكرا"  # the line break as the browser counts it


def test_an_open_link_form_sent_twice_is_stored_once(app, client, world):
    # A phone that lost the reply sends the same form again: its cookie and
    # form are those of the first send, and nothing more is stored.
    definition = definition_of(app, world)
    code = world.open_link_code(app, "so")
    assert client.get(f"/o/{code}").status_code == 303
    csrf = csrf_token_from(client.get("/survey").get_data(as_text=True))
    cookie = client.get_cookie("kr").value
    first = submit(client, csrf, full_answers(definition))
    resend = app.test_client()
    resend.set_cookie("kr", cookie)  # the cookie as it was before the lost reply
    second = submit(resend, csrf, full_answers(definition))
    assert (first.headers["Location"], second.headers["Location"]) == ("/thanks", "/thanks?again=1")
    assert count_stored(app) == 1
    # Opening the poster link again is a new form: a second person may answer.
    other = app.test_client()
    assert other.get(f"/o/{code}").status_code == 303
    csrf = csrf_token_from(other.get("/survey").get_data(as_text=True))
    assert submit(other, csrf, full_answers(definition)).headers["Location"] == "/thanks"
    assert count_stored(app) == 2


@pytest.mark.parametrize("language", ["fa", "ti"])
def test_without_a_published_key_nothing_is_sent_and_the_answers_stay_on_the_phone(app, client, world, language):
    from app.mixing.models import AnswerKey

    with app.app_context():
        db_session.execute(AnswerKey.__table__.delete())
        db_session.commit()
    app.extensions["kundrost.respond.published_keys"].forget()
    definition = definition_of(app, world)
    token = world.invite(app, language)[0]
    _, csrf = open_survey(client, token)
    sent = submit(client, csrf, full_answers(definition, 2))
    assert sent.status_code == 503
    html = sent.get_data(as_text=True)
    assert html_tag(language) in html
    assert f"<h1>{translated('Your answers could not be saved just now', language)}</h1>" in html
    for paragraph in ("The survey cannot take answers at the moment. Nothing was sent, "
                      "and your answers are kept on this phone.",
                      "Please open your link again in a little while to send them."):
        assert f"<p>{translated(paragraph, language)}</p>" in html
    assert count_stored(app) == 0
    # The link is not spent: once the mixer has published a key, the same link sends them.
    from .conftest import mixer_of

    mixer_of(app).publish_key()
    app.extensions["kundrost.respond.published_keys"].forget()
    page, csrf = open_survey(client, token)
    scale_key = next(q.key for q in definition.questions if q.type == "scale")
    assert f'name="{scale_key}" value="2" checked' in page.get_data(as_text=True)
    assert submit(client, csrf, full_answers(definition, 2)).headers["Location"] == "/thanks"
    assert count_stored(app) == 1


def test_links_of_a_finalised_campaign_say_it_has_closed(app, client, world):
    from .conftest import mixer_of

    code = world.open_link_code(app, "uk")
    token = world.invite(app, "uk")[0]
    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = stockholm_today() - timedelta(days=1)
        db_session.commit()
    mixer_of(app).finalise(world.campaign_id, stockholm_today())
    closed = client.get(f"/o/{code}")
    assert closed.status_code == 410
    assert translated("This survey has closed", "uk") in closed.get_data(as_text=True)
    # The single-use link no longer exists: like any unknown link.
    assert client.get(f"/s/{token}").status_code == 404


@pytest.mark.parametrize(("typed", "accepted"), [
    # 990 letters and 10 line breaks: 1,000 to the browser, which sends each
    # break as CR LF (1,010 characters on the wire).
    ("\r\n".join(["a" * 99] * 10), True),
    ("ö" * 1000, True),
    ("😊" * 500, True),   # each is two UTF-16 code units: the browser stops at 500
    ("😊" * 501, False),
    ("ሰ" * 1001, False),
])
def test_text_length_is_counted_as_the_browser_counts_it(app, client, world, typed, accepted):
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    _, csrf = open_survey(client, world.invite(app)[0])
    sent = submit(client, csrf, {**full_answers(definition), text_key: typed})
    assert (sent.status_code == 303) is accepted, sent.status_code
    assert count_stored(app) == (1 if accepted else 0)


@pytest.mark.parametrize("which", ["first day", "last day", "only day"])
def test_a_survey_takes_answers_on_its_first_and_its_last_day(app, client, which):
    today = stockholm_today()
    starts, ends = {"first day": (today, today + timedelta(days=5)),
                    "last day": (today - timedelta(days=5), today),
                    "only day": (today, today)}[which]
    world = build_world(app, starts_on=starts, ends_on=ends)
    page, csrf = open_survey(client, world.invite(app, "sv")[0])
    assert page.status_code == 200
    assert submit(client, csrf, full_answers(definition_of(app, world))).headers["Location"] == "/thanks"
    assert count_stored(app) == 1


@pytest.mark.parametrize("change", ["unknown field", "missing field"])
def test_a_grant_of_another_shape_is_no_grant_and_no_server_error(app, client, world, change):
    # A cookie signed by an older or newer version of the app after an upgrade.
    _, csrf = open_survey(client, world.invite(app, "uk")[0])
    with client.session_transaction() as session:
        grant = dict(session[GRANT_KEY])
        if change == "unknown field":
            grant["scope_version"] = 2
        else:
            del grant["channel"]
        session[GRANT_KEY] = grant
    sent = submit(client, csrf, full_answers(definition_of(app, world)))
    assert sent.status_code == 404
    assert f"<h1>{translated('This link cannot be used', 'sv')}</h1>" in sent.get_data(as_text=True)
    assert count_stored(app) == 0
    with client.session_transaction() as session:
        assert GRANT_KEY not in session  # dropped, not kept to fail again


def test_an_open_link_grant_without_a_form_nonce_is_opened_afresh_and_stores_nothing(app, client, world):
    # A grant from before open-link forms carried a nonce: sent as it is, a
    # resent form could be stored twice. The answers wait on the phone instead.
    definition = definition_of(app, world)
    code = world.open_link_code(app, "ar")
    assert client.get(f"/o/{code}").status_code == 303
    csrf = csrf_token_from(client.get("/survey").get_data(as_text=True))
    with client.session_transaction() as session:
        session[GRANT_KEY] = {**session[GRANT_KEY], "form_nonce": None}
    sent = submit(client, csrf, full_answers(definition, 2))
    assert sent.status_code == 200
    assert_expired_page(sent.get_data(as_text=True), "ar")
    assert count_stored(app) == 0
    assert client.get(f"/o/{code}").status_code == 303
    page = client.get("/survey").get_data(as_text=True)
    scale_key = next(q.key for q in definition.questions if q.type == "scale")
    assert f'name="{scale_key}" value="2" checked' in page


def test_already_received_is_said_for_the_grants_lifetime_then_the_link_is_just_unusable(app, client, world):
    _, csrf = open_survey(client, world.invite(app, "so")[0])
    assert submit(client, csrf, full_answers(definition_of(app, world))).status_code == 303
    again = client.get("/survey")  # the back button, within the two hours a grant lasts
    assert (again.status_code, again.headers["Location"]) == (303, "/thanks?again=1")
    with client.session_transaction() as session:
        session["done"] = {**session["done"], "at": int(time.time()) - 2 * 3600 - 60}
    later = client.get("/survey")
    assert later.status_code == 404
    assert f"<h1>{translated('This link cannot be used', 'sv')}</h1>" in later.get_data(as_text=True)


def test_a_text_from_elsewhere_is_kept_up_to_1500_characters(app, client, world):
    # Browsers stop at 1,000; a crafted or pasted-by-script text is cut at 1,500
    # (views.RAW_ANSWER_MAX) so that the draft fits the 4 KB session cookie.
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    _, csrf = open_survey(client, world.invite(app, "sv")[0])
    switched = client.post("/survey", data={"csrf_token": csrf, "switch_to": "en", text_key: "å" * 1499 + "xyz" * 1000})
    assert switched.status_code == 303
    html = client.get("/survey").get_data(as_text=True)
    kept = re.search(rf'<textarea id="a-{text_key}"[^>]*>([^<]*)</textarea>', html).group(1)
    assert kept == "å" * 1499 + "x"


def test_the_thank_you_pages_are_set_as_good_news(app, client, world):
    _, csrf = open_survey(client, world.invite(app)[0])
    submit(client, csrf, full_answers(definition_of(app, world)))
    for path in ("/thanks", "/thanks?again=1"):
        assert '<div class="box ok">' in client.get(path).get_data(as_text=True), path
    assert '<div class="box note">' in client.get("/s/" + "A" * 22).get_data(as_text=True)


def test_a_grant_lasts_exactly_its_lifetime():
    from app.respond.grant import Grant

    grant = Grant(kind="i", link_id=1, campaign_id=1, provider_id=1, programme_id=1, language="sv",
                  channel="sms", issued_at=1_000_000)
    two_hours = timedelta(hours=2)
    assert not grant.expired(two_hours, now=1_000_000 + 7200)  # still valid at its last second
    assert grant.expired(two_hours, now=1_000_000 + 7200.5)
    assert grant.expired(two_hours, now=1_000_000 + 7201)


def test_opening_another_link_on_a_shared_phone_drops_the_previous_persons_draft(app, client, world):
    definition = definition_of(app, world)
    first, second = world.invite(app, "sv", count=2)
    _, csrf = open_survey(client, first)
    client.post("/survey", data={"csrf_token": csrf, "switch_to": "en", **full_answers(definition, 2)})
    with client.session_transaction() as session:
        assert session["draft"]["answers"]  # the first person's answers, kept on the phone
    open_survey(client, second)
    with client.session_transaction() as session:
        assert "draft" not in session


def test_a_language_chosen_with_the_switcher_is_not_forced_on_the_next_link(app, client, world):
    # No answers given, so no draft names the first link: only its grant does.
    first, second = world.invite(app, "sv")[0], world.invite(app, "ti")[0]
    open_survey(client, first)
    assert client.get("/survey?lang=ar").status_code == 303
    assert html_tag("ar") in client.get("/survey").get_data(as_text=True)
    page, _ = open_survey(client, second)
    assert html_tag("ti") in page.get_data(as_text=True)


def test_survey_pages_share_what_they_read_for_a_few_seconds_then_read_again(app, client, world, monkeypatch):
    # The provider's name may show PAGE_SCOPE_SECONDS late (services.RecentScopes), never longer.
    from app.organisation.models import Provider

    open_survey(client, world.invite(app, "sv")[0])
    with app.app_context():
        db_session.get(Provider, world.provider_ids[0]).name = "Nordljus Stöd AB"
        db_session.commit()
    start = time.monotonic()
    scopes = app.extensions[RECENT_SCOPES_KEY]
    monkeypatch.setattr(scopes, "clock", lambda: start + 1)
    assert "Nordljus AB" in client.get("/survey").get_data(as_text=True)
    monkeypatch.setattr(scopes, "clock", lambda: start + PAGE_SCOPE_SECONDS + 1)
    html = client.get("/survey").get_data(as_text=True)
    assert "Nordljus Stöd AB" in html and "Nordljus AB" not in html


def test_a_process_that_has_not_met_the_survey_reads_it_from_the_database(app, client, world, monkeypatch):
    import app.surveys.models as survey_models

    monkeypatch.setattr(survey_models, "_PARSED", {})
    page, _ = open_survey(client, world.invite(app, "ti")[0])
    assert page.status_code == 200
    assert definition_of(app, world).title["ti"] in page.get_data(as_text=True)


def test_skipped_questions_are_listed_by_their_number_on_the_page(app, client, world):
    definition = definition_of(app, world)
    questions = list(definition.questions)
    answers = full_answers(definition)
    for skipped in (questions[0], questions[2]):  # the first and the third question on the page
        del answers[skipped.key]
    _, csrf = open_survey(client, world.invite(app, "sv")[0])
    html = submit(client, csrf, answers).get_data(as_text=True)
    note = html.split('id="skipped"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'<a href="#q-([^"]+)">(\d+)\. ', note) == [(questions[0].key, "1"), (questions[2].key, "3")]


def test_every_unreadable_answer_is_marked_not_only_the_first(app, client, world):
    definition = definition_of(app, world)
    scale_keys = [q.key for q in definition.questions if q.type == "scale"]
    answers = {**full_answers(definition), scale_keys[0]: "7", scale_keys[-1]: "seven"}
    _, csrf = open_survey(client, world.invite(app, "sv")[0])
    refused = submit(client, csrf, answers)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f'id="e-{scale_keys[0]}"' in html and f'id="e-{scale_keys[-1]}"' in html
    assert html.count('class="err" id="e-') == 2
    assert count_stored(app) == 0


def test_a_forged_open_link_grant_for_another_provider_stores_nothing(app, client, world):
    # As tests/test_mixer_safety.py::test_a_forged_or_malformed_grant_stores_nothing
    # does for single-use links: only someone holding SECRET_KEY could sign it.
    code = world.open_link_code(app, "sv")
    assert client.get(f"/o/{code}").status_code == 303
    csrf = csrf_token_from(client.get("/survey").get_data(as_text=True))
    with client.session_transaction() as session:
        session[GRANT_KEY] = {**session[GRANT_KEY], "provider_id": world.provider_ids[1]}
    sent = submit(client, csrf, full_answers(definition_of(app, world)))
    assert sent.status_code == 404
    assert count_stored(app) == 0


def test_an_empty_form_sent_lists_every_required_question_as_skipped(app, client, world):
    definition = definition_of(app, world)
    _, csrf = open_survey(client, world.invite(app, "sv")[0])
    page = submit(client, csrf, {})
    assert page.status_code == 200
    note = page.get_data(as_text=True).split('id="skipped"', 1)[1].split("</ul>", 1)[0]
    listed = re.findall(r'<a href="#q-([^"]+)">', note)
    # Every required question (the survey file marks them), never an optional one (issue 8, kind 8).
    assert listed == [q.key for q in definition.questions if q.required]
    assert "comments" not in listed and len(listed) >= 10
    assert count_stored(app) == 0


def two_language_campaign(app, world) -> int:
    """A campaign on a survey written in Swedish and English only (not in the library)."""
    from app.campaigns.services import create_campaign
    from app.organisation.models import Programme, Provider
    from app.surveys.services import store_version

    texts = {"sv": "Fråga på svenska", "en": "Question in English"}
    document = {
        "key": "tva-sprak", "version": 1, "languages": ["sv", "en"],
        "title": {"sv": "Enkät på två språk", "en": "Survey in two languages"},
        "scales": {"s": {"points": 5, "positive_from": 4,
                         "labels": {str(p): {"sv": f"{p} sv", "en": f"{p} en"} for p in range(1, 6)}}},
        "sections": [{"key": "main", "questions": [{"key": "q1", "type": "scale", "scale": "s", "text": texts,
                                                   "required": True}]}],  # required: a skipped-question note
        "index": {"method": "mean", "questions": ["q1"]},
    }
    with app.app_context():
        version, _ = store_version(db_session, document)
        campaign = create_campaign(
            db_session, name="Två språk", survey_version=version, starts_on=stockholm_today() - timedelta(days=1),
            ends_on=stockholm_today() + timedelta(days=1), providers=[db_session.get(Provider, world.provider_ids[0])],
            programmes=[db_session.get(Programme, world.programme_ids[0])], languages=["sv", "en"])
        db_session.commit()
        return campaign.id


def test_a_language_the_survey_lacks_shows_the_survey_in_the_links_language(app, client, world):
    from app.campaigns.models import Campaign as CampaignModel
    from app.campaigns.services import issue_invitations
    from app.organisation.models import Programme, Provider

    campaign_id = two_language_campaign(app, world)
    with app.app_context():
        [invitation] = issue_invitations(
            db_session, db_session.get(CampaignModel, campaign_id), provider=db_session.get(Provider, world.provider_ids[0]),
            programme=db_session.get(Programme, world.programme_ids[0]), language="en", count=1, today=stockholm_today())
        db_session.commit()
    page, _ = open_survey(client, invitation.token)
    html = page.get_data(as_text=True)
    # Only the survey's own languages are offered to switch to.
    assert re.findall(r'name="switch_to" value="(\w+)"', html) == ["sv", "en"]
    assert client.get("/survey?lang=ar").status_code == 303  # the site's switcher offers Arabic
    html = client.get("/survey").get_data(as_text=True)
    # The page around the survey speaks the language chosen; the survey, the link's.
    assert html_tag("ar") in html
    assert "Question in English" in html and "Fråga på svenska" not in html
    # So do the pages that come back with a note: an answer that cannot be read, a skipped question.
    csrf = csrf_token_from(html)
    for posted, status in (({"q1": "9"}, 422), ({}, 200)):
        again = submit(client, csrf, posted)
        assert again.status_code == status
        assert "Question in English" in again.get_data(as_text=True)
    # The page kept for this pair of page and survey languages is not served to the next phone,
    # whose page is in English throughout.
    with app.app_context():
        [next_phone] = issue_invitations(
            db_session, db_session.get(CampaignModel, campaign_id), provider=db_session.get(Provider, world.provider_ids[0]),
            programme=db_session.get(Programme, world.programme_ids[0]), language="en", count=1, today=stockholm_today())
        db_session.commit()
    other = app.test_client()
    assert html_tag("en") in open_survey(other, next_phone.token)[0].get_data(as_text=True)


def test_every_language_of_a_survey_is_offered_to_switch_to(app, client, world):
    page, _ = open_survey(client, world.invite(app, "sv")[0])
    offered = re.findall(r'name="switch_to" value="(\w+)"', page.get_data(as_text=True))
    assert sorted(offered) == sorted(["sv", "en", "ar", "prs", "fa", "ps", "ti", "so", "uk", "ckb"])


def test_two_surveys_for_one_provider_each_show_their_own_page(app, world):
    from app.campaigns.models import Campaign as CampaignModel
    from app.campaigns.services import issue_invitations
    from app.organisation.models import Programme, Provider

    campaign_id = two_language_campaign(app, world)
    with app.app_context():
        [other] = issue_invitations(
            db_session, db_session.get(CampaignModel, campaign_id), provider=db_session.get(Provider, world.provider_ids[0]),
            programme=db_session.get(Programme, world.programme_ids[0]), language="sv", count=1, today=stockholm_today())
        db_session.commit()
    nacka_title = definition_of(app, world).title["sv"]
    first = app.test_client()
    assert nacka_title in open_survey(first, world.invite(app, "sv")[0])[0].get_data(as_text=True)
    second = app.test_client()
    html = open_survey(second, other.token)[0].get_data(as_text=True)
    assert "Enkät på två språk" in html and nacka_title not in html
