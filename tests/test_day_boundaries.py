"""Every date decision is the municipality's (Europe/Stockholm), never the server's.

The server runs in UTC here (`TZ=UTC` for the whole test process), the
municipality in Stockholm. The application's clock (`app.config[CLOCK]`,
app/clock.py) is set to chosen moments around midnight and around both
daylight-saving changes (2026: summer time begins Sunday 29 March, ends
Sunday 25 October, each at 01:00 UTC), and the real request path is
driven: opening a single-use or an open link, the survey page, sending it,
the month an answer keeps, the day links are issued on, the staff's
campaign list, finalisation by hand and by the mixer. Every moment is
written in UTC with its Stockholm time beside it; every expectation is a
literal.

The last test keeps the kind fixed: it fails when app/, bench/ or
migrations/ ask the server's own calendar (`date.today()`, a naive
`datetime.now()`, CURRENT_DATE, ...).
"""

from __future__ import annotations

import ast
import re
import time
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from app.campaigns.models import Campaign, Invitation
from app.clock import CLOCK
from app.db import db_session
from app.mixing.mixer import Mixer
from app.respond.models import Response

from .conftest import ROOT, build_world, csrf_token_from, login, mixer_of
from .forms import hidden_fields
from .helpers import definition_of, full_answers


def utc(text: str) -> float:
    """Unix time of a UTC moment written as ISO 8601 without a zone."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


class Clock:
    """The application's clock, set by the test: `clock.set("2026-11-30T23:30:00")` (UTC)."""

    def __init__(self) -> None:
        self.moment: float | None = None

    def set(self, text: str) -> None:
        self.moment = utc(text)

    def __call__(self) -> float:
        assert self.moment is not None, "set the clock first"
        return self.moment


@pytest.fixture(autouse=True)
def server_in_utc(monkeypatch):
    """The server's own zone is UTC: a date taken from it is the wrong day at every boundary below."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.config[CLOCK] = clock
    return clock


#: name -> (first day, last day)
CAMPAIGNS = {
    "november": (date(2026, 11, 1), date(2026, 11, 30)),
    "summer time begins": (date(2026, 3, 29), date(2026, 3, 29)),  # a 23-hour day
    "summer time ends": (date(2026, 10, 25), date(2026, 10, 25)),  # a 25-hour day
}
NOT_YET_OPEN, OPEN, CLOSED = "not yet open", "open", "closed"

MOMENTS = [
    # campaign, UTC, Stockholm, expected
    ("november", "2026-10-31T22:59:00", "31 Oct 23:59 CET", NOT_YET_OPEN),
    ("november", "2026-10-31T23:00:30", "1 Nov 00:00:30 CET; 31 Oct in UTC", OPEN),
    ("november", "2026-11-30T22:59:00", "30 Nov 23:59 CET", OPEN),
    # The example: 00:30 on 1 December in Stockholm is 23:30 on 30 November in UTC.
    ("november", "2026-11-30T23:30:00", "1 Dec 00:30 CET; 30 Nov in UTC", CLOSED),
    ("summer time begins", "2026-03-28T22:59:00", "28 Mar 23:59 CET", NOT_YET_OPEN),
    ("summer time begins", "2026-03-28T23:00:30", "29 Mar 00:00:30 CET; 28 Mar in UTC", OPEN),
    ("summer time begins", "2026-03-29T01:30:00", "29 Mar 03:30 CEST, just after the change", OPEN),
    ("summer time begins", "2026-03-29T21:59:00", "29 Mar 23:59 CEST", OPEN),
    ("summer time begins", "2026-03-29T22:30:00", "30 Mar 00:30 CEST; 29 Mar in UTC", CLOSED),
    ("summer time ends", "2026-10-24T21:59:00", "24 Oct 23:59 CEST", NOT_YET_OPEN),
    ("summer time ends", "2026-10-24T22:00:30", "25 Oct 00:00:30 CEST; 24 Oct in UTC", OPEN),
    ("summer time ends", "2026-10-25T01:30:00", "25 Oct 02:30 CET, the hour that comes twice", OPEN),
    ("summer time ends", "2026-10-25T22:59:00", "25 Oct 23:59 CET", OPEN),
    ("summer time ends", "2026-10-25T23:30:00", "26 Oct 00:30 CET; 25 Oct in UTC", CLOSED),
]

#: The not-yet-open page of an English link gives the first day so.
FIRST_DAY_IN_ENGLISH = {
    "november": "November 1, 2026",
    "summer time begins": "March 29, 2026",
    "summer time ends": "October 25, 2026",
}


def campaign(app, name: str):
    first, last = CAMPAIGNS[name]
    return build_world(app, starts_on=first, ends_on=last)


def link_path(app, world, kind: str) -> str:
    if kind == "single-use":
        return f"/s/{world.invite(app, 'en')[0]}"
    return f"/o/{world.open_link_code(app, 'en')}"


def stored(app) -> int:
    from sqlalchemy import func

    from app.mixing.models import WaitingAnswer

    with app.app_context():
        return db_session.scalar(select(func.count()).select_from(WaitingAnswer))


@pytest.mark.parametrize("kind", ["single-use", "open"])
@pytest.mark.parametrize(("name", "moment", "stockholm", "expected"), MOMENTS)
def test_a_link_is_open_exactly_on_the_municipalitys_days(app, client, clock, kind, name, moment, stockholm, expected):
    world = campaign(app, name)
    path = link_path(app, world, kind)
    clock.set(moment)
    opened = client.get(path)
    html = opened.get_data(as_text=True)
    if expected == NOT_YET_OPEN:
        assert opened.status_code == 403, stockholm
        assert "<h1>This survey is not open yet</h1>" in html
        assert f"You can answer from {FIRST_DAY_IN_ENGLISH[name]}. Please open the link again then." in html
        return
    if expected == CLOSED:
        assert opened.status_code == 410, stockholm
        assert "<h1>This survey has closed</h1>" in html
        return
    assert opened.status_code == 303, stockholm
    assert opened.headers["Location"] == "/survey?opened=en"  # the link is English
    page = client.get("/survey")
    assert page.status_code == 200, stockholm
    sent = client.post("/survey", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "action": "send",
                                        **full_answers(definition_of(app, world))})
    assert sent.status_code == 303, stockholm
    assert sent.headers["Location"] == "/thanks"
    assert stored(app) == 1


#: Opened at 23:59 on the last day, sent (or the page reloaded) at 00:30 the next day.
LAST_MINUTES = [
    ("november", "2026-11-30T22:59:00", "2026-11-30T23:30:00"),
    ("summer time begins", "2026-03-29T21:59:00", "2026-03-29T22:30:00"),
    ("summer time ends", "2026-10-25T22:59:00", "2026-10-25T23:30:00"),
]


@pytest.mark.parametrize("kind", ["single-use", "open"])
@pytest.mark.parametrize(("name", "before", "after"), LAST_MINUTES)
def test_a_survey_opened_before_midnight_and_sent_after_it_is_refused(app, client, clock, kind, name, before, after):
    world = campaign(app, name)
    path = link_path(app, world, kind)
    clock.set(before)
    assert client.get(path).status_code == 303
    page = client.get("/survey")
    assert page.status_code == 200
    csrf = csrf_token_from(page.get_data(as_text=True))
    clock.set(after)
    reloaded = client.get("/survey")
    assert reloaded.status_code == 410
    assert "<h1>This survey has closed</h1>" in reloaded.get_data(as_text=True)
    sent = client.post("/survey", data={"csrf_token": csrf, "action": "send", **full_answers(definition_of(app, world))})
    assert sent.status_code == 410
    assert "<h1>This survey has closed</h1>" in sent.get_data(as_text=True)
    assert stored(app) == 0


def test_an_answer_sent_just_after_midnight_on_1_november_keeps_november(app, clock):
    """Five customers answer at 00:00:30 on 1 November in Stockholm (31 October in UTC)."""
    world = campaign(app, "november")
    definition = definition_of(app, world)
    tokens = world.invite(app, "en", count=5)
    clock.set("2026-10-31T23:00:30")
    for token in tokens:
        phone = app.test_client()
        assert phone.get(f"/s/{token}").status_code == 303
        csrf = csrf_token_from(phone.get("/survey").get_data(as_text=True))
        assert phone.post("/survey", data={"csrf_token": csrf, "action": "send", **full_answers(definition)}).status_code == 303
    mixer_of(app).finalise(world.campaign_id, date(2027, 1, 1))
    with app.app_context():
        months = db_session.scalars(select(Response.month)).all()
    assert months == [date(2026, 11, 1)] * 5


def test_links_issued_just_after_midnight_carry_the_new_day(app, client, clock, make_user):
    world = campaign(app, "november")
    login(client, make_user())
    clock.set("2026-10-31T23:30:00")  # 1 Nov 00:30 in Stockholm
    page = client.get(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True)
    action = f"/staff/campaigns/{world.campaign_id}/invitations"
    issued = client.post(action, data={
        **hidden_fields(page, action), "provider": world.provider_ids[0], "programme": world.programme_ids[0],
        "language": "ar", "count": 3,
    })
    assert issued.status_code == 303
    with app.app_context():
        days = db_session.scalars(select(Invitation.created_on).where(Invitation.language == "ar")).all()
    assert days == [date(2026, 11, 1)] * 3


@pytest.mark.parametrize(("moment", "state"), [
    ("2026-10-31T22:59:00", "Not started"),  # 31 Oct 23:59
    ("2026-10-31T23:00:30", "Open"),         # 1 Nov 00:00:30
    ("2026-11-30T22:59:00", "Open"),         # 30 Nov 23:59
    ("2026-11-30T23:30:00", "Closed"),       # 1 Dec 00:30
])
def test_the_staff_list_shows_the_municipalitys_day(app, client, clock, make_user, moment, state):
    campaign(app, "november")
    login(client, make_user())
    client.get("/staff/?lang=en")
    clock.set(moment)
    html = client.get("/staff/campaigns/").get_data(as_text=True)
    assert re.search(r"<td>(Not started|Open|Closed|Finalised)</td>", html).group(1) == state


def test_finalising_by_hand_waits_for_the_municipalitys_next_day(app, runner, clock):
    world = campaign(app, "november")
    clock.set("2026-11-30T22:59:00")  # 30 Nov 23:59: still the last day
    refused = runner.invoke(args=["mixer", "finalise", str(world.campaign_id)])
    assert refused.exit_code == 1
    assert "takes answers until 2026-11-30" in refused.output
    clock.set("2026-11-30T23:30:00")  # 1 Dec 00:30
    done = runner.invoke(args=["mixer", "finalise", str(world.campaign_id)])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert db_session.get(Campaign, world.campaign_id).finalised_on == date(2026, 12, 1)


@pytest.mark.parametrize(("moment", "finalised_on"), [
    ("2026-12-30T22:59:00", None),                # 30 Dec 23:59: 30 days after the last day, not yet
    ("2026-12-30T23:30:00", date(2026, 12, 31)),  # 31 Dec 00:30
])
def test_the_mixer_finalises_after_the_grace_period_in_the_municipalitys_days(app, moment, finalised_on):
    world = campaign(app, "november")
    mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"], now=lambda: utc(moment))
    mixer.start()
    mixer.release()
    mixer.round()
    with app.app_context():
        assert db_session.get(Campaign, world.campaign_id).finalised_on == finalised_on


def test_times_are_shown_in_the_municipalitys_zone(app):
    from flask_babel import format_datetime

    with app.test_request_context("/?lang=en"):
        shown = format_datetime(datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), "yyyy-MM-dd HH:mm zzz")
    assert shown == "2026-12-01 00:30 CET"


# -- the kind stays fixed -----------------------------------------------------

#: Calls that read the server's own calendar or zone. `datetime.now(zone)` and
#: `datetime.fromtimestamp(t, zone)` are fine; without a zone they are not.
ALWAYS_FORBIDDEN = {
    ("date", "today"), ("datetime", "today"), ("datetime", "utcnow"), ("datetime", "utcfromtimestamp"),
    ("date", "fromtimestamp"), ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"),
    ("time", "asctime"), ("time", "strftime"), ("time", "mktime"),
    ("func", "current_date"), ("func", "current_time"), ("func", "localtime"), ("func", "localtimestamp"),
}
NEED_A_ZONE = {("datetime", "now"): 0, ("datetime", "fromtimestamp"): 1}
#: SQL that takes a date or a local time from the database server's zone.
SERVER_DATE_SQL = re.compile(
    r"\bcurrent_date\b|\bcurrent_time\b|\blocaltime(stamp)?\b|\b(date|datetime|strftime)\s*\([^)]*'now'"
    r"|\b(now\s*\(\s*\)|current_timestamp)\s*::\s*date\b",
    re.IGNORECASE,
)
SCANNED = ("app", "bench", "migrations")


def _receiver(node: ast.expr) -> str | None:
    # `date.today()` and `datetime.date.today()` both name "date" last before the method.
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def server_calendar_uses(source: str) -> list[str]:
    """Where `source` (Python) takes a date or time of day from the server's zone: 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            call = (_receiver(node.func.value), node.func.attr)
            if call in ALWAYS_FORBIDDEN:
                found.append(f"{node.lineno}: {'.'.join(call)}()")
            elif call in NEED_A_ZONE:
                has_zone = len(node.args) > NEED_A_ZONE[call] or any(k.arg == "tz" for k in node.keywords)
                if not has_zone:
                    found.append(f"{node.lineno}: {'.'.join(call)}() without a zone")
            elif node.func.attr == "astimezone" and not node.args and not node.keywords:
                found.append(f"{node.lineno}: .astimezone() without a zone")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SERVER_DATE_SQL.search(node.value):
            found.append(f"{node.lineno}: SQL {SERVER_DATE_SQL.search(node.value).group(0)!r}")
    return found


@pytest.mark.parametrize(("source", "caught"), [
    ("from datetime import date\nd = date.today()", True),
    ("import datetime\nd = datetime.date.today()", True),
    ("from datetime import datetime\nd = datetime.now().date()", True),
    ("from datetime import datetime\nd = datetime.utcnow()", True),
    ("from datetime import datetime\nd = datetime.fromtimestamp(t).date()", True),
    ("import time\nd = time.localtime()", True),
    ("from sqlalchemy import func\nq = func.current_date()", True),
    ("q = text('SELECT * FROM campaign WHERE ends_on >= CURRENT_DATE')", True),
    ("q = \"SELECT date('now')\"", True),
    ("q = 'SELECT now()::date'", True),
    ("x = moment.astimezone()", True),
    ("from datetime import datetime, timezone\nd = datetime.now(timezone.utc)", False),
    ("from datetime import datetime\nd = datetime.now(tz=zone)", False),
    ("from datetime import datetime\nd = datetime.fromtimestamp(t, zone)", False),
    ("from app.clock import local_today\nd = local_today()", False),
    ("created = sa.text('(CURRENT_TIMESTAMP)')", False),
    ("x = moment.astimezone(zone)", False),
])
def test_the_scan_catches_what_it_should(source, caught):
    assert bool(server_calendar_uses(source)) is caught


def test_no_code_reads_the_servers_calendar():
    files = sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))
    assert len(files) > 40
    found = [f"{path.relative_to(ROOT)}:{use}" for path in files for use in server_calendar_uses(path.read_text())]
    assert found == [], "use app.clock.local_today() / today_in(zone, now):\n" + "\n".join(found)
