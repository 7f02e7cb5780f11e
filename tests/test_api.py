"""The read-only JSON API (app/api/): tokens, figures worked out by hand, suppression, the OpenAPI document.

Every answer a test gets is validated against app/api/openapi.yaml
(`assert_conforms`), and schemathesis walks the API in-process at the end.
Expected figures are written by hand with their arithmetic, never taken
from the results layer.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app.accounts.models import Role
from app.api.models import ApiToken
from app.api.tokens import create_token
from app.api.views import openapi_document
from app.campaigns.models import Invitation
from app.db import db_session
from app.limits import limiter
from app.organisation.models import Provider

from .conftest import login
from .helpers import translated
from .results_fixtures import add, build_results_world

NORDLJUS, BRO = "Nordljus AB", "Bro Coachning"


# --- helpers ------------------------------------------------------------------------------------

def make_token(app, provider_id: int | None = None, name: str = "Power BI") -> str:
    with app.app_context():
        issued = create_token(db_session, name, date(2027, 1, 15), provider_id)
        db_session.commit()
        return issued.token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def response_schema(path: str, status: int) -> dict:
    """The JSON schema the OpenAPI document gives `GET path`'s answer with `status`, its refs resolvable."""
    document = openapi_document()
    responses = document["paths"][path]["get"]["responses"]
    answer = responses[str(status)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"]["application/json"]["schema"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": document["components"],
            **schema}


def assert_conforms(response, path: str) -> dict:
    """The answer is JSON, sets no cookie, and matches the document's schema for its status; returns the body."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    assert "Set-Cookie" not in response.headers
    body = response.get_json()
    validator = jsonschema_rs.validator_for(response_schema(path, response.status_code))
    errors = [str(error) for error in validator.iter_errors(body)]
    assert errors == [], errors
    return body


RESULTS = "/api/v1/campaigns/{campaign_id}/results"
SUMMARY = "/api/v1/campaigns/{campaign_id}/summary"
CAMPAIGNS = "/api/v1/campaigns"


def invitations(app, world, provider: str, handed_out: int, answered: int) -> None:
    """Single-use links of `provider` (sms, JPG, sv): `handed_out` in all, the first `answered` claimed."""
    with app.app_context():
        db_session.add_all(Invitation(
            campaign_id=next(iter(world.campaigns.values())), provider_id=world.providers[provider],
            programme_id=world.programmes["JPG"], language="sv", channel="sms",
            token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), responded=number < answered,
            created_on=date(2027, 1, 2)) for number in range(handed_out))
        db_session.commit()


@pytest.fixture
def figures_world(app):
    """Nordljus 6 responses, Bro 7 (one partial, by QR), links 20/10 and 10/6 (see the figures test).

    Nobody answers one index question but not the other (a and b): the NKI beside a's and b's figures
    would give such a respondent's answer, and the results hide it then (test_results_linked_tables.py).
    """
    world = build_results_world(app)
    add(app, world, NORDLJUS, {"a": 5, "b": 4, "y": 1}, times=3)
    add(app, world, NORDLJUS, {"a": 4, "b": 4, "y": 0}, times=2)
    add(app, world, NORDLJUS, {"a": "dk", "b": "dk"}, status="complete")  # "don't know" answers a question
    add(app, world, BRO, {"a": 2, "b": 2, "y": 0}, times=6)
    add(app, world, BRO, {"y": 1}, channel="qr")
    invitations(app, world, NORDLJUS, 20, 10)
    invitations(app, world, BRO, 10, 6)
    return world


def group(body: dict, label: str) -> dict:
    return next(row for row in body["groups"] if row["label"] == label)


def question(row: dict, key: str) -> dict:
    return next(item for item in row["questions"] if item["key"] == key)


# --- tokens -------------------------------------------------------------------------------------

def test_the_cli_makes_a_token_shows_it_once_keeps_its_hash_and_revokes_it(app, runner, client, figures_world):
    made = runner.invoke(args=["api", "token", "create", "Qlik, board dashboard"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    # token_urlsafe(32): 32 random bytes in unpadded base64url = ceil(32 * 4 / 3) = 43 characters.
    assert len(token) == 43
    with app.app_context():
        record = db_session.scalar(select(ApiToken))
        assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert (record.name, record.provider_id, record.revoked) == ("Qlik, board dashboard", None, False)
    listed = runner.invoke(args=["api", "token", "list"])
    assert "Qlik, board dashboard" in listed.output and "live" in listed.output and token not in listed.output
    assert client.get(CAMPAIGNS, headers=bearer(token)).status_code == 200

    assert runner.invoke(args=["api", "token", "revoke", str(record.id)]).exit_code == 0
    assert "revoked" in runner.invoke(args=["api", "token", "list"]).output
    refused = client.get(CAMPAIGNS, headers=bearer(token))
    assert refused.status_code == 401
    assert runner.invoke(args=["api", "token", "revoke", "999"]).exit_code != 0


def test_the_cli_limits_a_token_to_a_provider_that_exists(runner, app, figures_world):
    nordljus = figures_world.providers[NORDLJUS]
    made = runner.invoke(args=["api", "token", "create", "Nordljus", "--provider-id", str(nordljus)])
    assert made.exit_code == 0 and f"provider {nordljus} only" in made.output
    assert runner.invoke(args=["api", "token", "create", "x", "--provider-id", "987654"]).exit_code != 0
    assert runner.invoke(args=["api", "token", "create", "   "]).exit_code != 0
    with app.app_context():
        assert [t.provider_id for t in db_session.scalars(select(ApiToken))] == [nordljus]


@pytest.mark.parametrize(("headers", "invalid"), [
    ({}, False),
    ({"Authorization": "Bearer"}, False),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, False),
    ({"Authorization": "Bearer not-a-token"}, True),
    ({"Authorization": "Bearer " + "x" * 5000}, True),
])
def test_without_a_live_token_every_route_is_401_in_json_with_a_challenge(client, figures_world, headers, invalid):
    campaign = next(iter(figures_world.campaigns.values()))
    for path in (CAMPAIGNS, RESULTS.format(campaign_id=campaign), SUMMARY.format(campaign_id=campaign)):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, path
        template = path if path == CAMPAIGNS else (RESULTS if path.endswith("results") else SUMMARY)
        body = assert_conforms(response, template)
        assert body["error"] == "unauthorized"
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="kundrost-api"')
        assert ('error="invalid_token"' in challenge) is invalid


def test_a_staff_session_is_no_token_and_the_api_sets_no_cookie(app, client, make_user, figures_world):
    make_user(Role.ADMIN, "admin")
    assert login(client, "admin").status_code == 303
    # Signed in as an administrator, in the same browser: the cookie does not open the API.
    assert client.get(CAMPAIGNS).status_code == 401
    token = make_token(app)
    response = client.get(CAMPAIGNS + "?lang=en", headers=bearer(token))
    # ?lang= does not redirect (there is no session to keep a choice in) and nothing sets a cookie.
    assert response.status_code == 200
    assert_conforms(response, CAMPAIGNS)


def test_the_api_takes_no_csrf_token_and_answers_errors_in_json(app, client, figures_world):
    token = make_token(app)
    posted = client.post(CAMPAIGNS, headers=bearer(token))
    assert posted.status_code == 405 and posted.get_json()["error"] == "method_not_allowed"
    assert "GET" in posted.headers["Allow"]
    unknown = client.get("/api/v1/no/such/thing", headers=bearer(token))
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"
    missing = client.get(RESULTS.format(campaign_id=987654), headers=bearer(token))
    assert missing.status_code == 404
    assert assert_conforms(missing, RESULTS)["error"] == "not_found"
    # In the reader's language, not werkzeug's English default ("The requested URL was not found ...").
    swedish = client.get(RESULTS.format(campaign_id=987654), headers={**bearer(token), "Accept-Language": "sv"})
    assert swedish.get_json()["message"] == translated("Check the address, or go back to where you came from.", "sv")


def test_each_token_is_rate_limited(app, client, figures_world):
    token, other = make_token(app), make_token(app, name="other")
    # 120 a minute per token: the 121st is refused, in JSON with Retry-After; another token is not.
    for _ in range(120):
        assert client.get(CAMPAIGNS, headers=bearer(token)).status_code == 200
    refused = client.get(CAMPAIGNS, headers=bearer(token))
    assert refused.status_code == 429
    assert assert_conforms(refused, CAMPAIGNS)["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get(CAMPAIGNS, headers=bearer(other)).status_code == 200


# --- figures ------------------------------------------------------------------------------------

def test_campaigns_lists_what_the_token_may_see(app, client, figures_world):
    campaign = figures_world.campaigns["2027"]
    body = assert_conforms(client.get(CAMPAIGNS, headers=bearer(make_token(app))), CAMPAIGNS)
    (listed,) = body["campaigns"]
    assert listed == {
        "id": campaign, "name": "2027", "survey": {"key": "results-test", "version": 1},
        "starts_on": "2027-01-01", "ends_on": "2027-12-31", "finalised": False, "finalised_on": None,
        "index": {"method": "mean", "questions": ["a", "b"], "scale_min": 1, "scale_max": 5},
        # Providers and programmes in name/code order (the campaign's relationships).
        "providers": [{"id": figures_world.providers[BRO], "name": BRO},
                      {"id": figures_world.providers[NORDLJUS], "name": NORDLJUS}],
        "programmes": [{"id": figures_world.programmes["JPG"], "code": "JPG", "name": "Jobbpeng grund"},
                       {"id": figures_world.programmes["SO"], "code": "SO", "name": "Samhällsorientering"}],
        "languages": ["ar", "sv"],
    }


def test_results_by_provider_equal_the_figures_worked_out_by_hand(app, client, figures_world):
    campaign = figures_world.campaigns["2027"]
    response = client.get(RESULTS.format(campaign_id=campaign), headers=bearer(make_token(app)))
    assert response.status_code == 200, response.get_json()
    body = assert_conforms(response, RESULTS)
    assert (body["by"], body["filters"], body["k"], body["hidden_groups"]) == ("provider", {}, 5, 0)
    nordljus, bro = group(body, NORDLJUS), group(body, BRO)
    assert nordljus["key"] == str(figures_world.providers[NORDLJUS])

    # Nordljus: personal index scores (mean of a and b answered) 4.5 x 3, 4 x 2, none for the sixth (don't
    # know to both): sum 13.5 + 8 = 21.5, n 5, mean 4.3; squares 3 x 20.25 + 2 x 16 = 92.75;
    # variance (92.75 - 21.5^2 / 5) / 4 = (92.75 - 92.45) / 4 = 0.075, sd 0.273861;
    # t(0.975, 4) = 2.776445: half width 2.776445 x 0.273861 / sqrt 5 = 0.340044 -> 3.959956 .. 4.640044.
    # No group is split into complete and partial: only the unfiltered total is (docs/api.md).
    assert nordljus["responses"] == {"suppressed": False, "total": 6, "complete": None, "partial": None}
    nki = nordljus["nki"]
    assert nki["suppressed"] is False and nki["n"] == 5
    assert nki["mean"] == pytest.approx(4.3, abs=1e-6) and nki["sd"] == pytest.approx(0.273861, abs=1e-6)
    assert (nki["low"], nki["high"]) == (pytest.approx(3.959956, abs=1e-5), pytest.approx(4.640044, abs=1e-5))
    # Links: 20 handed out, 10 answered: 10 / 20 = 0.5 (a share, not per cent).
    assert nordljus["response_rate"] == {"suppressed": False, "handed_out": 20, "answered": 10, "rate": 0.5}
    # a: 5, 5, 5, 4, 4 and a don't know (apart) -> n 5, mean 23 / 5 = 4.6, positive (>= 4) 5 of 5 = 1.
    a = question(nordljus, "a")
    assert (a["type"], a["n"], a["dont_know"]) == ("scale", 5, 1)
    assert (a["mean"], a["share_positive"]) == (pytest.approx(4.6), pytest.approx(1.0))
    assert [(d["answer"], d["count"]) for d in a["distribution"]] == [(1, 0), (2, 0), (3, 0), (4, 2), (5, 3)]
    # b: 4 x 5 answers and one don't know (apart): n 5, mean 4, no spread: sd 0, interval 4 .. 4.
    b = question(nordljus, "b")
    assert (b["n"], b["dont_know"], b["mean"], b["sd"], b["low"], b["high"]) == (5, 1, 4.0, 0.0, 4.0, 4.0)
    # y: 3 yes, 2 no -> the share of yes 3 / 5 = 0.6, as mean and as share positive; yes (1) listed first.
    y = question(nordljus, "y")
    assert (y["type"], y["n"], y["mean"], y["share_positive"]) == ("yesno", 5, pytest.approx(0.6), pytest.approx(0.6))
    assert [(d["answer"], d["count"]) for d in y["distribution"]] == [(1, 3), (0, 2)]
    # gender, a choice question nobody answered: counts only.
    gender = question(nordljus, "gender")
    assert (gender["type"], gender["n"], gender["mean"], gender["share_positive"]) == ("choice", 0, None, None)
    assert [d["answer"] for d in gender["distribution"]] == ["woman", "man", "other"]

    # Bro: 6 complete (a = b = 2: score 2) and 1 partial (y only: no score): n 6, mean 2.0.
    assert bro["responses"] == {"suppressed": False, "total": 7, "complete": None, "partial": None}
    assert (bro["nki"]["n"], bro["nki"]["mean"]) == (6, pytest.approx(2.0))
    # 10 handed out, 6 answered: 0.6.
    assert bro["response_rate"] == {"suppressed": False, "handed_out": 10, "answered": 6, "rate": 0.6}

    # Total: 13 responses (12 complete, 1 partial); NKI (21.5 + 12) / 11 = 33.5 / 11 = 3.045455;
    # links 30 handed out, 16 answered: 16 / 30 = 0.533333.
    total = body["total"]
    # Nordljus 6 complete (the sixth: "don't know" answers the required a), Bro 6 + 1 partial.
    assert total["key"] == "total"
    assert total["responses"] == {"suppressed": False, "total": 13, "complete": 12, "partial": 1}
    assert total["nki"]["mean"] == pytest.approx(33.5 / 11)
    assert total["response_rate"] == {"suppressed": False, "handed_out": 30, "answered": 16,
                                      "rate": pytest.approx(16 / 30)}


def test_the_summary_gives_the_mean_over_groups_and_the_comparison(app, client, figures_world):
    campaign = figures_world.campaigns["2027"]
    body = assert_conforms(client.get(SUMMARY.format(campaign_id=campaign), headers=bearer(make_token(app))),
                           SUMMARY)
    # Unweighted over the two providers' unrounded NKI: (21.5 / 5 + 2.0) / 2 = (4.3 + 2.0) / 2 = 3.15.
    assert body["mean_over_groups"] == {"groups": 2, "mean": pytest.approx(3.15)}
    # Welch: Nordljus 4.3 (var 0.075, n 5) against Bro 2.0 (var 0, n 6):
    # t = 2.3 / sqrt(0.075 / 5 + 0 / 6) = 2.3 / 0.122474 = 18.8, 4 degrees of freedom - significant far
    # beyond Holm's x 2.
    nordljus, bro = group(body, NORDLJUS), group(body, BRO)
    assert (nordljus["comparison"]["significant"], nordljus["comparison"]["direction"]) == (True, 1)
    assert (bro["comparison"]["significant"], bro["comparison"]["direction"]) == (True, -1)
    assert "questions" not in nordljus and body["total"]["nki"]["n"] == 11


@pytest.mark.parametrize("path", [RESULTS, SUMMARY])
def test_the_issues_subtraction_attack_gives_nothing_away(app, client, path):
    # Bro 4 answers of 1, Nordljus 6 of 5, total 3.4 from 10: with Nordljus shown, (3.4 x 10 - 5 x 6) / 4 = 1.0
    # would be Bro's. Both are null and flagged; the total stays.
    world = build_results_world(app)
    add(app, world, NORDLJUS, {"a": 5, "b": 5}, times=6)
    add(app, world, BRO, {"a": 1, "b": 1}, times=4)
    body = assert_conforms(client.get(path.format(campaign_id=world.campaigns["2027"]),
                                      headers=bearer(make_token(app))), path)
    assert body["hidden_groups"] == 2
    for name in (NORDLJUS, BRO):
        row = group(body, name)
        assert row["responses"] == {"suppressed": True, "total": None, "complete": None, "partial": None}
        assert row["nki"] == {"suppressed": True, "n": None, "mean": None, "sd": None, "low": None, "high": None}
        for item in row.get("questions", []):
            assert item["suppressed"] is True and item["mean"] is None and item["distribution"] is None
    # (6 x 5 + 4 x 1) / 10 = 3.4 from ten answers.
    assert (body["total"]["responses"]["total"], body["total"]["nki"]["n"]) == (10, 10)
    assert body["total"]["nki"]["mean"] == pytest.approx(3.4)
    if path == SUMMARY:
        assert body["mean_over_groups"] == {"groups": 0, "mean": None}


def test_parameters_and_refusals_are_answered_in_json(app, client, figures_world):
    token, campaign = make_token(app), figures_world.campaigns["2027"]
    url = RESULTS.format(campaign_id=campaign)
    for query in ("by=colour", "month=2027-13", "provider=0", "background:shoe=1", "by=background:shoe"):
        response = client.get(f"{url}?{query}", headers=bearer(token))
        assert response.status_code == 400, query
        assert assert_conforms(response, RESULTS)["error"] == "parameter"
    # One answer by QR (Bro's): 0 < 1 < 5 -> too few.
    too_few = client.get(url + "?channel=qr", headers=bearer(token))
    assert too_few.status_code == 422 and assert_conforms(too_few, RESULTS)["error"] == "too_few"
    # No answers in Arabic: an empty selection has nothing to give away and is answered, empty.
    empty = assert_conforms(client.get(url + "?language=ar", headers=bearer(token)), RESULTS)
    assert empty["total"]["responses"]["total"] == 0
    # sms leaves out Bro's one QR answer: 13 - 12 = 1 < 5 -> the complement would give it away.
    complement = client.get(url + "?channel=sms", headers=bearer(token))
    assert complement.status_code == 422 and assert_conforms(complement, RESULTS)["error"] == "complement"
    # A filter and a breakdown that work: by month within JPG, all March 2027: 13 responses.
    months = assert_conforms(client.get(url + f"?by=month&programme={figures_world.programmes['JPG']}",
                                        headers=bearer(token)), RESULTS)
    assert [(row["key"], row["responses"]["total"]) for row in months["groups"]] == [("2027-03", 13)]
    assert months["filters"] == {"programme": str(figures_world.programmes["JPG"])}


def test_a_provider_token_sees_its_own_provider_only(app, client, figures_world):
    nordljus = figures_world.providers[NORDLJUS]
    token = make_token(app, nordljus)
    campaign = figures_world.campaigns["2027"]
    (listed,) = assert_conforms(client.get(CAMPAIGNS, headers=bearer(token)), CAMPAIGNS)["campaigns"]
    assert listed["providers"] == [{"id": nordljus, "name": NORDLJUS}]
    url = RESULTS.format(campaign_id=campaign)
    for query in ("by=provider", f"provider={figures_world.providers[BRO]}"):
        refused = client.get(f"{url}?{query}", headers=bearer(token))
        assert refused.status_code == 404, query
        assert_conforms(refused, RESULTS)
    # By programme (its default), narrowed to Nordljus: JPG holds its 6 responses, mean 21.5 / 5; SO none.
    body = assert_conforms(client.get(url, headers=bearer(token)), RESULTS)
    assert (body["by"], body["filters"]) == ("programme", {"provider": str(nordljus)})
    jpg = next(row for row in body["groups"] if row["key"] == str(figures_world.programmes["JPG"]))
    assert (jpg["responses"]["total"], jpg["nki"]["mean"]) == (6, pytest.approx(4.3))
    assert body["total"]["responses"]["total"] == 6  # Bro's 7 are in no figure
    assert f"provider={nordljus}" in client.get(f"{url}?provider={nordljus}", headers=bearer(token)).request.url


def test_a_provider_token_without_campaigns_sees_none(app, client, figures_world):
    with app.app_context():
        elsewhere = Provider(name="Ek AB", active=True)
        db_session.add(elsewhere)
        db_session.commit()
        elsewhere_id = elsewhere.id
    token = make_token(app, elsewhere_id)
    assert assert_conforms(client.get(CAMPAIGNS, headers=bearer(token)), CAMPAIGNS) == {"campaigns": []}
    hidden = client.get(SUMMARY.format(campaign_id=figures_world.campaigns["2027"]), headers=bearer(token))
    assert hidden.status_code == 404


def test_labels_follow_accept_language(app, client, figures_world):
    url = RESULTS.format(campaign_id=figures_world.campaigns["2027"]) + "?by=channel"
    body = client.get(url, headers={**bearer(make_token(app)), "Accept-Language": "en"}).get_json()
    assert body["total"]["label"] == "All"


# --- the OpenAPI document -----------------------------------------------------------------------

def test_the_openapi_document_is_served_without_a_token_and_is_valid(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {CAMPAIGNS, RESULTS, SUMMARY, "/api/v1/openapi.json"}
    # Every route of the blueprint is described, and nothing else.
    rules = {rule.rule.replace("<int:campaign_id>", "{campaign_id}")
             for rule in client.application.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert rules == set(document["paths"])
    # Each schema is a valid JSON Schema (2020-12): building a validator checks it.
    for name, schema in document["components"]["schemas"].items():
        jsonschema_rs.validator_for({"components": document["components"], **schema}, validate_formats=True)


def test_the_suppressed_shapes_in_the_document_refuse_a_leak():
    # A suppressed NKI that carries its value is not a valid answer; a missing one (n 0) is.
    validator = jsonschema_rs.validator_for({"components": openapi_document()["components"],
                                             "$ref": "#/components/schemas/Mean"})
    assert not validator.is_valid({"suppressed": True, "n": 4, "mean": 1.0, "sd": None, "low": None, "high": None})
    assert validator.is_valid({"suppressed": True, "n": None, "mean": None, "sd": None, "low": None, "high": None})
    assert validator.is_valid({"suppressed": False, "n": 0, "mean": None, "sd": None, "low": None, "high": None})


# --- schemathesis -------------------------------------------------------------------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.mark.parametrize("path", [CAMPAIGNS, RESULTS, SUMMARY, "/api/v1/openapi.json"])
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(app, figures_world, path):
    # schemathesis' pytest plugin (from_fixture) does not run under pytest 9: its strategies are driven here.
    token = make_token(app)
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path]["GET"]
    calls = []

    @given(case=operation.as_strategy())
    @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def walked(case):
        if "campaign_id" in (case.path_parameters or {}) and case.path_parameters["campaign_id"] % 4:
            # Mostly the real campaign, so that the generated breakdowns and filters reach the figures.
            case.path_parameters["campaign_id"] = figures_world.campaigns["2027"]
        limiter.reset()
        # identity: schemathesis' WSGI transport does not decode the brotli a real client would.
        response = case.call(headers={**bearer(token), "Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)
        assert "Set-Cookie" not in response.headers
        calls.append(response.status_code)

    walked()
    if path != "/api/v1/openapi.json":  # (which has no parameter to vary: one example)
        assert len(calls) >= 5
        assert 200 in calls  # some generated requests reached the figures
