from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from bookshelf.auth.forms import PASSWORD_MAX
from bookshelf.books.rules import strip
from bookshelf.models import TOKEN_NAME_MAX, USERNAME_MAX

PASSWORD_MIN = 8


class SignupForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[strip],
        validators=[
            DataRequired(),
            Length(min=3, max=USERNAME_MAX),
            Regexp(
                r"^[\w.-]+$",
                message=_l("Use letters, digits, dots, dashes and underscores only."),
            ),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        description=_l("At least %(num)d characters.", num=PASSWORD_MIN),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class TokenForm(FlaskForm):
    name = StringField(
        _l("What is this token for?"),
        filters=[strip],
        validators=[DataRequired(), Length(max=TOKEN_NAME_MAX)],
    )
