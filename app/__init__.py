"""Kundröst: anonymous, multilingual customer-satisfaction surveys.

`create_app()` builds the application from a `Config` (by default read from
the environment). Features are blueprints, registered below in one list.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, render_template
from flask_compress import Compress
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from . import clock, db, errors, i18n, logs, migrate, web
from .accounts.policy import Permission, can
from .branding import logo_from_config
from .config import Config

csrf = CSRFProtect()
compress = Compress()


class KundrostFlask(Flask):
    """Flask, logging an unhandled exception without a respondent page's path (app/logs.py)."""

    def log_exception(self, exc_info) -> None:
        """Log `exc_info` as Flask does, naming a respondent page's route pattern instead of its path."""
        logs.log_exception_anonymously(self, exc_info)


def create_app(config: Config | None = None, *, instance_path: str | None = None) -> Flask:
    """The WSGI application, built from `config` (default: `Config.from_env()`).

    `instance_path` is the folder of the embedded SQLite file and the
    generated secret key (default: Flask's `instance/`); it is created if
    missing. Besides the blueprints it serves "/" (the home page) and
    "/health" ({"status": "ok"} once the database answers a query).
    Raises ConfigError for an unusable setting or MUNICIPALITY_LOGO, and
    ValueError (from `Config.from_env`) for a number that does not parse.
    """
    config = config or Config.from_env()
    app = KundrostFlask(
        __name__, instance_path=instance_path, instance_relative_config=True, static_folder=None
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_flask(app, config)

    db.init_app(app, config.resolved_database_url(app.instance_path))
    i18n.init_app(app)
    web.init_app(app)
    logs.init_app(app)
    errors.init_app(app)
    migrate.init_app(app)
    csrf.init_app(app)
    compress.init_app(app)
    _init_limiter(app, config)
    _trust_proxies(app, config)
    _register_blueprints(app)
    _register_cli(app)

    app.jinja_env.globals.update(Permission=Permission, can=can, current_user=current_user)
    # Read and cleaned once: a logo that cannot be used stops the start with a ConfigError.
    branding = {"municipality_name": config.municipality_name, "municipality_logo": logo_from_config(config)}
    app.context_processor(lambda: branding)
    app.add_url_rule("/", "home", _home)
    app.add_url_rule("/health", "health", _health)
    return app


def _configure_flask(app: Flask, config: Config) -> None:
    app.config.update(
        KUNDROST=config,
        # The one clock (app/clock.py); tests replace it to set the time.
        **{clock.CLOCK: time.time},
        SECRET_KEY=config.resolved_secret_key(app.instance_path),
        SESSION_COOKIE_NAME="kr",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=config.staff_session_ttl,
        # The respondent grant has its own clock; a CSRF token lives as long as its session.
        WTF_CSRF_TIME_LIMIT=None,
        # Every page sends Referrer-Policy: no-referrer (app/web.py), so browsers
        # send no Referer: Flask-WTF's HTTPS referrer check would refuse every
        # form posted over HTTPS - all of them, once the proxy's
        # X-Forwarded-Proto is trusted. The CSRF token and SameSite cookies stay.
        WTF_CSRF_SSL_STRICT=False,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIN_SIZE=200,
        # Level 4 makes the survey page about 8 % larger than level 5 for two
        # thirds of the CPU; the page stays far under its 14 KB budget.
        COMPRESS_BR_LEVEL=4,
        RATELIMIT_STORAGE_URI=config.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
        # Check every limit of a request, so that a 429 can say how long the
        # longest broken one lasts (limits.seconds_until_allowed).
        RATELIMIT_FAIL_ON_FIRST_BREACH=False,
    )


def _init_limiter(app: Flask, config: Config) -> None:
    from .limits import limiter

    limiter.init_app(app)


def _trust_proxies(app: Flask, config: Config) -> None:
    """Take the client's address and scheme from exactly `trusted_proxy_count` proxies.

    Each proxy appends the address it saw to X-Forwarded-For, so the last
    N entries are trustworthy and the one N from the end is the client;
    anything before it came from the client and is ignored (ProxyFix
    reads from the right). X-Forwarded-Proto likewise, so that the app
    knows a request came over HTTPS. X-Forwarded-Host and -Port are not
    trusted: the proxy passes the Host header on (docs/operations.md). The
    address only keys rate limits (app/limits.py); it is never stored.
    """
    count = config.trusted_proxy_count
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)


def _register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .accounts.views import login_manager
    from .analytics.exports import bp as analytics_exports_bp
    from .analytics.views import bp as analytics_bp
    from .api.views import bp as api_bp
    from .campaigns.views import bp as campaigns_bp
    from .organisation.views import bp as organisation_bp
    from .respond.views import bp as respond_bp

    # No context processor: it would load the user - and run Flask-Login's
    # session protection - on every respondent page. Staff templates read the
    # `current_user` global instead.
    login_manager.init_app(app, add_context_processor=False)
    for blueprint in (respond_bp, accounts_bp, campaigns_bp, analytics_bp, analytics_exports_bp, organisation_bp,
                      api_bp):
        app.register_blueprint(blueprint)
    # The API reads no cookie (app/web.py), only its token: a forged cross-site request has no token to send.
    csrf.exempt(api_bp)


def _register_cli(app: Flask) -> None:
    from .accounts.cli import users_cli
    from .analytics.cli import analytics_cli
    from .api.cli import api_cli
    from .demo import demo_command
    from .i18n.cli import i18n_cli
    from .mixing.cli import mixer_cli
    from .organisation.cli import organisation_cli
    from .surveys.cli import surveys_cli

    for command in (users_cli, surveys_cli, organisation_cli, i18n_cli, mixer_cli, analytics_cli, api_cli,
                    demo_command):
        app.cli.add_command(command)


def _home():
    from .clock import local_today

    return render_template("home.html", today=local_today())


def _health():
    from sqlalchemy import text

    from .db import db_session

    db_session.execute(text("SELECT 1"))
    return {"status": "ok"}
