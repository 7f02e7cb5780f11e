"""Names people type and the system matches (issue 8, kind 1): one name, whatever its case or form.

Provider names, programme codes and usernames are stored in NFC and are
unique by `app.text.match_key`, a Unicode case fold computed in Python,
so SQLite (whose `lower()` knows only ASCII) and PostgreSQL agree. The
database-backed tests run on both (TEST_DATABASE_URL, as CI does).
"""

from __future__ import annotations

import threading
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text

from app.accounts.models import Role, User
from app.accounts.services import authenticate, create_user, find_user
from app.db import db_session
from app.organisation.models import Programme, Provider
from app.surveys.definition import DefinitionError, parse_definition
from app.text import match_key, typed_name

from .conftest import PASSWORD, csrf_token_from, login
from .forms import hidden_fields
from .helpers import translated
from .test_surveys import minimal

NFD = "A\u030angstro\u0308m"  # "Ångström" typed as A + combining ring, o + combining diaeresis

# -- The fold itself -----------------------------------------------------------

#: Letters of the names this service meets: Swedish, German, Turkish (four
#: i's), Greek (final sigma, accents), Cyrillic, Arabic and Ethiopic (no
#: case), in both cases where they have one.
LETTERS = (
    "abcdefghijklmnopqrstuvwxyzåäöéüßçşğıi"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖÉÜẞÇŞĞİI"
    "αβγδσςάΐΑΒΓΔΣΆ" "жщяЖЩЯ" "سلام" "ሰላም" "0123456789"
)
SEPARATORS = [" ", "  ", "\u00a0", "\t", "-", " & ", "\u200b"]


def names() -> st.SearchStrategy[str]:
    """Names as staff type them: words of LETTERS between spaces and punctuation."""
    word = st.text(st.sampled_from(LETTERS), min_size=1, max_size=12)
    return st.builds(
        lambda first, rest: first + "".join(sep + w for sep, w in rest),
        word, st.lists(st.tuples(st.sampled_from(SEPARATORS), word), max_size=4),
    )


def spellings(name: str) -> list[str]:
    """The same name as other people, keyboards and programs write it."""
    return [
        name.upper(),
        name.lower(),
        name.title(),
        name.swapcase(),
        unicodedata.normalize("NFD", name),
        unicodedata.normalize("NFC", name),
        "  " + name.replace(" ", "\u00a0") + " ",
        name.replace(" ", "  "),
    ]


@pytest.mark.parametrize(("typed", "key"), [
    ("Ångström Coaching", "ångström coaching"),
    ("ÅNGSTRÖM COACHING", "ångström coaching"),
    (NFD + " Coaching", "ångström coaching"),
    ("  Ångström\u00a0 Coaching\u200b ", "ångström coaching"),
    ("Straße", "strasse"),
    ("STRASSE", "strasse"),
    ("ẞ", "ss"),
    ("İSTANBUL Kurs", "istanbul kurs"),
    ("ılgın", "ilgin"),
    ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
    ("Οδυσσεύς", "οδυσσεύσ"),
    ("ﬁsk", "fisk"),
    ("AMI 1", "ami 1"),
    # Compatibility forms are the letters a reader takes them for (breaker's findings, 2026-11-30).
    ("Öresund Ｆｉｎａｎｓ", "öresund finans"),
    ("ＡＭＩ 1", "ami 1"),
    ("Öresund Ⅰ", "öresund i"),
    ("ǄEmal AB", "džemal ab"),
    ("Ĳssel AB", "ijssel ab"),
    ("Öresund\u2800Finans", "öresund finans"),
    ("ＡＤＭİＮ", "admin"),
])
def test_the_key_of_a_name(typed, key):
    assert match_key(typed) == key


@pytest.mark.parametrize(("one", "other"), [
    ("Åker", "Aker"), ("Åker", "Äker"), ("Öberg", "Oberg"), ("Nordljus AB", "NordljusAB"),
    ("Οδυσσεύς", "Οδυσσευς"), ("AMI 1", "AMI 2"),
])
def test_different_letters_stay_different_names(one, other):
    # Swedish Å, Ä and Ö are letters of their own, not A and O with decoration.
    assert match_key(one) != match_key(other)


@pytest.mark.parametrize(("typed", "stored"), [
    # A right-to-left override would make a reversed name look like another provider's,
    # and reverse the survey's anonymity promise after it.
    ("\u202e" + "Nordljus Kompetens AB"[::-1], "BA snetepmoK sujldroN"),
    ("\u2067Lärkan Resurs AB", "Lärkan Resurs AB"),
    ("Öresund\u200bFinans", "ÖresundFinans"),
    ("a\u00addmin", "admin"),
    ("\u200b", ""),
    ("\u202e\u200b\u2800", ""),
    ("Ｆｉｎａｎｓ", "Finans"),
    # Persian and Kurdish names need the zero-width non-joiner: it stays.
    ("مهر\u200cآوران", "مهر\u200cآوران"),
])
def test_a_name_is_stored_without_invisible_characters_and_in_compatibility_form(typed, stored):
    assert typed_name(typed) == stored


@given(names())
def test_every_spelling_of_a_name_has_its_key(name):
    assert {match_key(s) for s in spellings(name)} == {match_key(name)}


@given(st.text())
def test_keys_are_stable_and_fit_their_columns(raw):
    name = typed_name(raw)
    key = match_key(name)
    assert match_key(key) == key
    assert match_key(raw) == key
    assert unicodedata.is_normalized("NFC", key) and unicodedata.is_normalized("NFC", name)
    assert typed_name(name) == name
    # Key columns are three times as long as their names (app.text.KEY_EXPANSION).
    assert len(key) <= 3 * len(name)


# -- The staff pages -----------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TAKEN = "A provider with this name exists already."


def _signed_in(client, make_user, language: str = "sv") -> str:
    """Sign in as an analyst reading `language`; the CSRF token of the organisation page."""
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get(f"/staff/organisation/?lang={language}")
    return csrf_token_from(client.get("/staff/organisation/").get_data(as_text=True))


def _form(client, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, a fresh form key) of the organisation page's form posting to `action`."""
    return hidden_fields(client.get("/staff/organisation/").get_data(as_text=True), action)


def _add_provider(client, csrf: str, name: str):
    """Send the provider form as a person would: the page is shown, then filled in (`csrf`: the page's token)."""
    fields = _form(client, "/staff/organisation/providers")
    return client.post("/staff/organisation/providers", data={"csrf_token": csrf, **fields, "provider-name": name})


def _provider_names(app) -> list[str]:
    with app.app_context():
        return list(db_session.scalars(select(Provider.name).order_by(Provider.id)))


@pytest.mark.parametrize("language", ["sv", "uk", "ar"])
def test_the_issues_provider_is_one_provider_however_it_is_typed(app, client, make_user, language):
    csrf = _signed_in(client, make_user, language)
    assert _add_provider(client, csrf, "Ångström Coaching").status_code == 303
    for again in ["Ångström Coaching", "ÅNGSTRÖM COACHING", NFD + " Coaching", "ångström  coaching "]:
        refused = _add_provider(client, csrf, again)
        assert refused.status_code == 422, again
        assert translated(TAKEN, language) in refused.get_data(as_text=True)
    assert _provider_names(app) == ["Ångström Coaching"]


def test_a_name_typed_in_nfd_is_stored_composed(app, client, make_user):
    csrf = _signed_in(client, make_user)
    assert _add_provider(client, csrf, NFD + "  Coaching").status_code == 303
    assert _provider_names(app) == ["\u00c5ngstr\u00f6m Coaching"]
    assert _add_provider(client, csrf, "Angstrom Coaching").status_code == 303  # other letters, other name


@PROPERTY_SETTINGS
@given(name=names())
@example(name="Ångström Coaching")
@example(name="Straße Öst")
@example(name="İstanbul Kurs")
@example(name="ΟΔΥΣΣΕΥΣ")
def test_a_provider_added_once_is_refused_in_every_other_spelling(app, client, make_user, name):
    # One app for all examples (a function-scoped fixture): sign in on the first.
    with app.app_context():
        db_session.execute(Provider.__table__.delete())
        db_session.commit()
        signed_in = db_session.scalar(select(func.count()).select_from(User)) > 0
    csrf = _signed_in(client, make_user) if not signed_in else csrf_token_from(
        client.get("/staff/organisation/").get_data(as_text=True))
    assert _add_provider(client, csrf, name).status_code == 303
    for spelling in spellings(name):
        refused = _add_provider(client, csrf, spelling)
        assert refused.status_code == 422, spelling
        assert translated(TAKEN, "sv") in refused.get_data(as_text=True)
    assert _provider_names(app) == [typed_name(name)]


def test_programme_codes_are_one_code_however_they_are_typed(app, client, make_user):
    csrf = _signed_in(client, make_user, "uk")
    data = {"csrf_token": csrf, "programme-name": "Arbetsmarknadsinsatser"}
    programmes = "/staff/organisation/programmes"
    assert client.post(programmes, data={**data, **_form(client, programmes), "programme-code": "AMI 1"}).status_code == 303
    for again in ["ami 1", "AMI  1", " Ami\u00a01"]:
        refused = client.post(programmes, data={**data, **_form(client, programmes), "programme-code": again})
        assert refused.status_code == 422
        assert translated("A programme with this code exists already.", "uk") in refused.get_data(as_text=True)
    with app.app_context():
        assert list(db_session.scalars(select(Programme.code))) == ["AMI 1"]


def test_two_staff_members_adding_one_provider_at_once_get_one_provider_and_no_error(app, client, make_user, config):
    # The second insert reaches the database while the first is not yet
    # committed: the page's own check cannot see it, the unique key refuses
    # it - and the staff member is told the name is taken, not a 500.
    csrf = _signed_in(client, make_user, "uk")
    engine = create_engine(config.resolved_database_url(""))
    inserted, release = threading.Event(), threading.Event()

    def the_other_staff_member():
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO provider (name, name_key, active) VALUES ('ÅNGSTRÖM COACHING', 'ångström coaching', true)"))
            inserted.set()
            release.wait(10)

    other = threading.Thread(target=the_other_staff_member)
    other.start()
    try:
        assert inserted.wait(10)
        timer = threading.Timer(1.0, release.set)  # commits while our insert waits for it
        timer.start()
        refused = _add_provider(client, csrf, "Ångström Coaching")
    finally:
        release.set()
        other.join(10)
        engine.dispose()
    assert refused.status_code == 422
    assert translated(TAKEN, "uk") in refused.get_data(as_text=True)
    assert _provider_names(app) == ["ÅNGSTRÖM COACHING"]


# -- Sign-in and accounts ------------------------------------------------------

@pytest.mark.parametrize(("created", "typed"), [
    ("Åsa Öberg", "ÅSA ÖBERG"),
    ("Åsa Öberg", unicodedata.normalize("NFD", "åsa öberg")),
    ("Straße", "STRASSE"),
    ("karin", "KARIN "),
    ("İlkay", "ilkay"),
])
def test_signing_in_matches_the_username_however_it_is_typed(app, make_user, created, typed):
    make_user(Role.ANALYST, created)
    assert login(app.test_client(), typed).status_code == 303


def test_signing_in_does_not_match_other_letters(app, make_user):
    make_user(Role.ANALYST, "Åsa Öberg")
    assert login(app.test_client(), "Asa Oberg").status_code == 401


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names())
def test_an_account_is_found_by_every_spelling_of_its_username_and_made_once(app, name):
    with app.app_context():
        db_session.execute(User.__table__.delete())
        db_session.commit()
        # Stored as create_user would, without hashing a password per example.
        user = User(username=name[:80], password_hash="not-a-hash", role=Role.ANALYST, active=True)
        db_session.add(user)
        db_session.commit()
        for spelling in spellings(name[:80]):
            assert find_user(db_session, spelling).id == user.id
        with pytest.raises(ValueError, match="exists already"):
            create_user(db_session, name[:80].upper(), PASSWORD, Role.ANALYST)


def test_authenticate_takes_the_same_fold(app, make_user):
    make_user(Role.ANALYST, "Ölander")
    with app.app_context():
        assert authenticate(db_session, "ÖLANDER", PASSWORD).username == "Ölander"


def test_the_commands_refuse_a_name_taken_in_another_spelling(app, runner):
    assert runner.invoke(args=["organisation", "add-provider", "Ångström Coaching"]).exit_code == 0
    again = runner.invoke(args=["organisation", "add-provider", NFD.upper() + " COACHING"])
    assert again.exit_code != 0 and "exists already" in again.output
    assert runner.invoke(args=["organisation", "add-programme", "AMI 1", "Arbetsmarknadsinsatser"]).exit_code == 0
    assert runner.invoke(args=["organisation", "add-programme", "ami 1", "Kopia"]).exit_code != 0
    made = runner.invoke(args=["users", "create", "Karin", "--role", "provider", "--provider", "ångström coaching",
                               "--password", PASSWORD])
    assert made.exit_code == 0, made.output
    twice = runner.invoke(args=["users", "create", "KARIN", "--role", "analyst", "--password", PASSWORD])
    assert twice.exit_code != 0 and "exists already" in twice.output


# -- Keys in survey files ------------------------------------------------------

@pytest.mark.parametrize(("where", "message"), [("survey", "survey key"), ("question", "question key")])
def test_a_survey_or_question_key_with_a_line_break_is_not_a_second_key(where, message):
    document = minimal()
    if where == "survey":
        document["key"] = "mini\n"
    else:
        document["sections"][0]["questions"][1]["key"] = "q2\n"
    with pytest.raises(DefinitionError, match=message):
        parse_definition(document)
