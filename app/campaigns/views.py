from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..accounts.policy import Permission, requires
from ..clock import local_today
from ..db import db_session
from ..i18n import LANGUAGES, current_language
from ..mixing.queries import waiting_count
from ..organisation.models import Programme, Provider
from ..surveys.models import SurveyVersion
from ..surveys.queries import current_versions
from . import queries
from .forms import CampaignForm, InvitationForm
from .models import Campaign
from .services import create_campaign, issue_invitations, open_links

bp = Blueprint("campaigns", __name__, url_prefix="/staff/campaigns", template_folder="templates")


def public_url(path: str) -> str:
    return current_app.config["KUNDROST"].public_url + path


def invitation_url(token: str) -> str:
    return public_url(url_for("respond.open_invitation", token=token))


def open_link_url(code: str) -> str:
    return public_url(url_for("respond.open_link", code=code))


@bp.get("/")
@requires(Permission.MANAGE_CAMPAIGNS)
def index():
    return render_template(
        "campaigns/index.html", campaigns=queries.all_campaigns(db_session), today=local_today()
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def new():
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
    if form.validate_on_submit():
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
        db_session.commit()
        flash(_("The campaign was created."), "success")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id), code=303)
    return render_template("campaigns/new.html", form=form)


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
    campaign = _campaign_or_404(campaign_id)
    return _render_show(campaign, _invitation_form(campaign))


def _render_show(campaign: Campaign, form: InvitationForm, issued=None, status: int = 200):
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
        issued=issued,
        language_by_code=LANGUAGES,
    ), status


@bp.post("/<int:campaign_id>/invitations")
@requires(Permission.MANAGE_CAMPAIGNS)
def invitations(campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    form = _invitation_form(campaign)
    if campaign.finalised_on is not None:
        flash(_("This campaign is finalised: no more links can be created."), "error")
        return _render_show(campaign, form, status=409)
    if not form.validate_on_submit():
        return _render_show(campaign, form, status=422)
    provider = db_session.get(Provider, form.provider.data)
    programme = db_session.get(Programme, form.programme.data)
    issued = issue_invitations(
        db_session,
        campaign,
        provider=provider,
        programme=programme,
        language=form.language.data,
        count=form.count.data,
        today=local_today(),
    )
    db_session.commit()
    rows = [(provider.name, programme.code, item.language, invitation_url(item.token)) for item in issued]
    if form.output.data == "csv":
        return _csv_download(campaign, rows)
    flash(
        _("%(count)d links were created. Copy them now: for the customers' anonymity they are not stored and cannot be shown again.", count=len(rows)),
        "success",
    )
    return _render_show(campaign, _invitation_form(campaign), issued=rows)


def _csv_download(campaign: Campaign, rows) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["provider", "programme", "language", "link"])
    writer.writerows(rows)
    filename = f"kundrost-campaign-{campaign.id}-links.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),  # BOM: Excel then reads the file as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
