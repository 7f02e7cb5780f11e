"""Small helpers shared by the test modules."""

from __future__ import annotations

from app.db import db_session
from app.surveys.definition import ChoiceQuestion, ScaleQuestion, SurveyDefinition, TextQuestion, YesNoQuestion

from .conftest import csrf_token_from


def full_answers(definition: SurveyDefinition, value: int = 4) -> dict[str, str]:
    """A posted form answering every question."""
    answers = {}
    for question in definition.questions:
        if isinstance(question, ScaleQuestion):
            answers[question.key] = str(min(value, question.scale.points))
        elif isinstance(question, YesNoQuestion):
            answers[question.key] = "yes"
        elif isinstance(question, ChoiceQuestion):
            answers[question.key] = question.options[0].key
        elif isinstance(question, TextQuestion):
            answers[question.key] = "Bra."
    return answers


def definition_of(app, world) -> SurveyDefinition:
    from app.campaigns.models import Campaign

    with app.app_context():
        return db_session.get(Campaign, world.campaign_id).survey_version.definition


def open_survey(client, token: str, **headers):
    """Open an invitation link and the survey page; return (page response, csrf token)."""
    opened = client.get(f"/s/{token}", headers=headers)
    assert opened.status_code == 303, opened.status_code
    page = client.get("/survey", headers=headers)
    return page, csrf_token_from(page.get_data(as_text=True))


def submit(client, csrf: str, answers: dict[str, str], action: str = "send", **headers):
    return client.post("/survey", data={"csrf_token": csrf, "action": action, **answers}, headers=headers)


def count_responses(app) -> int:
    """Responses written by the mixer (not answers still waiting to be mixed)."""
    from sqlalchemy import func, select

    from app.respond.models import Response

    with app.app_context():
        return db_session.scalar(select(func.count()).select_from(Response))


def count_stored(app) -> int:
    """Answers stored in any form: waiting to be mixed, or mixed into responses."""
    from sqlalchemy import func, select

    from app.mixing.models import WaitingAnswer

    with app.app_context():
        waiting = db_session.scalar(select(func.count()).select_from(WaitingAnswer))
    return waiting + count_responses(app)


def waiting_sheets(app) -> list:
    """Every waiting answer, opened with the test mixer's keys (as AnswerSheets)."""
    from sqlalchemy import select

    from app.campaigns.models import Campaign
    from app.mixing.mixer import RoundReport

    from .conftest import mixer_of

    mixer = mixer_of(app)
    report = RoundReport()
    with app.app_context():
        campaign_ids = list(db_session.scalars(select(Campaign.id)))
    sheets = [item.sheet for campaign_id in campaign_ids for item in mixer.open_waiting(campaign_id, report)]
    assert report.unopened == 0
    return sheets


def translated(msgid: str, language: str) -> str:
    """The catalog's text for `msgid` in a language, as the app would show it."""
    from babel.support import Translations
    from markupsafe import escape

    from app.i18n import LANGUAGES, TRANSLATIONS_DIR

    catalog = Translations.load(str(TRANSLATIONS_DIR), [LANGUAGES[language].babel_locale])
    return str(escape(catalog.gettext(msgid)))


#: The ten languages as a reader checks them, written out by hand rather than
#: read from app.i18n.LANGUAGES (the table under test): code -> (the
#: `<html lang>` value, direction, the language's name in itself).
LANGUAGE_FACTS = {
    "sv": ("sv", "ltr", "Svenska"),
    "en": ("en", "ltr", "English"),
    "ar": ("ar", "rtl", "العربية"),
    "prs": ("fa-AF", "rtl", "دری"),
    "fa": ("fa", "rtl", "فارسی"),
    "ps": ("ps", "rtl", "پښتو"),
    "ti": ("ti", "ltr", "ትግርኛ"),
    "so": ("so", "ltr", "Soomaali"),
    "uk": ("uk", "ltr", "Українська"),
    "ckb": ("ckb", "rtl", "کوردیی ناوەندی"),
}


def html_tag(code: str) -> str:
    """The page's opening `<html>` tag in a language, e.g. `<html lang="fa-AF" dir="rtl">`.

    Check this, never a bare `lang="uk"` or `dir="rtl"`: every page lists
    every language in its language switcher, so those are always there.
    """
    html_lang, direction, _own_name = LANGUAGE_FACTS[code]
    return f'<html lang="{html_lang}" dir="{direction}">'
