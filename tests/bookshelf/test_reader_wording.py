"""Wording a reader meets when something goes wrong: our own, in the reader's language.

Framework defaults ("The requested URL was not found on the server…", WTForms' "Field must be
between 3 and 30 characters long.") are neither translated nor written for this site."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bookshelf_helpers import csrf_token

# What the libraries say when a page does not say anything of its own.
WERKZEUG_404 = "The requested URL was not found on the server"
WERKZEUG_405 = "The method is not allowed for the requested URL"
WTFORMS_DEFAULTS = [
    "This field is required",
    "Field must be between",
    "Field must be at least",
    "Обязательное поле",
    "Длина поля",
    "Поле должно",
]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "There is no page at this address."), ("ru", "По этому адресу страницы нет.")],
)
def test_unknown_address_explains_itself_in_the_readers_language(
    client: FlaskClient, lang: str, expected: str
) -> None:
    client.set_cookie("lang", lang)
    response = client.get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert expected in html
    assert WERKZEUG_404 not in html


def test_wrong_method_is_explained_in_russian(client: FlaskClient) -> None:
    client.set_cookie("lang", "ru")
    response = client.delete("/books")
    html = response.get_data(as_text=True)
    assert response.status_code == 405
    assert WERKZEUG_405 not in html
    assert "Так эту страницу открыть нельзя." in html


def test_russian_search_page_is_headed_search_not_find(client: FlaskClient) -> None:
    client.set_cookie("lang", "ru")
    html = client.get("/search?term=мир").get_data(as_text=True)
    assert "<h1>Поиск</h1>" in html
    # The button still says what it does.
    assert ">Найти</button>" in html


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["Enter a username.", "Use at least 3 characters.", "The passwords differ."]),
        ("ru", ["Введите имя пользователя.", "Не меньше 3 символов.", "Пароли не совпадают."]),
    ],
)
def test_sign_up_errors_are_worded_by_the_site(
    client: FlaskClient, lang: str, expected: list[str]
) -> None:
    client.set_cookie("lang", lang)
    token = csrf_token(client, "/users/new")
    blank = client.post(
        "/users", data={"csrf_token": token, "username": "", "password": "", "confirm": ""}
    )
    short = client.post(
        "/users",
        data={"csrf_token": token, "username": "ab", "password": "x" * 12, "confirm": "y" * 12},
    )
    html = blank.get_data(as_text=True) + short.get_data(as_text=True)
    assert (blank.status_code, short.status_code) == (422, 422)
    for message in expected:
        assert message in html
    for default in WTFORMS_DEFAULTS:
        assert default not in html
    assert 'value="ab"' in html  # what was typed is kept
