"""`flask analytics synthesize|recount`: synthetic data for benchmarks, and rebuilding the answer counts.

`synthesize` writes mixed responses and counts DIRECTLY, not through the
submit path (app/analytics/synthetic.py says what it keeps of the real
path). `recount` rebuilds what the mixing step keeps beside the responses
(summaries.py) from the stored answers: a repair, never needed in normal use.
"""

from __future__ import annotations

import time

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from flask.cli import AppGroup

from ..clock import local_today
from ..db import get_database, writer_turn
from ..migrate import upgrade
from ..mixing.installation import MixerBusy, mixer_lock
from ..campaigns.models import Campaign
from . import linked
from .results import figure_questions
from .summaries import recount
from .synthetic import PROGRAMME_CODES, SURVEYS, synthesize

analytics_cli = AppGroup("analytics", help="Results: synthetic data for benchmarks and demos of scale; recounting.")

DIRECT = ("Writes mixed responses, answers and the finalised campaigns' cell counts DIRECTLY, not through "
          "the submit path: nothing is sealed, waits or is mixed (the real path seals every answer and the "
          "mixer releases them in groups of at least k). For benchmarks and demos of scale only.")


@analytics_cli.command("synthesize", help=f"Generate a synthetic data set of finalised campaigns. {DIRECT}")
@click.option("--responses", default=100_000, show_default=True, type=click.IntRange(1),
              help="Responses in all, spread over the campaigns (about 10 answers each).")
@click.option("--providers", default=40, show_default=True, type=click.IntRange(1),
              help="Synthetic providers ('Syntetisk anordnare NN AB'; reused if they exist).")
@click.option("--programmes", default=10, show_default=True, type=click.IntRange(1, len(PROGRAMME_CODES)),
              help="Programmes of the domain (SO, JPG, ...; reused if they exist).")
@click.option("--campaigns", default=8, show_default=True, type=click.IntRange(1),
              help=f"Finalised campaigns, alternating between {' and '.join(key for key, *_ in SURVEYS)}, a year apart.")
@click.option("--seed", default=None, type=int, help="Random seed, for the same data set again.")
def synthesize_command(responses: int, providers: int, programmes: int, campaigns: int, seed: int | None) -> None:
    """Generate the data set with a progress bar, then print what was written and how long it took.

    The schema is brought up to date first (a fresh database file works as it is).
    """
    click.echo(DIRECT)
    upgrade(get_database())
    with click.progressbar(length=responses, label="Responses", show_pos=True) as bar:
        report = synthesize(get_database(), current_app.config["KUNDROST"], local_today(), responses=responses,
                            providers=providers, programmes=programmes, campaigns=campaigns, seed=seed,
                            progress=bar.update)
    click.echo(
        f"Wrote {report.responses:,} responses with {report.answers:,} answers and {report.cell_counts:,} cell counts "
        f"in {len(report.campaign_ids)} finalised campaigns (ids {', '.join(map(str, report.campaign_ids))}) over "
        f"{len(report.provider_ids)} providers and {len(report.programme_ids)} programmes, directly (not through the "
        f"submit path), in {report.seconds:.1f} s"
        + (f"; {report.withheld:,} withheld (a campaign with fewer than k)" if report.withheld else "") + ".")
    _keep_plans(get_database(), current_app.config["KUNDROST"].min_cell_size, report.campaign_ids)


def _keep_plans(database, k: int, campaign_ids: list[int]) -> None:
    """Make and keep each campaign's suppression plan, as the mixing step does after a round (linked.py,
    StoredPlan): the first results page need not wait for it."""
    started = time.perf_counter()
    with click.progressbar(campaign_ids, label="Suppression plans", show_pos=True) as bar:
        for campaign_id in bar:
            with Session(database.engine) as session:
                definition = session.get(Campaign, campaign_id).survey_version.definition
                row = linked.plan_to_store(session, campaign_id, definition, k, figure_questions(definition))
            if row is not None:
                with database.engine.connect() as connection, writer_turn(connection):
                    linked.store_plan(connection, row)
                    connection.commit()
    click.echo(f"Kept the suppression plans of {len(campaign_ids)} campaigns in {time.perf_counter() - started:.1f} s.")


@analytics_cli.command("recount")
@click.argument("campaign_ids", nargs=-1, type=int)
def recount_command(campaign_ids: tuple[int, ...]) -> None:
    """Rebuild the answer counts, response tallies and personal index scores of CAMPAIGN_IDS (default: all).

    From the stored answers, one campaign per transaction; the results
    pages read these instead of the answers (app/analytics/summaries.py).
    Only a repair: the mixing step keeps them current. Holds the mixer's
    lock, so no mixing adds to a campaign while it is recounted.
    """
    database = get_database()
    try:
        with mixer_lock(database):
            _recount(database, campaign_ids)
    except MixerBusy:
        raise click.ClickException("a mixer is running for this database (on its own, or inside the server): "
                                   "stop it, run this again, then start it again") from None


def _recount(database, campaign_ids: tuple[int, ...]) -> None:
    """recount_command's work, under the mixer's lock."""
    with database.engine.connect() as connection:
        with Session(connection) as session:
            campaigns = [(c.id, c.name, c.survey_version.definition) for c in session.scalars(
                select(Campaign).where(Campaign.id.in_(campaign_ids)) if campaign_ids else select(Campaign))]
        missing = set(campaign_ids) - {campaign_id for campaign_id, _name, _definition in campaigns}
        if missing:
            raise click.ClickException(f"no campaign {', '.join(map(str, sorted(missing)))}")
        for campaign_id, name, definition in sorted(campaigns):
            with writer_turn(connection):
                rows = recount(connection, campaign_id, definition)
                connection.commit()
            click.echo(f"campaign {campaign_id} ({name}): {rows:,} answer counts")
