"""Staff pages write every date in figures, as the staff member's locale does (issue 9: "Swedish staff see 2027-01-15").

The new user's finding: the campaign list said "15 apr. 2026" where the
results pages said 2026-04-15. Every staff date goes through
app.i18n.numeric_date (CLDR's "yMd"); the expected forms below are written
out by hand per locale.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.accounts.models import Role
from app.campaigns.models import Campaign
from app.db import db_session

from .conftest import ROOT, login

STARTS, ENDS, FINALISED = date(2027, 1, 15), date(2027, 3, 31), date(2027, 4, 2)
#: Per staff language: how it writes STARTS, ENDS and FINALISED in figures, and a month name it must not use.
WRITTEN = {
    "sv": ("2027-01-15", "2027-03-31", "2027-04-02", "jan."),
    # CLDR's English is month first ("1/15/2027"): a Swede reads 4/2 as 4 February, so ISO 8601 (the new user).
    "en": ("2027-01-15", "2027-03-31", "2027-04-02", "Jan"),
    "so": ("2027-01-15", "2027-03-31", "2027-04-02", "1/15/2027"),
    "ar": ("15\u200f/1\u200f/2027", "31\u200f/3\u200f/2027", "2\u200f/4\u200f/2027", "يناير"),
    "uk": ("15.01.2027", "31.03.2027", "02.04.2027", "січ"),
}


@pytest.fixture
def finalised_campaign(app, world):
    with app.app_context():
        campaign = db_session.get(Campaign, world.campaign_id)
        campaign.starts_on, campaign.ends_on, campaign.finalised_on = STARTS, ENDS, FINALISED
        db_session.commit()
    return world.campaign_id


@pytest.mark.parametrize("language", sorted(WRITTEN))
def test_every_staff_page_with_a_campaigns_dates_writes_them_in_figures(app, client, make_user, finalised_campaign,
                                                                        language):
    starts, ends, finalised, month_name = WRITTEN[language]
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get(f"/staff/campaigns/?lang={language}")
    pages = {
        "/staff/campaigns/": (starts, ends),
        f"/staff/campaigns/{finalised_campaign}": (starts, ends, finalised),
        "/staff/results/": (starts, ends),
        f"/staff/results/{finalised_campaign}": (starts, ends, finalised),
    }
    for path, dates in pages.items():
        text = re.sub(r"<[^>]*>", " ", client.get(path).get_data(as_text=True))
        for written in dates:
            assert written in text, (path, written)
        assert month_name not in text, path


STAFF_TEMPLATES = [path for path in sorted((ROOT / "app").rglob("*.html"))
                   if "respond" not in path.parts and path.name not in ("respondent_base.html", "home.html")]
#: Babel's formatters that write a date with a month's name or in another form than numeric_date's.
DATE_FORMATTERS = re.compile(r"format_date\(|format_datetime\(|\|\s*(?:date|datetime)format\b")


def test_no_staff_template_writes_a_date_around_numeric_date():
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in STAFF_TEMPLATES
                 for match in DATE_FORMATTERS.finditer(path.read_text())]
    assert STAFF_TEMPLATES and not offenders, offenders
