"""All configuration in one place, read from the environment once.

`Config.from_env()` is the only reader of `os.environ` in the application;
everything else receives the frozen `Config` through `app.config["KUNDROST"]`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The smallest anonymity set and the fewest answers behind a figure; never lower.
MIN_CELL_SIZE_FLOOR = 5
#: Characters of MUNICIPALITY_NAME: the longest names of Swedish municipalities
#: ("Upplands Väsby kommun") have about 20; the limit only guards the phone's
#: header (and every page's title) against a mistake such as a pasted sentence.
MUNICIPALITY_NAME_MAX = 60
#: The longest RESULTS_PLAN_WAIT_SECONDS: room below gunicorn's 30 s worker timeout for the page itself.
PLAN_WAIT_MAX = timedelta(seconds=25)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _count(env, name: str, default: int) -> int:
    """A whole number >= 0 from the environment; ConfigError naming `name` otherwise."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):
        raise ConfigError(f"{name} must be a whole number of 0 or more, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Config:
    """Every setting of the application, read once from the environment (`from_env`); immutable.

    Each field's comment names its unit; the README's settings table names the
    environment variable of each. Invalid combinations raise ConfigError when
    the Config is built.
    """

    #: SQLAlchemy URL. Empty means the embedded SQLite file in the instance folder.
    database_url: str = ""
    #: Signs session cookies and CSRF tokens. Must be set in production.
    secret_key: str = ""
    #: Public base URL used in printed invitation links ("https://enkat.example.se").
    public_url: str = "http://127.0.0.1:5000"
    #: The municipality's name ("Nacka kommun"): on every respondent page and
    #: in its title, so that a customer sees who is asking (app/branding.py),
    #: and in the staff header. Empty: respondent pages name no one; set it.
    municipality_name: str = ""
    #: Path of the municipality's logo, an SVG file, inlined small beside the
    #: name on respondent pages after cleaning (app/branding.py). Empty: no logo.
    municipality_logo: str = ""
    #: How long an exchanged invitation link stays valid in the browser before
    #: the customer must open the link again. The answers survive expiry.
    respondent_grant_ttl: timedelta = timedelta(hours=2)
    #: Staff sessions end after this much time.
    staff_session_ttl: timedelta = timedelta(hours=8)
    #: How long new single-use links can be shown again (a reload, the CSV)
    #: in the browser that created them; they are never stored anywhere.
    links_shown: timedelta = timedelta(minutes=60)
    #: Send cookies over HTTPS only. Off only for local development.
    secure_cookies: bool = True
    #: Flask-Limiter storage: "memory://" or a Redis URL.
    ratelimit_storage_uri: str = "memory://"
    #: Token-link openings allowed per client per minute (guessing defence).
    ratelimit_link_open: str = "30 per minute"
    #: How many reverse proxies stand between the clients and gunicorn, each
    #: appending the address it saw to X-Forwarded-For (nginx's
    #: `$proxy_add_x_forwarded_for`). The client is the address that many
    #: entries from the end; the entries before it were written by the client
    #: and are never believed. 0: no proxy - the TCP peer is the client and
    #: X-Forwarded-* headers are ignored. Never more than really stand there,
    #: or clients choose their own address (docs/operations.md).
    trusted_proxy_count: int = 0
    #: Gunicorn's control socket (`gunicornc`). Empty: one per bind address
    #: in gunicorn's default folder, so two instances on one host never take
    #: each other's socket; "off": no control socket.
    control_socket: str = ""
    #: Gunicorn's listening address(es), comma-separated (`BIND`).
    bind: str = "127.0.0.1:5000"
    #: Gunicorn's worker processes (`WEB_CONCURRENCY`); 0: the cores, at least 2.
    web_concurrency: int = 0
    #: k: the smallest anonymity set of a stored response, and the fewest
    #: answers behind any figure shown to staff (docs/anonymity.md). At least 5.
    min_cell_size: int = MIN_CELL_SIZE_FLOOR
    #: How long a results page, export or API request waits, in all, for the
    #: suppression plans it must make itself (between a mixing and the mixer
    #: keeping the new plan: app/analytics/plan_maker.py); past it the visitor
    #: gets 503 "being worked out, try again" while the plans are made on.
    #: Below gunicorn's 30 s worker timeout, which would turn the wait into a
    #: 500; short, since a waiting request holds one of the few sync workers.
    plan_wait: timedelta = timedelta(seconds=10)
    #: IANA time zone of the municipality: every date decision (a campaign's
    #: first and last day, the month a response keeps) is made in it.
    timezone: str = "Europe/Stockholm"
    #: Folder of the mixer's private keys, on the one host that mixes, outside
    #: what is backed up with the database. Empty: a folder in the user's
    #: state directory (~/.local/state/kundrost/...), one per database.
    mixer_key_dir: str = ""
    #: Seconds between the mixer's rounds (`flask mixer run`).
    mixer_interval: timedelta = timedelta(seconds=60)
    #: A new answer key is made this often, even when nothing is released;
    #: what waits is re-encrypted to it and the old private key erased.
    key_rotation: timedelta = timedelta(hours=24)
    #: How long an app node keeps using the answer key it read last. A key
    #: superseded meanwhile is refused by the database and the answers are
    #: sealed again to the newest (mixing/intake.py).
    key_cache: timedelta = timedelta(seconds=30)
    #: Days after a campaign's last answering day until it is finalised
    #: (paper forms are typed in meanwhile); then per-person rows go.
    finalise_after: timedelta = timedelta(days=30)
    #: `make run`: gunicorn starts a mixer beside itself (app/serving.py).
    embedded_mixer: bool = False
    #: Tests only: the name of a crash point at which the process kills
    #: itself (app/crashpoints.py). Empty in every real deployment.
    crash_at: str = ""

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> "Config":
        """The configuration from `environ` (default: os.environ), unset variables taking their defaults.

        Raises ConfigError for an invalid value (e.g. MIN_CELL_SIZE below 5) and
        ValueError for a number that does not parse.
        """
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            secret_key=env.get("SECRET_KEY", ""),
            public_url=env.get("PUBLIC_URL", cls.public_url).rstrip("/"),
            municipality_name=env.get("MUNICIPALITY_NAME", cls.municipality_name).strip(),
            municipality_logo=env.get("MUNICIPALITY_LOGO", cls.municipality_logo).strip(),
            respondent_grant_ttl=timedelta(
                minutes=int(env.get("RESPONDENT_GRANT_MINUTES", "120"))
            ),
            staff_session_ttl=timedelta(hours=int(env.get("STAFF_SESSION_HOURS", "8"))),
            links_shown=timedelta(minutes=int(env.get("LINKS_SHOWN_MINUTES", "60"))),
            secure_cookies=_bool(env.get("SECURE_COOKIES"), True),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", "memory://"),
            ratelimit_link_open=env.get("RATELIMIT_LINK_OPEN", cls.ratelimit_link_open),
            trusted_proxy_count=_count(env, "TRUSTED_PROXY_COUNT", 0),
            control_socket=env.get("GUNICORN_CONTROL_SOCKET", ""),
            bind=env.get("BIND", "") or cls.bind,
            web_concurrency=_count(env, "WEB_CONCURRENCY", 0),
            min_cell_size=int(env.get("MIN_CELL_SIZE", str(MIN_CELL_SIZE_FLOOR))),
            plan_wait=timedelta(seconds=float(env.get("RESULTS_PLAN_WAIT_SECONDS", "10"))),
            timezone=env.get("MUNICIPALITY_TIMEZONE", cls.timezone),
            mixer_key_dir=env.get("MIXER_KEY_DIR", ""),
            mixer_interval=timedelta(seconds=float(env.get("MIXER_INTERVAL_SECONDS", "60"))),
            key_rotation=timedelta(hours=float(env.get("KEY_ROTATION_HOURS", "24"))),
            finalise_after=timedelta(days=int(env.get("FINALISE_AFTER_DAYS", "30"))),
            embedded_mixer=_bool(env.get("EMBEDDED_MIXER"), False),
            crash_at=env.get("KUNDROST_CRASH_AT", ""),
        )

    def __post_init__(self) -> None:
        if len(self.municipality_name) > MUNICIPALITY_NAME_MAX:
            raise ConfigError(f"MUNICIPALITY_NAME is longer than {MUNICIPALITY_NAME_MAX} characters")
        if self.min_cell_size < MIN_CELL_SIZE_FLOOR:
            raise ConfigError(f"MIN_CELL_SIZE must be at least {MIN_CELL_SIZE_FLOOR}, not {self.min_cell_size}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ConfigError(f"MUNICIPALITY_TIMEZONE {self.timezone!r} is not a known time zone") from error
        if not timedelta(0) <= self.plan_wait <= PLAN_WAIT_MAX:
            raise ConfigError(f"RESULTS_PLAN_WAIT_SECONDS must be 0 to {PLAN_WAIT_MAX.seconds}: gunicorn ends a "
                              "worker that answers nothing for 30 s")
        if self.links_shown < timedelta(minutes=1):
            raise ConfigError("LINKS_SHOWN_MINUTES must be at least 1: new links must be shown at least once")
        if self.key_rotation <= self.key_cache * 2:
            raise ConfigError("KEY_ROTATION_HOURS must be far longer than the key cache (30 s)")

    @property
    def zone(self) -> ZoneInfo:
        """The municipality's time zone (`timezone`), for app/clock.py."""
        return ZoneInfo(self.timezone)

    def with_overrides(self, **changes) -> "Config":
        """A copy with the given fields changed (validated again)."""
        return replace(self, **changes)

    def resolved_database_url(self, instance_path: str) -> str:
        """The SQLAlchemy URL to use: DATABASE_URL normalised, or the SQLite file in `instance_path`."""
        if self.database_url:
            return _normalise_database_url(self.database_url)
        return "sqlite:///" + str(Path(instance_path) / "kundrost.sqlite3")

    def resolved_secret_key(self, instance_path: str) -> str:
        """The configured key, or one kept in the instance folder.

        A generated key is written once so that sessions survive restarts of
        a local installation; production sets SECRET_KEY explicitly.
        """
        if self.secret_key:
            return self.secret_key
        key_file = Path(instance_path) / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


    def resolved_mixer_key_dir(self, database_url: str, home: str | None = None) -> Path:
        """The configured key folder, or one per database in the user's state directory.

        Never beside the SQLite file: a copy of the instance folder (a
        backup) must not carry the keys that open what waits in it.
        """
        if self.mixer_key_dir:
            return Path(self.mixer_key_dir)
        state = Path(home or Path.home()) / ".local" / "state" / "kundrost"
        database_id = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        return state / f"mixer-keys-{database_id}"


def _normalise_database_url(url: str) -> str:
    # Heroku-style "postgres://" and plain "postgresql://" both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
