"""Book covers: upload on the add/edit form and through the API, checked and re-encoded with
Pillow, stored by content hash under the instance folder and served for a year; on SQLite
and PostgreSQL. Every image here is a real file made with Pillow."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.models import Book, User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import TEST_SECRET, add_books, create_account, csrf_token, sign_in

PROBLEM = "application/problem+json"
HASH_NAME = re.compile(r"/covers/([0-9a-f]{64})\.webp")
BOOK = {"title": "Dead Souls", "author": "Nikolai Gogol", "pages_num": "352", "review": "Funny."}
MiB = 1024 * 1024


def image_bytes(
    fmt: str, size: tuple[int, int] = (60, 90), color: str = "teal", **save: Any
) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def jpeg_with_gps_and_rotation() -> bytes:
    """A 60x30 JPEG taken "on its side" (EXIF orientation 6) with a GPS position."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (55.0, 45.0, 21.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (37.0, 37.0, 4.0)
    return image_bytes("JPEG", (60, 30), exif=exif.tobytes())


def oversized_jpeg(size: int) -> bytes:
    """A real JPEG padded after its end marker to `size` bytes."""
    data = image_bytes("JPEG")
    return data + b"\0" * (size - len(data))


def truncated_jpeg() -> bytes:
    """The first half of a photo-like JPEG: its header is intact, its pixels are not."""
    noise = Image.frombytes("RGB", (200, 300), os.urandom(200 * 300 * 3))
    data = image_bytes_of(noise, "JPEG", quality=95)
    return data[: len(data) // 2]


def image_bytes_of(image: Image.Image, fmt: str, **save: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def bomb_png() -> bytes:
    """10000 x 5000 = 50 megapixels in a few kilobytes."""
    return image_bytes_of(Image.new("1", (10_000, 5_000)), "PNG", optimize=True)


@pytest.fixture
def covers(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "covers"


@pytest.fixture
def app_settings(covers: Path) -> dict[str, Any]:
    return {"COVERS_FOLDER": str(covers)}


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "alice")


@pytest.fixture
def client(app: Flask, owner: int) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "alice")
    return client


@pytest.fixture
def book_id(app: Flask, owner: int) -> int:
    [book_id] = add_books(
        app,
        [{"title": "Oblomov", "author": "Ivan Goncharov", "pages_num": 544, "added_by_id": owner}],
    )
    return book_id


def cover_of(app: Flask, book_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Book, book_id).cover  # type: ignore[union-attr]


def book_count(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Book).count()


def add_with_cover(client: FlaskClient, data: bytes, filename: str = "cover.jpg", **fields: str):
    form = {**BOOK, **fields, "csrf_token": csrf_token(client, "/books/new")}
    form["cover"] = (io.BytesIO(data), filename)
    return client.post("/books", data=form, content_type="multipart/form-data")


def edit_with(client: FlaskClient, book_id: int, **fields: Any):
    form = {
        "_method": "PATCH",
        "csrf_token": csrf_token(client, f"/books/{book_id}/edit"),
        **fields,
    }
    return client.post(f"/books/{book_id}", data=form, content_type="multipart/form-data")


def stored_files(covers: Path) -> list[str]:
    return sorted(p.name for p in covers.iterdir()) if covers.is_dir() else []


# -- the add and edit forms ----------------------------------------------------------------------


def test_a_cover_added_with_the_book_is_on_its_page_and_in_the_list(
    app: Flask, client: FlaskClient, covers: Path
) -> None:
    response = add_with_cover(client, image_bytes("JPEG", (600, 900)))
    assert response.status_code == 302, response.get_data(as_text=True)
    book_id = int(response.headers["Location"].rsplit("/", 1)[1])
    digest = cover_of(app, book_id)
    assert digest is not None and re.fullmatch(r"[0-9a-f]{64}", digest)
    assert stored_files(covers) == [f"{digest}-thumb.webp", f"{digest}.webp"]

    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert f'src="/covers/{digest}.webp"' in page
    assert 'alt="Cover of “Dead Souls”"' in page
    listing = client.get("/books").get_data(as_text=True)
    assert f'src="/covers/{digest}-thumb.webp"' in listing
    found = client.get("/search?term=souls").get_data(as_text=True)
    assert f'src="/covers/{digest}-thumb.webp"' in found

    with Image.open(covers / f"{digest}.webp") as large:
        assert large.format == "WEBP" and large.size == (480, 720)
    with Image.open(covers / f"{digest}-thumb.webp") as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) <= 240


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "cover.png"), ("WEBP", "cover.webp")])
def test_png_and_webp_are_accepted(app: Flask, client: FlaskClient, fmt: str, name: str) -> None:
    response = add_with_cover(client, image_bytes(fmt), name)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert cover_of(app, int(response.headers["Location"].rsplit("/", 1)[1])) is not None


def test_a_book_without_a_cover_shows_the_placeholder(client: FlaskClient, book_id: int) -> None:
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert "cover-placeholder" in page and "/covers/" not in page
    assert "No cover" in page
    assert "cover-placeholder" in client.get("/books").get_data(as_text=True)


def test_gps_and_other_metadata_are_stripped_and_the_orientation_applied(
    app: Flask, client: FlaskClient, covers: Path
) -> None:
    original = jpeg_with_gps_and_rotation()
    with Image.open(io.BytesIO(original)) as check:  # the test file really carries them
        assert check.getexif().get_ifd(0x8825)[2] == (55.0, 45.0, 21.0)
    response = add_with_cover(client, original)
    digest = cover_of(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    for name in (f"{digest}.webp", f"{digest}-thumb.webp"):
        data = (covers / name).read_bytes()
        assert b"Exif" not in data and b"PhoneMaker" not in data and b"XMP" not in data
        with Image.open(covers / name) as stored:
            assert not stored.getexif()
            assert "exif" not in stored.info and "icc_profile" not in stored.info
            assert stored.height > stored.width  # turned upright: 60x30 on its side is 30x60


def test_the_same_image_is_one_file_for_two_books(
    app: Flask, client: FlaskClient, covers: Path
) -> None:
    data = image_bytes("PNG", color="orange")
    first = add_with_cover(client, data, "a.png")
    second = add_with_cover(client, data, "b.png", title="Dead Souls, volume 2")
    ids = [int(r.headers["Location"].rsplit("/", 1)[1]) for r in (first, second)]
    assert cover_of(app, ids[0]) == cover_of(app, ids[1])
    assert len(stored_files(covers)) == 2  # one image and its thumbnail


REFUSED = [
    ("not-an-image", b"%PDF-1.4 this is no picture", "not a JPEG, PNG or WebP image"),
    ("truncated", truncated_jpeg(), "damaged or incomplete"),
    ("bomb", bomb_png(), "more than 40 megapixels"),
    ("gif", image_bytes("GIF"), "not a JPEG, PNG or WebP image"),
]


@pytest.mark.parametrize(("case", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_file_is_a_field_error_with_the_input_kept(
    app: Flask, client: FlaskClient, covers: Path, case: str, data: bytes, message: str
) -> None:
    response = add_with_cover(client, data, "holiday.jpg", review="Keep this review.")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert re.search(r'class="field-error" id="cover-error"', html)
    assert 'value="Dead Souls"' in html and "Keep this review." in html
    assert book_count(app) == 0 and stored_files(covers) == []


def test_a_file_over_5_mb_is_a_field_error(app: Flask, client: FlaskClient) -> None:
    response = add_with_cover(client, oversized_jpeg(5 * MiB + 1))  # under the request limit
    assert response.status_code == 422
    assert "larger than 5 MB" in response.get_data(as_text=True)
    assert book_count(app) == 0


def test_a_6_mb_upload_gets_the_413_page(app: Flask, client: FlaskClient) -> None:
    response = add_with_cover(client, b"\xff" * (6 * 1000 * 1000))
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "5 MB" in response.get_data(as_text=True)
    assert book_count(app) == 0


def test_the_413_page_is_russian_for_a_russian_reader(client: FlaskClient) -> None:
    client.set_cookie("lang", "ru")
    response = add_with_cover(client, b"\xff" * (6 * 1000 * 1000))
    assert response.status_code == 413
    assert "5 МБ" in response.get_data(as_text=True)


def test_refusals_are_in_russian_for_a_russian_reader(client: FlaskClient) -> None:
    client.set_cookie("lang", "ru")
    response = add_with_cover(client, b"just text", "cover.png")
    assert response.status_code == 422
    assert "Это не изображение JPEG, PNG или WebP" in response.get_data(as_text=True)


def test_the_edit_form_replaces_the_cover(
    app: Flask, client: FlaskClient, book_id: int, covers: Path
) -> None:
    response = edit_with(client, book_id, cover=(io.BytesIO(image_bytes("WEBP")), "new.webp"))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert cover_of(app, book_id) is not None
    with app.app_context():  # PATCH changed nothing else
        book = db.session.get(Book, book_id)
        assert (book.title, book.pages_num) == ("Oblomov", 544)


def test_an_edit_with_a_bad_cover_keeps_the_other_inputs_and_the_old_cover(
    app: Flask, client: FlaskClient, book_id: int
) -> None:
    edit_with(client, book_id, cover=(io.BytesIO(image_bytes("JPEG")), "first.jpg"))
    before = cover_of(app, book_id)
    response = edit_with(
        client,
        book_id,
        title="Oblomov (new translation)",
        review="A sofa novel.",
        cover=(io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "cover.jpg"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="Oblomov (new translation)"' in html and "A sofa novel." in html
    assert "not a JPEG, PNG or WebP image" in html
    with app.app_context():
        book = db.session.get(Book, book_id)
        assert (book.title, book.cover) == ("Oblomov", before)


def test_removing_a_cover_keeps_the_file_another_book_shows(
    app: Flask, client: FlaskClient, book_id: int, covers: Path
) -> None:
    data = image_bytes("PNG", color="navy")
    other = int(add_with_cover(client, data, "a.png").headers["Location"].rsplit("/", 1)[1])
    edit_with(client, book_id, cover=(io.BytesIO(data), "same.png"))
    digest = cover_of(app, book_id)
    assert digest == cover_of(app, other)

    response = edit_with(client, book_id, remove_cover="y")
    assert response.status_code == 303
    assert cover_of(app, book_id) is None
    assert client.get(f"/covers/{digest}.webp").status_code == 200  # the other book's
    assert f"/covers/{digest}.webp" in client.get(f"/books/{other}").get_data(as_text=True)


# -- serving -------------------------------------------------------------------------------------


def test_covers_are_served_immutable_with_an_etag(
    app: Flask, client: FlaskClient, covers: Path
) -> None:
    book = int(add_with_cover(client, image_bytes("JPEG")).headers["Location"].rsplit("/", 1)[1])
    digest = cover_of(app, book)
    for name in (f"{digest}.webp", f"{digest}-thumb.webp"):
        response = client.get(f"/covers/{name}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/webp"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        cache = response.headers["Cache-Control"]
        assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache
        assert response.data == (covers / name).read_bytes()
        etag = response.headers["ETag"]
        again = client.get(f"/covers/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/covers/../instance/bookshelf.sqlite3",
        "/covers/..%2f..%2fetc%2fpasswd",
        "/covers/" + "A" * 64 + ".webp",
        "/covers/" + "a" * 64 + ".png",
        "/covers/" + "a" * 63 + ".webp",
        "/covers/" + "a" * 64 + ".webp",  # the right shape, but no such file
        "/covers/secret_key",
    ],
)
def test_only_hash_named_files_are_served(client: FlaskClient, covers: Path, path: str) -> None:
    covers.mkdir(parents=True, exist_ok=True)
    (covers / "secret_key").write_text("not for the web")
    response = client.get(path)
    assert response.status_code == 404
    assert b"not for the web" not in response.data


# -- the API ------------------------------------------------------------------------------------


def token_for(app: Flask, user_id: int) -> str:
    with app.app_context():
        return issue_token(db.session.get(User, user_id), "tests")[1]


def put_cover(client: FlaskClient, token: str, book_id: int, data: bytes, mimetype: str):
    return client.put(
        f"/api/v1/books/{book_id}/cover",
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": mimetype},
    )


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["detail"]
    return body


def test_api_puts_gets_and_deletes_a_cover(
    app: Flask, client: FlaskClient, owner: int, book_id: int, covers: Path
) -> None:
    token = token_for(app, owner)
    api = app.test_client()
    response = put_cover(api, token, book_id, image_bytes("JPEG"), "image/jpeg")
    assert response.status_code == 200, response.get_data(as_text=True)
    digest = cover_of(app, book_id)
    assert response.json["cover"] == {
        "url": f"/covers/{digest}.webp",
        "thumbnail_url": f"/covers/{digest}-thumb.webp",
    }
    assert response.headers["ETag"]
    assert api.get(f"/api/v1/books/{book_id}").json["cover"]["url"] == f"/covers/{digest}.webp"

    multipart = api.put(
        f"/api/v1/books/{book_id}/cover",
        data={"file": (io.BytesIO(image_bytes("PNG", color="red")), "c.png")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 200, multipart.get_data(as_text=True)
    assert cover_of(app, book_id) not in (None, digest)

    gone = api.delete(
        f"/api/v1/books/{book_id}/cover", headers={"Authorization": f"Bearer {token}"}
    )
    assert gone.status_code == 204
    assert cover_of(app, book_id) is None
    assert api.get(f"/api/v1/books/{book_id}").json["cover"] is None


@pytest.mark.parametrize(("case", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_api_refuses_bad_images_with_422(
    app: Flask, owner: int, book_id: int, covers: Path, case: str, data: bytes, message: str
) -> None:
    response = put_cover(app.test_client(), token_for(app, owner), book_id, data, "image/jpeg")
    assert message in assert_problem(response, 422)["detail"]
    assert cover_of(app, book_id) is None and stored_files(covers) == []


def test_api_errors_stay_english_for_a_russian_client(app: Flask, owner: int, book_id: int) -> None:
    api = app.test_client()
    response = api.put(
        f"/api/v1/books/{book_id}/cover",
        data=b"nope",
        headers={
            "Authorization": f"Bearer {token_for(app, owner)}",
            "Content-Type": "image/png",
            "Accept-Language": "ru",
        },
    )
    assert "not a JPEG, PNG or WebP image" in assert_problem(response, 422)["detail"]


def test_api_too_large_wrong_type_and_strangers(app: Flask, owner: int, book_id: int) -> None:
    api = app.test_client()
    token = token_for(app, owner)
    assert_problem(put_cover(api, token, book_id, oversized_jpeg(5 * MiB + 1), "image/jpeg"), 413)
    assert_problem(put_cover(api, token, book_id, b"\xff" * (6 * 1000 * 1000), "image/jpeg"), 413)
    assert_problem(put_cover(api, token, book_id, b'{"a": 1}', "application/json"), 415)
    assert_problem(put_cover(api, token, book_id, image_bytes("JPEG"), "text/plain"), 415)
    assert_problem(api.put(f"/api/v1/books/{book_id}/cover", data=image_bytes("JPEG"),
                           content_type="image/jpeg"), 401)  # fmt: skip
    stranger = token_for(app, create_account(app, "mallory"))
    assert_problem(put_cover(api, stranger, book_id, image_bytes("JPEG"), "image/jpeg"), 403)
    assert_problem(put_cover(api, token, 999_999, image_bytes("JPEG"), "image/jpeg"), 404)
    assert cover_of(app, book_id) is None


def test_the_openapi_document_describes_the_cover_endpoint(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    cover = spec["paths"]["/api/v1/books/{book_id}/cover"]
    put = cover["put"]
    assert set(put["requestBody"]["content"]) == {"application/octet-stream"}
    assert "multipart/form-data" in put["requestBody"]["description"]
    assert {"200", "401", "403", "404", "413", "415", "422"} <= set(put["responses"])
    assert {"204", "401", "403", "404"} <= set(cover["delete"]["responses"])
    assert "cover" in spec["components"]["schemas"]["Book"]["required"]


# -- files no book shows, and deploys ------------------------------------------------------------


def test_prune_removes_only_old_files_no_book_refers_to(
    app: Flask, client: FlaskClient, book_id: int, covers: Path
) -> None:
    kept = int(add_with_cover(client, image_bytes("JPEG")).headers["Location"].rsplit("/", 1)[1])
    edit_with(client, book_id, cover=(io.BytesIO(image_bytes("PNG")), "old.png"))
    old = cover_of(app, book_id)
    edit_with(client, book_id, cover=(io.BytesIO(image_bytes("WEBP", color="red")), "new.webp"))
    assert old in {p.name[:64] for p in covers.iterdir()}  # replacing deletes nothing
    week_ago = time.time() - 7 * 86400
    for path in covers.iterdir():
        os.utime(path, (week_ago, week_ago))
    (covers / f"{'b' * 64}.webp").write_bytes(b"a fresh upload not yet committed")

    result = app.test_cli_runner().invoke(args=["prune-covers"])
    assert result.exit_code == 0, result.output
    names = {p.name[:64] for p in covers.iterdir()}
    assert names == {cover_of(app, kept), cover_of(app, book_id), "b" * 64}
    assert "Removed 2 files" in result.output


def test_covers_live_in_the_shared_instance_and_survive_a_new_release(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bookshelf.covers.images import process_cover
    from bookshelf.covers.storage import CoverStore

    root = tmp_path / "srv"
    shared = root / "shared" / "instance"
    shared.mkdir(parents=True)
    first = root / "releases" / "20260101000000-aaaaaaa"
    first.mkdir(parents=True)
    (root / "current").symlink_to(first)
    monkeypatch.setenv("BOOKSHELF_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(shared))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(first)
    app = create_app({})
    assert Path(app.config["COVERS_FOLDER"]) == shared / "covers"
    with app.app_context():
        digest = CoverStore.for_app().save(process_cover(image_bytes("JPEG")))

    # The next deploy: a new release, `current` switched, the old release pruned.
    second = root / "releases" / "20260102000000-bbbbbbb"
    second.mkdir()
    (root / "current").unlink()
    (root / "current").symlink_to(second)
    for path in sorted(first.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    first.rmdir()
    monkeypatch.chdir(second)
    app = create_app({})
    served = app.test_client().get(f"/covers/{digest}.webp")
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/webp"
    assert (shared / "covers").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("mode", "fmt", "alpha"),
    [("CMYK", "JPEG", False), ("L", "JPEG", False), ("I;16", "PNG", False), ("LA", "PNG", True),
     ("P", "PNG", True), ("1", "PNG", False), ("RGBA", "WEBP", True)],
)  # fmt: skip
def test_every_colour_mode_is_re_encoded(mode: str, fmt: str, alpha: bool) -> None:
    from bookshelf.covers.images import process_cover

    out = io.BytesIO()
    Image.new(mode, (40, 60)).save(out, fmt, **({"transparency": 0} if mode == "P" else {}))
    cover = process_cover(out.getvalue())
    with Image.open(io.BytesIO(cover.page)) as page:
        assert page.format == "WEBP" and page.size == (40, 60)  # never upscaled
        assert page.mode == ("RGBA" if alpha else "RGB")


def test_optional_fields_are_not_marked_required(client: FlaskClient) -> None:
    """The review and the cover may be left empty: no `required` attribute tells assistive
    technology otherwise (it used to read required="None")."""
    html = client.get("/books/new").get_data(as_text=True)
    for name in ("review", "cover"):
        tag = re.search(rf'<(?:input|textarea)[^>]*\bname="{name}"[^>]*>', html)
        assert tag is not None and "required" not in tag.group(0), tag
    for name in ("title", "author", "pages_num"):
        tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
        assert tag is not None and re.search(r"\brequired\b", tag.group(0)), tag
