"""What must not happen to waiting answers when the mixer is misled: a wrong
key folder, a copied database, a lost lock, a forged cookie, a damaged row.

Each test starts from what a tester did to break the write path
(2026-11-30) and states what must hold instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.campaigns.models import Campaign, Invitation
from app.db import db_session
from app.mixing.installation import DatabaseMoved, KeyFolderAhead, LeaseLost, MixerBusy, take_over
from app.mixing.intake import Outcome, Submission, store_answers
from app.mixing.keys import PublishedKeys
from app.mixing.mixer import Mixer, RoundReport
from app.mixing.models import AnswerKey, MixerInstallation, WaitingAnswer
from app.mixing.sealing import AnswerSheet
from app.respond.models import Answer, Response
from app.surveys.definition import DefinitionError, StoredAnswer

from .conftest import ROOT, mixer_of, stockholm_today
from .helpers import count_stored, definition_of, full_answers, open_survey, submit, translated

TODAY = stockholm_today()


def answer(app, world, count: int, language: str = "sv", text: str | None = None) -> None:
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    for token in world.invite(app, language, count=count):
        client = app.test_client()
        _, csrf = open_survey(client, token)
        answers = {**full_answers(definition), text_key: text or "Bra."}
        assert submit(client, csrf, answers).status_code == 303


def waiting(app) -> int:
    with app.app_context():
        return db_session.scalar(select(func.count()).select_from(WaitingAnswer))


def past_its_last_day(app) -> None:
    with app.app_context():
        db_session.execute(update(Campaign).values(ends_on=TODAY - timedelta(days=40)))
        db_session.commit()


def mixer_with_folder(app, folder) -> Mixer:
    config = app.config["KUNDROST"].with_overrides(mixer_key_dir=str(folder))
    mixer = Mixer(app.extensions["kundrost.db"], config)
    mixer.start()
    return mixer


def test_a_mixer_with_the_wrong_key_folder_mixes_nothing_and_destroys_nothing(app, world, tmp_path):
    answer(app, world, 12)
    past_its_last_day(app)
    stranger = mixer_with_folder(app, tmp_path / "another-host")
    report = stranger.round()
    assert any("not in this host's key folder" in p for p in report.problems)
    assert (report.released, report.reencrypted, report.keys_retired, report.finalised) == (0, 0, 0, [])
    assert waiting(app) == 12
    # The right mixer still opens every answer, and finalises as usual.
    right = mixer_of(app)
    assert len(right.open_waiting(world.campaign_id, RoundReport())) == 12
    assert right.round().finalised == [world.campaign_id]


def test_rotate_from_a_host_without_the_keys_is_refused_unless_forced(app, world, runner, tmp_path):
    answer(app, world, 3)
    runner.env = {"MIXER_KEY_DIR": str(tmp_path / "laptop")}
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(mixer_key_dir=str(tmp_path / "laptop"))
    refused = runner.invoke(args=["mixer", "rotate"])
    assert refused.exit_code == 1 and "3 waiting answers" in refused.output
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(AnswerKey)) == 1
    forced = runner.invoke(args=["mixer", "rotate", "--force"])
    assert forced.exit_code == 0 and "published answer key" in forced.output


def test_finalisation_never_deletes_answers_it_cannot_open(app, world, runner):
    answer(app, world, 6)
    past_its_last_day(app)
    mixer = mixer_of(app)
    key_file = next(mixer.folder.folder.glob("*.key"))
    kept = key_file.read_bytes()
    key_file.unlink()  # the key folder's volume is not mounted, say
    mixer = mixer_of(app)
    report = mixer.finalise(world.campaign_id, TODAY)
    assert any("not finalised" in p for p in report.problems)
    assert waiting(app) == 6 and report.withheld == 0
    with app.app_context():
        assert db_session.scalar(select(Campaign.finalised_on)) is None
        assert db_session.scalar(select(func.count()).select_from(Invitation)) == 6
    refused = runner.invoke(args=["mixer", "finalise", str(world.campaign_id)])
    assert refused.exit_code == 2 and "PROBLEM" in refused.output
    key_file.write_bytes(kept)  # the volume is back
    assert mixer_of(app).finalise(world.campaign_id, TODAY).finalised == [world.campaign_id]
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Response)) == 6


def test_an_operator_may_discard_answers_whose_keys_are_lost_for_good(app, world, runner):
    answer(app, world, 6)
    past_its_last_day(app)
    for key_file in mixer_of(app).folder.folder.glob("*.key"):
        key_file.unlink()
    runner.invoke(args=["mixer", "rotate", "--force"])
    done = runner.invoke(args=["mixer", "finalise", str(world.campaign_id), "--discard-damaged"])
    assert done.exit_code == 0, done.output
    assert waiting(app) == 0


def test_a_copy_of_the_database_never_uses_or_erases_the_originals_keys(app, world, tmp_path):
    if app.extensions["kundrost.db"].engine.dialect.name != "sqlite":
        pytest.skip("a file copy is the SQLite case; PostgreSQL copies differ by database name (same check)")
    answer(app, world, 3)
    mixer_of(app)  # the original's installation records where it lives
    original = app.extensions["kundrost.db"].engine.url.database
    copy = tmp_path / "staging.sqlite3"
    subprocess.run(["sqlite3", original, f".backup {copy}"], check=True)
    from app.db import Database

    staging = Database("sqlite:///" + str(copy))
    try:
        staging_mixer = Mixer(staging, app.config["KUNDROST"])
        with pytest.raises(DatabaseMoved, match="adopt --copy"):
            staging_mixer.start()
        files_before = set(mixer_of(app).folder.folder.iterdir())
        from app.mixing.installation import adopt

        new_id = adopt(staging, copied=True)
        staging_mixer.start()
        staging_mixer.round()  # rotates to a key of its own: its answers cannot be opened there
        assert staging_mixer.installation.id == new_id
        assert set(mixer_of(app).folder.folder.iterdir()) == files_before  # the original's keys untouched
        assert len(mixer_of(app).open_waiting(world.campaign_id, RoundReport())) == 3
    finally:
        staging.dispose()


def test_a_mixer_that_lost_its_lock_writes_nothing_more(app, world):
    answer(app, world, 10)
    first = mixer_of(app)
    second = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"])
    second.installation = take_over(app.extensions["kundrost.db"], app.config["KUNDROST"])
    with pytest.raises(LeaseLost):
        first.round()
    assert waiting(app) == 10
    assert second.round().released == 5


def test_a_symlink_to_the_database_leads_to_the_same_lock(app, tmp_path):
    database = app.extensions["kundrost.db"]
    if database.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's lock file")
    link = tmp_path / "link.sqlite3"
    link.symlink_to(database.engine.url.database)
    from app.db import Database

    linked = Database("sqlite:///" + str(link))
    try:
        with mixer_of(app).lock():
            with pytest.raises(MixerBusy):
                with Mixer(linked, app.config["KUNDROST"]).lock():
                    pass
    finally:
        linked.dispose()


def test_free_text_is_withheld_where_its_script_would_undo_a_merged_language(app, world):
    answer(app, world, 5, "sv", text="Bra stöd")
    answer(app, world, 1, "ti", text="ኣሰልጣኒየይ ኣይሰምዓንን እዩ")
    past_its_last_day(app)
    mixer_of(app).round()
    with app.app_context():
        languages = set(db_session.scalars(select(Response.language)))
        texts = list(db_session.scalars(select(Answer.text).where(Answer.text.is_not(None))))
        genders = db_session.scalar(select(func.count()).select_from(Answer).where(Answer.question_key == "gender"))
    assert languages == {None}  # the one Tigrinya answer merged the batch's language
    assert texts == [] and genders == 0


def test_free_text_is_kept_where_the_cell_keeps_its_language(app, world):
    answer(app, world, 10, "sv", text="Bra stöd")
    mixer_of(app).round()
    with app.app_context():
        assert list(db_session.scalars(select(Answer.text).where(Answer.text.is_not(None)))) == ["Bra stöd"] * 5


def forge(client, app, **changes) -> None:
    """Rewrite the signed grant in the client's cookie, as someone with the SECRET_KEY could."""
    with client.session_transaction() as session:
        session["grant"] = {**session["grant"], **changes}


@pytest.mark.parametrize("changes", [
    # A scope that does not match the link: checked against the database.
    {"provider_id": 2},               # another provider of the same campaign
    {"programme_id": 2},              # another programme
    {"channel": "evil"},              # a channel that does not exist
    {"language": "ar"},               # another link language
    {"link_id": 10_000},              # an invitation that does not exist
    # Malformed: treated as no grant at all.
    {"kind": "z"}, {"link_id": None}, {"issued_at": "x"}, {"provider_id": [1]},
    {"campaign_id": 2**40}, {"form_nonce": 123}, {"link_id": 2**70},
])
def test_a_forged_or_malformed_grant_stores_nothing(app, world, changes):
    definition = definition_of(app, world)
    client = app.test_client()
    _, csrf = open_survey(client, world.invite(app)[0])
    forge(client, app, **changes)
    sent = submit(client, csrf, full_answers(definition))
    assert sent.status_code == 404
    assert translated("This link cannot be used", changes.get("language", "sv")) in sent.get_data(as_text=True)
    assert count_stored(app) == 0


def test_one_damaged_cell_does_not_stop_the_others(app, world):
    answer(app, world, 10, "sv")
    # A waiting answer the database refuses to store as a response (a channel
    # no response may have) - as only a forged or damaged row could carry.
    definition = definition_of(app, world)
    with app.app_context():
        version_id = db_session.get(Campaign, world.campaign_id).survey_version_id
    bad = AnswerSheet(version_id, world.provider_ids[0], world.programme_ids[0], "evil", "en",
                      TODAY.replace(day=1), "complete", {"treated_well": StoredAnswer(value=3)})
    with app.extensions["kundrost.db"].engine.connect() as connection:
        invitation_ids = []
        world.invite(app, "en", count=10)
        with app.app_context():
            invitation_ids = list(db_session.scalars(select(Invitation.id).where(Invitation.language == "en")))
        with app.app_context(), app.extensions["kundrost.db"].engine.begin() as writer:
            writer.execute(update(Invitation.__table__).where(Invitation.id.in_(invitation_ids)).values(channel="evil"))
        for invitation_id in invitation_ids:
            assert store_answers(connection, Submission(world.campaign_id, bad, link_language="en",
                                                        invitation_id=invitation_id),
                                 definition, today=TODAY, keys=PublishedKeys(0)) is Outcome.STORED
    report = mixer_of(app).round()
    assert report.released == 5  # the Swedish cell
    assert report.damaged == 10 and any("cannot be stored" in p for p in report.problems)
    assert waiting(app) == 5 + 10


def test_keys_changing_faster_than_a_submit_can_seal_store_nothing_and_say_so(app, world):
    class Stale(PublishedKeys):
        """Always the key just superseded: as if keys were rotated between every read and write."""

        def current(self, connection):
            key = super().current(connection)
            mixer_of(app).publish_key()
            return key

    definition = definition_of(app, world)
    world.invite(app, count=1)
    with app.app_context():
        invitation_id = db_session.scalar(select(Invitation.id))
    with app.extensions["kundrost.db"].engine.connect() as connection:
        outcome = store_answers(connection, Submission(
            world.campaign_id, AnswerSheet(1, world.provider_ids[0], world.programme_ids[0], "sms", "sv",
                                           TODAY.replace(day=1), "complete", {}),
            link_language="sv", invitation_id=invitation_id), definition, today=TODAY, keys=Stale(3600))
    assert outcome is Outcome.NO_KEY
    assert count_stored(app) == 0


def test_unopened_answers_are_counted_once(app, world, tmp_path):
    answer(app, world, 4)
    stranger = mixer_with_folder(app, tmp_path / "elsewhere")
    report = RoundReport()
    stranger.open_waiting(world.campaign_id, report)
    stranger.open_waiting(world.campaign_id, report)
    assert report.unopened == 4


def test_option_keys_are_checked_like_question_keys():
    from app.surveys.definition import parse_definition

    from .test_surveys import minimal

    document = minimal()
    document["sections"][0]["questions"].append({
        "key": "age", "type": "choice", "text": {code: "x" for code in document["languages"]},
        "options": [{"key": "x" * 41, "text": {code: "x" for code in document["languages"]}}],
    })
    with pytest.raises(DefinitionError, match="option keys"):
        parse_definition(document)


@pytest.mark.parametrize("server_lives_seconds", [3, 0])
def test_the_embedded_mixer_stops_when_its_server_is_killed(app, tmp_path, server_lives_seconds):
    """Also when the server dies before the mixer has even built its app (0 s):
    the mixer must not adopt init as the server it watches."""
    config = app.config["KUNDROST"]
    env = {**os.environ, "DATABASE_URL": config.database_url, "MIXER_KEY_DIR": config.mixer_key_dir,
           "SECRET_KEY": "x", "EMBEDDED_MIXER": "1", "MIXER_INTERVAL_SECONDS": "1"}
    # A stand-in for gunicorn's arbiter running the real start hook, then
    # dying without stopping the mixer.
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import logging, os, time, types; import app.serving as serving; "
         # The mixer's output goes nowhere: a closed pipe would end it by itself.
         "report = os.dup(1); os.dup2(os.open(os.devnull, os.O_WRONLY), 1); "
         "serving.on_starting(types.SimpleNamespace(log=logging.getLogger())); "
         "os.write(report, b'%d\\n' % serving._mixer[0].pid); time.sleep(60)"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    mixer_pid = int(parent.stdout.readline())
    parent.stdout.close()
    time.sleep(server_lives_seconds)
    assert _alive(mixer_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 60
    while _alive(mixer_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(mixer_pid), "the orphaned mixer kept running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_database_behind_its_key_folder_is_an_old_copy_and_changes_nothing(app, world):
    # The original has since changed keys (a rotation); a restore from before
    # that - a base backup, a standby - carries the old generation.
    answer(app, world, 3)
    mixer = mixer_of(app)
    mixer.publish_key()
    mixer.round()  # re-seals to the new key and retires the old one: two key changes
    with app.app_context():
        generation = db_session.scalar(select(MixerInstallation.generation))
        db_session.execute(update(MixerInstallation).values(generation=generation - 2))  # as the restore has it
        db_session.commit()
    files_before = {p.name: p.read_bytes() for p in mixer.folder.folder.glob("*.key")}
    copy = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"])
    with pytest.raises(KeyFolderAhead, match="older copy or restore"):
        copy.start()
    assert {p.name: p.read_bytes() for p in mixer.folder.folder.glob("*.key")} == files_before


def test_two_processes_never_use_one_key_folder_at_once(app, world):
    folder = mixer_of(app).folder.folder
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
         "fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)", str(folder / ".lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(MixerBusy, match="key folder"):
            Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"]).start()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_adopt_moved_is_refused_while_the_original_still_exists(app, world, tmp_path):
    if app.extensions["kundrost.db"].engine.dialect.name != "sqlite":
        pytest.skip("a file copy is the SQLite case")
    mixer_of(app)
    copy = tmp_path / "copy.sqlite3"
    subprocess.run(["sqlite3", app.extensions["kundrost.db"].engine.url.database, f".backup {copy}"], check=True)
    from app.db import Database
    from app.mixing.installation import MixerError, adopt

    staging = Database("sqlite:///" + str(copy))
    try:
        with pytest.raises(MixerError, match="adopt --copy"):
            adopt(staging, copied=False)
    finally:
        staging.dispose()


def test_rotate_from_another_folder_is_refused_even_with_nothing_waiting(app, world, runner, tmp_path):
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(mixer_key_dir=str(tmp_path / "laptop"))
    refused = runner.invoke(args=["mixer", "rotate"])
    assert refused.exit_code == 1 and "nor is the newest published key" in refused.output
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(AnswerKey)) == 1


def test_a_damaged_key_file_is_not_a_key_this_host_holds(app, world, runner):
    answer(app, world, 2)
    key_file = next(mixer_of(app).folder.folder.glob("*.key"))
    key_file.write_bytes(bytes(range(32)))  # 32 bytes, but not the published key's pair
    status = runner.invoke(args=["mixer", "status"])
    assert status.exit_code == 2
    assert "NOT on this host" in status.output and "2 waiting answers are sealed to keys not in" in status.output


def test_a_damaged_waiting_answer_is_a_problem_and_blocks_finalisation_until_discarded(app, world, runner):
    answer(app, world, 6)
    with app.app_context():
        row = db_session.scalars(select(WaitingAnswer)).first()
        sealed = bytearray(row.sealed)
        sealed[100] ^= 0xFF
        row.sealed = bytes(sealed)
        db_session.commit()
    once = runner.invoke(args=["mixer", "once"])
    assert once.exit_code == 2 and "1 waiting answers cannot be opened here" in once.output
    past_its_last_day(app)
    refused = runner.invoke(args=["mixer", "finalise", str(world.campaign_id)])
    assert refused.exit_code == 2 and "not finalised" in refused.output
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Invitation)) == 6  # nothing counted, nothing deleted
    done = runner.invoke(args=["mixer", "finalise", str(world.campaign_id), "--discard-damaged"])
    assert done.exit_code == 0, done.output
    assert "1 discarded by the operator" in done.output and "withheld" not in done.output
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(Response)) == 5


def test_a_database_error_never_prints_the_values_it_was_given(app):
    engine = app.extensions["kundrost.db"].engine
    from sqlalchemy import exc, insert

    canary = "Canary-svar-7f3a"
    with engine.connect() as connection:
        with pytest.raises(exc.IntegrityError) as caught:
            connection.execute(insert(Answer.__table__), {"response_id": "nope", "question_key": "q",
                                                           "text": canary, "dont_know": False})
    assert canary not in str(caught.value)


def test_on_sqlite_a_mixer_commit_is_synced_before_a_key_is_erased(app):
    engine = app.extensions["kundrost.db"].engine
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL syncs every commit (synchronous_commit)")
    mixer = mixer_of(app)
    with mixer._transaction() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL again for the app


@pytest.mark.parametrize("session_values", [
    {"grant": {"language": "\ud800"}}, {"grant": {"channel": "x\x00"}}, {"grant": {"form_nonce": "\ud800"}},
    {"draft": ["not", "a", "dict"]}, {"draft": {"for": "i1", "answers": "text"}},
    {"done": "yes"}, {"done": {"lang": 5, "at": "x"}},
])
def test_malformed_session_values_are_ignored_not_a_server_error(app, world, session_values):
    client = app.test_client()
    open_survey(client, world.invite(app)[0])
    with client.session_transaction() as session:
        for key, value in session_values.items():
            session[key] = {**session[key], **value} if key == "grant" else value
    for path in ("/survey", "/thanks"):
        assert client.get(path).status_code < 500
