from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from ..forms import as_name
from .models import USERNAME_MAX
from ..idempotency import OnceForm
from .passwords import MIN_LENGTH


class LoginForm(FlaskForm):
    """The staff sign-in form: username (`as_name`, at most USERNAME_MAX characters) and password (at most 200)."""

    username = StringField(
        _l("Username"),
        validators=[InputRequired(message=_l("Enter your username.")), Length(max=USERNAME_MAX)],
        filters=[as_name],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordChangeForm(OnceForm):
    """Change one's own password: the current one, then the new one twice (MIN_LENGTH to 200 characters, both alike)."""

    current = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(message=_l("Enter a new password.")),
            Length(min=MIN_LENGTH, max=200, message=_l("Use at least %(num)d characters.", num=MIN_LENGTH)),
        ],
        description=_l("At least %(num)d characters. A few unrelated words are easy to remember.", num=MIN_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two new passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )
