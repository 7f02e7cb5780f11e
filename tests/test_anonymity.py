"""Anonymity is an invariant: these tests try to break it and must fail to.

An attacker here has the whole database after a campaign - every table,
every column, and the storage engine's own row metadata (PostgreSQL's xmin
and ctid, SQLite's rowid) - plus the application's logs. What the database
server's own files hold (WAL, -wal frames, dead rows, the server log) is
attacked by tests/adversary/, through a real server.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime, select, text, update

from app.campaigns.models import Campaign, Invitation
from app.campaigns.tokens import token_hash
from app.db import db_session
from app.mixing.models import WaitingAnswer
from app.models import metadata
from app.precompressed import HoledPage
from app.respond.models import Answer, Response

from .conftest import mixer_of, stockholm_today
from .helpers import count_responses, count_stored, definition_of, full_answers, open_survey, submit

CANARY_AGENT = "CanaryPhone/9.9 (UA-4f1d2c)"
CANARY_ADDRESS = "203.0.113.77"
RESPONDENT_TABLES = ("response", "answer", "answer_count", "response_tally", "waiting_answer", "form_nonce")
#: Stored in random key order on SQLite; waiting_answer's row number is its id
#: (its order is the order the database's log shows anyway: models.WaitingAnswer).
UNORDERED_TABLES = ("response", "answer", "answer_count", "response_tally", "form_nonce")
SCALE_POINTS = 5


def pattern(number: int, scale_keys: list[str]) -> dict[str, str]:
    """Scale answers that spell `number` in base 5: every respondent's answers differ."""
    digits = {}
    for key in scale_keys:
        number, digit = divmod(number, SCALE_POINTS)
        digits[key] = str(digit + 1)
    return digits


def run_campaign(app, world, answered: int = 24, seed: int = 7):
    """Answer `answered` of 40 invitations (one cell) in shuffled order, then mix and finalise.

    Returns (truth: response id -> invitation id, every token issued).
    """
    definition = definition_of(app, world)
    scale_keys = [q.key for q in definition.questions if q.type == "scale"]
    tokens = world.invite(app, "sv", count=40)
    rng = random.Random(seed)
    chosen = rng.sample(tokens, answered)
    sent = {}  # answer pattern -> invitation id
    for number, token in enumerate(chosen):
        client = app.test_client()
        headers = {"User-Agent": CANARY_AGENT, "X-Forwarded-For": CANARY_ADDRESS}
        client.environ_base["REMOTE_ADDR"] = CANARY_ADDRESS
        _, csrf = open_survey(client, token, **headers)
        answers = {**full_answers(definition), **pattern(number, scale_keys)}
        assert submit(client, csrf, answers, **headers).status_code == 303
        with app.app_context():
            sent[tuple(answers[k] for k in scale_keys)] = db_session.scalar(
                select(Invitation.id).where(Invitation.token_hash == token_hash(token)))
    mixer = mixer_of(app)
    mixer.round()  # one cell of `answered` >= 2k waiting: all but k are released
    with app.app_context():
        db_session.execute(update(Campaign).values(ends_on=stockholm_today() - timedelta(days=1)))
        db_session.commit()
    mixer.finalise(world.campaign_id, stockholm_today())
    truth = {}
    with app.app_context():
        for response_id, key, value in db_session.execute(select(Answer.response_id, Answer.question_key, Answer.value)):
            truth.setdefault(response_id, {})[key] = value
    truth = {rid: sent[tuple(str(values[k]) for k in scale_keys)] for rid, values in truth.items()}
    assert len(truth) == answered
    return truth, tokens


def dump(app) -> dict[str, list[dict]]:
    """Every row of every table, with the engine's row metadata where it has any."""
    tables = {}
    with app.app_context():
        connection = db_session.connection()
        dialect = connection.dialect.name
        for table in metadata.sorted_tables:
            extra = ""
            if dialect == "postgresql":
                extra = ", xmin::text AS _xmin, ctid::text AS _ctid"
            elif table.name not in UNORDERED_TABLES:
                extra = ", rowid AS _rowid"  # these have none, on purpose
            rows = connection.execute(text(f"SELECT *{extra} FROM {table.name}")).mappings().all()
            tables[table.name] = [dict(row) for row in rows]
    return tables


def test_a_submit_writes_no_response_and_nothing_readable(app, world):
    # The request that sends the answers writes only a sealed row: a response
    # appears only when the mixer releases a whole cell.
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    client = app.test_client()
    _, csrf = open_survey(client, world.invite(app)[0])
    answers = {**full_answers(definition), text_key: "Min coach heter Canary-Kanarie"}
    assert submit(client, csrf, answers).status_code == 303
    assert count_responses(app) == 0 and count_stored(app) == 1
    everything = repr(dump(app))
    assert "Canary-Kanarie" not in everything
    assert "Canary-Kanarie".encode() not in b"".join(
        bytes(row["sealed"]) for row in dump(app)["waiting_answer"])


def test_every_waiting_answer_of_a_survey_has_one_size_whatever_was_typed(app, world):
    # A ciphertext's length must not tell a long comment from none at all.
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    # Up to the browser's limit of 1,000 UTF-16 code units: three-byte
    # Ethiopic, four-byte emoji (two units each), and nothing at all.
    for typed in ("", "Bra.", "ሰላም " * 250, "😊" * 500, "ሰ" * 1000):
        client = app.test_client()
        _, csrf = open_survey(client, world.invite(app)[0])
        assert submit(client, csrf, {**full_answers(definition), text_key: typed}, action="send_anyway").status_code == 303
    client = app.test_client()
    _, csrf = open_survey(client, world.invite(app)[0])
    assert submit(client, csrf, {}, action="send_anyway").status_code == 303
    sizes = {len(bytes(row["sealed"])) for row in dump(app)["waiting_answer"]}
    # The Nacka survey pads to 3,584 bytes (a 1,000-unit text at 3 bytes a
    # unit fits), plus HPKE's 32-byte key and 16-byte tag.
    assert sizes == {3584 + 48}


def test_responses_cannot_be_paired_with_invitations(app, world):
    truth, _ = run_campaign(app, world)
    tables = dump(app)
    invitations = {row["id"]: row for row in tables["invitation"]}
    assert not invitations, "finalisation deletes the invitations"
    responses = tables["response"]
    guesses = {}
    if responses and "_xmin" in responses[0]:
        # Every response of one mixing shares that mixing's transaction: none
        # shares a claim's, and the mixing wrote at least k of them.
        per_xmin = {}
        for row in responses:
            per_xmin.setdefault(row["_xmin"], []).append(row)
        assert min(len(rows) for rows in per_xmin.values()) >= 5
    ordered_truth = [truth[row["id"]] for row in sorted(responses, key=lambda r: r.get("_ctid") or r["id"])]
    claimed_in_order = sorted(truth.values())
    guesses["physical or id order against issue order"] = sum(
        1 for guessed, actual in zip(claimed_in_order, ordered_truth) if guessed == actual)
    guesses["reverse order"] = sum(
        1 for guessed, actual in zip(reversed(claimed_in_order), ordered_truth) if guessed == actual)
    for strategy, correct in guesses.items():
        # 24 responses, each in a set of 24: chance is one right on average;
        # 7 or more has probability below 1e-4 (Poisson-binomial tail).
        assert correct < 7, f"pairing by {strategy} found {correct} of {len(truth)} pairs"


def test_no_value_in_a_response_points_at_an_invitation(app, world):
    definition = definition_of(app, world)
    tokens = world.invite(app, "sv", count=12)
    hashes = []
    with app.app_context():
        hashes = [row.token_hash for row in db_session.scalars(select(Invitation))]
    for token in tokens:
        client = app.test_client()
        _, csrf = open_survey(client, token)
        assert submit(client, csrf, full_answers(definition)).status_code == 303
    mixer_of(app).round()
    tables = dump(app)
    assert len(tables["response"]) == 12 - 5  # all but k = 5 released
    respondent_values = repr([tables[name] for name in RESPONDENT_TABLES])
    for digest in hashes:
        assert digest[:12] not in respondent_values


def test_respondent_columns_are_only_the_reviewed_ones():
    """A new column on these tables is an anonymity decision: review it, then list it here."""
    assert set(metadata.tables["response"].columns.keys()) == {
        "id", "survey_version_id", "status", "month",
        "campaign_id", "provider_id", "programme_id", "language", "channel",
        "index_score",  # a function of the response's own answers (docs/anonymity.md, "Summary tables")
        "partly_scored",  # likewise
    }
    # Sums over stored responses, no finer than their cells and with no time (docs/anonymity.md).
    assert set(metadata.tables["answer_count"].columns.keys()) == {
        "campaign_id", "dimension", "group_value", "question_key", "kind", "answer", "n",
    }
    assert set(metadata.tables["response_tally"].columns.keys()) == {
        "campaign_id", "dimension", "group_value", "complete", "partial", "scored", "score_sum", "score_squares",
        "partly_scored",
    }
    assert set(metadata.tables["answer"].columns.keys()) == {
        "response_id", "question_key", "value", "choice", "text", "dont_know",
    }
    assert set(metadata.tables["waiting_answer"].columns.keys()) == {"id", "campaign_id", "key_id", "sealed"}
    assert set(metadata.tables["form_nonce"].columns.keys()) == {"hash", "campaign_id"}
    assert set(metadata.tables["invitation"].columns.keys()) == {
        "id", "token_hash", "responded", "created_on",
        "campaign_id", "provider_id", "programme_id", "language", "channel",
    }
    assert set(metadata.tables["cell_count"].columns.keys()) == {
        "id", "campaign_id", "language_role", "provider_id", "programme_id", "channel", "language", "month",
        "issued", "answered", "complete", "partial", "withheld",
    }


def test_respondent_tables_have_no_reference_to_links_and_no_time_finer_than_a_month(app):
    for name in RESPONDENT_TABLES:
        table = metadata.tables[name]
        referenced = {fk.column.table.name for fk in table.foreign_keys}
        assert not referenced & {"invitation", "open_link"}, name
        assert not [c.name for c in table.columns if isinstance(c.type, DateTime)], name
    assert "responded_at" not in metadata.tables["invitation"].columns
    with app.app_context():
        if db_session.connection().dialect.name == "sqlite":
            # No hidden rowid: rows are stored in random-id order, not arrival order.
            for name in UNORDERED_TABLES:
                with pytest.raises(Exception, match="rowid"):
                    db_session.execute(text(f"SELECT rowid FROM {name}")).all()


def test_nothing_stored_names_a_token_an_address_or_a_browser(app, world):
    _, tokens = run_campaign(app, world, answered=10)
    everything = repr(dump(app))
    for token in tokens:
        assert token not in everything
    assert CANARY_ADDRESS not in everything
    assert "UA-4f1d2c" not in everything
    assert "CanaryPhone" not in everything


def test_response_ids_are_random_not_sequential(app, world):
    truth, _ = run_campaign(app, world, answered=12)
    ids = list(truth)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len({i[:8] for i in ids}) == 12  # no shared prefix as a counter would give
    with app.app_context():
        waiting_ids = list(db_session.scalars(select(WaitingAnswer.id)))
    assert waiting_ids == []  # finalisation left nothing waiting


def test_concurrent_submits_of_one_link_store_one_answer(app, world):
    definition = definition_of(app, world)
    token = world.invite(app)[0]
    first = app.test_client()
    _, csrf = open_survey(first, token)
    cookie = first.get_cookie("kr").value
    clients = [first] + [app.test_client() for _ in range(5)]
    for client in clients[1:]:
        client.set_cookie("kr", cookie)
    barrier = threading.Barrier(len(clients))
    results = []

    def send(client):
        barrier.wait()
        results.append(submit(client, csrf, full_answers(definition)).headers.get("Location"))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count_stored(app) == 1
    assert sorted(results) == ["/thanks"] + ["/thanks?again=1"] * (len(clients) - 1)


def test_concurrent_submits_in_one_cell_all_succeed(app, world):
    """No lock per cell: submits in one cell never wait for or refuse each other."""
    definition = definition_of(app, world)
    tokens = world.invite(app, count=6)
    prepared = []
    for token in tokens:
        client = app.test_client()
        _, csrf = open_survey(client, token)
        prepared.append((client, csrf))
    barrier = threading.Barrier(len(prepared))
    statuses = []

    def send(client, csrf):
        barrier.wait()
        statuses.append(submit(client, csrf, full_answers(definition)).headers.get("Location"))

    threads = [threading.Thread(target=send, args=pair) for pair in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == ["/thanks"] * len(tokens)
    assert count_stored(app) == len(tokens)


def test_session_cookie_forgets_the_link_after_sending(app, client, world):
    definition = definition_of(app, world)
    token = world.invite(app)[0]
    _, csrf = open_survey(client, token)
    # A language switch on the way leaves the answers so far as a draft in the cookie.
    client.post("/survey", data={"csrf_token": csrf, "switch_to": "en", **full_answers(definition, 2)})
    with client.session_transaction() as session:
        assert "grant" in session and "draft" in session  # so that their absence below means something
    submit(client, csrf, full_answers(definition))
    with client.session_transaction() as session:
        assert "grant" not in session and "draft" not in session
        done = session["done"]  # kept only in the customer's own cookie
        assert set(done) == {"lang", "at", "receipts"}
        # The receipt is a keyed hash: neither the token nor the hash the database keeps of it.
        [[receipt, language]] = done["receipts"]
        assert language == "en"  # the language it was sent in, after the switch
        assert len(receipt) == 22 and receipt != token
        assert receipt not in hashlib.sha256(token.encode()).hexdigest()


def test_what_a_process_keeps_between_requests_holds_nothing_of_a_customer(app, world):
    # The server's own memory is part of "nothing stored": the kept blank pages,
    # campaign scopes and the published key must hold no token, no form secret, no answer.
    definition = definition_of(app, world)
    text_key = next(q.key for q in definition.questions if q.type == "text")
    secrets = []
    for language in ("ar", "ti"):
        client = app.test_client()
        token = world.invite(app, language)[0]
        _, csrf = open_survey(client, token)
        answers = {**full_answers(definition), text_key: f"Min handläggare heter Canary-{language}"}
        assert submit(client, csrf, answers).status_code == 303
        secrets += [token, csrf, answers[text_key], csrf.split(".")[0]]
    kept = [app.extensions[key] for key in app.extensions if key.startswith("kundrost.respond.")]
    assert len(kept) == 3, "the respond blueprint keeps its blank pages, its scopes and the published key"
    memory = repr([store if isinstance(store, dict) else vars(store) for store in kept])
    for blank_page in _holed_pages(kept):
        memory += (blank_page.prefix + blank_page.suffix).decode()
    for secret in secrets:
        assert secret not in memory


def _holed_pages(kept):
    for store in kept:
        for entry in (store.values() if isinstance(store, dict) else ()):
            for part in entry:
                if isinstance(part, HoledPage):
                    yield part


def test_responses_table_holds_only_what_the_mixer_wrote(app, world):
    # A cell below 2k is not mixed: its answers stay sealed, and no figure shows them.
    definition = definition_of(app, world)
    for token in world.invite(app, count=9):
        client = app.test_client()
        _, csrf = open_survey(client, token)
        assert submit(client, csrf, full_answers(definition)).status_code == 303
    mixer_of(app).round()
    assert count_responses(app) == 0 and count_stored(app) == 9
    token = world.invite(app)[0]
    client = app.test_client()
    _, csrf = open_survey(client, token)
    assert submit(client, csrf, full_answers(definition)).status_code == 303
    mixer_of(app).round()
    assert count_responses(app) == 5 and count_stored(app) == 10
    stockholm_month = datetime.now(ZoneInfo("Europe/Stockholm")).date().replace(day=1)
    with app.app_context():
        assert set(db_session.scalars(select(Response.month))) == {stockholm_month}
