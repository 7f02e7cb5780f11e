"""A results request whose suppression plan is not ready in time (app/analytics/plan_maker.py).

A page that must make its campaign's plan itself waits at most
RESULTS_PLAN_WAIT_SECONDS, then answers 503 with Retry-After - a page in
the staff member's language, or the API's JSON error - while the plan is
made on in the background; the next request gets the figures. Before, a
wide survey's plan could take a sync worker past gunicorn's 30 s timeout:
a 500. A wait of 0 stands in here for a plan slower than the wait.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.analytics import linked, plan_maker
from app.config import Config, ConfigError

from .conftest import login
from .test_api import SUMMARY, assert_conforms, bearer, make_token
from .results_fixtures import add, build_results_world
from .test_stored_plans import _made_here

NORDLJUS, BRO = "Nordljus AB", "Bro Coachning"


@pytest.fixture
def world(app):
    """Nordljus 6 responses, Bro 7: both shown, with figures (NKI 4.5 for Nordljus: (5+4) / 2)."""
    world = build_results_world(app)
    add(app, world, NORDLJUS, {"a": 5, "b": 4, "y": 1}, times=6)
    add(app, world, BRO, {"a": 2, "b": 2, "y": 0}, times=7)
    return world


@pytest.fixture
def no_wait(app):
    """Requests wait 0 s for a plan they must make: every such plan is 'slower than the wait'."""
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(plan_wait=timedelta(0))
    linked.forget_plans()
    yield
    assert plan_maker.wait_for_plans(60)


def _analyst(app, make_user):
    client = app.test_client()
    make_user(Role.ANALYST, "analyst")
    assert login(client, "analyst").status_code == 303
    return client


def _campaign(world) -> int:
    return next(iter(world.campaigns.values()))


def test_a_page_whose_plan_is_not_ready_says_so_then_shows_the_figures(app, make_user, world, no_wait):
    client = _analyst(app, make_user)
    address = f"/staff/results/{_campaign(world)}"
    waiting = client.get(address)
    assert waiting.status_code == 503
    assert waiting.headers["Retry-After"] == "10"
    page = waiting.get_data(as_text=True)
    assert "Siffrorna räknas fram" in page
    assert f'href="{address}"' in page  # "Försök igen" asks for the same page
    assert NORDLJUS not in page and "4,5" not in page  # nothing of a plan not made is shown

    assert plan_maker.wait_for_plans(60)
    shown = client.get(address)
    assert shown.status_code == 200
    assert NORDLJUS in shown.get_data(as_text=True) and "4,5" in shown.get_data(as_text=True)


def test_a_filtered_page_tries_again_with_its_filters(app, make_user, world, no_wait):
    client = _analyst(app, make_user)
    address = f"/staff/results/{_campaign(world)}?language=sv"
    waiting = client.get(address)
    assert waiting.status_code == 503
    assert f'href="{address}"' in waiting.get_data(as_text=True)


@pytest.mark.parametrize("export", ["tables/summary.csv", "tables.xlsx", "answers.csv", "report.pdf"])
def test_an_export_whose_plan_is_not_ready_gives_no_file(app, make_user, world, no_wait, export):
    client = _analyst(app, make_user)
    waiting = client.get(f"/staff/results/{_campaign(world)}/{export}")
    assert waiting.status_code == 503
    assert waiting.mimetype == "text/html" and "Siffrorna räknas fram" in waiting.get_data(as_text=True)
    assert "Content-Disposition" not in waiting.headers
    assert plan_maker.wait_for_plans(60)
    assert client.get(f"/staff/results/{_campaign(world)}/{export}").status_code == 200


def test_the_api_answers_503_being_prepared_as_its_openapi_file_says(app, client, world, no_wait):
    token = make_token(app)
    path = SUMMARY.format(campaign_id=_campaign(world))
    waiting = client.get(path, headers={**bearer(token), "Accept-Language": "sv"})
    assert waiting.status_code == 503
    assert waiting.headers["Retry-After"] == "10"
    body = assert_conforms(waiting, SUMMARY)
    assert body == {"error": "being_prepared", "message": "Siffrorna räknas fram. Försök igen om en minut."}
    assert plan_maker.wait_for_plans(60)
    assert client.get(path, headers=bearer(token)).status_code == 200


def test_requests_waiting_for_one_plan_make_it_once(app, make_user, world, no_wait, monkeypatch):
    made = _made_here(monkeypatch)
    client = _analyst(app, make_user)
    address = f"/staff/results/{_campaign(world)}"
    statuses = [client.get(address).status_code for _ in range(3)]
    assert plan_maker.wait_for_plans(60)
    assert client.get(address).status_code == 200
    # The first request started the plan; the others found it being made (503) or made (200): one plan.
    assert statuses[0] == 503 and set(statuses) <= {200, 503}
    assert made == [1]


def test_a_request_with_time_to_wait_gets_the_figures_at_once(app, make_user, world):
    """The tests' wait (25 s, conftest.py) is far longer than this small campaign's plan: no 503 at all."""
    linked.forget_plans()
    client = _analyst(app, make_user)
    assert client.get(f"/staff/results/{_campaign(world)}").status_code == 200


@pytest.mark.parametrize("seconds", ["-1", "26", "30"])
def test_a_wait_at_or_past_gunicorns_timeout_is_refused(seconds):
    with pytest.raises(ConfigError, match="RESULTS_PLAN_WAIT_SECONDS"):
        Config.from_env({"RESULTS_PLAN_WAIT_SECONDS": seconds})


def test_the_wait_is_read_from_the_environment():
    assert Config.from_env({"RESULTS_PLAN_WAIT_SECONDS": "7.5"}).plan_wait == timedelta(seconds=7.5)
    assert Config.from_env({}).plan_wait == timedelta(seconds=10)


def test_a_request_waits_once_in_all_not_once_per_plan(app, make_user, monkeypatch):
    """The breaker of 2026-12-01: a pool (or a provider page's trend) asks for one plan per campaign, and a
    wait per plan added up past gunicorn's 30 s. Here each plan takes 0.6 s (the real plan, slowed) and the
    wait is 1 s: the first plan is ready within it, the second is not - 503, not 1.2 s of waiting."""
    world = build_results_world(app, campaigns=("2027", "2028"))
    for campaign in ("2027", "2028"):
        add(app, world, NORDLJUS, {"a": 5, "b": 4, "y": 1}, times=6, campaign=campaign)
        add(app, world, BRO, {"a": 2, "b": 2, "y": 0}, times=7, campaign=campaign)
    original = linked._made

    def slow(*args, **kwargs):
        time.sleep(0.6)
        return original(*args, **kwargs)

    monkeypatch.setattr(linked, "_made", slow)
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(plan_wait=timedelta(seconds=1))
    linked.forget_plans()
    client = _analyst(app, make_user)
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    started = time.monotonic()
    waiting = client.get(f"/staff/results/{first}?campaigns={second}")
    assert waiting.status_code == 503
    assert time.monotonic() - started < 1.5
    assert plan_maker.wait_for_plans(60)
    assert client.get(f"/staff/results/{first}?campaigns={second}").status_code == 200


def test_a_mixing_while_the_plan_is_made_gives_the_figures_or_503_never_an_error(app, make_user, world, no_wait,
                                                                                 monkeypatch):
    """The breaker of 2026-12-01: the request read the one-way counts, the plan thread the pairs and the
    combinations later; a batch stored in between made the audit's equations fail (AuditError, a 500). Now
    the thread sees the counts move and makes the plan again; the request, whose tables are of the counts
    before, answers 503, and the retry shows the new counts (13 + 5 responses)."""
    original = linked._made
    mixed: list[int] = []

    def mixing_meanwhile(*args, **kwargs):
        if not mixed:  # the mixer stores a batch of 5 before the thread reads the pairs
            add(app, world, BRO, {"a": 3, "b": 3, "y": 1}, times=5, programme="SO", language="ar")
            mixed.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(linked, "_made", mixing_meanwhile)
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    client = _analyst(app, make_user)
    address = f"/staff/results/{_campaign(world)}"
    assert client.get(address).status_code == 503
    assert plan_maker.wait_for_plans(60)
    shown = client.get(address)
    assert shown.status_code == 200
    assert mixed == [1]
    # The campaign's responses, as the summary table's total row shows them: 6 + 7 + 5.
    assert ">18<" in shown.get_data(as_text=True)
