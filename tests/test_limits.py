"""Rate-limit keys and the sign-in limits, in process (issue 8, kind 6).

tests/test_proxy.py shows the same limits through a real nginx; here the
clock is moved (time-machine) to show what only time can: that one address
cannot add more than ten an hour to an account's count.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import datetime, timezone

import time_machine
from hypothesis import given
from hypothesis import strategies as st

from app.accounts.models import Role
from app.config import Config, ConfigError
from app.limits import account_fold, limiter, sign_in_account_client_key, sign_in_account_key

from .conftest import PASSWORD, csrf_token_from

MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def sign_in_response(client, username: str, password: str):
    token = csrf_token_from(client.get("/staff/login").get_data(as_text=True))
    return client.post("/staff/login", data={"csrf_token": token, "username": username, "password": password})


def sign_in(client, username: str, password: str) -> int:
    return sign_in_response(client, username, password).status_code


def test_one_address_adds_at_most_ten_an_hour_to_one_account(app, make_user):
    make_user(Role.ANALYST, "anna")
    make_user(Role.ADMIN, "bertil")
    with time_machine.travel(MORNING, tick=False) as clock:
        attacker = client_at(app, "198.51.100.1")
        assert [sign_in(attacker, "anna", f"guess-{n}") for n in range(10)] == [401] * 10
        refused = sign_in_response(attacker, "bertil", "guess")  # the address's minute is used up
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "Wait a minute and try again." in refused.get_data(as_text=True)
        clock.shift(61)
        # A new minute: the address may try again - but no longer at Anna, for the rest of the hour.
        assert sign_in(attacker, "bertil", "guess") == 401
        refused = sign_in_response(attacker, "anna", "guess")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "3539"  # 3600 - 61
        assert "Wait 59 minutes and try again." in refused.get_data(as_text=True)
        assert sign_in(client_at(app, "198.51.100.2"), "anna", PASSWORD) == 303
        clock.shift(3600)
        assert sign_in(attacker, "anna", PASSWORD) == 303


def test_signing_in_successfully_costs_nothing(app, make_user):
    # A town hall's staff behind one public address sign in all morning.
    make_user(Role.ANALYST, "anna")
    assert [sign_in(client_at(app, "192.0.2.10"), "anna", PASSWORD) for _ in range(12)] == [303] * 12
    assert sign_in(client_at(app, "192.0.2.10"), "anna", "wrong password") == 401


def test_a_name_is_one_account_however_it_is_typed():
    assert account_fold("ÅSA") == "åsa"
    assert account_fold("A\u030asa") == "åsa"  # A + combining ring (NFD)
    assert account_fold("  Åsa\t") == "åsa"
    assert account_fold("STRASSE") == account_fold("Straße") == "strasse"
    assert account_fold("anna") != account_fold("anne")
    # Every spelling that signs in to "admin" counts against admin's one budget
    # (breaker's finding, 2026-11-30: each of these had a fresh budget of its own).
    for spelling in ("admin\u200b", "a\u00addmin", "ADM\u0130N", "ＡＤＭＩＮ", " admin "):
        assert account_fold(spelling) == account_fold("admin"), spelling


@given(st.text(max_size=30))
def test_nfc_nfd_and_outer_spaces_never_make_another_account(name):
    folded = account_fold(name)
    assert account_fold(unicodedata.normalize("NFD", name)) == folded
    assert account_fold(unicodedata.normalize("NFC", name)) == folded
    assert account_fold(f"  {name} ") == folded
    assert unicodedata.is_normalized("NFC", folded)


def test_sign_in_keys_fold_the_name_and_hide_it(app):
    def keys(username: str, address: str) -> tuple[str, str]:
        with app.test_request_context("/staff/login", method="POST", data={"username": username},
                                      environ_base={"REMOTE_ADDR": address}):
            return sign_in_account_key(), sign_in_account_client_key()

    account, pair = keys("ÅSA", "192.0.2.1")
    assert keys("a\u030asa ", "192.0.2.1") == (account, pair)
    other_address = keys("åsa", "192.0.2.2")
    assert other_address[0] == account and other_address[1] != pair
    assert keys("anna", "192.0.2.1")[0] != account
    for key in (account, pair):
        assert len(key) == 24 and "sa" not in key.lower() and "192.0.2" not in key


def test_respondent_limit_keys_hold_no_address_or_token_and_expire(app, world):
    token = world.invite(app, "sv")[0]
    customer = client_at(app, "203.0.113.77")
    assert customer.get(f"/s/{token}").status_code == 303
    storage = limiter.storage
    keys = list(storage.storage) if hasattr(storage, "storage") else []
    assert keys, "the link opening was counted in memory://"
    for key in keys:
        assert "203.0.113" not in key and token not in key
        assert storage.get_expiry(key) - time.time() <= 60


def test_trusted_proxy_count_is_a_whole_number():
    assert Config.from_env({}).trusted_proxy_count == 0
    assert Config.from_env({"TRUSTED_PROXY_COUNT": "2"}).trusted_proxy_count == 2
    for wrong in ("-1", "one", "1.5", "²"):
        try:
            Config.from_env({"TRUSTED_PROXY_COUNT": wrong})
        except ConfigError as error:
            assert "TRUSTED_PROXY_COUNT" in str(error)
        else:
            raise AssertionError(f"{wrong!r} was accepted")


def test_behind_one_proxy_the_address_it_saw_is_the_client(config, tmp_path):
    # In process, the WSGI environ stands for gunicorn's; tests/test_proxy.py does it for real.
    from app import create_app

    app = create_app(config.with_overrides(trusted_proxy_count=1, ratelimit_link_open="2 per minute"),
                     instance_path=str(tmp_path / "instance"))
    limiter.reset()
    proxy = client_at(app, "127.0.0.1")

    def open_from(chain: str) -> int:
        return proxy.get("/s/" + "D" * 22, headers={"X-Forwarded-For": chain}).status_code

    try:
        # The client wrote "10.0.0.n, " itself; nginx appended what it saw.
        assert [open_from(f"10.0.0.{n}, 192.0.2.5") for n in range(3)] == [404, 404, 429]
        assert open_from("192.0.2.6") == 404
        assert open_from("192.0.2.5") == 429
    finally:
        app.extensions["kundrost.db"].dispose()
