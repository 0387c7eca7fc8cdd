"""Which query words are whole title or author words of the catalogue.

The typo dictionary, `search_words`, holds exactly those words on both databases (lower-case
runs of at least three letters), so one primary-key lookup tells a finished word ("dickens")
from one that may still be a fragment ("dicke").
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import bindparam, text

from bookshelf.extensions import db
from bookshelf.search.terms import Term

KNOWN_WORDS = text("SELECT word FROM search_words WHERE word IN :words").bindparams(
    bindparam("words", expanding=True)
)


def with_complete_words(terms: list[Term]) -> list[Term]:
    """TERMS with each single word that the catalogue has as a whole word marked complete."""
    single = [t.words[0] for t in terms if not t.is_phrase]
    if not single:
        return terms
    known = set(db.session.execute(KNOWN_WORDS, {"words": single}).scalars())
    return [
        replace(t, complete=True) if t.words[0] in known and not t.is_phrase else t for t in terms
    ]
