"""Respondent pages. Nothing here logs, stores or forwards who is answering.

Flow: /s/<token> or /o/<code>  --303-->  /survey?opened=<link language>
      --POST, 303-->  /thanks

The `opened` marker names only the link's language (never its token): a
/survey request that carries it but no grant comes from a browser that did
not keep the cookie just set, and is told so in the link's language.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf

from ..campaigns.models import Campaign
from ..clock import local_today, month_of
from ..db import db_session, get_database
from ..i18n import LANGUAGES, choose_explicitly, current_language, gettext_digits, local_date, set_link_language
from ..limits import limit
from ..mixing.intake import Outcome, Submission, store_answers
from ..mixing.keys import PublishedKeys
from ..mixing.sealing import AnswerSheet
from ..surveys.definition import FREE_TEXT_MAX, StoredAnswer, SurveyDefinition, TextQuestion
from . import grant as grants
from .rendering import blank_survey_page
from .services import (
    LinkLookup,
    LinkState,
    RecentScopes,
    SurveyScope,
    find_invitation,
    find_open_link,
)

bp = Blueprint("respond", __name__, template_folder="templates")

#: What is kept of one posted answer. Browsers stop typing at the text box's
#: limit (FREE_TEXT_MAX); a longer text from elsewhere comes back with a note
#: to shorten it. Kept answers may travel in the session cookie as a draft,
#: whose 4 KB must hold them: 1,500 characters of Arabic or Tigrinya take
#: about 3 KB there.
RAW_ANSWER_MAX = FREE_TEXT_MAX + FREE_TEXT_MAX // 2

#: How late a survey page may show its campaign's end or its provider's
#: name after a change (services.RecentScopes). Submits read the end afresh.
PAGE_SCOPE_SECONDS = 5.0
RECENT_SCOPES_KEY = "kundrost.respond.recent_scopes"
#: The answer key this process seals to (mixing/keys.PublishedKeys).
PUBLISHED_KEYS_KEY = "kundrost.respond.published_keys"

#: Query parameter of the redirect that leaves a link: the link's language.
OPENED_PARAMETER = "opened"


@bp.record_once
def _keep_recent_scopes(state) -> None:
    state.app.extensions[RECENT_SCOPES_KEY] = RecentScopes(PAGE_SCOPE_SECONDS)
    # The text box's maxlength and the server's limit are one number.
    state.app.jinja_env.globals["FREE_TEXT_MAX"] = FREE_TEXT_MAX
    config = state.app.config["KUNDROST"]
    state.app.extensions[PUBLISHED_KEYS_KEY] = PublishedKeys(config.key_cache.total_seconds())


def _link_open_limit() -> str:
    return current_app.config["KUNDROST"].ratelimit_link_open


@bp.get("/s/<token>")
@limit(_link_open_limit)
def open_invitation(token: str):
    """A single-use link: a 303 to the survey, or the page for its state (unknown and used alike: 404)."""
    lookup = find_invitation(db_session, token, local_today())
    if lookup.state is not LinkState.VALID:
        # This browser sent the answers of this very link: it, and only it
        # (the receipt is in its own cookie), hears that they arrived.
        answered_in = grants.answered_here(token)
        if answered_in is not None:
            set_link_language(answered_in)
            return _already_received_page()
    return _exchange(lookup, grants.INVITATION, receipt_of=token)


@bp.get("/o/<code>")
@limit(_link_open_limit)
def open_link(code: str):
    """An open (poster, QR) link: a 303 to a fresh survey form, or the page for its state."""
    return _exchange(find_open_link(db_session, code, local_today()), grants.OPEN_LINK)


def _exchange(lookup: LinkLookup, kind: str, receipt_of: str | None = None):
    """Trade a link for a grant in the session and leave the token's URL at once.

    `receipt_of` is a single-use link's token, from which the grant's
    receipt is made (grant.receipt_for); it goes no further.
    """
    if lookup.link is not None:
        set_link_language(lookup.link.language)
    if lookup.state is LinkState.VALID:
        receipt = grants.receipt_for(receipt_of) if receipt_of is not None else None
        grants.issue(lookup.link, kind, receipt=receipt)
        # The redirect sets the session cookie anyway; with the form's CSRF
        # secret in it now, the survey page leaves the cookie as it is.
        generate_csrf()
        return _see_other("respond.survey", **{OPENED_PARAMETER: lookup.link.language})
    if lookup.state is LinkState.CLOSED:
        return _closed_page()
    if lookup.state is LinkState.NOT_YET_OPEN:
        return _not_yet_open_page(lookup.campaign)
    return _unusable_page()


@bp.route("/survey", methods=["GET", "POST"])
def survey():
    """The survey page (GET) and its submit (POST), for the link whose grant the cookie holds.

    Without a grant: "already received" for a browser that just sent, the
    cookies page when the request comes straight from a link (the `opened`
    marker), otherwise the unknown-link page.
    """
    grant = grants.current()
    if grant is None:
        if _recently_done():
            return _see_other("respond.thanks", again=1)
        opened = request.args.get(OPENED_PARAMETER)
        if request.method == "GET" and opened in LANGUAGES:
            # Straight from a valid link, yet the grant did not come back.
            set_link_language(opened)
            return _cookies_needed_page()
        return _unusable_page()
    set_link_language(grant.language)
    if grant.expired(current_app.config["KUNDROST"].respondent_grant_ttl):
        if request.method == "POST":
            grants.keep_draft(grant, _posted_answers_raw(_definition_for(grant)))
        return _expired_page(kept=bool(grants.draft_for(grant)))
    scope = _read_scope(grant)
    if scope is None:
        return _unusable_page()
    if request.method == "POST":
        return _submit(grant, scope)
    if local_today() > scope.ends_on:
        return _closed_page()
    draft = grants.draft_for(grant)
    return _render_survey(grant, scope, answers=draft or {}, restored=bool(draft))


def _read_scope(grant: grants.Grant) -> SurveyScope | None:
    """The scope, as read by this or another request in the last PAGE_SCOPE_SECONDS."""
    return current_app.extensions[RECENT_SCOPES_KEY].get(get_database().engine.connect, grant)


def _submit(grant: grants.Grant, scope: SurveyScope):
    # CSRFProtect has checked the token before this view; failures go to handle_csrf_error.
    definition = scope.definition
    raw = _posted_answers_raw(definition)
    switch_to = request.form.get("switch_to")
    if switch_to:
        grants.keep_draft(grant, raw)
        if switch_to in definition.languages:
            choose_explicitly(switch_to)
        return _see_other("respond.survey")
    answers, errors = _parse_answers(definition, raw)
    if errors:
        return _render_survey(grant, scope, answers=raw, errors=errors), 422
    numbered = list(enumerate(definition.questions, start=1))
    # Only questions the survey marks required: an optional one (a comment
    # box, a background question) left blank is an answer, not an omission.
    skipped = [(n, q) for n, q in numbered if q.required and q.key not in answers]
    if skipped and request.form.get("action") != "send_anyway":
        return _render_survey(grant, scope, answers=raw, skipped=skipped)
    language = _survey_language(definition, grant)
    if grant.kind == grants.OPEN_LINK and not grant.form_nonce:
        # A grant from before open-link forms had a nonce: without one a
        # resent form could be stored twice, so the link is opened afresh.
        grants.keep_draft(grant, raw)
        return _expired_page(kept=bool(raw))
    today = local_today()
    submission = Submission(
        campaign_id=grant.campaign_id,
        sheet=AnswerSheet(
            survey_version_id=scope.survey_version_id,
            provider_id=grant.provider_id,
            programme_id=grant.programme_id,
            channel=grant.channel,
            language=language,
            month=month_of(today),
            status=definition.status_of(answers),
            answers=answers,
        ),
        link_language=grant.language,
        invitation_id=grant.link_id if grant.kind == grants.INVITATION else None,
        form_nonce=grant.form_nonce if grant.kind == grants.OPEN_LINK else None,
        open_link_id=grant.link_id if grant.kind == grants.OPEN_LINK else None,
    )
    config = current_app.config["KUNDROST"]
    # On a pooled connection of its own: every statement of a submit is built
    # once (mixing/intake.py), the ORM session's bookkeeping would buy nothing.
    with get_database().engine.connect() as connection:
        outcome = store_answers(
            connection, submission, definition, today=today,
            keys=current_app.extensions[PUBLISHED_KEYS_KEY], crash_at=config.crash_at,
        )
    if outcome is Outcome.NO_KEY:
        grants.keep_draft(grant, raw)
        return _not_taking_answers_page()
    grants.finish()
    if outcome is Outcome.CLOSED:
        return _closed_page()
    if outcome is Outcome.INVALID:
        return _unusable_page()
    grants.record_done(grant, language)
    return _see_other("respond.thanks", again=1 if outcome is Outcome.ALREADY_ANSWERED else None)


def _see_other(endpoint: str, **values):
    """A 303 to a respondent page, without a body.

    werkzeug's redirect adds an HTML "Redirecting..." body that no phone
    shows: on the first view of a survey it was a sixth of the redirect's bytes.
    """
    return Response(status=303, headers={"Location": url_for(endpoint, **values)})


@bp.get("/thanks")
def thanks():
    """The thank-you page, true to what this browser did.

    Only a browser that sent answers within the grant's time (its cookie's
    done record, respond/grant.py) hears that they were saved, in the
    language it answered in - also on a reload. Opened any other way the
    page claims nothing and says how to answer.
    """
    done = grants.recently_done(current_app.config["KUNDROST"].respondent_grant_ttl)
    if done is None:
        return _message(
            _("Customer survey"),
            [_("To answer a survey, open the link you received in a text message, or scan the code on the poster or form.")],
        )
    set_link_language(done["lang"])
    if request.args.get("again"):
        return _message(
            _("Your answers have already been received"),
            [_("Answers from this link were sent before, so nothing more was saved."),
             _("Thank you for taking part. You can close this page.")],
            tone="ok",
        )
    return _message(
        _("Thank you for your answers!"),
        [_("Your answers have been saved. They are anonymous."),
         _("You can close this page.")],
        tone="ok",
    )


def _recently_done() -> bool:
    return grants.recently_done(current_app.config["KUNDROST"].respondent_grant_ttl) is not None


def handle_csrf_error(error: CSRFError):
    """A respondent POST without a valid session: keep what was typed, explain."""
    grant = grants.current()
    if grant is None:
        # Nothing to keep the answers for: the page must not say they were kept.
        use_respondent_language()
        return _expired_page(kept=False, status=400)
    set_link_language(grant.language)
    raw = _posted_answers_raw(_definition_for(grant))
    grants.keep_draft(grant, raw)
    return _expired_page(kept=bool(raw), status=400)


def _render_survey(grant, scope: SurveyScope, *, answers, errors=None, skipped=None, restored=False):
    """The survey page: blank, or with `answers` (raw posted values) and what to correct.

    `errors` maps a question key to what is wrong with its value (the page
    is then answered with 422 by the caller); `skipped` lists (number,
    question) of required questions left blank. Each message is shown on
    its question's field as well as in the list at the top.
    """
    definition = scope.definition
    language = LANGUAGES[_survey_language(definition, grant)]
    errors = errors or {}
    skipped = skipped or []
    if errors:
        field_messages = errors
    else:
        field_messages = {q.key: _("You have not answered this question.") for _number, q in skipped}
    context = dict(
        definition=definition,
        lang=language.code,
        language=language,
        survey_languages=[LANGUAGES[code] for code in definition.languages],
        provider_name=scope.provider_name,
        answers=answers,
        errors=errors,
        invalid=[(n, q) for n, q in enumerate(definition.questions, start=1) if q.key in errors],
        skipped=skipped,
        field_messages=field_messages,
        restored=restored,
    )
    if answers or errors or skipped or restored:
        return render_template("respond/survey.html", **context)
    return blank_survey_page(
        definition,
        language,
        scope.provider_name,
        lambda csrf_slot: render_template("respond/survey.html", csrf_slot=csrf_slot, **context),
    )


def _survey_language(definition: SurveyDefinition, grant: grants.Grant) -> str:
    """The language the customer reads the survey in: their choice, if the survey has it."""
    chosen = current_language().code
    if chosen in definition.languages:
        return chosen
    return grant.language if grant.language in definition.languages else definition.languages[0]


def _definition_for(grant: grants.Grant) -> SurveyDefinition | None:
    scope = _read_scope(grant)
    return scope.definition if scope else None


def _posted_answers_raw(definition: SurveyDefinition | None) -> dict[str, str]:
    if definition is None:
        return {}
    raw = {}
    for question in definition.questions:
        value = request.form.get(question.key, "")
        if value.strip():
            raw[question.key] = value[:RAW_ANSWER_MAX]
    return raw


def _parse_answers(definition: SurveyDefinition, raw: dict[str, str]):
    """Posted values to stored answers, and a message per question that could not take its value.

    Returns ({question key: StoredAnswer}, {question key: message in the
    customer's language}). Blank questions are in neither.
    """
    answers: dict[str, StoredAnswer] = {}
    errors: dict[str, str] = {}
    for question in definition.questions:
        try:
            answer = question.parse_answer(raw.get(question.key, ""))
        except ValueError:
            errors[question.key] = _answer_error(question)
            continue
        if answer is not None:
            answers[question.key] = answer
    return answers, errors


def _answer_error(question) -> str:
    """What is wrong with a value `question.parse_answer` refused, said plainly.

    A text can only be refused for its length (respond to it with the
    limit); any other question only for a value it never offered (a page
    from an older survey version, or a crafted request).
    """
    if isinstance(question, TextQuestion):
        return gettext_digits("Your text is too long. Please shorten it to at most %(num)d characters.", num=FREE_TEXT_MAX)
    return _("The answer sent is not one of this question's choices. Please choose one of the answers shown.")


def _message(heading: str, paragraphs: list[str], tone: str = "note", status: int = 200):
    return render_template(
        "respond/message.html", heading=heading, paragraphs=paragraphs, tone=tone
    ), status


def _unusable_page():
    # Unknown, mistyped and already used links get exactly this page.
    return _message(
        _("This link cannot be used"),
        [_("The link may be incomplete, or it has already been used to answer."),
         _("If you got the link in a text message, open it again from there. If you scanned a code, scan it again.")],
        status=404,
    )


def _closed_page():
    return _message(
        _("This survey has closed"),
        [_("The time to answer this survey is over. Thank you for your interest.")],
        status=410,
    )


def _not_yet_open_page(campaign: Campaign | None):
    starts = local_date(campaign.starts_on, format="long") if campaign else ""
    return _message(
        _("This survey is not open yet"),
        [_("You can answer from %(date)s. Please open the link again then.", date=starts)],
        status=403,
    )


def _not_taking_answers_page():
    # The mixer has not published an answer key yet (a new installation):
    # nothing was stored, and the answers stay on the phone as a draft.
    return _message(
        _("Your answers could not be saved just now"),
        [_("The survey cannot take answers at the moment. Nothing was sent, and your answers are kept on this phone."),
         _("Please open your link again in a little while to send them.")],
        status=503,
    )


def _expired_page(*, kept: bool, status: int = 200):
    """The grant ran out (or the form's session is gone); `kept`: answers are kept as a draft.

    Only when answers were actually kept does the page say so.
    """
    how_to_go_on = (
        _("Your answers are kept on this phone. Open the link from your text message, or scan the code again, to continue and send them.")
        if kept else
        _("If you got the link in a text message, open it again from there. If you scanned a code, scan it again.")
    )
    return _message(
        _("Please open your link again"),
        [_("For your privacy, the survey page closes after a while without activity."), how_to_go_on],
        status=status,
    )


def _already_received_page():
    # Only for the browser that sent this link's answers (grant.answered_here).
    return _message(
        _("Your answers have already been received"),
        [_("Thank you for taking part. You can close this page.")],
        tone="ok",
    )


def _cookies_needed_page():
    # The link is untouched: opening it only issues a grant, and the grant
    # never reached this browser. Nothing was spent, nothing is kept.
    return _message(
        _("Please allow cookies to answer"),
        [_("Your browser did not keep the cookie this survey needs to show your questions. Your link has not been used up."),
         _("Allow cookies for this website in your browser's settings, or open the link in another browser. Then open the link from your text message again, or scan the code again.")],
    )


def use_respondent_language() -> None:
    """On an error page of a respondent URL: the language of the customer's link, where known.

    The session's grant (a link being answered) names it, or else the done
    record (the language answered in); otherwise the usual choice applies.
    """
    grant = grants.current()
    if grant is not None:
        set_link_language(grant.language)
        return
    done = grants.done()
    if done is not None:
        set_link_language(done["lang"])


def form_unreadable_page():
    """The page for a respondent POST whose form could not be read at all (too large, malformed).

    Returns (html, 200); the error handler (app/errors.py) answers it with its own 400 or 413.
    """
    return _message(
        _("Your answers could not be read"),
        [_("Nothing was sent. Go back, check your answers and send them again.")],
    )
