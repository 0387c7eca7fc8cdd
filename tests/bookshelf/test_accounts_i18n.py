"""Every string of the account pages has a Russian translation, and the pages use it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import create_account, sign_in

ROOT = Path(__file__).resolve().parents[2]
SOURCES = tuple(
    "src/bookshelf/" + folder
    for folder in ("auth/", "users/", "templates/account/", "templates/auth/", "templates/users/")
)


def test_account_strings_are_all_translated(tmp_path: Path) -> None:
    pot = tmp_path / "accounts.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    keywords = ["-k", "_l", "-k", "lazy_gettext"]
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", *keywords, "-o", str(pot), "src/bookshelf"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as file:
        wanted = [
            m.id
            for m in read_po(file)
            if m.id and any(path.startswith(SOURCES) for path, _line in m.locations)
        ]
    po_path = ROOT / "src/bookshelf/translations/ru/LC_MESSAGES/messages.po"
    with po_path.open("rb") as file:
        russian = read_po(file)
    untranslated = [i for i in wanted if i not in russian or not russian[i].string]
    assert len(wanted) > 50 and untranslated == []


def test_account_pages_in_russian(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    client.set_cookie("lang", "ru")
    assert "Забыли пароль?" in client.get("/login").get_data(as_text=True)
    sign_in(client, "anna")
    assert "Сменить пароль" in client.get("/account/password").get_data(as_text=True)
    assert "Устройства, где выполнен вход" in client.get("/users/1").get_data(as_text=True)
