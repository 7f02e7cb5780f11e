"""`flask demo`: a fictional municipality to click through.

Six providers, the programmes from the domain, two running campaigns in
all ten languages and one finished (finalised) campaign from the spring,
an admin account, an analyst's and a provider's (the three ways results
are seen), and a printed list of URLs - among them one fresh
invitation link per language.

The synthetic answers take the real way in: each is sealed and stored by
the write path every channel uses (mixing/intake.py), then the mixer runs
as it would in production - the finished campaign is finalised, and in the
running ones every cell with enough waiting answers is mixed. So the demo
shows what a municipality would see: full results for a finalised
campaign, and for running ones the cells large enough to be released, with
the rest waiting.
"""

from __future__ import annotations

import random
import secrets
import shutil
from datetime import date, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from . import clock
from .accounts.models import Role
from .accounts.services import create_user
from .analytics.models import ReferenceValue
from .campaigns.models import Campaign, Invitation, OpenLink
from .campaigns.services import create_campaign, issue_invitations
from .clock import local_today, month_of
from .db import db_session, get_database
from .i18n import LANGUAGES
from .migrate import downgrade, upgrade
from .mixing.intake import Submission, new_form_nonce, store_answers
from .mixing.keys import PublishedKeys
from .mixing.installation import MixerError, key_root
from .mixing.keys import KeyFolder
from .mixing.mixer import Mixer
from .mixing.models import MixerInstallation
from .mixing.sealing import AnswerSheet
from .organisation.models import Programme, Provider
from .surveys.definition import (
    ChoiceQuestion,
    ScaleQuestion,
    StoredAnswer,
    SurveyDefinition,
    TextQuestion,
    YesNoQuestion,
)
from .surveys.services import load_builtin

#: The demo's fictional municipality, as `make run` serves it (the Makefile's
#: RUN_ENV sets MUNICIPALITY_NAME and MUNICIPALITY_LOGO to these).
DEMO_MUNICIPALITY = "Sjöviks kommun"
DEMO_LOGO = Path(__file__).parent / "static" / "demo" / "logo.svg"

#: The demo's staff accounts (username, role): one per way of seeing results. The provider
#: account is the first provider's.
DEMO_ACCOUNTS = (("admin", Role.ADMIN), ("analytiker", Role.ANALYST), ("anordnare", Role.PROVIDER))

PROVIDERS = [
    # (name, how satisfied its customers tend to be on 1-5, share of invitations answered)
    ("Nordljus Kompetens AB", 4.3, 0.45),
    ("Bro Utbildning & Coachning", 3.6, 0.30),
    ("Stegvis Arbetsliv AB", 4.0, 0.35),
    ("Vägval Jobbcenter", 3.2, 0.25),
    ("Kompassen Integration", 4.5, 0.40),
    ("Lärkan Resurs AB", 3.9, 0.05),  # few answers: shows "too few answers"
]

PROGRAMMES = [
    ("SO", "Samhällsorientering"),
    ("JPG", "Jobbpeng grund"),
    ("JPF", "Jobbpeng förstärkt"),
    ("SAI", "Språk- och arbetsintroduktion"),
    ("AMI 1", "Arbetsmarknadsinsatser, full arbetsförmåga"),
    ("AMI 2", "Arbetsmarknadsinsatser, minst 25 % arbetsförmåga"),
    ("ISA 1", "Introduktionsinsatser sfi och arbetsintroduktion 1"),
    ("ISA 2", "Introduktionsinsatser sfi och arbetsintroduktion 2"),
    ("FAI 1", "Förberedande arbetsinriktade insatser 1"),
    ("FAI 2", "Förberedande arbetsinriktade insatser 2"),
]

# How the customers of a labour-market programme spread over languages.
LANGUAGE_WEIGHTS = {"sv": 14, "ar": 22, "prs": 12, "fa": 8, "ps": 5, "ti": 12, "so": 12, "en": 5, "uk": 7, "ckb": 3}
# Civic orientation is given in the mother tongue; in the demo most of its
# customers are Arabic and Tigrinya speakers, so some of its cells grow
# large enough to be mixed while the campaign runs.
CIVIC_LANGUAGE_WEIGHTS = {"ar": 60, "ti": 25, "so": 10, "prs": 5}
INVITATIONS_PER_PROVIDER = 60
CIVIC_INVITATIONS_PER_PROVIDER = 120
FREE_TEXTS = {
    "sv": "Bra coach, men jag vill ha mer praktik.",
    "ar": "المدرب جيد، لكني أريد تدريبًا عمليًا أكثر.",
    "en": "Good coach, but I would like more work practice.",
}


@click.command("demo")
@click.option("--reset", is_flag=True, help="Empty the database first (asked otherwise if not empty).")
@click.option("--seed", default=None, type=int, help="Random seed for reproducible synthetic answers.")
@with_appcontext
def demo_command(reset: bool, seed: int | None) -> None:
    """Create a demo municipality and print where to look."""
    rng = random.Random(seed)
    database = get_database()
    config = current_app.config["KUNDROST"]
    mixer = Mixer(database, config, now=clock.now)
    # The mixer's lock first: a server still running (with its mixer) must
    # not find its database emptied under it.
    try:
        with mixer.lock():
            if _has_tables(database) and not reset:
                if not click.confirm("The database is not empty. Delete everything in it and create the demo?"):
                    raise click.Abort()
                reset = True
            if reset:
                _erase_keys(database, config)
                _empty_database(database)
            upgrade(database)
            passwords = {username: secrets.token_urlsafe(12) for username, _role in DEMO_ACCOUNTS}
            mixer.start()
            mixer.publish_key()
            links = build_demo(rng, passwords)
            report = mixer.round()
    except MixerError as error:
        raise click.ClickException(f"{error}. Stop the server that uses this database (and its mixer) first.")
    click.echo(f"Mixer: {report.summary()}")
    _print_welcome(passwords, links)


def build_demo(rng: random.Random, passwords: dict[str, str]) -> dict[str, str]:
    """Fill an empty, migrated database whose mixer has published a key; `passwords` by DEMO_ACCOUNTS username.

    Returns the URLs to print: one fresh invitation link per language, an
    open link, the staff pages of the campaigns, and ("provider") the name
    of the provider the provider account sees.
    """
    session = db_session
    versions = {version.key: version for version in load_builtin(session)}
    providers = [Provider(name=name, active=True) for name, _, _ in PROVIDERS]
    programmes = [Programme(code=code, name=name, active=True) for code, name in PROGRAMMES]
    session.add_all(providers + programmes)
    session.flush()
    for username, role in DEMO_ACCOUNTS:
        create_user(session, username, passwords[username], role,
                    provider=providers[0] if role is Role.PROVIDER else None)

    today = local_today()
    spring = create_campaign(
        session,
        name=f"Jobbpeng och SAI, våren {today.year}" if today.month > 6 else f"Jobbpeng och SAI, hösten {today.year - 1}",
        survey_version=versions["nacka-arbetsmarknad"],
        starts_on=today - timedelta(days=230),
        ends_on=today - timedelta(days=120),
        providers=providers,
        programmes=[p for p in programmes if p.code in ("JPG", "JPF", "SAI")],
        languages=list(LANGUAGES),
    )
    labour = create_campaign(
        session,
        name=f"Jobbpeng och SAI, hösten {today.year}" if today.month > 6 else f"Jobbpeng och SAI, våren {today.year}",
        survey_version=versions["nacka-arbetsmarknad"],
        starts_on=today - timedelta(days=45),
        ends_on=today + timedelta(days=45),
        providers=providers,
        programmes=[p for p in programmes if p.code in ("JPG", "JPF", "SAI")],
        languages=list(LANGUAGES),
    )
    civic = create_campaign(
        session,
        name=f"Samhällsorientering, tertial 3 {today.year}",
        survey_version=versions["samhallsorientering"],
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=60),
        providers=providers[:4],
        programmes=[p for p in programmes if p.code == "SO"],
        languages=list(LANGUAGES),
    )
    # Reference values to compare with (the provider pages show them beside the figures).
    session.add_all([
        ReferenceValue(survey_key="nacka-arbetsmarknad", question_key=None, measure="index", figure="index:",
                       year=today.year, label="Sjöviks kommun, mål i avtalet", value=4.0),
        ReferenceValue(survey_key="nacka-arbetsmarknad", question_key="satisfied_overall", measure="share_positive",
                       figure="share_positive:satisfied_overall", year=today.year - 1,
                       label="Grannkommunerna (påhittat)", value=72.0),
    ])
    session.commit()
    _answer(session, rng, spring, LANGUAGE_WEIGHTS, INVITATIONS_PER_PROVIDER, until=spring.ends_on)
    _answer(session, rng, labour, LANGUAGE_WEIGHTS, INVITATIONS_PER_PROVIDER, until=today)
    _answer(session, rng, civic, CIVIC_LANGUAGE_WEIGHTS, CIVIC_INVITATIONS_PER_PROVIDER, until=today)
    fresh = {}
    for code in LANGUAGES:
        issued = issue_invitations(
            session, labour, provider=providers[0], programme=labour.programmes[0], language=code, count=1,
            today=today,
        )
        fresh[code] = _public_url(f"/s/{issued[0].token}")
    open_link = session.scalar(
        select(OpenLink).where(OpenLink.campaign_id == civic.id, OpenLink.language == "sv")
    )
    fresh["open"] = _public_url(f"/o/{open_link.code}")
    fresh["campaign"] = _public_url(f"/staff/campaigns/{labour.id}")
    fresh["results"] = _public_url(f"/staff/results/{civic.id}")
    fresh["finalised"] = _public_url(f"/staff/results/{spring.id}")
    fresh["provider"] = providers[0].name
    session.commit()
    return fresh


def _answer(session, rng: random.Random, campaign: Campaign, language_weights: dict[str, int],
            per_provider: int, until: date) -> None:
    """Invite customers and send some of their answers through the write path, on days of the campaign."""
    definition = campaign.survey_version.definition
    satisfaction = {name: (mean, rate) for name, mean, rate in PROVIDERS}
    languages, weights = list(language_weights), list(language_weights.values())
    days = max(1, (until - campaign.starts_on).days)
    submissions = []
    for provider in campaign.providers:
        mean, rate = satisfaction[provider.name]
        for _ in range(per_provider):
            programme = rng.choice(campaign.programmes)
            language = rng.choices(languages, weights)[0]
            day = campaign.starts_on + timedelta(days=rng.randrange(days))
            invitation = Invitation(
                campaign_id=campaign.id, provider_id=provider.id, programme_id=programme.id,
                language=language, channel="sms", responded=False,
                token_hash=secrets.token_hex(32),  # a hash of no token: cannot be opened
                created_on=campaign.starts_on,
            )
            session.add(invitation)
            if rng.random() < rate:
                submissions.append((invitation, None, provider, programme, language, "sms", mean, day))
        # Poster and QR answers on top of the invitations.
        for _ in range(int(per_provider * rate * 0.3)):
            programme = rng.choice(campaign.programmes)
            language = rng.choices(languages, weights)[0]
            day = campaign.starts_on + timedelta(days=rng.randrange(days))
            submissions.append((None, new_form_nonce(), provider, programme, language, "qr", mean, day))
    session.commit()
    keys = PublishedKeys(seconds=3600)
    with get_database().engine.connect() as connection:
        for invitation, nonce, provider, programme, language, channel, mean, day in submissions:
            answers = synthetic_answers(rng, definition, mean, language)
            sheet = AnswerSheet(
                survey_version_id=campaign.survey_version_id, provider_id=provider.id, programme_id=programme.id,
                channel=channel, language=language, month=month_of(day), status=definition.status_of(answers),
                answers=answers,
            )
            submission = Submission(campaign.id, sheet, link_language=language,
                                    invitation_id=invitation.id if invitation else None,
                                    form_nonce=nonce)
            store_answers(connection, submission, definition, today=day, keys=keys)


def synthetic_answers(rng: random.Random, definition: SurveyDefinition, mean: float,
                      language: str) -> dict[str, StoredAnswer]:
    """Plausible answers around a provider's mean; some skipped, some "don't know"."""
    answers: dict[str, StoredAnswer] = {}
    # Most people answer everything; about one in five leaves a few questions out.
    skip_rate = 0.2 if rng.random() < 0.2 else 0.0
    for question in definition.questions:
        if rng.random() < skip_rate:
            continue
        if isinstance(question, ScaleQuestion):
            if question.dont_know and rng.random() < 0.04:
                answers[question.key] = StoredAnswer(dont_know=True)
                continue
            points = question.scale.points
            centre = 1 + (mean - 1) * (points - 1) / 4
            value = round(rng.gauss(centre, points / 5))
            answers[question.key] = StoredAnswer(value=min(points, max(1, value)))
        elif isinstance(question, YesNoQuestion):
            answers[question.key] = StoredAnswer(value=int(rng.random() < 0.7))
        elif isinstance(question, ChoiceQuestion):
            answers[question.key] = StoredAnswer(choice=rng.choice(question.options).key)
        elif isinstance(question, TextQuestion) and language in FREE_TEXTS and rng.random() < 0.15:
            answers[question.key] = StoredAnswer(text=FREE_TEXTS[language])
    return answers


def _has_tables(database) -> bool:
    return bool(inspect(database.engine).get_table_names())


def _erase_keys(database, config) -> None:
    """The old demo database's key folder: once it is emptied, those keys open nothing."""
    if "mixer_installation" not in inspect(database.engine).get_table_names():
        return
    with database.engine.connect() as connection:
        installation = connection.scalar(select(MixerInstallation.id))
    if installation:
        folder = KeyFolder(key_root(database, config), installation)
        for key in folder.fingerprints():
            folder.erase(key)
        shutil.rmtree(folder.folder, ignore_errors=True)  # its generation and lock files


def _empty_database(database) -> None:
    url = make_url(str(database.engine.url))
    if url.get_backend_name() == "sqlite" and url.database:
        database.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    else:
        downgrade(database, "base")


def _public_url(path: str) -> str:
    return current_app.config["KUNDROST"].public_url + path


def _print_welcome(passwords: dict[str, str], links: dict[str, str]) -> None:
    echo = click.echo
    echo("")
    echo("Kundröst demo is ready.")
    echo("")
    echo(f"  Staff sign-in   {_public_url('/staff/login')}")
    echo("  Username        admin")
    echo(f"  Password        {passwords['admin']}")
    echo(f"  Analyst         analytiker / {passwords['analytiker']}   (every provider's results, comments, exports)")
    echo(f"  Provider        anordnare / {passwords['anordnare']}   ({links['provider']}'s results only)")
    echo(f"  Campaign        {links['campaign']}   (labour market, running)")
    echo(f"  Results         {links['results']}   (civic orientation, running: large groups mixed, the rest waits)")
    echo(f"  Finalised       {links['finalised']}   (spring: every answer mixed)")
    echo(f"  Open link (QR)  {links['open']}   (civic orientation, Swedish)")
    echo("")
    echo("  A fresh single-use survey link per language (labour market):")
    for code, language in LANGUAGES.items():
        echo(f"    {code:<4} {links[code]}   {language.own_name}")
    echo("")
