"""axe-core on every page a customer or a staff member can see, in every language.

Customer pages: home, staff sign-in, unusable link, closed survey,
not-yet-open survey, the survey, the survey with the skipped-questions
note, thank-you, "already received" and expired session - on a phone, in
all ten languages. Staff pages after signing in: campaigns, a new
campaign, a campaign, results, providers and programmes, change password - on a desktop
screen, in all ten languages.

Serious and critical violations fail, all of one language listed at once;
the full report (every impact) goes to test-artifacts/axe/<language>.json.

Our CSP (`default-src 'none'`) forbids scripts, so the axe context uses
`bypass_csp=True`; nothing else about the page changes. The flow tests keep
the CSP and fail on any console error, such as a blocked inline style.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest
from browserkit import ARTIFACTS, PHONE, answer_plan, give_answers, send_button
from playwright.sync_api import expect

from app.accounts.models import Role
from app.i18n import LANGUAGES

from tests.conftest import PASSWORD, stockholm_today

# How pages look: the database does not change it (the PostgreSQL pass of CI leaves these out, conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.rendering]

FAILING_IMPACTS = {"serious", "critical"}
RUN_AXE = """async () => {
    if (typeof axe !== "object") return null;
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return {
        lang: document.documentElement.getAttribute("lang"),
        dir: document.documentElement.getAttribute("dir"),
        violations: result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
        })),
    };
}"""
# axe treats text in exactly its background's colour as possibly hidden on
# purpose and does not report it; a button nobody can see is still a bug.
INVISIBLE_BUTTONS = """() => {
    const background = (element) => {
        for (let e = element; e; e = e.parentElement) {
            const colour = getComputedStyle(e).backgroundColor;
            if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
        }
        return "rgb(255, 255, 255)";
    };
    return [...document.querySelectorAll("main button")]
        .filter(b => getComputedStyle(b).color === background(b))
        .map(b => b.textContent.trim());
}"""


class AxeAudit:
    """axe results for the pages of one language."""

    def __init__(self, page, language):
        self.page = page
        self.language = language
        self.report: dict[str, list] = {}
        self.problems: list[str] = []

    def check(self, name: str, response=None, status: int | None = None) -> None:
        where = f"[{self.language.code}] {name}"
        if status is not None and (response is None or response.status != status):
            self.problems.append(f"{where}: HTTP {response and response.status}, expected {status}")
        result = self.page.evaluate(RUN_AXE)
        assert result is not None, f"{where}: axe-core was not injected"
        # Every page speaks the chosen language, in its direction.
        expected = (self.language.html_lang, self.language.direction)
        if (result["lang"], result["dir"]) != expected:
            self.problems.append(f"{where}: <html lang dir> is {result['lang'], result['dir']}, not {expected}")
        self.report[name] = result["violations"]
        invisible = self.page.evaluate(INVISIBLE_BUTTONS)
        if invisible:
            self.problems.append(f"{where}: buttons in the colour of their background: {invisible}")

    def failures(self) -> list[str]:
        lines = []
        for name, violations in self.report.items():
            for violation in violations:
                if violation["impact"] not in FAILING_IMPACTS:
                    continue
                for node in violation["nodes"]:
                    summary = (node["summary"] or "").replace("\n", "\n      ")
                    lines.append(
                        f"[{self.language.code}] {name}: {violation['id']} ({violation['impact']})"
                        f" at {' '.join(map(str, node['target']))} - {violation['help']}\n"
                        f"      {node['html'][:200]}\n      {summary}"
                    )
        return lines


@pytest.fixture(scope="module")
def axe_page(browser, axe_script):
    """One phone page for the module: a new context costs about a second."""
    context = browser.new_context(bypass_csp=True, **PHONE)
    context.set_default_timeout(10_000)
    # Injected into every document the context loads. page.add_script_tag(path=...) after
    # each load works as well, but sends and compiles the 560 kB again: ~0.3 s a page.
    context.add_init_script(path=str(axe_script))
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def axe_desk(browser, axe_script):
    """A desktop-sized page for the staff pages, axe injected like on the phone."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(axe_script))
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def campaigns(kit):
    today = stockholm_today()
    return {
        "closed": kit.add_campaign("Våren", today - timedelta(days=60), today - timedelta(days=1)),
        "future": kit.add_campaign("Nästa år", today + timedelta(days=30), today + timedelta(days=60)),
    }


def test_axe_finds_what_it_should(axe_page, axe_script):
    """The audit itself works: an unlabelled field is a critical finding."""
    axe_page.set_content('<!doctype html><html lang="en" dir="ltr"><title>t</title><main><input></main>')
    axe_page.add_script_tag(path=str(axe_script))  # set_content runs no init script
    audit = AxeAudit(axe_page, LANGUAGES["en"])
    audit.check("canary")
    assert any("label (critical)" in line for line in audit.failures()), audit.report


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_no_serious_axe_violations(axe_page, kit, campaigns, app, code):
    page = axe_page
    base = kit.base_url
    definition = kit.definition
    audit = AxeAudit(page, LANGUAGES[code])
    # Every test has its own server, but cookies ignore the port: start without any.
    page.context.clear_cookies()

    # Choosing the language (the ?lang= switch) keeps it in the session for every page below.
    audit.check("home", page.goto(f"{base}/?lang={code}"), 200)
    audit.check("staff sign-in", page.goto(f"{base}/staff/login"), 200)
    audit.check("unusable link", page.goto(f"{base}/s/{'Zz9' * 7}Q"), 404)
    audit.check("closed survey", page.goto(kit.open_link_url(campaigns["closed"], code)), 410)
    audit.check("not-yet-open survey", page.goto(kit.open_link_url(campaigns["future"], code)), 403)

    audit.check("survey", page.goto(kit.invitation_url(code)), 200)
    first = next(iter(definition.questions))
    give_answers(page, definition, {first.key: answer_plan(definition)[first.key]})
    send_button(page).tap()
    expect(page.locator("#skipped")).to_be_visible()
    audit.check("survey with skipped-questions note")
    page.locator('#skipped button[value="send_anyway"]').tap()
    expect(page).to_have_url(f"{base}/thanks")
    audit.check("thank-you")
    audit.check("thank-you, already received", page.goto(f"{base}/thanks?again=1"), 200)

    # The grant's time runs out while the survey is open; the customer reloads.
    page.goto(kit.invitation_url(code))
    expect(page).to_have_url(re.compile(r"/survey(\?opened=[a-z]+)?$"))
    settings = app.config["KUNDROST"]
    app.config["KUNDROST"] = dataclasses.replace(settings, respondent_grant_ttl=timedelta(seconds=-1))
    try:
        response = page.reload()
    finally:
        app.config["KUNDROST"] = settings
    expect(page.locator("h1")).to_have_text(kit.translated(code, "Please open your link again"))
    audit.check("expired session", response, 200)

    (ARTIFACTS / "axe").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe" / f"{code}.json").write_text(json.dumps(audit.report, ensure_ascii=False, indent=1))
    assert not audit.problems, "pages not as expected:\n" + "\n".join(audit.problems)
    failures = audit.failures()
    assert not failures, f"{len(failures)} serious/critical axe findings:\n" + "\n".join(failures)


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_no_serious_axe_violations_on_staff_pages(axe_desk, kit, make_user, code):
    page = axe_desk
    base = kit.base_url
    audit = AxeAudit(page, LANGUAGES[code])
    page.context.clear_cookies()
    make_user(Role.ADMIN, "admin")
    page.goto(f"{base}/staff/login?lang={code}")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/staff/campaigns/")
    campaign = kit.world.campaign_id
    audit.check("campaigns")
    audit.check("new campaign", page.goto(f"{base}/staff/campaigns/new"), 200)
    audit.check("campaign", page.goto(f"{base}/staff/campaigns/{campaign}"), 200)
    page.locator("input[name=count]").fill("3")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{campaign}/links/\d+$"))
    audit.check("new single-use links")
    audit.check("results", page.goto(f"{base}/staff/results/{campaign}"), 200)
    audit.check("providers and programmes", page.goto(f"{base}/staff/organisation/"), 200)
    audit.check("change password", page.goto(f"{base}/staff/password"), 200)

    (ARTIFACTS / "axe").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe" / f"staff-{code}.json").write_text(json.dumps(audit.report, ensure_ascii=False, indent=1))
    assert not audit.problems, "pages not as expected:\n" + "\n".join(audit.problems)
    failures = audit.failures()
    assert not failures, f"{len(failures)} serious/critical axe findings:\n" + "\n".join(failures)
