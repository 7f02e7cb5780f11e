from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..forms import as_name
from .models import CODE_MAX, NAME_MAX
from ..idempotency import OnceForm


class ProviderForm(OnceForm):
    """Add a provider: its name (`as_name`, at most NAME_MAX characters), shown to customers as written."""

    name = StringField(
        _l("Name"),
        filters=[as_name],
        validators=[DataRequired(message=_l("Give the provider a name.")), Length(max=NAME_MAX)],
        description=_l("Customers see this name in the survey, as written here."),
    )


class ProgrammeForm(OnceForm):
    """Add a programme: its short code (at most CODE_MAX characters) and its name (at most NAME_MAX)."""

    code = StringField(
        _l("Code"),
        filters=[as_name],
        validators=[DataRequired(message=_l("Give the programme a short code.")), Length(max=CODE_MAX)],
        description=_l('As in the reports, for example "SO" or "AMI 1".'),
    )
    name = StringField(
        _l("Name"),
        filters=[as_name],
        validators=[DataRequired(message=_l("Give the programme a name.")), Length(max=NAME_MAX)],
    )
