"""Staff pages for providers and programmes: add them, and retire them.

Nothing is ever deleted: campaigns and responses refer to providers and
programmes, so a provider that stops delivering is made inactive and is
no longer offered for new campaigns.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.policy import Permission, requires
from ..db import db_session
from ..idempotency import done, once
from .forms import ProgrammeForm, ProviderForm
from .models import Programme, Provider
from .services import add_programme as store_programme
from .services import add_provider as store_provider

bp = Blueprint("organisation", __name__, url_prefix="/staff/organisation", template_folder="templates")


@bp.get("/")
@requires(Permission.MANAGE_ORGANISATION)
def index():
    """GET: the providers and programmes, active ones first, with the forms that add one. Needs MANAGE_ORGANISATION."""
    return _render_index(ProviderForm(prefix="provider"), ProgrammeForm(prefix="programme"))


@bp.post("/providers")
@requires(Permission.MANAGE_ORGANISATION)
@once()
def add_provider():
    """POST: add a provider, then 303 to the organisation page; 422 with the form's errors (a name taken among them).

    A name is taken whatever its case, normalisation or spaces
    (services.name_taken). Once per submission (`once`); needs MANAGE_ORGANISATION.
    """
    form = ProviderForm(prefix="provider")
    if form.validate_on_submit():
        provider = store_provider(db_session, form.name.data)
        if provider is None:
            form.name.errors.append(_("A provider with this name exists already."))
        else:
            return done(url_for("organisation.index"), _("Provider added: %(name)s", name=provider.name))
    return _render_index(form, ProgrammeForm(prefix="programme"), status=422)


@bp.post("/programmes")
@requires(Permission.MANAGE_ORGANISATION)
@once()
def add_programme():
    """POST: add a programme, then 303 to the organisation page; 422 with the form's errors (a code taken among them).

    Once per submission (`once`); needs MANAGE_ORGANISATION.
    """
    form = ProgrammeForm(prefix="programme")
    if form.validate_on_submit():
        programme = store_programme(db_session, form.code.data, form.name.data)
        if programme is None:
            form.code.errors.append(_("A programme with this code exists already."))
        else:
            return done(url_for("organisation.index"), _("Programme added: %(code)s", code=programme.code))
    return _render_index(ProviderForm(prefix="provider"), form, status=422)


@bp.post("/providers/<int:provider_id>/active")
@requires(Permission.MANAGE_ORGANISATION)
def toggle_provider(provider_id: int):
    """POST: make a provider active ("active" = "1") or inactive ("0"), then 303 to the organisation page.

    404 for an unknown provider, 400 for another value. The same form sent
    twice sets the same state. Needs MANAGE_ORGANISATION.
    """
    return _toggle(db_session.get(Provider, provider_id))


@bp.post("/programmes/<int:programme_id>/active")
@requires(Permission.MANAGE_ORGANISATION)
def toggle_programme(programme_id: int):
    """POST: make a programme active or inactive, as `toggle_provider` does a provider (303; 404, 400)."""
    return _toggle(db_session.get(Programme, programme_id))


def _toggle(item: Provider | Programme | None):
    """Set the state the form asks for ("active": "1" or "0"); the same form sent twice sets it once."""
    if item is None:
        abort(404)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    item.active = wanted == "1"
    db_session.commit()
    return redirect(url_for("organisation.index"), code=303)


def _render_index(provider_form: ProviderForm, programme_form: ProgrammeForm, status: int = 200):
    return render_template(
        "organisation/index.html",
        providers=list(db_session.scalars(select(Provider).order_by(Provider.active.desc(), Provider.name))),
        programmes=list(db_session.scalars(select(Programme).order_by(Programme.active.desc(), Programme.code))),
        provider_form=provider_form,
        programme_form=programme_form,
    ), status
