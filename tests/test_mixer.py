"""The mixing step against a real database: releases, finalisation, keys."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, update

from app.analytics.models import AnswerCount, ResponseTally
from app.analytics.summaries import recount
from app.campaigns.models import Campaign, Invitation
from app.db import db_session
from app.mixing.intake import Outcome, Submission, store_answers
from app.mixing.keys import PublishedKeys, fingerprint
from app.mixing.installation import MixerBusy
from app.mixing.mixer import Mixer, RoundReport
from app.mixing.models import AnswerKey, CellCount, FormNonce, WaitingAnswer
from app.mixing.sealing import AnswerSheet
from app.respond.models import Answer, Response
from app.surveys.definition import StoredAnswer

from .conftest import mixer_of, stockholm_today
from .helpers import definition_of

TODAY = stockholm_today()


def version_of(app, world) -> int:
    with app.app_context():
        return db_session.get(Campaign, world.campaign_id).survey_version_id


def sheet(app, world, *, provider=0, language="sv", value=4, gender="woman", month=None, status="complete",
          text=None) -> AnswerSheet:
    answers = {"treated_well": StoredAnswer(value=value), "gender": StoredAnswer(choice=gender)}
    if text:
        answers["comments"] = StoredAnswer(text=text)
    return AnswerSheet(
        survey_version_id=version_of(app, world), provider_id=world.provider_ids[provider],
        programme_id=world.programme_ids[0], channel="sms", language=language,
        month=month or TODAY.replace(day=1), status=status, answers=answers,
    )


def send(app, world, count, **fields) -> list[Outcome]:
    """Store `count` answers through the write path, each claiming a fresh invitation."""
    definition = definition_of(app, world)
    if count:
        world.invite(app, fields.get("language", "sv"), count=count, provider=fields.get("provider", 0))
    outcomes = []
    with app.app_context():
        invitation_ids = list(db_session.scalars(
            select(Invitation.id).where(Invitation.responded.is_(False)).order_by(Invitation.id.desc()).limit(count)))
        keys = PublishedKeys(seconds=0)
        with app.extensions["kundrost.db"].engine.connect() as connection:
            for invitation_id in invitation_ids:
                outcomes.append(store_answers(
                    connection, Submission(world.campaign_id, sheet(app, world, **fields),
                                                   link_language=fields.get("language", "sv"), invitation_id=invitation_id),
                    definition, today=TODAY, keys=keys))
    return outcomes


def waiting_ids(app) -> set[str]:
    with app.app_context():
        return set(db_session.scalars(select(WaitingAnswer.id)))


def sealed_values(app) -> set[bytes]:
    with app.app_context():
        return {bytes(sealed) for sealed in db_session.scalars(select(WaitingAnswer.sealed))}


def responses(app) -> list[Response]:
    with app.app_context():
        return list(db_session.scalars(select(Response)))


def test_a_cell_is_mixed_from_2k_waiting_and_k_stay_re_encrypted(app, world):
    assert send(app, world, 9) == [Outcome.STORED] * 9
    mixer = mixer_of(app)
    mixer.round()
    assert len(responses(app)) == 0 and len(waiting_ids(app)) == 9
    send(app, world, 1)
    before = sealed_values(app)
    report = mixer.round()
    assert (report.released, report.cells_released) == (5, 1)
    assert len(responses(app)) == 5
    after = sealed_values(app)
    assert len(after) == 5 and not after & before  # re-sealed: no ciphertext to follow
    opened = mixer.open_waiting(world.campaign_id, RoundReport())
    assert len(opened) == 5


def test_cells_differ_by_language_month_provider_and_background_answer(app, world):
    send(app, world, 6, language="sv")
    send(app, world, 6, language="ar")
    send(app, world, 6, gender="man")
    send(app, world, 6, provider=1)
    send(app, world, 6, month=(TODAY.replace(day=1) - timedelta(days=1)).replace(day=1))
    assert mixer_of(app).round().released == 0  # five cells of 6 (sv, woman, this month, provider 0 ...): none at 2k
    send(app, world, 4, language="sv")
    assert mixer_of(app).round().released == 5  # the Swedish cell reached 10


def test_responses_keep_exactly_what_was_sent_in_their_cell(app, world):
    send(app, world, 5, value=2)
    send(app, world, 5, value=5, text="Bra stöd 😊")
    mixer_of(app).round()
    stored = responses(app)
    assert len(stored) == 5
    with app.app_context():
        answers = db_session.execute(select(Answer.response_id, Answer.question_key, Answer.value, Answer.choice,
                                            Answer.text)).all()
    assert {(r.provider_id, r.programme_id, r.language, r.channel, r.month, r.status) for r in stored} == {
        (world.provider_ids[0], world.programme_ids[0], "sv", "sms", TODAY.replace(day=1), "complete")}
    by_response = {}
    for response_id, key, value, choice, text in answers:
        by_response.setdefault(response_id, {})[key] = value if value is not None else choice if choice else text
    for values in by_response.values():
        assert values["gender"] == "woman"
        assert values in ({"treated_well": 2, "gender": "woman"},
                          {"treated_well": 5, "gender": "woman", "comments": "Bra stöd 😊"})


def test_a_mixing_deletes_all_it_read_before_inserting_anything(app, world):
    send(app, world, 12)
    statements = []
    engine = app.extensions["kundrost.db"].engine

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        word = statement.lstrip().split()[0].upper()
        if word in ("INSERT", "DELETE", "UPDATE"):
            table = re.search(r"(?:INTO|FROM|UPDATE)\s+(\w+)", statement).group(1)
            statements.append((word, table))

    event.listen(engine, "before_cursor_execute", record)
    try:
        mixer_of(app).round()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if s[1] in ("waiting_answer", "response", "answer")]
    # One delete of every waiting answer read, then the inserts.
    assert writes[0] == ("DELETE", "waiting_answer")
    assert ("DELETE", "waiting_answer") not in writes[1:]
    assert {s for s in writes[1:]} == {("INSERT", "response"), ("INSERT", "answer"), ("INSERT", "waiting_answer")}


def test_response_order_is_not_the_order_answers_arrived(app, world):
    # The release order comes from `secrets`: over twenty answers with
    # distinct values, arrival order and stored order agree by chance only.
    definition_of(app, world)
    for value in (1, 2, 3, 4, 5):
        send(app, world, 4, value=value)
    mixer_of(app).round()
    engine = app.extensions["kundrost.db"].engine
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            order = "response.ctid"
        else:
            order = "response.id"  # WITHOUT ROWID: stored in random-id order
        values = [v for (v,) in connection.exec_driver_sql(
            f"SELECT answer.value FROM response JOIN answer ON answer.response_id = response.id"
            f" WHERE answer.question_key = 'treated_well' ORDER BY {order}")]
    assert len(values) == 15
    assert values != sorted(values)  # chance of sorted order: far below 1e-6


def finalise(app, world, mixer=None) -> RoundReport:
    with app.app_context():
        db_session.execute(update(Campaign).where(Campaign.id == world.campaign_id)
                           .values(ends_on=TODAY - timedelta(days=1)))
        db_session.commit()
    return (mixer or mixer_of(app)).finalise(world.campaign_id, TODAY)


def test_finalisation_mixes_everything_and_keeps_counts_not_people(app, world):
    world.invite(app, "ar", count=4)  # sent, never answered
    send(app, world, 7)               # Swedish: one cell of 7
    send(app, world, 2, language="ti")  # too few alone: merged with the Swedish ones
    report = finalise(app, world)
    assert (report.released, report.withheld) == (9, 0)
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Invitation)) == 0
        assert db_session.scalar(select(func.count()).select_from(FormNonce)) == 0
        assert db_session.scalar(select(func.count()).select_from(WaitingAnswer)) == 0
        counts = db_session.execute(select(CellCount.language_role, CellCount.language, CellCount.month,
                                           CellCount.issued, CellCount.answered, CellCount.complete)).all()
    month = TODAY.replace(day=1)
    assert sorted(counts, key=repr) == sorted([
        ("link", "sv", month, 7, 7, 0),
        ("link", "ti", month, 2, 2, 0),
        ("link", "ar", month, 4, 0, 0),
        # Two Tigrinya answers joined the seven Swedish ones with language merged.
        ("answered", None, month, 0, 9, 9),
    ], key=repr)
    assert {(r.language, r.month) for r in responses(app)} == {(None, month)}
    with app.app_context():
        gender_answers = db_session.scalar(select(func.count()).select_from(Answer).where(Answer.question_key == "gender"))
    assert gender_answers == 0  # background answers withheld in a merged batch


TALLY = (ResponseTally.dimension, ResponseTally.group_value, ResponseTally.complete, ResponseTally.partial,
         ResponseTally.scored, ResponseTally.score_sum, ResponseTally.score_squares)


def test_the_mixing_step_keeps_the_answer_counts_and_personal_scores_of_what_it_stores(app, world):
    # The results pages read answer_count and response.index_score instead of the answers
    # (app/analytics/summaries.py): every batch the mixer writes adds to them in its transaction.
    send(app, world, 12, value=4)                          # Swedish women: 7 mixed now, 5 stay
    send(app, world, 3, language="ti", value=2, gender="man")  # too few: wait for finalisation
    mixer_of(app).round()
    finalise(app, world)  # the 5 Swedish and the 3 Tigrinya: one batch, language merged, gender withheld
    with app.app_context():
        counts = {tuple(row) for row in db_session.execute(
            select(AnswerCount.dimension, AnswerCount.group_value, AnswerCount.question_key, AnswerCount.kind,
                   AnswerCount.answer, AnswerCount.n))}
        scores = sorted(db_session.scalars(select(Response.index_score)))
        campaign = db_session.get(Campaign, world.campaign_id)
        connection = db_session.connection()
        tallies = {tuple(row[:2]): tuple(row[2:]) for row in connection.execute(select(*TALLY))}
        recounted = recount(connection, world.campaign_id, campaign.survey_version.definition)
        rebuilt = {tuple(row) for row in connection.execute(
            select(AnswerCount.dimension, AnswerCount.group_value, AnswerCount.question_key, AnswerCount.kind,
                   AnswerCount.answer, AnswerCount.n))}
        retallied = {tuple(row[:2]): tuple(row[2:]) for row in connection.execute(select(*TALLY))}
        db_session.rollback()
    provider = str(world.provider_ids[0])
    assert {row[1:] for row in counts if row[0] == "provider"} == {
        (provider, "treated_well", "value", "4", 12), (provider, "treated_well", "value", "2", 3),
        (provider, "gender", "choice", "woman", 7),
    }
    assert {row[1:] for row in counts if row[0] == "language"} == {
        ("sv", "treated_well", "value", "4", 7), ("sv", "gender", "choice", "woman", 7),
        ("", "treated_well", "value", "4", 5), ("", "treated_well", "value", "2", 3),
    }
    assert {row[1:] for row in counts if row[0] == "background:gender"} == {
        ("woman", "treated_well", "value", "4", 7), ("woman", "gender", "choice", "woman", 7),
        ("", "treated_well", "value", "4", 5), ("", "treated_well", "value", "2", 3),
    }
    # treated_well is the only index question answered: each personal score is its value.
    assert scores == [2.0] * 3 + [4.0] * 12
    # Responses and scores per group (complete, partial, scored, sum, sum of squares); every response sent
    # here is complete. The provider: 12 x 4 and 3 x 2 ->
    # sum 54, squares 12 x 16 + 3 x 4 = 204. Swedish women: 7 x 4. Merged language / withheld gender: 5 x 4, 3 x 2.
    assert tallies[("provider", provider)] == (15, 0, 15, 54.0, 204.0)
    assert tallies[("language", "sv")] == tallies[("background:gender", "woman")] == (7, 0, 7, 28.0, 112.0)
    assert tallies[("language", "")] == tallies[("background:gender", "")] == (8, 0, 8, 26.0, 92.0)
    assert tallies[("provider|background:gender", provider + "|woman")] == (7, 0, 7, 28.0, 112.0)
    # What the batches added up to is what counting the stored answers at once gives.
    assert rebuilt == counts and recounted == len(counts)
    assert retallied == tallies


def test_after_finalisation_nothing_more_is_accepted_not_even_late_entry(app, world):
    send(app, world, 5)
    finalise(app, world)
    definition = definition_of(app, world)
    with app.app_context(), app.extensions["kundrost.db"].engine.connect() as connection:
        outcome = store_answers(
            connection, Submission(world.campaign_id, sheet(app, world), link_language="sv", form_nonce="n-1", late_entry=True),
            definition, today=TODAY, keys=PublishedKeys(0))
    assert outcome is Outcome.CLOSED
    assert waiting_ids(app) == set()


def test_late_entry_is_accepted_after_the_last_day_until_finalisation(app, world):
    with app.app_context():
        db_session.execute(update(Campaign).values(ends_on=TODAY - timedelta(days=1)))
        db_session.commit()
    definition = definition_of(app, world)
    with app.extensions["kundrost.db"].engine.connect() as connection:
        customer = store_answers(connection, Submission(world.campaign_id, sheet(app, world), link_language="sv", form_nonce="a"),
                                 definition, today=TODAY, keys=PublishedKeys(0))
        paper = store_answers(connection, Submission(world.campaign_id, sheet(app, world), link_language="sv", form_nonce="b", late_entry=True),
                              definition, today=TODAY, keys=PublishedKeys(0))
    assert (customer, paper) == (Outcome.CLOSED, Outcome.STORED)


def test_a_campaign_with_fewer_than_k_answers_keeps_none_of_them(app, world):
    send(app, world, 4)
    report = finalise(app, world)
    assert (report.released, report.withheld) == (0, 4)
    assert responses(app) == [] and waiting_ids(app) == set()
    with app.app_context():
        withheld = db_session.scalar(select(func.sum(CellCount.withheld)))
        answered = db_session.scalar(select(func.sum(CellCount.answered)).where(CellCount.language_role == "link"))
    assert (withheld, answered) == (4, 4)  # the response rate still counts them


def test_finalisation_interrupted_after_mixing_finishes_on_the_next_round(app, world):
    send(app, world, 6)
    mixer = mixer_of(app)
    with app.app_context():
        db_session.execute(update(Campaign).values(ends_on=TODAY - timedelta(days=40)))
        db_session.commit()
    mixer.close_for_finalisation(world.campaign_id, TODAY)  # as if the process died right after
    report = mixer.round()
    assert report.finalised == [world.campaign_id]
    assert len(responses(app)) == 6
    assert mixer.round().finalised == []  # done: nothing left to do
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(CellCount)) == 2


def test_a_duplicate_open_link_form_is_stored_once(app, world):
    definition = definition_of(app, world)
    with app.extensions["kundrost.db"].engine.connect() as connection:
        first, second = (
            store_answers(connection, Submission(world.campaign_id, sheet(app, world), link_language="sv", form_nonce="same-form"),
                          definition, today=TODAY, keys=PublishedKeys(0))
            for _ in range(2)
        )
    assert (first, second) == (Outcome.STORED, Outcome.ALREADY_ANSWERED)
    assert len(waiting_ids(app)) == 1


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc).timestamp()

    def __call__(self) -> float:
        return self.now


def test_keys_rotate_and_an_old_key_is_erased_only_when_nothing_needs_it(app, world):
    clock = Clock()
    mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"], now=clock)
    mixer.start()
    send(app, world, 3)  # sealed to the key the app fixture published
    with app.app_context():
        [(first_id, first_public)] = db_session.execute(select(AnswerKey.id, AnswerKey.public_key)).all()
    first_file = mixer.folder.path_for(bytes(first_public))
    assert first_file.exists() and oct(first_file.stat().st_mode & 0o777) == "0o600"
    clock.now += 25 * 3600  # past the 24-hour rotation
    report = mixer.round()
    # Published, what waited moved to it, the old key retired: all in one round.
    assert report.key_published and (report.reencrypted, report.keys_retired) == (3, 1)
    assert not first_file.exists()
    assert mixer.folder.fingerprints() == {fingerprint(k) for k in _public_keys(app)}
    with app.app_context():
        assert first_id not in set(db_session.scalars(select(AnswerKey.id)))
        assert set(db_session.scalars(select(WaitingAnswer.key_id))) != {first_id}
    assert len(mixer.open_waiting(world.campaign_id, RoundReport())) == 3


def _public_keys(app) -> list[bytes]:
    with app.app_context():
        return [bytes(k) for k in db_session.scalars(select(AnswerKey.public_key))]


def test_a_mixer_run_once_a_day_keeps_one_key(app, world):
    # A daily scheduler: every round is due to rotate. Each round still ends
    # with one key, so a thief never finds yesterday's.
    clock = Clock()
    mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"], now=clock)
    mixer.start()
    for day in range(4):
        send(app, world, 2)
        clock.now += 24 * 3600
        report = mixer.round()
        assert report.key_published and report.keys_retired == 1, day
        assert len(_public_keys(app)) == 1 and len(mixer.folder.fingerprints()) == 1
    assert len(mixer.open_waiting(world.campaign_id, RoundReport())) == 8


def test_a_submit_sealed_to_a_superseded_key_is_sealed_again(app, world):
    # The mixer has published a newer key but not yet retired the old one:
    # the database refuses the old key, the answers are sealed to the new.
    definition = definition_of(app, world)
    stale = PublishedKeys(seconds=3600)
    engine = app.extensions["kundrost.db"].engine
    with engine.connect() as connection:
        old = stale.current(connection)
    new_id = mixer_of(app).publish_key()
    with engine.connect() as connection:
        outcome = store_answers(connection, Submission(world.campaign_id, sheet(app, world), link_language="sv", form_nonce="n"),
                                definition, today=TODAY, keys=stale)
    assert outcome is Outcome.STORED
    with app.app_context():
        assert set(db_session.scalars(select(WaitingAnswer.key_id))) == {new_id} != {old.id}


def test_a_key_still_named_by_a_waiting_answer_cannot_be_deleted(app, world):
    send(app, world, 1)
    with app.app_context():
        key_id = db_session.scalar(select(AnswerKey.id))
        from sqlalchemy import delete, exc

        with pytest.raises(exc.IntegrityError):
            db_session.execute(delete(AnswerKey).where(AnswerKey.id == key_id))
            db_session.flush()
        db_session.rollback()


def test_a_submit_sealed_to_a_retired_key_is_sealed_again_to_the_new_one(app, world):
    definition = definition_of(app, world)
    stale = PublishedKeys(seconds=3600)
    engine = app.extensions["kundrost.db"].engine
    with engine.connect() as connection:
        stale.current(connection)  # remembers the first key
    clock = Clock()
    mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"], now=clock)
    mixer.start()
    clock.now += 25 * 3600
    assert mixer.round().keys_retired == 1
    with engine.connect() as connection:
        outcome = store_answers(connection, Submission(world.campaign_id, sheet(app, world), link_language="sv", form_nonce="late"),
                                definition, today=TODAY, keys=stale)
    assert outcome is Outcome.STORED
    assert len(mixer.open_waiting(world.campaign_id, RoundReport())) == 1


def test_a_stale_key_file_is_erased_when_the_mixer_starts(app):
    mixer = mixer_of(app)
    orphan = mixer.folder.create()  # written, then the process died before publishing it
    assert mixer.folder.path_for(orphan).exists()
    fresh = mixer_of(app)
    assert not fresh.folder.path_for(orphan).exists()
    assert fingerprint(orphan) not in fresh.folder.fingerprints()
    assert len(fresh.folder.fingerprints()) == 1  # the published key stays


def test_only_one_mixer_runs_at_a_time(app):
    first, second = mixer_of(app), mixer_of(app)
    with first.lock():
        with pytest.raises(MixerBusy):
            with second.lock():
                pass
    with second.lock():
        pass


def test_keys_live_outside_the_instance_folder_by_default(app, tmp_path):
    config = app.config["KUNDROST"].with_overrides(mixer_key_dir="")
    folder = config.resolved_mixer_key_dir("sqlite:///" + str(tmp_path / "instance" / "kundrost.sqlite3"),
                                           home=str(tmp_path / "home"))
    assert folder.is_relative_to(tmp_path / "home" / ".local" / "state" / "kundrost")
    assert not folder.is_relative_to(tmp_path / "instance")
    other = config.resolved_mixer_key_dir("postgresql://db/other", home=str(tmp_path / "home"))
    assert other != folder  # two databases on one host never share a folder
    assert os.path.basename(folder).startswith("mixer-keys-")


def test_finalise_from_the_command_line_while_a_mixer_runs_says_what_to_do(app, world, runner):
    with app.app_context():
        db_session.execute(update(Campaign).values(ends_on=TODAY - timedelta(days=1)))
        db_session.commit()
    running = mixer_of(app)
    with running.lock():
        refused = runner.invoke(args=["mixer", "finalise", str(world.campaign_id)])
    assert refused.exit_code == 1
    assert "FINALISE_AFTER_DAYS" in refused.output and "stop it" in refused.output
    done = runner.invoke(args=["mixer", "finalise", str(world.campaign_id)])
    assert done.exit_code == 0, done.output
    assert f"finalised campaigns: [{world.campaign_id}]" in done.output
