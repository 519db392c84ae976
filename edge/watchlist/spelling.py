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
    if len(key) >= 7 and key.startswith("AL"):
        key = key[2:]  # Alhabsyi/Al-Habsyi/Habsyi, Alotaibi/Al-Otaibi/Otaibi
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


# Romanisations of one sound (Cyrillic by ICAO, BGN, German and French rules; pinyin against
# Wade-Giles; Korean and Japanese systems; Arabic): digraphs first, then letter classes.
_SOUND_DIGRAPHS: tuple[tuple[str, str], ...] = (
    ("SCHTSCH", "S"), ("SHCH", "S"), ("CHTCH", "S"), ("TSCH", "C"), ("TCH", "C"), ("SCH", "S"),
    ("ZH", "J"), ("KH", "H"), ("GH", "G"), ("PH", "F"), ("TH", "T"), ("DH", "D"), ("SH", "S"),
    ("SJ", "S"), ("SY", "S"), ("CH", "C"), ("TS", "C"), ("TZ", "C"), ("DJ", "J"), ("TJ", "C"),
    ("DZ", "Z"), ("QI", "CI"), ("HS", "S"), ("CK", "K"), ("X", "S"),
)
# Voiced and voiceless pairs, sibilants and affricates, w/v/f/b/p each one class; vowels and y one.
_SOUND_CLASSES = str.maketrans("BFVWGQDZJCYEIOU", "PPPPKKTSSSAAAAA")


@lru_cache(maxsize=262_144)
def sound_key(token: str) -> str:
    """A coarse key for names written under different romanisations (Ivanova/Iwanowa, Zhao/Chao,
    Jung/Chung, Kobayashi/Kobayasi): the first sound's class, then the consonant classes. Far too
    coarse to match on alone; the screening uses it only with the full birth date agreeing."""
    key = token
    for old, new in _SOUND_DIGRAPHS:
        if old in key:
            key = key.replace(old, new)
    key = key.translate(_SOUND_CLASSES)
    if not key:
        return key
    rest = key[1:].replace("A", "").replace("H", "")
    return _DOUBLES.sub(r"\1", key[0] + rest)


# German and Dutch romanisations write Cyrillic х as CH and й as J (Michajlow/Mikhailov, Jurij/Yuri).
_GERMANIC_DIGRAPHS: tuple[tuple[str, str], ...] = (("SCHTSCH", "SHCH"), ("TSCH", "CH"), ("SCH", "SH"), ("CH", "KH"), ("J", "Y"))


@lru_cache(maxsize=262_144)
def germanic_sound_key(token: str) -> str:
    """``sound_key`` of the token read as a German/Dutch romanisation (CH as in Bach, J as Y)."""
    key = token
    for old, new in _GERMANIC_DIGRAPHS:
        if old in key:
            key = key.replace(old, new)
    return sound_key(key)


# Kunrei-shiki (Japan's official system, on older documents) against Hepburn: Zyuniti/Junichi.
_KUNREI: tuple[tuple[str, str], ...] = (("ZY", "J"), ("SY", "SH"), ("TY", "CH"), ("TI", "CHI"), ("SI", "SHI"),
                                        ("TU", "TSU"), ("ZI", "JI"), ("HU", "FU"))


@lru_cache(maxsize=262_144)
def kunrei_sound_key(token: str) -> str:
    """``sound_key`` of the token read as Kunrei-shiki romanised Japanese, rewritten to Hepburn."""
    key = token
    for old, new in _KUNREI:
        if old in key:
            key = key.replace(old, new)
    return sound_key(key)


def sounds_alike(a: str, b: str) -> bool:
    """One sound under the usual, the German/Dutch or the Kunrei-shiki reading of either name."""
    keys_a = {sound_key(a), germanic_sound_key(a), kunrei_sound_key(a)}
    return any(k in keys_a for k in (sound_key(b), germanic_sound_key(b), kunrei_sound_key(b)))


# The most frequent Chinese and Korean surnames as passports write them: pinyin, Wade-Giles
# (Taiwan), Cantonese (Hong Kong), Hokkien/Teochew/Hakka (Indonesia, Malaysia, Singapore), and the
# Korean systems. Reference data, as officers know it: "TAN" on an Indonesian passport and "CHEN"
# on a Chinese one may be one person.
SURNAME_GROUPS: tuple[tuple[str, ...], ...] = (
    ("CHEN", "CHAN", "TAN", "TAN", "CHIN", "TJAN", "TJHIN"), ("WANG", "WONG", "ONG", "HONG", "HENG"),
    ("LIN", "LAM", "LIM", "LIEM", "LING"), ("HUANG", "HWANG", "WONG", "NG", "OEI", "WEE", "OOI"),
    ("ZHANG", "CHANG", "CHEUNG", "TEO", "TEOH", "TIO", "CHONG"), ("LI", "LEE", "LEI", "LIE", "LY"),
    ("WU", "NG", "GOH", "GO", "OUW", "WOO", "ONG"), ("ZHOU", "CHOU", "CHOW", "CHEW", "CHIU"),
    ("XU", "HSU", "HUI", "KHOR", "KOH", "CHUI"), ("CAI", "TSAI", "CHOI", "CHUA", "CHUAH", "TJOA"),
    ("GUO", "KUO", "KWOK", "KUEH", "KOH", "QUEK"), ("HU", "WOO", "OOI", "FOO", "HOO"),
    ("HE", "HO", "HOH", "HOR", "HOO"), ("LUO", "LO", "LOH", "LAW", "LOW"),
    ("YANG", "YEUNG", "YEO", "YONG", "IEONG"), ("LIU", "LAU", "LAO", "LOW", "LIEW"),
    ("ZHENG", "CHENG", "TAY", "TEH", "CHEANG"), ("XIE", "HSIEH", "TSE", "CHIA", "SEAH"),
    ("SUN", "SUEN", "SOON", "SNG"), ("GAO", "KAO", "KOU", "KOH", "KO"), ("MA", "MAH", "MAR", "BE"),
    ("ZHU", "CHU", "CHOO", "CHEE"), ("ZHAO", "CHAO", "CHIU", "TEO"), ("DENG", "TENG", "TANG", "THENG"),
    ("JIANG", "CHIANG", "KONG", "KANG", "KIANG"), ("LIANG", "LEUNG", "NEO", "LEONG"),
    ("SONG", "SUNG", "SOONG"), ("ZENG", "TSENG", "TSANG", "CHAN"), ("PENG", "PANG", "PHANG"),
    ("LEE", "YI", "RHEE", "RI", "YEE"), ("PARK", "PAK", "BAK", "BAHK"), ("CHOI", "CHOE", "CHOY"),
    ("JUNG", "JEONG", "CHUNG", "CHEONG"), ("KANG", "GANG"), ("CHO", "JO", "CHOH"), ("YOON", "YUN", "YOUN"),
    ("JANG", "CHANG"), ("LIM", "IM", "YIM"), ("SHIN", "SIN", "SHEEN"), ("OH", "O"), ("SEO", "SUH", "SO"),
    ("KWON", "GWON", "KWUN"), ("KIM", "GIM"), ("HAN", "HAHN"),
)
_SURNAME_GROUP_OF: dict[str, frozenset[int]] = {}
for _n, _group in enumerate(SURNAME_GROUPS):
    for _name in _group:
        _SURNAME_GROUP_OF[_name] = _SURNAME_GROUP_OF.get(_name, frozenset()) | {_n}


def same_surname_group(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are spellings of one Chinese or Korean surname (SURNAME_GROUPS)."""
    ga, gb = _SURNAME_GROUP_OF.get(a), _SURNAME_GROUP_OF.get(b)
    return bool(ga and gb and ga & gb)


def is_truncation(short: str, long: str, min_length: int) -> bool:
    """``short`` is ``long`` cut after at least ``min_length`` letters, as the MRZ cuts the last
    given name of a name longer than its field (ICAO 9303 part 3, truncation of names)."""
    return min_length <= len(short) < len(long) and long.startswith(short)
