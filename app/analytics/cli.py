"""`flask analytics synthesize`: a synthetic data set of finalised campaigns, for benchmarks and demos of scale.

It writes mixed responses and counts DIRECTLY, not through the submit
path (app/analytics/synthetic.py says what it keeps of the real path).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..clock import local_today
from ..db import get_database
from ..migrate import upgrade
from .synthetic import PROGRAMME_CODES, SURVEYS, synthesize

analytics_cli = AppGroup("analytics", help="Results: synthetic data for benchmarks and demos of scale.")

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
