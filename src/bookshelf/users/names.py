"""Usernames that cannot pass for someone else's: NFKC + case folding, and look-alike checks.

The look-alike test compares skeletons in the spirit of Unicode's confusables (UTS #39): each
character is replaced by one representative of the set of characters that look like it. The
sets come from Unicode's confusables data as shipped by the `confusable_homoglyphs` package;
marks are dropped first, so "ALİCE" (dotted capital I) and "alice" share a skeleton too.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from importlib.resources import files

_DIRECTION_MARKS = "\u200e\u200f"


@cache
def _representatives() -> dict[str, str]:
    """Character -> the smallest character it can be confused with, through any chain."""
    data = json.loads(files("confusable_homoglyphs").joinpath("confusables.json").read_text())
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        parent.setdefault(char, char)
        while parent[char] != char:
            parent[char] = parent[parent[char]]
            char = parent[char]
        return char

    for char, homoglyphs in data.items():
        for homoglyph in homoglyphs:
            other = homoglyph["c"].strip(_DIRECTION_MARKS)
            # Single characters only: "rn" for "m" would make every pair of letters suspect.
            if len(char) == 1 and len(other) == 1:
                first, second = sorted((root(char), root(other)))
                parent[second] = first
    return {char: root(char) for char in parent}


def _map(text: str) -> str:
    table = _representatives()
    return "".join(table.get(char, char) for char in text)


def skeleton(username: str) -> str:
    """The name as it looks: equal skeletons mean a reader could take one name for the other."""
    folded = unicodedata.normalize("NFKC", username.strip()).casefold()
    bare = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    # Twice, with case folding between: the data maps some letters to capitals ("0" -> "O").
    return _map(_map(bare).casefold())
