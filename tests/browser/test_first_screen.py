"""Who is asking, and the first question, on the first screen of a small phone.

Issue 8, kind 9: a customer who taps an SMS link must see at once whose
survey it is (the municipality's name, and its logo when configured) and
the first question - not three rows of language buttons and two paragraphs
(the first question started about 580 px down a 740 px screen). Measured in
a real Chromium at 360 x 740 CSS pixels, for every built-in survey in every
language it has, with a long municipality name and the largest logo the
app accepts (app/branding.py), so the header is at its tallest and heaviest.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from bench.page_weight import BUDGET_BYTES, BUDGET_REQUESTS, first_view
from browserkit import PHONE, assert_no_browser_errors, html_lang_dir, option
from playwright.sync_api import expect

from app.branding import MAX_INLINE_BYTES, clean_svg
from app.campaigns.models import Campaign
from app.campaigns.services import create_campaign, issue_invitations
from app.db import db_session
from app.organisation.models import Programme, Provider
from app.surveys.services import load_builtin

# How pages look: the database does not change it (the PostgreSQL pass of CI leaves these out, conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.rendering]

SCREEN_HEIGHT = 740
SCREEN_WIDTH = 360
#: Among the longest names of Sweden's 290 municipalities.
MUNICIPALITY = "Upplands Väsby kommun"

#: Where the first question's parts are, in CSS px from the top of the page.
FIRST_QUESTION = """() => {
    const question = document.querySelector('form [id^="q-"]');
    const text = question.querySelector('legend, label');
    const answer = question.querySelector('label.opt, textarea');
    const box = (e) => e.getBoundingClientRect();
    return {
        question: box(question).top + scrollY,
        text_bottom: box(text).bottom + scrollY,
        answer_top: box(answer).top + scrollY,
        answer_bottom: box(answer).bottom + scrollY,
    };
}"""
#: The header's parts on screen: the logo and name, and the language button.
HEADER = """() => {
    const box = (s) => { const e = document.querySelector(s); if (!e) return null;
        const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
    return {logo: box('header .logo'), name: box('header .org span'), menu: box('header summary'),
            name_text: document.querySelector('header .org span')?.textContent, title: document.title};
}"""


def largest_logo(path) -> None:
    """An SVG of random path data that cleans to just under MAX_INLINE_BYTES: gzip gains little on it."""
    rng = random.Random(9)
    points = []
    while True:
        points.append(f"L{rng.uniform(0, 99):.3f} {rng.uniform(0, 99):.3f}")
        document = f'<svg viewBox="0 0 100 100"><path fill="#0b4f8a" d="M0 0{"".join(points)}z"/></svg>'
        if len(str(clean_svg(document.encode())).encode()) > MAX_INLINE_BYTES - 20:
            break
        path.write_text(document)


@pytest.fixture
def config(config, tmp_path):
    """A long municipality name and the largest logo allowed: the header at its tallest and heaviest."""
    logo = tmp_path / "logo.svg"
    largest_logo(logo)
    assert MAX_INLINE_BYTES - 40 < len(str(clean_svg(logo.read_bytes())).encode()) <= MAX_INLINE_BYTES
    return config.with_overrides(municipality_name=MUNICIPALITY, municipality_logo=str(logo))


def every_survey(app, world) -> dict[str, tuple[int, tuple[str, ...]]]:
    """A running campaign per built-in survey: {survey key: (campaign id, its languages)}."""
    today = date.today()
    with app.app_context():
        campaigns = {}
        for version in load_builtin(db_session):
            languages = version.definition.languages
            campaign = create_campaign(
                db_session, name=version.key, survey_version=version,
                starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                providers=[db_session.get(Provider, i) for i in world.provider_ids],
                programmes=[db_session.get(Programme, i) for i in world.programme_ids],
                languages=list(languages),
            )
            campaigns[version.key] = (campaign.id, tuple(languages))
        db_session.commit()
    assert set(campaigns) >= {"nacka-arbetsmarknad", "nki-scb", "samhallsorientering", "skr-brukarundersokning"}
    return campaigns


def invitation(app, world, campaign_id: int, language: str) -> str:
    """A fresh single-use link's path, for the world's second provider ("Bro Coachning")."""
    with app.app_context():
        (issued,) = issue_invitations(
            db_session, db_session.get(Campaign, campaign_id),
            provider=db_session.get(Provider, world.provider_ids[1]),
            programme=db_session.get(Programme, world.programme_ids[0]),
            language=language, count=1, today=date.today(),
        )
        db_session.commit()
        return f"/s/{issued.token}"


def test_first_question_is_on_the_first_screen(phone, app, world):
    """Every survey, every language: the header names the municipality, and the first
    question's text and the top of its first answer are within the first 740 px."""
    _context, page = phone()
    late, headers, measured = [], [], []
    for key, (campaign_id, languages) in every_survey(app, world).items():
        for language in languages:
            page.context.clear_cookies()
            page.goto(invitation(app, world, campaign_id, language))
            where = page.evaluate(FIRST_QUESTION)
            measured.append((where, key, language))
            if where["text_bottom"] > SCREEN_HEIGHT or where["answer_top"] > SCREEN_HEIGHT:
                late.append(f"{key}/{language}: {where}")
            header = page.evaluate(HEADER)
            if not (header["name_text"] == MUNICIPALITY and header["title"].endswith(f" · {MUNICIPALITY}")
                    and header["logo"] and header["logo"]["bottom"] <= 100 and header["menu"]["bottom"] <= 100
                    and 0 <= header["menu"]["left"] and header["menu"]["right"] <= SCREEN_WIDTH):
                headers.append(f"{key}/{language}: {header}")
    for part in ("question", "text_bottom", "answer_top", "answer_bottom"):  # for docs/performance.md (-s)
        low, high = min(measured, key=lambda m: m[0][part]), max(measured, key=lambda m: m[0][part])
        print(f"{part}: {low[0][part]:.0f} ({low[1]}/{low[2]}) to {high[0][part]:.0f} ({high[1]}/{high[2]})")
    assert_no_browser_errors(page)
    assert not late, "first question not on the first screen:\n" + "\n".join(late)
    assert not headers, "header not as it should be:\n" + "\n".join(headers)


@pytest.mark.parametrize(("start", "pick", "direction", "name"),
                         [("sv", "ar", "rtl", "العربية"), ("ckb", "ti", "ltr", "ትግርኛ")])
def test_language_choice_without_javascript_keeps_the_answers(phone, app, world, start, pick, direction, name):
    """The disclosure opens, its panel stays on the screen, and a language is chosen - no script."""
    _context, page = phone(java_script_enabled=False)
    campaign_id, _ = every_survey(app, world)["nacka-arbetsmarknad"]
    page.goto(invitation(app, world, campaign_id, start))
    with app.app_context():
        first = next(iter(db_session.get(Campaign, campaign_id).survey_version.definition.questions))
    option(page, first.key, "2").click()

    panel = page.locator("header details ul")
    expect(panel).to_be_hidden()
    page.locator("header summary").click()
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN_WIDTH, f"panel off the screen: {box}"
    assert box["y"] + box["height"] <= SCREEN_HEIGHT
    assert page.evaluate("document.documentElement.scrollWidth") <= SCREEN_WIDTH
    buttons = panel.locator("button")
    expect(buttons).to_have_count(10)
    for i in range(10):
        assert buttons.nth(i).bounding_box()["height"] >= 44, "a language button is too small to tap"
    panel.locator(f'button[value="{pick}"]').click()

    expect(page.locator("html")).to_have_attribute("lang", pick)
    assert html_lang_dir(page) == (pick, direction)
    expect(option(page, first.key, "2").locator("input")).to_be_checked()
    expect(page.locator("header summary")).to_have_text(name)
    assert_no_browser_errors(page)


def test_language_choice_on_a_message_page_without_javascript(phone, app, world):
    _context, page = phone(java_script_enabled=False)
    page.goto(f"/s/{'Zz9' * 7}Q")
    assert html_lang_dir(page)[0] == "en"  # the browser's language (Playwright's default en-US)
    page.locator("header summary").click()
    page.locator('header details a[hreflang="so"]').click()
    assert html_lang_dir(page) == ("so", "ltr")
    expect(page.locator("header .org")).to_have_text(MUNICIPALITY)
    # (The console notes the page's 404 status: that is the answer for an unknown link.)


def test_first_view_stays_within_the_page_budget(browser, live_server, app, world):
    """Every survey, every language, with the largest logo: as bench/page_weight.py counts.

    The test server is werkzeug's, not gunicorn: its headers differ by a few
    bytes from production's (docs/performance.md has the served figures).
    """
    views = []
    campaigns = every_survey(app, world)
    for key, (campaign_id, languages) in campaigns.items():
        for language in languages:
            url = live_server + invitation(app, world, campaign_id, language)
            views.append(first_view(browser, url, key, language))
    problems = [f"{v.survey}/{v.language}: {v.problems()}" for v in views if v.problems()]
    over = [f"{v.survey}/{v.language}: {v.total:,} B in {len(v.fetched)} requests" for v in views
            if v.total > BUDGET_BYTES or len(v.fetched) > BUDGET_REQUESTS]
    assert len(views) == sum(len(languages) for _, languages in campaigns.values()) >= 40
    assert not problems and not over, "\n".join(problems + over)
    heaviest = max(views, key=lambda v: v.total)
    print(f"heaviest first view: {heaviest.survey}/{heaviest.language} {heaviest.total:,} B")


@pytest.mark.parametrize("code", ["sv", "ar"])
def test_no_serious_axe_violations_with_the_language_panel_open(browser, axe_script, live_server, app, world, code):
    """axe on the survey with the header's language panel open (test_accessibility audits it closed)."""
    from test_accessibility import AxeAudit

    from app.i18n import LANGUAGES

    context = browser.new_context(bypass_csp=True, base_url=live_server, **PHONE)
    try:
        context.add_init_script(path=str(axe_script))
        page = context.new_page()
        campaign_id, _ = every_survey(app, world)["nacka-arbetsmarknad"]
        page.goto(invitation(app, world, campaign_id, code))
        page.locator("header summary").click()
        expect(page.locator("header details ul")).to_be_visible()
        audit = AxeAudit(page, LANGUAGES[code])
        audit.check("survey, language panel open")
        page.goto(f"/s/{'Zz9' * 7}Q?lang={code}")
        page.locator("header summary").click()
        audit.check("unusable link, language panel open")
        assert not audit.problems, audit.problems
        assert not audit.failures(), "\n".join(audit.failures())
    finally:
        context.close()
