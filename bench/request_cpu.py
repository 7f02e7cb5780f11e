"""`request_cpu`: CPU time per request inside one process, app vs baseline (diagnostic).

The load benchmarks need a quiet machine; this one hardly does. It calls the
WSGI apps directly (no server, no sockets), one request at a time, and
counts the process's CPU time (`time.process_time`), so other work on the
machine moves it much less than it moves a rate. It shows where the
throughput ratios come from, but is not one: a served request also pays for
gunicorn, HTTP parsing and a new connection (the same for app and baseline),
which dilutes the served ratios compared with these.

SQLite only (with PostgreSQL most of a submit is spent waiting on the server,
which this process's CPU time does not see).
"""

from __future__ import annotations

import time
from itertools import count

from werkzeug.test import EnvironBuilder

from . import baseline_app, world
from .harness import ACCEPT_ENCODING, sqlite_url
from .registry import Figure, Run, benchmark

BATCH = 100
BATCHES = 5
WARMUP = 30


@benchmark("request_cpu", "CPU ms per request in-process (no server): GET /survey vs hello, POST /survey vs insert; SQLite")
def run(run: Run) -> list[Figure]:
    base_url, app_url = sqlite_url(run.workdir, "cpu-baseline"), sqlite_url(run.workdir, "cpu-app")
    baseline_app.create_table(base_url)
    base = baseline_app.create_app(base_url)
    app = world.make_app(app_url, run.workdir)
    try:
        needed = WARMUP + BATCH * BATCHES + 10
        submit_world = world.labour_campaign_with_invitations(app, needed)
        sessions = world.mint_sessions(app, submit_world.campaign_id)
        answers = world.complete_answers(world.survey_definition(app, submit_world.campaign_id))
        cookie = f"{world.cookie_name(app)}={sessions.pop()[0]}"
        name = world.cookie_name(app)
        phone = {"Accept-Encoding": ACCEPT_ENCODING}
        form = "application/x-www-form-urlencoded"
        pending = iter(sessions)

        def hello():
            return EnvironBuilder(path="/hello", headers=phone)

        def insert():
            return EnvironBuilder(path="/insert", method="POST", data="payload=measured", content_type=form, headers=phone)

        def survey_page():
            return EnvironBuilder(path="/survey", headers={**phone, "Cookie": cookie})

        def submit():
            session_cookie, token = next(pending)
            return EnvironBuilder(path="/survey", method="POST", data=world.submit_body(token, answers),
                                  content_type=form, headers={**phone, "Cookie": f"{name}={session_cookie}"})

        costs = {
            "hello": _cpu_ms(base, hello, 200),
            "survey_get": _cpu_ms(app, survey_page, 200),
            "insert": _cpu_ms(base, insert, 201),
            "submit": _cpu_ms(app, submit, 303),
        }
    finally:
        world.dispose(app)
    run.note("CPU ms per request (best batch): " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))
    return [
        Figure("request_cpu.survey_get", costs["survey_get"], "ms CPU", costs["hello"], None,
               note="GET /survey (as served to a phone) vs GET /hello, WSGI called directly"),
        Figure("request_cpu.submit_sqlite", costs["submit"], "ms CPU", costs["insert"], None,
               note="POST /survey vs one-row insert, WSGI called directly"),
    ]


def _cpu_ms(app, make_request, expected_status: int) -> float:
    """Best batch mean of CPU time per request, in ms; every response must have `expected_status`."""
    best = float("inf")
    for batch in count():
        if batch == 0:
            _batch(app, make_request, WARMUP, expected_status)
            continue
        best = min(best, _batch(app, make_request, BATCH, expected_status) / BATCH * 1000)
        if batch == BATCHES:
            return best


def _batch(app, make_request, size: int, expected_status: int) -> float:
    spent = 0.0
    for _ in range(size):
        builder = make_request()
        environ = builder.get_environ()
        builder.close()
        statuses = []
        started = time.process_time()
        body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        try:
            for _chunk in body:
                pass
        finally:
            if hasattr(body, "close"):
                body.close()
        spent += time.process_time() - started
        if not statuses or not statuses[0].startswith(str(expected_status)):
            raise RuntimeError(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} answered {statuses}, not {expected_status}")
    return spent
