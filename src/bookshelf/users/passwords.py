"""What a new password must be: long enough, and not one that attackers try first."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from wtforms import Field, Form
from wtforms.validators import ValidationError

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # scrypt hashes any length, but nobody needs more


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from breach corpora, as zxcvbn ships them.

    Loaded on first use (sign-up, change, reset), not at import: the list costs each worker a
    few megabytes, and most requests never set a password.
    """
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    # The list is lower-case: "Password123" is as guessable as "password123".
    return password.casefold() in common_passwords()


class NotCommon:
    """WTForms validator: refuse passwords from the common-password list, saying why."""

    message = _l(
        "This password is on a list of common passwords that attackers try first. "
        "Choose another one, for example a few unrelated words."
    )

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and is_common(field.data):
            raise ValidationError(str(self.message))
