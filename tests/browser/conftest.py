"""Fixtures for the real-browser tests: Playwright (sync API) driving Debian's Chromium.

One Chromium serves the whole run; every test opens its own browser contexts
(cookie jars), so no session leaks between tests. The app is the ordinary
test app from tests/conftest.py served by `live_server`; the database is
real (SQLite, or PostgreSQL when TEST_DATABASE_URL is set).

Needs (never `playwright install`: it downloads a browser, which fails here):
  apt-get install -y chromium fonts-noto-core    ->  /usr/bin/chromium
  npm install (at the repository root)           ->  node_modules/axe-core
Without them these tests skip, unless CI is set: then they fail.

Artifacts (screenshots, full axe reports) go to test-artifacts/ (git-ignored);
with UPDATE_SCREENSHOTS=1 the survey screenshots also replace docs/screenshots/.
"""

from __future__ import annotations

import pytest
from browserkit import AXE_SCRIPT, CHROMIUM, CHROMIUM_ARGS, PHONE, ROOT, SurveyKit, missing, record_errors

from app.demo import DEMO_LOGO, DEMO_MUNICIPALITY


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} not found: apt-get install -y chromium fonts-noto-core")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_script():
    if not AXE_SCRIPT.exists():
        missing(f"{AXE_SCRIPT.relative_to(ROOT)} not found: run `npm install` in {ROOT}")
    return AXE_SCRIPT


@pytest.fixture
def phone(browser, live_server):
    """Open a fresh phone-sized context on the live server: `context, page = phone()`."""
    contexts = []

    def open_phone(**options):
        context = browser.new_context(base_url=live_server, **{**PHONE, **options})
        context.set_default_timeout(10_000)
        context.on("page", record_errors)
        contexts.append(context)
        return context, context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def config(config):
    """Pages as a municipality shows them: the demo's name and logo in every header (app/branding.py)."""
    return config.with_overrides(municipality_name=DEMO_MUNICIPALITY, municipality_logo=str(DEMO_LOGO))


@pytest.fixture
def kit(app, world, live_server) -> SurveyKit:
    return SurveyKit(app, world, live_server)
