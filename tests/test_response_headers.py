"""What a shared computer and a proxy may keep: nothing (app/web.py).

Every route in the URL map - a route added later included, with no change
here - is requested by every kind of visitor (not signed in, and signed in
with each staff role) with every method it answers, over HTTP with
SECURE_COOKIES off and over HTTPS with it on. Each response must say
`Cache-Control: no-store`, and carry HSTS exactly when SECURE_COOKIES is on.
"""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.web import CACHEABLE_ENDPOINTS

from .conftest import PASSWORD, csrf_token_from
from .forms import forms_on, hidden_fields

HSTS_ONE_YEAR = "max-age=31536000"
VISITORS = [None, Role.ADMIN, Role.ANALYST, Role.ENTRY, Role.PROVIDER]
#: Statuses that show a request did not reach the view's own work (401: the JSON API without its token).
NOT_REACHED = {302, 400, 401, 403, 404, 405}


@pytest.fixture(params=[False, True], ids=["http", "https"])
def config(request, config):
    return config.with_overrides(secure_cookies=request.param)


class Visitor:
    """A test client that speaks HTTPS when the app wants secure cookies, with a same-site Referer."""

    def __init__(self, app, secure: bool):
        self.client = app.test_client()
        self.base_url = "https://localhost" if secure else "http://localhost"

    def open(self, path: str, method: str = "GET", data: dict | None = None, headers: dict | None = None):
        return self.client.open(path, method=method, data=data, base_url=self.base_url,
                                headers={"Referer": self.base_url + "/", **(headers or {})})

    def csrf(self, signed_in: bool) -> str:
        return csrf_token_from(self.open("/staff/password" if signed_in else "/staff/login").get_data(as_text=True))

    def sign_in(self, username: str) -> None:
        token = self.csrf(signed_in=False)
        signed_in = self.open("/staff/login", "POST", {"csrf_token": token, "username": username, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.status_code


def _a_batch_of_links(app, world, make_user) -> int:
    """The id of a batch of single-use links made through the staff page, as a person makes one."""
    visitor = Visitor(app, False)
    visitor.sign_in(make_user(Role.ADMIN, "maker"))
    page = visitor.open(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True)
    action = f"/staff/campaigns/{world.campaign_id}/invitations"
    made = visitor.open(action, "POST", {**hidden_fields(page, action), "provider": world.provider_ids[0],
                                         "programme": world.programme_ids[0], "language": "sv", "count": 1})
    assert made.status_code == 303
    return int(made.headers["Location"].rsplit("/", 1)[1])


def _an_api_token(app) -> str:
    """A live API token for every provider (app/api/), made as `flask api token create` makes one."""
    from datetime import date

    from app.api.tokens import create_token
    from app.db import db_session

    with app.app_context():
        token = create_token(db_session, "headers walk", date(2027, 1, 15)).token
        db_session.commit()
        return token


def url_values(app, world, make_user) -> dict:
    """A real value for each URL argument the routes use; any other gets 1 (see the check below)."""
    return {
        "batch_id": _a_batch_of_links(app, world, make_user),
        "token": world.invite(app)[0],
        "code": world.open_link_code(app),
        "campaign_id": world.campaign_id,
        "provider_id": world.provider_ids[0],
        "programme_id": world.programme_ids[0],
        "question_key": "treated_well",
        "table": "summary",
    }


def test_no_endpoint_is_cacheable():
    # Kundröst serves no files; a static endpoint added later may be listed, nothing else.
    assert CACHEABLE_ENDPOINTS <= {"static"}


def test_every_route_every_visitor_every_method_says_no_store_and_hsts_when_secure(app, world, make_user, config):
    secure = config.secure_cookies
    values = url_values(app, world, make_user)
    # Sign-out last: it ends the session the other requests need.
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "accounts.logout")
    assert len(rules) >= 21, "the walk must see the whole map"
    # The JSON API authenticates by token, not by role: every visitor presents one for /api/ routes.
    api_headers = {"Authorization": "Bearer " + _an_api_token(app)}
    reached: dict[tuple[str, str], set[int]] = {}
    checked = 0
    for role in VISITORS:
        visitor = Visitor(app, secure)
        if role is not None:
            username = make_user(role, provider_id=world.provider_ids[0] if role is Role.PROVIDER else None)
            visitor.sign_in(username)
        csrf = visitor.csrf(signed_in=role is not None)
        #: form action -> hidden fields (CSRF token, form key) of the last page that showed it.
        keyed_forms: dict[str, dict[str, str]] = {}
        for rule in rules:
            with app.test_request_context():
                from flask import url_for

                path = url_for(rule.endpoint, **{name: values.get(name, 1) for name in rule.arguments})
            for method in sorted(rule.methods):  # GET before POST: the form's page gives its fresh key
                posted = {"csrf_token": csrf, **keyed_forms.get(path, {})} if method == "POST" else None
                response = visitor.open(path, method, posted,
                                        headers=api_headers if rule.endpoint.startswith("api.") else None)
                # Only pages carry forms (exports are binary: XLSX, PDF).
                if (method == "GET" and response.status_code == 200 and response.mimetype == "text/html"
                        and "form_key" in response.get_data(as_text=True)):
                    for form in forms_on(response.get_data(as_text=True), path):
                        keyed_forms[form.action] = form.hidden()
                where = f"{method} {rule.rule} as {role.value if role else 'anonymous'}"
                assert response.status_code < 500, where
                assert response.headers.get("Cache-Control") == "no-store", where
                if secure:
                    assert response.headers.get("Strict-Transport-Security") == HSTS_ONE_YEAR, where
                else:
                    assert "Strict-Transport-Security" not in response.headers, where
                reached.setdefault((rule.endpoint, method), set()).add(response.status_code)
                checked += 1
    # Each route and method was answered by its view, not only by a redirect to
    # sign-in or a 404, by at least one visitor. A new route whose URL needs a
    # value `url_values` does not know fails here: add the value.
    unreached = sorted(key for key, statuses in reached.items() if statuses <= NOT_REACHED)
    assert unreached == [], unreached
    assert checked >= 5 * 40


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/no/such/page"),
    ("POST", "/thanks"),
    ("GET", "/staff/results/999999"),
    ("GET", "/s/not-a-token"),
])
def test_error_pages_are_no_store_too(app, config, method, path):
    response = Visitor(app, config.secure_cookies).open(path, method)
    assert response.status_code in {404, 405, 302}
    assert response.headers["Cache-Control"] == "no-store"
    assert ("Strict-Transport-Security" in response.headers) is config.secure_cookies


def test_the_links_export_is_no_store(app, world, make_user, config):
    """The CSV of single-use links: a file a shared PC must not keep in its cache."""
    visitor = Visitor(app, config.secure_cookies)
    visitor.sign_in(make_user(Role.ANALYST))
    page = visitor.open(f"/staff/campaigns/{world.campaign_id}").get_data(as_text=True)
    action = f"/staff/campaigns/{world.campaign_id}/invitations"
    made = visitor.client.post(
        action, base_url=visitor.base_url, follow_redirects=True, headers={"Referer": visitor.base_url + "/"},
        data={**hidden_fields(page, action), "provider": world.provider_ids[0],
              "programme": world.programme_ids[0], "language": "sv", "count": 2})
    # The links page, then the CSV it offers (/staff/campaigns/<id>/links/<batch>.csv).
    exported = visitor.client.get(made.request.path + ".csv", base_url=visitor.base_url)
    chain = [*made.history, made, exported]
    assert any(response.mimetype == "text/csv" for response in chain)
    for response in chain:
        assert response.headers["Cache-Control"] == "no-store"
        assert ("Strict-Transport-Security" in response.headers) is config.secure_cookies
