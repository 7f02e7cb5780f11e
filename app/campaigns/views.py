from __future__ import annotations

from datetime import datetime

from babel.dates import format_time
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..accounts.policy import Permission, requires
from ..clock import local_today
from ..db import db_session
from ..i18n import LANGUAGES, current_language
from ..idempotency import Submission, current_submission, done, once
from ..mixing.queries import waiting_count
from ..organisation.models import Programme, Provider
from ..spreadsheets import csv_response
from ..surveys.models import SurveyVersion
from ..surveys.queries import current_versions
from . import queries, shown
from .forms import CampaignForm, InvitationForm
from .models import Campaign, InvitationBatch
from .services import batch_tokens, create_batch, create_campaign, open_links

bp = Blueprint("campaigns", __name__, url_prefix="/staff/campaigns", template_folder="templates")


def public_url(path: str) -> str:
    """`path` (a path on this site) as an absolute URL under PUBLIC_URL, for links that are sent or printed."""
    return current_app.config["KUNDROST"].public_url + path


def invitation_url(token: str) -> str:
    """The absolute URL of the single-use link with `token`: PUBLIC_URL/s/<token>."""
    return public_url(url_for("respond.open_invitation", token=token))


def open_link_url(code: str) -> str:
    """The absolute URL of the open link with `code`: PUBLIC_URL/o/<code>."""
    return public_url(url_for("respond.open_link", code=code))


@bp.get("/")
@requires(Permission.MANAGE_CAMPAIGNS)
def index():
    """GET: every campaign, newest first, with its survey, period and state on today's municipal date.

    Needs MANAGE_CAMPAIGNS.
    """
    return render_template(
        "campaigns/index.html", campaigns=queries.all_campaigns(db_session), today=local_today()
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
@once()
def new():
    """GET: the new-campaign form. POST: create the campaign, then 303 to its page (`show`).

    The form offers each survey's newest version, the active providers and
    programmes, and every language (all ticked at first). 422 with the
    form's errors. Once per submission (`once`); needs MANAGE_CAMPAIGNS.
    A ticked language the chosen survey has no texts in is a form error
    (a survey loaded by the municipality may have fewer languages).
    """
    form = CampaignForm()
    # Only each survey's newest version: older ones are kept for the campaigns made on them.
    versions = current_versions(db_session)
    form.survey_version.choices = [
        SelectChoice(v.id, f"{v.title_in(current_language().code)} (v{v.version})") for v in versions
    ]
    providers = list(db_session.scalars(select(Provider).where(Provider.active).order_by(Provider.name)))
    programmes = list(db_session.scalars(select(Programme).where(Programme.active).order_by(Programme.code)))
    form.providers.choices = [SelectChoice(p.id, p.name) for p in providers]
    form.programmes.choices = [SelectChoice(p.id, f"{p.code} – {p.name}") for p in programmes]
    form.languages.choices = [SelectChoice(code, language.own_name) for code, language in LANGUAGES.items()]
    if not form.is_submitted():
        form.languages.data = list(LANGUAGES)
    if form.validate_on_submit() and _languages_fit(form):
        campaign = create_campaign(
            db_session,
            name=form.name.data.strip(),
            survey_version=db_session.get(SurveyVersion, form.survey_version.data),
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            providers=[p for p in providers if p.id in form.providers.data],
            programmes=[p for p in programmes if p.id in form.programmes.data],
            languages=form.languages.data,
        )
        db_session.flush()
        return done(url_for("campaigns.show", campaign_id=campaign.id), _("The campaign was created."))
    # A form with errors is shown again with 422, as every staff form is: nothing was created.
    return render_template("campaigns/new.html", form=form), 422 if form.errors else 200


def _languages_fit(form: CampaignForm) -> bool:
    """Whether the chosen survey has texts in every ticked language; if not, says so on the field."""
    definition = db_session.get(SurveyVersion, form.survey_version.data).definition
    missing = [LANGUAGES[code].own_name for code in form.languages.data if code not in definition.languages]
    if missing:
        form.languages.errors.append(_(
            "The chosen survey has no texts in these languages: %(languages)s. Untick them or choose another survey.",
            languages=", ".join(missing)))
    return not missing


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db_session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _invitation_form(campaign: Campaign) -> InvitationForm:
    form = InvitationForm()
    form.provider.choices = [SelectChoice(p.id, p.name) for p in campaign.providers]
    form.programme.choices = [SelectChoice(p.id, f"{p.code} – {p.name}") for p in campaign.programmes]
    form.language.choices = [SelectChoice(code, LANGUAGES[code].own_name) for code in campaign.languages]
    return form


@bp.get("/<int:campaign_id>")
@requires(Permission.MANAGE_CAMPAIGNS)
def show(campaign_id: int):
    """GET: a campaign's page; 404 for an unknown campaign. Needs MANAGE_CAMPAIGNS.

    It shows the form for single-use links (`invitations`), the links issued
    and claimed per provider x programme x language (counts), the open
    links, and how many answers wait to be mixed.
    """
    campaign = _campaign_or_404(campaign_id)
    return _render_show(campaign, _invitation_form(campaign))


def _render_show(campaign: Campaign, form: InvitationForm, status: int = 200):
    providers = {p.id: p for p in campaign.providers}
    programmes = {p.id: p for p in campaign.programmes}
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        form=form,
        links=[
            (providers[link.provider_id], programmes[link.programme_id], LANGUAGES[link.language], open_link_url(link.code))
            for link in open_links(db_session, campaign)
            if link.provider_id in providers and link.programme_id in programmes
        ],
        counts=queries.invitation_counts(db_session, campaign),
        waiting=waiting_count(db_session, campaign),
        providers=providers,
        programmes=programmes,
        language_by_code=LANGUAGES,
    ), status


def _show_links_again(submission: Submission) -> None:
    """The same form sent again: its batch's links can be shown in this browser again."""
    batch = db_session.scalar(select(InvitationBatch).where(InvitationBatch.submission == submission.id))
    if batch is not None:
        shown.remember(batch, submission.secret(shown.SEED_PURPOSE))


@bp.post("/<int:campaign_id>/invitations")
@requires(Permission.MANAGE_CAMPAIGNS)
@once(on_replay=_show_links_again)
def invitations(campaign_id: int):
    """Create a batch of single-use links, then 303 to the page that shows them (Post/Redirect/Get)."""
    campaign = _campaign_or_404(campaign_id)
    form = _invitation_form(campaign)
    if campaign.finalised_on is not None:
        flash(_("This campaign is finalised: no more links can be created."), "error")
        return _render_show(campaign, form, status=409)
    if not form.validate_on_submit():
        return _render_show(campaign, form, status=422)
    submission = current_submission()
    seed = submission.secret(shown.SEED_PURPOSE)
    batch = create_batch(
        db_session,
        campaign,
        provider=db_session.get(Provider, form.provider.data),
        programme=db_session.get(Programme, form.programme.data),
        language=form.language.data,
        count=form.count.data,
        today=local_today(),
        seed=seed,
        submission=submission.id,
    )
    db_session.flush()
    response = done(url_for("campaigns.links", campaign_id=campaign.id, batch_id=batch.id))
    shown.remember(batch, seed)
    return response


def _batch_or_404(campaign_id: int, batch_id: int) -> tuple[Campaign, InvitationBatch]:
    campaign = _campaign_or_404(campaign_id)
    batch = db_session.get(InvitationBatch, batch_id)
    if batch is None or batch.campaign_id != campaign.id:
        abort(404)
    return campaign, batch


def _batch_rows(campaign: Campaign, batch: InvitationBatch):
    """(provider, programme code, language, link) per link, and until when; None if not shown here."""
    kept = shown.seed_for(batch)
    if kept is None or campaign.finalised_on is not None:
        return None, None
    seed, until = kept
    provider = db_session.get(Provider, batch.provider_id)
    programme = db_session.get(Programme, batch.programme_id)
    rows = [(provider.name, programme.code, batch.language, invitation_url(token))
            for token in batch_tokens(seed, batch.count)]
    return rows, until


@bp.get("/<int:campaign_id>/links/<int:batch_id>")
@requires(Permission.MANAGE_CAMPAIGNS)
def links(campaign_id: int, batch_id: int):
    """A batch's links, in the browser that created it while it keeps them; else why not."""
    campaign, batch = _batch_or_404(campaign_id, batch_id)
    rows, until = _batch_rows(campaign, batch)
    shown_until = None
    if until is not None:
        zone = current_app.config["KUNDROST"].zone
        shown_until = format_time(datetime.fromtimestamp(until, zone), format="short", locale=get_locale())
    # Like every response, no-store (app/web.py): the links must not outlive the page.
    return render_template(
        "campaigns/links.html", campaign=campaign, batch=batch, rows=rows, shown_until=shown_until,
        language_by_code=LANGUAGES,
    )


@bp.get("/<int:campaign_id>/links/<int:batch_id>.csv")
@requires(Permission.MANAGE_CAMPAIGNS)
def links_csv(campaign_id: int, batch_id: int):
    """The batch's links as a CSV file; where they cannot be shown, the links page says why."""
    campaign, batch = _batch_or_404(campaign_id, batch_id)
    rows, _until = _batch_rows(campaign, batch)
    if rows is None:
        return redirect(url_for("campaigns.links", campaign_id=campaign.id, batch_id=batch.id), code=303)
    return _csv_download(campaign, rows)


def _csv_download(campaign: Campaign, rows) -> Response:
    """The new links as a CSV download for Swedish Excel (";"-separated): provider, programme, language, link (app/spreadsheets.py)."""
    header = ("provider", "programme", "language", "link")
    return csv_response(f"kundrost-campaign-{campaign.id}-links.csv", [header, *rows])
