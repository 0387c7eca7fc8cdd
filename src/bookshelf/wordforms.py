"""Words, word forms and transliteration keys, the same for indexing and for queries.

A module of its own, outside the search package: models fills Book.search_keys with it, and
the search package imports models, so living inside search would make the two import each other.

Word forms: the Snowball stemmers (PyStemmer), Russian for words with Cyrillic letters and
English for the rest, which is also how PostgreSQL's `russian` configuration splits them.

Transliteration: every title and author word gets a *key*, a folded Latin spelling, and so
does every query word; a query word matches a book when their keys agree. Cyrillic is first
spelled in Latin letters by Unidecode ("Толстой" -> "tolstoi"), then the key folds the
spellings that English, French, German and scholarly transliterations disagree on:

    tch -> ch      Tchekhov = Chekhov
    kh -> h        Chekhov = Chehov
    j, y -> i      Tolstoj = Tolstoy = Tolstoi
    x -> ks        Aleksandr = Alexandr
    w -> v         Tschaikowsky = Chaikovsky
    vowel + ie     Dostoyevsky = Dostoevsky (BGN's "ye" after a vowel)
    doubled letters collapse (Dostoevskii = Dostoevski, Anna = Ana)

A few names are not transliterations but customs; KEY_VARIANTS lists them, and only them.
Folding is lossy on purpose: two different words may share a key, which costs an occasional
extra match, never a missed one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import Stemmer
from unidecode import unidecode

WORD = re.compile(r"\w+", re.UNICODE)
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
NOT_LETTER = re.compile(r"[^a-z]+")
VOWEL_IE = re.compile(r"(?<=[aeiou])ie")
DOUBLED = re.compile(r"(.)\1+")
FOLDS = (("tch", "ch"), ("kh", "h"), ("j", "i"), ("y", "i"), ("x", "ks"), ("w", "v"))

# Names whose English form is not a transliteration of the Russian one (keys on both sides).
KEY_VARIANTS = {
    "lev": "leo",  # Лев Толстой is Leo Tolstoy in English
    "fedor": "fiodor",  # Федор, the common spelling of Фёдор without the dots
}

ENGLISH = Stemmer.Stemmer("english")
RUSSIAN = Stemmer.Stemmer("russian")


def words(text: str) -> list[str]:
    """Lower-case words (letters and digits) of TEXT."""
    return [w.casefold() for w in WORD.findall(text)]


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball stem of one lower-case word, Russian or English by its letters."""
    if CYRILLIC.search(word):
        return RUSSIAN.stemWord(word.replace("ё", "е"))
    return ENGLISH.stemWord(word)


def stemmed(text: str | None) -> str:
    """TEXT as space-separated stems: what SQLite's full-text index stores."""
    return " ".join(stem(w) for w in words(text or ""))


@lru_cache(maxsize=65_536)
def translit_key(word: str) -> str:
    """The folded Latin key of one word ("" when it has no letters)."""
    key = NOT_LETTER.sub("", unidecode(word).lower())
    for old, new in FOLDS:
        key = key.replace(old, new)
    key = DOUBLED.sub(r"\1", VOWEL_IE.sub("e", key))
    return KEY_VARIANTS.get(key, key)


def keys_for(title: str | None, author: str | None) -> str | None:
    """The keys of title and author words that differ from the word itself, space-separated.

    Identical ones are left out: the stemmed title and author already hold those words.
    """
    return keys_of(words(f"{title or ''} {author or ''}"))


def keys_of(lower_words: Iterable[str]) -> str | None:
    """keys_for() of words already split and lower-cased."""
    seen: dict[str, None] = {}
    for word in lower_words:
        if word.isdigit():
            continue  # no letters, no key (and no cache entry per number)
        key = translit_key(word)
        if key and key != word:
            seen[key] = None
    return " ".join(seen) or None


LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
SUGGESTION_MIN = 3


def suggestion_words(text: str) -> list[str]:
    """Distinct lower-case runs of at least three letters: the typo dictionary's entries."""
    return list(
        dict.fromkeys(w.casefold() for w in LETTERS.findall(text) if len(w) >= SUGGESTION_MIN)
    )
