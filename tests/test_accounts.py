"""Staff sign-in, roles and the one access policy."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from app.accounts.models import Role, User
from app.accounts.policy import Permission, allows
from app import limits
from app.db import db_session

from .conftest import PASSWORD, ROOT, csrf_token_from, login
from .forms import hidden_fields
from .helpers import translated


def test_sign_in_and_out(client, make_user):
    make_user(Role.ANALYST, "karin")
    signed_in = login(client, "karin")
    assert signed_in.status_code == 303
    assert client.get("/staff/campaigns/").status_code == 200
    page = client.get("/staff/campaigns/").get_data(as_text=True)
    signed_out = client.post("/staff/logout", data={"csrf_token": csrf_token_from(page)})
    assert signed_out.status_code == 303
    assert client.get("/staff/campaigns/").status_code == 302


@pytest.mark.parametrize("language", ["sv", "ar", "uk"])
def test_wrong_password_is_refused_in_the_staff_members_language(client, make_user, language):
    make_user(Role.ANALYST, "karin")
    client.get(f"/staff/login?lang={language}")
    refused = login(client, "karin", "not the password at all")
    assert refused.status_code == 401
    html = refused.get_data(as_text=True)
    assert translated("Wrong username or password. Check them and try again.", language) in html
    assert client.get("/staff/campaigns/").status_code == 302


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, make_user):
    make_user(Role.ANALYST, "karin")
    wrong = login(client, "karin", "wrong password here")
    unknown = login(client, "nobody-here", "wrong password here")
    assert wrong.status_code == unknown.status_code == 401
    def comparable(response, username):
        html = response.get_data(as_text=True).replace(f'value="{username}"', "")
        return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", html)

    assert comparable(wrong, "karin") == comparable(unknown, "nobody-here")


def test_login_form_requires_a_csrf_token(client, make_user):
    make_user(Role.ADMIN, "root")
    refused = client.post("/staff/login", data={"username": "root", "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/staff/campaigns/").status_code == 302


def test_the_app_hashes_with_argon2s_maintained_defaults():
    # The tests hash with argon2-cffi's CHEAPEST parameters (conftest._cheap_password_hashing); the app,
    # imported afresh, uses the library's defaults: RFC 9106's low-memory profile, 64 MiB, 3 passes, 4 lanes.
    made = subprocess.run(
        [sys.executable, "-c", "from app.accounts.passwords import hash_password; print(hash_password('x' * 12))"],
        capture_output=True, text=True, check=True, cwd=ROOT)
    assert made.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), made.stdout


def test_passwords_are_stored_as_argon2id(app, make_user):
    make_user(Role.ADMIN, "root")
    with app.app_context():
        user = db_session.scalar(select(User).where(User.username == "root"))
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


# Spellings of another site that browsers follow: a backslash is a slash to
# them, and they drop tabs and line breaks inside a URL.
@pytest.mark.parametrize("target", [
    "//evil.example/x", "/%5Cevil.example", "/%5C%5Cevil.example", "/%09/evil.example",
    "/%0A/evil.example", "https://evil.example/", "/\\/evil.example".replace("\\", "%5C"),
])
def test_next_parameter_cannot_redirect_elsewhere(client, make_user, target):
    make_user(Role.ANALYST, "karin")
    page = client.get(f"/staff/login?next={target}")
    response = client.post(
        f"/staff/login?next={target}",
        data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "username": "karin", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"  # the staff home, never elsewhere


def test_next_parameter_keeps_a_page_of_this_site(client, make_user):
    make_user(Role.ANALYST, "karin")
    page = client.get("/staff/login?next=/staff/results/")
    response = client.post(
        "/staff/login?next=/staff/results/",
        data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "username": "karin", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/staff/results/"


def test_signing_in_starts_a_fresh_session(client, make_user):
    make_user(Role.ANALYST, "karin")
    client.get("/staff/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "karin")
    with client.session_transaction() as session:
        assert "planted" not in session


# The whole matrix, written by hand from what each role is for - never read
# from ROLE_PERMISSIONS, the table under test. Every staff route in the URL
# map must have its rows (test_every_staff_route_is_in_the_matrix).
#   method, path, then the status for admin, analyst, entry clerk, provider.
# POSTs carry a valid CSRF token and an otherwise empty form: a role that may
# use the form gets it back explained (200/422) or done (303); others get 403.
ADMIN, ANALYST, ENTRY, PROVIDER = Role.ADMIN, Role.ANALYST, Role.ENTRY, Role.PROVIDER
STAFF_MATRIX = [
    ("GET", "/staff/login", 302, 302, 302, 302),  # signed in already: on to the staff home
    ("POST", "/staff/login", 303, 303, 303, 303),  # sent again when signed in: the first answer (kind 7)
    ("GET", "/staff/", 302, 302, 200, 302),       # those with a first page are sent to it
    ("GET", "/staff/password", 200, 200, 200, 200),
    ("GET", "/staff/campaigns/", 200, 200, 403, 403),
    ("GET", "/staff/campaigns/new", 200, 200, 403, 403),
    # Forms that create something need their form key (app/idempotency.py):
    # a role that may use the form gets 400 "the form had expired" without it.
    ("POST", "/staff/campaigns/new", 400, 400, 403, 403),
    ("GET", "/staff/campaigns/{campaign}", 200, 200, 403, 403),
    ("POST", "/staff/campaigns/{campaign}/invitations", 400, 400, 403, 403),
    # Another browser made the batch: its page says the links cannot be shown; the CSV leads there.
    ("GET", "/staff/campaigns/{campaign}/links/{batch}", 200, 200, 403, 403),
    ("GET", "/staff/campaigns/{campaign}/links/{batch}.csv", 303, 303, 403, 403),
    ("GET", "/staff/results/", 200, 200, 403, 200),  # a provider account: the campaigns with its provider
    # A provider account is led from the overview to its own provider's page; it gets that page and no other
    # provider's (404), and neither the question pages (every provider side by side) nor the comments (403).
    ("GET", "/staff/results/{campaign}", 200, 200, 403, 302),
    ("GET", "/staff/results/{campaign}/providers/{provider}", 200, 200, 403, 404),
    ("GET", "/staff/results/{campaign}/providers/{own_provider}", 200, 200, 403, 200),
    ("GET", "/staff/results/{campaign}/questions/{question}", 200, 200, 403, 403),
    ("GET", "/staff/results/{campaign}/comments", 200, 200, 403, 403),
    ("GET", "/staff/results/references", 200, 200, 403, 403),
    ("POST", "/staff/results/references", 400, 400, 403, 403),
    # Deleting a reference value that is gone already is the answer a deletion gives, sent again.
    ("POST", "/staff/results/references/{reference}/delete", 303, 303, 403, 403),
    # Exports (app/analytics/exports.py). The world has no answers yet: a table is made, empty (an empty
    # selection gives nothing away), for the provider too (its own provider, by programme); the answers are analysts' and
    # admins' only; the report is made (title page), for a provider of its own provider.
    ("GET", "/staff/results/{campaign}/tables/{table}.csv", 200, 200, 403, 200),
    ("GET", "/staff/results/{campaign}/tables/{table}.xlsx", 200, 200, 403, 200),
    ("GET", "/staff/results/{campaign}/tables.xlsx", 200, 200, 403, 200),
    ("GET", "/staff/results/{campaign}/answers.csv", 200, 200, 403, 403),
    ("GET", "/staff/results/{campaign}/answers.xlsx", 200, 200, 403, 403),
    ("GET", "/staff/results/{campaign}/report.pdf", 200, 200, 403, 200),
    ("GET", "/staff/organisation/", 200, 200, 403, 403),
    ("POST", "/staff/organisation/providers", 400, 400, 403, 403),
    ("POST", "/staff/organisation/programmes", 400, 400, 403, 403),
    # These forms say which state they want ("1"/"0", never "switch"); an empty one is refused.
    ("POST", "/staff/organisation/providers/{provider}/active", 400, 400, 403, 403),
    ("POST", "/staff/organisation/programmes/{programme}/active", 400, 400, 403, 403),
    ("POST", "/staff/password", 400, 400, 400, 400),
    ("POST", "/staff/logout", 303, 303, 303, 303),  # last: it signs out
]
ROLE_COLUMN = {ADMIN: 2, ANALYST: 3, ENTRY: 4, PROVIDER: 5}


def matrix_path(template: str, world, batch: int = 0) -> str:
    return template.format(campaign=world.campaign_id, provider=world.provider_ids[1],
                           own_provider=world.provider_ids[0], question="treated_well", reference=1,
                           programme=world.programme_ids[1], batch=batch,
                           table="summary")


def a_batch_of_links(app, world, make_user) -> int:
    """A batch of single-use links made through the staff page by someone else, in another browser."""
    make_user(ADMIN, "maker")
    maker = app.test_client()
    login(maker, "maker")
    action = f"/staff/campaigns/{world.campaign_id}/invitations"
    made = maker.post(action, data={
        **hidden_fields(maker.get(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True), action),
        "provider": world.provider_ids[0], "programme": world.programme_ids[0], "language": "sv", "count": 1})
    assert made.status_code == 303
    return int(made.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.parametrize("role", [ADMIN, ANALYST, ENTRY, PROVIDER])
def test_access_matrix(app, client, world, make_user, role):
    batch = a_batch_of_links(app, world, make_user)
    make_user(role, "person", provider_id=world.provider_ids[0] if role is PROVIDER else None)
    assert login(client, "person").status_code == 303
    csrf = csrf_token_from(client.get("/staff/password").get_data(as_text=True))
    for row in STAFF_MATRIX:
        method, path = row[0], matrix_path(row[1], world, batch)
        response = client.open(path, method=method, data={"csrf_token": csrf} if method == "POST" else None)
        assert response.status_code == row[ROLE_COLUMN[role]], (role, method, path, response.status_code)


def test_anonymous_visitors_are_sent_to_sign_in(app, client, world, make_user):
    batch = a_batch_of_links(app, world, make_user)
    csrf = csrf_token_from(client.get("/staff/login").get_data(as_text=True))
    for method, template, *_ in STAFF_MATRIX:
        if template == "/staff/login":
            continue
        path = matrix_path(template, world, batch)
        response = client.open(path, method=method, data={"csrf_token": csrf} if method == "POST" else None)
        # Signing out when not signed in is the answer a sign-out gives (303), sent again.
        assert response.status_code == (303 if template == "/staff/logout" else 302), (method, path, response.status_code)
        assert response.headers["Location"].startswith("/staff/login"), (method, path)


def test_every_staff_route_is_in_the_matrix(app):
    """A new staff page is an access decision: add its row to STAFF_MATRIX."""
    in_matrix = {(method, re.sub(r"\{\w+\}", "<>", template)) for method, template, *_ in STAFF_MATRIX}
    routes = {
        (method, re.sub(r"<[^>]+>", "<>", rule.rule))
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - in_matrix == set()
    assert in_matrix - routes == set()


# Who may do what, role by role, written out by hand from what each role is for
# (app/accounts/models.py: Role) - the
# policy's answers must be exactly these.
GRANTED = {
    ADMIN: {"manage_users", "manage_organisation", "manage_campaigns", "view_all_results", "view_own_results",
            "enter_paper"},
    ANALYST: {"manage_campaigns", "view_all_results", "manage_organisation"},
    ENTRY: {"enter_paper"},
    PROVIDER: {"view_own_results"},
}


class Someone:
    """A signed-in person as the policy sees them (flask-login's user protocol)."""

    def __init__(self, role, active=True, is_authenticated=True):
        self.role, self.active, self.is_authenticated = role, active, is_authenticated


def test_the_policy_denies_what_does_not_say_it_is_a_signed_in_active_user():
    """Deny by default: an object that lacks either flag, or has a role the policy does not know, gets nothing."""

    class OnlyActive:
        role, active = ADMIN, True

    class OnlySignedIn:
        role, is_authenticated = ADMIN, True

    class UnknownRole:
        role, active, is_authenticated = "auditor", True, True  # a role the policy has never heard of

    for user in (OnlyActive(), OnlySignedIn(), UnknownRole()):
        assert not any(allows(user, permission) for permission in Permission), type(user).__name__


@pytest.mark.parametrize("role", [ADMIN, ANALYST, ENTRY, PROVIDER])
def test_the_policy_grants_each_role_exactly_its_permissions(role):
    assert {p.value for p in Permission if allows(Someone(role), p)} == GRANTED[role]
    assert not any(allows(Someone(role, active=False), p) for p in Permission)
    assert not any(allows(Someone(role, is_authenticated=False), p) for p in Permission)


def test_deactivated_accounts_lose_access(app, client, make_user):
    make_user(Role.ADMIN, "root")
    login(client, "root")
    with app.app_context():
        db_session.scalar(select(User).where(User.username == "root")).active = False
        db_session.commit()
    assert client.get("/staff/campaigns/").status_code == 302


def test_policy_denies_everything_to_anonymous_users():
    class Anonymous:
        is_authenticated = False

    assert not any(allows(Anonymous(), permission) for permission in Permission)


def test_users_create_command(app, runner):
    result = runner.invoke(args=["users", "create", "eva", "--role", "analyst", "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "eva", "--role", "analyst", "--password", "a long enough password"])
    assert result.exit_code != 0 and "exists" in result.output
    short = runner.invoke(args=["users", "create", "olle", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0 and "12" in short.output
    listed = runner.invoke(args=["users", "list"])
    assert "eva" in listed.output and "analyst" in listed.output


def test_provider_accounts_need_their_provider(app, runner, world):
    missing = runner.invoke(args=["users", "create", "p1", "--role", "provider", "--password", "a long enough password"])
    assert missing.exit_code != 0
    created = runner.invoke(args=["users", "create", "p1", "--role", "provider", "--provider", "Nordljus AB",
                                  "--password", "a long enough password"])
    assert created.exit_code == 0, created.output


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [(Role.ADMIN, "/staff/campaigns/"), (Role.ANALYST, "/staff/campaigns/"), (Role.ENTRY, None),
     (Role.PROVIDER, "/staff/results/")],
)
def test_signing_in_leads_to_a_page_the_role_may_see(client, world, make_user, role, lands_on):
    make_user(role, "person", provider_id=world.provider_ids[0] if role is Role.PROVIDER else None)
    signed_in = login(client, "person")
    assert signed_in.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    if lands_on:
        assert home.status_code == 302 and home.headers["Location"] == lands_on
    else:
        assert home.status_code == 200
        assert "person" in home.get_data(as_text=True)


def _change_password(client, current: str, new: str, repeat: str | None = None):
    page = client.get("/staff/password").get_data(as_text=True)
    return client.post("/staff/password", data={
        **hidden_fields(page, "/staff/password", "/staff/password"), "current": current, "new": new,
        "repeat": new if repeat is None else repeat,
    })


def test_changing_the_password_signs_out_every_other_session(app, make_user):
    make_user(Role.ANALYST, "karin")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "karin")
    login(phone, "karin")
    new = "a brand new passphrase"
    changed = _change_password(laptop, PASSWORD, new)
    assert changed.status_code == 303
    assert laptop.get("/staff/campaigns/").status_code == 200  # this session goes on
    assert phone.get("/staff/campaigns/").status_code == 302  # the other one is signed out
    assert login(app.test_client(), "karin").status_code == 401  # the old password no longer works
    assert login(app.test_client(), "karin", new).status_code == 303


@pytest.mark.parametrize("language", ["sv", "ar", "so"])
def test_a_wrong_or_weak_new_password_is_explained_and_changes_nothing(app, client, make_user, language):
    make_user(Role.ENTRY, "erik")
    login(client, "erik")
    client.get(f"/staff/password?lang={language}")
    wrong = _change_password(client, "not my password at all", "a brand new passphrase")
    assert wrong.status_code == 422
    assert translated("That is not your current password.", language) in wrong.get_data(as_text=True)
    short = _change_password(client, PASSWORD, "short")
    assert short.status_code == 422
    assert translated("Use at least %(num)d characters.", language) % {"num": 12} in short.get_data(as_text=True)
    mismatch = _change_password(client, PASSWORD, "a brand new passphrase", "a brand new passphrasf")
    assert mismatch.status_code == 422
    assert translated("The two new passwords are not the same.", language) in mismatch.get_data(as_text=True)
    assert login(app.test_client(), "erik").status_code == 303  # the old password still works


def test_an_administrator_can_reset_a_password_and_close_an_account(app, runner, make_user):
    make_user(Role.ANALYST, "karin")
    signed_in = app.test_client()
    login(signed_in, "karin")
    new = "the reset passphrase"
    assert runner.invoke(args=["users", "set-password", "karin", "--password", "short"]).exit_code != 0
    result = runner.invoke(args=["users", "set-password", "Karin", "--password", new])
    assert result.exit_code == 0, result.output
    assert signed_in.get("/staff/campaigns/").status_code == 302  # signed out by the reset
    assert login(app.test_client(), "karin").status_code == 401
    again = app.test_client()
    assert login(again, "karin", new).status_code == 303
    assert runner.invoke(args=["users", "deactivate", "karin"]).exit_code == 0
    assert again.get("/staff/campaigns/").status_code == 302
    assert login(app.test_client(), "karin", new).status_code == 401
    assert runner.invoke(args=["users", "activate", "karin"]).exit_code == 0
    assert login(app.test_client(), "karin", new).status_code == 303
    assert runner.invoke(args=["users", "deactivate", "nobody"]).exit_code != 0


def test_guessing_passwords_is_rate_limited(app, client, make_user):
    make_user(Role.ANALYST, "karin")
    token = csrf_token_from(client.get("/staff/login").get_data(as_text=True))
    guesses = [client.post("/staff/login", data={"csrf_token": token, "username": "karin", "password": f"guess-{n}"})
               for n in range(11)]
    assert all(g.status_code != 429 for g in guesses[:10])
    assert guesses[10].status_code == 429
    assert client.get("/staff/login").status_code == 200  # reading the form is not limited


def test_guessing_the_current_password_when_changing_it_is_rate_limited(app, client, make_user):
    # The limit sits under login_required: the limiter must still see it (app/limits.py).
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    attempts = [_change_password(client, f"guess-{n}", "a-new-long-password-1").status_code for n in range(11)]
    assert 429 not in attempts[:10]
    assert attempts[10] == 429


@pytest.mark.parametrize("path, declares_a_limit", [
    ("/s/AAAAAAAAAAAAAAAAAAAAAA", True), ("/o/abc", True), ("/staff/login", True), ("/staff/password", True),
    ("/survey", False), ("/thanks", False), ("/health", False), ("/staff/campaigns/", False),
])
def test_the_limiter_looks_only_at_routes_that_declare_a_limit(app, path, declares_a_limit):
    with app.test_request_context(path):
        assert limits.skips_this_request() is not declares_a_limit


def test_a_username_is_read_as_typed(app, make_user):
    make_user(Role.ANALYST, "karin")
    # A phone keyboard's trailing space is forgiven; a crafted NUL is no server error.
    assert login(app.test_client(), "karin ").status_code == 303
    assert login(app.test_client(), "kar\x00in").status_code == 303
    assert login(app.test_client(), "nobody\x00").status_code == 401
