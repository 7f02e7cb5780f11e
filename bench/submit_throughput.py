"""`submit_throughput`: survey answers per second through gunicorn, against a one-row insert.

For each database (SQLite file in WAL mode, PostgreSQL), two gunicorn servers
with the app's settings (2 sync workers) run side by side:

- baseline: `bench/baseline_app.py` POST /insert (Flask + SQLAlchemy, one row,
  one commit);
- the app, on a fresh migrated database with a published answer key, holding
  the demo's labour-market campaign with enough single-use invitations (cells
  of `world.CELL_SIZE`) and one respondent session per invitation: wrk POSTs
  /survey with every question answered, each request with its own session.

What a submit writes (app/mixing/intake.py): it seals the answers with HPKE
to the published key, padded to the survey version's one size (5 KiB for
nacka-arbetsmarknad), and in one transaction claims its invitation (a
one-row UPDATE) and inserts one `waiting_answer` row - on PostgreSQL one call
of the function `store_waiting_answer`, on SQLite three statements (the
campaign's dates, the claim, the insert) and a COMMIT in a writer turn. No response is written and nothing else in the cell is
touched; the mixer, which turns waiting answers into responses, does not
run during the benchmark (its cost is not a submit's).

After a warm-up of each, wrk loads them in turns (baseline, app, app,
baseline, ...; `--rounds`). Afterwards what was stored (waiting answers plus
responses; with no mixer running, all of it waits) must equal the 303s to
/thanks (give or take requests in flight when wrk stopped), and the
invitations claimed must equal the waiting answers; anything else (other
statuses, socket errors, reused sessions) is reported as errors.
"""

from __future__ import annotations

import math
import time

from app.mixing.sealing import padded_size

from . import baseline_app, world
from .harness import ACCEPT_ENCODING, alternate, app_environment, gunicorn, reset_postgres, sqlite_url, wrk
from .registry import Figure, Run, benchmark

#: Sessions minted per second of load expected at the baseline's rate, plus this margin.
SESSION_MARGIN = 2.0
MIN_SESSIONS = 1500


@benchmark("submit_throughput", "POST /survey (complete answers) per second vs a one-row insert; SQLite and PostgreSQL")
def run(run: Run) -> list[Figure]:
    figures: list[Figure] = []
    for kind in ("sqlite", "postgresql"):
        try:
            if kind == "sqlite":
                base_url, app_url = sqlite_url(run.workdir, "baseline-insert"), sqlite_url(run.workdir, "submit")
            else:
                app_url = base_url = reset_postgres(run.postgres_url)
        except Exception as error:  # PostgreSQL not running: say so, measure the rest
            run.note(f"submit_throughput[{kind}] skipped: {error}")
            continue
        figures += _measure(run, kind, base_url, app_url)
    return figures


def _measure(run: Run, kind: str, base_url: str, app_url: str) -> list[Figure]:
    load = dict(threads=run.threads, connections=run.connections, headers={"Accept-Encoding": ACCEPT_ENCODING})
    started = time.monotonic()
    app = world.make_app(app_url, run.workdir)  # migrates (the PostgreSQL database was just emptied)
    baseline_app.create_table(base_url)
    try:
        with gunicorn(f"baseline-{kind}", "bench.baseline_app:create_app()", {"DATABASE_URL": base_url},
                      run.workdir, config="python:bench.gunicorn_baseline", ready_path="/hello") as base_server:
            insert_url = base_server.url + "/insert"

            def baseline(label: str, seconds: float):
                return wrk(f"{label} insert [{kind}]", insert_url, "fixed.lua", ["POST", "payload=" + label.replace(" ", "-")],
                           duration=seconds, server=base_server, **load)

            base_warm = baseline("warm-up", run.warmup)
            # Enough sessions for the baseline's rate (the app does strictly more per request), never reused.
            per_second = base_warm.rate * SESSION_MARGIN
            turns = [run.warmup] + [run.duration / run.rounds] * run.rounds
            pools = [max(MIN_SESSIONS // (run.rounds + 1), math.ceil(per_second * seconds)) for seconds in turns]
            submit_world = world.labour_campaign_with_invitations(app, sum(pools))
            real, real_ids = world.check_minted_sessions(app, submit_world.real_tokens)
            sessions = real + world.mint_sessions(app, submit_world.campaign_id, exclude_ids=real_ids)
            definition = world.survey_definition(app, submit_world.campaign_id)
            answers = world.complete_answers(definition)
            cookie_name = world.cookie_name(app)
            files = []
            for index, size in enumerate(pools):
                path = run.workdir / f"sessions-{kind}-{index}.tsv"
                taken, sessions = sessions[:size], sessions[size:]
                world.write_sessions(path, taken, answers, cookie_name)
                files.append(path)
            world.dispose(app)
            run.note(f"{kind}: {sum(pools)} invitations in {submit_world.cell_count} cells of <= {world.CELL_SIZE} "
                     f"(+{len(real)} opened the real way), {len(answers)} answers per submit, sealed to "
                     f"{padded_size(definition):,} bytes + 48; "
                     f"set up in {time.monotonic() - started:.1f} s")

            with gunicorn(f"app-{kind}", "app:create_app()", app_environment(app_url), run.workdir) as app_server:
                survey_url = app_server.url + "/survey"
                pending = iter(files)

                def submit(label: str, seconds: float):
                    return wrk(f"{label} submit [{kind}]", survey_url, "sessions.lua",
                               [str(next(pending)), str(run.threads)], duration=seconds, server=app_server, **load)

                warm = submit("warm-up", run.warmup)
                paired = alternate(run.rounds, run.duration, baseline, submit)
                log_tail = app_server.log_tail(20)
    finally:
        world.dispose(app)
    for result in paired.baseline + paired.measured:
        run.note(result.describe())

    # Every acknowledged submit stored exactly one answer (waiting to be mixed); nothing else came back.
    app = world.make_app(app_url, run.workdir)
    try:
        waiting, responses, claimed = world.count_stored(app, submit_world.campaign_id)
    finally:
        world.dispose(app)
    stored = waiting + responses
    slack = (1 + run.rounds) * run.connections
    base_runs, app_runs = [base_warm, *paired.baseline], [warm, *paired.measured]
    base_problems = _problems(base_runs, expected=201, stored=baseline_app.count_rows(base_url),
                              acknowledged=sum(r.count(201) for r in base_runs), slack=slack)
    if base_problems:
        run.note(f"submit_throughput[{kind}] baseline problems: " + "; ".join(base_problems))
    to_thanks = sum(r.counters.get("to_thanks", 0) for r in app_runs)
    problems = _problems(app_runs, expected=303, stored=stored, acknowledged=to_thanks, slack=slack)
    if claimed != waiting:
        problems.append(f"{claimed} invitations claimed but {waiting} waiting answers stored")
    if responses:
        problems.append(f"{responses} responses written: a mixer ran during the benchmark")
    if problems:
        run.note(f"submit_throughput[{kind}] problems: " + "; ".join(problems))
        if any(status >= 500 for r in app_runs for status in r.statuses):
            run.note(f"last lines of the app's gunicorn log ({kind}):\n" + log_tail)
    errors = sum(
        sum(v for s, v in r.statuses.items() if s != 303)
        + sum(v for k, v in r.socket_errors.items() if k != "status")
        + r.counters.get("to_elsewhere", 0) + r.counters.get("sessions_exhausted", 0)
        for r in paired.measured
    )
    return [
        Figure(f"submit_throughput.{kind}.rate", paired.measured_rate, "responses/s", paired.baseline_rate,
               (">=", 0.5), note="baseline: one-row insert; " + paired.rounds_note()),
        Figure(f"submit_throughput.{kind}.p99", paired.measured_p99, "ms", paired.baseline_p99, ("<=", 2.0),
               note=f"wrk -t{run.threads} -c{run.connections}; mean of {run.rounds} rounds' p99"),
        Figure(f"submit_throughput.{kind}.errors", errors, "requests", None, None,
               note=("; ".join(problems) if problems else
                     f"all 303 -> /thanks; {stored} waiting answers stored = {to_thanks} 303s + "
                     f"{stored - to_thanks} in flight when wrk stopped; = invitations claimed")),
    ]


def _problems(results, *, expected: int, stored: int, acknowledged: int, slack: int) -> list[str]:
    """What went wrong in wrk runs whose every response should be `expected`.

    `stored` rows must equal the `acknowledged` responses, give or take the
    requests still in flight when wrk stopped (at most `slack`: the server
    finishes them, wrk no longer counts them).
    """
    problems = []
    for result in results:
        other = {s: v for s, v in result.statuses.items() if s != expected}
        if other:
            problems.append(f"{result.label}: statuses other than {expected}: {other}")
        errors = {k: v for k, v in result.socket_errors.items() if v and k != "status"}
        if errors:
            problems.append(f"{result.label}: socket errors {errors}")
        if result.counters.get("to_elsewhere"):
            problems.append(f"{result.label}: {result.counters['to_elsewhere']} 303s not to /thanks")
        if result.counters.get("sessions_exhausted"):
            problems.append(f"{result.label}: ran out of sessions ({result.counters['sessions_exhausted']} reused)")
    if not 0 <= stored - acknowledged <= slack:
        problems.append(f"{stored} rows stored but {acknowledged} {expected}s received")
    return problems
