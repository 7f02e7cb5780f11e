"""Posting twice under load, with gunicorn workers SIGKILLed mid-request:
nothing lost, nothing stored twice (issue 8, kind 7).

A real gunicorn with the production settings (`-c python:app.serving`, three
sync workers) serves the test's database. Staff members sign in and create
batches of single-use links; customers answer on those links and on open
(QR) links; some send each form twice at the same moment (a double tap).
Meanwhile workers die in two ways: a killer thread SIGKILLs a random busy
worker every few tenths of a second (anywhere in a request), and
`KUNDROST_CRASH_AT` makes a worker kill itself right after it committed a
staff form or a submit, before its answer leaves (the worst moment: done,
and the browser does not know). Every browser does what a phone or a
browser does when a reply never comes: it sends the same request again,
with the cookie it had. Then the database must hold exactly what was asked
for: per batch its links, once; per customer one answer - waiting, and
after the mixer's round, as responses and what still waits.

gunicorn runs with `--preload`: a killed worker is forked again from the
loaded app in milliseconds instead of importing it afresh (seconds on a
busy CI machine); the code a worker runs is the same. `--no-control-socket`:
tests on one machine must not share gunicorn's control socket.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Invitation, InvitationBatch
from app.db import db_session
from app.mixing.mixer import RoundReport
from app.respond.models import Answer, Response
from app.surveys.definition import ScaleQuestion

from .conftest import PASSWORD, ROOT, mixer_of
from .forms import hidden_fields
from .helpers import definition_of, full_answers

LINK = re.compile(r"https://enkat\.example\.se/s/([A-Za-z0-9]{22})")
WORKERS = 3
STAFF = 3
BATCHES_PER_STAFF = 2
LINKS_PER_BATCH = 6
OPEN_ANSWERS = 20
#: Each customer's number is spelt in base 5 by this many scale answers (value = digit + 1).
DIGITS = 4
OPEN_NUMBER_BASE = 300
#: A worker kills itself after every commit of a staff form (so every batch's
#: first reply is lost, whatever the scheduling: the assertion below on cut
#: posts cannot depend on chance) and after a quarter of its submits.
CRASH_AT = "form.done@1,submit.stored@0.25"
ATTEMPTS = 40


@dataclass
class Stats:
    """What the browsers saw: requests cut off (and sent again), per method and per form."""

    cut: Counter = field(default_factory=Counter)
    cut_posts: Counter = field(default_factory=Counter)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Browser:
    """One browser: its session cookie, and the patience of a phone.

    A request whose answer never comes (the worker died) is sent again,
    unchanged, with the cookie the browser had - as a browser resends a form
    after "the connection was reset", or a person taps again.
    """

    def __init__(self, port: int, stats: Stats, cookie: str | None = None):
        self.port, self.stats, self.cookie = port, stats, cookie

    def copy(self) -> "Browser":
        return Browser(self.port, self.stats, self.cookie)

    def request(self, method: str, path: str, fields: dict | None = None) -> tuple[int, str, str]:
        """(status, Location or "", body) of the first answer that arrives whole."""
        body = urlencode(fields, doseq=True) if fields is not None else None
        for _ in range(ATTEMPTS):
            headers = {"Cookie": f"kr={self.cookie}"} if self.cookie else {}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            with self.stats.lock:
                self.stats.in_flight += 1
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read().decode()
            except (OSError, http.client.HTTPException):
                with self.stats.lock:
                    self.stats.cut[method] += 1
                    if method == "POST":
                        self.stats.cut_posts[path.rsplit("/", 1)[-1]] += 1
                time.sleep(0.05)
                continue
            finally:
                with self.stats.lock:
                    self.stats.in_flight -= 1
                connection.close()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("kr="):
                    self.cookie = value.split(";", 1)[0][3:] or None
            assert response.status < 500, f"{method} {path}: {response.status}"
            return response.status, response.getheader("Location") or "", text
        raise AssertionError(f"{method} {path}: no answer in {ATTEMPTS} attempts")

    def get(self, path: str) -> tuple[int, str, str]:
        return self.request("GET", path)

    def post(self, path: str, fields: dict) -> tuple[int, str, str]:
        return self.request("POST", path, fields)


def twice_at_once(browser: Browser, path: str, fields: dict) -> list[tuple[int, str, Browser]]:
    """The same form sent by two copies of one browser at the same moment (a double tap)."""
    copies = [browser.copy(), browser.copy()]
    start = threading.Barrier(2)

    def send(copy: Browser):
        start.wait()
        status, location, _ = copy.post(path, fields)
        return status, location, copy

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(send, copies))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(app, config, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "SECRET_KEY": config.secret_key,
        "PUBLIC_URL": config.public_url,
        "SECURE_COOKIES": "0",
        "RATELIMIT_LINK_OPEN": "100000 per minute",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        "KUNDROST_CRASH_AT": CRASH_AT,
    }
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:app.serving", "--preload", "--no-control-socket",
         "app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("gunicorn did not start")
    yield port, process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def workers_of(arbiter: int) -> list[int]:
    try:
        with open(f"/proc/{arbiter}/task/{arbiter}/children") as children:
            return [int(pid) for pid in children.read().split()]
    except FileNotFoundError:
        return []


def killer(arbiter: int, stats: Stats, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL a random worker of our gunicorn now and then, while requests are in flight."""
    chance = random.Random(20261201)
    # Every 0.15-0.3 s: a run of a few seconds sees enough kills (>= 5, asserted) also on a loaded machine.
    while not stop.wait(chance.uniform(0.15, 0.3)):
        with stats.lock:
            busy = stats.in_flight > 0
        pids = workers_of(arbiter)
        if busy and pids:
            pid = chance.choice(pids)
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass


def encode(number: int, keys: list[str]) -> dict[str, str]:
    digits = [(number // 5**i) % 5 for i in range(len(keys))]
    return {key: str(digit + 1) for key, digit in zip(keys, digits)}


def decode(values: dict[str, int], keys: list[str]) -> int:
    return sum((values[key] - 1) * 5**i for i, key in enumerate(keys))


def sign_in(port: int, stats: Stats, username: str) -> Browser:
    browser = Browser(port, stats)
    _, _, page = browser.get("/staff/login")
    status, location, _ = browser.post("/staff/login", {
        **hidden_fields(page, "/staff/login", "/staff/login"), "username": username, "password": PASSWORD})
    assert (status, location) == (303, "/staff/")
    return browser


def make_batch(browser: Browser, world, provider: int, language: str) -> list[str]:
    """Create one batch of links (the form sent twice at once), then read its page."""
    action = f"/staff/campaigns/{world.campaign_id}/invitations"
    _, _, page = browser.get(f"/staff/campaigns/{world.campaign_id}")
    fields = {**hidden_fields(page, action), "provider": world.provider_ids[provider],
              "programme": world.programme_ids[0], "language": language, "count": LINKS_PER_BATCH}
    answers = twice_at_once(browser, action, fields)
    assert {(status, location) for status, location, _ in answers} == {(303, answers[0][1])}
    assert re.fullmatch(rf"/staff/campaigns/{world.campaign_id}/links/\d+", answers[0][1])
    shown = []
    for _, location, copy in answers:  # each copy's cookie can show the batch
        status, _, links_page = copy.get(location)
        assert status == 200
        shown.append(LINK.findall(links_page))
    assert shown[0] == shown[1] and len(shown[0]) == LINKS_PER_BATCH
    return shown[0]


def answer(port: int, stats: Stats, opening: str, fields: dict, double: bool) -> list[str]:
    """A customer opens a link, reads the survey and sends it (once, or twice at once)."""
    browser = Browser(port, stats)
    status, location, _ = browser.get(opening)
    assert status == 303 and location.startswith("/survey?opened=")  # the link's language, never its token
    _, _, page = browser.get(location)
    form = {**hidden_fields(page, "/survey"), **fields, "action": "send"}
    if double:
        return sorted(location for _, location, _ in twice_at_once(browser, "/survey", form))
    status, location, _ = browser.post("/survey", form)
    assert status == 303
    return [location]


def test_posting_twice_under_load_with_workers_killed_loses_nothing_and_stores_nothing_twice(
        app, world, make_user, gunicorn):
    port, process = gunicorn
    definition = definition_of(app, world)
    keys = [q.key for q in definition.questions if isinstance(q, ScaleQuestion)][:DIGITS]
    base = full_answers(definition, 3)
    for number in range(STAFF):
        make_user(username=f"staff{number}")
    stats, stop, killed = Stats(), threading.Event(), []
    kill_thread = threading.Thread(target=killer, args=(process.pid, stats, stop, killed), daemon=True)
    kill_thread.start()
    started = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            # Staff make batches while customers answer on an open link.
            staff = [sign_in(port, stats, f"staff{n}") for n in range(STAFF)]
            batches = [pool.submit(make_batch, staff[n], world, b % 2, ("sv", "ti", "ar")[(n + b) % 3])
                       for n in range(STAFF) for b in range(BATCHES_PER_STAFF)]
            code = world.open_link_code(app)
            open_sends = [
                pool.submit(answer, port, stats, f"/o/{code}", {**base, **encode(OPEN_NUMBER_BASE + i, keys)}, i % 4 == 0)
                for i in range(OPEN_ANSWERS)
            ]
            per_batch = [batch.result() for batch in batches]
            tokens = [token for batch in per_batch for token in batch]
            link_sends = [
                pool.submit(answer, port, stats, f"/s/{token}", {**base, **encode(i + 1, keys)}, i % 5 == 0)
                for i, token in enumerate(tokens)
            ]
            thanked = [send.result() for send in open_sends + link_sends]
    finally:
        stop.set()
        kill_thread.join()
    elapsed = time.monotonic() - started

    # Every customer was thanked. A send whose answer was lost hears on its
    # retry that the answers were received; of a double tap one is thanked
    # (unless its answer was lost too) and the other hears they were received.
    for locations in thanked:
        assert locations in (["/thanks"], ["/thanks?again=1"], ["/thanks", "/thanks?again=1"],
                             ["/thanks?again=1", "/thanks?again=1"]), locations
    assert sum(len(locations) == 2 for locations in thanked) == OPEN_ANSWERS // 4 + -(-len(tokens) // 5)
    # Per batch its links, once: every link shown is an invitation, and there are no others.
    batch_count = STAFF * BATCHES_PER_STAFF
    assert len(tokens) == len(set(tokens)) == batch_count * LINKS_PER_BATCH
    with app.app_context():
        stored = Counter(db_session.scalars(select(Invitation.token_hash)))
        assert db_session.scalar(select(func.count()).select_from(InvitationBatch)) == batch_count
        assert db_session.scalar(select(func.sum(InvitationBatch.count))) == batch_count * LINKS_PER_BATCH
        answered = db_session.scalar(select(func.count()).select_from(Invitation).where(Invitation.responded))
    for batch in per_batch:
        assert sum(stored[hashlib.sha256(token.encode()).hexdigest()] for token in batch) == LINKS_PER_BATCH
    assert sum(stored.values()) == batch_count * LINKS_PER_BATCH  # and no invitation besides
    assert answered == len(tokens)
    # Per customer one answer: waiting now, then responses and what still waits after the mixer.
    expected = Counter(list(range(1, len(tokens) + 1)) + [OPEN_NUMBER_BASE + i for i in range(OPEN_ANSWERS)])
    mixer = mixer_of(app)
    waiting = [item.sheet for item in mixer.open_waiting(world.campaign_id, RoundReport())]
    assert Counter(decode({k: a.value for k, a in s.answers.items()}, keys) for s in waiting) == expected
    report = mixer.round()
    assert report.problems == []
    with app.app_context():
        rows = db_session.execute(
            select(Answer.response_id, Answer.question_key, Answer.value).where(Answer.question_key.in_(keys))).all()
        responses = db_session.scalar(select(func.count()).select_from(Response))
    per_response: dict[str, dict[str, int]] = {}
    for response_id, key, value in rows:
        per_response.setdefault(response_id, {})[key] = value
    still_waiting = [item.sheet for item in mixer.open_waiting(world.campaign_id, RoundReport())]
    assert responses > 0
    assert Counter([decode(values, keys) for values in per_response.values()]
                   + [decode({k: a.value for k, a in s.answers.items()}, keys) for s in still_waiting]) == expected
    # The kills happened, mid-request, to posts as well as to pages.
    assert len(killed) >= 5, killed
    assert stats.cut_posts["invitations"] >= 1 and stats.cut_posts["survey"] >= 5, stats.cut_posts
    print(f"\n{len(expected)} customers, {batch_count} batches in {elapsed:.1f} s;"
          f" {len(killed)} workers killed from outside; requests cut and sent again: {dict(stats.cut)},"
          f" of them posts {dict(stats.cut_posts)}")
