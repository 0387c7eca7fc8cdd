"""Goodreads-format export files for the import tests and the bench: the hand-written sample
and a reproducible generated library of any size."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

from stdnum import ean

from bookshelf.goodreads.csvfile import COLUMNS

SAMPLE = Path(__file__).parent / "bookshelf" / "data" / "goodreads_library_export.csv"
WORDS = (
    "river night garden winter letter house silent city storm journey война мир сад зима".split()
)
SHELVES = ("read", "read", "read", "to-read", "currently-reading")


def isbn13(number: int) -> str:
    body = f"978{number:09d}"
    return body + ean.calc_check_digit(body)


def generated_export(count: int, seed: int = 15) -> bytes:
    """`count` distinct books as Goodreads writes them, some without pages or ISBN."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    start = dt.date(2025, 1, 1)
    for number in range(1, count + 1):
        shelf = rng.choice(SHELVES)
        title = " ".join(rng.choices(WORDS, k=3)).capitalize() + f", part {number}"
        code = isbn13(number) if number % 7 else ""
        added = start + dt.timedelta(days=number % 300)
        read = added + dt.timedelta(days=10) if shelf == "read" else None
        tags = ["favorites"] if number % 3 == 0 else []
        writer.writerow(
            [
                number,
                title,
                f"Author {number % 500}",
                f"{number % 500}, Author",
                "",
                '=""',
                f'="{code}"',
                number % 6,
                "3.9",
                "Press",
                "Paperback",
                "" if number % 11 == 0 else rng.randint(50, 900),
                2000 + number % 25,
                "",
                read.strftime("%Y/%m/%d") if read else "",
                added.strftime("%Y/%m/%d"),
                ", ".join([*tags, shelf]),
                "",
                shelf,
                "",
                "",
                "",
                1 if read else 0,
                0,
            ]
        )
    return out.getvalue().encode()
