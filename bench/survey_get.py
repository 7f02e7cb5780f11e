"""`survey_get`: GET /survey pages per second against a bare "hello" route.

The survey page is built for every request (browsers never cache it: it
carries the respondent's CSRF token and `Cache-Control: no-store`; the app
keeps the blank page compressed around the token's place, see
app/respond/rendering.py). Requests carry the session cookie a phone holds
after opening an invitation link (opened the real way, over HTTP) and
`Accept-Encoding: gzip, deflate, br` like Chromium, so compression is paid
for as it is for a phone. The "hello"
route of `bench/baseline_app.py` is served the same way (gunicorn, 2 sync
workers, running beside the app) and loaded with the same wrk settings and
headers, in turns with the app (hello, survey, survey, hello, ...).
SQLite database; the demo's labour-market survey (nacka-arbetsmarknad) in Swedish.
"""

from __future__ import annotations

import re

from app.i18n import LANGUAGES

from . import baseline_app, world
from .harness import ACCEPT_ENCODING, alternate, app_environment, gunicorn, http_request, sqlite_url, wrk
from .registry import Figure, Run, benchmark

LANGUAGE = "sv"


@benchmark("survey_get", "GET /survey (rendered, compressed as for a phone) per second vs a bare hello route")
def run(run: Run) -> list[Figure]:
    load = dict(threads=run.threads, connections=run.connections)
    base_url, app_url = sqlite_url(run.workdir, "baseline-hello"), sqlite_url(run.workdir, "survey-get")
    baseline_app.create_table(base_url)
    app = world.make_app(app_url, run.workdir)
    try:
        survey_world = world.labour_campaign_with_invitations(app, 1)
        cookie_name = world.cookie_name(app)
    finally:
        world.dispose(app)
    token = survey_world.real_tokens[list(LANGUAGES).index(LANGUAGE)]

    with gunicorn("baseline-hello", "bench.baseline_app:create_app()", {"DATABASE_URL": base_url}, run.workdir,
                  config="python:bench.gunicorn_baseline", ready_path="/hello") as base_server, \
            gunicorn("app-survey-get", "app:create_app()", app_environment(app_url), run.workdir) as app_server:
        cookie, page_bytes, encoding = _open_like_a_phone(app_server, token, cookie_name)
        hello_url, survey_url = base_server.url + "/hello", app_server.url + "/survey"
        hello_headers = {"Accept-Encoding": ACCEPT_ENCODING}
        survey_headers = {"Accept-Encoding": ACCEPT_ENCODING, "Cookie": cookie}

        def hello(label: str, seconds: float):
            return wrk(f"{label} GET /hello", hello_url, "fixed.lua", [], duration=seconds,
                       headers=hello_headers, server=base_server, **load)

        def survey(label: str, seconds: float):
            return wrk(f"{label} GET /survey", survey_url, "fixed.lua", [], duration=seconds,
                       headers=survey_headers, server=app_server, **load)

        hello("warm-up", run.warmup)
        survey("warm-up", run.warmup)
        paired = alternate(run.rounds, run.duration, hello, survey)
    for result in paired.baseline + paired.measured:
        run.note(result.describe())
    served = sum(r.requests for r in paired.measured)
    run.note(f"survey page ({LANGUAGE}): {page_bytes:,} body bytes as {encoding}; wrk read "
             f"{sum(r.bytes for r in paired.measured) / max(1, served):,.0f} bytes per response with headers")

    errors = sum(sum(v for s, v in r.statuses.items() if s != 200)
                 + sum(v for k, v in r.socket_errors.items() if k != "status") for r in paired.measured)
    return [
        Figure("survey_get.rate", paired.measured_rate, "pages/s", paired.baseline_rate, (">=", 0.4),
               note="baseline: bare hello route; " + paired.rounds_note()),
        Figure("survey_get.p99", paired.measured_p99, "ms", paired.baseline_p99, None,
               note=f"wrk -t{run.threads} -c{run.connections}; baseline: hello p99; mean of {run.rounds} rounds"),
        Figure("survey_get.errors", errors, "requests", None, None,
               note="all 200" if not errors else "; ".join(
                   f"{r.label}: statuses {r.statuses}, socket errors {r.socket_errors}" for r in paired.measured)),
    ]


def _open_like_a_phone(server, token: str, cookie_name: str) -> tuple[str, int, str]:
    """GET /s/<token> (303 to /survey), then /survey with the session cookie.

    Returns (Cookie header value, survey page body bytes, content encoding).
    """
    status, headers, _ = http_request(server, "GET", f"/s/{token}", {"Accept-Encoding": ACCEPT_ENCODING})
    if status != 303:
        raise RuntimeError(f"/s/<token> answered {status}, not 303")
    cookie = f"{cookie_name}={_cookie(headers, cookie_name)}"
    status, headers, body = http_request(server, "GET", "/survey", {"Cookie": cookie, "Accept-Encoding": "identity"})
    if status != 200 or b'name="csrf_token"' not in body:
        raise RuntimeError(f"/survey answered {status} without the survey form")
    status, headers, body = http_request(server, "GET", "/survey", {"Cookie": cookie, "Accept-Encoding": ACCEPT_ENCODING})
    return cookie, len(body), headers.get("content-encoding", ["identity"])[0]


def _cookie(headers: dict, name: str) -> str:
    for value in headers.get("set-cookie", []):
        match = re.match(rf"{name}=([^;]*)", value)
        if match:
            return match.group(1)
    raise RuntimeError(f"no {name} cookie set")
