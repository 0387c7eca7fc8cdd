"""Matched words marked with <mark>, the rest escaped: safe to put in a page as it is.

Done here rather than by ts_headline or FTS5's snippet(): a word matches by its stem or its
transliteration key, which neither function knows, and SQLite's index holds stems only. It
costs a few microseconds per book on the one page shown.
"""

from __future__ import annotations

import re
from itertools import compress, count
from operator import ne

from markupsafe import Markup, escape

from bookshelf.models import Book
from bookshelf.search.terms import Term
from bookshelf.wordforms import stem, translit_key

SNIPPET_WORDS = 24
# The words of escaped text, captured so that splitting on them keeps them: never one inside
# the entity an escaped character became ("&amp;", "&lt;", "&gt;", "&#34;", "&#39;", what
# markupsafe writes). In escaped text every "&" starts such an entity, so a word right after
# "&" or "&#" is part of one.
ESCAPED_WORDS = re.compile(r"\b(?<!&)(?<!&#)(\w+)")


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
        # Each word as a page shows it: itself, or itself in <mark> when it matches.
        self.shown: dict[str, str] = {}

    def __call__(self, word: str) -> bool:
        return self.show([word])[0] != word

    def show(self, words: list[str]) -> list[str]:
        """WORDS as the page shows them. Only words not met before cost a Python call; the
        rest are looked up in C, which matters at a few hundred words a page."""
        shown = self.shown
        for word in set(words).difference(shown):
            shown[word] = f"<mark>{word}</mark>" if self.matches(word.casefold()) else word
        return list(map(shown.__getitem__, words))

    def matches(self, word: str) -> bool:
        stemmed = stem(word)
        if stemmed in self.stems or stemmed.startswith(self.stem_prefixes):
            return True
        key = translit_key(word)
        return bool(key) and (stem(key) in self.keys or key.startswith(self.key_prefixes))


def marked(text: str, matches: Matcher) -> Markup:
    # Escaping changes only & < > " and ', none of which is a word character, so the text is
    # escaped whole and its words are still the same words: split on them (the words land at
    # the odd places), each shown as the Matcher says, joined once.
    pieces = ESCAPED_WORDS.split(str(escape(text)))
    pieces[1::2] = matches.show(pieces[1::2])
    return Markup("".join(pieces))  # noqa: S704  (escaped first)


def snippet(text: str | None, matches: Matcher, size: int = SNIPPET_WORDS) -> Markup | None:
    """About SIZE words of TEXT around its first match, marked; None when nothing matches."""
    if not text:
        return None
    # One pass over the escaped text, as in marked(): its words are the text's words, and
    # the escaped pieces from a word to a word (or an end) are the escaped text between them.
    pieces = ESCAPED_WORDS.split(str(escape(text)))
    words = pieces[1::2]
    shown = matches.show(words)
    first = next(compress(count(), map(ne, shown, words)), None)
    if first is None:
        return None
    start = max(first - size // 3, 0)
    end = min(start + size, len(words))
    pieces[1::2] = shown
    # From the first word shown (or the text's start) to the last one (or the text's end).
    body = "".join(pieces[2 * start + 1 if start else 0 : 2 * end if end < len(words) else None])
    before, after = "… " if start else "", " …" if end < len(words) else ""
    return Markup(before + body + after)  # noqa: S704  (escaped first)


def book_highlight(book: Book, matches: Matcher) -> dict[str, Markup | None]:
    """Title and author with their matches marked, and a marked review snippet (or None)."""
    return {
        "title": marked(book.title, matches),
        "author": marked(book.author, matches),
        "review": snippet(book.review, matches),
    }
