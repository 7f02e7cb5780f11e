"""The read-only JSON API under /api/v1 (docs/api.md, app/api/openapi.yaml).

Every route but the OpenAPI document needs `Authorization: Bearer <token>`
(`flask api token create`); without a live token the answer is 401 with
WWW-Authenticate, before any view runs. A token limited to a provider is
read exactly as a provider-role account (app/analytics/access.py): only
campaigns that include its provider, only that provider's figures,
`by=provider` or another provider's filter 404. No cookie is read or set
(app/web.py), so CSRF does not apply (the blueprint is exempt). Each token
is rate-limited (`RATE_LIMIT`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from ..accounts.models import Role
from ..analytics.access import POOL, ParameterError, campaign_for, filter_args, table_request, visible_campaigns
from ..analytics.presentation import Labels, refusal_text
from ..analytics.results import SelectionRefused, result_table
from ..db import db_session
from ..i18n import current_language
from ..limits import limit
from ..mixing.queries import waiting_in
from .figures import campaign_json, results_json, summary_table_json
from .models import ApiToken
from .responses import json_error, unauthorized
from .tokens import find_token, token_hash

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: Requests per token (docs/api.md): a dashboard's refresh makes a few; a loop that runs away is stopped.
RATE_LIMIT = "120 per minute"
#: The OpenAPI document (YAML, served as JSON).
OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
#: Endpoints answered without a token.
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


@dataclass(frozen=True)
class TokenViewer:
    """A token as app/analytics/access.py sees a staff user: an analyst, or a provider-role account.

    access.py asks `allows(user, permission)` (signed in, active, a role's
    permissions) and reads `provider_id`; a token limited to a provider is
    a provider-role viewer of that provider, any other an analyst.
    """

    role: Role
    provider_id: int | None
    is_authenticated: bool = True
    active: bool = True

    @classmethod
    def of(cls, token: ApiToken) -> TokenViewer:
        """The viewer a live token stands for."""
        if token.provider_id is None:
            return cls(Role.ANALYST, None)
        return cls(Role.PROVIDER, token.provider_id)


def _presented_token() -> str | None:
    """The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 2.1); None without one."""
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_limit_key() -> str:
    """The rate limiter's key: the presented token's SHA-256 (as stored; never the token), "none" without one."""
    presented = _presented_token()
    return "api:" + (token_hash(presented) if presented else "none")


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    presented = _presented_token()
    if presented is None:
        return unauthorized(_("This API needs a token: send the header Authorization: Bearer <token>."),
                            invalid=False)
    token = find_token(db_session, presented)
    if token is None:
        return unauthorized(_("The token is not valid: it is wrong or has been revoked."), invalid=True)
    g.api_viewer = TokenViewer.of(token)
    return None


def _viewer() -> TokenViewer:
    return g.api_viewer


@bp.get("/campaigns")
@limit(RATE_LIMIT, key_func=token_limit_key)
def campaigns():
    """The campaigns the token may read, newest first (all; or those including its provider)."""
    viewer = _viewer()
    return jsonify({"campaigns": [campaign_json(c, viewer.provider_id)
                                  for c in visible_campaigns(db_session, viewer)]})


@bp.get("/campaigns/<int:campaign_id>/results")
@limit(RATE_LIMIT, key_func=token_limit_key)
def results(campaign_id: int):
    """Every figure of one campaign per group (`by`, filters in the query string): JSON, suppression applied."""
    return _table(campaign_id, summary=False)


@bp.get("/campaigns/<int:campaign_id>/summary")
@limit(RATE_LIMIT, key_func=token_limit_key)
def summary(campaign_id: int):
    """The municipal summary table of one campaign as numbers: NKI, responses, rate, comparison, mean over groups."""
    return _table(campaign_id, summary=True)


def _table(campaign_id: int, summary: bool) -> Response:
    """One campaign's table as JSON; 400 for a malformed address, 404 (JSON) for what the token may not see, 422 refused."""
    viewer = _viewer()
    campaign = campaign_for(db_session, viewer, campaign_id)
    try:
        asked = table_request(db_session, campaign, request.args, viewer)
    except ParameterError as error:
        return json_error(400, "parameter", str(error))
    k = current_app.config["KUNDROST"].min_cell_size
    try:
        table = result_table(db_session, asked.selection, asked.breakdown, k, compare=summary)
    except SelectionRefused as refused:
        text = refusal_text(refused.reason, k, bool(asked.selection.filters), asked.own_provider is not None)
        return json_error(422, refused.reason, text)
    labels = Labels(db_session, table.definition, current_language().code)
    filters = {name: value for name, value in filter_args(asked).items() if name not in ("by", POOL)}
    make = summary_table_json if summary else results_json
    waiting = waiting_in(db_session, (*table.selection.campaign_ids, *table.left_out))
    return jsonify(make(table, labels, campaign, filters, waiting))


@cache
def openapi_document() -> dict:
    """The OpenAPI 3.1 document of this API (app/api/openapi.yaml), parsed once."""
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document as JSON; no token needed (it describes the API, not the figures)."""
    return Response(json.dumps(openapi_document(), ensure_ascii=False), mimetype="application/json")
