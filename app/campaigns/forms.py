from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import as_name
from ..idempotency import OnceForm


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CampaignForm(OnceForm):
    """The new-campaign form; the view fills the choices.

    A name (at most 200 characters), a survey version (id), the first and
    last day (municipal dates, inclusive), and at least one provider (ids),
    programme (ids) and language (codes).
    """

    name = StringField(
        _l("Name"),
        filters=[as_name],
        validators=[DataRequired(message=_l("Give the campaign a name.")), Length(max=200)],
        description=_l('For example "Samhällsorientering, tertial 1 2027".'),
    )
    survey_version = SelectField(_l("Survey"), coerce=int)
    starts_on = DateField(_l("First day"), validators=[InputRequired(message=_l("Enter a date."))])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(message=_l("Enter a date."))])
    providers = MultiCheckboxField(
        _l("Providers"), coerce=int,
        validators=[InputRequired(message=_l("Choose at least one provider."))],
    )
    programmes = MultiCheckboxField(
        _l("Programmes"), coerce=int,
        validators=[InputRequired(message=_l("Choose at least one programme."))],
    )
    languages = MultiCheckboxField(
        _l("Languages"),
        validators=[InputRequired(message=_l("Choose at least one language."))],
    )

    def validate_ends_on(self, field):
        """Refuse a last day before the first day (ValidationError, shown on the field)."""
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first day."))


class InvitationForm(OnceForm):
    """The form that creates single-use links: how many (1-5000), and for which provider, programme and language.

    The choices are the campaign's own, filled by the view.
    """

    provider = SelectField(_l("Provider"), coerce=int)
    programme = SelectField(_l("Programme"), coerce=int)
    language = SelectField(_l("Language"))
    count = IntegerField(
        _l("Number of links"),
        default=10,
        validators=[
            InputRequired(message=_l("Enter how many links you need.")),
            NumberRange(min=1, max=5000, message=_l("Between 1 and 5000 links at a time.")),
        ],
    )
