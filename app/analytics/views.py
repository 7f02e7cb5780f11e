from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from ..accounts.policy import Permission, requires
from ..campaigns.models import Campaign
from ..campaigns.queries import all_campaigns
from ..db import db_session
from ..mixing.queries import waiting_count
from .queries import campaign_results, campaign_total

bp = Blueprint("analytics", __name__, url_prefix="/staff/results", template_folder="templates")


@bp.get("/")
@requires(Permission.VIEW_ALL_RESULTS)
def index():
    """The campaigns whose results an analyst can open."""
    return render_template("analytics/index.html", campaigns=all_campaigns(db_session))


@bp.get("/<int:campaign_id>")
@requires(Permission.VIEW_ALL_RESULTS)
def campaign(campaign_id: int):
    """One campaign's results table per provider; 404 for an unknown campaign."""
    campaign = db_session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    rows = campaign_results(db_session, campaign)
    return render_template(
        "analytics/campaign.html",
        campaign=campaign,
        definition=campaign.survey_version.definition,
        rows=rows,
        total=campaign_total(db_session, campaign, rows),
        min_cell=current_app.config["KUNDROST"].min_cell_size,
        waiting=waiting_count(db_session, campaign),
    )
