"""The survey on a small phone (360 px wide) in every language: nothing cut, no word split.

Customers read in a second language or with little schooling; a word broken
between two letters ("Disagr-ee", "погод-жуюся") is much harder to read than
one on its own line. The browser may still wrap at spaces and hyphens.
"""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.i18n import LANGUAGES

from tests.conftest import PASSWORD

# How pages look: the database does not change it (the PostgreSQL pass of CI leaves these out, conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.rendering]

#: Words (between spaces, hyphens and slashes) the browser drew on more than one line.
SPLIT_WORDS = r"""() => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const element = node.parentElement;
        if (!element || !element.getClientRects().length) continue;  // not rendered
        const text = node.textContent;
        for (const match of text.matchAll(/[^\s\-\u2010/]+/g)) {
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (lines.size > 1) {
                const place = element.closest("label.opt") ? "answer label" : element.tagName.toLowerCase();
                found.push(`${match[0]} (${place})`);
            }
        }
    }
    return [...new Set(found)];
}"""
OVERFLOW = """() => document.documentElement.scrollWidth - document.documentElement.clientWidth"""


def test_survey_fits_a_small_phone_in_every_language(phone, kit):
    _context, page = phone()
    problems = []
    for code in LANGUAGES:
        page.context.clear_cookies()
        page.goto(kit.invitation_url(code))
        overflow = page.evaluate(OVERFLOW)
        if overflow > 0:
            problems.append(f"[{code}] the page is {overflow}px wider than the screen")
        split = page.evaluate(SPLIT_WORDS)
        if split:
            problems.append(f"[{code}] words split between letters: " + ", ".join(split))
    assert not problems, "survey at 360 px:\n" + "\n".join(problems)


def test_staff_pages_fit_a_small_phone(phone, kit, make_user):
    """Wide tables scroll inside their own box; the page itself never scrolls sideways."""
    make_user(Role.ADMIN, "admin")
    _context, page = phone()
    page.goto("/staff/login?lang=so")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    campaign = kit.world.campaign_id
    problems = []
    for path in ("/staff/campaigns/", f"/staff/campaigns/{campaign}", f"/staff/results/{campaign}",
                 "/staff/organisation/", "/staff/campaigns/new", "/staff/password"):
        page.goto(path)
        overflow = page.evaluate(OVERFLOW)
        if overflow > 0:
            problems.append(f"{path} is {overflow}px wider than the screen")
    assert not problems, "staff pages at 360 px:\n" + "\n".join(problems)
