"""`flask demo`: a fictional municipality to click through.

Six providers, the programmes from the domain, a running campaign in all
ten languages with a few hundred synthetic answers, an admin account, and
a printed list of URLs - among them one fresh invitation link per language.
"""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import date, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from .accounts.models import Role
from .accounts.services import create_user
from .campaigns.models import Campaign, Invitation, OpenLink
from .campaigns.services import create_campaign, issue_invitations
from .db import db_session, get_database
from .i18n import LANGUAGES
from .migrate import downgrade, upgrade
from .organisation.models import Programme, Provider
from .respond.models import Answer, Response
from .respond.services import response_status, week_of
from .surveys.definition import (
    ChoiceQuestion,
    ScaleQuestion,
    StoredAnswer,
    SurveyDefinition,
    TextQuestion,
    YesNoQuestion,
)
from .surveys.services import load_builtin

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
INVITATIONS_PER_PROVIDER = 60
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
    if _has_tables(database) and not reset:
        if not click.confirm("The database is not empty. Delete everything in it and create the demo?"):
            raise click.Abort()
        reset = True
    if reset:
        _empty_database(database)
    upgrade(database)
    password = secrets.token_urlsafe(12)
    links = build_demo(rng, password)
    _print_welcome(password, links)


def build_demo(rng: random.Random, admin_password: str) -> dict[str, str]:
    """Fill an empty, migrated database; return one fresh invitation URL per language."""
    session = db_session
    versions = {version.key: version for version in load_builtin(session)}
    providers = [Provider(name=name, active=True) for name, _, _ in PROVIDERS]
    programmes = [Programme(code=code, name=name, active=True) for code, name in PROGRAMMES]
    session.add_all(providers + programmes)
    session.flush()
    create_user(session, "admin", admin_password, Role.ADMIN)

    today = date.today()
    labour = create_campaign(
        session,
        name=f"Jobbpeng och SAI, hösten {today.year}",
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
    session.flush()
    for campaign in (labour, civic):
        _simulate_campaign(session, rng, campaign, today)
    fresh = {}
    for code in LANGUAGES:
        issued = issue_invitations(
            session, labour, provider=providers[0], programme=labour.programmes[0], language=code, count=1
        )
        fresh[code] = _public_url(f"/s/{issued[0].token}")
    open_link = session.scalar(
        select(OpenLink).where(OpenLink.campaign_id == civic.id, OpenLink.language == "sv")
    )
    fresh["open"] = _public_url(f"/o/{open_link.code}")
    fresh["campaign"] = _public_url(f"/staff/campaigns/{labour.id}")
    fresh["results"] = _public_url(f"/staff/results/{labour.id}")
    session.commit()
    return fresh


def _simulate_campaign(session, rng: random.Random, campaign: Campaign, today: date) -> None:
    definition = campaign.survey_version.definition
    satisfaction = {name: (mean, rate) for name, mean, rate in PROVIDERS}
    languages = list(LANGUAGE_WEIGHTS)
    weights = list(LANGUAGE_WEIGHTS.values())
    for provider in campaign.providers:
        mean, rate = satisfaction[provider.name]
        for _ in range(INVITATIONS_PER_PROVIDER):
            programme = rng.choice(campaign.programmes)
            language = rng.choices(languages, weights)[0]
            answered = rng.random() < rate
            session.add(
                Invitation(
                    campaign_id=campaign.id, provider_id=provider.id, programme_id=programme.id,
                    language=language, channel="sms", responded=answered,
                    token_hash=secrets.token_hex(32),  # a hash of no token: cannot be opened
                    created_on=campaign.starts_on,
                )
            )
            if answered:
                _add_response(session, rng, campaign, definition, provider, programme, language, "sms", mean, today)
        # Poster and QR answers on top of the invitations.
        for _ in range(int(INVITATIONS_PER_PROVIDER * rate * 0.3)):
            programme = rng.choice(campaign.programmes)
            language = rng.choices(languages, weights)[0]
            _add_response(session, rng, campaign, definition, provider, programme, language, "qr", mean, today)


def _add_response(session, rng, campaign, definition: SurveyDefinition, provider, programme,
                  language, channel, mean, today) -> None:
    answers = synthetic_answers(rng, definition, mean, language)
    day = campaign.starts_on + timedelta(days=rng.randrange(max(1, (today - campaign.starts_on).days)))
    session.add(
        Response(
            id=uuid.uuid4().hex, survey_version_id=campaign.survey_version_id,
            campaign_id=campaign.id, provider_id=provider.id, programme_id=programme.id,
            language=language, channel=channel, status=response_status(definition, answers),
            week=week_of(day),
            answers=[
                Answer(question_key=key, value=a.value, choice=a.choice, text=a.text, dont_know=a.dont_know)
                for key, a in answers.items()
            ],
        )
    )


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


def _print_welcome(password: str, links: dict[str, str]) -> None:
    echo = click.echo
    echo("")
    echo("Kundröst demo is ready.")
    echo("")
    echo(f"  Staff sign-in   {_public_url('/staff/login')}")
    echo("  Username        admin")
    echo(f"  Password        {password}")
    echo(f"  Campaign        {links['campaign']}")
    echo(f"  Results         {links['results']}")
    echo(f"  Open link (QR)  {links['open']}")
    echo("")
    echo("  A fresh single-use survey link per language:")
    for code, language in LANGUAGES.items():
        echo(f"    {code:<4} {links[code]}   {language.own_name}")
    echo("")
