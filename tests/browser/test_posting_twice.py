"""Posting twice in a real browser (issue 8, kind 7): Chromium's reload, back
and forward on the page of new single-use links make no second batch.

(A double click is not tried here: Chromium sends one POST for it. Two
identical POSTs at once are tested in tests/test_post_redirect_get.py and,
with workers killed, in tests/test_post_twice_under_load.py.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.accounts.models import Role
from app.campaigns.models import Invitation, InvitationBatch
from app.db import db_session

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

LINK = re.compile(r"https://enkat\.example\.se/s/[A-Za-z0-9]{22}")


@pytest.fixture
def desk(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db_session.scalar(select(func.count()).select_from(InvitationBatch)),
                db_session.scalar(select(func.count()).select_from(Invitation)))


def _sign_in(page, make_user):
    make_user(Role.ANALYST, "karin")
    page.goto("/staff/login?lang=en")
    page.fill("input[name=username]", "karin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/campaigns/$"))


def test_reload_back_and_forward_on_the_new_links_page_make_no_second_batch(app, world, make_user, desk):
    page = desk
    _sign_in(page, make_user)
    page.goto(f"/staff/campaigns/{world.campaign_id}")
    page.locator("input[name=count]").fill("8")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{world.campaign_id}/links/\d+$"))
    links = LINK.findall(page.content())
    assert len(links) == 8
    page.reload()
    assert LINK.findall(page.content()) == links
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{world.campaign_id}$"))
    page.go_forward()
    assert LINK.findall(page.content()) == links
    assert _counts(app) == (1, 8)
    page.goto(f"/staff/results/{world.campaign_id}")
    # The response-rate table's total: 8 links handed out, none answered, 0 %.
    total = page.locator("table:has(caption#rates) tr.sum td")
    expect(total.nth(0)).to_have_text("8")
    expect(total.nth(1)).to_have_text("0")
    expect(total.nth(2)).to_have_text(re.compile(r"^0\s?%$"))
