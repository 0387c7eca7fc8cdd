"""What generated clients rely on: links that always work, exact types, conditional requests."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.models import Book, User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import add_books, create_account, make_rows

PROBLEM = "application/problem+json"
NEW_BOOK = {"title": "The Master and Margarita", "author": "Mikhail Bulgakov", "pages_num": 480}
OPERATIONS = {
    ("get", "/api/v1/books"): "listBooks",
    ("post", "/api/v1/books"): "createBook",
    ("get", "/api/v1/books/{book_id}"): "getBook",
    ("put", "/api/v1/books/{book_id}"): "replaceBook",
    ("patch", "/api/v1/books/{book_id}"): "updateBook",
    ("delete", "/api/v1/books/{book_id}"): "deleteBook",
    ("put", "/api/v1/books/{book_id}/cover"): "putBookCover",
    ("delete", "/api/v1/books/{book_id}/cover"): "deleteBookCover",
    ("get", "/api/v1/users/{user_id}"): "getUser",
    ("get", "/api/v1/me/shelves"): "getMyShelves",
    ("get", "/api/v1/me/shelves/books"): "listMyShelvedBooks",
    ("get", "/api/v1/me/shelves/books/{book_id}"): "getMyShelfEntry",
    ("put", "/api/v1/me/shelves/books/{book_id}"): "shelveBook",
    ("delete", "/api/v1/me/shelves/books/{book_id}"): "unshelveBook",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "owner")


@pytest.fixture
def token(app: Flask, owner: int) -> str:
    with app.app_context():
        _record, token = issue_token(db.session.get(User, owner), "tests")
        return token


@pytest.fixture
def book_id(app: Flask, owner: int) -> int:
    [book_id] = add_books(app, [{**NEW_BOOK, "added_by_id": owner}])
    return book_id


@pytest.fixture
def spec(client: FlaskClient) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def walk(client: FlaskClient, start: str, rel: str) -> list[dict]:
    """Follow one link relation until it is null; every page must answer 200."""
    pages, url = [], start
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        pages.append(response.get_json())
        url = pages[-1]["links"][rel]
    return pages


# Pagination ------------------------------------------------------------------------------


def test_next_links_reach_the_end_of_a_list_longer_than_50_pages(
    app: Flask, client: FlaskClient
) -> None:
    add_books(app, make_rows(56))
    pages = walk(client, "/api/v1/books?sort=oldest&per_page=1", "next")
    titles = [page["items"][0]["title"] for page in pages]
    assert titles == [f"Book {n:03d}" for n in range(1, 57)]
    assert pages[-1]["meta"]["page"] == 56


@pytest.mark.parametrize("sort", ["newest", "title", "author", "pages", "rating"])
def test_last_then_prev_walks_back_to_the_first_page(
    app: Flask, client: FlaskClient, sort: str
) -> None:
    add_books(app, make_rows(23))
    forward = walk(client, f"/api/v1/books?sort={sort}&per_page=5", "next")
    first = forward[0]
    assert first["links"]["last"] and first["links"]["first"]
    backward = walk(client, first["links"]["last"], "prev")
    # The last page is full (the last per_page books), so pages need not align: the books do.
    ids = [book["id"] for page in forward for book in page["items"]]
    assert [book["id"] for page in reversed(backward) for book in page["items"]] == ids
    assert len(ids) == 23 and backward[-1]["meta"]["page"] == 1
    assert client.get(backward[-1]["links"]["first"]).get_json()["items"] == first["items"]


def test_a_cursor_outlives_the_book_it_was_taken_from(
    app: Flask, client: FlaskClient, token: str
) -> None:
    ids = add_books(app, make_rows(6))
    page = client.get("/api/v1/books?sort=oldest&per_page=3").get_json()
    with app.app_context():
        db.session.delete(db.session.get(Book, ids[2]))  # the last book shown
        db.session.commit()
    rest = client.get(page["links"]["next"]).get_json()
    assert [book["id"] for book in rest["items"]] == ids[3:]


def test_cursors_are_opaque_and_a_forged_one_is_a_404(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(6))
    url = client.get("/api/v1/books?per_page=2").get_json()["links"]["next"]
    cursor = parse_qs(urlsplit(url).query)["cursor"][0]
    assert "after" not in url and not cursor.isdigit()
    forged = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    response = client.get("/api/v1/books", query_string={"cursor": forged})
    # 404, like any page that does not exist: a schema can only say "a string", so a client
    # sending a well-formed string has sent valid data, and 4xx-for-invalid would lie.
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert "cursor" in response.get_json()["detail"]


def test_pagination_links_are_also_a_link_header(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(6))
    response = client.get("/api/v1/books?per_page=2")
    links = response.get_json()["links"]
    header = response.headers["Link"]
    for rel in ("self", "first", "next", "last"):
        assert f'<{links[rel]}>; rel="{rel}"' in header
    assert 'rel="prev"' not in header


# The document ----------------------------------------------------------------------------


def test_added_by_is_a_nullable_user_summary(spec: dict) -> None:
    added_by = spec["components"]["schemas"]["Book"]["properties"]["added_by"]
    assert added_by["allOf"] == [{"$ref": "#/components/schemas/UserSummary"}]
    assert added_by["nullable"] is True and "anyOf" not in added_by


# Fields present only on request: highlights with `q&highlight=true`, admin status for admins.
OPTIONAL_FIELDS = {"Book": {"highlight"}, "User": {"is_admin"}}


def test_every_always_present_field_is_required(spec: dict) -> None:
    schemas = spec["components"]["schemas"]
    always = ("Book", "UserSummary", "User", "BookPage", "PageMeta", "PageLinks")
    shelves = ("MyShelves", "ShelfCounts", "TagCount", "ShelfEntry", "ShelfEntryPage")
    for name in (*always, *shelves, "ShelfEntryPageMeta"):
        optional = OPTIONAL_FIELDS.get(name, set())
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]) - optional, name
        for field in optional:
            assert schemas[name]["properties"][field].get("description"), (name, field)
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    errors = schemas["Problem"]["properties"]["errors"]
    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "_schema" in errors["description"]


def test_operations_have_human_ids_and_every_status(spec: dict) -> None:
    found = {
        (method, path): operation.get("operationId")
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert found == OPERATIONS
    statuses = {
        name: set(spec["paths"][path][method]["responses"])
        for (method, path), name in OPERATIONS.items()
    }
    assert {"400", "401", "406", "414", "422", "429"} <= statuses["listBooks"]
    assert {"304", "401", "404", "406"} <= statuses["getBook"]
    for write in ("replaceBook", "updateBook"):
        assert {"400", "401", "403", "404", "412", "413", "415", "422"} <= statuses[write]
    assert {"401", "403", "404", "412"} <= statuses["deleteBook"]
    assert {"400", "401", "413", "415", "422"} <= statuses["createBook"]
    assert {"401", "403", "404", "412", "413", "415", "422"} <= statuses["putBookCover"]
    assert {"401", "403", "404", "412"} <= statuses["deleteBookCover"]


def test_no_unused_schemas(spec: dict) -> None:
    text = json.dumps(spec["paths"]) + json.dumps(spec["components"].get("responses", {}))
    used = {name for name in spec["components"]["schemas"] if f"/schemas/{name}" in text}
    nested = json.dumps(spec["components"]["schemas"])
    unused = {n for n in spec["components"]["schemas"] if n not in used}
    unused = {n for n in unused if f"/schemas/{n}" not in nested}
    assert unused == set()


def test_create_links_to_get_update_and_delete(spec: dict) -> None:
    links = spec["paths"]["/api/v1/books"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "getBook",
        "updateBook",
        "replaceBook",
        "deleteBook",
        "shelveBook",
    }
    for link in links.values():
        assert link["parameters"] == {"book_id": "$response.body#/id"}


# Timestamps ------------------------------------------------------------------------------


def test_timestamps_are_rfc3339_in_utc(client: FlaskClient, owner: int) -> None:
    created_at = client.get(f"/api/v1/users/{owner}").get_json()["created_at"]
    parsed = dt.datetime.fromisoformat(created_at)
    assert parsed.utcoffset() == dt.timedelta(0), created_at
    assert abs(parsed - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


# Conditional requests --------------------------------------------------------------------


def test_book_gets_carry_a_strong_etag_and_if_none_match_is_304(
    client: FlaskClient, book_id: int, token: str
) -> None:
    path = f"/api/v1/books/{book_id}"
    first = client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    cached = client.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b"" and cached.headers["ETag"] == etag
    client.patch(path, json={"review": "Changed."}, headers=bearer(token))
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 200


def test_if_match_mismatch_is_412_and_nothing_changes(
    app: Flask, client: FlaskClient, book_id: int, token: str
) -> None:
    path = f"/api/v1/books/{book_id}"
    stale = {**bearer(token), "If-Match": '"not-the-current-version"'}
    for response in (
        client.patch(path, json={"pages_num": 1}, headers=stale),
        client.put(path, json={**NEW_BOOK, "pages_num": 2}, headers=stale),
        client.delete(path, headers=stale),
    ):
        assert response.status_code == 412 and response.mimetype == PROBLEM
    with app.app_context():
        assert db.session.get(Book, book_id).pages_num == 480
    etag = client.get(path).headers["ETag"]
    fresh = {**bearer(token), "If-Match": etag}
    patched = client.patch(path, json={"pages_num": 3}, headers=fresh)
    assert patched.status_code == 200 and patched.headers["ETag"] != etag
    assert client.delete(path, headers={**bearer(token), "If-Match": etag}).status_code == 412
    deleted = client.delete(path, headers={**bearer(token), "If-Match": patched.headers["ETag"]})
    assert deleted.status_code == 204


# Content negotiation, CORS, rate limits ---------------------------------------------------


@pytest.mark.parametrize("accept", ["application/xml", "text/html", "text/csv;q=1"])
def test_unsupported_accept_is_406(client: FlaskClient, book_id: int, accept: str) -> None:
    for path in ("/api/v1/books", f"/api/v1/books/{book_id}"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 406 and response.mimetype == PROBLEM


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*", "text/html, */*"])
def test_json_compatible_accept_is_served(client: FlaskClient, accept: str) -> None:
    assert client.get("/api/v1/books", headers={"Accept": accept}).status_code == 200


def test_over_long_query_strings_are_414_problems(client: FlaskClient) -> None:
    response = client.get("/api/v1/books", query_string={"q": "x" * 5000})
    assert response.status_code == 414 and response.mimetype == PROBLEM


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    response = client.get("/api/v1/books", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("app_settings", [{"API_CORS_ORIGINS": ["https://app.example"]}])
def test_cors_for_named_origins(client: FlaskClient, book_id: int) -> None:
    allowed = client.get("/api/v1/books", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert (
        "Origin" in allowed.headers["Vary"]
        and "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    )
    other = client.get("/api/v1/books", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        f"/api/v1/books/{book_id}",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert preflight.status_code in {200, 204}
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "if-match" in allowed and "if-unmodified-since" in allowed


@pytest.mark.parametrize("app_settings", [{"API_RATE_LIMIT": "3 per minute"}])
def test_rate_limit_headers_and_429(client: FlaskClient) -> None:
    responses = [client.get("/api/v1/books") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0].headers["RateLimit-Limit"] == "3"
    assert 0 < int(responses[0].headers["RateLimit-Reset"]) <= 60
    assert responses[0].headers["RateLimit-Policy"] == "3;w=60"
    assert responses[3].mimetype == PROBLEM and int(responses[3].headers["Retry-After"]) > 0


def test_over_long_urls_of_html_pages_get_an_html_414(client: FlaskClient) -> None:
    response = client.get("/books", query_string={"sort": "x" * 5000})
    assert response.status_code == 414 and response.mimetype == "text/html"
    assert "Address too long" in response.get_data(as_text=True)
    russian = client.get(
        "/search", query_string={"term": "x" * 5000}, headers={"Accept-Language": "ru"}
    )
    assert "Адрес длиннее 4096 символов." in russian.get_data(as_text=True)
    assert "Слишком длинный адрес" in russian.get_data(as_text=True)
