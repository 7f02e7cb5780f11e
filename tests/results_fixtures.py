"""A survey and campaigns made for the results tests, with responses written as the mixer writes them.

The survey is defined here, not taken from the library, so that the
hand-computed figures in the tests do not move when a built-in survey does:
two index questions a and b on 1-5 (positive from 4), a yes/no question y,
a background question gender (woman/man/other) and a free-text comment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from app.campaigns.models import Campaign
from app.campaigns.services import create_campaign
from app.db import db_session
from app.i18n import LANGUAGES
from app.organisation.models import Programme, Provider
from app.analytics.summaries import add_to_summaries
from app.respond.models import Answer, Response
from app.surveys.definition import ChoiceQuestion, StoredAnswer, SurveyDefinition
from app.surveys.services import store_version

TEXTS = {code: f"text {code}" for code in LANGUAGES}


def survey_document(key: str = "results-test", method: str = "mean") -> dict:
    """The test survey (see the module docstring) with the given index method."""
    return {
        "key": key, "version": 1, "languages": list(LANGUAGES), "title": TEXTS,
        "scales": {"s": {"points": 5, "positive_from": 4,
                         "labels": {str(p): {c: f"{p} {c}" for c in LANGUAGES} for p in range(1, 6)}}},
        "sections": [{"key": "main", "questions": [
            {"key": "a", "type": "scale", "scale": "s", "text": TEXTS, "required": True},
            {"key": "b", "type": "scale", "scale": "s", "text": TEXTS},
            {"key": "y", "type": "yesno", "text": TEXTS},
            {"key": "gender", "type": "choice", "background": True, "text": TEXTS, "options": [
                {"key": key, "text": TEXTS} for key in ("woman", "man", "other")]},
            {"key": "comment", "type": "text", "text": TEXTS},
        ]}],
        "index": {"method": method, "questions": ["a", "b"]},
    }


@dataclass
class ResultsWorld:
    """Providers and programmes by name, and the campaigns made (by name)."""

    providers: dict[str, int]
    programmes: dict[str, int]
    campaigns: dict[str, int]


def build_results_world(app, providers=("Nordljus AB", "Bro Coachning"), campaigns=("2027",),
                        method: str = "mean") -> ResultsWorld:
    """Providers, programmes JPG and SO, and one finalised-looking campaign per name, on the test survey."""
    with app.app_context():
        version, _ = store_version(db_session, survey_document(method=method))
        provider_rows = [Provider(name=name, active=True) for name in providers]
        programme_rows = [Programme(code="JPG", name="Jobbpeng grund", active=True),
                          Programme(code="SO", name="Samhällsorientering", active=True)]
        db_session.add_all(provider_rows + programme_rows)
        db_session.flush()
        made = {}
        for number, name in enumerate(campaigns):
            campaign = create_campaign(
                db_session, name=name, survey_version=version, starts_on=date(2027 + number, 1, 1),
                ends_on=date(2027 + number, 12, 31), providers=provider_rows, programmes=programme_rows,
                languages=["sv", "ar"])
            made[name] = campaign.id
        db_session.commit()
        return ResultsWorld({p.name: p.id for p in provider_rows}, {p.code: p.id for p in programme_rows}, made)


def add(app, world: ResultsWorld, provider: str | None, answers: dict, *, times: int = 1, **scope) -> None:
    """Write `times` responses with these answers as the mixer does (see `response_row`), in one transaction."""
    with app.app_context():
        store([response_row(world, provider, answers, **scope) for _ in range(times)])
        db_session.commit()


def store(responses: list[Response]) -> None:
    """Add responses (with their answers) to the session as the mixer stores them: each one's personal
    index score, and the answer counts beside them."""
    for response in responses:
        given = {a.question_key: StoredAnswer(value=a.value, choice=a.choice, text=a.text,
                                              dont_know=bool(a.dont_know)) for a in response.answers}
        response.index_score = _definition_of(response.campaign_id).personal_score(given)
        response.partly_scored = _definition_of(response.campaign_id).partly_scored(given)
    db_session.add_all(responses)
    db_session.flush()
    for campaign_id in {response.campaign_id for response in responses}:
        own = [response for response in responses if response.campaign_id == campaign_id]
        response_rows = [{column: getattr(response, column) for column in
                          ("id", "campaign_id", "provider_id", "programme_id", "language", "channel", "month", "status",
                           "index_score", "partly_scored")}
                         for response in own]
        answer_rows = [{"response_id": response.id, "question_key": a.question_key, "value": a.value,
                        "choice": a.choice, "text": a.text, "dont_know": a.dont_know}
                       for response in own for a in response.answers]
        add_to_summaries(db_session.connection(), response_rows, answer_rows, _definition_of(campaign_id))


def response_row(world: ResultsWorld, provider: str | None, answers: dict, *, campaign: str | None = None,
                 programme: str | None = "JPG", language: str | None = "sv", channel: str | None = "sms",
                 month: date | None = date(2027, 3, 1), status: str | None = None) -> Response:
    """One response as the mixer writes it (a random id, the month, no time); call inside an app context.

    Answer values: an int (scale or yes 1/no 0), "dk" (don't know), an option
    key for a choice question (gender), any other str for the comment. Status: complete when a
    (the one required question) is answered, unless given. None for a scope
    value: merged for anonymity.
    """
    campaign_id = world.campaigns[campaign] if campaign else next(iter(world.campaigns.values()))
    choices = {question.key for question in _definition_of(campaign_id).questions if isinstance(question, ChoiceQuestion)}
    given = {key: _stored(key, value, key in choices) for key, value in answers.items()}
    return Response(
        id=uuid.uuid4().hex, survey_version_id=_version_of(campaign_id), campaign_id=campaign_id,
        provider_id=world.providers[provider] if provider else None,
        programme_id=world.programmes[programme] if programme else None,
        language=language, channel=channel, month=month,
        status=status or ("complete" if isinstance(answers.get("a"), int) else "partial"),
        answers=[Answer(question_key=key, value=a.value, choice=a.choice, text=a.text, dont_know=a.dont_know)
                 for key, a in given.items()],
    )


def _version_of(campaign_id: int) -> int:
    return db_session.get(Campaign, campaign_id).survey_version_id


def _definition_of(campaign_id: int) -> SurveyDefinition:
    return db_session.get(Campaign, campaign_id).survey_version.definition


def _stored(key: str, value, choice: bool) -> StoredAnswer:
    """An answer as stored: "dk" don't know, an int a value, a str an option of a choice question, else text."""
    if value == "dk":
        return StoredAnswer(dont_know=True)
    if isinstance(value, int):
        return StoredAnswer(value=value)
    if choice:
        return StoredAnswer(choice=value)
    return StoredAnswer(text=value)
