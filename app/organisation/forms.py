from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..forms import stripped
from ..idempotency import OnceForm


class ProviderForm(OnceForm):
    name = StringField(
        _l("Name"),
        filters=[stripped],
        validators=[DataRequired(message=_l("Give the provider a name.")), Length(max=200)],
        description=_l("Customers see this name in the survey, as written here."),
    )


class ProgrammeForm(OnceForm):
    code = StringField(
        _l("Code"),
        filters=[stripped],
        validators=[DataRequired(message=_l("Give the programme a short code.")), Length(max=20)],
        description=_l('As in the reports, for example "SO" or "AMI 1".'),
    )
    name = StringField(
        _l("Name"),
        filters=[stripped],
        validators=[DataRequired(message=_l("Give the programme a name.")), Length(max=200)],
    )
