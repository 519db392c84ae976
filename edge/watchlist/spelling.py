"""Spelling keys of one name token: which spellings are the same name.

``spelling_key`` folds the old Indonesian spelling (Soewandi 1947 / EYD 1972: oe→u, dj→j, tj→c,
old j→y, sj→sy, nj→ny, ch→kh), Arabic transliteration (kh/ch/h, q/k, f/p/v, dz/z, ie/i, ae/ai,
ou/u and a short table for vowels the rules cannot fold), doubled letters and a final h.
``loose_key`` also folds Javanese a/o and e/i. ``block_key`` is the consonant skeleton used only to
find candidates. ``is_typo`` accepts one typing error away from the end of a word, where the
Indonesian gender and word-forming endings live (Susanto/Susanti, Hidayat/Hidayati).
Keys are for matching only and are never shown: the old j and the new y fold together, so
Joyo and Jojo share a key.
"""

from __future__ import annotations

import re
from functools import lru_cache

_KEY_RULES: tuple[tuple[str, str], ...] = (
    ("OE", "U"),  # old spelling: Soekarno/Sukarno
    ("DJ", "J"),  # old spelling: Djoko/Joko
    ("TJ", "C"),  # old spelling: Tjahjo/Cahyo
    ("DZ", "Z"),  # Dzulfikar/Zulfikar
    ("Y", "J"),  # old j = new y (Jusuf/Yusuf); with dj→j above both become one letter
    ("CH", "KH"),  # old spelling: Chairul/Khairul
    ("KH", "H"),  # transliteration: Akhmad/Achmad/Ahmad
    ("DH", "D"),
    ("TH", "T"),
    ("PH", "P"),
    ("F", "P"),  # Arabic f, Sundanese p: Fitri/Pitri
    ("V", "P"),
    ("Q", "K"),
    ("X", "KS"),
    ("IE", "I"),  # Dutch-era ie: Arief/Arif
    ("AE", "AI"),  # Zaenal/Zainal
    ("OU", "U"),
)
# Transliterations of Arabic names whose vowels differ more than the rules can fold.
ARABIC_VARIANTS = {
    "AHMED": "AHMAD", "AHMET": "AHMAD", "YOUSSEF": "YUSUF", "YOUSEF": "YUSUF", "YOUSIF": "YUSUF",
    "YUSOF": "YUSUF", "YUSOFF": "YUSUF", "YOUSUF": "YUSUF", "MAHMOUD": "MAHMUD", "MAHMOOD": "MAHMUD",
    "HUSSEIN": "HUSAIN", "HUSEIN": "HUSAIN", "HUSSAIN": "HUSAIN", "HOSSEIN": "HUSAIN", "HUSIN": "HUSAIN",
    "OTHMAN": "USMAN", "UTHMAN": "USMAN", "OSMAN": "USMAN", "KHALED": "KHALID", "MUSTAPHA": "MUSTAFA",
    "IBRAHEEM": "IBRAHIM", "EBRAHIM": "IBRAHIM", "ABDULLA": "ABDULLAH", "ABDALLAH": "ABDULLAH",
    "SALEH": "SALIH", "SOLEH": "SALIH", "SHOLEH": "SALIH", "SOLIH": "SALIH",
}
_CONSONANT_J_VOWEL = re.compile(r"([^AEIOU])J(?=[AEIOU])")
_DOUBLES = re.compile(r"(.)\1+")


@lru_cache(maxsize=262_144)
def spelling_key(token: str) -> str:
    """Fold spelling variants of one name token to one key (see module docstring)."""
    key = ARABIC_VARIANTS.get(token, token)
    if key.endswith("Y") and len(key) > 2:
        key = key[:-1] + "I"  # Rizky/Rizki, Rudy/Rudi
    if len(key) >= 7 and key.startswith("AL") and key[2] not in "AEIOU":
        key = key[2:]  # Alhabsyi/Al-Habsyi/Habsyi
    for old, new in _KEY_RULES:
        if old in key:
            key = key.replace(old, new)
    if key.startswith("O") and len(key) > 3:
        key = "U" + key[1:]  # Omar/Umar, Osman/Usman
    key = key.replace("IJ", "I")  # Noviyanti/Novianti, Fitriyani/Fitriani
    key = _CONSONANT_J_VOWEL.sub(r"\1I", key)  # Haryanto/Harianto, Prasetyo/Prasetio, Wahyu/Wahju
    key = _DOUBLES.sub(r"\1", key)
    if len(key) > 3 and key.endswith("H") and key[-2] in "AEIOU":
        key = key[:-1]  # Fatimah/Fatima, Abdullah/Abdulla
    return key


@lru_cache(maxsize=262_144)
def loose_key(token: str) -> str:
    """Spelling key with Javanese a/o (Santoso/Santosa, Widodo/Widada) and e/i (Khaled/Khalid) folded."""
    return spelling_key(token).replace("O", "A").replace("E", "I")


@lru_cache(maxsize=262_144)
def block_key(token: str) -> str:
    """Consonant skeleton of the spelling key: first letter kept, vowels and repeats dropped."""
    key = spelling_key(token)
    if not key:
        return key
    rest = re.sub(r"[AEIOU]", "", key[1:])
    return _DOUBLES.sub(r"\1", key[0] + rest)


def single_edit_position(a: str, b: str) -> int | None:
    """Where ``a`` and ``b`` differ by exactly one substitution, insertion, deletion or adjacent
    transposition (Damerau), else None."""
    if a == b:
        return None
    la, lb = len(a), len(b)
    if la > lb:
        a, b, la, lb = b, a, lb, la
    if lb - la > 1:
        return None
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1:] == b[i + 1:]:
            return i
        if i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]:
            return i
        return None
    return i if a[i:] == b[i + 1:] else None


def is_typo(a: str, b: str) -> bool:
    """One edit, in a word of five letters or more, not in its last two letters (an inserted letter
    not in the last one): the endings -o/-i/-a, -wan/-wati, -man/-min make different names."""
    shorter = min(len(a), len(b))
    if shorter < 5:
        return False
    pos = single_edit_position(a, b)
    if pos is None:
        return False
    if len(a) == len(b):
        return pos < shorter - 2
    return pos < shorter - 1
