"""Blocking index: which entries a query should be compared with at all.

Every entry is posted under a few keys, hashed to int64 and kept as two sorted numpy arrays
(key hash, entry number), so a lookup is one ``searchsorted`` per query however large the list:

    D|<document number>            weight 1000  the document itself (SLTD, or a known passport)
    TD|<token>|<YYYY-MM-DD>        weight 3  a name token with the full birth date
    TY|<token>|<YYYY>              weight 1  a name token with the birth year
    TT|<token>|<token>             weight 2  two name tokens, any order, any birth date
    T1|<token>                     weight 1  the only informative token of an entry without a birth year
    DS|<YYYY-MM-DD>|<sex>          weight 0.5  the full birth date and sex, whatever the name

Tokens here are ``block_key`` skeletons, so spelling variants and most vowel typos share a key.
Frequent tokens (Muhammad, Siti) post no ``TY``/``TD`` keys of their own: their lists would hold
thousands of entries and say little. The father's name after bin/binti posts like the person's own
names (documents put it in either field). The birth-date key finds a listed person whose every
name is misspelt or romanised otherwise (Iwanowa/Ivanova) or who travels on the surname alone; it
holds a few dozen entries per date and sex in a million, and weighs least, so the candidate cap
drops it first. Hash collisions only add candidates, never lose one.
Python's ``hash`` of str is salted per process: an index is built and used in one process.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from edge.watchlist.names import NameParts, token_weight
from edge.watchlist.spelling import block_key

# A document hit outweighs any number of name keys, so the candidate cap never drops it.
W_DOC, W_TOKEN_DATE, W_TOKEN_PAIR, W_TOKEN_YEAR, W_SINGLE, W_DATE_SEX = 1000.0, 3.0, 2.0, 1.0, 1.0, 0.5
_WEIGHT_BY_PREFIX = {"D": W_DOC, "TD": W_TOKEN_DATE, "TT": W_TOKEN_PAIR, "TY": W_TOKEN_YEAR, "T1": W_SINGLE,
                     "DS": W_DATE_SEX}
_UNKNOWN_SEX = "-"
_DOC_JUNK = re.compile(r"[^A-Z0-9]")


def normalise_document_number(number: str) -> str:
    """Upper-case alphanumerics, MRZ filler and separators dropped, letter O read as zero
    (document numbers are keyed and OCR'd with O/0 confused)."""
    return _DOC_JUNK.sub("", number.upper()).replace("O", "0")


def _informative(name: NameParts) -> list[str]:
    tokens = [t for t in name.all_tokens if token_weight(t) == 1.0]
    return tokens or [t for t in name.all_tokens if len(t) > 1] or list(name.all_tokens)


def blocking_keys(
    documents: Iterable[str], name: NameParts, birth_date: str | None, *, for_query: bool = False,
    sex: str | None = None,
) -> Iterator[str]:
    """The keys an entry is posted under, or (``for_query``) the keys a query looks up."""
    for doc in documents:
        norm = normalise_document_number(doc)
        if norm:
            yield f"D|{norm}"
    skeletons = sorted({block_key(t) for t in name.all_tokens if t})
    informative = sorted({block_key(t) for t in (name.all_tokens if for_query else _informative(name))})
    year = birth_date[:4] if birth_date else None
    full = birth_date if birth_date and len(birth_date) == 10 else None
    for tok in informative:
        if year:
            yield f"TY|{tok}|{year}"
        if full:
            yield f"TD|{tok}|{full}"
        if for_query or not year:
            yield f"T1|{tok}"
    for a, b in combinations(skeletons, 2):
        yield f"TT|{a}|{b}"
    if full:
        if not for_query:
            yield f"DS|{full}|{sex or _UNKNOWN_SEX}"
        elif sex in ("M", "F"):
            # "X" and an unknown sex on the entry never contradict: look those up too.
            yield from (f"DS|{full}|{sex}", f"DS|{full}|X", f"DS|{full}|{_UNKNOWN_SEX}")
        else:
            yield from (f"DS|{full}|{s}" for s in ("M", "F", "X", _UNKNOWN_SEX))


def key_weight(key: str) -> float:
    return _WEIGHT_BY_PREFIX[key.split("|", 1)[0]]


@dataclass
class BlockingIndex:
    """Sorted (key hash, entry number) postings; build with ``IndexBuilder``."""

    hashes: np.ndarray  # int64, sorted
    entries: np.ndarray  # int32, entry numbers in the order of ``hashes``

    def lookup(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Entry numbers hit by ``keys`` and each hit's weight (an entry may appear repeatedly)."""
        if not keys or self.hashes.size == 0:
            return np.empty(0, np.int32), np.empty(0, np.float64)
        wanted = np.fromiter((hash(k) for k in keys), dtype=np.int64, count=len(keys))
        lo = np.searchsorted(self.hashes, wanted, side="left")
        hi = np.searchsorted(self.hashes, wanted, side="right")
        parts, weights = [], []
        for key, a, b in zip(keys, lo.tolist(), hi.tolist()):
            if b > a:
                parts.append(self.entries[a:b])
                weights.append(np.full(b - a, key_weight(key)))
        if not parts:
            return np.empty(0, np.int32), np.empty(0, np.float64)
        return np.concatenate(parts), np.concatenate(weights)


class IndexBuilder:
    """Collects postings in compact arrays (not Python lists) so a million entries fit."""

    def __init__(self) -> None:
        self._hashes = array("q")
        self._entries = array("i")

    def add(self, entry_number: int, keys: Iterable[str]) -> None:
        for key in set(keys):
            self._hashes.append(hash(key))
            self._entries.append(entry_number)

    def build(self) -> BlockingIndex:
        hashes = np.frombuffer(self._hashes, dtype=np.int64).copy()
        entries = np.frombuffer(self._entries, dtype=np.int32).copy()
        order = np.argsort(hashes, kind="stable")
        self._hashes, self._entries = array("q"), array("i")
        return BlockingIndex(hashes[order], entries[order])
