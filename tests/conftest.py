"""Shared fixtures.

The database is real: SQLite by default, PostgreSQL when TEST_DATABASE_URL
is set (CI runs both). The schema is built by the Alembic migrations once
per session; each test starts from empty tables.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from app.accounts.models import Role
from app.accounts.services import create_user
from app.campaigns.services import create_campaign, issue_invitations
from app.analytics import plan_maker
from app.analytics.linked import forget_plans
from app.config import Config
from app.db import Database, db_session
from app.i18n import LANGUAGES
from app.i18n.cli import compile_catalogs
from app.limits import limiter
from app.migrate import upgrade
from app.mixing.mixer import Mixer
from app.models import metadata
from app.organisation.models import Programme, Provider
from app.surveys.services import load_builtin

PASSWORD = "correct horse battery staple"
#: The test configuration's MUNICIPALITY_TIMEZONE (the default).
MUNICIPALITY_ZONE = ZoneInfo("Europe/Stockholm")
IN_CI = bool(os.environ.get("CI"))


def stockholm_today() -> date:
    """Today in Stockholm, the test municipality's zone: what the app calls today when its clock is real.

    Never `date.today()`, the server's date: at 23:30 UTC that is yesterday in Stockholm.
    """
    return datetime.now(MUNICIPALITY_ZONE).date()


def pytest_configure(config):
    # The app reads compiled catalogs; compiling takes a fraction of a second.
    compile_catalogs()
    _cheap_password_hashing()


def _cheap_password_hashing() -> None:
    """argon2id with argon2-cffi's CHEAPEST parameters (the library's profile for tests) in this process.

    The maintained defaults cost 64 MiB and ~0.2 s a hash and as much a
    check, and hundreds of tests create an account and sign in: minutes of
    every CI pass. The algorithm, the library and every code path stay
    the same; only the cost parameters differ (servers the tests start as
    processes of their own keep the defaults, and rehash on sign-in).
    tests/test_accounts.py checks the defaults the app itself uses.
    """
    from argon2 import PasswordHasher, profiles

    from app.accounts import passwords

    passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    passwords._DUMMY_HASH = passwords._hasher.hash("kundrost-no-such-user")


def pytest_collection_modifyitems(config, items):
    """CI's PostgreSQL pass runs only what the database can change; the SQLite pass runs everything.

    CI runs the suite twice (.ci/run) and must stay under 25 minutes on two
    cores. A test that never reaches the test database (no `migrated`
    fixture: pure functions, files, parsers) or only checks how pages look
    (marked `rendering`) gives the same answer on either database, so the
    second pass leaves it out; so does a search for suppression leaks over
    many worlds (marked `suppression_search`): the tables it reads are the
    same on both databases, which tests/test_results_databases.py checks in
    this pass. The adversary tests bring their own database and split
    between the passes themselves.
    """
    if not (IN_CI and os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")):
        return
    same_anywhere = [item for item in items
                     if not item.get_closest_marker("adversary")
                     and ("migrated" not in getattr(item, "fixturenames", ()) or item.get_closest_marker("rendering")
                          or item.get_closest_marker("suppression_search"))]
    if same_anywhere:
        config.hook.pytest_deselected(items=same_anywhere)
        left_out = set(map(id, same_anywhere))
        items[:] = [item for item in items if id(item) not in left_out]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    url = Config(database_url=url).resolved_database_url("")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except Exception as error:  # pragma: no cover - depends on the machine
        if IN_CI:
            raise
        pytest.exit(f"TEST_DATABASE_URL is set but unusable: {error}", returncode=2)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def migrated(database_url) -> str:
    database = Database(database_url)
    upgrade(database)
    database.dispose()
    return database_url


def _empty_all_tables(database: Database) -> None:
    """Every table empty and every id counting from 1 again, as a fresh database."""
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # TRUNCATE makes new files for each table it names (milliseconds each, ~30 tables, every test):
            # only the tables a test wrote to are truncated, and every sequence is reset.
            probe = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"
                                       for t in metadata.sorted_tables)
            used = connection.execute(text(probe)).scalars().all()
            if used:
                connection.execute(text(f"TRUNCATE {', '.join(used)} CASCADE"))
            connection.execute(text("SELECT setval(oid::regclass, 1, false) FROM pg_class"
                                    " WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def config(migrated, tmp_path) -> Config:
    return Config(
        database_url=migrated,
        secret_key="test-secret-key-not-for-production",
        public_url="https://enkat.example.se",
        secure_cookies=False,
        ratelimit_link_open="1000 per minute",
        mixer_key_dir=str(tmp_path / "mixer-keys"),
        # The longest wait for a results page's plan: a loaded CI machine must not turn a small plan into a
        # 503 (tests/test_plan_pending.py sets its own waits).
        plan_wait=timedelta(seconds=25),
    )


@pytest.fixture
def app(config, tmp_path):
    application = create_app(config, instance_path=str(tmp_path / "instance"))
    application.config.update(TESTING=True)
    database = application.extensions["kundrost.db"]
    _empty_all_tables(database)
    limiter.reset()  # counters live in memory across apps; each test starts afresh
    # Linked plans too: tests rebuild campaigns under the same ids, sometimes with the same one-way counts.
    # A plan a request of the last test left being made in the background would be kept after the clearing,
    # made from whatever this test writes meanwhile: it finishes first.
    assert plan_maker.wait_for_plans(120), "a results plan of the last test is still being made"
    forget_plans()
    # As in production, answers are taken only once the mixer has published a key.
    mixer_of(application).publish_key()
    yield application
    plan_maker.wait_for_plans(120)
    database.dispose()


def mixer_of(app) -> Mixer:
    """A started mixer for the test app (its keys live in the test's own folder).

    It lets go of the key folder's lock at once: in one process that lock
    never stands in the way, but it would stop the child processes some
    tests start (a mixer killed at a crash point, an embedded mixer).
    """
    mixer = Mixer(app.extensions["kundrost.db"], app.config["KUNDROST"])
    mixer.start()
    mixer.release()
    return mixer


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class World:
    """A small municipality: two providers, two programmes, one open campaign."""

    campaign_id: int
    provider_ids: list[int]
    programme_ids: list[int]
    survey_key: str

    def invite(self, app, language: str = "sv", count: int = 1, provider: int = 0) -> list[str]:
        """Fresh single-use tokens."""
        from app.campaigns.models import Campaign

        with app.app_context():
            campaign = db_session.get(Campaign, self.campaign_id)
            issued = issue_invitations(
                db_session, campaign,
                provider=db_session.get(Provider, self.provider_ids[provider]),
                programme=db_session.get(Programme, self.programme_ids[0]),
                language=language, count=count, today=stockholm_today(),
            )
            db_session.commit()
            return [item.token for item in issued]

    def open_link_code(self, app, language: str = "sv") -> str:
        from sqlalchemy import select

        from app.campaigns.models import OpenLink

        with app.app_context():
            return db_session.scalar(
                select(OpenLink.code).where(
                    OpenLink.campaign_id == self.campaign_id, OpenLink.language == language,
                    OpenLink.provider_id == self.provider_ids[0],
                )
            )


def build_world(app, survey_key: str = "nacka-arbetsmarknad", starts_on: date | None = None,
                ends_on: date | None = None) -> World:
    today = stockholm_today()
    with app.app_context():
        versions = {v.key: v for v in load_builtin(db_session)}
        providers = [Provider(name="Nordljus AB", active=True), Provider(name="Bro Coachning", active=True)]
        programmes = [Programme(code="JPG", name="Jobbpeng grund", active=True),
                      Programme(code="SO", name="Samhällsorientering", active=True)]
        db_session.add_all(providers + programmes)
        db_session.flush()
        campaign = create_campaign(
            db_session, name="Hösten", survey_version=versions[survey_key],
            starts_on=starts_on or today - timedelta(days=10),
            ends_on=ends_on or today + timedelta(days=10),
            providers=providers, programmes=programmes, languages=list(LANGUAGES),
        )
        db_session.commit()
        return World(campaign.id, [p.id for p in providers], [p.id for p in programmes], survey_key)


@pytest.fixture
def world(app) -> World:
    return build_world(app)


@pytest.fixture
def make_user(app):
    def make(role: Role = Role.ANALYST, username: str | None = None, provider_id: int | None = None):
        with app.app_context():
            provider = db_session.get(Provider, provider_id) if provider_id else None
            user = create_user(db_session, username or role.value, PASSWORD, role, provider)
            db_session.commit()
            return user.username

    return make


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/staff/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/staff/login", data={"csrf_token": token, "username": username, "password": password})


CSRF_PATTERN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html) or re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


@pytest.fixture
def live_server(app):
    """The app served over real HTTP in a thread, for the browser tests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


ROOT = Path(__file__).resolve().parents[1]
