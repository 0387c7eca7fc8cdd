"""/api/v1/me/shelves: a reader's shelves through the JSON API, with a personal token."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import add_books, create_account, make_rows

PROBLEM = "application/problem+json"


@pytest.fixture
def headers(app: Flask) -> dict[str, str]:
    user_id = create_account(app, "anna")
    with app.app_context():
        _record, token = issue_token(db.session.get(User, user_id), "tests")
    return {"Authorization": f"Bearer {token}"}


def test_shelve_list_count_and_remove(app: Flask, client: FlaskClient, headers: dict) -> None:
    ids = add_books(app, make_rows(3))
    created = client.put(
        f"/api/v1/me/shelves/books/{ids[0]}",
        json={"shelf": "reading", "started_on": "2026-01-05", "tags": ["Classics", " to buy "]},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["shelf"] == "reading" and body["started_on"] == "2026-01-05"
    assert body["finished_on"] is None and body["tags"] == ["Classics", "to buy"]
    assert body["book"]["id"] == ids[0] and body["book"]["title"] == "Book 001"
    moved = client.put(
        f"/api/v1/me/shelves/books/{ids[0]}",
        json={"shelf": "read", "started_on": "2026-01-05", "finished_on": "2026-02-01"},
        headers=headers,
    )
    assert moved.status_code == 200 and moved.get_json()["tags"] == []
    client.put(
        f"/api/v1/me/shelves/books/{ids[1]}", json={"shelf": "want", "tags": ["x"]}, headers=headers
    )

    counts = client.get("/api/v1/me/shelves", headers=headers).get_json()
    assert counts == {
        "shelves": {"want": 1, "reading": 0, "read": 1},
        "tags": [{"name": "x", "count": 1}],
    }
    listed = client.get("/api/v1/me/shelves/books?shelf=read", headers=headers).get_json()
    assert [item["book"]["id"] for item in listed["items"]] == [ids[0]]
    assert listed["meta"] == {"total": 1, "page": 1, "per_page": 50}
    assert listed["links"]["next"] is None and listed["links"]["prev"] is None
    by_tag = client.get("/api/v1/me/shelves/books?tag=X", headers=headers).get_json()
    assert [item["book"]["id"] for item in by_tag["items"]] == [ids[1]]
    paged = client.get("/api/v1/me/shelves/books?per_page=1", headers=headers).get_json()
    assert paged["meta"]["total"] == 2 and paged["links"]["next"]
    second = client.get(paged["links"]["next"], headers=headers).get_json()
    assert second["links"]["next"] is None and len(second["items"]) == 1

    entry = client.get(f"/api/v1/me/shelves/books/{ids[1]}", headers=headers)
    assert entry.status_code == 200 and entry.get_json()["shelf"] == "want"
    assert client.delete(f"/api/v1/me/shelves/books/{ids[1]}", headers=headers).status_code == 204
    gone = client.get(f"/api/v1/me/shelves/books/{ids[1]}", headers=headers)
    assert gone.status_code == 404 and gone.mimetype == PROBLEM
    again = client.delete(f"/api/v1/me/shelves/books/{ids[1]}", headers=headers)
    assert again.status_code == 204  # idempotent: the book is off the shelves either way
    assert client.delete("/api/v1/me/shelves/books/99999", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"shelf": "want", "finished_on": "2026-01-01"}, "finished_on", "A finish date goes"),
        (
            {"shelf": "read", "started_on": "2026-02-01", "finished_on": "2026-01-01"},
            "finished_on",
            "The finish date is before the start date.",
        ),
        ({"shelf": "read", "finished_on": "2999-01-01"}, "finished_on", "in the future"),
        ({"shelf": "lent"}, "shelf", "Must be one of"),
        ({"shelf": "want", "tags": ["x" * 41]}, "tags", "Item 0: Longer than maximum length 40."),
        ({"shelf": "want", "tags": ["ok", 5]}, "tags", "Item 1: Not a valid string."),
        ({"shelf": "want", "tags": ["a\tb"]}, "tags", "Item 0: String does not match"),
        ({"shelf": "want", "colour": "red"}, "colour", "Unknown field."),
        ({"started_on": "2026-01-01"}, "shelf", "Missing data for required field."),
        ({"shelf": "read", "started_on": "31.01.2026"}, "started_on", "Not a valid date."),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    app: Flask, client: FlaskClient, headers: dict, body: dict, field: str, message: str
) -> None:
    [book_id] = add_books(app, make_rows(1))
    response = client.put(f"/api/v1/me/shelves/books/{book_id}", json=body, headers=headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    errors = response.get_json()["errors"]
    assert message in " ".join(str(m) for m in errors[field]), errors
    assert client.get("/api/v1/me/shelves", headers=headers).get_json()["shelves"]["want"] == 0


def test_needs_a_token_and_an_existing_book(app: Flask, client: FlaskClient, headers: dict) -> None:
    [book_id] = add_books(app, make_rows(1))
    for method, path in [
        ("get", "/api/v1/me/shelves"),
        ("get", "/api/v1/me/shelves/books"),
        ("get", f"/api/v1/me/shelves/books/{book_id}"),
        ("delete", f"/api/v1/me/shelves/books/{book_id}"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 401 and response.mimetype == PROBLEM, path
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    anonymous = client.put(f"/api/v1/me/shelves/books/{book_id}", json={"shelf": "want"})
    assert anonymous.status_code == 401
    missing = client.put("/api/v1/me/shelves/books/99999", json={"shelf": "want"}, headers=headers)
    assert missing.status_code == 404 and "99999" in missing.get_json()["detail"]


def test_the_document_describes_the_shelves(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    put = spec["paths"]["/api/v1/me/shelves/books/{book_id}"]["put"]
    assert put["operationId"] == "shelveBook" and put["security"] == [{"bearerAuth": []}]
    assert {"200", "201", "401", "404", "415", "422"} <= set(put["responses"])
    entry = spec["components"]["schemas"]["ShelfEntry"]
    assert set(entry["required"]) == set(entry["properties"])
    assert entry["properties"]["finished_on"]["nullable"] is True
    assert entry["properties"]["shelf"]["enum"] == ["want", "reading", "read"]
    problem = put["responses"]["422"]
    assert "$ref" in problem or PROBLEM in problem.get("content", {})


def test_each_token_sees_and_changes_only_its_own_shelves(
    app: Flask, client: FlaskClient, headers: dict
) -> None:
    [book_id] = add_books(app, make_rows(1))
    other_id = create_account(app, "boris")
    with app.app_context():
        _record, token = issue_token(db.session.get(User, other_id), "tests")
    other = {"Authorization": f"Bearer {token}"}
    client.put(f"/api/v1/me/shelves/books/{book_id}", json={"shelf": "read"}, headers=headers)
    assert client.get(f"/api/v1/me/shelves/books/{book_id}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/me/shelves/books/{book_id}", headers=other).status_code == 204
    mine = client.get(f"/api/v1/me/shelves/books/{book_id}", headers=headers)
    assert mine.status_code == 200 and mine.get_json()["shelf"] == "read"
    client.put(f"/api/v1/me/shelves/books/{book_id}", json={"shelf": "want"}, headers=other)
    assert client.get("/api/v1/me/shelves", headers=headers).get_json()["shelves"] == {
        "want": 0,
        "reading": 0,
        "read": 1,
    }
