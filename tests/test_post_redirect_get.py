"""Posting twice (issue 8, kind 7): every state-changing POST answers with a
redirect (Post/Redirect/Get), and the same form sent again - a reload, a
double click, "back" and resend, a retry after a lost reply, two at the
same moment - creates nothing new and answers as the first did.

The cases are walked from `app.url_map`: a POST route without a case here
fails `test_every_post_route_has_a_case`. Each case posts what the page's own
form sends (its hidden CSRF token and form key as rendered), and states its
expected answers and effects as literals.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.analytics.models import ReferenceValue
from app.campaigns.models import Campaign, Invitation
from app.db import db_session
from app.models import metadata
from app.organisation.models import Programme, Provider

from .conftest import PASSWORD, login
from .forms import form_posting_to, hidden_fields
from .helpers import count_stored, definition_of, full_answers

#: POST routes that need not redirect or may do their work twice, each with why. None so far.
EXCEPTIONS: dict[str, str] = {}

LINK = re.compile(r"https://enkat\.example\.se/s/([A-Za-z0-9]{22})")
NEW_PASSWORD = "a completely new passphrase"


def snapshot(app) -> dict[str, list]:
    """Every row of every table, in a stable order: what the database holds."""
    with app.app_context():
        return {
            table.name: sorted(repr(tuple(row)) for row in db_session.execute(table.select()))
            for table in metadata.sorted_tables
        }


def _count(app, model) -> int:
    with app.app_context():
        return db_session.scalar(select(func.count()).select_from(model))


def _signed_in(app, client) -> bool:
    return client.get("/staff/campaigns/").status_code == 200


def _staff(app, make_user, role=Role.ANALYST):
    make_user(role, "karin")
    client = app.test_client()
    assert login(client, "karin").status_code == 303
    return client


def _page_form(client, page: str, action: str) -> dict[str, str]:
    return hidden_fields(client.get(page).get_data(as_text=True), action, page)


# -- the cases ----------------------------------------------------------------------------


def _login(app, world, make_user):
    make_user(Role.ANALYST, "karin")
    client = app.test_client()
    page = "/staff/login?next=/staff/results/"
    return client, page, {**_page_form(client, page, page), "username": "karin", "password": PASSWORD}


def _logout(app, world, make_user):
    client = _staff(app, make_user)
    return client, "/staff/logout", _page_form(client, "/staff/campaigns/", "/staff/logout")


def _password(app, world, make_user):
    client = _staff(app, make_user)
    form = _page_form(client, "/staff/password", "/staff/password")
    return client, "/staff/password", {**form, "current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}


def _password_works(app, client) -> bool:
    return login(app.test_client(), "karin", NEW_PASSWORD).status_code == 303


def _new_campaign(app, world, make_user):
    client = _staff(app, make_user)
    with app.app_context():
        version_id = db_session.scalar(select(Campaign.survey_version_id))
    form = _page_form(client, "/staff/campaigns/new", "/staff/campaigns/new")
    today = date.today()
    return client, "/staff/campaigns/new", {
        **form, "name": "Tertial 1", "survey_version": version_id, "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(), "providers": [world.provider_ids[0]],
        "programmes": [world.programme_ids[0]], "languages": ["sv", "ti"],
    }


def _links(app, world, make_user):
    client = _staff(app, make_user)
    action = f"/staff/campaigns/{world.campaign_id}/invitations"
    form = _page_form(client, f"/staff/campaigns/{world.campaign_id}", action)
    return client, action, {
        **form, "provider": world.provider_ids[0], "programme": world.programme_ids[0], "language": "ti", "count": 8,
    }


def _add_provider(app, world, make_user):
    client = _staff(app, make_user)
    form = _page_form(client, "/staff/organisation/", "/staff/organisation/providers")
    return client, "/staff/organisation/providers", {**form, "provider-name": "Ångström Coaching"}


def _add_programme(app, world, make_user):
    client = _staff(app, make_user)
    form = _page_form(client, "/staff/organisation/", "/staff/organisation/programmes")
    return client, "/staff/organisation/programmes", {**form, "programme-code": "AMI 1", "programme-name": "Coachning"}


def _add_reference(app, world, make_user):
    client = _staff(app, make_user)
    form = _page_form(client, "/staff/results/references", "/staff/results/references")
    return client, "/staff/results/references", {
        **form, "figure": "nacka-arbetsmarknad|index|", "year": "2024", "label": "SKR, riket", "value": "4,2"}


def _delete_reference(app, world, make_user):
    with app.app_context():
        db_session.add(ReferenceValue(survey_key="nacka-arbetsmarknad", question_key=None, measure="index",
                                      figure="index:", year=2024, label="SKR, riket", value=4.2))
        db_session.commit()
        reference_id = db_session.scalar(select(ReferenceValue.id))
    client = _staff(app, make_user)
    action = f"/staff/results/references/{reference_id}/delete"
    return client, action, _page_form(client, "/staff/results/references", action)


def _toggle(kind: str, index: int):
    def prepare(app, world, make_user):
        client = _staff(app, make_user)
        ids = world.provider_ids if kind == "providers" else world.programme_ids
        action = f"/staff/organisation/{kind}/{ids[index]}/active"
        return client, action, _page_form(client, "/staff/organisation/", action)

    return prepare


def _active(model, name_column, value):
    def effect(app, client) -> bool:
        with app.app_context():
            return db_session.scalar(select(model.active).where(name_column == value))

    return effect


def _survey_form(client) -> dict[str, str]:
    html = client.get("/survey").get_data(as_text=True)
    return hidden_fields(html, "/survey")


def _single_use_submit(app, world, make_user):
    client = app.test_client()
    token = world.invite(app)[0]
    assert client.get(f"/s/{token}").status_code == 303
    return client, "/survey", {**_survey_form(client), **full_answers(definition_of(app, world)), "action": "send"}


def _open_link_submit(app, world, make_user):
    client = app.test_client()
    assert client.get(f"/o/{world.open_link_code(app)}").status_code == 303
    return client, "/survey", {**_survey_form(client), **full_answers(definition_of(app, world)), "action": "send"}


def _language_switch(app, world, make_user):
    client = app.test_client()
    token = world.invite(app)[0]
    assert client.get(f"/s/{token}").status_code == 303
    return client, "/survey", {**_survey_form(client), "treated_well": "4", "switch_to": "ar"}


def _survey_language(app, client) -> str:
    return re.search(r'<html lang="([^"]+)"', client.get("/survey").get_data(as_text=True)).group(1)


@dataclass
class Case:
    endpoint: str
    name: str
    prepare: Callable
    effect: Callable
    before: object
    after: object
    #: The first answer's Location, and the answer to the same form sent again
    #: from the same browser (which got the first answer) and from a browser
    #: whose first answer was lost (its cookie as before the first send).
    first: Callable[[object], str]
    again: Callable[[object], str] | None = None
    lost: Callable[[object], str] | None = None
    #: Fields that make the form invalid: refused (4xx), nothing changes.
    refused: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


CASES = [
    Case("accounts.login", "sign in", _login, _signed_in, False, True,
         first=lambda w: "/staff/results/"),
    Case("accounts.logout", "sign out", _logout, _signed_in, True, False,
         first=lambda w: "/staff/login"),
    # A changed password signs out every other session - the one whose reply
    # was lost included (its cookie names the old password): it is asked to sign in.
    Case("accounts.password", "change password", _password, _password_works, False, True,
         first=lambda w: "/staff/", lost=lambda w: "/staff/login?next=/staff/password",
         refused={"repeat": "not the same"}),
    Case("campaigns.new", "create a campaign", _new_campaign, lambda app, c: _count(app, Campaign), 1, 2,
         first=lambda w: "/staff/campaigns/2", refused={"name": ""}),
    # The example: 8 links, and a reload must not make 8 more.
    Case("campaigns.invitations", "create single-use links", _links, lambda app, c: _count(app, Invitation), 0, 8,
         first=lambda w: f"/staff/campaigns/{w.campaign_id}/links/1", refused={"count": "0"}),
    Case("organisation.add_provider", "add a provider", _add_provider, lambda app, c: _count(app, Provider), 2, 3,
         first=lambda w: "/staff/organisation/", refused={"provider-name": " "}),
    Case("organisation.add_programme", "add a programme", _add_programme, lambda app, c: _count(app, Programme), 2, 3,
         first=lambda w: "/staff/organisation/", refused={"programme-code": ""}),
    # A reference value: 9 is no NKI on 1-5 (refused); deleting one twice deletes it once.
    Case("analytics.references", "add a reference value", _add_reference,
         lambda app, c: _count(app, ReferenceValue), 0, 1,
         first=lambda w: "/staff/results/references", refused={"value": "9"}),
    Case("analytics.delete_reference", "delete a reference value", _delete_reference,
         lambda app, c: _count(app, ReferenceValue), 1, 0,
         first=lambda w: "/staff/results/references"),
    Case("organisation.toggle_provider", "make a provider inactive", _toggle("providers", 1),
         _active(Provider, Provider.name, "Bro Coachning"), True, False,
         first=lambda w: "/staff/organisation/", refused={"active": "maybe"}),
    Case("organisation.toggle_programme", "make a programme inactive", _toggle("programmes", 0),
         _active(Programme, Programme.code, "JPG"), True, False,
         first=lambda w: "/staff/organisation/", refused={"active": ""}),
    # Respondents: sent again, the answers are not stored again, and the
    # thank-you page says they were received before.
    Case("respond.survey", "send answers from a single-use link", _single_use_submit,
         lambda app, c: count_stored(app), 0, 1,
         first=lambda w: "/thanks", again=lambda w: "/thanks?again=1", lost=lambda w: "/thanks?again=1",
         refused={"treated_well": "9"}),
    Case("respond.survey", "send answers from an open link", _open_link_submit,
         lambda app, c: count_stored(app), 0, 1,
         first=lambda w: "/thanks", again=lambda w: "/thanks?again=1", lost=lambda w: "/thanks?again=1",
         refused={"treated_well": "9"}),
    Case("respond.survey", "switch the survey's language", _language_switch, _survey_language, "sv", "ar",
         first=lambda w: "/survey"),
]


def test_every_post_route_has_a_case(app):
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    covered = {case.endpoint for case in CASES}
    assert posting - covered - set(EXCEPTIONS) == set(), "a POST route without a case in this file"
    assert set(EXCEPTIONS) <= posting, "an exception for a route that no longer exists"


def _endpoint_of(app, url: str) -> str:
    return app.url_map.bind("localhost").match(url.split("?")[0], method="POST")[0]


def _cookie(client) -> str | None:
    cookie = client.get_cookie("kr")
    return cookie.value if cookie else None


def _browser_with(app, cookie: str | None):
    """A browser holding `cookie`: the one whose reply was lost still has the cookie it sent with."""
    browser = app.test_client()
    if cookie is not None:
        browser.set_cookie("kr", cookie)
    return browser


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_post_redirects_and_the_same_form_sent_again_does_nothing_more(app, world, make_user, case):
    client, url, data = case.prepare(app, world, make_user)
    assert _endpoint_of(app, url) == case.endpoint
    assert case.effect(app, client) == case.before
    before = snapshot(app)
    if case.refused:
        refused = client.post(url, data={**data, **case.refused})
        assert refused.status_code == (400 if case.endpoint.startswith("organisation.toggle") else 422)
        assert snapshot(app) == before
    cookie_before = _cookie(client)

    first = client.post(url, data=data)
    assert first.status_code == 303
    assert first.headers["Location"] == case.first(world)
    done = snapshot(app)
    assert done != before or case.endpoint in ("accounts.login", "accounts.logout", "respond.survey")

    again = client.post(url, data=data)  # a reload, a double click, back and resend
    assert again.status_code == 303
    assert again.headers["Location"] == (case.again or case.first)(world)
    assert snapshot(app) == done

    lost = _browser_with(app, cookie_before).post(url, data=data)  # a retry after a lost reply
    assert (lost.status_code, lost.headers["Location"]) == (
        302 if case.lost and "login" in case.lost(world) else 303, (case.lost or case.first)(world))
    assert snapshot(app) == done

    assert case.effect(app, client) == case.after
    assert client.get(again.headers["Location"], follow_redirects=True).status_code == 200


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_same_form_sent_twice_at_once_does_its_work_once(app, world, make_user, case):
    client, url, data = case.prepare(app, world, make_user)
    cookie = _cookie(client)
    browsers = [_browser_with(app, cookie) for _ in range(2)]
    start = threading.Barrier(2)
    answers = [None, None]

    def send(index: int) -> None:
        start.wait()
        answers[index] = browsers[index].post(url, data=data)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    got = sorted((answer.status_code, answer.headers["Location"]) for answer in answers)
    if case.again is not None:
        # Respondents: one is thanked, the other told the answers were received.
        assert got == sorted([(303, case.first(world)), (303, case.again(world))])
    else:
        # Both get the first's answer - or, for a password change, the one that
        # arrives after the change is signed out like every other session.
        assert (303, case.first(world)) in got
        assert set(got) <= {(303, case.first(world)), (302, case.lost(world) if case.lost else case.first(world))}
    assert case.effect(app, browsers[0]) == case.after


def test_reloading_the_page_of_new_links_makes_no_second_batch(app, world, make_user):
    """The issue's example: 8 links, the page reloaded - still 8 links sent, response rate 0/8."""
    client, url, data = _links(app, world, make_user)
    created = client.post(url, data=data)
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    tokens = LINK.findall(page)
    assert len(tokens) == 8
    # Reload the links page; then "back" and send the form again, as a browser offers.
    assert LINK.findall(client.get(created.headers["Location"]).get_data(as_text=True)) == tokens
    resent = client.post(url, data=data)
    assert resent.headers["Location"] == created.headers["Location"]
    assert LINK.findall(client.get(resent.headers["Location"]).get_data(as_text=True)) == tokens
    assert _count(app, Invitation) == 8
    campaign_page = client.get(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True)
    assert re.search(r'<td class="num">8</td><td class="num">0</td>', campaign_page)
    # (The results page shows rates once k answers are mixed: tests/test_results_pages.py.)


def test_links_whose_reply_was_lost_are_shown_when_the_form_is_sent_again(app, world, make_user):
    client, url, data = _links(app, world, make_user)
    cookie = _cookie(client)
    created = client.post(url, data=data)
    shown = LINK.findall(client.get(created.headers["Location"]).get_data(as_text=True))
    # The browser never got that answer (nor its cookie): it sends the form again.
    retry = _browser_with(app, cookie)
    again = retry.post(url, data=data)
    assert again.headers["Location"] == created.headers["Location"]
    assert LINK.findall(retry.get(again.headers["Location"]).get_data(as_text=True)) == shown
    assert _count(app, Invitation) == 8


def test_a_changed_form_sent_with_the_same_key_is_a_new_submission(app, world, make_user):
    # "Back", another language chosen, sent: what was asked for is made, the first batch stays.
    client, url, data = _links(app, world, make_user)
    first = client.post(url, data=data)
    second = client.post(url, data={**data, "language": "so", "count": 3})
    assert first.headers["Location"] != second.headers["Location"]
    with app.app_context():
        per_language = dict(db_session.execute(
            select(Invitation.language, func.count()).group_by(Invitation.language)).all())
    assert per_language == {"ti": 8, "so": 3}
    assert len(LINK.findall(client.get(first.headers["Location"]).get_data(as_text=True))) == 8
    assert len(LINK.findall(client.get(second.headers["Location"]).get_data(as_text=True))) == 3


def test_a_keyed_form_without_its_key_is_refused_and_changes_nothing(app, world, make_user):
    client, url, data = _new_campaign(app, world, make_user)
    before = snapshot(app)
    refused = client.post(url, data={name: value for name, value in data.items() if name != "form_key"})
    assert refused.status_code == 400
    assert snapshot(app) == before


def test_the_form_key_is_fresh_on_every_page_and_kept_when_errors_are_shown(app, world, make_user):
    client, url, data = _new_campaign(app, world, make_user)
    keys = {_page_form(client, url, url)["form_key"] for _ in range(3)}
    assert len(keys | {data["form_key"]}) == 4
    shown_again = client.post(url, data={**data, "name": ""})
    assert shown_again.status_code == 422
    form = form_posting_to(shown_again.get_data(as_text=True), url, url)
    assert form.value("form_key") == data["form_key"]
    # Corrected and sent: one campaign.
    assert client.post(url, data=data).status_code == 303
    assert _count(app, Campaign) == 2


def test_the_database_keeps_no_form_key(app, world, make_user):
    client, url, data = _links(app, world, make_user)
    client.post(url, data=data)
    everything = repr(snapshot(app))
    assert data["form_key"] not in everything
    assert data["csrf_token"] not in everything
