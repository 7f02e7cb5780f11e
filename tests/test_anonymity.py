"""Anonymity is an invariant: these tests try to break it and must fail to.

An attacker here has the whole database after a campaign - every table,
every column, and the storage engine's own row metadata (PostgreSQL's xmin
and ctid, SQLite's rowid) - plus the application's logs.
"""

from __future__ import annotations

import random
import re
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import DateTime, inspect, select, text

from app.campaigns.models import Invitation
from app.campaigns.tokens import token_hash
from app.db import db_session
from app.models import metadata
from app.precompressed import HoledPage
from app.respond.models import Response

from .helpers import count_responses, definition_of, full_answers, open_survey, submit

CANARY_AGENT = "CanaryPhone/9.9 (UA-4f1d2c)"
CANARY_ADDRESS = "203.0.113.77"
RESPONDENT_TABLES = ("response", "answer")


def run_campaign(app, world, answered: int = 24, seed: int = 7):
    """Answer `answered` of 40 invitations (in one cell) in shuffled order; return truth."""
    definition = definition_of(app, world)
    tokens = world.invite(app, "sv", count=40)
    rng = random.Random(seed)
    chosen = rng.sample(tokens, answered)
    truth = {}  # response id -> invitation id
    for number, token in enumerate(chosen):
        client = app.test_client()
        headers = {"User-Agent": CANARY_AGENT, "X-Forwarded-For": CANARY_ADDRESS}
        client.environ_base["REMOTE_ADDR"] = CANARY_ADDRESS
        _, csrf = open_survey(client, token, **headers)
        answers = full_answers(definition, 1 + number % 5)
        assert submit(client, csrf, answers, **headers).status_code == 303
        with app.app_context():
            new = set(db_session.scalars(select(Response.id))) - set(truth)
            invitation_id = db_session.scalar(select(Invitation.id).where(Invitation.token_hash == token_hash(token)))
        [response_id] = new
        truth[response_id] = invitation_id
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
            elif table.name not in RESPONDENT_TABLES:
                extra = ", rowid AS _rowid"  # response and answer have none, on purpose
            rows = connection.execute(text(f"SELECT *{extra} FROM {table.name}")).mappings().all()
            tables[table.name] = [dict(row) for row in rows]
    return tables


def _ctid_key(ctid: str) -> tuple[int, int]:
    page, item = ctid.strip("()").split(",")
    return int(page), int(item)


def pairing_attempts(tables) -> dict[str, dict[str, int]]:
    """Each strategy's guess: response id -> invitation id."""
    invitations = [row for row in tables["invitation"] if row["responded"]]
    responses = tables["response"]
    guesses = {}
    for column in ("_xmin",):
        if responses and column in responses[0]:
            by_value = {}
            for invitation in invitations:
                by_value.setdefault(invitation[column], []).append(invitation["id"])
            guesses[f"same {column}"] = {
                r["id"]: by_value[r[column]][0] for r in responses if len(by_value.get(r[column], [])) == 1
            }
    order_keys = {"id": lambda row: row["id"]}
    if "_ctid" in (responses[0] if responses else {}):
        order_keys["ctid"] = lambda row: _ctid_key(row["_ctid"])
    if "_xmin" in (responses[0] if responses else {}):
        order_keys["xmin"] = lambda row: int(row["_xmin"])
    if "_rowid" in (invitations[0] if invitations else {}):
        order_keys["rowid"] = lambda row: row.get("_rowid", row["id"])
    for name, key in order_keys.items():
        for reverse in (False, True):
            ranked_invitations = sorted(invitations, key=key, reverse=reverse)
            ranked_responses = sorted(responses, key=key if name != "rowid" else order_keys["id"])
            guesses[f"order by {name}{' desc' if reverse else ''}"] = {
                r["id"]: i["id"] for r, i in zip(ranked_responses, ranked_invitations)
            }
    return guesses


def test_responses_cannot_be_paired_with_invitations(app, world):
    truth, _ = run_campaign(app, world)
    tables = dump(app)
    for strategy, guess in pairing_attempts(tables).items():
        correct = sum(1 for response_id, invitation_id in guess.items() if truth.get(response_id) == invitation_id)
        # 24 pairs in one cell: chance gives one right on average; 5 or more would be a leak.
        assert correct < 5, f"pairing by {strategy} found {correct} of {len(truth)} pairs"


def test_no_value_in_a_response_points_at_an_invitation(app, world):
    run_campaign(app, world, answered=10)
    tables = dump(app)
    hashes = {row["token_hash"] for row in tables["invitation"]}
    respondent_values = repr([tables[name] for name in RESPONDENT_TABLES])
    for digest in hashes:
        assert digest[:12] not in respondent_values


def test_respondent_columns_are_only_the_reviewed_ones():
    """A new column on a response is an anonymity decision: review it, then list it here."""
    assert set(metadata.tables["response"].columns.keys()) == {
        "id", "survey_version_id", "status", "week",
        "campaign_id", "provider_id", "programme_id", "language", "channel",
    }
    assert set(metadata.tables["answer"].columns.keys()) == {
        "response_id", "question_key", "value", "choice", "text", "dont_know",
    }
    assert set(metadata.tables["invitation"].columns.keys()) == {
        "id", "token_hash", "responded", "created_on",
        "campaign_id", "provider_id", "programme_id", "language", "channel",
    }


def test_respondent_tables_have_no_reference_to_links_and_no_time_finer_than_a_week(app):
    for name in RESPONDENT_TABLES:
        table = metadata.tables[name]
        referenced = {fk.column.table.name for fk in table.foreign_keys}
        assert not referenced & {"invitation", "open_link"}, name
        assert not [c.name for c in table.columns if isinstance(c.type, DateTime)], name
    assert "responded_at" not in metadata.tables["invitation"].columns
    with app.app_context():
        if db_session.connection().dialect.name == "sqlite":
            # No hidden rowid: rows are stored in random-id order, not arrival order.
            for name in RESPONDENT_TABLES:
                with pytest.raises(Exception):
                    db_session.execute(text(f"SELECT rowid FROM {name}")).all()


def test_nothing_stored_names_a_token_an_address_or_a_browser(app, world):
    _, tokens = run_campaign(app, world, answered=5)
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
    assert ids != sorted(ids)  # arrival order is not id order (chance: 1 in 12!)


def test_concurrent_submits_of_one_link_store_one_response(app, world):
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
    assert count_responses(app) == 1
    assert sorted(results) == ["/thanks"] + ["/thanks?again=1"] * (len(clients) - 1)


def test_concurrent_submits_in_one_cell_all_succeed(app, world):
    """Claims in one cell are serialised, not refused, and never deadlock."""
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
    assert count_responses(app) == len(tokens)
    tables = dump(app)
    if "_xmin" in tables["invitation"][0]:
        # Each claim rewrote every used invitation of the cell after the one
        # before it had committed: none kept the xmin of its own response.
        assert len({row["_xmin"] for row in tables["invitation"] if row["responded"]}) == 1


def test_session_cookie_forgets_the_link_after_sending(app, client, world):
    definition = definition_of(app, world)
    _, csrf = open_survey(client, world.invite(app)[0])
    submit(client, csrf, full_answers(definition))
    with client.session_transaction() as session:
        assert "grant" not in session and "draft" not in session
        done_at = datetime.fromtimestamp(session["done"]["at"], tz=timezone.utc)
        assert done_at.year >= 2026  # kept only in the customer's own cookie


def test_what_a_process_keeps_between_requests_holds_nothing_of_a_customer(app, world):
    # The server's own memory is part of "nothing stored": the kept blank pages
    # and campaign scopes must hold no token, no form secret, no answer.
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
    assert kept, "the respond blueprint keeps its pages and scopes in app.extensions"
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
