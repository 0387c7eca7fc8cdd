from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import Regexp

from bookshelf.models import EMAIL_MAX, USERNAME_MAX
from bookshelf.users.forms import confirm_field, new_password_field
from bookshelf.users.passwords import PASSWORD_MAX
from bookshelf.validators import Length, required


def your_password() -> list[object]:
    """Validators for a password someone already has (to confirm who they are)."""
    return [required(_l("Enter your password.")), Length(max=PASSWORD_MAX)]


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"), validators=[required(_l("Enter your username.")), Length(max=USERNAME_MAX)]
    )
    password = PasswordField(_l("Password"), validators=your_password())
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=your_password())
    password = new_password_field(_l("New password"))
    confirm = confirm_field()


def email_field() -> StringField:
    return StringField(
        _l("Email address"),
        filters=[lambda value: value.strip().lower() if isinstance(value, str) else value],
        validators=[
            required(_l("Enter an email address.")),
            Length(max=EMAIL_MAX),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("That is not an email address.")),
        ],
    )


class ResetRequestForm(FlaskForm):
    email = email_field()


class ResetForm(FlaskForm):
    password = new_password_field(_l("New password"))
    confirm = confirm_field()


class EmailForm(FlaskForm):
    email = email_field()
    current = PasswordField(_l("Current password"), validators=your_password())


class DeleteAccountForm(FlaskForm):
    current = PasswordField(_l("Your password"), validators=your_password())
