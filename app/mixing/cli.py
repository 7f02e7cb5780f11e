"""`flask mixer run|once|rotate|finalise|status`: the mixing step from the command line.

Run it on the one host that holds the private answer keys (MIXER_KEY_DIR).
`run` is the long-running service (a systemd unit, or beside gunicorn in
the embedded default); `once` is one round, for a scheduler (cron, a
systemd timer). Output is counts only: nothing about any respondent.
"""

from __future__ import annotations

import logging
import signal
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..campaigns.models import Campaign
from ..clock import local_today
from ..db import get_database
from .mixer import Mixer, MixerBusy
from .models import AnswerKey, WaitingAnswer

mixer_cli = AppGroup("mixer", help="Mix waiting answers into responses, rotate keys, finalise campaigns.")


def _mixer() -> Mixer:
    return Mixer(get_database(), current_app.config["KUNDROST"])


def _locked(action, busy_hint: str = ""):
    mixer = _mixer()
    try:
        with mixer.lock():
            mixer.start()
            return action(mixer)
    except MixerBusy as error:
        click.echo(f"Not started: {error}.{' ' + busy_hint if busy_hint else ''}", err=True)
        sys.exit(1)


@mixer_cli.command("once")
def once_command() -> None:
    """One round: rotate keys if due, mix every cell that may be mixed, finalise what is due."""
    report = _locked(lambda mixer: mixer.round())
    click.echo(report.summary())


@mixer_cli.command("run")
def run_command() -> None:
    """Rounds every MIXER_INTERVAL_SECONDS until stopped (SIGTERM or Ctrl-C)."""
    stopping = {"now": False}

    def stop(_signal, _frame):
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Counts only, one line a round (RoundReport.summary): nothing of a respondent.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [mixer] %(levelname)s %(message)s")
    click.echo("mixer running; stop it with SIGTERM or Ctrl-C")
    _locked(lambda mixer: mixer.run(stop=lambda: stopping["now"]))
    click.echo("mixer stopped")


@mixer_cli.command("rotate")
def rotate_command() -> None:
    """Publish a new answer key now (what waits moves to it in the next rounds)."""
    key_id = _locked(lambda mixer: mixer.publish_key())
    click.echo(f"published answer key {key_id}")


@mixer_cli.command("finalise")
@click.argument("campaign_id", type=int)
def finalise_command(campaign_id: int) -> None:
    """Finalise CAMPAIGN_ID now, without waiting for the grace period after its last day."""
    campaign = get_database().sessionmaker().get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"no campaign {campaign_id}")
    today = local_today()
    if today <= campaign.ends_on:
        raise click.ClickException(
            f"campaign {campaign_id} takes answers until {campaign.ends_on.isoformat()}; finalise it after that day"
        )
    days = current_app.config["KUNDROST"].finalise_after.days
    report = _locked(
        lambda mixer: mixer.finalise(campaign_id, today),
        busy_hint=f"It finalises campaigns by itself {days} days after their last day (FINALISE_AFTER_DAYS). "
                  "To finalise now, stop it (with `make run`: stop the server) and run this command again.",
    )
    click.echo(report.summary())


@mixer_cli.command("status")
def status_command() -> None:
    """How many answers wait per campaign, and the published keys."""
    session = get_database().sessionmaker()
    waiting = dict(session.execute(
        select(WaitingAnswer.campaign_id, func.count()).group_by(WaitingAnswer.campaign_id)
    ).all())
    for campaign in session.scalars(select(Campaign).order_by(Campaign.id)):
        state = f"finalised {campaign.finalised_on.isoformat()}" if campaign.finalised_on else f"ends {campaign.ends_on.isoformat()}"
        click.echo(f"campaign {campaign.id:>4}  {state:<22} waiting {waiting.get(campaign.id, 0)}")
    for key_id, created in session.execute(select(AnswerKey.id, AnswerKey.created_at).order_by(AnswerKey.id)):
        click.echo(f"answer key {key_id} published {created:%Y-%m-%d %H:%M}")
    session.close()
