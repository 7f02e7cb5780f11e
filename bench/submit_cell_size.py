"""`submit_cell_size`: one submit's latency with 10, 1,000 and 20,000 used invitations in its cell.

A cell is campaign x provider x programme x language x channel. The old
write path rewrote every used invitation of the submit's cell on each claim,
so a submit grew slower as its cell filled; the new one (app/mixing/intake.py)
claims one invitation by its id and inserts one waiting answer, and should
cost the same whatever its cell holds. Goal: the median latency with 20,000
used invitations in the cell within 1.2x of the median with 10.

Data, per database (SQLite file in WAL mode; PostgreSQL, the bench's own
database): one migrated database with a published answer key and three
campaigns of the demo's labour-market survey (nacka-arbetsmarknad), one per
cell size N, each with one cell holding N claimed invitations (`responded`
true) and N waiting answers of the survey's sealed size (padded size + 48
bytes) - nothing mixed yet, the worst case: the campaign's waiting answers
grow with its cells - plus fresh unclaimed invitations to submit against.
The claimed invitations and the waiting answers are bulk-inserted directly
(Core `INSERT`s; the waiting answers are random bytes of the sealed length,
which is what a ciphertext looks like to the database), not submitted one by
one: 21,010 submits would take most of the time budget. The three campaigns
share the database, so its `waiting_answer` table (about 110 MB) is the same
for every size: what differs is the cell and its campaign.

Measured: what the respondent view does for a submit, in this process, with
no HTTP in between (a served request's noise - gunicorn, sockets, two
workers queueing on two cores - would drown a 20 % difference): check a
connection out of the app's pool, `store_answers` (the real write path: seal
with HPKE, claim, insert; on PostgreSQL one call of `store_waiting_answer`,
on SQLite three statements and a COMMIT in a writer turn), check it back in. Wall time per
submit (`time.perf_counter`), one submit at a time.

The sizes take turns submit by submit, in mirrored order (10, 1,000,
20,000, 20,000, 1,000, 10, ...), so that load on the machine that comes and
goes - the machine has two cores and is often shared - hits every size
alike. (Turns of 40 submits per size were tried first: on a busy machine
they gave ratios from 1.00 to 1.28 between runs, as bursts of other work
fell on one size's turns.) The submits are grouped in
blocks of `SUBMITS_PER_BLOCK` per size; after each block its claims are
undone and its waiting answers deleted (outside the timing; the mixer
deletes waiting answers too), so a cell holds N to N + SUBMITS_PER_BLOCK - 1
used invitations while it is measured, never more. One block is a warm-up
and not counted. Reported per size: median and 90th percentile; ratio =
median(N) / median(10).
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import Flask
from sqlalchemy import func, insert, select, update

from app.campaigns.models import Campaign, Invitation
from app.campaigns.services import create_campaign
from app.clock import month_of, today_in
from app.db import db_session
from app.mixing.intake import Outcome, Submission, store_answers
from app.mixing.keys import PublishedKeys
from app.mixing.models import WaitingAnswer
from app.mixing.sealing import SEAL_OVERHEAD, AnswerSheet, padded_size
from app.surveys.definition import SurveyDefinition
from app.surveys.services import load_builtin

from . import world
from .harness import reset_postgres, sqlite_url
from .registry import Figure, Run, benchmark

#: Used invitations (and waiting answers) in the measured cells, smallest first.
SIZES = (10, 1_000, 20_000)
#: Submits per size in a block; a cell grows by at most this much while measured.
SUBMITS_PER_BLOCK = 40
#: Counted blocks (plus one warm-up block).
BLOCKS = 24
#: Rows per INSERT batch when seeding.
SEED_BATCH = 1000
GOAL = ("<=", 1.2)
LANGUAGE, CHANNEL = "sv", "sms"


@dataclass
class Cell:
    size: int
    campaign_id: int
    provider_id: int
    programme_id: int
    #: Unclaimed invitations, one per submit to come (each used once).
    fresh: list[int]
    #: Ids of the seeded waiting answers (what stays after every block).
    seeded: set[int]
    #: Bytes of every waiting answer of the survey: its padded size + SEAL_OVERHEAD.
    sealed_size: int
    latencies_ms: list[float] = field(default_factory=list)


@benchmark("submit_cell_size", "one submit's latency (in-process, store_answers) with 10, 1,000, 20,000 used invitations in its cell")
def run(run: Run) -> list[Figure]:
    figures: list[Figure] = []
    for kind in ("sqlite", "postgresql"):
        try:
            url = sqlite_url(run.workdir, "cell-size") if kind == "sqlite" else reset_postgres(run.postgres_url)
        except Exception as error:  # PostgreSQL not running: say so, measure the rest
            run.note(f"submit_cell_size[{kind}] skipped: {error}")
            continue
        figures += _measure(run, kind, url)
    return figures


def _measure(run: Run, kind: str, url: str) -> list[Figure]:
    started = time.monotonic()
    app = world.make_app(url, run.workdir)
    try:
        config = app.config["KUNDROST"]
        today = today_in(config.zone)
        definition, cells = _seed(app, today)
        engine = app.extensions["kundrost.db"].engine
        _settle(engine)
        sealed_size = padded_size(definition) + SEAL_OVERHEAD
        run.note(f"{kind}: cells of {', '.join(f'{c.size:,}' for c in cells)} used invitations, as many waiting "
                 f"answers of {sealed_size:,} bytes in each cell's campaign; set up in {time.monotonic() - started:.1f} s")
        keys = PublishedKeys(config.key_cache.total_seconds())
        sheet = _sheet(app, definition, cells[0], today)
        t0 = time.monotonic()
        for block in range(BLOCKS + 1):  # the first is a warm-up
            _block(engine, cells, sheet, definition, today, keys, counted=block > 0)
        measured_s = time.monotonic() - t0
        _check(app, cells)
    finally:
        world.dispose(app)

    by_size = {cell.size: cell for cell in cells}
    smallest = by_size[SIZES[0]]
    base_median, base_p90 = _median(smallest.latencies_ms), _p90(smallest.latencies_ms)
    run.note(f"{kind}: {sum(len(c.latencies_ms) for c in cells):,} submits counted in {measured_s:.1f} s; "
             + "; ".join(f"{c.size:,}: median {_median(c.latencies_ms):.3f} ms, p90 {_p90(c.latencies_ms):.3f} ms"
                         for c in cells))
    count = len(smallest.latencies_ms)
    figures = [
        Figure(f"submit_cell_size.{kind}.median_{SIZES[0]}", base_median, "ms", None, None,
               note=f"p90 {base_p90:.3f} ms; {count} submits per size, interleaved submit by submit"),
    ]
    for size in SIZES[1:]:
        cell = by_size[size]
        figures += [
            Figure(f"submit_cell_size.{kind}.median_{size}", _median(cell.latencies_ms), "ms", base_median,
                   GOAL if size == SIZES[-1] else None,
                   note=f"baseline: median with {SIZES[0]} used invitations in the cell; "
                        f"p90 {_p90(cell.latencies_ms):.3f} ms"),
            Figure(f"submit_cell_size.{kind}.p90_{size}", _p90(cell.latencies_ms), "ms", base_p90, None,
                   note=f"baseline: p90 with {SIZES[0]}"),
        ]
    return figures


def _seed(app: Flask, today: date) -> tuple[SurveyDefinition, list[Cell]]:
    """Three campaigns, one cell each: N claimed invitations, N waiting answers, fresh invitations."""
    fresh_count = (BLOCKS + 1) * SUBMITS_PER_BLOCK
    with app.app_context():
        versions = {version.key: version for version in load_builtin(db_session)}
        version = versions[world.DEMO_SURVEY]
        definition = version.definition
        providers = world._providers(1)
        programmes = world._programmes(world.LABOUR_PROGRAMMES[:1])
        db_session.add_all(providers + programmes)
        db_session.flush()
        campaigns = [
            create_campaign(
                db_session, name=f"Benchmark: cell of {size}", survey_version=version,
                starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=30),
                providers=providers, programmes=programmes, languages=[LANGUAGE],
            )
            for size in SIZES
        ]
        db_session.flush()
        key_id = PublishedKeys(0).current(db_session.connection()).id
        sealed_size = padded_size(definition) + SEAL_OVERHEAD
        cells = []
        for size, campaign in zip(SIZES, campaigns):
            scope = {"campaign_id": campaign.id, "provider_id": providers[0].id, "programme_id": programmes[0].id,
                     "language": LANGUAGE, "channel": CHANNEL, "created_on": today}
            # Claimed and fresh invitations interleaved, as issued over time (random token hashes:
            # the tokens are never needed, submits name their invitation by id).
            rows = [{**scope, "token_hash": secrets.token_hex(32), "responded": i < size}
                    for i in range(size + fresh_count)]
            for start in range(0, len(rows), SEED_BATCH):
                db_session.execute(insert(Invitation.__table__), rows[start:start + SEED_BATCH])
            seeded = set()
            for start in range(0, size, SEED_BATCH):
                batch = [{"campaign_id": campaign.id, "key_id": key_id, "sealed": os.urandom(sealed_size)}
                         for _ in range(min(SEED_BATCH, size - start))]
                seeded.update(db_session.scalars(insert(WaitingAnswer.__table__).returning(WaitingAnswer.id), batch))
            fresh = list(db_session.scalars(
                select(Invitation.id).where(Invitation.campaign_id == campaign.id, Invitation.responded.is_(False))
                .order_by(Invitation.id)
            ))
            cells.append(Cell(size, campaign.id, providers[0].id, programmes[0].id, fresh, seeded, sealed_size))
        db_session.commit()
    return definition, cells


def _settle(engine) -> None:
    """Start the measurement from a clean state: the seeding's log written out, statistics fresh."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        else:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("VACUUM (ANALYZE) invitation")
            connection.exec_driver_sql("VACUUM (ANALYZE) waiting_answer")
            connection.exec_driver_sql("CHECKPOINT")


def _sheet(app: Flask, definition: SurveyDefinition, cell: Cell, today: date) -> AnswerSheet:
    """Every question answered (as the view parses the benchmark's posted form)."""
    answers = {}
    for key, raw in world.complete_answers(definition):
        question = next(q for q in definition.questions if q.key == key)
        answers[key] = question.parse_answer(raw)
    with app.app_context():
        version_id = db_session.get(Campaign, cell.campaign_id).survey_version_id
        db_session.rollback()
    return AnswerSheet(
        survey_version_id=version_id, provider_id=cell.provider_id, programme_id=cell.programme_id,
        channel=CHANNEL, language=LANGUAGE, month=month_of(today),
        status=definition.status_of(answers), answers=answers,
    )


def _block(engine, cells: list[Cell], sheet: AnswerSheet, definition: SurveyDefinition, today: date,
           keys: PublishedKeys, *, counted: bool) -> None:
    """SUBMITS_PER_BLOCK submits per cell, the cells in mirrored turns, each submit timed; then every cell back to N."""
    claimed: dict[int, list[int]] = {cell.size: [] for cell in cells}
    order = list(cells) + list(reversed(cells))
    for index in range(SUBMITS_PER_BLOCK * len(cells)):
        cell = order[index % len(order)]
        invitation_id = cell.fresh.pop()
        claimed[cell.size].append(invitation_id)
        submission = Submission(campaign_id=cell.campaign_id, sheet=sheet, link_language=LANGUAGE,
                                invitation_id=invitation_id)
        started = time.perf_counter()
        # What the view does (app/respond/views.py): a pooled connection for the one call.
        with engine.connect() as connection:
            outcome = store_answers(connection, submission, definition, today=today, keys=keys)
        elapsed = time.perf_counter() - started
        if outcome is not Outcome.STORED:
            raise RuntimeError(f"a submit in the cell of {cell.size} gave {outcome}, not STORED")
        if counted:
            cell.latencies_ms.append(elapsed * 1000)
    for cell in cells:
        _undo(engine, cell, claimed[cell.size])


def _undo(engine, cell: Cell, claimed: list[int]) -> None:
    """Unclaim the block's invitations and delete its waiting answers: the cell holds N again."""
    with engine.connect() as connection:
        present = set(connection.scalars(select(WaitingAnswer.id).where(WaitingAnswer.campaign_id == cell.campaign_id)))
        added = sorted(present - cell.seeded)
        if len(added) != len(claimed):
            raise RuntimeError(f"{len(claimed)} submits stored {len(added)} waiting answers in the cell of {cell.size}")
        lengths = set(connection.scalars(select(func.length(WaitingAnswer.sealed)).where(WaitingAnswer.id.in_(added))))
        if lengths != {cell.sealed_size}:  # the seeded rows must be what a submit stores
            raise RuntimeError(f"submits stored waiting answers of {lengths} bytes, seeded ones have {cell.sealed_size}")
        connection.execute(update(Invitation.__table__).where(Invitation.__table__.c.id.in_(claimed))
                           .values(responded=False))
        connection.execute(WaitingAnswer.__table__.delete().where(WaitingAnswer.__table__.c.id.in_(added)))
        connection.commit()


def _check(app: Flask, cells: list[Cell]) -> None:
    """After the last block every cell holds what it was seeded with: N claimed, N waiting."""
    with app.app_context():
        for cell in cells:
            claimed = db_session.scalar(select(func.count()).select_from(Invitation).where(
                Invitation.campaign_id == cell.campaign_id, Invitation.responded.is_(True)))
            waiting = db_session.scalar(select(func.count()).select_from(WaitingAnswer).where(
                WaitingAnswer.campaign_id == cell.campaign_id))
            if claimed != cell.size or waiting != cell.size:
                raise RuntimeError(f"the cell of {cell.size} ends with {claimed} claimed and {waiting} waiting")
        db_session.rollback()


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]
