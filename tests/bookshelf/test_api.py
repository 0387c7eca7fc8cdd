"""The JSON API: contract of every operation, errors as RFC 9457 problems, token auth."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.models import Book, User
from bookshelf.users.tokens import issue_token, revoke_token
from bookshelf_helpers import add_books, create_account, csrf_token, make_rows, sign_in

PROBLEM = "application/problem+json"
NEW_BOOK = {"title": "The Master and Margarita", "author": "Mikhail Bulgakov", "pages_num": 480}


def token_for(app: Flask, user_id: int) -> str:
    with app.app_context():
        _record, token = issue_token(db.session.get(User, user_id), "tests")
        return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and "detail" in body
    return body


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "owner")


@pytest.fixture
def token(app: Flask, owner: int) -> str:
    return token_for(app, owner)


@pytest.fixture
def book_id(app: Flask, owner: int) -> int:
    [book_id] = add_books(app, [{**NEW_BOOK, "added_by_id": owner}])
    return book_id


def test_list_books_with_metadata_and_keyset_links(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(25))
    first = client.get("/api/v1/books?sort=oldest&per_page=10")
    assert first.status_code == 200 and first.mimetype == "application/json"
    body = first.get_json()
    assert [b["title"] for b in body["items"]] == [f"Book {n:03d}" for n in range(1, 11)]
    assert body["meta"] == {"total": 25, "total_exact": True, "page": 1, "per_page": 10}
    assert body["items"][0].keys() == {
        "id",
        "title",
        "author",
        "pages_num",
        "review",
        "isbn",
        "year",
        "date_added",
        "updated_at",
        "added_by",
        "added_by_deleted",
        "cover",
    }
    second = client.get(body["links"]["next"]).get_json()
    assert [b["title"] for b in second["items"]] == [f"Book {n:03d}" for n in range(11, 21)]
    assert second["meta"]["page"] == 2
    third = client.get(second["links"]["next"]).get_json()
    assert len(third["items"]) == 5 and third["links"]["next"] is None


def test_full_text_search(app: Flask, client: FlaskClient) -> None:
    add_books(app, [NEW_BOOK, {"title": "Война и мир", "author": "Лев Толстой", "pages_num": 1300}])
    # Cyrillic finds the Latin spelling too (transliteration).
    body = client.get("/api/v1/books", query_string={"q": "маргарит"}).get_json()
    assert [b["title"] for b in body["items"]] == ["The Master and Margarita"]
    body = client.get("/api/v1/books", query_string={"q": "bulgak"}).get_json()
    assert [b["title"] for b in body["items"]] == ["The Master and Margarita"]
    body = client.get("/api/v1/books", query_string={"q": "ВОЙНА"}).get_json()
    assert [b["title"] for b in body["items"]] == ["Война и мир"]
    assert body["meta"]["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=abc", "page"),
        ("sort=drop", "sort"),
        (f"cursor={'x' * 1025}", "cursor"),
    ],
)
def test_bad_query_arguments_are_422(client: FlaskClient, query: str, field: str) -> None:
    body = assert_problem(client.get(f"/api/v1/books?{query}"), 422)
    assert field in body["errors"]


def test_create_returns_201_with_location(
    app: Flask, client: FlaskClient, token: str, owner: int
) -> None:
    response = client.post("/api/v1/books", json=NEW_BOOK, headers=bearer(token))
    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/api/v1/books/{created['id']}"
    assert created["added_by"] == {"id": owner, "username": "owner"}
    assert created["review"] is None and created["date_added"]
    assert client.get(response.headers["Location"]).get_json() == created


def test_writes_need_a_token(app: Flask, client: FlaskClient, book_id: int) -> None:
    for method, path in [
        ("post", "/api/v1/books"),
        ("patch", f"/api/v1/books/{book_id}"),
        ("put", f"/api/v1/books/{book_id}"),
        ("delete", f"/api/v1/books/{book_id}"),
    ]:
        response = getattr(client, method)(path, json=NEW_BOOK)
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


@pytest.mark.parametrize("header", ["Bearer bks_unknown", "Bearer ", "Basic dXNlcjpwYXNz", "bks_x"])
def test_bad_authorization_is_401(client: FlaskClient, header: str) -> None:
    assert_problem(
        client.post("/api/v1/books", json=NEW_BOOK, headers={"Authorization": header}), 401
    )
    assert_problem(client.get("/api/v1/books", headers={"Authorization": header}), 401)


def test_a_revoked_token_stops_working(app: Flask, client: FlaskClient, owner: int) -> None:
    with app.app_context():
        user = db.session.get(User, owner)
        record, token = issue_token(user, "laptop")
        assert client.post("/api/v1/books", json=NEW_BOOK, headers=bearer(token)).status_code == 201
        assert revoke_token(user, record.id)
    body = assert_problem(client.post("/api/v1/books", json=NEW_BOOK, headers=bearer(token)), 401)
    assert "revoked" in body["detail"]


def test_patch_put_delete(app: Flask, client: FlaskClient, token: str, book_id: int) -> None:
    path = f"/api/v1/books/{book_id}"
    patched = client.patch(path, json={"review": "  Wonderful.  "}, headers=bearer(token))
    assert patched.status_code == 200
    assert patched.get_json()["review"] == "Wonderful." and patched.get_json()["pages_num"] == 480
    incomplete = client.put(path, json={"title": "Only"}, headers=bearer(token))
    assert set(assert_problem(incomplete, 422)["errors"]) == {"author", "pages_num"}
    replaced = client.put(
        path, json={"title": "T", "author": "A", "pages_num": 1}, headers=bearer(token)
    )
    assert replaced.get_json()["review"] is None  # PUT replaces: review gone
    deleted = client.delete(path, headers=bearer(token))
    assert deleted.status_code == 204 and deleted.data == b""
    assert_problem(client.get(path), 404)
    assert_problem(client.delete(path, headers=bearer(token)), 404)


@pytest.mark.parametrize("who", ["stranger", "admin"])
def test_only_owner_or_admin_may_change(
    app: Flask, client: FlaskClient, book_id: int, who: str
) -> None:
    other = token_for(app, create_account(app, who, is_admin=who == "admin"))
    path = f"/api/v1/books/{book_id}"
    responses = [
        client.patch(path, json={"pages_num": 2}, headers=bearer(other)),
        client.put(path, json={**NEW_BOOK, "pages_num": 3}, headers=bearer(other)),
        client.delete(path, headers=bearer(other)),
    ]
    if who == "stranger":
        for response in responses:
            assert_problem(response, 403)
        with app.app_context():
            assert db.session.get(Book, book_id).pages_num == 480
    else:
        assert [r.status_code for r in responses] == [200, 200, 204]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({**NEW_BOOK, "pages_num": "480"}, "pages_num", "Not a valid integer."),
        ({**NEW_BOOK, "pages_num": 4.5}, "pages_num", "Not a valid integer."),
        ({**NEW_BOOK, "pages_num": 0}, "pages_num", "Must be greater than or equal to 1"),
        ({**NEW_BOOK, "pages_num": 10**30}, "pages_num", "less than or equal to 100000"),
        ({**NEW_BOOK, "title": "x" * 151}, "title", "Longer than maximum length 150."),
        ({**NEW_BOOK, "title": "   "}, "title", "Must not be blank or contain NUL."),
        ({**NEW_BOOK, "author": "a\x00b"}, "author", "Must not be blank or contain NUL."),
        ({**NEW_BOOK, "review": "\x00"}, "review", "Must not contain NUL."),
        ({**NEW_BOOK, "title": None}, "title", "Field may not be null."),
        ({**NEW_BOOK, "publisher": "Penguin"}, "publisher", "Unknown field."),
        ({"title": "T"}, "author", "Missing data for required field."),
    ],
)
def test_invalid_bodies_are_422_with_field_errors(
    app: Flask, client: FlaskClient, token: str, payload: dict, field: str, message: str
) -> None:
    body = assert_problem(client.post("/api/v1/books", json=payload, headers=bearer(token)), 422)
    assert any(message in text for text in body["errors"][field]), body
    with app.app_context():
        assert db.session.query(Book).count() == 0


@pytest.mark.parametrize("payload", ['{"title": ', "[1, 2]", '"text"', "null"])
def test_malformed_or_non_object_json(client: FlaskClient, token: str, payload: str) -> None:
    response = client.post(
        "/api/v1/books", data=payload, headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert response.status_code in {400, 422}
    assert_problem(response, response.status_code)


def test_wrong_content_type_is_415(client: FlaskClient, token: str) -> None:
    response = client.post("/api/v1/books", data=NEW_BOOK, headers=bearer(token))
    assert "Content-Type: application/json" in assert_problem(response, 415)["detail"]


def test_huge_body_is_413(client: FlaskClient, token: str) -> None:
    body = json.dumps({**NEW_BOOK, "review": "x" * (2 * 1024 * 1024)})
    response = client.post(
        "/api/v1/books", data=body, headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert_problem(response, 413)


def test_unknown_routes_and_methods_are_problems(client: FlaskClient, book_id: int) -> None:
    assert_problem(client.get("/api/v1/nothing"), 404)
    assert_problem(client.get("/api/v1/books/0"), 404)
    assert_problem(client.get("/api/v1/books/99999999999"), 404)
    response = client.post(f"/api/v1/books/{book_id}", json=NEW_BOOK)
    assert_problem(response, 405)
    assert "PATCH" in response.headers["Allow"]


def test_cookie_session_writes_need_the_csrf_token(
    app: Flask, client: FlaskClient, owner: int
) -> None:
    sign_in(client, "owner")
    assert_problem(client.post("/api/v1/books", json=NEW_BOOK), 400)
    response = client.post(
        "/api/v1/books", json=NEW_BOOK, headers={"X-CSRFToken": csrf_token(client)}
    )
    assert response.status_code == 201


def test_user_resource(app: Flask, client: FlaskClient, owner: int, book_id: int) -> None:
    body = client.get(f"/api/v1/users/{owner}").get_json()
    assert body["username"] == "owner" and body["books_count"] == 1 and "is_admin" not in body
    assert "password_hash" not in body
    assert_problem(client.get("/api/v1/users/4242"), 404)


def test_openapi_document_is_valid(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/v1/books",
        "/api/v1/books/{book_id}",
        "/api/v1/books/{book_id}/cover",
        "/api/v1/users/{user_id}",
        "/api/v1/me/shelves",
        "/api/v1/me/shelves/books",
        "/api/v1/me/shelves/books/{book_id}",
    }
    post = spec["paths"]["/api/v1/books"]["post"]
    assert post["security"] == [{"bearerAuth": []}]
    assert "application/problem+json" in json.dumps(spec["components"]["responses"]["NOT_FOUND"])


def test_interactive_docs_are_served_locally(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script>" not in html and "https://" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"]:
        assert client.get(f"/api/v1/docs/assets/{asset}").status_code == 200
    assert client.get("/api/v1/docs/assets/../../__init__.py").status_code == 404


def test_tokens_on_the_profile_page(app: Flask, client: FlaskClient, owner: int) -> None:
    sign_in(client, "owner")
    created = client.post(
        f"/users/{owner}/tokens", data={"name": "my script", "csrf_token": csrf_token(client)}
    )
    assert created.status_code == 303
    html = client.get(created.headers["Location"]).get_data(as_text=True)
    token = html.split('class="token-value" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith("bks_")
    with app.app_context():
        from bookshelf.models import ApiToken

        stored = db.session.query(ApiToken).one()
        assert stored.token_hash != token and token not in stored.token_hash
    profile = client.get(f"/users/{owner}").get_data(as_text=True)
    assert "my script" in profile and token[:12] in profile and token not in profile
    assert client.post("/api/v1/books", json=NEW_BOOK, headers=bearer(token)).status_code == 201
    revoked = client.post(
        f"/users/{owner}/tokens/{stored.id}",
        data={"_method": "DELETE", "csrf_token": csrf_token(client)},
    )
    assert revoked.status_code == 303
    assert_problem(client.post("/api/v1/books", json=NEW_BOOK, headers=bearer(token)), 401)


def test_nobody_else_manages_my_tokens(app: Flask, client: FlaskClient, owner: int) -> None:
    create_account(app, "mallory")
    sign_in(client, "mallory")
    response = client.post(
        f"/users/{owner}/tokens", data={"name": "x", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 403
    assert "API tokens" not in client.get(f"/users/{owner}").get_data(as_text=True)
