"""All configuration in one place, read from the environment once.

`Config.from_env()` is the only reader of `os.environ` in the application;
everything else receives the frozen `Config` through `app.config["KUNDROST"]`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Config:
    #: SQLAlchemy URL. Empty means the embedded SQLite file in the instance folder.
    database_url: str = ""
    #: Signs session cookies and CSRF tokens. Must be set in production.
    secret_key: str = ""
    #: Public base URL used in printed invitation links ("https://enkat.example.se").
    public_url: str = "http://127.0.0.1:5000"
    #: Name shown in the staff header.
    municipality_name: str = "Kundröst"
    #: How long an exchanged invitation link stays valid in the browser before
    #: the customer must open the link again. The answers survive expiry.
    respondent_grant_ttl: timedelta = timedelta(hours=2)
    #: Staff sessions end after this much time.
    staff_session_ttl: timedelta = timedelta(hours=8)
    #: Send cookies over HTTPS only. Off only for local development.
    secure_cookies: bool = True
    #: Flask-Limiter storage: "memory://" or a Redis URL.
    ratelimit_storage_uri: str = "memory://"
    #: Token-link openings allowed per client per minute (guessing defence).
    ratelimit_link_open: str = "30 per minute"
    #: Smallest number of answers behind any figure shown to staff.
    min_cell_size: int = 5

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> "Config":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            secret_key=env.get("SECRET_KEY", ""),
            public_url=env.get("PUBLIC_URL", cls.public_url).rstrip("/"),
            municipality_name=env.get("MUNICIPALITY_NAME", cls.municipality_name),
            respondent_grant_ttl=timedelta(
                minutes=int(env.get("RESPONDENT_GRANT_MINUTES", "120"))
            ),
            staff_session_ttl=timedelta(hours=int(env.get("STAFF_SESSION_HOURS", "8"))),
            secure_cookies=_bool(env.get("SECURE_COOKIES"), True),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", "memory://"),
            ratelimit_link_open=env.get("RATELIMIT_LINK_OPEN", cls.ratelimit_link_open),
            min_cell_size=int(env.get("MIN_CELL_SIZE", "5")),
        )

    def with_overrides(self, **changes) -> "Config":
        return replace(self, **changes)

    def resolved_database_url(self, instance_path: str) -> str:
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


def _normalise_database_url(url: str) -> str:
    # Heroku-style "postgres://" and plain "postgresql://" both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
