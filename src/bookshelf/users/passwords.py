"""What a new password must be: long enough, and not one that attackers try first.

The one place for these rules: the sign-up, change and reset forms build their validators
from them (users.forms), sign-in forms cap the length with PASSWORD_MAX (auth.forms), and the
CLI asks password_problem.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from wtforms import Field, Form
from wtforms.validators import ValidationError

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # scrypt hashes any length, but nobody needs more


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from breach corpora, as zxcvbn ships them.

    Loaded on first use (sign-up, change, reset), not at import, and only this one file of the
    package: importing `zxcvbn` itself builds its whole matcher (measured: +17 MB per worker
    against +6 MB for the password list alone).
    """
    package = importlib.util.find_spec("zxcvbn")
    if package is None or package.origin is None:
        raise RuntimeError("the zxcvbn package is not installed")
    path = Path(package.origin).with_name("frequency_lists.py")
    spec = importlib.util.spec_from_file_location("_zxcvbn_frequency_lists", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    # The list is lower-case: "Password123" is as guessable as "password123".
    return password.casefold() in common_passwords()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None: the rules of the forms, for the CLI."""
    if len(password) < PASSWORD_MIN:
        return f"The password needs at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"The password may have at most {PASSWORD_MAX} characters."
    if is_common(password):
        return "That password is on a list of common passwords."
    return None


class NotCommon:
    """WTForms validator: refuse passwords from the common-password list, saying why."""

    message = _l(
        "This password is on a list of common passwords that attackers try first. "
        "Choose another one, for example a few unrelated words."
    )

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and is_common(field.data):
            raise ValidationError(str(self.message))
