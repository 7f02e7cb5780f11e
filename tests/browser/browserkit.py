"""Helpers for the browser tests (imported by conftest.py and the test modules).

pytest puts this folder on sys.path (default "prepend" import mode), so the
test modules import these with `from browserkit import ...`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.campaigns.models import Campaign, OpenLink
from app.campaigns.services import create_campaign
from app.db import db_session
from app.i18n import LANGUAGES
from app.organisation.models import Programme, Provider

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("KUNDROST_TEST_ARTIFACTS") or ROOT / "test-artifacts")
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"
IN_CI = bool(os.environ.get("CI"))

#: A small phone: 360 x 740 CSS pixels, 2x screen, touch.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def missing(reason: str) -> None:
    """A tool the browser tests need is not installed: skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


# --- the app side ------------------------------------------------------------------


@dataclass
class SurveyKit:
    """The test app, its `world` and its address, with what the tests ask of them."""

    app: object
    world: object
    base_url: str

    @property
    def definition(self):
        with self.app.app_context():
            return db_session.get(Campaign, self.world.campaign_id).survey_version.definition

    def invitation_url(self, language: str) -> str:
        (token,) = self.world.invite(self.app, language)
        return f"{self.base_url}/s/{token}"

    def responses(self) -> list[dict]:
        """Every answer stored so far: the sealed ones waiting to be mixed, opened with the test's keys."""
        from app.mixing.mixer import Mixer, RoundReport

        mixer = Mixer(self.app.extensions["kundrost.db"], self.app.config["KUNDROST"])
        mixer.start()
        with self.app.app_context():
            campaign_ids = list(db_session.scalars(select(Campaign.id)))
        return [
            {
                "language": item.sheet.language,
                "status": item.sheet.status,
                "campaign_id": campaign_id,
                "answers": {
                    key: (a.value, a.choice, a.text, a.dont_know) for key, a in item.sheet.answers.items()
                },
            }
            for campaign_id in campaign_ids
            for item in mixer.open_waiting(campaign_id, RoundReport())
        ]

    def translated(self, language: str, message: str) -> str:
        """What the app shows for `message` in `language` (the msgid while untranslated)."""
        with self.app.test_request_context("/"), force_locale(LANGUAGES[language].babel_locale):
            return gettext(message)

    def add_campaign(self, name: str, starts_on: date, ends_on: date) -> int:
        """Another campaign in the same database (build_world may run only once per test)."""
        with self.app.app_context():
            survey_version = db_session.get(Campaign, self.world.campaign_id).survey_version
            campaign = create_campaign(
                db_session, name=name, survey_version=survey_version,
                starts_on=starts_on, ends_on=ends_on,
                providers=[db_session.get(Provider, i) for i in self.world.provider_ids],
                programmes=[db_session.get(Programme, i) for i in self.world.programme_ids],
                languages=list(LANGUAGES),
            )
            db_session.commit()
            return campaign.id

    def open_link_url(self, campaign_id: int, language: str) -> str:
        with self.app.app_context():
            code = db_session.scalars(
                select(OpenLink.code)
                .where(OpenLink.campaign_id == campaign_id, OpenLink.language == language)
                .order_by(OpenLink.id)
            ).first()
        return f"{self.base_url}/o/{code}"


def answer_plan(definition, skip=frozenset()) -> dict[str, str]:
    """One answer per question (the value a radio posts; the words for a text box)."""
    plan = {}
    for index, question in enumerate(definition.questions):
        if question.key in skip:
            continue
        if question.type == "scale":
            plan[question.key] = str(1 + index % question.scale.points)
        elif question.type == "yesno":
            plan[question.key] = "yes" if index % 2 else "no"
        elif question.type == "text":
            plan[question.key] = "Bra stöd, tack! ١٢٣ ሰላም"
        else:
            choices = question.choices(definition.languages[0])
            plan[question.key] = choices[index % len(choices)][0]
    return plan


def stored_form(definition, plan: dict[str, str]) -> dict[str, tuple]:
    """How `plan` must look in the answer table: (value, choice, text, dont_know)."""
    stored = {}
    for question in definition.questions:
        if question.key not in plan:
            continue
        raw = plan[question.key]
        if question.type == "scale":
            stored[question.key] = (int(raw), None, None, False)
        elif question.type == "yesno":
            stored[question.key] = (1 if raw == "yes" else 0, None, None, False)
        elif question.type == "text":
            stored[question.key] = (None, None, raw, False)
        else:
            stored[question.key] = (None, raw, None, False)
    return stored


def required_keys(definition) -> set[str]:
    return {q.key for q in definition.questions if q.required}


# --- the browser side --------------------------------------------------------------


def record_errors(page) -> None:
    """Keep console errors (e.g. CSP refusing our own inline style) in page.kundrost_errors."""
    page.kundrost_errors = []
    page.on("console", lambda m: m.type == "error" and page.kundrost_errors.append(m.text))
    page.on("pageerror", lambda error: page.kundrost_errors.append(str(error)))


def assert_no_browser_errors(*pages) -> None:
    errors = [error for page in pages for error in getattr(page, "kundrost_errors", [])]
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


def option(page, key: str, value: str):
    """The label (the whole tappable box) of one choice of one question."""
    return page.locator(f'#q-{key} label.opt:has(input[value="{value}"])')


def give_answers(page, definition, plan: dict[str, str], *, touch: bool = True) -> None:
    """Answer like a person: tap (or click) the labels, type into the text box."""
    # A background tab gets no animation frames, and Playwright waits for them: 30 s+.
    page.bring_to_front()
    for question in definition.questions:
        if question.key not in plan:
            continue
        value = plan[question.key]
        if question.type == "text":
            box = page.locator(f"#a-{question.key}")
            box.tap() if touch else box.click()
            # What a phone keyboard's suggestion or a paste does: one input of the whole text
            # (keyboard.type sends a key event per character, ~20 ms each).
            page.keyboard.insert_text(value)
        else:
            target = option(page, question.key, value)
            target.tap() if touch else target.click()
            assert target.locator("input").is_checked(), f"{question.key}={value} not selected"


def send_button(page):
    # The form's first submit button is hidden (it only catches Enter); this is the visible one.
    return page.locator('.actions button[name="action"][value="send"]')


def html_lang_dir(page) -> tuple[str | None, str | None]:
    html = page.locator("html")
    return html.get_attribute("lang"), html.get_attribute("dir")


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium actually drew an element's text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()


def text_width(page, selector: str) -> float:
    """Width of the laid-out text itself (not of its block box)."""
    return page.locator(selector).evaluate(
        "element => { const r = document.createRange(); r.selectNodeContents(element);"
        " return r.getBoundingClientRect().width; }"
    )


def save_screenshot(page, name: str) -> Path:
    """The first screen as the phone shows it, into test-artifacts/ (and docs/ on request)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_SCREENSHOTS / name), full_page=False)
    return path
