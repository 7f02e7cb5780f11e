"""Creating campaigns and their links from the staff pages."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.campaigns.models import Campaign, Invitation, OpenLink
from app.config import Config, ConfigError
from app.db import db_session
from app.i18n import LANGUAGES
from app.models import metadata

from .conftest import login, stockholm_today
from .forms import hidden_fields
from .helpers import translated

LINK = re.compile(r"https://enkat\.example\.se/s/([A-Za-z0-9]{22})")


def _links_form(client, campaign_id: int) -> dict[str, str]:
    """The hidden fields of the campaign page's form for new single-use links."""
    html = client.get(f"/staff/campaigns/{campaign_id}").get_data(as_text=True)
    return hidden_fields(html, f"/staff/campaigns/{campaign_id}/invitations")


def test_create_campaign_from_a_template(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get("/staff/campaigns/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with app.app_context():
        version_id = db_session.scalar(select(Campaign.survey_version_id))
    today = stockholm_today()
    created = client.post("/staff/campaigns/new", data={
        **hidden_fields(html, "/staff/campaigns/new", "/staff/campaigns/new"),
        "name": "Samhällsorientering, tertial 1 2027",
        "survey_version": version_id,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=120)).isoformat(),
        "providers": [world.provider_ids[0], world.provider_ids[1]],
        "programmes": [world.programme_ids[1]],
        "languages": ["sv", "ar", "ti"],
    })
    assert created.status_code == 303
    campaign_id = int(created.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        campaign = db_session.get(Campaign, campaign_id)
        assert campaign.languages == ["ar", "sv", "ti"]
        links = db_session.scalar(select(func.count()).select_from(OpenLink).where(OpenLink.campaign_id == campaign_id))
        assert links == 2 * 1 * 3  # providers x programmes x languages
    shown = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Samhällsorientering, tertial 1 2027" in shown
    assert len(re.findall(r"https://enkat\.example\.se/o/[A-Za-z0-9]{10}", shown)) == 6


def test_campaign_form_errors_are_explained(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    client.get("/staff/login?lang=sv")
    login(client, "karin")
    html = client.get("/staff/campaigns/new").get_data(as_text=True)
    today = stockholm_today()
    refused = client.post("/staff/campaigns/new", data={
        **hidden_fields(html, "/staff/campaigns/new", "/staff/campaigns/new"), "name": "   ", "starts_on": today.isoformat(),
        "ends_on": (today - timedelta(days=1)).isoformat(), "languages": ["sv"],
    })
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert translated("Give the campaign a name.", "sv") in text
    assert translated("The last day cannot be before the first day.", "sv") in text
    assert translated("Choose at least one provider.", "sv") in text
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Campaign)) == 1


def _only_in(value, languages: set[str]):
    """A survey document with the texts of `languages` only (every mapping keyed by language codes trimmed)."""
    if isinstance(value, dict):
        return {key: _only_in(item, languages) for key, item in value.items()
                if key not in LANGUAGES or key in languages}
    if isinstance(value, list):
        return [_only_in(item, languages) for item in value]
    return value


def test_a_language_the_survey_lacks_is_a_form_error_not_a_crash(app, client, world, make_user):
    # A survey a municipality loads itself may have fewer languages than the ten the form offers.
    from app.surveys.services import builtin_files, read_document, store_version

    document = _only_in(read_document(builtin_files()[0]), {"sv", "en"})
    document.update(key="lokal-enkat", languages=["sv", "en"])
    with app.app_context():
        version, _created = store_version(db_session, document)
        db_session.commit()
        version_id, provider_id = version.id, world.provider_ids[0]
    make_user(Role.ANALYST, "karin")
    client.get("/staff/login?lang=en")
    login(client, "karin")
    html = client.get("/staff/campaigns/new").get_data(as_text=True)
    today = stockholm_today()
    refused = client.post("/staff/campaigns/new", data={
        **hidden_fields(html, "/staff/campaigns/new", "/staff/campaigns/new"), "name": "Lokal",
        "survey_version": version_id, "starts_on": today.isoformat(), "ends_on": today.isoformat(),
        "providers": [provider_id], "programmes": [world.programme_ids[0]], "languages": ["sv", "ar", "ti"],
    })
    assert refused.status_code == 422
    assert ("The chosen survey has no texts in these languages: العربية, ትግርኛ. "
            "Untick them or choose another survey.") in refused.get_data(as_text=True)
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_invitation_links_are_shown_in_the_browser_that_made_them_and_only_hashes_are_kept(
        app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    issued = client.post(f"/staff/campaigns/{world.campaign_id}/invitations", data={
        **_links_form(client, world.campaign_id), "provider": world.provider_ids[1],
        "programme": world.programme_ids[0], "language": "ar", "count": 3,
    })
    assert issued.status_code == 303
    assert re.fullmatch(rf"/staff/campaigns/{world.campaign_id}/links/\d+", issued.headers["Location"])
    page = client.get(issued.headers["Location"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    tokens = LINK.findall(page.get_data(as_text=True))
    assert len(tokens) == 3 and len(set(tokens)) == 3
    # A reload shows the same links, and makes none.
    assert LINK.findall(client.get(issued.headers["Location"]).get_data(as_text=True)) == tokens
    with app.app_context():
        stored = db_session.scalars(select(Invitation.token_hash)).all()
        assert len(stored) == 3
        everything = repr([db_session.execute(table.select()).all() for table in metadata.sorted_tables])
    for token in tokens:
        assert token not in everything
    # The links work for customers.
    customer = app.test_client()
    assert customer.get(f"/s/{tokens[0]}").status_code == 303
    assert tokens[0] not in client.get(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True)
    # The same account in another browser cannot see them: they are not stored.
    other = app.test_client()
    login(other, "karin")
    elsewhere = other.get(issued.headers["Location"]).get_data(as_text=True)
    assert LINK.findall(elsewhere) == []
    assert translated("These links can no longer be shown", "sv") in elsewhere
    # Nor can this browser once signed out and in again.
    client.post("/staff/logout", data=hidden_fields(client.get("/staff/campaigns/").get_data(as_text=True), "/staff/logout"))
    login(client, "karin")
    assert LINK.findall(client.get(issued.headers["Location"]).get_data(as_text=True)) == []


def test_new_links_are_shown_for_links_shown_minutes_and_then_no_more(app, client, world, make_user, monkeypatch):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    issued = client.post(f"/staff/campaigns/{world.campaign_id}/invitations", data={
        **_links_form(client, world.campaign_id), "provider": world.provider_ids[0],
        "programme": world.programme_ids[0], "language": "sv", "count": 2,
    })
    location = issued.headers["Location"]
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 59 * 60)  # LINKS_SHOWN_MINUTES is 60
    assert len(LINK.findall(client.get(location).get_data(as_text=True))) == 2
    monkeypatch.setattr(time, "time", lambda: start + 61 * 60)
    assert LINK.findall(client.get(location).get_data(as_text=True)) == []
    assert client.get(location + ".csv").headers["Location"] == location


def test_how_long_new_links_are_shown_is_a_setting_of_at_least_a_minute():
    assert Config.from_env({}).links_shown == timedelta(minutes=60)
    assert Config.from_env({"LINKS_SHOWN_MINUTES": "15"}).links_shown == timedelta(minutes=15)
    with pytest.raises(ConfigError, match="LINKS_SHOWN_MINUTES"):
        Config.from_env({"LINKS_SHOWN_MINUTES": "0"})


def test_invitation_links_as_csv(app, client, world, make_user):
    make_user(Role.ADMIN, "root")
    login(client, "root")
    issued = client.post(f"/staff/campaigns/{world.campaign_id}/invitations", data={
        **_links_form(client, world.campaign_id), "provider": world.provider_ids[0],
        "programme": world.programme_ids[0], "language": "so", "count": 5,
    })
    page = client.get(issued.headers["Location"]).get_data(as_text=True)
    assert f'href="{issued.headers["Location"]}.csv"' in page
    download = client.get(issued.headers["Location"] + ".csv")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["provider", "programme", "language", "link"]
    assert len(rows) == 6 and all(row[2] == "so" for row in rows[1:])
    assert [LINK.fullmatch(row[3]).group(1) for row in rows[1:]] == LINK.findall(page)


def test_invitation_count_is_bounded(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    refused = client.post(f"/staff/campaigns/{world.campaign_id}/invitations", data={
        **_links_form(client, world.campaign_id), "provider": world.provider_ids[0],
        "programme": world.programme_ids[0], "language": "sv", "count": 100000,
    })
    assert refused.status_code == 422
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_campaign_list_in_every_language(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    for code, language in LANGUAGES.items():
        client.get(f"/staff/campaigns/?lang={code}")
        page = client.get("/staff/campaigns/").get_data(as_text=True)
        assert f'<html lang="{language.html_lang}" dir="{language.direction}">' in page
        assert translated("New campaign", code) in page


def test_unknown_campaign_is_404(client, make_user, world):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    assert client.get("/staff/campaigns/9999").status_code == 404
    assert client.get("/staff/results/9999").status_code == 404


def test_every_staff_page_offers_every_language_by_its_own_name(app, client, world, make_user):
    make_user(Role.ADMIN, "admin")
    login(client, "admin")
    pages = ["/staff/campaigns/", "/staff/campaigns/new", f"/staff/campaigns/{world.campaign_id}",
             "/staff/results/", f"/staff/results/{world.campaign_id}", "/staff/organisation/"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        for code, language in LANGUAGES.items():
            assert f'<a href="?lang={code}" lang="{language.html_lang}"' in html, (path, code)
            assert f">{language.own_name}</a>" in html, (path, code)
