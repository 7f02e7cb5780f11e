"""Survey versions: a changed survey is a new version, and campaigns keep theirs.

A campaign points at the stored survey version it was made on; its answers
were given to that version's questions. Changing a survey in the library
therefore needs a new version (`store_version` refuses the same key and
version with other content), and the versions released earlier stay
loadable (tests/data/surveys/) so that an installation that has them keeps
working after an upgrade. `RELEASED` records every released version's
content digest: a test fails when a released file changes without a new
version, or when a new version is not recorded.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.analytics.results import result_table
from app.analytics.scope import Breakdown, Selection
from app.campaigns.models import Campaign
from app.campaigns.services import create_campaign, issue_invitations
from app.db import db_session
from app.i18n import LANGUAGES
from app.organisation.models import Programme, Provider
from app.surveys.definition import DefinitionError
from app.surveys.models import SurveyVersion
from app.surveys.queries import current_versions
from app.surveys.services import builtin_files, digest, read_document, store_version

from .conftest import ROOT, login, mixer_of
from .forms import hidden_fields
from .helpers import open_survey, submit
from .test_surveys import minimal

RELEASED_DIR = ROOT / "tests" / "data" / "surveys"

#: (survey key, version) -> SHA-256 of the released document (services.digest).
#: Add a line for every new version; never change a line.
RELEASED = {
    ("nacka-arbetsmarknad", 1): "6a0f1babe08f2100d35bb5fada8010ffb945263587ab4f5b4376fcc151226e78",
    ("nacka-arbetsmarknad", 2): "34f3e8af37f87075d11bbf48ef3af48f788fd5596da5787444de79e7ac7d968a",
    ("nacka-arbetsmarknad", 3): "2a6b546ea602ef3339e0c7a66d7ffc5cccc68774f5439c8bb7ae002704050857",
    ("nki-scb", 1): "68500f1180d1fd9cfd047ae145567088bbfb130fed29379f56041a668437e5ff",
    ("nki-scb", 2): "a25c0b1e1828b019be6da3708c1d106a9a4f7d9795685bcd94604bc40557e9e5",
    ("samhallsorientering", 1): "af318e8c9c1dacccb3fb3eee1c1b2f8426478f604bc4bfde4f189f863d7508fb",
    ("samhallsorientering", 2): "d55d811d6a269b46ba8b3707c355271ec443958f6185b840ad59d4785d51ab98",
    ("skr-brukarundersokning", 1): "be90c8fb02600d14a508c2288a5cd4036874719863c4775724a68055f30314af",
    ("skr-brukarundersokning", 2): "98a8d90fbb3c4760d69f15ae49add27ac62028add4f1a977efdf411cc412fb0b",
}


def released_files():
    return sorted(RELEASED_DIR.glob("*.yaml"))


def test_every_survey_file_is_a_recorded_release():
    """The example: editing a survey's text without raising its version fails here
    (and would fail `flask surveys load` on every installation that has it)."""
    for path in builtin_files() + released_files():
        document = read_document(path)
        release = (document["key"], document["version"])
        assert release in RELEASED, f"{path.name}: record {release} and its digest in RELEASED"
        assert digest(document) == RELEASED[release], (
            f"{path.name}: {release} was released with other content; raise 'version' for a change"
        )


def test_every_release_is_kept_and_the_library_has_the_newest():
    kept = {}
    for path in builtin_files() + released_files():
        document = read_document(path)
        kept[(document["key"], document["version"])] = path
    assert set(kept) == set(RELEASED), "keep every released version in tests/data/surveys/"
    newest = {}
    for key, version in RELEASED:
        newest[key] = max(version, newest.get(key, 0))
    library = {(read_document(p)["key"], read_document(p)["version"]) for p in builtin_files()}
    assert library == {("nacka-arbetsmarknad", 3), ("nki-scb", 2), ("samhallsorientering", 2),
                       ("skr-brukarundersokning", 2)}
    assert library == set(newest.items())


def test_a_question_key_keeps_its_kind_across_versions(app):
    first = minimal()
    yes_no_to_scale = copy.deepcopy(first)
    yes_no_to_scale["version"] = 2
    yes_no_to_scale["sections"][0]["questions"][1].update(type="scale", scale="s")
    renamed = copy.deepcopy(yes_no_to_scale)
    renamed["sections"][0]["questions"][1]["key"] = "q2_rating"
    with app.app_context():
        store_version(db_session, first)
        with pytest.raises(DefinitionError, match="'q2' is a scale question on scale 's' .* but a yesno question in version 1"):
            store_version(db_session, yes_no_to_scale)
        db_session.rollback()
        _, created = store_version(db_session, renamed)
        assert created
        db_session.commit()
        assert [(v.key, v.version) for v in current_versions(db_session)] == [("mini", 2)]


ANSWERS_V1 = {
    # SKR version 1: five of the eight index answers are positive (>= 4): 62.5 %.
    "overall_satisfaction": "4", "easy_to_reach": "2", "listens": "5", "understands_situation": "2",
    "understands_information": "4", "can_influence": "5", "respected": "2", "situation_changed": "4",
}


def test_a_campaign_keeps_its_version_and_its_answers_when_the_library_changes(app, runner, make_user):
    # An installation that loaded the earlier releases and made a campaign on SKR version 1.
    today = date.today()
    with app.app_context():
        for path in released_files():
            store_version(db_session, read_document(path))
        old = db_session.scalar(select(SurveyVersion).where(
            SurveyVersion.key == "skr-brukarundersokning", SurveyVersion.version == 1))
        provider = Provider(name="Ekonomiskt bistånd Norr", active=True)
        programme = Programme(code="EKB", name="Ekonomiskt bistånd", active=True)
        db_session.add_all([provider, programme])
        db_session.flush()
        campaign = create_campaign(
            db_session, name="Brukarundersökning HT", survey_version=old, starts_on=today - timedelta(days=5),
            ends_on=today + timedelta(days=20), providers=[provider], programmes=[programme], languages=list(LANGUAGES),
        )
        tokens = [item.token for item in issue_invitations(
            db_session, campaign, provider=provider, programme=programme, language="sv", count=11, today=today)]
        db_session.commit()
        campaign_id, old_version_id = campaign.id, old.id
        provider_id, programme_id = provider.id, programme.id

    def answer(token: str, expected_question: str, answers: dict[str, str]) -> None:
        customer = app.test_client()
        page, csrf = open_survey(customer, token)
        assert expected_question in page.get_data(as_text=True)
        sent = submit(customer, csrf, answers)
        assert sent.status_code == 303 and sent.headers["Location"] == "/thanks"

    for token in tokens[:10]:
        answer(token, "Min handläggare lyssnar på mig.", ANSWERS_V1)
    assert mixer_of(app).round().released == 5

    # The library changes: the new versions are stored beside the old ones.
    loaded = runner.invoke(args=["surveys", "load", "--builtin"])
    assert loaded.exit_code == 0, loaded.output
    assert "loaded   skr-brukarundersokning v2" in loaded.output

    with app.app_context():
        campaign = db_session.get(Campaign, campaign_id)
        assert (campaign.survey_version_id, campaign.survey_version.version) == (old_version_id, 1)
        [row] = result_table(db_session, Selection((campaign_id,)), Breakdown("provider"), 5).rows
        # Read with version 1's index (all eight questions): 62.5; version 2's would give 50.
        assert (row.responses, row.nki.n, row.nki.mean) == (5, 5, pytest.approx(62.5))
        versions = sorted((v.key, v.version) for v in db_session.scalars(select(SurveyVersion)))
    assert ("skr-brukarundersokning", 1) in versions and ("skr-brukarundersokning", 2) in versions

    # A customer of the old campaign still gets the old questions, and their answer is taken.
    answer(tokens[10], "Min handläggare lyssnar på mig.", ANSWERS_V1)

    # Staff results page of the old campaign still reads.
    make_user(Role.ANALYST, "karin")
    staff = app.test_client()
    login(staff, "karin")
    assert staff.get(f"/staff/results/{campaign_id}").status_code == 200

    # A new campaign is offered, and gets, only the newest version.
    form = staff.get("/staff/campaigns/new").get_data(as_text=True)
    assert "Vad tycker du om stödet från din handläggare? (v2)" in form
    assert "Vad tycker du om stödet från din handläggare? (v1)" not in form
    with app.app_context():
        new_version_id = db_session.scalar(select(SurveyVersion.id).where(
            SurveyVersion.key == "skr-brukarundersokning", SurveyVersion.version == 2))
    refused = staff.post("/staff/campaigns/new", data={
        **hidden_fields(form, "/staff/campaigns/new", "/staff/campaigns/new"), "name": "Brukarundersökning VT", "survey_version": old_version_id,
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
        "providers": [provider_id], "programmes": [programme_id], "languages": ["sv"],
    })
    assert refused.status_code == 422  # version 1 is not a choice for a new campaign
    form = staff.get("/staff/campaigns/new").get_data(as_text=True)  # a new form key, as a person starts again
    created = staff.post("/staff/campaigns/new", data={
        **hidden_fields(form, "/staff/campaigns/new", "/staff/campaigns/new"), "name": "Brukarundersökning VT", "survey_version": new_version_id,
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
        "providers": [provider_id], "programmes": [programme_id], "languages": ["sv"],
    })
    assert created.status_code == 303
    new_campaign_id = int(created.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        new_campaign = db_session.get(Campaign, new_campaign_id)
        assert new_campaign.survey_version.version == 2
        [token] = [item.token for item in issue_invitations(
            db_session, new_campaign, provider=db_session.get(Provider, provider_id),
            programme=db_session.get(Programme, programme_id), language="sv", count=1, today=today)]
        db_session.commit()
    page, _ = open_survey(app.test_client(), token)
    html = page.get_data(as_text=True)
    assert "Hur stor förståelse visar din handläggare för din situation?" in html
    assert "Min handläggare lyssnar på mig." not in html
