"""Benchmark data: a migrated database, campaigns, invitations, respondent sessions.

`make_app` migrates and then has the mixer publish an answer key (the app
takes answers only once one is published); the private keys go to the
scratch folder (`<workdir>/mixer-keys`), never to the user's state folder.

Sessions for the submit benchmark are minted in this process with the
app's own code (`grant.issue` and Flask-WTF's `generate_csrf`, signed with
the servers' SECRET_KEY): that gives exactly the session a browser holds
after opening /s/<token> and loading /survey, at about 0.1 ms each instead
of two HTTP requests. `check_minted_sessions` proves the equivalence on a
few invitations opened the real way.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from app import create_app
from app.campaigns.models import Campaign, Invitation
from app.campaigns.services import create_campaign, issue_invitations
from app.campaigns.tokens import token_hash
from app.clock import local_today
from app.config import Config
from app.db import db_session
from app.demo import PROGRAMMES, PROVIDERS
from app.i18n import LANGUAGES
from app.i18n.cli import compile_catalogs
from app.migrate import upgrade
from app.mixing.keys import PublishedKeys
from app.mixing.mixer import Mixer
from app.mixing.models import WaitingAnswer
from app.organisation.models import Programme, Provider
from app.respond import grant as grants
from app.respond.models import Response
from app.surveys.definition import ChoiceQuestion, ScaleQuestion, SurveyDefinition, TextQuestion, YesNoQuestion
from app.surveys.services import load_builtin

from .harness import SECRET_KEY

#: The demo's labour-market campaign uses this survey (see app/demo.py).
DEMO_SURVEY = "nacka-arbetsmarknad"
#: Programmes of the demo's labour-market campaign.
LABOUR_PROGRAMMES = ("JPG", "JPF", "SAI")
#: Invitations per cell (campaign x provider x programme x language x channel) in the
#: submit benchmark. A submit's cost no longer depends on its cell (mixing/intake.py;
#: `submit_cell_size` checks that); cells of 100 keep the data realistic.
CELL_SIZE = 100
FREE_TEXT = "Bra bemötande och tydlig information, men jag vill ha mer praktik."
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')

_catalogs_compiled = False


def make_app(database_url: str, workdir: Path) -> Flask:
    """The app in this process, configured like the benchmark servers, migrated, with an answer key.

    The mixer publishes a key if the database has none yet (a second call on
    the same database, e.g. to count what was stored, publishes nothing).
    """
    global _catalogs_compiled
    if not _catalogs_compiled:
        compile_catalogs()  # build output, as the tests do; the servers read the .mo files
        _catalogs_compiled = True
    config = Config(
        database_url=database_url, secret_key=SECRET_KEY, secure_cookies=False,
        ratelimit_link_open="1000000 per minute", public_url="http://127.0.0.1",
        mixer_key_dir=str(workdir / "mixer-keys"),
    )
    app = create_app(config, instance_path=str(workdir / "instance"))
    database = app.extensions["kundrost.db"]
    upgrade(database)
    mixer = Mixer(database, config)
    mixer.start()
    with database.engine.connect() as connection:
        published = PublishedKeys(0).current(connection)
    if published is None:
        mixer.publish_key()
    return app


def dispose(app: Flask) -> None:
    app.extensions["kundrost.db"].dispose()


def _providers(count: int) -> list[Provider]:
    names = [name for name, _, _ in PROVIDERS]
    return [
        Provider(name=names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}"), active=True)
        for i in range(count)
    ]


def _programmes(codes) -> list[Programme]:
    names = dict(PROGRAMMES)
    return [Programme(code=code, name=names[code], active=True) for code in codes]


@dataclass
class OneLinkPerLanguage:
    survey_key: str
    campaign_id: int
    #: language code -> a fresh invitation token
    tokens: dict[str, str]


def campaigns_per_survey(app: Flask) -> list[OneLinkPerLanguage]:
    """One running campaign per shipped survey, one fresh invitation per language it has."""
    result = []
    with app.app_context():
        today = local_today()
        versions = {version.key: version for version in load_builtin(db_session)}
        providers = _providers(1)
        programmes = _programmes(LABOUR_PROGRAMMES[:1])
        db_session.add_all(providers + programmes)
        db_session.flush()
        for key in sorted(versions):
            languages = [code for code in LANGUAGES if code in versions[key].definition.languages]
            campaign = create_campaign(
                db_session, name=f"Benchmark {key}", survey_version=versions[key],
                starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=30),
                providers=providers, programmes=programmes, languages=languages,
            )
            db_session.flush()
            tokens = {
                code: issue_invitations(db_session, campaign, provider=providers[0],
                                        programme=programmes[0], language=code, count=1, today=today)[0].token
                for code in languages
            }
            result.append(OneLinkPerLanguage(key, campaign.id, tokens))
        db_session.commit()
    return result


@dataclass
class SubmitWorld:
    campaign_id: int
    survey_key: str
    invitation_count: int
    cell_count: int
    #: A few tokens (one per language, never minted) for opening the real way.
    real_tokens: list[str]


def labour_campaign_with_invitations(app: Flask, count: int, *, cell_size: int = CELL_SIZE,
                                     survey_key: str = DEMO_SURVEY) -> SubmitWorld:
    """The demo's labour-market campaign with `count` invitations in cells of `cell_size`.

    Cells are provider x programme (JPG, JPF, SAI) x language (all ten); as many
    providers as needed. One extra invitation per language is kept aside as a
    real token.
    """
    languages = list(LANGUAGES)
    cells_needed = max(1, math.ceil(count / cell_size))
    per_provider = len(LABOUR_PROGRAMMES) * len(languages)
    provider_count = max(1, math.ceil(cells_needed / per_provider))
    with app.app_context():
        today = local_today()
        versions = {version.key: version for version in load_builtin(db_session)}
        providers = _providers(provider_count)
        programmes = _programmes(LABOUR_PROGRAMMES)
        db_session.add_all(providers + programmes)
        db_session.flush()
        campaign = create_campaign(
            db_session, name="Benchmark: Jobbpeng och SAI", survey_version=versions[survey_key],
            starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=30),
            providers=providers, programmes=programmes, languages=languages,
        )
        db_session.flush()
        remaining, cells = count, 0
        for provider in providers:
            for programme in programmes:
                for language in languages:
                    if remaining <= 0:
                        break
                    size = min(cell_size, remaining)
                    issue_invitations(db_session, campaign, provider=provider, programme=programme,
                                      language=language, count=size, today=today)
                    remaining -= size
                    cells += 1
        real_tokens = [
            issue_invitations(db_session, campaign, provider=providers[0], programme=programmes[0],
                              language=code, count=1, today=today)[0].token
            for code in languages
        ]
        db_session.commit()
        return SubmitWorld(campaign.id, survey_key, count, cells, real_tokens)


def complete_answers(definition: SurveyDefinition) -> list[tuple[str, str]]:
    """A posted value for every question, so the submit is never "skipped"."""
    answers = []
    for question in definition.questions:
        if isinstance(question, ScaleQuestion):
            answers.append((question.key, str(max(1, question.scale.points - 1))))
        elif isinstance(question, YesNoQuestion):
            answers.append((question.key, "yes"))
        elif isinstance(question, ChoiceQuestion):
            answers.append((question.key, question.options[0].key))
        elif isinstance(question, TextQuestion):
            answers.append((question.key, FREE_TEXT))
        else:  # a question type added later: fail loudly rather than measure "skipped" pages
            raise ValueError(f"no benchmark answer for question type {question.type!r}")
    return answers


def submit_body(csrf_token: str, answers: list[tuple[str, str]]) -> str:
    return urlencode([("csrf_token", csrf_token), ("action", "send"), *answers])


def mint_sessions(app: Flask, campaign_id: int, *, exclude_ids: set[int] = frozenset(),
                  seed: int = 1) -> list[tuple[str, str]]:
    """(kr cookie value, csrf token) for every unanswered invitation of the campaign, shuffled."""
    serializer = app.session_interface.get_signing_serializer(app)
    minted = []
    with app.test_request_context("/survey"):
        invitations = db_session.scalars(
            select(Invitation).where(Invitation.campaign_id == campaign_id, Invitation.responded.is_(False))
        ).all()
        for invitation in invitations:
            if invitation.id in exclude_ids:
                continue
            session.clear()
            g.pop("csrf_token", None)
            grants.issue(invitation, grants.INVITATION)
            token = generate_csrf()
            minted.append((serializer.dumps(dict(session)), token))
        session.clear()
    random.Random(seed).shuffle(minted)
    return minted


def open_for_real(app: Flask, token: str) -> tuple[str, str, dict]:
    """Open /s/<token> and load /survey with the test client, like a browser.

    Returns (kr cookie value, csrf token from the page, decoded session).
    """
    client = app.test_client()
    opened = client.get(f"/s/{token}")
    if opened.status_code != 303 or not opened.headers["Location"].startswith("/survey"):
        raise RuntimeError(f"opening an invitation gave {opened.status_code}, not a 303 to /survey")
    page = client.get("/survey")
    match = CSRF_PATTERN.search(page.get_data(as_text=True))
    if page.status_code != 200 or not match:
        raise RuntimeError(f"/survey gave {page.status_code} without a CSRF token")
    cookie = client.get_cookie(cookie_name(app)).value
    decoded = app.session_interface.get_signing_serializer(app).loads(cookie)
    return cookie, match.group(1), decoded


def check_minted_sessions(app: Flask, real_tokens: list[str]) -> tuple[list[tuple[str, str]], set[int]]:
    """Open the real tokens through the app; check their sessions look like minted ones.

    Returns the real sessions (they are used in the load too) and the ids of
    their invitations (not to be minted again).
    """
    real = [open_for_real(app, token) for token in real_tokens]
    with app.app_context():
        real_ids = set(db_session.scalars(
            select(Invitation.id).where(Invitation.token_hash.in_([token_hash(t) for t in real_tokens]))
        ))
        invitation = db_session.scalars(select(Invitation).where(Invitation.responded.is_(False))).first()
    serializer = app.session_interface.get_signing_serializer(app)
    with app.test_request_context("/survey"):
        grants.issue(invitation, grants.INVITATION)
        generate_csrf()
        minted_keys = set(serializer.loads(serializer.dumps(dict(session))))
        minted_grant_keys = set(session[grants.GRANT_KEY])
    for _, _, decoded in real:
        if set(decoded) != minted_keys or set(decoded[grants.GRANT_KEY]) != minted_grant_keys:
            raise RuntimeError(f"a real respondent session {sorted(decoded)} differs from a minted one {sorted(minted_keys)}")
    return [(cookie, csrf) for cookie, csrf, _ in real], real_ids


def write_sessions(path: Path, sessions: list[tuple[str, str]], answers: list[tuple[str, str]],
                   cookie_name: str) -> None:
    """One line per session for bench/lua/sessions.lua: Cookie header value, tab, form body."""
    with open(path, "w", encoding="ascii") as out:
        for cookie, csrf in sessions:
            out.write(f"{cookie_name}={cookie}\t{submit_body(csrf, answers)}\n")


def cookie_name(app: Flask) -> str:
    return app.config["SESSION_COOKIE_NAME"]


def survey_definition(app: Flask, campaign_id: int) -> SurveyDefinition:
    with app.app_context():
        return db_session.get(Campaign, campaign_id).survey_version.definition


def count_stored(app: Flask, campaign_id: int) -> tuple[int, int, int]:
    """(answers waiting to be mixed, responses, invitations marked responded) for the campaign.

    A submit stores a waiting answer; only the mixer (not running in the
    benchmarks) turns waiting answers into responses. "Stored" is the two together.
    """
    with app.app_context():
        waiting = db_session.scalar(select(func.count()).select_from(WaitingAnswer)
                                    .where(WaitingAnswer.campaign_id == campaign_id))
        responses = db_session.scalar(select(func.count()).select_from(Response)
                                      .where(Response.campaign_id == campaign_id))
        claimed = db_session.scalar(select(func.count()).select_from(Invitation)
                                    .where(Invitation.campaign_id == campaign_id, Invitation.responded.is_(True)))
        db_session.rollback()
        return waiting, responses, claimed
