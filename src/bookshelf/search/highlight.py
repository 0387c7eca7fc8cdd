"""Matched words marked with <mark>, the rest escaped: safe to put in a page as it is.

Done here rather than by ts_headline or FTS5's snippet(): a word matches by its stem or its
transliteration key, which neither function knows, and SQLite's index holds stems only. It
costs a few microseconds per book on the one page shown.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from bookshelf.models import Book
from bookshelf.search.terms import Term
from bookshelf.wordforms import WORD, stem, translit_key

SNIPPET_WORDS = 24
# A word of escaped text, never one inside the entity that an escaped character became:
# "&amp;", "&lt;", "&gt;", "&#34;", "&#39;" (what markupsafe writes). In escaped text every
# "&" starts such an entity, so a word right after "&" or "&#" is part of one.
ESCAPED_WORD = re.compile(r"\b(?<!&)(?<!&#)\w+")


class Matcher:
    """Does a word of a book match one of the query's words (as the index matched it)?

    Whole words match by stem or key, unfinished ones as prefixes of them (terms.Term). The
    answer per word is kept: a page of results repeats the same words many times.
    """

    def __init__(self, terms: list[Term]) -> None:
        whole = [w for t in terms if not t.prefix for w in t.words]
        started = [t.words[0] for t in terms if t.prefix]
        self.stems = frozenset(stem(w) for w in whole)
        self.keys = frozenset(stem(k) for k in map(translit_key, whole) if k)
        self.stem_prefixes = tuple(stem(w) for w in started)
        self.key_prefixes = tuple(k for k in map(translit_key, started) if k)
        self.seen: dict[str, bool] = {}

    def __call__(self, word: str) -> bool:
        found = self.seen.get(word)
        if found is None:
            found = self.seen[word] = self.matches(word.casefold())
        return found

    def mark(self, found: re.Match[str]) -> str:
        """A word of escaped text, in <mark> when it matches."""
        word = found.group()
        hit = self.seen.get(word)
        if hit is None:
            hit = self.seen[word] = self.matches(word.casefold())
        return f"<mark>{word}</mark>" if hit else word

    def matches(self, word: str) -> bool:
        stemmed = stem(word)
        if stemmed in self.stems or stemmed.startswith(self.stem_prefixes):
            return True
        key = translit_key(word)
        return bool(key) and (stem(key) in self.keys or key.startswith(self.key_prefixes))


def marked(text: str, matches: Matcher) -> Markup:
    # Escaping changes only & < > " and ', none of which is a word character, so the text is
    # escaped whole and its words are then the same words: the matched ones get their <mark>
    # in one pass, with a call per word and none per gap between words.
    return Markup(ESCAPED_WORD.sub(matches.mark, escape(text)))  # noqa: S704  (escaped first)


def snippet(text: str | None, matches: Matcher, size: int = SNIPPET_WORDS) -> Markup | None:
    """About SIZE words of TEXT around its first match, marked; None when nothing matches."""
    if not text:
        return None
    spans = list(WORD.finditer(text))
    first = next((i for i, m in enumerate(spans) if matches(m.group())), None)
    if first is None:
        return None
    start = max(first - size // 3, 0)
    end = min(start + size, len(spans))
    begin = spans[start].start() if start else 0
    finish = spans[end - 1].end() if end < len(spans) else len(text)
    body = marked(text[begin:finish], matches)
    # Joined as plain strings: the ellipses need no escaping, the body is escaped already.
    before, after = "… " if begin else "", " …" if end < len(spans) else ""
    return Markup(before + str(body) + after)  # noqa: S704


def book_highlight(book: Book, matches: Matcher) -> dict[str, Markup | None]:
    """Title and author with their matches marked, and a marked review snippet (or None)."""
    return {
        "title": marked(book.title, matches),
        "author": marked(book.author, matches),
        "review": snippet(book.review, matches),
    }
