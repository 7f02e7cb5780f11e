"""Providers and programmes, managed by staff on /staff/organisation/."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role, User
from app.db import db_session
from app.organisation.models import Programme, Provider

from .conftest import csrf_token_from, login
from .forms import hidden_fields
from .helpers import translated


def _page(client) -> str:
    return client.get("/staff/organisation/").get_data(as_text=True)


def _form(client, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, form key) of the organisation page's form posting to `action`."""
    return hidden_fields(_page(client), action)


def _add_provider(client, name: str):
    """Post the organisation page's provider form, as a signed-in staff member would."""
    return client.post("/staff/organisation/providers",
                       data={**_form(client, "/staff/organisation/providers"), "provider-name": name})


def _offered_in_a_new_campaign(client) -> str:
    return client.get("/staff/campaigns/new").get_data(as_text=True)


def test_a_provider_added_by_staff_is_offered_for_new_campaigns(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    added = _add_provider(client, "  Ny Väg AB ")
    assert added.status_code == 303
    page = client.get(added.headers["Location"]).get_data(as_text=True)
    assert translated("Provider added: %(name)s", "sv") % {"name": "Ny Väg AB"} in page
    with app.app_context():
        provider = db_session.scalar(select(Provider).where(Provider.name == "Ny Väg AB"))
        assert provider is not None and provider.active
    assert "Ny Väg AB" in _offered_in_a_new_campaign(client)


def test_a_programme_added_by_staff_is_offered_for_new_campaigns(app, client, world, make_user):
    make_user(Role.ADMIN, "admin")
    login(client, "admin")
    added = client.post("/staff/organisation/programmes", data={
        **_form(client, "/staff/organisation/programmes"),
        "programme-code": "AMI 2", "programme-name": "Arbetsmarknadsinsatser, minst 25 %",
    })
    assert added.status_code == 303
    with app.app_context():
        assert db_session.scalar(select(Programme.name).where(Programme.code == "AMI 2")) == \
            "Arbetsmarknadsinsatser, minst 25 %"
    assert "AMI 2 – Arbetsmarknadsinsatser, minst 25 %" in _offered_in_a_new_campaign(client)


def test_duplicates_and_empty_names_are_refused_in_the_staff_members_language(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get("/staff/organisation/?lang=uk")
    existing = "nordljus ab"  # the world has "Nordljus AB": names differ by case only
    duplicate = client.post("/staff/organisation/providers",
                            data={**_form(client, "/staff/organisation/providers"), "provider-name": existing})
    assert duplicate.status_code == 422
    assert translated("A provider with this name exists already.", "uk") in duplicate.get_data(as_text=True)
    programme_form = _form(client, "/staff/organisation/programmes")
    same_code = client.post("/staff/organisation/programmes",
                            data={**programme_form, "programme-code": "jpg", "programme-name": "Ett annat namn"})
    assert same_code.status_code == 422
    assert translated("A programme with this code exists already.", "uk") in same_code.get_data(as_text=True)
    empty = client.post("/staff/organisation/programmes",
                        data={**programme_form, "programme-code": "", "programme-name": ""})
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert translated("Give the programme a short code.", "uk") in html
    assert translated("Give the programme a name.", "uk") in html
    with app.app_context():
        assert len(db_session.scalars(select(Provider)).all()) == 2
        assert len(db_session.scalars(select(Programme)).all()) == 2


def test_an_inactive_provider_is_kept_but_not_offered_until_made_active_again(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    provider_id = world.provider_ids[1]  # "Bro Coachning"
    path = f"/staff/organisation/providers/{provider_id}/active"
    assert client.post(path, data=_form(client, path)).status_code == 303
    assert "Bro Coachning" not in _offered_in_a_new_campaign(client)
    assert "Bro Coachning" in _page(client)  # still listed, as inactive
    with app.app_context():
        assert db_session.get(Provider, provider_id).active is False
    assert client.post(path, data=_form(client, path)).status_code == 303
    assert "Bro Coachning" in _offered_in_a_new_campaign(client)


def test_changes_need_the_permission_and_a_csrf_token(app, client, world, make_user):
    make_user(Role.ADMIN, "admin")
    login(client, "admin")
    csrf = csrf_token_from(_page(client))
    provider_form = _form(client, "/staff/organisation/providers")
    path = f"/staff/organisation/providers/{world.provider_ids[0]}/active"
    assert client.post(path, data={"active": "0"}).status_code == 400  # no CSRF token
    assert client.post("/staff/organisation/providers/9999/active",
                       data={"csrf_token": csrf, "active": "0"}).status_code == 404
    # The same signed-in session, once the account is an entry clerk's: a valid
    # token is not enough without the permission.
    with app.app_context():
        db_session.scalar(select(User).where(User.username == "admin")).role = Role.ENTRY
        db_session.commit()
    assert client.post(path, data={"csrf_token": csrf, "active": "0"}).status_code == 403
    assert client.post("/staff/organisation/providers",
                       data={**provider_form, "provider-name": "Smyg AB"}).status_code == 403
    with app.app_context():
        assert db_session.get(Provider, world.provider_ids[0]).active is True
        assert db_session.scalar(select(Provider).where(Provider.name == "Smyg AB")) is None


def test_spaces_alone_are_no_name(app, client, world, make_user):
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    refused = _add_provider(client, "   ")
    assert refused.status_code == 422
    assert translated("Give the provider a name.", "sv") in refused.get_data(as_text=True)
    with app.app_context():
        assert len(db_session.scalars(select(Provider)).all()) == 2


def test_a_name_with_control_bytes_is_stored_as_typed(app, client, world, make_user):
    # A crafted POST; PostgreSQL cannot store NUL, which used to end in a server error.
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    added = _add_provider(client, "Fram\x00steg\x1b AB")
    assert added.status_code == 303
    with app.app_context():
        assert db_session.scalar(select(Provider).where(Provider.name == "Framsteg AB")) is not None
