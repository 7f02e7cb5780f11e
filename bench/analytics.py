"""`analytics`: the results pages' query shapes over a synthetic set, against the bare GROUP BY over `answer`.

Data: `flask analytics synthesize` (app/analytics/synthetic.py) - 8 finalised
campaigns (4 of nacka-arbetsmarknad, 4 of skr-brukarundersokning, a year
apart), 40 providers, 10 programmes, 10 languages - written directly as
mixed responses, about 9 answers each, with the personal index scores and
answer counts the mixing step keeps (migration 0009). Sizes: `BENCH_ANALYTICS_SIZES`
(default "100000"; "100000,1000000" for both). A set is made once and
reused: SQLite files `<size>.sqlite3` in `BENCH_ANALYTICS_DIR` (default:
the scratch folder, so made every run), PostgreSQL schemas
`analytics_<size>` in `BENCH_ANALYTICS_POSTGRES` (default: the bench's
database, `--postgres-url`). A set whose response count differs is made
again; either way the schema is migrated to head first, and PostgreSQL's tables are VACUUM ANALYZEd (autovacuum would,
after a bulk load); SQLite is not ANALYZEd (the app never runs ANALYZE:
its planner works from the schema alone, as in production).
`BENCH_ANALYTICS_KINDS` (default "sqlite,postgresql") picks the databases.
(The figures before 0008 and 0009 are in docs/performance.md; a downgrade
cannot be measured with today's app.)

Measured, in this process, on one connection: the baseline - the bare
`SELECT question_key, value, count(*) FROM answer GROUP BY question_key,
value` over every answer of every campaign - and the candidate shapes of
the results pages (QUERIES: what a table without filters reads - status
counts, the NKI from personal scores, answer counts - and the answer
joins a filtered table still runs), each with every row fetched, wall time
(`time.perf_counter`). Turns alternate query by query in mirrored order
(baseline, Q1, ..., Q1, baseline, ...), after one warm-up turn; reported
per query: median ms, ratio = median / median of the baseline. What
decides the goal (ratio <= 1.5 and under 250 ms at 100,000 responses) is
the pages themselves, served by the app (HTTP), and the results layer
alone (REAL); PAGES adds up the medians of the queries a page runs.

The measured campaign is the newest of nacka-arbetsmarknad (the largest:
later years have more responses); "4 campaigns" is every campaign of
that survey (the provider page's trend).
"""

from __future__ import annotations

import os
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from app.analytics.results import result_table
from app.analytics.scope import Breakdown, Selection
from app.analytics.synthetic import synthesize
from app.campaigns.models import Campaign
from app.clock import today_in
from app.config import Config
from app.db import Database
from app.migrate import upgrade
from app.respond.models import Response
from app.surveys.models import SurveyVersion

from .harness import sqlite_url
from .registry import Figure, Run, benchmark

BASELINE = "SELECT question_key, value, count(*) FROM answer GROUP BY question_key, value"

#: The candidate shapes, by name. `:c` is one campaign; `{campaigns}` the campaigns of one
#: survey, `{index_keys}` its index questions (both inlined: integers and survey keys).
QUERIES = {
    "q1_status": "SELECT provider_id, status, count(*) FROM response WHERE campaign_id = :c"
                 " GROUP BY provider_id, status",
    "q2_answers": "SELECT r.provider_id, a.question_key, a.value, a.choice, a.dont_know, count(*)"
                  " FROM answer a JOIN response r ON r.id = a.response_id WHERE r.campaign_id = :c"
                  " GROUP BY 1, 2, 3, 4, 5",
    "q2_answers_4_campaigns": "SELECT r.provider_id, a.question_key, a.value, a.choice, a.dont_know, count(*)"
                              " FROM answer a JOIN response r ON r.id = a.response_id"
                              " WHERE r.campaign_id IN ({campaigns}) GROUP BY 1, 2, 3, 4, 5",
    "q2_by_programme": "SELECT r.programme_id, a.question_key, a.value, a.choice, a.dont_know, count(*)"
                       " FROM answer a JOIN response r ON r.id = a.response_id WHERE r.campaign_id = :c"
                       " GROUP BY 1, 2, 3, 4, 5",
    "q2_by_language": "SELECT r.language, a.question_key, a.value, a.choice, a.dont_know, count(*)"
                      " FROM answer a JOIN response r ON r.id = a.response_id WHERE r.campaign_id = :c"
                      " GROUP BY 1, 2, 3, 4, 5",
    "q2_by_month": "SELECT r.month, a.question_key, a.value, a.choice, a.dont_know, count(*)"
                   " FROM answer a JOIN response r ON r.id = a.response_id WHERE r.campaign_id = :c"
                   " GROUP BY 1, 2, 3, 4, 5",
    "q3_nki": "SELECT provider_id, count(index_score), sum(index_score), sum(index_score * index_score)"
              " FROM response WHERE campaign_id = :c AND index_score IS NOT NULL GROUP BY provider_id",
    "q4_by_gender": "SELECT b.choice, a.question_key, a.value, a.dont_know, count(*)"
                    " FROM answer a JOIN response r ON r.id = a.response_id"
                    " JOIN answer b ON b.response_id = r.id AND b.question_key = 'gender'"
                    " WHERE r.campaign_id = :c GROUP BY 1, 2, 3, 4",
    "links": "SELECT provider_id, programme_id, language, sum(issued), sum(answered) FROM cell_count"
             " WHERE campaign_id = :c AND language_role = 'link' GROUP BY provider_id, programme_id, language",
    "kept_answers": "SELECT group_value, question_key, kind, answer, sum(n) FROM answer_count"
                    " WHERE campaign_id = :c AND dimension = 'provider' GROUP BY 1, 2, 3, 4",
    "kept_answers_4_campaigns": "SELECT group_value, question_key, kind, answer, sum(n) FROM answer_count"
                                " WHERE campaign_id IN ({campaigns}) AND dimension = 'provider' GROUP BY 1, 2, 3, 4",
    "kept_by_gender": "SELECT group_value, question_key, kind, answer, sum(n) FROM answer_count"
                      " WHERE campaign_id = :c AND dimension = 'background:gender' GROUP BY 1, 2, 3, 4",
}
#: What each page's tables without filters run (aggregates.py): the campaign overview (counts,
#: NKI from the personal scores, the index questions' counts, response rates) and the provider
#: page (every question's counts, its trend over the survey's campaigns, the gender breakdown).
#: A filtered table joins the answers instead (q2_*, q4_by_gender).
PAGES = {
    "overview": ("q1_status", "q3_nki", "kept_answers", "links"),
    "provider": ("kept_answers", "kept_answers_4_campaigns", "kept_by_gender"),
}
#: The results layer itself (app/analytics/results.py), as the pages call it: the overview's
#: summary and rates (every provider, the comparison, no per-question figure) and a table with
#: every question's figures per provider (what the question and provider pages read).
REAL = {
    "real.overview": dict(compare=True, questions=()),
    "real.every_question": dict(compare=False, questions=None),
}
#: The pages themselves, through the app (Flask's test client, signed in as an analyst): the campaign
#: overview and the provider page of the campaign's largest provider, HTML rendered and all; then two
#: filtered overviews - the largest provider's by programme (what its provider-role account sees
#: first), the women by provider (a background filter) and the campaign pooled with the other
#: campaigns of its survey (each campaign's table made alone, then pooled: results._pooled_table).
HTTP = {
    "http.overview": "/staff/results/{campaign}",
    "http.provider": "/staff/results/{campaign}/providers/{provider}",
    "http.overview_one_provider": "/staff/results/{campaign}?provider={provider}&by=programme",
    "http.overview_women": "/staff/results/{campaign}?background%3Agender=woman",
    "http.overview_pooled": "/staff/results/{campaign}?campaigns={others}",
}
GOAL = ("<=", 1.5)
#: Milliseconds a page may take at 100,000 responses.
BUDGET_MS = 250.0


@dataclass(frozen=True)
class Subject:
    """The campaign measured, the campaigns of its survey and its index questions."""

    campaign_id: int
    campaign_ids: tuple[int, ...]
    index_keys: tuple[str, ...]

    def sql(self, name: str) -> str:
        """The query `name` (or "baseline") with campaigns and index keys inlined."""
        shape = BASELINE if name == "baseline" else QUERIES[name]
        return shape.format(campaigns=", ".join(map(str, self.campaign_ids)),
                            index_keys=", ".join(f"'{key}'" for key in self.index_keys))


def subject_of(connection: Connection, survey_key: str = "nacka-arbetsmarknad") -> Subject:
    """The newest campaign of `survey_key` with the survey's campaigns and index questions."""
    rows = connection.execute(
        select(Campaign.id, SurveyVersion.id).join(SurveyVersion, SurveyVersion.id == Campaign.survey_version_id)
        .where(SurveyVersion.key == survey_key).order_by(Campaign.starts_on)).all()
    with Session(connection) as session:
        definition = session.get(SurveyVersion, rows[-1][1]).definition
    return Subject(rows[-1][0], tuple(row[0] for row in rows), tuple(definition.index.questions))


@benchmark("analytics", "results-page query shapes over 100,000 (and 1,000,000) synthetic responses vs the bare GROUP BY")
def run(run: Run) -> list[Figure]:
    sizes = [int(size) for size in os.environ.get("BENCH_ANALYTICS_SIZES", "100000").split(",")]
    figures: list[Figure] = []
    for kind in os.environ.get("BENCH_ANALYTICS_KINDS", "sqlite,postgresql").split(","):
        for size in sizes:
            try:
                url = _dataset(run, kind, size)
            except Exception as error:  # PostgreSQL not running: say so, measure the rest
                run.note(f"analytics[{kind}] skipped: {error}")
                break
            database = Database(url)
            try:
                figures += _measure(run, database, kind, size)
            finally:
                database.dispose()
    return figures


def _dataset(run: Run, kind: str, size: int) -> str:
    """The URL of a migrated synthetic set of `size` responses, made if missing."""
    if kind == "sqlite":
        folder = Path(os.environ.get("BENCH_ANALYTICS_DIR") or run.workdir)
        url = sqlite_url(folder, str(size))
        reset = lambda: [Path(str(folder / f"{size}.sqlite3") + suffix).unlink(missing_ok=True)  # noqa: E731
                         for suffix in ("", "-wal", "-shm")]
    else:
        base = os.environ.get("BENCH_ANALYTICS_POSTGRES") or run.postgres_url
        base = Config(database_url=base).resolved_database_url("")
        schema = f"analytics_{size}"
        admin = create_engine(base)

        def reset():
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {schema}"))

        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    if _responses(url) != size:
        reset()
        database = Database(url)
        try:
            upgrade(database)
            config = Config(database_url=url)
            started = time.perf_counter()
            report = synthesize(database, config, today_in(config.zone), responses=size, seed=1)
            run.note(f"{kind}: made {report.responses:,} responses, {report.answers:,} answers, "
                     f"{report.cell_counts:,} cell counts in {time.perf_counter() - started:.0f} s")
        finally:
            database.dispose()
    database = Database(url)
    try:
        upgrade(database)
        _settle(database)
    finally:
        database.dispose()
    return url


def _responses(url: str) -> int | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Response))
    except Exception:
        return None
    finally:
        engine.dispose()


def _settle(database: Database) -> None:
    """PostgreSQL: VACUUM ANALYZE (visibility map for index-only scans, statistics), as autovacuum would."""
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def _measure(run: Run, database: Database, kind: str, size: int) -> list[Figure]:
    rounds = int(os.environ.get("BENCH_ANALYTICS_ROUNDS", "7" if size <= 100_000 else "3"))
    names = ["baseline", *QUERIES, *REAL, *HTTP]
    times: dict[str, list[float]] = {name: [] for name in names}
    with database.engine.connect() as connection:
        subject = subject_of(connection)
        client, paths = _signed_in_client(run, database, connection, subject)
        answers = connection.scalar(text("SELECT count(*) FROM answer"))
        of_campaign = connection.scalar(text("SELECT count(*) FROM response WHERE campaign_id = :c"),
                                        {"c": subject.campaign_id})
        for turn in range(rounds + 1):  # the first is a warm-up
            for name in (names if turn % 2 == 0 else names[::-1]):
                started = time.perf_counter()
                if name in REAL:
                    _result_table(connection, subject, REAL[name])
                elif name in HTTP:
                    response = client.get(paths[name])
                    assert response.status_code == 200, (paths[name], response.status_code)
                else:
                    connection.execute(text(subject.sql(name)), {"c": subject.campaign_id}).all()
                if turn:
                    times[name].append((time.perf_counter() - started) * 1000)
    medians = {name: statistics.median(values) for name, values in times.items()}
    prefix = f"analytics.{kind}.{size // 1000}k"
    run.note(f"{prefix}: {size:,} responses, {answers:,} answers; campaign {subject.campaign_id} has "
             f"{of_campaign:,} responses; {rounds} turns; " + ", ".join(f"{n} {m:.1f} ms" for n, m in medians.items()))
    baseline = medians["baseline"]
    figures = [Figure(f"{prefix}.baseline", baseline, "ms", None, None, note=f"{answers:,} answer rows")]
    figures += [Figure(f"{prefix}.{name}", medians[name], "ms", baseline) for name in names[1:]]
    for name in (*REAL, *HTTP):
        note = f"under {BUDGET_MS:.0f} ms: {'yes' if medians[name] < BUDGET_MS else 'NO'}" if size <= 100_000 else ""
        figures.append(Figure(f"{prefix}.page.{name}", medians[name], "ms", baseline,
                              GOAL if size <= 100_000 else None, note=note))
    for page, queries in PAGES.items():
        if not all(name in medians for name in queries):
            continue
        total = sum(medians[name] for name in queries)
        note = f"{' + '.join(queries)}; " + (
            f"under {BUDGET_MS:.0f} ms: {'yes' if total < BUDGET_MS else 'NO'}" if size <= 100_000 else "")
        figures.append(Figure(f"{prefix}.page.{page}", total, "ms", baseline,
                              GOAL if size <= 100_000 else None, note=note))
    return figures


def _result_table(connection: Connection, subject: Subject, options: dict) -> None:
    """One results-layer table of the measured campaign by provider, as a page asks for it (k = 5)."""
    with Session(connection) as session:
        result_table(session, Selection((subject.campaign_id,)), Breakdown("provider"), 5, **options)


def _signed_in_client(run: Run, database: Database, connection: Connection, subject: Subject):
    """A test client of the app on the bench's database, signed in as an analyst, and the HTTP pages' paths."""
    from app import create_app
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.db import db_session

    url = database.engine.url.render_as_string(hide_password=False)
    config = Config(database_url=url, secret_key="bench-secret-key-" + "x" * 32, secure_cookies=False,
                    public_url="http://127.0.0.1")
    app = create_app(config, instance_path=str(Path(run.workdir) / "analytics-instance"))
    password = "bench analyst password"
    with app.app_context():
        if not db_session.scalar(text("SELECT count(*) FROM staff_user WHERE username = 'bench-analyst'")):
            create_user(db_session, "bench-analyst", password, Role.ANALYST)
            db_session.commit()
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    client.post("/staff/login", data={"username": "bench-analyst", "password": password,
                                      "csrf_token": token.group(1)})
    largest = connection.scalar(text("SELECT provider_id FROM response WHERE campaign_id = :c AND provider_id IS NOT NULL"
                                     " GROUP BY provider_id ORDER BY count(*) DESC LIMIT 1"), {"c": subject.campaign_id})
    others = ",".join(str(campaign) for campaign in subject.campaign_ids if campaign != subject.campaign_id)
    paths = {name: path.format(campaign=subject.campaign_id, provider=largest, others=others)
             for name, path in HTTP.items()}
    return client, paths
