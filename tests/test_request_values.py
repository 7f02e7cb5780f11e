"""No value from a request reaches the database in a form it refuses (issue 8, kind 4(a)).

Every rule in the URL map is walked - GET and POST where it allows them,
signed in (as an administrator, or as a customer holding a survey grant)
so that the view itself runs, with a valid CSRF token - with hostile
strings in each path value, the query string, headers, cookies and form
fields: NUL, lone surrogates, bytes that are not UTF-8, control
characters, over-long values, numbers beyond any id. No answer may be a
5xx. A route added later is walked without changing this file. Runs on
SQLite and on PostgreSQL (TEST_DATABASE_URL, as CI does).
"""

from __future__ import annotations

import io
import re
import tempfile
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes, urljoin

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from app import create_app
from app.accounts.models import Role
from app.accounts.services import create_user
from app.config import Config
from app.db import db_session
from app.limits import limiter
from app.organisation.models import Provider

from .conftest import PASSWORD, _empty_all_tables, build_world, csrf_token_from, login, mixer_of
from .forms import hidden_fields

SESSION_COOKIE = "kr"


def _rules_and_methods() -> list[tuple[str, str]]:
    """(rule, method) for every rule of the application's URL map, GET and POST."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Config(database_url="sqlite://", secret_key="only-to-read-the-url-map"),
                         instance_path=folder)
        app.extensions["kundrost.db"].dispose()
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods & {"GET", "POST"})
    )


RULES_AND_METHODS = _rules_and_methods()


# -- The issue's example and its neighbours, stated one by one --------------------

def test_a_nul_in_an_open_link_code_is_a_link_that_does_not_exist(client, world):
    # The issue's example: on PostgreSQL this was a 500 (psycopg refuses NUL in text).
    assert client.get("/o/abc%00def").status_code == 404
    assert client.get(f"/o/{world.open_link_code(client.application)}%00").status_code == 404
    assert client.get("/s/" + "A" * 21 + "%00").status_code == 404


def test_an_id_that_cannot_be_an_id_is_not_found(client, make_user, world):
    make_user(Role.ADMIN, "admin")
    login(client, "admin")
    assert client.get(f"/staff/campaigns/{world.campaign_id}").status_code == 200
    for path in [
        "/staff/campaigns/99999999999999999999",  # was a 500 on SQLite (OverflowError) and PostgreSQL
        "/staff/results/9223372036854775808",
        "/staff/campaigns/2147483648",  # one beyond PostgreSQL's integer
        "/staff/campaigns/%D9%A1",  # an Arabic-Indic one: not a second address of campaign 1
    ]:
        assert client.get(path).status_code == 404, path
    csrf = csrf_token_from(client.get("/staff/organisation/").get_data(as_text=True))
    assert client.post("/staff/organisation/providers/2147483648/active", data={"csrf_token": csrf}).status_code == 404


@pytest.mark.parametrize(("query", "status"), [
    ("next=%00", 400), ("again=1%00", 400), ("lang=%FF", 400), ("n=%ED%A0%80", 400), ("next=%C3%A5", 200),
])
def test_a_query_the_database_could_not_hold_is_a_bad_request(client, query, status):
    assert client.get("/staff/login", query_string=query).status_code == status


def test_a_header_with_a_nul_is_a_bad_request(client):
    assert client.get("/staff/login", headers={"Accept-Language": "sv\x00"}).status_code == 400
    raw = client.application.test_client(use_cookies=False)
    assert raw.get("/staff/login", headers={"Cookie": "kr=\x00"}).status_code == 400
    assert client.get("/staff/login", headers={"Accept-Language": "sv"}).status_code == 200


def test_form_fields_and_file_names_lose_what_no_database_stores_and_nothing_else(app):
    # Every field, also one no form declares and no filter cleans.
    data = {"anything": "Nord\x00ljus\x1b \ufffd\t AB", "name\x00": "x",
            "upload": (io.BytesIO(b"\x00bytes stay"), "lista\x00.csv")}
    with app.test_request_context("/", method="POST", data=data):
        from flask import request

        assert request.form.to_dict() == {"anything": "Nordljus\x1b \ufffd\t AB", "name": "x"}
        assert request.files["upload"].filename == "lista.csv"
        assert request.files["upload"].read() == b"\x00bytes stay"
    with app.test_request_context("/", method="POST", json={"a\x00": ["b\x00", {"c": "\x00d"}], "n": 5}):
        from flask import request

        assert request.get_json() == {"a": ["b", {"c": "d"}], "n": 5}


def test_a_provider_name_with_a_nul_is_stored_without_it(app, client, make_user):
    make_user(Role.ADMIN, "admin")
    login(client, "admin")
    page = client.get("/staff/organisation/").get_data(as_text=True)
    added = client.post("/staff/organisation/providers", data={
        "csrf_token": csrf_token_from(page), **hidden_fields(page, "/staff/organisation/providers"),
        "provider-name": "Nord\x00ljus AB"})
    assert added.status_code == 303
    with app.app_context():
        assert list(db_session.scalars(select(Provider.name))) == ["Nordljus AB"]


# -- Hostile values, as a client would put them on the wire ----------------------

EXPLICIT = [
    "\x00", "a\x00b", "\x00" * 40, "\ud800", "x\udfffy", "\ufffd", "\ufeff", "\u202e", "\x1b[31m", "\r\n",
    "x" * 10_000, "Å" * 2_000, "9" * 40, "2147483648", "-1", "0", "٣", "１２", "1e999", "NaN",
    "../../etc/passwd", "' OR 1=1 --", "<script>", "%", "Ångström", "A\u030angstro\u0308m",
]
#: Percent-encodings a client can send as they are: malformed, overlong, not UTF-8.
RAW_JUNK = ["%", "%0", "%ZZ", "%00", "%C0%80", "%ED%A0%80", "%FF%FE", "%E2%82", "a%00b", "%25%00"]

#: Numbers where an id is expected: beyond PostgreSQL's integer, beyond SQLite's, negative, not ASCII.
numbers = st.one_of(
    st.integers(min_value=2**31 - 2, max_value=2**31 + 2),
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
    st.integers(min_value=10**18),
    st.integers(max_value=-1),
).map(str) | st.sampled_from(["٣", "１２", "1.5", "1e3", "0x10"])

texts = st.one_of(
    st.sampled_from(EXPLICIT),
    numbers,
    st.text(max_size=60),
    st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(["\x00", "%", "/"])),
             max_size=30).map("".join),
    st.integers(min_value=201, max_value=20_000).map(lambda n: "é" * n),
)


def wire(value: str) -> str:
    """`value` percent-encoded from its UTF-8 bytes (lone surrogates as a sloppy encoder writes them)."""
    return quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe="")


url_parts = st.one_of(texts.map(wire), st.sampled_from(RAW_JUNK))


def header_value(value: str) -> str:
    """`value` as a WSGI server hands a header over: its bytes read as Latin-1, no line breaks."""
    return value.encode("utf-8", "surrogatepass").decode("latin-1").replace("\r", "").replace("\n", "")


HEADERS = ["Accept-Language", "Accept", "Accept-Encoding", "Referer", "Origin", "User-Agent", "X-Forwarded-For",
           "X-Forwarded-Proto", "If-None-Match", "If-Modified-Since", "Range", "Authorization", "Content-Language"]


class Forms(HTMLParser):
    """The POST forms of a page: (action path, names of its fields)."""

    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: list[tuple[str, set[str]]] = []
        self._fields: set[str] | None = None
        self._action = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "get").lower() == "post":
            self._action = urljoin(self.page_path, attributes.get("action") or self.page_path)
            self._fields = set()
        elif tag in ("input", "select", "textarea", "button") and self._fields is not None and attributes.get("name"):
            self._fields.add(attributes["name"])

    def handle_endtag(self, tag):
        if tag == "form" and self._fields is not None:
            self.forms.append((self._action.split("?")[0], self._fields))
            self._fields = None


# -- One application, signed in, for the whole walk ------------------------------
# (Module-scoped; the function-scoped tests above empty the tables, so they come first.)

class Walk:
    """The application under test with a staff and a customer session, and what its pages post."""

    def __init__(self, app, world):
        self.app = app
        self.world = world
        with app.app_context():
            create_user(db_session, "admin", PASSWORD, Role.ADMIN)
            db_session.commit()
        staff = app.test_client()
        assert login(staff, "admin").status_code == 303
        self.staff_csrf = csrf_token_from(staff.get("/staff/organisation/").get_data(as_text=True))
        self.staff_cookie = staff.get_cookie(SESSION_COOKIE).value
        customer = app.test_client()
        assert customer.get(f"/o/{world.open_link_code(app)}").status_code == 303
        self.customer_csrf = csrf_token_from(customer.get("/survey").get_data(as_text=True))
        self.customer_cookie = customer.get_cookie(SESSION_COOKIE).value
        self.valid = {
            "campaign_id": str(world.campaign_id),
            "provider_id": str(world.provider_ids[0]),
            "programme_id": str(world.programme_ids[0]),
            "token": world.invite(app)[0],
            "code": world.open_link_code(app),
            "question_key": "treated_well",
            "table": "summary",
        }
        self.called: dict[str, int] = {}
        #: The JSON API authenticates by token, not by session (app/api/): its requests carry this one.
        with app.app_context():
            from datetime import date

            from app.api.tokens import create_token

            self.api_token = create_token(db_session, "hostile walk", date(2027, 1, 15)).token
            db_session.commit()
        #: endpoint -> (page path, session cookie, form action) of a page showing a form with a form key.
        self.keyed_forms: dict[str, tuple[str, str | None, str]] = {}
        for endpoint, view in list(app.view_functions.items()):
            app.view_functions[endpoint] = self._counting(endpoint, view)
        self.fields = self._posted_fields()

    def _counting(self, endpoint, view):
        # Records that a request got as far as the view: the walk must reach
        # the code behind every route, not only the guards in front of it.
        def counted(*args, **kwargs):
            self.called[endpoint] = self.called.get(endpoint, 0) + 1
            return view(*args, **kwargs)

        return counted

    def rule(self, rule: str):
        return next(r for r in self.app.url_map.iter_rules() if r.rule == rule)

    def session_for(self, endpoint: str) -> tuple[str, str]:
        """(session cookie, CSRF token): a customer's for respondent pages, an administrator's elsewhere."""
        if endpoint.startswith("respond."):
            return self.customer_cookie, self.customer_csrf
        return self.staff_cookie, self.staff_csrf

    def valid_value(self, rule, argument: str) -> str:
        if argument in self.valid:
            return self.valid[argument]
        # A route added later: ids start at 1, and any text names nothing.
        return "1" if isinstance(rule._converters[argument], NumberConverter) else "x"

    @staticmethod
    def path(rule, values: dict[str, str]) -> str:
        """The rule's path with each argument's (already encoded) value in place of `<converter:argument>`."""
        return re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda match: values[match.group(1)], rule.rule)

    def _posted_fields(self) -> dict[str, set[str]]:
        """For each endpoint, the names of the fields the application's own pages post to it."""
        adapter = self.app.url_map.bind("localhost")
        fields: dict[str, set[str]] = {}
        for rule in self.app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            path = self.path(rule, {a: self.valid_value(rule, a) for a in rule.arguments})
            for cookie in (self.staff_cookie, self.customer_cookie, None):
                client = self.app.test_client(use_cookies=False)
                page = client.get(path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {})
                if page.mimetype != "text/html":
                    continue  # a download (XLSX, PDF) has no forms
                parser = Forms(path)
                parser.feed(page.get_data(as_text=True))
                for action, names in parser.forms:
                    try:
                        endpoint, _ = adapter.match(action, method="POST")
                    except Exception:
                        continue
                    fields.setdefault(endpoint, set()).update(names)
                    if any(name.endswith("form_key") for name in names):
                        self.keyed_forms.setdefault(endpoint, (path, cookie, action))
        return fields

    def fresh_form_keys(self, endpoint: str) -> dict[str, str]:
        """A new form key for the endpoint's form, as showing its page again issues one.

        Keys are single-use (app/idempotency.py): with a hostile or spent
        key the view's work would never run, and the walk must reach it.
        """
        if endpoint not in self.keyed_forms:
            return {}
        path, cookie, action = self.keyed_forms[endpoint]
        client = self.app.test_client(use_cookies=False)
        page = client.get(path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {})
        hidden = hidden_fields(page.get_data(as_text=True), action, path)
        return {name: value for name, value in hidden.items() if name.endswith("form_key")}


@pytest.fixture(scope="module")
def walk(migrated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("walk")
    config = Config(database_url=migrated, secret_key="test-secret-key-not-for-production",
                    public_url="https://enkat.example.se", secure_cookies=False,
                    ratelimit_link_open="1000 per minute", mixer_key_dir=str(folder / "mixer-keys"))
    app = create_app(config, instance_path=str(folder / "instance"))
    app.config.update(TESTING=True)
    _empty_all_tables(app.extensions["kundrost.db"])
    limiter.reset()
    mixer_of(app).publish_key()
    yield Walk(app, build_world(app))
    app.extensions["kundrost.db"].dispose()


def test_the_walk_finds_the_forms_of_the_application(walk):
    # Not a check that cannot fail: a page whose forms the walk missed would
    # be walked without its fields.
    assert {"provider-csrf_token", "provider-name"} <= walk.fields["organisation.add_provider"]
    assert {"csrf_token", "username", "password"} <= walk.fields["accounts.login"]
    assert {"csrf_token", "form_key", "count", "provider"} <= walk.fields["campaigns.invitations"]
    assert "action" in walk.fields["respond.survey"] and len(walk.fields["respond.survey"]) > 10


@st.composite
def hostile_requests(draw, walk: Walk, rule_text: str, method: str):
    """One request to `rule_text` with hostile values drawn for some of its parts."""
    rule = walk.rule(rule_text)
    values = {
        argument: draw(st.one_of(st.just(wire(walk.valid_value(rule, argument))), url_parts))
        for argument in sorted(rule.arguments)
    }
    query = "&".join(f"{draw(url_parts)}={draw(url_parts)}" for _ in range(draw(st.integers(0, 3))))
    headers = {name: header_value(draw(texts)) for name in draw(st.lists(st.sampled_from(HEADERS), max_size=3))}
    extra_cookie = draw(st.one_of(st.just(""), texts.map(lambda v: "; n=" + header_value(v))))
    form = None
    if method == "POST":
        names = sorted(walk.fields.get(rule.endpoint, set())) or ["name", "value"]
        # The CSRF fields keep their valid token (send): hostile values go where a person types.
        form = {name: draw(texts) for name in names if not name.endswith("csrf_token") and draw(st.booleans())}
        if draw(st.booleans()):
            form["upload"] = (io.BytesIO(draw(st.binary(max_size=64))),
                              draw(texts).encode("utf-8", "replace").decode("utf-8"))
    return walk.path(rule, values), query, headers, extra_cookie, form


def send(walk: Walk, rule_text: str, method: str, request):
    path, query, headers, extra_cookie, form = request
    cookie, csrf = walk.session_for(walk.rule(rule_text).endpoint)
    limiter.reset()  # the walk is no brute force: every example is let in
    client = walk.app.test_client(use_cookies=False)
    # An API request carries the walk's token, unless a hostile Authorization was drawn in its place.
    token = {"Authorization": f"Bearer {walk.api_token}"} if walk.rule(rule_text).endpoint.startswith("api.") else {}
    headers = {**token, **headers, "Cookie": f"{SESSION_COOKIE}={cookie}{extra_cookie}"}
    if method == "GET":
        response = client.get(path, query_string=query, headers=headers)
    else:
        data = {key: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if isinstance(value, str)
                else value for key, value in (form or {}).items()}
        tokens = {name: csrf for name in walk.fields.get(walk.rule(rule_text).endpoint, ()) if name.endswith("csrf_token")}
        keys = walk.fresh_form_keys(walk.rule(rule_text).endpoint)
        response = client.post(path, query_string=query, headers=headers,
                               data={"csrf_token": csrf, **tokens, **data, **keys})
    return response


@pytest.mark.parametrize(("rule_text", "method"), RULES_AND_METHODS)
def test_no_hostile_value_in_any_part_of_a_request_is_a_server_error(walk, rule_text, method):
    rule = walk.rule(rule_text)
    before = walk.called.get(rule.endpoint, 0)
    valid_path = walk.path(rule, {a: wire(walk.valid_value(rule, a)) for a in rule.arguments})
    plain = (valid_path, "", {}, "", {})
    form = {name: "a\x00b" for name in walk.fields.get(rule.endpoint, ()) if not name.endswith("csrf_token")}

    def every_value(value: str) -> str:
        return walk.path(rule, dict.fromkeys(rule.arguments, value))

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(request=hostile_requests(walk, rule_text, method))
    @example(request=plain)
    @example(request=(every_value("a%00b"), "", {}, "", {}))  # the issue's NUL, in every path value
    @example(request=(every_value("9" * 20), "", {}, "", {}))  # beyond every integer type
    @example(request=(valid_path, "q=%00&r=%FF", {"Accept-Language": "sv\x00"}, "; n=\x00", form))
    def walked(request):
        response = send(walk, rule_text, method, request)
        assert response.status_code < 500, (request, response.status_code)
        if request is plain:
            # Signed in as it should be: the plain request gets past sign-in and permissions.
            assert response.status_code != 403
            assert not response.headers.get("Location", "").startswith("/staff/login?next="), response.headers

    walked()
    # The plain request, at least, reached the view behind the route.
    assert walk.called.get(rule.endpoint, 0) > before, f"{method} {rule_text}: the view never ran"


def test_the_walk_covers_every_rule_of_the_application(walk):
    # _rules_and_methods reads a fresh application; the walked one must have the same routes.
    walked = sorted((r.rule, m) for r in walk.app.url_map.iter_rules() for m in sorted(r.methods & {"GET", "POST"}))
    assert walked == RULES_AND_METHODS
    assert len(RULES_AND_METHODS) >= 25
