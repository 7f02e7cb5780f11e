"""The third breaker's sweep: every results route with odd but well-formed query strings, as an analyst, a
provider account and both kinds of token; no 500, none over 2 s."""

from __future__ import annotations

import time
from datetime import date

from app.accounts.models import Role

from .conftest import login
from .results_fixtures import add, build_results_world
from .test_results_attacks import token

P1, P2, P3 = "Ett AB", "Två AB", "Tre AB"


def world_of(app, campaigns=("2027", "2028")):
    world = build_results_world(app, providers=(P1, P2, P3), campaigns=campaigns)
    for number, name in enumerate(campaigns):
        for provider, a, n in ((P1, 4, 7), (P2, 2, 3), (P3, 5, 12)):
            for month in (3, 6, 10):
                for gender in ("woman", "man"):
                    add(app, world, provider, {"a": a, "b": 3, "y": 1, "gender": gender, "comment": "hej"}, times=n,
                        campaign=name, month=date(2027 + number, month, 1),
                        programme="SO" if provider == P1 else "JPG")
    return world


QUERIES = ["", "by=month", "by=tertial", "by=year", "by=background:gender", "by=language", "by=channel",
           "by=programme", "background:gender=woman", "background:gender=woman&by=background:gender",
           "tertial=2027-1&by=month", "month=2027-03&by=tertial", "year=2027&by=year", "year=2028",
           "provider={p1}&by=provider", "provider={p2}", "programme={so}&by=provider", "channel=web",
           "language=ar", "language=sv&by=language", "campaigns={c2}", "campaigns={c2}&by=month",
           "campaigns={c2}&tertial=2027-1", "campaigns={c2}&background:gender=man&by=provider",
           "by=background:gender&campaigns={c2}&year=2028",
           "provider={p1}&tertial=2027-1", "month=2030-01", "campaigns={c1}", "by=",
           "background:gender=", "tertial=2027-3&by=tertial&campaigns={c2}"]
ROUTES = ["", "/providers/{p3}", "/questions/a", "/questions/gender", "/questions/y", "/comments",
          "/tables/summary.csv", "/tables/rates.xlsx", "/tables/question_gender.csv", "/tables.xlsx",
          "/report.pdf", "/answers.csv", "api:results", "api:summary", "prov:", "prov:/providers/{p3}",
          "prov:/tables.xlsx", "prov:/report.pdf", "ptok:results"]


def test_sweep(app, make_user):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    world = world_of(app)
    ids = dict(p1=world.providers[P1], p2=world.providers[P2], p3=world.providers[P3], so=world.programmes["SO"],
               c1=world.campaigns["2027"], c2=world.campaigns["2028"])
    analyst, provider = app.test_client(), app.test_client()
    login(analyst, make_user(Role.ANALYST, "analyst"))
    login(provider, make_user(Role.PROVIDER, "provider", provider_id=ids["p3"]))
    headers, provider_headers = token(app), token(app, ids["p3"])
    bad, slow = [], []
    for route in ROUTES:
        for query in QUERIES:
            q = query.format(**ids)
            path = route.split(":", 1)[-1].format(**ids)
            if route.startswith("api:"):
                url, client, kw = f"/api/v1/campaigns/{ids['c1']}/{path}?{q}", analyst, {"headers": headers}
            elif route.startswith("ptok:"):
                url, client, kw = f"/api/v1/campaigns/{ids['c1']}/{path}?{q}", analyst, {"headers": provider_headers}
            elif route.startswith("prov:"):
                url, client, kw = f"/staff/results/{ids['c1']}{path}?{q}", provider, {}
            else:
                url, client, kw = f"/staff/results/{ids['c1']}{path}?{q}", analyst, {}
            started = time.perf_counter()
            answer = client.get(url, **kw)
            took = time.perf_counter() - started
            if answer.status_code >= 500:
                bad.append((url, answer.status_code))
            if took > 2:
                slow.append((url, round(took, 2)))
            print(f"{answer.status_code} {took:5.2f}s {route} {url}")
    assert not bad, bad
    assert not slow, slow
