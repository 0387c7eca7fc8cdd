"""The Goodreads library export: its columns, and reading one file into checked rows.

No database here. A file that is not a Goodreads export at all raises GoodreadsFileError;
a row that cannot become a book is kept with the reason it will be skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from flask_babel import lazy_gettext as _l

from bookshelf.models import AUTHOR_MAX, PAGES_MAX, TAG_MAX, TAGS_PER_BOOK_MAX, TITLE_MAX

# The header Goodreads writes, in its order; the export writes the same one.
COLUMNS = (
    "Book Id",
    "Title",
    "Author",
    "Author l-f",
    "Additional Authors",
    "ISBN",
    "ISBN13",
    "My Rating",
    "Average Rating",
    "Publisher",
    "Binding",
    "Number of Pages",
    "Year Published",
    "Original Publication Year",
    "Date Read",
    "Date Added",
    "Bookshelves",
    "Bookshelves with positions",
    "Exclusive Shelf",
    "My Review",
    "Spoiler",
    "Private Notes",
    "Read Count",
    "Owned Copies",
)
REQUIRED_COLUMNS = ("Title", "Author", "Exclusive Shelf")
# Goodreads' exclusive shelves and ours.
SHELF_FROM_GOODREADS = {"to-read": "want", "currently-reading": "reading", "read": "read"}
SHELF_TO_GOODREADS = {ours: theirs for theirs, ours in SHELF_FROM_GOODREADS.items()}
DATE_FORMAT = "%Y/%m/%d"
MAX_FILE_BYTES = 20 * 1024 * 1024


class GoodreadsFileError(ValueError):
    """The file as a whole cannot be imported; nothing is written."""


@dataclass(frozen=True)
class GoodreadsRow:
    line: int  # the CSV record's number, counting the header as 1
    title: str
    author: str
    isbn: str | None  # 13 digits
    pages: int | None
    year: int | None
    shelf: str | None  # ours: want / reading / read
    tags: tuple[str, ...]
    stars: int | None
    review: str | None
    finished_on: dt.date | None
    added_on: dt.date | None
    skip_reason: str | None = None

    @cached_property  # looked up several times per row while matching
    def match_key(self) -> tuple[str, str]:
        return book_key(self.title, self.author)


def book_key(title: str, author: str) -> tuple[str, str]:
    """Title and author as compared when matching: NFKC, case folded, spaces collapsed."""

    def fold(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    return fold(title), fold(author)


def decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise GoodreadsFileError(
            str(_l("The file is larger than %(num)d MB.", num=MAX_FILE_BYTES // (1024 * 1024)))
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise GoodreadsFileError(
            str(_l("The file is not UTF-8 text (byte %(num)d).", num=error.start + 1))
        ) from error


def read_rows(data: bytes) -> list[GoodreadsRow]:
    """Every row of an export, checked; raises GoodreadsFileError for a file that is not one."""
    text = decode(data)
    if "\x00" in text:
        raise GoodreadsFileError(str(_l("This is not a CSV file.")))
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise GoodreadsFileError(
                str(
                    _l(
                        "This is not a Goodreads export: the columns %(names)s are missing.",
                        names=", ".join(missing),
                    )
                )
            )
        return [parse_record(record, reader.line_num) for record in reader]
    except csv.Error as error:
        raise GoodreadsFileError(
            str(_l("The CSV file is broken near line %(num)d.", num=reader.line_num))
        ) from error


def iter_chunks(rows: list[GoodreadsRow], size: int) -> Iterator[list[GoodreadsRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def cell(record: dict[str, str | None], name: str) -> str:
    value = record.get(name) or ""
    return value.strip()


def unquote(value: str) -> str:
    """Goodreads writes ISBNs as ="0140449132" so that spreadsheets keep the leading zeros."""
    if value.startswith('="') and value.endswith('"'):
        return value[2:-1].strip()
    return value


def parse_isbn(record: dict[str, str | None]) -> str | None:
    from stdnum import isbn as stdnum_isbn  # only an import needs it (see bookshelf.isbn)

    for name in ("ISBN13", "ISBN"):
        value = unquote(cell(record, name))
        if value and stdnum_isbn.is_valid(value):
            return stdnum_isbn.compact(stdnum_isbn.to_isbn13(value))
    return None


def parse_int(value: str, low: int, high: int) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if low <= number <= high else None


def parse_date(value: str) -> dt.date | None:
    for layout in (DATE_FORMAT, "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, layout).date()
        except ValueError:
            continue
    return None


def parse_tags(value: str, exclusive: str) -> tuple[str, ...]:
    """The named shelves: Bookshelves without the exclusive ones, one of each, as allowed."""
    names: dict[str, str] = {}
    for raw in value.split(","):
        name = " ".join(raw.split())
        if not name or name in SHELF_FROM_GOODREADS or name == exclusive:
            continue
        if len(name) <= TAG_MAX and all(ord(char) >= 32 for char in name):
            names.setdefault(unicodedata.normalize("NFKC", name).casefold(), name)
    return tuple(names.values())[:TAGS_PER_BOOK_MAX]


def skip_reason(title: str, author: str, exclusive: str) -> str | None:
    if exclusive not in SHELF_FROM_GOODREADS:
        return str(_l("shelf “%(name)s” is not to-read, currently-reading or read", name=exclusive))
    if not title:
        return str(_l("no title"))
    if not author:
        return str(_l("no author"))
    if len(title) > TITLE_MAX:
        return str(_l("title longer than %(num)d characters", num=TITLE_MAX))
    if len(author) > AUTHOR_MAX:
        return str(_l("author longer than %(num)d characters", num=AUTHOR_MAX))
    return None


def parse_record(record: dict[str, str | None], line: int) -> GoodreadsRow:
    title = " ".join(cell(record, "Title").split())
    author = " ".join(cell(record, "Author").split())
    exclusive = cell(record, "Exclusive Shelf")
    shelf = SHELF_FROM_GOODREADS.get(exclusive)
    year = parse_int(cell(record, "Year Published"), -3000, 3000)
    if year is None:
        year = parse_int(cell(record, "Original Publication Year"), -3000, 3000)
    return GoodreadsRow(
        line=line,
        title=title,
        author=author,
        isbn=parse_isbn(record),
        pages=parse_int(cell(record, "Number of Pages"), 1, PAGES_MAX),
        year=year,
        shelf=shelf,
        tags=parse_tags(cell(record, "Bookshelves"), exclusive) if shelf else (),
        stars=parse_int(cell(record, "My Rating"), 1, 5),
        review=cell(record, "My Review") or None,
        finished_on=parse_date(cell(record, "Date Read")) if shelf == "read" else None,
        added_on=parse_date(cell(record, "Date Added")),
        skip_reason=skip_reason(title, author, exclusive),
    )
