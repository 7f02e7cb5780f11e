"""Issue 8, kinds 3b and 8: every respondent page tells the customer the
truth, in their language, with one digit system.

- A phone that keeps no cookies hears, in its link's language, that the
  survey needs them - and its link still works (3b).
- The browser that answered hears so when it opens its link again; every
  other browser sees that used link byte for byte as an unknown one (8.1).
- /thanks claims nothing without a submit (8.2); optional questions are
  never "not answered" (8.3); numbers use the language's digits (8.4).
- `test_every_respondent_state_in_every_language` walks every respondent
  page and state in all ten languages.

Expected texts, statuses, lang/dir values and digits are written out
literally. Texts that are new on this branch wait for their translation
(`needs_translation`) instead of passing on English.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from app.campaigns.models import Campaign
from app.campaigns.services import create_campaign, issue_invitations
from app.db import db_session
from app.i18n import LANGUAGES
from app.i18n.cli import catalog_path
from app.limits import limiter
from app.organisation.models import Programme, Provider
from app.surveys.models import SurveyVersion
from app.surveys.services import store_version

from .conftest import ROOT, csrf_token_from, mixer_of, stockholm_today
from .helpers import count_stored, definition_of, full_answers, open_survey, submit, translated
from .test_logs import gunicorn  # noqa: F401 - the real-server fixture, shared with the log tests
from .test_logs import request as http_request

# What each language's pages must declare, and the only digits they may show
# (app/i18n/languages.py: CLDR's default numbering system of each locale).
LANG_DIR = {
    "sv": ("sv", "ltr"), "en": ("en", "ltr"), "ar": ("ar", "rtl"), "prs": ("fa-AF", "rtl"),
    "fa": ("fa", "rtl"), "ps": ("ps", "rtl"), "ti": ("ti", "ltr"), "so": ("so", "ltr"),
    "uk": ("uk", "ltr"), "ckb": ("ckb", "rtl"),
}
LATIN, PERSIAN, ARABIC_INDIC = "0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"
DIGITS = {
    "sv": LATIN, "en": LATIN, "ar": LATIN, "prs": PERSIAN, "fa": PERSIAN, "ps": PERSIAN,
    "ti": LATIN, "so": LATIN, "uk": LATIN, "ckb": ARABIC_INDIC,
}
ALL_DIGITS = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9\u1369-\u137c]")


class _VisibleText(HTMLParser):
    """The text a reader sees: character data outside <style> and <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def needs_translation(msgid: str, code: str) -> None:
    """Wait (xfail) while `msgid`, new on this branch, has no translation in `code` yet."""
    if code == "en":
        return
    with open(catalog_path(LANGUAGES[code].babel_locale), "rb") as handle:
        message = read_po(handle).get(msgid)
    if message is None or not message.string:
        pytest.xfail(f"{msgid!r} awaits its {code} translation")


def html_of(response) -> str:
    return response.get_data(as_text=True)


# --- 3b: a phone that keeps no cookies ---------------------------------------

COOKIES_HEADING = {"en": "Please allow cookies to answer", "fa": "برای پاسخ دادن، کوکی‌ها را مجاز کنید"}


@pytest.mark.parametrize("kind", ["single-use", "open"])
@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_phone_without_cookies_is_told_in_the_links_language_and_the_link_still_works(
    app, world, kind, language, caplog
):
    caplog.set_level(logging.DEBUG)
    if kind == "single-use":
        secret = world.invite(app, language)[0]
        path = f"/s/{secret}"
    else:
        secret = world.open_link_code(app, language)
        path = f"/o/{secret}"
    swedish_phone = {"Accept-Language": "sv-SE,sv"}
    phone = app.test_client(use_cookies=False)
    opened = phone.get(path, headers=swedish_phone)
    assert opened.status_code == 303
    assert opened.headers["Location"] == f"/survey?opened={language}"
    page = phone.get(opened.headers["Location"], headers=swedish_phone)
    html = html_of(page)
    assert page.status_code == 200
    assert f'<html lang="{language}" dir="{LANG_DIR[language][1]}">' in html
    assert "Länken kan inte användas" not in html  # not the old Swedish "cannot be used"
    assert secret not in html and "Set-Cookie" not in page.headers
    assert not any(secret in record.getMessage() for record in caplog.records)
    needs_translation(COOKIES_HEADING["en"], language)
    assert f"<h1>{COOKIES_HEADING[language]}</h1>" in html
    # Nothing was spent: the same link, opened where cookies are kept, takes the answers.
    keeper = app.test_client()
    assert keeper.get(path).status_code == 303
    csrf = csrf_token_from(html_of(keeper.get("/survey")))
    sent = submit(keeper, csrf, full_answers(definition_of(app, world)))
    assert sent.headers["Location"] == "/thanks"
    assert count_stored(app) == 1


def test_without_a_cookie_and_without_the_marker_a_link_is_not_claimed(app, world):
    # /survey typed or bookmarked without any link: no cookie talk, the usual page.
    phone = app.test_client(use_cookies=False)
    for path in ("/survey", "/survey?opened=xx", "/survey?opened="):
        page = phone.get(path, headers={"Accept-Language": "en"})
        assert page.status_code == 404
        assert "<h1>This link cannot be used</h1>" in html_of(page)


def test_the_cookie_less_phone_through_gunicorn_leaves_no_token_in_the_log(app, world, gunicorn):
    port, log = gunicorn
    token = world.invite(app, "fa")[0]
    status, _, _ = http_request(port, "GET", f"/s/{token}")
    assert status == 303
    status, page, _ = http_request(port, "GET", "/survey?opened=fa")  # no cookie sent back
    assert status == 200 and '<html lang="fa" dir="rtl">' in page
    time.sleep(0.3)
    text = log.read_text()
    assert token not in text and "/survey" not in text and "/s/" not in text


# --- 8.1: the browser that answered, and every other -------------------------

def answer(app, world, client, token, **headers):
    _, csrf = open_survey(client, token, **headers)
    sent = submit(client, csrf, full_answers(definition_of(app, world)), **headers)
    assert sent.headers["Location"] == "/thanks"


def test_the_browser_that_answered_hears_so_in_the_language_it_answered_in(app, world):
    # The issue's example: answered in Tigrinya on a phone whose browser says English.
    english_browser = {"Accept-Language": "en-GB,en;q=0.9"}
    token = world.invite(app, "ti")[0]
    phone = app.test_client()
    answer(app, world, phone, token, **english_browser)
    again = phone.get(f"/s/{token}", headers=english_browser)
    assert again.status_code == 200
    html = html_of(again)
    assert '<html lang="ti" dir="ltr">' in html
    assert "<h1>መልስታትኩም ድሮ በጺሖምና እዮም</h1>" in html  # "your answers have already been received"
    assert "ስለ ተሳትፎኹም ነመስግነኩም።" in html  # "thank you for taking part"
    assert "cannot be used" not in html and "text message" not in html
    # Hours later, after the grant's time: still so.
    with phone.session_transaction() as session:
        session["done"] = {**session["done"], "at": int(time.time()) - 10 * 3600}
    assert "<h1>መልስታትኩም ድሮ በጺሖምና እዮም</h1>" in html_of(phone.get(f"/s/{token}", headers=english_browser))


def test_every_other_browser_sees_a_used_link_exactly_as_an_unknown_one(app, world):
    token = world.invite(app, "ti")[0]
    answer(app, world, app.test_client(), token)
    # A browser that never answered, and one that answered another link.
    fresh = app.test_client()
    answered_another = app.test_client()
    answer(app, world, answered_another, world.invite(app, "ti")[0])
    english = {"Accept-Language": "en"}
    for browser in (fresh, answered_another):
        used = browser.get(f"/s/{token}", headers=english)
        unknown = browser.get("/s/" + "Q" * len(token), headers=english)
        assert used.status_code == unknown.status_code == 404
        assert used.get_data() == unknown.get_data()  # byte for byte
        assert sorted(used.headers.items()) == sorted(unknown.headers.items())
        assert "<h1>This link cannot be used</h1>" in html_of(used)


def test_once_the_survey_closed_a_used_link_is_still_an_unknown_one_to_other_browsers(app, world):
    token = world.invite(app, "ti")[0]
    answer(app, world, app.test_client(), token)
    unused = world.invite(app, "ti")[0]
    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = stockholm_today() - timedelta(days=1)
        db_session.commit()
    stranger = app.test_client()
    english = {"Accept-Language": "en"}
    used = stranger.get(f"/s/{token}", headers=english)
    unknown = stranger.get("/s/" + "Q" * len(token), headers=english)
    assert used.status_code == unknown.status_code == 404
    assert used.get_data() == unknown.get_data()
    # An unused link of the closed survey says so: its holder was sent it.
    assert stranger.get(f"/s/{unused}", headers=english).status_code == 410


def test_a_shared_phone_tells_each_customer_about_their_own_link(app, world):
    phone = app.test_client()
    tigrinya, somali = world.invite(app, "ti")[0], world.invite(app, "so")[0]
    answer(app, world, phone, tigrinya)
    answer(app, world, phone, somali)
    assert '<html lang="ti"' in html_of(phone.get(f"/s/{tigrinya}"))
    assert '<html lang="so"' in html_of(phone.get(f"/s/{somali}"))
    assert phone.get(f"/s/{tigrinya}").status_code == 200


def test_the_answering_browser_hears_it_even_once_the_survey_has_closed(app, world):
    token = world.invite(app, "uk")[0]
    phone = app.test_client()
    answer(app, world, phone, token)
    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = stockholm_today() - timedelta(days=1)
        db_session.commit()
    again = phone.get(f"/s/{token}")
    assert again.status_code == 200
    assert "<h1>Ваші відповіді вже отримано</h1>" in html_of(again)


# --- 8.2: /thanks without a submit ---------------------------------------------

@pytest.mark.parametrize("path", ["/thanks", "/thanks?again=1"])
@pytest.mark.parametrize("language, heading, claims", [
    ("sv", "Kundundersökning", ["Tack för dina svar", "sparade", "Vi har redan fått dina svar"]),
    ("en", "Customer survey", ["Thank you for your answers", "saved", "already been received"]),
    ("fa", "نظرسنجی از مراجعان", ["از پاسخ‌های شما ممنونیم", "ذخیره شد", "قبلاً دریافت شده"]),
])
def test_thanks_opened_directly_claims_nothing(client, path, language, heading, claims):
    page = client.get(path, headers={"Accept-Language": language})
    html = html_of(page)
    assert page.status_code == 200
    assert f"<h1>{heading}</h1>" in html
    for claim in claims:
        assert claim not in html


# --- 8.3: optional questions are never "not answered" -----------------------

EVERY_TYPE = {
    "key": "every-type",
    "version": 1,
    "languages": ["sv", "en"],
    "title": {"sv": "Alla frågetyper", "en": "Every question type"},
    "scales": {"agree5": {
        "points": 5, "positive_from": 4,
        "labels": {p: {"sv": f"S{p}", "en": f"E{p}"} for p in range(1, 6)},
    }},
    "sections": [{"key": "all", "questions": [
        {"key": f"{kind}_{need}", "type": kind, "required": need == "required",
         **({"scale": "agree5"} if kind == "scale" else {}),
         **({"options": [{"key": "one", "text": {"sv": "Ett", "en": "One"}},
                         {"key": "two", "text": {"sv": "Två", "en": "Two"}}]} if kind == "choice" else {}),
         "text": {"sv": f"Fråga {kind} {need}", "en": f"Question {kind} {need}"}}
        for need in ("required", "optional") for kind in ("scale", "yesno", "choice", "text")
    ]}],
    "index": {"method": "mean", "questions": ["scale_required"]},
}


def every_type_invitation(app, world) -> str:
    with app.app_context():
        version, _ = store_version(db_session, EVERY_TYPE)
        provider = db_session.get(Provider, world.provider_ids[0])
        programme = db_session.get(Programme, world.programme_ids[0])
        campaign = create_campaign(
            db_session, name="Alla typer", survey_version=version,
            starts_on=date.today() - timedelta(days=1), ends_on=date.today() + timedelta(days=5),
            providers=[provider], programmes=[programme], languages=["sv", "en"],
        )
        [issued] = issue_invitations(db_session, campaign, provider=provider, programme=programme,
                                     language="en", count=1, today=date.today())
        db_session.commit()
        return issued.token


def test_only_required_questions_are_listed_as_not_answered_for_every_question_type(app, client, world):
    _, csrf = open_survey(client, every_type_invitation(app, world))
    noted = submit(client, csrf, {})
    assert noted.status_code == 200
    html = html_of(noted)
    note = html[html.index('id="skipped"'):html.index("</div>", html.index('id="skipped"'))]
    assert "You have not answered 4 questions:" in note
    for kind in ("scale", "yesno", "choice", "text"):
        assert f'href="#q-{kind}_required"' in note, kind
        assert f'href="#q-{kind}_optional"' not in note, kind
        assert f'id="e-{kind}_optional"' not in html, kind


def test_leaving_only_optional_questions_blank_sends_at_once(app, client, world):
    _, csrf = open_survey(client, every_type_invitation(app, world))
    answers = {"scale_required": "4", "yesno_required": "no", "choice_required": "two", "text_required": "Bra"}
    sent = submit(client, csrf, answers)
    assert sent.status_code == 303 and sent.headers["Location"] == "/thanks"


# --- 8.4 and the walk: every state in every language -------------------------

FIXED_START = date(2099, 3, 5)


@dataclasses.dataclass
class Kit:
    """Campaigns in every state the respondent side has, in one database."""

    app: object
    world: object
    campaigns: dict[str, int]

    def invite(self, language: str, campaign: str = "open") -> str:
        with self.app.app_context():
            campaign_row = db_session.get(Campaign, self.campaigns[campaign])
            [issued] = issue_invitations(
                db_session, campaign_row,
                provider=db_session.get(Provider, self.world.provider_ids[0]),
                programme=db_session.get(Programme, self.world.programme_ids[0]),
                language=language, count=1, today=date.today(),
            )
            db_session.commit()
            return issued.token


def make_kit(app, world) -> Kit:
    today = date.today()
    with app.app_context():
        providers = [db_session.get(Provider, i) for i in world.provider_ids]
        programmes = [db_session.get(Programme, i) for i in world.programme_ids]
        versions = {v.key: v for v in db_session.query(SurveyVersion)}
        campaigns = {"open": world.campaign_id}
        for name, key, starts, ends in (
            ("closed", "nacka-arbetsmarknad", today - timedelta(days=30), today - timedelta(days=1)),
            ("future", "nacka-arbetsmarknad", FIXED_START, FIXED_START + timedelta(days=30)),
            ("nki", "nki-scb", today - timedelta(days=1), today + timedelta(days=9)),
        ):
            campaigns[name] = create_campaign(
                db_session, name=name, survey_version=versions[key], starts_on=starts, ends_on=ends,
                providers=providers, programmes=programmes, languages=list(LANGUAGES),
            ).id
        db_session.commit()
    return Kit(app, world, campaigns)


def _raise_for_the_500_state():
    raise RuntimeError("a fault on a respondent page")


#: Each state: (name, status, msgid of the phrase, literal phrase in sv / en / fa,
#: whether the page must speak the link's language rather than the browser's).
STATES = [
    # First: the answer key can only be taken away while no answer waits under it.
    ("no answer key yet", 503, "Your answers could not be saved just now",
     {"sv": "Dina svar kunde inte sparas just nu", "en": "Your answers could not be saved just now",
      "fa": "پاسخ‌های شما فعلاً ذخیره نشد"}, True),
    ("unknown link", 404, "This link cannot be used",
     {"sv": "Länken kan inte användas", "en": "This link cannot be used", "fa": "این لینک قابل استفاده نیست"}, False),
    ("used link, another browser", 404, "This link cannot be used",
     {"sv": "Länken kan inte användas", "en": "This link cannot be used", "fa": "این لینک قابل استفاده نیست"}, False),
    ("unknown open link", 404, "This link cannot be used",
     {"sv": "Länken kan inte användas", "en": "This link cannot be used", "fa": "این لینک قابل استفاده نیست"}, False),
    ("closed campaign", 410, "This survey has closed",
     {"sv": "Enkäten är stängd", "en": "This survey has closed", "fa": "این نظرسنجی بسته شده است"}, True),
    ("not yet open", 403, "This survey is not open yet",
     {"sv": "Du kan svara från och med 5 mars 2099.", "en": "You can answer from March 5, 2099.",
      "fa": "از ۵ مارس ۲۰۹۹ می‌توانید پاسخ دهید."}, True),
    ("survey", 200, "Send answers",
     {"sv": "Skicka svar", "en": "Send answers", "fa": "ارسال پاسخ‌ها"}, True),
    ("survey on a 10-point scale", 200, "Send answers",
     {"sv": "1 2 3 4 5 6 7 8 9 10", "en": "1 2 3 4 5 6 7 8 9 10", "fa": "۱ ۲ ۳ ۴ ۵ ۶ ۷ ۸ ۹ ۱۰"}, True),
    ("validation error", 422, "Your text is too long. Please shorten it to at most %(num)d characters.",
     {"sv": "Texten är för lång. Korta den till högst 1000 tecken.",
      "en": "Your text is too long. Please shorten it to at most 1000 characters.",
      "fa": "متن شما خیلی طولانی است. لطفاً آن را به حداکثر ۱۰۰۰ حرف کوتاه کنید."}, True),
    ("required questions not answered", 200, "You have not answered %(num)d question:",
     {"sv": "Du har inte svarat på 2 frågor:", "en": "You have not answered 2 questions:",
      "fa": "به ۲ سؤال پاسخ نداده‌اید:"}, True),
    ("grant expired", 200, "Please open your link again",
     {"sv": "Öppna din länk igen", "en": "Please open your link again", "fa": "لطفاً لینک خود را دوباره باز کنید"}, True),
    ("form expired (CSRF)", 400, "Please open your link again",
     {"sv": "Öppna din länk igen", "en": "Please open your link again", "fa": "لطفاً لینک خود را دوباره باز کنید"}, True),
    ("form unreadable", 413, "Your answers could not be read",
     {"sv": "Dina svar kunde inte läsas", "en": "Your answers could not be read", "fa": "پاسخ‌های شما خوانده نشد"}, True),
    ("thanks", 200, "Thank you for your answers!",
     {"sv": "Tack för dina svar!", "en": "Thank you for your answers!", "fa": "از پاسخ‌های شما ممنونیم!"}, True),
    ("sent twice", 200, "Your answers have already been received",
     {"sv": "Vi har redan fått dina svar", "en": "Your answers have already been received",
      "fa": "پاسخ‌های شما قبلاً دریافت شده است"}, True),
    ("already answered, link opened again", 200, "Your answers have already been received",
     {"sv": "Vi har redan fått dina svar", "en": "Your answers have already been received",
      "fa": "پاسخ‌های شما قبلاً دریافت شده است"}, True),
    ("thanks opened directly", 200, "Customer survey",
     {"sv": "Kundundersökning", "en": "Customer survey", "fa": "نظرسنجی از مراجعان"}, False),
    ("cookies needed", 200, "Please allow cookies to answer",
     {"sv": "Tillåt kakor för att svara", "en": "Please allow cookies to answer",
      "fa": "برای پاسخ دادن، کوکی‌ها را مجاز کنید"}, True),
    ("rate limited", 429, "Too many attempts",
     {"sv": "För många försök", "en": "Too many attempts", "fa": "تعداد تلاش‌ها بیش از حد است"}, True),
    ("not found", 404, "Page not found",
     {"sv": "Sidan hittades inte", "en": "Page not found", "fa": "صفحه پیدا نشد"}, True),
    ("server error", 500, "Something went wrong",
     {"sv": "Något gick fel", "en": "Something went wrong", "fa": "مشکلی پیش آمد"}, True),
    ("method not allowed", 405, "The request could not be handled",
     {"sv": "Begäran kunde inte hanteras", "en": "The request could not be handled", "fa": "درخواست شما انجام نشد"}, True),
]

#: Messages that are new on this branch: their sv/fa phrases wait for the translators.
NEW_MSGIDS = {"Your answers could not be read", "Please allow cookies to answer"}


def reach(state: str, kit: Kit, language: str, browser: dict):
    """Bring a fresh phone into `state` for a link in `language`; the page it shows.

    `browser` are the phone's own headers (its Accept-Language).
    """
    app, world = kit.app, kit.world
    definition = definition_of(app, world)
    phone = app.test_client()

    def get(path):
        return phone.get(path, headers=browser)

    def opened(campaign="open"):
        token = kit.invite(language, campaign)
        page, csrf = open_survey(phone, token, **browser)
        return token, page, csrf

    def send(csrf, answers, action="send"):
        return submit(phone, csrf, answers, action=action, **browser)

    if state == "unknown link":
        return get("/s/" + "Z" * 22)
    if state == "used link, another browser":
        token, _, csrf = opened()
        send(csrf, full_answers(definition))
        return app.test_client().get(f"/s/{token}", headers=browser)
    if state == "unknown open link":
        return get("/o/" + "Z" * 10)
    if state == "closed campaign":
        return get(f"/s/{kit.invite(language, 'closed')}")
    if state == "not yet open":
        return get(f"/s/{kit.invite(language, 'future')}")
    if state == "survey":
        return opened()[1]
    if state == "survey on a 10-point scale":
        return opened("nki")[1]
    if state == "validation error":
        _, _, csrf = opened()
        text_key = next(q.key for q in definition.questions if q.type == "text")
        return send(csrf, {**full_answers(definition), text_key: "x" * 1001})
    if state == "required questions not answered":
        _, _, csrf = opened()
        answers = full_answers(definition)
        for key in [q.key for q in definition.questions if q.required][:2]:
            del answers[key]
        return send(csrf, answers)
    if state == "grant expired":
        opened()
        with phone.session_transaction() as session:
            session["grant"] = {**session["grant"], "issued_at": int(time.time()) - 3 * 3600}
        return get("/survey")
    if state == "form expired (CSRF)":
        opened()
        return send("forged", full_answers(definition))
    if state == "form unreadable":
        _, _, csrf = opened()
        body = (f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
                f'--b\r\nContent-Disposition: form-data; name="comments"\r\n\r\n{"x" * 600_000}\r\n--b--\r\n')
        return phone.post("/survey", data=body.encode(), content_type="multipart/form-data; boundary=b",
                          headers=browser)
    if state == "no answer key yet":
        from app.mixing.models import AnswerKey

        _, _, csrf = opened()
        with app.app_context():
            db_session.execute(AnswerKey.__table__.delete())
            db_session.commit()
        app.extensions["kundrost.respond.published_keys"].forget()
        try:
            return send(csrf, full_answers(definition))
        finally:
            mixer_of(app).publish_key()
            app.extensions["kundrost.respond.published_keys"].forget()
    if state == "thanks":
        _, _, csrf = opened()
        return get(send(csrf, full_answers(definition)).headers["Location"])
    if state == "sent twice":
        _, _, csrf = opened()
        send(csrf, full_answers(definition))
        return get(send(csrf, full_answers(definition)).headers["Location"])
    if state == "already answered, link opened again":
        token, _, csrf = opened()
        send(csrf, full_answers(definition))
        return get(f"/s/{token}")
    if state == "thanks opened directly":
        return get("/thanks")
    if state == "cookies needed":
        cookieless = app.test_client(use_cookies=False)
        location = cookieless.get(f"/s/{kit.invite(language)}", headers=browser).headers["Location"]
        return cookieless.get(location, headers=browser)
    if state == "rate limited":
        token = kit.invite(language)
        get(f"/s/{token}")
        settings = app.config["KUNDROST"]
        app.config["KUNDROST"] = dataclasses.replace(settings, ratelimit_link_open="1 per minute")
        try:
            for _ in range(3):
                page = get(f"/s/{token}")
                if page.status_code == 429:
                    return page
            return page
        finally:
            app.config["KUNDROST"] = settings
            limiter.reset()
    if state == "not found":
        opened()
        return get("/survey/no-such-page")
    if state == "server error":
        opened()
        return get("/thanks/fault-for-the-test")
    if state == "method not allowed":
        _, _, csrf = opened()
        send(csrf, full_answers(definition))
        return phone.post("/thanks", headers=browser)
    raise AssertionError(f"no way to reach {state!r}")


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_respondent_state_in_every_language(app, world, language):
    # A route that fails, on a respondent URL, for the 500 page (added before any request).
    app.add_url_rule("/thanks/fault-for-the-test", "fault_for_the_test", _raise_for_the_500_state)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    kit = make_kit(app, world)
    html_lang, direction = LANG_DIR[language]
    # Where the page knows the link, the browser's own language must not win.
    elsewhere = "uk" if language != "uk" else "so"
    problems = []
    for state, status, msgid, phrases, speaks_the_links_language in STATES:
        browser = {"Accept-Language": LANGUAGES[elsewhere if speaks_the_links_language else language].html_lang}
        page = reach(state, kit, language, browser)
        html = html_of(page)
        text = visible_text(html)
        if page.status_code != status:
            problems.append(f"{state}: status {page.status_code}, expected {status}")
        if f'<html lang="{html_lang}" dir="{direction}">' not in html:
            problems.append(f"{state}: not lang={html_lang} dir={direction}: {html[:120]!r}")
        foreign = {d for d in ALL_DIGITS.findall(text) if d not in DIGITS[language]}
        if foreign:
            problems.append(f"{state}: digits {sorted(foreign)} on a page in {language}: {text[:300]!r}")
        untranslated = msgid in NEW_MSGIDS and language != "en" and not _has_translation(msgid, language)
        if language in phrases:
            if phrases[language] not in text and not untranslated:
                problems.append(f"{state}: {phrases[language]!r} not in {text[:300]!r}")
        elif not untranslated:
            expected = translated(msgid, language).split("%(")[0].strip()
            if expected and expected not in html:
                problems.append(f"{state}: {expected!r} not in the page")
    assert not problems, "\n".join(problems)


def _has_translation(msgid: str, code: str) -> bool:
    with open(catalog_path(LANGUAGES[code].babel_locale), "rb") as handle:
        message = read_po(handle).get(msgid)
    return message is not None and bool(message.string)


# --- 8.4, statically: a new message with a number cannot slip past the digit helper

RESPONDENT_SOURCES = [
    *sorted((ROOT / "app" / "respond").rglob("*.py")),
    *sorted((ROOT / "app" / "respond" / "templates").rglob("*.html")),
    ROOT / "app" / "errors.py",
    *(ROOT / "app" / "templates" / name for name in ("respondent_base.html", "error.html", "home.html")),
]
PLAIN_GETTEXT = {"_": None, "gettext": None, "ngettext": (1, 2)}
NUMBER_PLACEHOLDER = re.compile(r"%\(\w+\)d")


def test_respondent_messages_with_numbers_go_through_the_digit_helpers():
    from babel.messages.extract import extract_from_file

    offenders = []
    for path in RESPONDENT_SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=PLAIN_GETTEXT):
            texts = message if isinstance(message, tuple) else (message,)
            if any(NUMBER_PLACEHOLDER.search(text or "") for text in texts):
                offenders.append(f"{path.relative_to(ROOT)}: {texts[0]!r}")
        source = path.read_text()
        for babel_formatter in ("format_date(", "format_decimal(", "format_number(", "format_percent("):
            if babel_formatter in source:
                offenders.append(f"{path.relative_to(ROOT)}: {babel_formatter} writes ASCII digits; use local_date/local_number")
    assert not offenders, "\n".join(offenders)


def test_thanks_is_said_only_to_the_browser_that_sent_and_only_for_a_while(app, world):
    phone = app.test_client()
    answer(app, world, phone, world.invite(app, "sv")[0])
    assert "<h1>Tack för dina svar!</h1>" in html_of(phone.get("/thanks"))  # a reload: still true
    with phone.session_transaction() as session:
        session["done"] = {**session["done"], "at": int(time.time()) - 3 * 3600}  # past the grant's 2 hours
    later = html_of(phone.get("/thanks"))
    assert "<h1>Kundundersökning</h1>" in later and "Tack för dina svar" not in later


# --- "your answers are kept" only when they are --------------------------------

KEPT = "Dina svar finns kvar i telefonen."
OPEN_AGAIN = "Om du fick länken i ett sms, öppna den igen därifrån."


def expire(phone) -> None:
    with phone.session_transaction() as session:
        session["grant"] = {**session["grant"], "issued_at": int(time.time()) - 3 * 3600}


def test_an_expired_page_says_answers_are_kept_only_when_they_are(app, world):
    definition = definition_of(app, world)
    token = world.invite(app, "sv")[0]
    phone = app.test_client()
    _, csrf = open_survey(phone, token)
    expire(phone)
    reloaded = html_of(phone.get("/survey"))  # nothing was ever sent from the page
    assert OPEN_AGAIN in reloaded and KEPT not in reloaded
    sent_late = html_of(submit(phone, csrf, full_answers(definition, 2)))
    assert KEPT in sent_late and OPEN_AGAIN not in sent_late
    assert KEPT in html_of(phone.get("/survey"))  # now there is a draft for this link


def test_a_form_sent_without_its_session_does_not_claim_anything_was_kept(app, world):
    definition = definition_of(app, world)
    phone = app.test_client()
    _, csrf = open_survey(phone, world.invite(app, "sv")[0])
    stranger = app.test_client()  # the cookie is gone (browser closed, tab restored)
    refused = submit(stranger, csrf, full_answers(definition), **{"Accept-Language": "sv"})
    assert refused.status_code == 400
    html = html_of(refused)
    assert OPEN_AGAIN in html and KEPT not in html
