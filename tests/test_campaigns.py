"""Creating campaigns and their links from the staff pages."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, timedelta

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
from .helpers import LANGUAGE_FACTS, translated

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


def test_a_campaign_may_last_one_day(app, client, world, make_user):
    # A drop-in day: the first day is the last day.
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    html = client.get("/staff/campaigns/new").get_data(as_text=True)
    with app.app_context():
        version_id = db_session.scalar(select(Campaign.survey_version_id))
    day = date(2027, 3, 9)
    created = client.post("/staff/campaigns/new", data={
        **hidden_fields(html, "/staff/campaigns/new", "/staff/campaigns/new"), "name": "Öppet hus", "survey_version": version_id,
        "starts_on": "2027-03-09", "ends_on": "2027-03-09",
        "providers": [world.provider_ids[0]], "programmes": [world.programme_ids[0]], "languages": ["sv"],
    })
    assert created.status_code == 303
    with app.app_context():
        campaign = db_session.scalar(select(Campaign).where(Campaign.name == "Öppet hus"))
        assert (campaign.starts_on, campaign.ends_on) == (day, day)


def select_options(html: str, name: str) -> list[tuple[str, str]]:
    """(value, label) of each option of the <select name=...> in a page."""
    select = re.search(rf'<select[^>]* name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]* value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_the_links_form_offers_the_campaigns_own_providers_programmes_and_languages(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    html = client.get(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True)
    nordljus, bro = world.provider_ids
    jpg, so = world.programme_ids
    assert select_options(html, "provider") == [(str(bro), "Bro Coachning"), (str(nordljus), "Nordljus AB")]
    assert select_options(html, "programme") == [(str(jpg), "JPG – Jobbpeng grund"),
                                                 (str(so), "SO – Samhällsorientering")]
    assert select_options(html, "language") == [
        ("ar", "العربية"), ("ckb", "کوردیی ناوەندی"), ("en", "English"), ("fa", "فارسی"), ("prs", "دری"),
        ("ps", "پښتو"), ("so", "Soomaali"), ("sv", "Svenska"), ("ti", "ትግርኛ"), ("uk", "Українська")]


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


def test_new_links_are_shown_for_links_shown_minutes_and_then_no_more(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    issued = client.post(f"/staff/campaigns/{world.campaign_id}/invitations", data={
        **_links_form(client, world.campaign_id), "provider": world.provider_ids[0],
        "programme": world.programme_ids[0], "language": "sv", "count": 2,
    })
    location = issued.headers["Location"]
    start = time.time()
    app.config["KUNDROST_CLOCK"] = lambda: start + 59 * 60  # LINKS_SHOWN_MINUTES is 60
    assert len(LINK.findall(client.get(location).get_data(as_text=True))) == 2
    app.config["KUNDROST_CLOCK"] = lambda: start + 61 * 60
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
    # The links are the customers' keys: no browser or proxy may keep a copy.
    assert "no-store" in {d.strip() for d in download.headers["Cache-Control"].lower().split(",")}
    body = download.get_data(as_text=True)
    assert body.startswith("\ufeff")  # Excel reads the file as UTF-8 only with the BOM
    # Swedish Excel's dialect (issue 9): ";" between cells, every text cell quoted, CR LF.
    assert body.splitlines(keepends=True)[0] == '\ufeff"provider";"programme";"language";"link"\r\n'
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert rows[0] == ["provider", "programme", "language", "link"]
    assert len(rows) == 6 and all(row[2] == "so" for row in rows[1:])
    assert [LINK.fullmatch(row[3]).group(1) for row in rows[1:]] == LINK.findall(page)
    assert {tuple(row[:3]) for row in rows[1:]} == {("Nordljus AB", "JPG", "so")}
    name = f"kundrost-campaign-{world.campaign_id}-links.csv"
    assert download.headers["Content-Disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    customer = app.test_client()
    assert customer.get(f"/s/{LINK.fullmatch(rows[1][3]).group(1)}").status_code == 303  # the links work


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
    for code, (html_lang, direction, _own_name) in LANGUAGE_FACTS.items():
        client.get(f"/staff/campaigns/?lang={code}")
        page = client.get("/staff/campaigns/").get_data(as_text=True)
        assert f'<html lang="{html_lang}" dir="{direction}">' in page
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
        for code, (html_lang, _direction, own_name) in LANGUAGE_FACTS.items():
            assert f'<a href="?lang={code}" lang="{html_lang}"' in html, (path, code)
            assert f">{own_name}</a>" in html, (path, code)


def _issue(app, campaign_id: int, provider_id: int, programme_id: int, language: str, count: int) -> list[str]:
    from app.campaigns.services import issue_invitations
    from app.organisation.models import Programme, Provider

    with app.app_context():
        issued = issue_invitations(
            db_session, db_session.get(Campaign, campaign_id), provider=db_session.get(Provider, provider_id),
            programme=db_session.get(Programme, programme_id), language=language, count=count, today=date.today())
        db_session.commit()
        return [item.token for item in issued]


def _answer(app, world, tokens: list[str]) -> None:
    from .helpers import definition_of, full_answers, open_survey, submit

    for token in tokens:
        phone = app.test_client()
        _, csrf = open_survey(phone, token)
        assert submit(phone, csrf, full_answers(definition_of(app, world))).status_code == 303


def _links_sent(client, campaign_id: int) -> list[tuple[str, ...]]:
    html = client.get(f"/staff/campaigns/{campaign_id}").get_data(as_text=True)
    section = html.split('id="links-sent"', 1)[1].split("</section>", 1)[0]
    return [tuple(cells) for cells in (re.findall(r"<td[^>]*>([^<]*)</td>", row)
                                       for row in re.findall(r"<tr>(.*?)</tr>", section)) if cells]


def _finalise(app, campaign_id: int) -> None:
    from .conftest import mixer_of

    with app.app_context():
        db_session.get(Campaign, campaign_id).ends_on = date.today() - timedelta(days=1)
        db_session.commit()
    mixer_of(app).finalise(campaign_id, date.today())


def test_links_sent_are_counted_per_provider_programme_and_language_before_and_after_finalisation(
        app, client, world, make_user):
    from app.campaigns.services import create_campaign
    from app.organisation.models import Programme, Provider

    nordljus, bro = world.provider_ids
    jpg, so = world.programme_ids
    # Sent and answered, scope by scope; each differs from the others in one thing only.
    _answer(app, world, _issue(app, world.campaign_id, nordljus, jpg, "sv", 3)[:2])
    _issue(app, world.campaign_id, nordljus, jpg, "ar", 2)
    _answer(app, world, _issue(app, world.campaign_id, nordljus, so, "sv", 4)[:1])
    _answer(app, world, _issue(app, world.campaign_id, bro, jpg, "sv", 1))
    # Another campaign of the same providers, finalised too: its counts are its own.
    with app.app_context():
        other = create_campaign(
            db_session, name="Våren", survey_version=db_session.get(Campaign, world.campaign_id).survey_version,
            starts_on=date.today() - timedelta(days=20), ends_on=date.today() + timedelta(days=5),
            providers=[db_session.get(Provider, nordljus)], programmes=[db_session.get(Programme, jpg)],
            languages=["sv"])
        db_session.commit()
        other_id = other.id
    _answer(app, world, _issue(app, other_id, nordljus, jpg, "sv", 6)[:5])
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get("/staff/campaigns/?lang=sv")
    expected = [
        # provider, programme, language, links, answered - in the table's order
        ("Nordljus AB", "JPG", "Svenska", "3", "2"),
        ("Nordljus AB", "JPG", "العربية", "2", "0"),
        ("Nordljus AB", "SO", "Svenska", "4", "1"),
        ("Bro Coachning", "JPG", "Svenska", "1", "1"),
    ]
    assert sorted(_links_sent(client, world.campaign_id)) == sorted(expected)
    _finalise(app, other_id)
    _finalise(app, world.campaign_id)
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Invitation)) == 0  # now from cell_count
    assert sorted(_links_sent(client, world.campaign_id)) == sorted(expected)
    assert _links_sent(client, other_id) == [("Nordljus AB", "JPG", "Svenska", "6", "5")]


def test_campaigns_are_listed_newest_start_first(app, client, world, make_user):
    from app.campaigns.services import create_campaign

    with app.app_context():
        world_campaign = db_session.get(Campaign, world.campaign_id)
        # "Vår B" is created after "Vår A" with the same first day: the newer one comes first.
        for name, starts in (("Förra året", date(2025, 1, 10)), ("Nästa år", date(2027, 1, 10)),
                             ("Vår A", date(2026, 3, 1)), ("Vår B", date(2026, 3, 1))):
            create_campaign(db_session, name=name, survey_version=world_campaign.survey_version, starts_on=starts,
                            ends_on=starts + timedelta(days=60), providers=world_campaign.providers,
                            programmes=world_campaign.programmes, languages=["sv"])
        db_session.commit()
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    for page in ("/staff/campaigns/", "/staff/results/"):
        html = client.get(page).get_data(as_text=True)
        names = [name for name in ("Nästa år", "Hösten", "Vår A", "Vår B", "Förra året") if name in html]
        assert sorted(names, key=html.index) == ["Nästa år", "Hösten", "Vår B", "Vår A", "Förra året"], page


def test_issuing_links_is_refused_outside_the_campaign_and_its_bounds(app, world):
    # The staff form offers only the campaign's own choices; the service refuses
    # the rest itself, saying which rule was broken.
    from app.campaigns.services import CampaignError, create_campaign, issue_invitations
    from app.organisation.models import Programme, Provider

    with app.app_context():
        campaign = db_session.get(Campaign, world.campaign_id)
        inside_provider, inside_programme = db_session.get(Provider, world.provider_ids[0]), db_session.get(
            Programme, world.programme_ids[0])
        outsider = Provider(name="Utanför AB", active=True)
        other_programme = Programme(code="AMI", name="Arbetsmarknadsinsatser", active=True)
        db_session.add_all([outsider, other_programme])
        db_session.flush()
        small = create_campaign(db_session, name="Liten", survey_version=campaign.survey_version,
                                starts_on=date.today(), ends_on=date.today(), providers=[inside_provider],
                                programmes=[inside_programme], languages=["sv"])
        db_session.flush()

        def issue(provider=inside_provider, programme=inside_programme, language="sv", count=1, on=small):
            return issue_invitations(db_session, on, provider=provider, programme=programme, language=language,
                                     count=count, today=date.today())

        for wrong in (dict(provider=outsider), dict(programme=other_programme)):
            with pytest.raises(CampaignError, match="^provider or programme is not part of this campaign$"):
                issue(**wrong)
        with pytest.raises(CampaignError, match="^language is not part of this campaign$"):
            issue(language="ar")
        for count in (0, 5001):
            with pytest.raises(CampaignError, match="^count must be between 1 and 5000$"):
                issue(count=count)
        assert [len(issue(count=count)) for count in (1, 5000)] == [1, 5000]
        small.finalised_on = date.today()
        with pytest.raises(CampaignError, match="^the campaign is finalised$"):
            issue()
        db_session.rollback()


def test_creating_a_campaign_is_refused_for_a_period_backwards_or_a_language_the_survey_lacks(app, world):
    from app.campaigns.services import CampaignError, create_campaign

    with app.app_context():
        template = db_session.get(Campaign, world.campaign_id)
        common = dict(name="Fel", survey_version=template.survey_version, providers=template.providers,
                      programmes=template.programmes)
        with pytest.raises(CampaignError, match="^ends before it starts$"):
            create_campaign(db_session, starts_on=date(2027, 3, 2), ends_on=date(2027, 3, 1), languages=["sv"],
                            **common)
        with pytest.raises(CampaignError, match=r"^the survey has no text in \['de', 'fr'\]$"):
            create_campaign(db_session, starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 2),
                            languages=["sv", "fr", "de"], **common)
        db_session.rollback()
        assert db_session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_open_links_are_listed_by_provider_then_programme_then_language(app, client, world, make_user):
    # Created with the providers and programmes given in the other order, so
    # that the order of creation cannot stand in for the order asked for.
    from app.campaigns.services import create_campaign
    from app.organisation.models import Programme, Provider

    nordljus, bro = world.provider_ids
    jpg, so = world.programme_ids
    with app.app_context():
        template = db_session.get(Campaign, world.campaign_id)
        campaign = create_campaign(
            db_session, name="Omvänd", survey_version=template.survey_version, starts_on=date(2027, 1, 1),
            ends_on=date(2027, 2, 1), providers=[db_session.get(Provider, bro), db_session.get(Provider, nordljus)],
            programmes=[db_session.get(Programme, so), db_session.get(Programme, jpg)], languages=["uk", "ar"])
        db_session.commit()
        campaign_id = campaign.id
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    html = client.get(f"/staff/campaigns/{campaign_id}").get_data(as_text=True)
    section = html.split('id="open-links"', 1)[1]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td[^>]*>([^<]*)</td>", section)
    assert rows == [  # Nordljus AB has the lower id, JPG the lower programme id; then "ar" before "uk"
        ("Nordljus AB", "JPG", "العربية"), ("Nordljus AB", "JPG", "Українська"),
        ("Nordljus AB", "SO", "العربية"), ("Nordljus AB", "SO", "Українська"),
        ("Bro Coachning", "JPG", "العربية"), ("Bro Coachning", "JPG", "Українська"),
        ("Bro Coachning", "SO", "العربية"), ("Bro Coachning", "SO", "Українська"),
    ]


def test_the_campaign_page_says_how_many_answers_wait_to_be_mixed(app, client, world, make_user):
    from .helpers import definition_of, full_answers, open_survey, submit

    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get("/staff/campaigns/?lang=en")
    note = lambda: client.get(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True).split(
        'id="waiting-note">', 1)[1].split("</p>", 1)[0].strip()
    assert note() == "No answers wait to be mixed."
    for token in world.invite(app, count=3):
        phone = app.test_client()
        _, csrf = open_survey(phone, token)
        assert submit(phone, csrf, full_answers(definition_of(app, world))).status_code == 303
    assert note() == ("3 answers wait to be mixed and are not in the figures yet: answers are released in groups, "
                      "so that none can be traced to the person who sent it.")
