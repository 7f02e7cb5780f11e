"""A customer answering on a phone, in a real Chromium (see conftest.py)."""

from __future__ import annotations

import re
import threading

import pytest
from browserkit import (
    answer_plan,
    assert_no_browser_errors,
    give_answers,
    html_lang_dir,
    option,
    platform_fonts,
    required_keys,
    save_screenshot,
    send_button,
    stored_form,
    text_width,
)
from playwright.sync_api import expect

import app.respond.views as respond_views

pytestmark = pytest.mark.browser

SURVEY_URL = re.compile(r"^http://[^/]+/survey(\?opened=[a-z]+)?$")  # the marker names the link's language
THANKS_URL = re.compile(r"^http://[^/]+/thanks$")
AGAIN_URL = re.compile(r"^http://[^/]+/thanks\?again=1$")
THANKS = "Thank you for your answers!"
ALREADY = "Your answers have already been received"
#: Ethiopic fonts Debian ships (fonts-noto-core, fonts-sil-abyssinica).
ETHIOPIC_FONTS = ("Noto Sans Ethiopic", "Noto Serif Ethiopic", "Abyssinica SIL")


def first_scale_question(definition):
    return next(q for q in definition.questions if q.type == "scale" and q.scale.points == 5)


def open_survey(page, url: str):
    response = page.goto(url)
    assert response is not None and response.ok, f"{url} gave {response and response.status}"
    # The token is traded for a session at once and leaves the address bar.
    expect(page).to_have_url(SURVEY_URL)
    assert "/s/" not in page.url
    return response


def scale_runs(page, key: str) -> str:
    """'ltr' or 'rtl': the way the 1-5 scale reads on screen.

    Side by side, point 1 must start the row (left in ltr, right in rtl). Should the
    scale become a list on narrow screens, 1 must be on top and each radio must start
    its line in the reading direction.
    """
    one = option(page, key, "1").locator("input").bounding_box()
    five = option(page, key, "5").locator("input").bounding_box()
    assert one and five
    if abs(one["y"] - five["y"]) < 2:
        return "ltr" if one["x"] < five["x"] else "rtl"
    assert one["y"] < five["y"], "point 5 is above point 1"
    text = option(page, key, "1").locator("span").bounding_box()
    return "ltr" if one["x"] < text["x"] else "rtl"


@pytest.mark.parametrize(
    ("language", "html_lang", "direction"),
    [("ar", "ar", "rtl"), ("ti", "ti", "ltr")],
)
def test_answer_whole_survey_by_tapping(phone, kit, language, html_lang, direction):
    definition = kit.definition
    _context, page = phone()
    response = open_survey(page, kit.invitation_url(language))
    # The blank page is served precompressed, its token spliced in (app/precompressed.py).
    assert response.headers.get("content-encoding") == "gzip"

    assert html_lang_dir(page) == (html_lang, direction)
    expect(page.locator("h1")).to_have_text(definition.title[language])
    scale = first_scale_question(definition)
    assert scale_runs(page, scale.key) == direction, f"the 1-5 scale should run {direction}"

    # The heading's glyphs are drawn, by a font that has them, with a real width.
    assert text_width(page, "h1") > 100
    fonts = platform_fonts(page, "h1")
    assert fonts and all(font["glyphCount"] > 0 for font in fonts), fonts
    if language == "ti":
        # Every Ethiopic letter of the title is a glyph of an Ethiopic font, not a box.
        letters = sum("\u1200" <= ch <= "\u139f" for ch in definition.title["ti"])
        drawn = sum(font["glyphCount"] for font in fonts if font["familyName"] in ETHIOPIC_FONTS)
        assert letters > 10 and drawn == letters, f"Ethiopic title drawn with {fonts}: fonts-noto-core?"
    shot = save_screenshot(page, f"survey-{language}.png")
    assert shot.stat().st_size > 10_000

    plan = answer_plan(definition)
    give_answers(page, definition, plan)
    send_button(page).tap()

    expect(page).to_have_url(THANKS_URL)
    assert html_lang_dir(page) == (html_lang, direction)
    thanks = kit.translated(language, THANKS)
    assert thanks != THANKS, f"no {language} translation of {THANKS!r} in translations/"
    expect(page.locator("h1")).to_have_text(thanks)
    responses = kit.responses()
    assert len(responses) == 1
    assert responses[0]["language"] == language
    assert responses[0]["status"] == "complete"
    assert responses[0]["answers"] == stored_form(definition, plan)
    assert_no_browser_errors(page)


def test_leaving_only_optional_questions_blank_sends_at_once(phone, kit):
    # Issue 8: the comment box (optional) was listed among "questions you did not answer".
    definition = kit.definition
    optional = {q.key for q in definition.questions} - required_keys(definition)
    assert optional, "the survey should have optional questions"
    plan = answer_plan(definition, skip=optional)
    _context, page = phone()
    open_survey(page, kit.invitation_url("sv"))
    give_answers(page, definition, plan)
    send_button(page).tap()
    expect(page).to_have_url(THANKS_URL)
    expect(page.locator("h1")).to_have_text(kit.translated("sv", THANKS))
    responses = kit.responses()
    assert len(responses) == 1 and responses[0]["status"] == "complete"
    assert_no_browser_errors(page)


def test_skipping_required_questions_shows_note_then_send_anyway(phone, kit):
    definition = kit.definition
    required = required_keys(definition)
    optional = {q.key for q in definition.questions} - required
    assert required and optional, "the survey should have both kinds of question"
    skip = set(sorted(required)[::2]) | optional
    plan = answer_plan(definition, skip=skip)
    _context, page = phone()
    open_survey(page, kit.invitation_url("sv"))

    give_answers(page, definition, plan)
    send_button(page).tap()

    # The page stays, lists exactly the skipped required questions in order
    # (never an optional one), keeps the answers.
    note = page.locator("#skipped")
    expect(note).to_be_visible()
    expect(note).to_have_attribute("role", "alert")
    expected_targets = [f"#q-{q.key}" for q in definition.questions if q.key in skip and q.key in required]
    links = note.locator("li a")
    expect(links).to_have_count(len(expected_targets))
    assert [links.nth(i).get_attribute("href") for i in range(len(expected_targets))] == expected_targets
    expect(page).to_have_url(SURVEY_URL)
    for question in definition.questions:
        if question.key in plan and question.type != "text":
            expect(option(page, question.key, plan[question.key]).locator("input")).to_be_checked()
        elif question.key in plan:
            expect(page.locator(f"#a-{question.key}")).to_have_value(plan[question.key])
        else:
            expect(page.locator(f"#q-{question.key} input:checked")).to_have_count(0)
    assert kit.responses() == [], "nothing may be stored before the customer confirms"

    # A link in the note brings the skipped question into view.
    links.first.tap()
    expect(page.locator(expected_targets[0])).to_be_in_viewport()

    note.locator('button[value="send_anyway"]').tap()
    expect(page).to_have_url(THANKS_URL)
    expect(page.locator("h1")).to_have_text(kit.translated("sv", THANKS))
    responses = kit.responses()
    assert len(responses) == 1
    assert responses[0]["status"] == "partial"
    assert responses[0]["answers"] == stored_form(definition, plan)
    assert_no_browser_errors(page)


def test_two_tabs_one_after_the_other_store_one_response(phone, kit):
    definition = kit.definition
    context, first = phone()
    open_survey(first, kit.invitation_url("sv"))
    second = context.new_page()
    second.goto("/survey")
    expect(second.locator("h1")).to_have_text(definition.title["sv"])

    plan = answer_plan(definition)
    give_answers(first, definition, plan)
    give_answers(second, definition, plan)
    send_button(first).tap()
    expect(first).to_have_url(THANKS_URL)
    second.bring_to_front()
    send_button(second).tap()

    # The second tab must say the answers arrived, not that the link is broken.
    expect(second.locator("h1")).to_have_text(kit.translated("sv", ALREADY))
    expect(second).to_have_url(AGAIN_URL)
    assert len(kit.responses()) == 1
    assert_no_browser_errors(first, second)


def test_two_tabs_submitting_at_once_store_one_response(phone, kit, monkeypatch):
    """Both submits reach the database together: only one may be stored."""
    definition = kit.definition
    both_inside = threading.Barrier(2, timeout=10)
    real_store_answers = respond_views.store_answers

    def store_answers_together(*args, **kwargs):
        both_inside.wait()  # hold each request until the other one has arrived too
        return real_store_answers(*args, **kwargs)

    monkeypatch.setattr(respond_views, "store_answers", store_answers_together)

    context, first = phone()
    open_survey(first, kit.invitation_url("ar"))
    second = context.new_page()
    second.goto("/survey")
    plan = answer_plan(definition)
    give_answers(first, definition, plan)
    give_answers(second, definition, plan)

    # Tapping only dispatches the touch; neither call waits for the other's answer.
    for page in (first, second):
        page.bring_to_front()
        send_button(page).tap(no_wait_after=True)
    for page in (first, second):
        expect(page).to_have_url(re.compile(r"/thanks(\?again=1)?$"), timeout=15_000)

    assert not both_inside.broken, "the two submits never overlapped"
    responses = kit.responses()
    assert len(responses) == 1, responses
    assert responses[0]["status"] == "complete"
    urls = sorted([first.url, second.url], key=lambda url: "again" in url)
    assert THANKS_URL.match(urls[0]) and AGAIN_URL.match(urls[1]), urls
    headings = sorted(page.locator("h1").inner_text() for page in (first, second))
    assert headings == sorted([kit.translated("ar", THANKS), kit.translated("ar", ALREADY)])
    for page in (first, second):
        assert html_lang_dir(page) == ("ar", "rtl")
    assert_no_browser_errors(first, second)


def test_answer_and_send_with_javascript_disabled(phone, kit):
    definition = kit.definition
    _context, page = phone(java_script_enabled=False)
    page.goto("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert page.title() == "off", "scripts still run"
    open_survey(page, kit.invitation_url("uk"))
    skip = {next(q.key for q in definition.questions if q.required)}
    plan = answer_plan(definition, skip=skip)
    give_answers(page, definition, plan, touch=False)
    send_button(page).click()
    expect(page.locator("#skipped")).to_be_visible()
    page.locator('#skipped button[value="send_anyway"]').click()

    expect(page).to_have_url(THANKS_URL)
    expect(page.locator("h1")).to_have_text(kit.translated("uk", THANKS))
    responses = kit.responses()
    assert [(r["language"], r["status"]) for r in responses] == [("uk", "partial")]
    assert responses[0]["answers"] == stored_form(definition, plan)
    assert_no_browser_errors(page)
