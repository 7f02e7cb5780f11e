"""Killed at any step - SIGKILL, no cleanup - nothing is lost, nothing stored twice,
and no private key is erased while a waiting answer still needs it.

Each test starts a real process (tests/crashing.py) on the test's database
and key folder that dies at one named point of a submit, a mixing, a key
rotation or a finalisation; then checks what it left, and that carrying on
(a retry, the next mixer round) ends where an uninterrupted run would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.campaigns.models import Campaign, Invitation
from app.campaigns.tokens import token_hash
from app.db import db_session
from app.mixing.keys import fingerprint
from app.mixing.mixer import Mixer, RoundReport
from app.mixing.models import AnswerKey, CellCount, WaitingAnswer
from app.respond.models import Answer

from .conftest import ROOT, mixer_of, stockholm_today
from .helpers import count_responses, count_stored, definition_of, full_answers, open_survey, submit

TODAY = stockholm_today()
DAY = 24 * 3600


def die_at(app, point: str, action: str, **job) -> None:
    """Run `action` in a child process that kills itself at `point`; assert it did."""
    config = app.config["KUNDROST"]
    job = {"database_url": config.database_url, "key_dir": config.mixer_key_dir, "crash_at": point,
           "instance": str(app.instance_path), "action": action, **job}
    child = subprocess.run([sys.executable, "-m", "tests.crashing", json.dumps(job)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, f"did not die at {point}: {child.returncode}\n{child.stderr[-2000:]}"


def answer_values(app, world) -> Counter:
    """What is stored, waiting or mixed: the first question's value per answer."""
    values = Counter()
    for item in mixer_of(app).open_waiting(world.campaign_id, RoundReport()):
        values[item.sheet.answers["treated_well"].value] += 1
    with app.app_context():
        for (value,) in db_session.execute(select(Answer.value).where(Answer.question_key == "treated_well")):
            values[value] += 1
    return values


def send_answers(app, world, values: list[int]) -> None:
    definition = definition_of(app, world)
    for token, value in zip(world.invite(app, count=len(values)), values):
        client = app.test_client()
        _, csrf = open_survey(client, token)
        assert submit(client, csrf, full_answers(definition, value)).status_code == 303


SUBMIT_POINTS = ["submit.sealed", "submit.claimed", "submit.stored"]


@pytest.mark.parametrize("point", SUBMIT_POINTS)
def test_a_submit_killed_at_any_step_is_stored_once_when_the_customer_sends_again(app, world, point):
    engine = app.extensions["kundrost.db"].engine
    if point == "submit.claimed" and engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the claim and the insert are one database call: no step between them")
    definition = definition_of(app, world)
    token = world.invite(app)[0]
    die_at(app, point, "submit", token=token, answers=full_answers(definition, 3))
    with app.app_context():
        claimed = db_session.scalar(select(Invitation.responded).where(Invitation.token_hash == token_hash(token)))
    stored_before = count_stored(app)
    # Died before its commit: nothing at all; after it: exactly the one answer.
    assert (claimed, stored_before) == ((True, 1) if point == "submit.stored" else (False, 0))
    client = app.test_client()
    _, csrf = open_survey(client, token) if not claimed else (None, None)
    if claimed:
        assert client.get(f"/s/{token}").status_code == 404  # used: the customer is told so
    else:
        assert submit(client, csrf, full_answers(definition, 3)).headers["Location"] == "/thanks"
    assert count_stored(app) == 1
    assert answer_values(app, world) == Counter({3: 1})


MIX_POINTS = ["mix.deleted", "mix.inserted", "mix.committed"]


@pytest.mark.parametrize("point", MIX_POINTS)
def test_a_mixing_killed_at_any_step_loses_nothing_and_doubles_nothing(app, world, point):
    sent = [1, 2, 3, 4, 5] * 3
    send_answers(app, world, sent)
    die_at(app, point, "round")
    expected = Counter(sent)
    assert answer_values(app, world) == expected
    assert count_responses(app) == (10 if point == "mix.committed" else 0)  # all but k, or none
    mixer_of(app).round()
    assert answer_values(app, world) == expected
    assert count_responses(app) == 10 and count_stored(app) == 15


ROTATION_POINTS = ["rotate.written", "rotate.published", "mix.inserted", "rotate.reencrypted", "rotate.retired"]


@pytest.mark.parametrize("point", ROTATION_POINTS)
def test_a_rotation_killed_at_any_step_erases_no_key_still_needed(app, world, point):
    send_answers(app, world, [1, 2, 3])
    with app.app_context():
        [first] = db_session.scalars(select(AnswerKey.public_key)).all()
    # The first round a day later publishes a key; the second, minutes later,
    # moves what waits to it and retires the first.
    if point in ("rotate.written", "rotate.published"):
        die_at(app, point, "round", clock_offset=DAY + 60)
    else:
        mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"], now=lambda: time.time() + DAY + 60)
        mixer.start()
        mixer.publish_key()
        mixer.release()
        die_at(app, point, "round", clock_offset=DAY + 60 + 120)
    # Whatever step it died at, every waiting answer still opens.
    assert answer_values(app, world) == Counter({1: 1, 2: 1, 3: 1})
    # Carrying on: the next start erases keys nothing needs; a round publishes
    # today's key, and one two minutes later moves everything to it.
    offset = [3 * DAY]
    mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"], now=lambda: time.time() + offset[0])
    mixer.start()
    mixer.round()
    offset[0] += 120
    mixer.round()
    assert answer_values(app, world) == Counter({1: 1, 2: 1, 3: 1})
    with app.app_context():
        keys = db_session.execute(select(AnswerKey.id, AnswerKey.public_key)).all()
        in_use = set(db_session.scalars(select(WaitingAnswer.key_id)))
    [(newest_id, newest_public)] = keys  # every older key retired
    assert in_use == {newest_id}
    assert mixer.folder.fingerprints() == {fingerprint(bytes(newest_public))}  # no orphan file, none missing
    assert fingerprint(bytes(first)) not in mixer.folder.fingerprints()


FINALISE_POINTS = ["finalise.closed", "mix.inserted", "finalise.mixed"]


@pytest.mark.parametrize("point", FINALISE_POINTS)
def test_a_finalisation_killed_at_any_step_ends_as_an_uninterrupted_one(app, world, point):
    send_answers(app, world, [1, 2, 3, 4, 5, 5])
    with app.app_context():
        db_session.execute(update(Campaign).values(ends_on=TODAY - timedelta(days=1)))
        db_session.commit()
    die_at(app, point, "finalise", campaign_id=world.campaign_id, today=TODAY.isoformat())
    with app.app_context():
        assert db_session.scalar(select(Campaign.finalised_on)) == TODAY  # closed before it died
    mixer_of(app).finalise(world.campaign_id, TODAY)
    assert answer_values(app, world) == Counter({1: 1, 2: 1, 3: 1, 4: 1, 5: 2})
    assert count_responses(app) == 6
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Invitation)) == 0
        assert db_session.scalar(select(func.sum(CellCount.answered)).where(CellCount.language_role == "link")) == 6
        assert db_session.scalar(select(func.sum(CellCount.answered)).where(CellCount.language_role == "answered")) == 6
