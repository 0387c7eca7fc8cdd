"""A search box's text as terms, and those terms in each database's query syntax.

Only letters and digits ever reach a query string: words come from a regex and quotes only
mark phrases, so nothing a reader types can change the query's structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bookshelf.wordforms import stem, translit_key, words

MAX_TERMS = 8
MAX_TERM_LENGTH = 200
PHRASE = re.compile(r'"([^"]*)"')
# Underscores are left out: PostgreSQL's parser splits on them.
QUERY_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Term:
    """One word (matched by word form or transliteration) or a quoted phrase.

    A word that is a whole title or author word of the catalogue is `complete` and matches
    that word in all its forms; any other word may be unfinished ("tolst") and matches as a
    prefix. Matching whole words spares the index from merging every word that starts with
    one, which is most of the cost of two frequent words together.
    """

    words: tuple[str, ...]
    complete: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1

    @property
    def prefix(self) -> bool:
        return not self.is_phrase and not self.complete

    @property
    def key(self) -> str:
        """The transliteration key of a single word when it adds anything, else ""."""
        key = translit_key(self.words[0])
        return "" if self.is_phrase or key == self.words[0] else key


def query_words(text: str) -> list[str]:
    return [w.casefold() for w in QUERY_WORD.findall(text)]


def parse(text: str) -> list[Term]:
    """At most MAX_TERMS terms of TEXT: quoted phrases first, then the other words."""
    text = text[:MAX_TERM_LENGTH]
    terms = [Term(tuple(ws)) for ws in map(query_words, PHRASE.findall(text)) if ws]
    rest = PHRASE.sub(" ", text)
    terms += [Term((w,)) for w in query_words(rest)]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def postgres_query(terms: list[Term]) -> str:
    """A to_tsquery('russian', …) string: the database stems each word as it indexed it."""
    parts = []
    for term in terms:
        star = ":*" if term.prefix else ""
        if term.is_phrase:
            parts.append("(" + " <-> ".join(term.words) + ")")
        elif term.key:
            parts.append(f"({term.words[0]}{star} | {term.key}{star})")
        else:
            parts.append(f"{term.words[0]}{star}")
    return " & ".join(parts)


def sqlite_query(terms: list[Term]) -> str:
    """An FTS5 MATCH string over the stems that SQLite's index stores."""
    parts = []
    for term in terms:
        star = "*" if term.prefix else ""
        if term.is_phrase:
            parts.append('"' + " ".join(stem(w) for w in term.words) + '"')
        elif term.key:
            parts.append(f'("{stem(term.words[0])}"{star} OR "{stem(term.key)}"{star})')
        else:
            parts.append(f'"{stem(term.words[0])}"{star}')
    return " AND ".join(parts)


def display(terms: list[Term]) -> str:
    return " ".join(f'"{" ".join(t.words)}"' if t.is_phrase else t.words[0] for t in terms)


__all__ = ["Term", "display", "parse", "postgres_query", "sqlite_query", "words"]
