"""Who is asking: the municipality's name (and logo) on every page, and a logo that cannot harm.

Issue 8, kind 9: "the survey never names the municipality: a customer who
taps an SMS link to an unknown address sees no sign of who sent it". The
name goes into every page's <title> and header; the logo, an SVG file the
operator configures, is inlined after cleaning (app/branding.py).
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from werkzeug.routing.converters import NumberConverter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from app.branding import ATTRIBUTES, ELEMENTS, MAX_INLINE_BYTES, LogoError, clean_svg
from app.campaigns.models import Campaign
from app.config import Config, ConfigError
from app.db import db_session
from app.respond.grant import GRANT_KEY

from .conftest import build_world
from .helpers import definition_of, full_answers, open_survey, submit, translated

NAME = "Upplands Väsby kommun"
LOGO = Path(__file__).resolve().parent / "data" / "logo-kommun.svg"
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


@pytest.fixture
def config(config):
    return config.with_overrides(municipality_name=NAME, municipality_logo=str(LOGO))


def assert_names_the_municipality(response, where: str, *, logo: bool = True) -> None:
    html = response.get_data(as_text=True)
    titles = TITLE.findall(html)
    assert len(titles) == 1 and titles[0].endswith(f" · {NAME}"), f"{where}: title {titles}"
    assert titles[0] != f" · {NAME}", f"{where}: the title says nothing but the name"
    if logo:
        # The header: logo, then the name (html escapes nothing in this name).
        assert re.search(r'<header class="top"><p class="org"><svg class="logo" [^>]*>.*?</svg><span>'
                         + re.escape(NAME) + "</span></p>", html, re.DOTALL), f"{where}: no header with logo and name"
    else:
        assert f">{NAME}<" in html, f"{where}: the name is not on the page"


# --- every page --------------------------------------------------------------


def fill(rule) -> dict:
    """Values for a rule's arguments: an id that exists nowhere, a token nobody was given."""
    return {name: 987654 if isinstance(converter, NumberConverter) else "Zz9" * 7 + "Q"
            for name, converter in rule._converters.items()}


def test_every_page_in_the_url_map_names_the_municipality(app, client, world):
    """Every route, every method, as a stranger: each HTML answer names the municipality.

    A route added later is walked too; a page that does not extend one of the
    two base templates fails here.
    """
    seen = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = rule.build(fill(rule), append_unknown=False)[1]
            response = client.open(path, method=method, follow_redirects=True)
            if response.mimetype != "text/html":
                # /health and the JSON API (app/api/: a BI tool reads it, not a person) are not pages.
                assert rule.endpoint == "health" or rule.endpoint.startswith("api."), f"{method} {path}: {response.mimetype}"
                assert response.mimetype == "application/json", f"{method} {path}: {response.mimetype}"
                continue
            # The staff pages have their own header (staff_base.html) without the logo.
            staff_page = response.request.path.startswith("/staff/") and response.status_code < 400
            assert_names_the_municipality(response, f"{method} {path} -> {response.status_code}", logo=not staff_page)
            seen += 1
    assert seen >= 24  # the 24 HTML answers of the routes as of issue 8


def test_every_respondent_state_names_the_municipality(app, client, world):
    definition = definition_of(app, world)
    assert_names_the_municipality(client.get("/no/such/page"), "404")
    assert_names_the_municipality(client.post("/thanks"), "405")
    assert_names_the_municipality(client.get("/?lang=ti", follow_redirects=True), "home")
    assert_names_the_municipality(client.get(f"/s/{'Zz9' * 7}Q"), "unknown link")
    assert_names_the_municipality(client.get(f"/o/{'Zz9' * 7}Q"), "unknown open link")
    assert_names_the_municipality(client.get("/survey"), "survey without a link")

    token = world.invite(app, "ar")[0]
    page, csrf = open_survey(client, token)
    assert_names_the_municipality(page, "survey")
    assert page.get_data(as_text=True).count(NAME) == 2  # title and header, once each
    skipped = submit(client, csrf, {next(iter(full_answers(definition).items()))[0]: "4"})
    assert_names_the_municipality(skipped, "survey with the skipped-questions note")
    no_token = client.post("/survey", data={"action": "send"})
    assert no_token.status_code == 400
    assert_names_the_municipality(no_token, "survey posted without its form token")
    with client.session_transaction() as session:
        session[GRANT_KEY] = {**session[GRANT_KEY], "issued_at": int(time.time()) - 3 * 3600}
    assert_names_the_municipality(client.get("/survey"), "expired session")

    answered = world.invite(app, "ti")[0]
    _, csrf = open_survey(client, answered)
    sent = submit(client, csrf, full_answers(definition))
    assert (sent.status_code, sent.headers["Location"]) == (303, "/thanks")
    thanks = client.get("/thanks")
    assert_names_the_municipality(thanks, "thanks")
    assert_names_the_municipality(client.get(f"/s/{answered}", follow_redirects=True), "used link, same phone")
    assert_names_the_municipality(app.test_client().get(f"/s/{answered}"), "used link, another phone")
    assert_names_the_municipality(client.get("/thanks?again=1"), "already received")
    assert_names_the_municipality(app.test_client().get("/thanks"), "thanks opened directly")

    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = date.today() - timedelta(days=1)
        db_session.commit()
    closed = client.get(f"/s/{world.invite(app, 'so')[0]}")
    assert closed.status_code == 410
    assert_names_the_municipality(closed, "closed")


def test_not_yet_open_page_names_the_municipality(app, client):
    starts = date.today() + timedelta(days=3)
    world = build_world(app, starts_on=starts, ends_on=starts + timedelta(days=30))
    page = client.get(f"/s/{world.invite(app, 'uk')[0]}")
    assert page.status_code == 403
    assert_names_the_municipality(page, "not yet open")


def test_the_page_of_a_crash_names_the_municipality(config, tmp_path):
    def broken():
        raise RuntimeError("a bug")

    fresh = create_app(config, instance_path=str(tmp_path / "instance"))
    fresh.add_url_rule("/broken", "broken", broken)
    fresh.config.update(PROPAGATE_EXCEPTIONS=False)
    crashed = fresh.test_client().get("/broken")
    assert crashed.status_code == 500
    assert_names_the_municipality(crashed, "500")


def test_the_survey_title_names_survey_and_municipality(app, client, world):
    page, _ = open_survey(client, world.invite(app, "sv")[0])
    (title,) = TITLE.findall(page.get_data(as_text=True))
    assert title == f"Vad tycker du om stödet du får för att komma ut i arbete? · {NAME}"  # Nacka v3


def test_without_a_name_nothing_pretends_to_be_one(migrated, tmp_path):
    config = Config(database_url=migrated, secret_key="k", secure_cookies=False)
    client = create_app(config, instance_path=str(tmp_path)).test_client()
    html = client.get("/no/such/page").get_data(as_text=True)
    assert '<p class="org">' not in html and " · " not in TITLE.findall(html)[0]
    assert "<title>Kundröst</title>" not in html
    staff = client.get("/staff/login").get_data(as_text=True)
    assert '<span class="brand">Kundröst</span>' in staff


# --- the language choice ------------------------------------------------------


def test_survey_language_choice_is_one_disclosure_of_submit_buttons(app, client, world):
    page, _ = open_survey(client, world.invite(app, "prs")[0])
    html = page.get_data(as_text=True)
    menu = re.search(r'<nav class="lang" aria-label="[^"]+">\s*<details>(.*?)</details>', html, re.DOTALL)
    assert menu, "no language disclosure"
    assert re.search(r'<summary>.*<span lang="fa-AF" dir="rtl">دری</span></summary>', menu.group(1))
    buttons = re.findall(r'<button type="submit" name="switch_to" value="(\w+)" lang="([\w-]+)" dir="(\w+)"'
                         r' aria-pressed="(\w+)">([^<]+)</button>', menu.group(1))
    assert [(code, lang, direction, pressed) for code, lang, direction, pressed, _ in buttons] == [
        ("sv", "sv", "ltr", "false"), ("en", "en", "ltr", "false"), ("ar", "ar", "rtl", "false"),
        ("prs", "fa-AF", "rtl", "true"), ("fa", "fa", "rtl", "false"), ("ps", "ps", "rtl", "false"),
        ("ti", "ti", "ltr", "false"), ("so", "so", "ltr", "false"), ("uk", "uk", "ltr", "false"),
        ("ckb", "ckb", "rtl", "false"),
    ]
    assert [name for *_, name in buttons] == [
        "Svenska", "English", "العربية", "دری", "فارسی", "پښتو", "ትግርኛ", "Soomaali", "Українська", "کوردیی ناوەندی",
    ]
    # The form's first submit button still sends (Enter in a field), before the language buttons.
    first = re.search(r"<button [^>]*>", html).group(0)
    assert 'name="action" value="send"' in first


# --- progress -----------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [
    ("sv", ["Question 1 of 13", "Question 7 of 13", "Question 13 of 13"]),
    ("prs", ["Question ۱ of ۱۳", "Question ۷ of ۱۳", "Question ۱۳ of ۱۳"]),
    ("ckb", ["Question ١ of ١٣", "Question ٧ of ١٣", "Question ١٣ of ١٣"]),
])
def test_each_question_says_where_in_the_survey_it_is(app, client, world, language, expected):
    """The Nacka survey (13 questions) in the language's own digits.

    Expected texts are the English msgid while the catalogs lack it; the
    digits are the point here (app/i18n/languages.py).
    """
    page, _ = open_survey(client, world.invite(app, language)[0])
    html = page.get_data(as_text=True)
    steps = re.findall(r'<span class="step">([^<]+)</span>', html)
    assert len(steps) == 13
    template = translated("Question %(number)s of %(total)s", language)
    if template == "Question %(number)s of %(total)s":
        assert [steps[0], steps[6], steps[12]] == expected
    else:  # translated: the same numbers in the same digits
        digits = [re.findall(r"[0-9۰-۹٠-٩]+", text) for text in expected]
        assert [re.findall(r"[0-9۰-۹٠-٩]+", steps[i]) for i in (0, 6, 12)] == digits


# --- configuration ------------------------------------------------------------


def test_settings_come_from_the_environment():
    config = Config.from_env({"MUNICIPALITY_NAME": " Nacka kommun ", "MUNICIPALITY_LOGO": "/etc/kundrost/logo.svg"})
    assert (config.municipality_name, config.municipality_logo) == ("Nacka kommun", "/etc/kundrost/logo.svg")
    assert (Config.from_env({}).municipality_name, Config.from_env({}).municipality_logo) == ("", "")
    with pytest.raises(ConfigError, match="MUNICIPALITY_NAME"):
        Config.from_env({"MUNICIPALITY_NAME": "x" * 61})


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot be read"),
    (b"<svg", "well-formed"),
    (b"<html><body/></html>", "root element is not <svg>"),
    (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg viewBox="0 0 1 1"><path d="M0 0h1"/></svg>', "DTD"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1"/></svg>', "no viewBox"),
    (b'<svg viewBox="0 0 1 1"><script>alert(1)</script></svg>', "nothing is left to draw"),
    (b'<svg viewBox="0 0 9 9"><path d="' + b"M1 2" * 2000 + b'"/></svg>', "more than the 4,096"),
    (b"<svg>" + b" " * 70_000 + b"</svg>", "larger than 65,536 bytes"),
])
def test_a_logo_that_cannot_be_used_stops_the_start(migrated, tmp_path, content, message):
    path = tmp_path / "logo.svg"
    if content is not None:
        path.write_bytes(content)
    config = Config(database_url=migrated, secret_key="k", municipality_logo=str(path))
    with pytest.raises(ConfigError, match="MUNICIPALITY_LOGO") as raised:
        create_app(config, instance_path=str(tmp_path / "instance"))
    assert message in str(raised.value)


# --- cleaning the logo ----------------------------------------------------------


def test_an_editors_logo_keeps_its_drawing_and_loses_everything_else():
    inkscape = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="100px" height="50px"
     onload="alert(1)" inkscape:version="1.3">
  <metadata><rdf xmlns="urn:x">x</rdf></metadata>
  <style>path { fill: url(https://evil.example/x.svg#a) }</style>
  <defs>
    <linearGradient id="stops"><stop offset="0" style="stop-color:#0b4f8a;stop-opacity:1"/></linearGradient>
    <linearGradient id="sky" xlink:href="#stops" x1="0" y1="0" x2="1" y2="1"/>
  </defs>
  <g inkscape:label="Layer 1" transform="translate(1,2)">
    <path id="q-1" d="M0 0H10V10z" style="fill:url(#sky);stroke:#fff;behavior:url(x.htc)" onclick="x()"/>
    <a href="javascript:alert(1)"><path d="M1 1h1"/></a>
    <image href="https://evil.example/track.png" width="1" height="1"/>
    <use href="#q-1"/>
    <foreignObject><p xmlns="http://www.w3.org/1999/xhtml">hi</p></foreignObject>
    <rect x="1" y="1" width="2" height="2" fill="javascript:alert(1)" stroke="url(#elsewhere)"/>
    <text x="0" y="0">Kommun</text>
  </g>
</svg>"""
    assert str(clean_svg(inkscape)) == (
        '<svg class="logo" viewBox="0 0 100 50" aria-hidden="true" focusable="false">'
        '<defs><linearGradient id="logo-stops"><stop stop-color="#0b4f8a" stop-opacity="1" offset="0" />'
        '</linearGradient><linearGradient id="logo-sky" href="#logo-stops" x1="0" y1="0" x2="1" y2="1" />'
        '</defs><g transform="translate(1,2)"><path fill="url(#logo-sky)" stroke="#fff" id="logo-q-1" d="M0 0H10V10z" />'
        '<rect x="1" y="1" width="2" height="2" /></g></svg>'
    )


def test_the_example_logo_is_kept_whole():
    cleaned = str(clean_svg(LOGO.read_bytes()))
    assert cleaned == (
        '<svg class="logo" viewBox="0 0 40 48" aria-hidden="true" focusable="false">'
        '<path d="M2 2h36v22c0 12-8 19-18 22C10 43 2 36 2 24z" fill="#0b4f8a" />'
        '<path d="M6 26c4-3 8 3 14 0s10-3 14 0v4c-4-3-8 3-14 0s-10-3-14 0z" fill="#fff" />'
        '<circle cx="20" cy="13" r="6" fill="#f2c200" /></svg>'
    )


HOSTILE_ELEMENTS = ["script", "style", "foreignObject", "image", "use", "a", "iframe", "animate", "set",
                    "feImage", "pattern", "text", "title", "handler", "listener", "object", "embed"]
HOSTILE_ATTRIBUTES = ["onload", "onclick", "onerror", "onbegin", "href", "{http://www.w3.org/1999/xlink}href",
                      "style", "src", "formaction", "xml:base", "begin", "to", "values", "attributeName", "class"]
HOSTILE_VALUES = ["javascript:alert(1)", "url(https://evil.example/x)", "url(//evil.example/x)",
                  "data:image/svg+xml,<svg onload=alert(1)>", "expression(alert(1))", '"><script>alert(1)</script>',
                  "fill:url(http://e/x)", "#x;behavior:url(x.htc)", "&amp;", "\\75rl(x)", "url(#nowhere)",
                  "red", "0 0 10 10", "M0 0h1", "url(#keep)", "rgb(1,2,3)", "translate(1 2) scale(2)",
                  "expression (alert(1))", "url (#keep)", "URL(#keep)", "u\\rl(x)", "image(x)", "var(--a)"]
SVG = "http://www.w3.org/2000/svg"
#: Characters XML 1.0 can carry (no control characters, no lone surrogates).
PRINTABLE = st.characters(blacklist_categories=("Cs", "Cc"))


@st.composite
def svg_documents(draw):
    """SVG documents built from allowed and hostile pieces, at any depth."""
    names = st.sampled_from(sorted(ELEMENTS) + HOSTILE_ELEMENTS)
    attributes = st.dictionaries(st.sampled_from(sorted(ATTRIBUTES) + HOSTILE_ATTRIBUTES),
                                 st.sampled_from(HOSTILE_VALUES) | st.text(PRINTABLE, max_size=12), max_size=5)

    def element(depth):
        tag = draw(names)
        node = ElementTree.Element(f"{{{SVG}}}{tag}" if draw(st.booleans()) else tag,
                                   {k: v for k, v in draw(attributes).items() if k != "xml:base"})
        node.text = draw(st.sampled_from(["", "alert(1)", "<b>x</b>"]))
        if depth < 3:
            for _ in range(draw(st.integers(0, 3))):
                node.append(element(depth + 1))
        return node

    root = ElementTree.Element(f"{{{SVG}}}svg", {"viewBox": "0 0 10 10", **draw(attributes)})
    root.append(ElementTree.Element(f"{{{SVG}}}path", {"id": "keep", "d": "M0 0h1"}))
    for _ in range(draw(st.integers(0, 4))):
        root.append(element(1))
    return ElementTree.tostring(root)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(svg_documents())
def test_whatever_a_logo_holds_only_the_safe_subset_comes_out(document):
    try:
        markup = str(clean_svg(document))
    except LogoError:
        return  # refused as a whole: nothing reaches a page
    assert len(markup.encode()) <= MAX_INLINE_BYTES
    tree = ElementTree.fromstring(markup)  # well-formed, no namespace prefixes to hide behind
    for node in tree.iter():
        assert node.tag in ELEMENTS, node.tag
        assert not (node.text or "").strip() and not (node.tail or "").strip(), "text in the logo"
        for key, value in node.attrib.items():
            assert key in ATTRIBUTES | {"class", "aria-hidden", "focusable", "href"}, key
            assert not re.search(r"[:;\"'<>&\\]", value), f"{key}={value!r}"
            called = {name.lower() for name in re.findall(r"([A-Za-z-]*)\s*\(", value)}
            assert called <= {"rgb", "rgba", "hsl", "hsla", "matrix", "translate", "scale", "rotate", "skewx",
                              "skewy", "url"}, value
            for reference in re.findall(r"url\(([^)]*)\)", value) + ([value] if key == "href" else []):
                assert reference == "#logo-keep" or re.fullmatch(r"#logo-[A-Za-z][\w.-]*", reference), value
