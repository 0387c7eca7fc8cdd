"""Hostile input: property-based tests (Hypothesis) of the validators and cookie parsers.

Each property runs against an independent statement of the rules (the oracle below, written
from README and BOOK_RULES, not from the form code), on SQLite and PostgreSQL. Arbitrary input
never produces a 500; input the rules reject never writes; accepted input is stored as sent
(minus surrounding blanks).
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from rel_helpers import ALL_PROBES, bearer, book_count, snapshot, token_for
from werkzeug.http import parse_cookie

from bookshelf.books import preferences
from bookshelf.books.queries import MAX_PER_PAGE, SORT_ORDERS
from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf.reading_list import cookie as reading_list_cookie
from bookshelf.signed_cookies import UnreadableCookie
from bookshelf.text import BLANK_CHARACTERS
from bookshelf_helpers import TEST_SECRET, add_books, create_account, csrf_token, sign_in

# Bounded and reproducible: the same examples on every run and machine.
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIMITS = {"title": 150, "author": 50, "review": 20_000}

# Text with what breaks naive code: blanks from both worlds, NUL, long runs, probes.
awkward_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(BLANK_CHARACTERS + "\x00\x1c\u200b a<>'\"&;\\%"), max_size=8),
    st.sampled_from(ALL_PROBES),
    st.integers(min_value=45, max_value=155).map(lambda n: "x" * n),
    st.builds(
        lambda n, pad: pad + "y" * n + pad, st.integers(148, 152), st.sampled_from(" \t\u3000")
    ),
)
number_text = st.one_of(
    st.integers(min_value=-5, max_value=100_005).map(str),
    st.sampled_from(["", " 12 ", "+7", "1_000", "١٢", "1e3", "0x10", "12.0", "9" * 30, "NaN"]),
    st.text(max_size=6),
)


def stripped(value: str) -> str:
    return value.strip(BLANK_CHARACTERS)


def form_verdict(fields: dict[str, str]) -> tuple[int, dict[str, object] | None]:
    """What README's rules say POST /books must do: (status, the stored row or None)."""
    if any("\x00" in value for value in fields.values()):
        return 400, None
    row: dict[str, object] = {}
    for name in ("title", "author", "review"):
        value = stripped(fields.get(name, ""))
        required = name != "review"
        # Python's str.strip() (WTForms' DataRequired) also treats \x1c-\x1f as blank.
        if (required and not value.strip()) or len(value) > LIMITS[name]:
            return 422, None
        row[name] = value or None
    try:
        pages = int(fields.get("pages_num", ""))
    except ValueError:
        return 422, None
    if not 1 <= pages <= 100_000:
        return 422, None
    row["pages_num"] = pages
    return 302, row


def stored_row(app: Flask, book_id: int) -> dict[str, object]:
    with app.app_context():
        book = db.session.get(Book, book_id)
        assert book is not None
        return {n: getattr(book, n) for n in ("title", "author", "review", "pages_num")}


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "owner")


@pytest.fixture
def signed_in(app: Flask, owner: int) -> tuple[FlaskClient, str]:
    client = app.test_client()
    sign_in(client, "owner")
    return client, csrf_token(client)


form_fields = st.fixed_dictionaries(
    {},
    optional={
        "title": awkward_text,
        "author": awkward_text,
        "pages_num": number_text,
        "review": awkward_text,
    },
)
plain_text = st.text(min_size=1, max_size=30).filter(lambda t: stripped(t).strip())
# A valid book with one field replaced: keeps about half of the examples on the accept path.
near_valid_form = st.builds(
    lambda base, name, value: {**base, name: value},
    st.fixed_dictionaries(
        {
            "title": st.one_of(plain_text, st.sampled_from(ALL_PROBES)),
            "author": plain_text.map(lambda t: t[:50]),
            "pages_num": st.integers(1, 100_000).map(str),
            "review": st.one_of(st.just(""), plain_text, st.sampled_from(ALL_PROBES)),
        }
    ),
    st.sampled_from(["title", "author", "pages_num", "review"]),
    st.one_of(awkward_text, number_text),
)


@FUZZ
@given(
    fields=st.one_of(form_fields, near_valid_form),
    extra=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=2),
)
def test_book_form_follows_the_rules(
    app: Flask, signed_in: tuple[FlaskClient, str], fields: dict[str, str], extra: dict[str, str]
) -> None:
    client, token = signed_in
    extra = {k: v for k, v in extra.items() if k not in {"_method", "csrf_token", *fields}}
    before = snapshot(app)
    response = client.post("/books", data={**extra, **fields, "csrf_token": token})
    status, row = form_verdict(fields)
    event(f"status {status}")
    assert response.status_code == status, (fields, response.get_data(as_text=True)[:400])
    if row is None:
        assert snapshot(app) == before  # rejected input wrote nothing
    else:
        book_id = int(response.headers["Location"].rsplit("/", 1)[1])
        assert stored_row(app, book_id) == row
        assert book_count(app) == len(before["books"]) + 1


@FUZZ
@given(method=st.sampled_from(["PATCH", "put", " delete ", "GET", "TRACE", "x"]))
def test_method_override_on_the_collection_never_writes(
    app: Flask, signed_in: tuple[FlaskClient, str], method: str
) -> None:
    client, token = signed_in
    before = snapshot(app)
    data = {"title": "T", "author": "A", "pages_num": "1", "_method": method, "csrf_token": token}
    response = client.post("/books", data=data)
    overridden = method.strip().upper() in {"PATCH", "PUT", "DELETE"}
    assert response.status_code == (405 if overridden else 302)
    if overridden:
        assert snapshot(app) == before


# --- JSON API ---------------------------------------------------------------------------

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), awkward_text
)
json_value = st.recursive(
    json_scalar,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
api_fields = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(awkward_text, json_scalar),
        "author": st.one_of(awkward_text, json_scalar),
        "pages_num": st.one_of(st.integers(-3, 100_003), json_scalar),
        "review": st.one_of(awkward_text, st.none(), json_scalar),
    },
)


near_valid_api = st.builds(
    lambda base, name, value: {**base, name: value},
    st.fixed_dictionaries(
        {
            "title": st.one_of(plain_text, st.sampled_from(ALL_PROBES)),
            "author": plain_text.map(lambda t: t[:50]),
            "pages_num": st.integers(1, 100_000),
        },
        optional={"review": st.one_of(st.none(), plain_text, st.sampled_from(ALL_PROBES))},
    ),
    st.sampled_from(["title", "author", "pages_num", "review"]),
    st.one_of(plain_text, awkward_text, json_scalar, st.integers(-3, 100_003)),
)


def json_headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/json"}


def api_verdict(body: object, partial: bool) -> dict[str, object] | None:
    """The fields the API must store for `body`, or None when it must answer 422."""
    if not isinstance(body, dict) or set(body) - {"title", "author", "pages_num", "review"}:
        return None
    if not partial and not {"title", "author", "pages_num"} <= set(body):
        return None
    out: dict[str, object] = {}
    for name, value in body.items():
        if name == "pages_num":
            if type(value) is not int or not 1 <= value <= 100_000:
                return None
            out[name] = value
            continue
        if value is None and name == "review":
            out[name] = None
            continue
        # The API checks the text as sent: length and content before stripping.
        if not isinstance(value, str) or "\x00" in value or len(value) > LIMITS[name]:
            return None
        if name != "review" and not stripped(value):
            return None
        out[name] = stripped(value) or (None if name == "review" else "")
    return out


@FUZZ
@given(body=st.one_of(near_valid_api, api_fields, json_value))
def test_api_create_follows_the_rules(app: Flask, owner: int, body: object) -> None:
    _, token = token_for(app, owner)
    client = app.test_client()
    before = snapshot(app)
    response = client.post("/api/v1/books", data=json.dumps(body), headers=json_headers(token))
    expected = api_verdict(body, partial=False)
    event("accepted" if expected else "rejected")
    if expected is None:
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert snapshot(app) == before
    else:
        assert response.status_code == 201, (body, response.get_json())
        row = stored_row(app, response.get_json()["id"])
        assert row == {"review": None, **expected}


@FUZZ
@given(body=st.one_of(near_valid_api, api_fields, json_value))
def test_api_patch_follows_the_rules(app: Flask, owner: int, body: object) -> None:
    _, token = token_for(app, owner)
    [book_id] = add_books(
        app, [{"title": "Before", "author": "A", "pages_num": 10, "added_by_id": owner}]
    )
    original = stored_row(app, book_id)
    response = app.test_client().patch(
        f"/api/v1/books/{book_id}", data=json.dumps(body), headers=json_headers(token)
    )
    expected = api_verdict(body, partial=True)
    event("accepted" if expected else "rejected")
    if expected is None:
        assert response.status_code == 422, (body, response.get_json())
        assert stored_row(app, book_id) == original
    else:
        assert response.status_code == 200, (body, response.get_json())
        merged = {**original, **expected}
        merged["review"] = merged["review"] or None
        assert stored_row(app, book_id) == merged


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=60),
        st.sampled_from([b"", b"{", b"[]", b"null", b'{"title": NaN}', b"\xff\xfe{}", b"1e999"]),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=latin-1", "text/plain", "application/x"]
    ),
)
def test_api_raw_bodies_never_500(app: Flask, owner: int, raw: bytes, content_type: str) -> None:
    _, token = token_for(app, owner)
    before = book_count(app)
    response = app.test_client().post(
        "/api/v1/books", data=raw, headers={**bearer(token), "Content-Type": content_type}
    )
    assert response.status_code in {400, 415, 422}, (raw, response.get_json())
    assert response.mimetype == "application/problem+json"
    assert book_count(app) == before


# --- query strings and path parameters --------------------------------------------------

query_value = st.one_of(number_text, awkward_text)


@FUZZ
@given(
    path=st.sampled_from(["/books", "/search", "/api/v1/books", "/users", "/"]),
    args=st.dictionaries(
        st.sampled_from(["sort", "per_page", "page", "after", "before", "last", "term", "q"]),
        query_value,
        max_size=4,
    ),
)
def test_query_strings_never_500(app: Flask, path: str, args: dict[str, str]) -> None:
    add_books(app, [{"title": "Book", "author": "Author", "pages_num": 1}])
    response = app.test_client().get(path, query_string=args)
    assert response.status_code in {200, 302, 400, 404, 422}, (path, args)


@FUZZ
@given(segment=st.one_of(number_text, awkward_text, st.sampled_from(["%00", "..", "%2e%2e/"])))
def test_path_parameters_never_500(app: Flask, segment: str) -> None:
    client = app.test_client()
    for template in ("/books/{}", "/books/{}/edit", "/users/{}", "/api/v1/books/{}"):
        response = client.get(template.format(segment))
        assert response.status_code in {200, 302, 308, 400, 404}, (template, segment)


# --- cookies ----------------------------------------------------------------------------


def signed(value: object, salt: str) -> str:
    return URLSafeSerializer(TEST_SECRET, salt=salt).dumps(value)


cookie_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)


@given(value=json_value)
@settings(max_examples=300, derandomize=True, deadline=None, database=None)
def test_reading_list_parser_accepts_only_the_trusted_shape(value: object) -> None:
    try:
        ids = reading_list_cookie.parse_book_ids(value)
    except UnreadableCookie:
        well_formed = (
            isinstance(value, list)
            and len(value) <= reading_list_cookie.MAX_BOOKS
            and all(type(i) is int and 0 < i < 2**31 for i in value)
        )
        assert not well_formed
    else:
        assert isinstance(value, list)
        assert ids == list(dict.fromkeys(value))
        assert all(type(i) is int and 0 < i < 2**31 for i in ids)


@FUZZ
@given(
    cookie=st.one_of(
        cookie_text,
        json_value.map(lambda v: signed(v, reading_list_cookie.SALT)),
        st.lists(st.integers(-2, 6), max_size=8).map(lambda v: signed(v, reading_list_cookie.SALT)),
        st.just(signed(list(range(1, 200)), reading_list_cookie.SALT)),
    ),
    book_id=st.one_of(number_text, st.none()),
)
def test_reading_list_cookie_never_500(app: Flask, cookie: str, book_id: str | None) -> None:
    add_books(app, [{"title": f"B{n}", "author": "A", "pages_num": 1} for n in range(3)])
    client = app.test_client()
    client.set_cookie("reading_list", cookie)
    page = client.get("/reading-list")
    assert page.status_code == 200
    form = {"csrf_token": csrf_token(client)} | ({} if book_id is None else {"book_id": book_id})
    added = client.post("/reading-list", data=form)
    assert added.status_code in {303, 400}
    # Whatever came in, what goes out is a well-formed list of books that exist.
    kept = client.get_cookie("reading_list")
    if kept is not None and kept.value:
        stored = URLSafeSerializer(TEST_SECRET, salt=reading_list_cookie.SALT).loads(kept.value)
        assert reading_list_cookie.parse_book_ids(stored) == stored


@given(sort=json_value, per_page=json_value)
@settings(max_examples=300, derandomize=True, deadline=None, database=None)
def test_preferences_are_always_in_range(sort: object, per_page: object) -> None:
    chosen = preferences.ListPreferences.valid(sort, per_page)
    assert chosen.sort in SORT_ORDERS
    assert type(chosen.per_page) is int and 1 <= chosen.per_page <= MAX_PER_PAGE


@FUZZ
@given(
    cookie=st.one_of(
        cookie_text,
        json_value.map(lambda v: signed(v, preferences.SALT)),
        st.fixed_dictionaries({"sort": json_value, "per_page": json_value}).map(
            lambda v: signed(v, preferences.SALT)
        ),
    ),
    lang=cookie_text,
)
def test_preference_and_language_cookies_never_500(app: Flask, cookie: str, lang: str) -> None:
    add_books(app, [{"title": "Book", "author": "Author", "pages_num": 1}])
    client = app.test_client()
    client.set_cookie(preferences.COOKIE_NAME, cookie)
    client.set_cookie("lang", lang)
    response = client.get("/books")
    assert response.status_code == 200
    for header in response.headers.getlist("Set-Cookie"):  # rewritten: must be in range
        written = parse_cookie(header).get(preferences.COOKIE_NAME)
        if written:
            value = URLSafeSerializer(TEST_SECRET, salt=preferences.SALT).loads(written)
            assert value["sort"] in SORT_ORDERS and 1 <= value["per_page"] <= MAX_PER_PAGE


def test_the_oracle_is_not_vacuous() -> None:
    """The properties above would pass against an app that rejects everything without this."""
    assert form_verdict({"title": "T", "author": "A", "pages_num": "3"})[0] == 302
    assert form_verdict({"title": " ", "author": "A", "pages_num": "3"})[0] == 422
    assert api_verdict({"title": "T", "author": "A", "pages_num": 3}, partial=False)
    assert api_verdict(json.loads('{"pages_num": true}'), partial=True) is None
