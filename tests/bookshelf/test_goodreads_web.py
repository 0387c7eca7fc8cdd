"""The Goodreads import pages (upload, preview, streamed run, summary) and the exports,
including the round trip: export -> import into a fresh account gives the same shelves."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import Flask
from flask.testing import FlaskClient
from goodreads_files import SAMPLE, generated_export
from sqlalchemy import func, select
from test_goodreads_import import shelves_of

from bookshelf.extensions import db
from bookshelf.goodreads.csvfile import COLUMNS
from bookshelf.models import Book, ShelfEntry
from bookshelf_helpers import create_account, csrf_token, sign_in

UPLOAD_KEY = re.compile(r'name="upload" type="hidden" value="([^"]+)"')


def sign_in_as(app: Flask, client: FlaskClient, name: str) -> int:
    client.delete_cookie("session")
    client.delete_cookie("remember_token")
    user_id = create_account(app, name)
    sign_in(client, name)
    return user_id


def upload(client: FlaskClient, data: bytes, name: str = "goodreads_library_export.csv"):
    token = csrf_token(client, "/my-books/import")
    return client.post(
        "/my-books/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def run_import(client: FlaskClient, preview_html: str):
    key = UPLOAD_KEY.search(preview_html).group(1)
    token = csrf_token(client, "/my-books/import")
    return client.post("/my-books/import/run", data={"csrf_token": token, "upload": key})


def book_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Book.id)))


def test_preview_then_import_with_progress_and_summary(app: Flask, client: FlaskClient) -> None:
    user = sign_in_as(app, client, "anna")
    response = upload(client, SAMPLE.read_bytes())
    assert response.status_code == 200
    preview = response.get_data(as_text=True)
    assert "Nothing has been changed yet." in preview
    assert re.search(r"New books \(will be added to the catalogue\)</dt><dd>6<", preview)
    assert "War and Peace, &#34;Abridged&#34;" in preview and "Мастер и Маргарита" in preview
    assert "skipped: no title" in preview
    assert book_count(app) == 0 and shelves_of(app, user) == {}

    response = run_import(client, preview)
    assert response.status_code == 200 and response.is_streamed
    page = response.get_data(as_text=True)
    assert '<progress value="8" max="8">100%</progress>' in page
    assert "Import finished" in page
    assert re.search(r"Books added to the catalogue</dt><dd>6<", page)
    assert "1 row</li>" not in page and "1 row: no title" in page
    assert book_count(app) == 6 and len(shelves_of(app, user)) == 6
    # The kept upload is gone: the same form cannot import it twice.
    again = run_import(client, preview)
    assert again.status_code == 422 and "That upload has expired" in again.get_data(as_text=True)


def test_bad_files_refused_and_nothing_changes(app: Flask, client: FlaskClient) -> None:
    sign_in_as(app, client, "anna")
    cases = [
        (b"Title,Author\nA,B\n", "the columns Exclusive Shelf are missing"),
        ("Название;Автор\n".encode("cp1251"), "The file is not UTF-8 text"),
        (b"\x00\x01PK", "This is not a CSV file."),
    ]
    for data, message in cases:
        response = upload(client, data)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True)
    response = upload(client, b"x" * (21 * 1024 * 1024))
    assert response.status_code == 413
    assert "The file is larger than 20 MB." in response.get_data(as_text=True)
    response = client.post("/my-books/import", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert "Choose the CSV file Goodreads exported." in response.get_data(as_text=True)
    assert book_count(app) == 0


def test_import_pages_need_sign_in_and_csrf(app: Flask, client: FlaskClient) -> None:
    assert client.get("/my-books/import").status_code == 302
    assert client.get("/my-books/export.csv").status_code == 302
    sign_in_as(app, client, "anna")
    response = client.post(
        "/my-books/import",
        data={"file": (io.BytesIO(SAMPLE.read_bytes()), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    preview = upload(client, SAMPLE.read_bytes()).get_data(as_text=True)
    sign_in_as(app, client, "boris")  # another reader cannot import anna's upload
    response = run_import(client, preview)
    assert response.status_code == 422 and book_count(app) == 0


def test_export_round_trip_into_a_fresh_account(app: Flask, client: FlaskClient) -> None:
    anna = sign_in_as(app, client, "anna")
    run_import(client, upload(client, SAMPLE.read_bytes()).get_data(as_text=True)).get_data()
    exported = client.get("/my-books/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    text = exported.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 7
    by_title = {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    hunger = by_title["The Hunger Games (The Hunger Games, #1)"]
    assert hunger["ISBN13"] == '="9780439023481"' and hunger["ISBN"] == '="0439023483"'
    assert hunger["Date Read"] == "2021/03/14" and hunger["My Rating"] == "4"
    assert hunger["Bookshelves"] == "favorites, young-adult, read"
    assert by_title["Lord of the Flies"]["Number of Pages"] == ""  # unknown stays unknown

    data = client.get("/my-books/export.json").get_json()
    assert len(data["books"]) == 6
    war = next(book for book in data["books"] if book["title"].startswith("War"))
    assert war["pages"] is None and war["shelf"] == "reading" and war["shelves"] == ["classics"]

    boris = sign_in_as(app, client, "boris")
    preview = upload(client, text.encode()).get_data(as_text=True)
    assert re.search(r"Books already in the catalogue</dt><dd>6<", preview)
    run_import(client, preview).get_data()  # the import runs as the page is sent
    assert shelves_of(app, boris) == shelves_of(app, anna)
    assert book_count(app) == 6
    # Same books (matched, not copied), shelves, dates, ratings and reviews.
    assert json.loads(client.get("/my-books/export.json").get_data())["books"] == data["books"]


def test_streamed_import_of_many_rows_shows_each_chunk(app: Flask, client: FlaskClient) -> None:
    user = sign_in_as(app, client, "anna")
    preview = upload(client, generated_export(2500)).get_data(as_text=True)
    page = run_import(client, preview).get_data(as_text=True)
    bars = re.findall(r'<progress value="(\d+)" max="2500">', page)
    assert bars == ["0", "1000", "2000", "2500"]
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(ShelfEntry.user_id == user))
    assert count == 2500
