"""The campaign the adversary attacks: real HTTP through a real gunicorn.

`run_campaign` sets up a municipality in-process with the app's own
services (providers, programmes, a campaign, invitations issued day by
day as the providers send their text messages), then has a few hundred
customers answer over HTTP, day after simulated day, through gunicorn
started with the production settings (`-c python:app.serving`) under
libfaketime, so that every day is a different date for the app. Where the
application has a mixer (`flask --app app mixer`), it runs before the first
submit, after every day and - `mixer finalise` - once the campaign is over.

Ground truth travels in the answers: every respondent gets a number, and
the first ENCODING_DIGITS scale questions spell it in base 5 (value =
digit + 1). Whatever the storage does with rows, a stored response's
answers tell which respondent - which invitation, or which open-link
answer - it came from.

Days run one gunicorn each (started at 08:00 of that day, stopped after
the day's traffic): every process sees one steady clock from its start, so
gunicorn's worker timeout stays the production one. One long-lived server
with FAKETIME_TIMESTAMP_FILE would see the date jump a day forward under
it, which needs `--timeout 0`, and re-reads the file on every clock call.
libfaketime fakes the wall clock only (FAKETIME_DONT_FAKE_MONOTONIC=1):
with the monotonic clock faked too, Python's timed lock waits never return
(see faketime_shim/sitecustomize.py, which also mends time.sleep). On
SQLite a connection of the driver's own stays open for the whole campaign,
as a long-running server's pool would, so that the restarts do not
checkpoint and delete the write-ahead log every night.
"""

from __future__ import annotations

import concurrent.futures
import http.cookiejar
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIM = Path(__file__).resolve().parent / "faketime_shim"

SURVEY_KEY = "nacka-arbetsmarknad"
LINK_LANGUAGES = ("sv", "ar", "ti")
#: A customer may switch to any language the survey has; these are the ones the driver picks.
SWITCH_LANGUAGES = ("sv", "ar", "ti", "en")
PROVIDERS = (("Nordljus Kompetens AB", 0.40), ("Bro Utbildning & Coachning", 0.35), ("Stegvis Arbetsliv AB", 0.25))
PROGRAMMES = (("JPG", "Jobbpeng grund", 0.6), ("SO", "Samhällsorientering", 0.4))
LANGUAGE_WEIGHTS = {"sv": 0.45, "ar": 0.33, "ti": 0.22}

#: Sent with every request; must appear nowhere the database keeps.
CANARY_AGENT = "CanaryPhone/9.9 (UA-7c3e91)"
CANARY_ADDRESS = "198.51.100.203"

#: The respondent's number lives in this many scale questions (5**5 = 3125 numbers).
ENCODING_DIGITS = 5
#: Numbers of open-link answers start here; invitation answers use 1..invitations.
OPEN_NUMBER_BASE = 2000

LIBFAKETIME_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
)

CSRF_PATTERN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class DriverError(AssertionError):
    """The campaign could not be run as planned (the app misbehaved, or a tool is missing)."""


def libfaketime() -> str | None:
    for candidate in LIBFAKETIME_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    return None


# --------------------------------------------------------------------------- plan


@dataclass
class Plan:
    seed: int = 20270125
    invitations: int = 400
    answered: int = 250
    open_answers: int = 36
    #: 16 days spanning the end of January and the start of February.
    first_day: date = date(2027, 1, 25)
    days: int = 16
    #: Invitations are sent on the first `send_days` days.
    send_days: int = 11
    sequential_double_submits: int = 15
    concurrent_double_submits: int = 12
    open_concurrent_double_submits: int = 4
    language_switches: int = 35
    reopens: int = 25
    abandoned: int = 20
    blank_share: float = 0.15
    http_threads: int = 3

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)


@dataclass
class InvitationRecord:
    index: int  # 0-based; the respondent number is index + 1
    cell: tuple[int, int, str]  # provider no., programme no., link language
    send_day: int
    send_seq: int  # global order of sending (day, then order within the day's batches)
    token: str = ""
    invitation_id: int | None = None
    answer_day: int | None = None
    abandoned: bool = False
    reopen_day: int | None = None
    double: str | None = None  # "sequential" | "concurrent"
    switch_to: str | None = None


@dataclass
class OpenAnswer:
    number: int
    cell: tuple[int, int, str]
    day: int
    double: bool = False
    switch_to: str | None = None


@dataclass
class Submission:
    """One send that the app stored (or said it stored), as a provider could learn of it."""

    day: int
    seq: int  # completion order over the whole campaign
    number: int
    invitation_id: int | None
    monotonic: float


@dataclass
class CampaignRun:
    """What the driver knows: the truth the attacks are scored against."""

    database_url: str
    campaign_id: int
    provider_ids: list[int]
    programme_ids: list[int]
    invitations: list[InvitationRecord]
    open_answers: list[OpenAnswer]
    submissions: list[Submission] = field(default_factory=list)
    mixer: bool = False
    mixer_runs: list[str] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    gunicorn_log: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    #: scale question keys carrying the number, in digit order
    encoding_keys: list[str] = field(default_factory=list)

    def truth_of_number(self, number: int) -> tuple[str, int | None] | None:
        if OPEN_NUMBER_BASE <= number < OPEN_NUMBER_BASE + len(self.open_answers):
            return ("open", None)
        if 1 <= number <= len(self.invitations):
            record = self.invitations[number - 1]
            if record.answer_day is not None:
                return ("invitation", record.invitation_id)
        return None

    @property
    def tokens(self) -> list[str]:
        return [record.token for record in self.invitations]

    def invitation_scope(self, invitation_id: int) -> tuple[int, int, str]:
        record = self._by_id()[invitation_id]
        provider, programme, language = record.cell
        return (self.provider_ids[provider], self.programme_ids[programme], language)

    def send_order(self) -> list[int]:
        return [r.invitation_id for r in sorted(self.invitations, key=lambda r: r.send_seq)]

    def _by_id(self) -> dict[int, InvitationRecord]:
        return {r.invitation_id: r for r in self.invitations}


def _weighted(rng: random.Random, weights: dict) -> object:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def make_plan(plan: Plan) -> tuple[list[InvitationRecord], list[OpenAnswer]]:
    rng = random.Random(plan.seed)
    provider_w = {i: w for i, (_, w) in enumerate(PROVIDERS)}
    programme_w = {i: w for i, (_, _, w) in enumerate(PROGRAMMES)}
    cells = [(p, q, lang) for p in provider_w for q in programme_w for lang in LINK_LANGUAGES]
    cell_w = {c: provider_w[c[0]] * programme_w[c[1]] * LANGUAGE_WEIGHTS[c[2]] for c in cells}
    # Each cell sends its links in two or three batches on different days.
    batch_days = {c: sorted(rng.sample(range(plan.send_days), rng.choice((2, 3)))) for c in cells}
    drafts = []
    for _ in range(plan.invitations):
        cell = _weighted(rng, cell_w)
        drafts.append((rng.choice(batch_days[cell]), cells.index(cell), rng.random(), cell))
    drafts.sort()
    invitations = [
        InvitationRecord(index=i, cell=cell, send_day=day, send_seq=i)
        for i, (day, _, _, cell) in enumerate(drafts)
    ]
    delays = [0] * 45 + [1] * 25 + [2] * 12 + [3] * 8 + [4, 5, 6, 7, 8] * 2
    for record in rng.sample(invitations, plan.answered):
        record.answer_day = min(record.send_day + rng.choice(delays), plan.days - 1)
    answered = [r for r in invitations if r.answer_day is not None]
    unanswered = [r for r in invitations if r.answer_day is None]
    for record in rng.sample(unanswered, min(plan.abandoned, len(unanswered))):
        record.abandoned = True
        record.answer_day = None
    doubles = rng.sample(answered, plan.sequential_double_submits + plan.concurrent_double_submits)
    for n, record in enumerate(doubles):
        record.double = "sequential" if n < plan.sequential_double_submits else "concurrent"
    for record in rng.sample(answered, plan.language_switches):
        record.switch_to = rng.choice([x for x in SWITCH_LANGUAGES if x != record.cell[2]])
    for record in rng.sample(answered, plan.reopens):
        record.reopen_day = min(record.answer_day + rng.choice((0, 1, 2, 4)), plan.days - 1)
    opens = []
    for j in range(plan.open_answers):
        cell = _weighted(rng, cell_w)
        switch = rng.choice(SWITCH_LANGUAGES) if rng.random() < 0.15 else None
        opens.append(OpenAnswer(OPEN_NUMBER_BASE + j, cell, rng.randrange(plan.days),
                                double=j < plan.open_concurrent_double_submits,
                                switch_to=switch if switch != cell[2] else None))
    return invitations, opens


# --------------------------------------------------------------------------- answers


def encode(number: int, keys: list[str]) -> dict[str, str]:
    return {key: str((number // 5**d) % 5 + 1) for d, key in enumerate(keys)}


def decode(values: dict[str, int | None], keys: list[str]) -> int | None:
    """The respondent number from a stored response's scale values, or None."""
    number = 0
    for d, key in enumerate(keys):
        value = values.get(key)
        if value is None or not 1 <= value <= 5:
            return None
        number += (value - 1) * 5**d
    return number


def answers_for(number: int, definition, rng: random.Random, blank_share: float) -> tuple[dict[str, str], bool]:
    """The posted form of respondent `number`; True if it leaves a required question blank."""
    from app.surveys.definition import ChoiceQuestion, ScaleQuestion, TextQuestion, YesNoQuestion

    scale_keys = [q.key for q in definition.questions if isinstance(q, ScaleQuestion)]
    form = encode(number, scale_keys[:ENCODING_DIGITS])
    blank = False
    leaves_blank = rng.random() < blank_share
    for question in definition.questions:
        if question.key in form:
            continue
        if isinstance(question, ScaleQuestion):
            roll = rng.random()
            if leaves_blank and roll < 0.35:
                blank = True
                continue
            form[question.key] = "dk" if roll > 0.93 else str(rng.choice((2, 3, 4, 4, 5, 5)))
        elif isinstance(question, YesNoQuestion):
            if leaves_blank and rng.random() < 0.5:
                blank = True
                continue
            form[question.key] = rng.choice(("yes", "yes", "no"))
        elif isinstance(question, ChoiceQuestion) and question.key == "gender":
            choice = rng.choices(("woman", "man", "other", ""), weights=(46, 44, 4, 6))[0]
            if choice:
                form[question.key] = choice
        elif isinstance(question, TextQuestion):
            if rng.random() < 0.2:
                form[question.key] = rng.choice(("Bra.", "Mer praktik, tack.", "شكراً", "ጽቡቕ"))
    return form, blank


# --------------------------------------------------------------------------- HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One phone: its own cookies; every request carries the canary headers."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None):
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def clone(self) -> Browser:
        """A second tab holding the same cookies (a double click sends both)."""
        jar = http.cookiejar.CookieJar()
        for cookie in self.jar:
            jar.set_cookie(cookie)
        return Browser(self.base, jar)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("User-Agent", CANARY_AGENT)
        request.add_header("X-Forwarded-For", CANARY_ADDRESS)
        request.add_header("Accept-Language", "sv")
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=30) as reply:
                return reply.status, dict(reply.headers), reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")
            return error.code, dict(error.headers), body


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not match:
        raise DriverError("no CSRF token in the survey page")
    return match.group(1)


def _expect(what: str, status: int, wanted: tuple[int, ...], headers: dict, body: str) -> None:
    if status not in wanted:
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
        notes = re.findall(r'class="[^"]*(?:error|skipped|notice)[^"]*"[^>]*>(.*?)<', body)
        raise DriverError(f"{what}: HTTP {status} (wanted {wanted}); Location={headers.get('Location')!r}; "
                          f"page heading {heading.group(1).strip() if heading else None!r}; notes {notes[:3]!r}")


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with the production settings, its clock set to `moment` by libfaketime."""

    def __init__(self, env: dict[str, str], moment: str, log_path: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**env, "BIND": f"127.0.0.1:{self.port}", "FAKETIME": "@" + moment}
        self.log = open(log_path, "ab")
        self.log.write(f"\n==== gunicorn at {moment} ====\n".encode())
        self.log.flush()
        # --no-control-socket: gunicorn's control socket lives at one path per
        # user; another gunicorn on the machine must not be disturbed.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.serving", "--no-control-socket", "app:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DriverError(f"gunicorn exited with {self.process.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise DriverError(f"gunicorn did not answer /health within 60 s; see {log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def flask_cli(env: dict[str, str], moment: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT, env={**env, "FAKETIME": "@" + moment}, capture_output=True, text=True, timeout=600,
    )
    if check and result.returncode != 0:
        raise DriverError(f"flask {' '.join(args)} at {moment} exited {result.returncode}:\n"
                          f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def has_mixer(env: dict[str, str]) -> bool:
    """Whether the application has the `mixer` CLI group (the design being built)."""
    return flask_cli(env, "2027-01-01 00:00:00", "mixer", "--help", check=False).returncode == 0


def has_mixer_command(env: dict[str, str], command: str) -> bool:
    return flask_cli(env, "2027-01-01 00:00:00", "mixer", command, "--help", check=False).returncode == 0


# --------------------------------------------------------------------------- in-process setup


def _app_for(database_url: str, instance: Path):
    from app import create_app
    from app.config import Config

    config = Config(database_url=database_url, secret_key="adversary-secret", public_url="https://enkat.example.se",
                    secure_cookies=False, ratelimit_link_open="100000 per minute")
    return create_app(config, instance_path=str(instance))


def _setup_world(app, plan: Plan) -> tuple[int, list[int], list[int]]:
    from app.campaigns.services import create_campaign
    from app.db import db_session
    from app.organisation.models import Programme, Provider
    from app.surveys.services import load_builtin

    with app.app_context():
        versions = {v.key: v for v in load_builtin(db_session)}
        providers = [Provider(name=name, active=True) for name, _ in PROVIDERS]
        programmes = [Programme(code=code, name=name, active=True) for code, name, _ in PROGRAMMES]
        db_session.add_all(providers + programmes)
        db_session.flush()
        campaign = create_campaign(
            db_session, name="Vintern 2027", survey_version=versions[SURVEY_KEY],
            starts_on=plan.first_day, ends_on=plan.last_day,
            providers=providers, programmes=programmes, languages=list(LINK_LANGUAGES),
        )
        db_session.commit()
        return campaign.id, [p.id for p in providers], [p.id for p in programmes]


def _issue(app, run: CampaignRun, records: list[InvitationRecord], day: date) -> None:
    """The day's text messages: issue each cell's batch in send order."""
    from sqlalchemy import select

    from app.campaigns.models import Campaign, Invitation
    from app.campaigns.services import issue_invitations
    from app.campaigns.tokens import token_hash
    from app.db import db_session
    from app.organisation.models import Programme, Provider

    with app.app_context():
        campaign = db_session.get(Campaign, run.campaign_id)
        batch: list[InvitationRecord] = []
        for record in records + [None]:
            if batch and (record is None or record.cell != batch[0].cell):
                provider, programme, language = batch[0].cell
                issued = issue_invitations(
                    db_session, campaign, provider=db_session.get(Provider, run.provider_ids[provider]),
                    programme=db_session.get(Programme, run.programme_ids[programme]),
                    language=language, count=len(batch), today=day,
                )
                db_session.flush()
                for item, rec in zip(issued, batch):
                    rec.token = item.token
                batch = []
            if record is not None:
                batch.append(record)
        db_session.commit()
        hashes = {token_hash(r.token): r for r in records}
        for invitation_id, digest in db_session.execute(
            select(Invitation.id, Invitation.token_hash).where(Invitation.token_hash.in_(list(hashes)))
        ):
            hashes[digest].invitation_id = invitation_id
    missing = [r.index for r in records if r.invitation_id is None]
    if missing:
        raise DriverError(f"invitations not found after issuing: {missing[:5]}")


def _definition(app, campaign_id: int):
    from app.campaigns.models import Campaign
    from app.db import db_session

    with app.app_context():
        return db_session.get(Campaign, campaign_id).survey_version.definition


def _open_link_codes(app, run: CampaignRun) -> dict[tuple[int, int, str], str]:
    from sqlalchemy import select

    from app.campaigns.models import OpenLink
    from app.db import db_session

    with app.app_context():
        rows = db_session.execute(select(OpenLink).where(OpenLink.campaign_id == run.campaign_id)).scalars()
        by_scope = {(r.provider_id, r.programme_id, r.language): r.code for r in rows}
    return {
        (p, q, lang): by_scope[(run.provider_ids[p], run.programme_ids[q], lang)]
        for p in range(len(run.provider_ids)) for q in range(len(run.programme_ids)) for lang in LINK_LANGUAGES
    }


# --------------------------------------------------------------------------- respondents


class _Recorder:
    def __init__(self, run: CampaignRun):
        self.run = run
        self.lock = threading.Lock()

    def stored(self, day: int, number: int, invitation_id: int | None) -> None:
        with self.lock:
            self.run.submissions.append(
                Submission(day, len(self.run.submissions), number, invitation_id, time.monotonic()))


def _answer(base: str, link_path: str, number: int, invitation_id: int | None, day: int, *, definition,
            rng: random.Random, plan: Plan, switch_to: str | None, double: str | None,
            recorder: _Recorder) -> None:
    phone = Browser(base)
    status, headers, body = phone.request("GET", link_path)
    _expect(f"open {link_path[:3]}... (respondent {number})", status, (303,), headers, body)
    status, headers, page = phone.request("GET", "/survey")
    _expect(f"survey page (respondent {number})", status, (200,), headers, page)
    csrf = csrf_token_from(page)
    form, _ = answers_for(number, definition, rng, plan.blank_share)
    if switch_to:
        # Typed some answers, then chose another language: the draft travels in the session.
        partial = dict(list(form.items())[: rng.randrange(1, len(form) + 1)])
        status, headers, body = phone.request("POST", "/survey", {"csrf_token": csrf, "switch_to": switch_to, **partial})
        _expect(f"language switch (respondent {number})", status, (303,), headers, body)
        status, headers, page = phone.request("GET", "/survey")
        _expect(f"survey page after switch (respondent {number})", status, (200,), headers, page)
        csrf = csrf_token_from(page)
    sent = {"csrf_token": csrf, "action": "send", **form}
    if any(question.required and question.key not in form for question in definition.questions):
        # "Send" first: the page lists the required questions left blank; then "Send anyway".
        # (Optional ones - the comment box - are never listed: issue 8, kind 8.)
        status, headers, page = phone.request("POST", "/survey", sent)
        _expect(f"send with blanks (respondent {number})", status, (200,), headers, page)
        if 'id="skipped"' not in page:
            raise DriverError(f"respondent {number}: no list of skipped questions after sending with blanks")
        sent = {**sent, "action": "send_anyway"}
    if double == "concurrent":
        tabs = [phone, phone.clone()]
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def send(i):
            barrier.wait()
            results[i] = tabs[i].request("POST", "/survey", sent)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for status, headers, body in results:
            _expect(f"double send (respondent {number})", status, (303,), headers, body)
        locations = sorted(r[1].get("Location", "") for r in results)
        if invitation_id is not None and locations != ["/thanks", "/thanks?again=1"]:
            raise DriverError(f"double send of invitation respondent {number}: {locations}")
        stored = locations.count("/thanks")
    else:
        status, headers, body = phone.request("POST", "/survey", sent)
        _expect(f"send (respondent {number})", status, (303,), headers, body)
        if headers.get("Location") != "/thanks":
            raise DriverError(f"send of respondent {number} went to {headers.get('Location')!r}")
        stored = 1
        if double == "sequential":
            status, headers, body = phone.request("POST", "/survey", sent)
            _expect(f"repeated send (respondent {number})", status, (303,), headers, body)
            if headers.get("Location") != "/thanks?again=1":
                raise DriverError(f"repeated send of respondent {number} went to {headers.get('Location')!r}")
    status, headers, body = phone.request("GET", "/thanks")
    _expect(f"thanks (respondent {number})", status, (200,), headers, body)
    for _ in range(stored):
        recorder.stored(day, number, invitation_id)


def _abandon(base: str, token: str) -> None:
    """Opened the link, looked at the survey, never sent it."""
    phone = Browser(base)
    status, headers, body = phone.request("GET", f"/s/{token}")
    _expect("abandoned open", status, (303,), headers, body)
    status, headers, page = phone.request("GET", "/survey")
    _expect("abandoned survey page", status, (200,), headers, page)


def _reopen(base: str, token: str) -> None:
    status, headers, body = Browser(base).request("GET", f"/s/{token}")
    _expect("re-open of a used link", status, (404,), headers, body)


# --------------------------------------------------------------------------- the campaign


@dataclass
class Hooks:
    """Called at quiet moments (no server running, nothing writing)."""

    #: label -> None; labels: "setup", "issued <n>", "day <n>", "final"
    quiet: Callable[[str], None] = lambda label: None
    #: Before the first server starts (e.g. turn on statement logging).
    before_traffic: Callable[[], None] = lambda: None


def run_campaign(database_url: str, workdir: Path, plan: Plan | None = None, hooks: Hooks | None = None,
                 setup_done: Callable[[], None] | None = None) -> CampaignRun:
    """Migrate, set up, and run the whole campaign. `setup_done` runs after the schema and world exist."""
    from app.db import Database
    from app.migrate import upgrade

    plan = plan or Plan()
    hooks = hooks or Hooks()
    fake = libfaketime()
    if fake is None:
        raise DriverError("libfaketime is not installed (Debian package faketime; scripts/system-packages)")
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    instance = workdir / "instance"
    database = Database(database_url)
    upgrade(database)
    database.dispose()

    app = _app_for(database_url, instance)
    campaign_id, provider_ids, programme_ids = _setup_world(app, plan)
    invitations, opens = make_plan(plan)
    run = CampaignRun(database_url, campaign_id, provider_ids, programme_ids, invitations, opens)
    definition = _definition(app, campaign_id)
    from app.surveys.definition import ScaleQuestion

    run.encoding_keys = [q.key for q in definition.questions if isinstance(q, ScaleQuestion)][:ENCODING_DIGITS]
    codes = _open_link_codes(app, run)
    app.extensions["kundrost.db"].dispose()

    env = {
        key: value for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "FAKETIME", "LD_PRELOAD", "NO_FAKE_STAT"} and not key.startswith("FAKETIME_")
    }
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "adversary-secret-key-0123456789abcdef",
        "SECURE_COOKIES": "0",
        "PUBLIC_URL": "https://enkat.example.se",
        "WEB_CONCURRENCY": "2",
        "RATELIMIT_LINK_OPEN": "100000 per minute",
        "MIXER_KEY_DIR": str(workdir / "mixer-keys"),
        # The mixer runs when the driver says, not beside gunicorn.
        "EMBEDDED_MIXER": "0",
        "TZ": "UTC",
        # The shim first: its sitecustomize mends time.sleep under libfaketime (see there).
        "PYTHONPATH": os.pathsep.join([str(SHIM), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LD_PRELOAD": fake,
        "FAKETIME_DONT_RESET": "1",
        # Dates and wall-clock time are faked; the monotonic clock and file times stay real.
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "NO_FAKE_STAT": "1",
    })
    (workdir / "mixer-keys").mkdir(mode=0o700, exist_ok=True)
    run.mixer = has_mixer(env)
    rotate = run.mixer and has_mixer_command(env, "rotate")

    if setup_done is not None:
        setup_done()
    hooks.quiet("setup")

    keeper = None
    if database_url.startswith("sqlite"):
        # A long-running server keeps the file open: the log is not deleted between days.
        keeper = sqlite3.connect(database_url.split("///", 1)[1])
        keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()

    log_path = workdir / "gunicorn.log"
    rng = random.Random(plan.seed + 1)
    recorder = _Recorder(run)
    hooks.before_traffic()
    try:
        for d in range(plan.days):
            day = plan.first_day + timedelta(days=d)
            run.days.append(day)
            todays = [r for r in invitations if r.send_day == d]
            if todays:
                _issue(app, run, todays, day)
                app.extensions["kundrost.db"].dispose()
                hooks.quiet(f"issued {d}")
            if run.mixer and d == 0:
                # A key must exist before the first submit.
                flask_cli(env, f"{day} 07:00:00", "mixer", "once")
                run.mixer_runs.append(f"{day} 07:00 once")
            events: list[Callable[[str], None]] = []
            for r in invitations:
                if r.answer_day == d:
                    events.append(_bind_answer(r, d, definition, rng, plan, recorder))
                if r.abandoned and r.send_day == d:
                    events.append(lambda base, r=r: _abandon(base, r.token))
            for o in opens:
                if o.day == d:
                    events.append(_bind_open(o, codes[o.cell], d, definition, rng, plan, recorder))
            rng.shuffle(events)
            late = [lambda base, r=r: _reopen(base, r.token) for r in invitations if r.reopen_day == d]
            server = Server(env, f"{day} 08:00:00", log_path)
            try:
                _run_events(server.base, events, plan.http_threads)
                _run_events(server.base, late, plan.http_threads)
            finally:
                server.stop()
            if run.mixer:
                if rotate and d == plan.days // 2:
                    flask_cli(env, f"{day} 22:00:00", "mixer", "rotate")
                    run.mixer_runs.append(f"{day} 22:00 rotate")
                flask_cli(env, f"{day} 23:00:00", "mixer", "once")
                run.mixer_runs.append(f"{day} 23:00 once")
            hooks.quiet(f"day {d}")
        if run.mixer:
            after = plan.last_day + timedelta(days=1)
            flask_cli(env, f"{after} 02:00:00", "mixer", "finalise", str(campaign_id))
            run.mixer_runs.append(f"{after} 02:00 finalise {campaign_id}")
        hooks.quiet("final")
    finally:
        app.extensions["kundrost.db"].dispose()
        run.gunicorn_log = str(log_path)
        run.timings["campaign"] = time.monotonic() - started
        run._keeper = keeper  # closed by close_keeper() once the readers are done
    return run


def close_keeper(run: CampaignRun) -> None:
    keeper = getattr(run, "_keeper", None)
    if keeper is not None:
        keeper.close()
        run._keeper = None


def _bind_answer(record: InvitationRecord, d: int, definition, rng: random.Random, plan: Plan, recorder: _Recorder):
    seed = rng.random()
    return lambda base: _answer(
        base, f"/s/{record.token}", record.index + 1, record.invitation_id, d, definition=definition,
        rng=random.Random(seed), plan=plan, switch_to=record.switch_to, double=record.double, recorder=recorder)


def _bind_open(answer: OpenAnswer, code: str, d: int, definition, rng: random.Random, plan: Plan, recorder: _Recorder):
    seed = rng.random()
    return lambda base: _answer(
        base, f"/o/{code}", answer.number, None, d, definition=definition, rng=random.Random(seed), plan=plan,
        switch_to=answer.switch_to, double="concurrent" if answer.double else None, recorder=recorder)


def _run_events(base: str, events: list[Callable[[str], None]], threads: int) -> None:
    if not events:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(event, base) for event in events]
        errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise DriverError(f"{len(errors)} of {len(events)} respondent flows failed; first: {errors[0]}") from errors[0]


# --------------------------------------------------------------------------- what was stored


@dataclass
class StoredResponse:
    id: str
    number: int | None
    provider_id: int | None
    programme_id: int | None
    language: str | None
    channel: str | None
    #: "month" or "week" and its first day, whichever the response keeps (None if neither).
    period_kind: str | None = None
    period: date | None = None


def period_of(day: date, kind: str | None) -> date | None:
    if kind == "month":
        return day.replace(day=1)
    if kind == "week":
        return day - timedelta(days=day.weekday())
    return None


def stored_responses(database_url: str, run: CampaignRun) -> list[StoredResponse]:
    """Every response in the database, with the respondent number its answers spell."""
    from sqlalchemy import create_engine, inspect, text

    from app.config import Config

    engine = create_engine(Config(database_url=database_url).resolved_database_url(""))
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("response")}
        period_kind = next((c for c in ("month", "week") if c in columns), None)
        wanted = [c for c in ("provider_id", "programme_id", "language", "channel", period_kind) if c in columns]
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT id, {', '.join(wanted)} FROM response")).mappings().all()
            values: dict[str, dict[str, int | None]] = {}
            keys = ", ".join(f"'{k}'" for k in run.encoding_keys)
            for response_id, key, value in connection.execute(
                text(f"SELECT response_id, question_key, value FROM answer WHERE question_key IN ({keys})")
            ):
                values.setdefault(response_id, {})[key] = value
    finally:
        engine.dispose()
    return [
        StoredResponse(
            id=row["id"], number=decode(values.get(row["id"], {}), run.encoding_keys),
            provider_id=row.get("provider_id"), programme_id=row.get("programme_id"),
            language=row.get("language"), channel=row.get("channel"),
            period_kind=period_kind, period=_as_date(row.get(period_kind)) if period_kind else None,
        )
        for row in rows
    ]


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
