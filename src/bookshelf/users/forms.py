from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, Regexp

from bookshelf.models import TOKEN_NAME_MAX, USERNAME_MAX
from bookshelf.text import strip
from bookshelf.users.passwords import PASSWORD_MAX, PASSWORD_MIN, NotCommon
from bookshelf.validators import Length, required


def new_password_field(label: str | None = None) -> PasswordField:
    """The rules for every password someone chooses: sign-up, change and reset."""
    return PasswordField(
        label or _l("Password"),
        validators=[
            required(_l("Enter a password.")),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
            NotCommon(),
        ],
        description=_l("At least %(num)d characters.", num=PASSWORD_MIN),
    )


def confirm_field() -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[
            required(_l("Repeat the password.")),
            EqualTo("password", message=_l("The passwords differ.")),
        ],
    )


class SignupForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[strip],
        validators=[
            required(_l("Enter a username.")),
            Length(min=3, max=USERNAME_MAX),
            Regexp(
                r"^[\w.-]+$",
                message=_l("Use letters, digits, dots, dashes and underscores only."),
            ),
        ],
    )
    password = new_password_field()
    confirm = confirm_field()


class TokenForm(FlaskForm):
    name = StringField(
        _l("What is this token for?"),
        filters=[strip],
        validators=[required(), Length(max=TOKEN_NAME_MAX)],
    )
