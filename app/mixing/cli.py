"""`flask mixer run|once|rotate|finalise|status|adopt`: the mixing step from the command line.

Run it on the one host that holds the private answer keys (MIXER_KEY_DIR).
`run` is the long-running service (a systemd unit, or beside gunicorn in
the embedded default); `once` is one round, for a scheduler (cron, a
systemd timer). Output is counts only: nothing about any respondent.

Exit codes: 0 done; 1 not started (another mixer runs, the database was
moved or copied, a refused command); 2 done, but with problems that need an
operator (answers that cannot be opened here, a campaign not finalised) -
each printed as a `PROBLEM:` line. `status` exits 2 in the same cases, so a
monitoring check can run it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from .. import clock
from ..campaigns.models import Campaign
from ..clock import local_today
from ..db import get_database
from .installation import MixerError, adopt
from .mixer import Mixer, RoundReport
from .keys import KeyFolder
from .models import AnswerKey, MixerInstallation, WaitingAnswer

mixer_cli = AppGroup("mixer", help="Mix waiting answers into responses, rotate keys, finalise campaigns.")


def _mixer() -> Mixer:
    return Mixer(get_database(), current_app.config["KUNDROST"], now=clock.now)


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every time the mixer writes is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _locked(action, busy_hint: str = ""):
    """Run `action(mixer)` holding the lock with the installation taken over; exit 1 if it cannot start."""
    mixer = _mixer()
    try:
        with mixer.lock():
            mixer.start()
            return action(mixer)
    except MixerError as error:
        click.echo(f"Not started: {error}{' ' + busy_hint if busy_hint else ''}", err=True)
        sys.exit(1)


def _report(report: RoundReport) -> None:
    click.echo(report.summary())
    if report.problems:
        sys.exit(2)


@mixer_cli.command("once")
def once_command() -> None:
    """One round: rotate keys if due, mix every cell that may be mixed, finalise what is due."""
    _report(_locked(lambda mixer: mixer.round()))


#: Set by app/serving.py for the embedded mixer: the process id of the gunicorn that started it.
PARENT_PID_VARIABLE = "KUNDROST_MIXER_PARENT_PID"


def _embedding_server() -> int:
    """The process id of the server the embedded mixer runs beside (our parent when started by hand)."""
    given = os.environ.get(PARENT_PID_VARIABLE, "")
    return int(given) if given.isdigit() else os.getppid()


@mixer_cli.command("run")
def run_command() -> None:
    """Rounds every MIXER_INTERVAL_SECONDS until stopped (SIGTERM or Ctrl-C)."""
    stopping = {"now": False}
    config = current_app.config["KUNDROST"]
    # Beside gunicorn (EMBEDDED_MIXER): stop when the server that started us
    # is gone, also when it was killed and could not stop us itself - even
    # before this line ran (then our parent is already someone else).
    parent = _embedding_server() if config.embedded_mixer else None

    def stop(_signal, _frame):
        """SIGTERM/SIGINT handler: finish the round's transaction, then stop."""
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Counts only, one line a round (RoundReport.summary): nothing of a respondent.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [mixer] %(levelname)s %(message)s")

    def running(mixer: Mixer) -> None:
        """Run rounds with the held mixer until stopped or the embedding server is gone."""
        click.echo("mixer running; stop it with SIGTERM or Ctrl-C")
        mixer.run(stop=lambda: stopping["now"] or (parent is not None and os.getppid() != parent))

    _locked(running)
    click.echo("mixer stopped")


@mixer_cli.command("rotate")
@click.option("--force", is_flag=True, help="Publish even though waiting answers cannot be opened on this host.")
def rotate_command(force: bool) -> None:
    """Publish a new answer key now (what waits moves to it in the next round)."""

    def rotate(mixer: Mixer) -> int:
        """Publish a new answer key (refused without --force when this host cannot open what waits)."""
        unopenable = mixer.unopenable_waiting()
        newest_elsewhere = not mixer.holds_newest_key()
        if (unopenable or newest_elsewhere) and not force:
            click.echo(
                f"Not rotated: {unopenable} waiting answers are sealed to keys that are not in this host's key "
                f"folder {mixer.folder.folder}{', nor is the newest published key' if newest_elsewhere else ''}. "
                "Is MIXER_KEY_DIR the mixing host's folder? A key published from the wrong host would take every "
                "new answer to a key the mixing host cannot open. If the keys are lost for good, run again with "
                "--force.", err=True)
            sys.exit(1)
        return mixer.publish_key()

    click.echo(f"published answer key {_locked(rotate)}")


@mixer_cli.command("finalise")
@click.argument("campaign_id", type=int)
@click.option("--discard-damaged", is_flag=True,
              help="Delete waiting answers that cannot be opened here or opened cannot be stored "
                   "(only when they are lost for good: lost keys, damaged rows).")
def finalise_command(campaign_id: int, discard_damaged: bool) -> None:
    """Finalise CAMPAIGN_ID now, without waiting for the grace period after its last day."""
    with get_database().sessionmaker() as session:
        campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"no campaign {campaign_id}")
    today = local_today()
    if today <= campaign.ends_on:
        raise click.ClickException(
            f"campaign {campaign_id} takes answers until {campaign.ends_on.isoformat()}; finalise it after that day"
        )
    days = current_app.config["KUNDROST"].finalise_after.days
    _report(_locked(
        lambda mixer: mixer.finalise(campaign_id, today, discard_damaged=discard_damaged),
        busy_hint=f"It finalises campaigns by itself {days} days after their last day (FINALISE_AFTER_DAYS). "
                  "To finalise now, stop it (with `make run`: stop the server) and run this command again.",
    ))


@mixer_cli.command("adopt")
@click.option("--moved", "how", flag_value="moved", help="The database was moved or restored in place: keep the keys.")
@click.option("--copy", "how", flag_value="copy", help="The database is a copy: give it a key folder of its own.")
def adopt_command(how: str | None) -> None:
    """Tell the mixer the database is at a new location (see `flask mixer once`'s message)."""
    if how is None:
        raise click.UsageError("say --moved or --copy")
    mixer = _mixer()
    try:
        with mixer.lock():
            installation = adopt(get_database(), copied=how == "copy")
    except MixerError as error:
        click.echo(f"Not adopted: {error}", err=True)
        sys.exit(1)
    click.echo(f"mixer installation {installation} at this database's location "
               f"({'a new key folder' if how == 'copy' else 'the same key folder'})")


@mixer_cli.command("status")
def status_command() -> None:
    """Answers waiting per campaign, the published keys, and what needs an operator (exit 2)."""
    config = current_app.config["KUNDROST"]
    session = get_database().sessionmaker()
    try:
        _print_status(session, config)
    finally:
        session.close()


def _print_status(session, config) -> None:
    waiting = dict(session.execute(
        select(WaitingAnswer.campaign_id, func.count()).group_by(WaitingAnswer.campaign_id)
    ).all())
    for campaign in session.scalars(select(Campaign).order_by(Campaign.id)):
        state = f"finalised {campaign.finalised_on.isoformat()}" if campaign.finalised_on else f"ends {campaign.ends_on.isoformat()}"
        click.echo(f"campaign {campaign.id:>4}  {state:<22} waiting {waiting.get(campaign.id, 0)}")
    keys = session.execute(select(AnswerKey.id, AnswerKey.created_at, AnswerKey.public_key).order_by(AnswerKey.id)).all()
    installation_id = session.scalar(select(MixerInstallation.id))
    folder = KeyFolder(config.resolved_mixer_key_dir(str(get_database().engine.url)), installation_id or "-")
    for key_id, created, public in keys:
        here = "on this host" if folder.holds(bytes(public)) else "NOT on this host"
        # In the municipality's time, as every date the operator reads (SQLite gives naive UTC).
        published = _aware(created).astimezone(config.zone)
        click.echo(f"answer key {key_id} published {published:%Y-%m-%d %H:%M %Z}, private key {here}")
    held = {key_id for key_id, _, public in keys if folder.holds(bytes(public))}
    unopenable = sum(count for key_id, count in session.execute(
        select(WaitingAnswer.key_id, func.count()).group_by(WaitingAnswer.key_id)) if key_id not in held)
    problems = []
    if unopenable:
        problems.append(f"{unopenable} waiting answers are sealed to keys not in {folder.folder} "
                        "(run this on the mixing host, with its MIXER_KEY_DIR)")
    if not keys:
        problems.append("no answer key is published: no answer can be taken until the mixer runs")
    else:
        if datetime.fromtimestamp(clock.now(), timezone.utc) - _aware(keys[-1][1]) > 2 * config.key_rotation:
            problems.append("the newest answer key is older than two rotation periods: is the mixer running?")
    for problem in problems:
        click.echo(f"PROBLEM: {problem}")
    if problems:
        sys.exit(2)
