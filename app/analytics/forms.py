"""The form that enters a reference value (e.g. SKR's national result) to show beside the municipality's figures."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from ..forms import as_name
from ..idempotency import OnceForm

#: Years a reference value may be from.
FIRST_YEAR, LAST_YEAR = 1990, 2100
LABEL_MAX = 200


def parse_value(text: str | None) -> float | None:
    """A typed number as a float, with a decimal comma or point ("4,2", "4.2", "64"); None if it is none.

    Spaces (also the non-breaking space Swedish writes between thousands)
    are ignored; NaN and infinities are not numbers here.
    """
    if not text:
        return None
    cleaned = "".join(text.split()).replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    result = float(value)
    return result if math.isfinite(result) else None


class ReferenceForm(OnceForm):
    """Add a reference value: the figure ("<survey key>|<measure>|<question key or empty>"), year, label, value.

    The figure's choices are set by the view from the stored surveys; the
    value's range depends on the figure and is checked by the view
    (pages.measure_range): a mean 1..points, a share 0-100, the NKI on its
    index's scale.
    """

    figure = SelectField(_l("Figure"), validators=[InputRequired(message=_l("Choose the figure it refers to."))])
    year = IntegerField(
        _l("Year"),
        validators=[InputRequired(message=_l("Give the year the reference was measured, for example 2024.")),
                    NumberRange(min=FIRST_YEAR, max=LAST_YEAR,
                                message=_l("Give a year from %(min)s to %(max)s."))],
    )
    label = StringField(
        _l("Source"), filters=[as_name],
        validators=[DataRequired(message=_l("Say where the value comes from, for example \"SKR, riket\".")),
                    Length(max=LABEL_MAX)],
        description=_l("Shown beside the value, for example \"SKR, riket\"."),
    )
    value = StringField(_l("Value"), description=_l("A mean on the question's scale, a share in per cent (0–100), "
                                                     "or the NKI on its own scale."))

    def validate_value(self, field) -> None:
        """The value must be a finite number (its range is the view's to check: it depends on the figure)."""
        if parse_value(field.data) is None:
            raise ValidationError(_l("Give the value as a number, for example 4,2."))
