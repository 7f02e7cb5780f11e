"""Pages not covered elsewhere: home, health, error pages, headers, the demo."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Campaign, Invitation
from app.db import db_session
from app.i18n import LANGUAGES
from app.mixing.models import WaitingAnswer
from app.organisation.models import Provider
from app.respond.models import Response

from .helpers import LANGUAGE_FACTS, html_tag, translated


@pytest.mark.parametrize("code", list(LANGUAGE_FACTS))
def test_home_page_in_every_language(client, code):
    # Expected values from the hand-written table, not from app.i18n.LANGUAGES.
    client.get(f"/?lang={code}")
    page = client.get("/")
    html_lang, direction, _own_name = LANGUAGE_FACTS[code]
    html = page.get_data(as_text=True)
    assert f'<html lang="{html_lang}" dir="{direction}">' in html
    assert translated("Customer survey", code) in html
    # The switcher names every language in itself.
    for other_lang, other_direction, own_name in LANGUAGE_FACTS.values():
        assert f'lang="{other_lang}" dir="{other_direction}" hreflang="{other_lang}"' in html
        assert own_name in html


def test_language_switch_redirects_to_the_same_page_without_the_parameter(client):
    switched = client.get("/staff/login?lang=ar&next=/x")
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/staff/login?next=%2Fx"
    assert html_tag("ar") in client.get("/staff/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.get("/?lang=xx")
    assert '<html lang="sv"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("code", ["sv", "ar", "ti", "ckb"])
def test_not_found_page_in_the_visitors_language(client, code):
    page = client.get("/no/such/page", headers={"Accept-Language": LANGUAGES[code].html_lang})
    assert page.status_code == 404
    assert translated("Page not found", code) in page.get_data(as_text=True)


def test_method_not_allowed_is_a_page_too(client):
    client.get("/?lang=uk")
    page = client.post("/thanks")
    assert page.status_code == 405
    # Not just any page with a heading: the error page's own words, in the visitor's language.
    assert f"<h1>{translated('The request could not be handled', 'uk')}</h1>" in page.get_data(as_text=True)


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_security_headers_everywhere(client):
    for path in ("/", "/staff/login", "/no/such/page"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_inline_styles_match_the_policy_hashes(client):
    page = client.get("/")
    style = re.search(r"<style>(.*?)</style>", page.get_data(as_text=True), re.S).group(1)
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["Content-Security-Policy"]


def test_link_opening_is_rate_limited(app, world):
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(ratelimit_link_open="3 per minute")
    client = app.test_client()
    statuses = [client.get("/s/" + "B" * 22).status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404]
    assert statuses[3:] == [429, 429]


def test_demo_command_prints_a_fresh_link_per_language(app, runner, tmp_path):
    result = runner.invoke(args=["demo", "--reset", "--seed", "4"])
    assert result.exit_code == 0, result.output
    output = result.output
    password = re.search(r"Password\s+(\S+)", output).group(1)
    assert len(password) >= 12
    links = dict(re.findall(r"^\s+(\w+)\s+(https://enkat\.example\.se/s/\w+)", output, re.M))
    assert set(links) == set(LANGUAGES)
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Response)) >= 200
    customer = app.test_client()
    for code, url in links.items():
        opened = customer.get(url.removeprefix("https://enkat.example.se"))
        assert opened.status_code == 303, code
        page = customer.get("/survey").get_data(as_text=True)
        assert html_tag(code) in page
    staff = app.test_client()
    from .conftest import login

    assert login(staff, "admin", password).status_code == 303
    # The analyst and the provider account see results as their roles do: every provider, or their own.
    analyst_password = re.search(r"Analyst\s+analytiker / (\S+)", output).group(1)
    provider_password = re.search(r"Provider\s+anordnare / (\S+)", output).group(1)
    analyst, provider = app.test_client(), app.test_client()
    assert login(analyst, "analytiker", analyst_password).status_code == 303
    assert login(provider, "anordnare", provider_password).status_code == 303
    finalised_path = re.search(r"Finalised\s+https://enkat\.example\.se(\S+)", output).group(1)
    assert analyst.get(finalised_path).status_code == 200
    own = provider.get(finalised_path)
    assert own.status_code == 302 and "/providers/" in own.headers["Location"]
    with app.app_context():
        first, second = db_session.scalars(select(Provider.id).order_by(Provider.id).limit(2)).all()
    assert own.headers["Location"].split("/providers/")[1].split("?")[0] == str(first)
    assert provider.get(f"{finalised_path}/providers/{second}").status_code == 404
    results = staff.get(re.search(r"Results\s+https://enkat\.example\.se(\S+)", output).group(1))
    assert results.status_code == 200
    assert 'id="waiting-note"' in results.get_data(as_text=True)  # a running campaign says what waits
    # The spring campaign is finalised: its answers are all mixed, its links gone.
    finalised = staff.get(re.search(r"Finalised\s+https://enkat\.example\.se(\S+)", output).group(1))
    assert finalised.status_code == 200
    with app.app_context():
        spring = db_session.scalar(select(Campaign).where(Campaign.finalised_on.is_not(None)))
        assert db_session.scalar(select(func.count()).select_from(Invitation).where(Invitation.campaign_id == spring.id)) == 0
        assert db_session.scalar(select(func.count()).select_from(WaitingAnswer).where(WaitingAnswer.campaign_id == spring.id)) == 0


@pytest.mark.parametrize("code", ["sv", "ps", "so"])
def test_forbidden_page_in_the_staff_members_language(app, client, make_user, code):
    from app.accounts.models import Role

    from .conftest import login

    make_user(Role.ENTRY, "typist")
    client.get(f"/staff/login?lang={code}")
    login(client, "typist")
    page = client.get("/staff/results/")
    assert page.status_code == 403
    assert translated("Your account does not give access to this page.", code) in page.get_data(as_text=True)


@pytest.mark.parametrize("code", ["en", "fa", "uk"])
def test_too_many_attempts_page_in_the_visitors_language(app, client, code):
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(ratelimit_link_open="1 per minute")
    headers = {"Accept-Language": LANGUAGES[code].html_lang}
    client.get("/s/" + "C" * 22, headers=headers)
    page = client.get("/s/" + "C" * 22, headers=headers)
    assert page.status_code == 429
    assert translated("Wait a minute and try again.", code) in page.get_data(as_text=True)


@pytest.mark.parametrize("code", ["sv", "ckb"])
def test_staff_form_with_an_expired_csrf_token_explains_in_the_visitors_language(client, code):
    client.get(f"/staff/login?lang={code}")
    page = client.post("/staff/login", data={"csrf_token": "stale", "username": "a", "password": "b"})
    assert page.status_code == 400
    assert translated("The form had expired", code) in page.get_data(as_text=True)


def test_a_new_demo_erases_the_old_demos_keys(app, runner):
    from pathlib import Path

    for _ in range(2):
        assert runner.invoke(args=["demo", "--reset", "--seed", "5"]).exit_code == 0
    folders = [p for p in Path(app.config["KUNDROST"].mixer_key_dir).iterdir() if p.is_dir()]
    assert len(folders) == 1  # only the current demo's installation
    assert len(list(folders[0].glob("*.key"))) == 1
