"""The labelled screening set: a watchlist, and travellers who are, or are not, a listed person.

    .venv/bin/python -m bench.watchlist.screening_set --summary        # counts by kind, examples
    .venv/bin/python -m bench.watchlist.screening_set --write DIR      # entries.csv + cases.jsonl

Seeded and deterministic. ``build()`` draws ``listed`` people from Indonesian and foreign name
distributions (name_pools.py) and lists them as officers would (pencegahan for citizens,
penangkalan for foreigners, Interpol notices), then writes labelled queries, each tied to one
listed person (its *subject*, the unit of the evaluation's folds):

Found (the listed entry must come back, ``similar`` or ``identical``):

- ``typo_surname``: one wrong (keyboard neighbour or OCR confusion), missing, doubled or swapped
  letter anywhere in the surname, the last letters included; given names, birth date and sex kept;
- ``surname_only``: a passport that carries only the listed person's surname (a mononym passport),
  same birth date and sex;
- ``shortened``: middle names dropped, given names as initials, Muhammad as M., or the last given
  name cut short as the MRZ truncates a long name;
- ``title_degree``: H., HJ., DR., PROF. DR., KH. before the name, S.H., M.M. after it, with the
  dots and comma as printed or without them as in the MRZ, on the document or on the list;
- ``transliteration``: another romanisation of the same name (Arabic, Cyrillic by ICAO/BGN/German/
  French rules, Chinese pinyin against Wade-Giles and Cantonese/Hokkien, Korean, Japanese
  Hepburn/Kunrei, German umlauts, Vietnamese diacritics, Indian and Western spellings);
- ``date_swap``: day and month of the birth date swapped, the name as listed or respelt;
- ``respelt_reordered``: old Indonesian spelling or a variant spelling, with the tokens reordered
  or the surname and given-name fields swapped.

Never ``identical`` (may be ``similar``, counted as officer workload):

- ``sibling``: the same family name or father's name (bin/binti, Arabic father's name, Batak marga,
  Chinese surname) with another given name and birth date; a share are twins (same birth date);
- ``namesake``: the same name, spelt as listed, with another birth date.

Clear (``none``): ``unrelated`` travellers drawn from the same population.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.watchlist import name_pools as P
from edge.watchlist.model import ScreeningQuery, WatchlistEntry

TODAY = date(2026, 1, 1)
FOUND_KINDS = ("typo_surname", "surname_only", "shortened", "title_degree", "transliteration", "date_swap",
               "respelt_reordered")
NOT_IDENTICAL_KINDS = ("sibling", "namesake")
CLEAR_KIND = "unrelated"
KINDS = FOUND_KINDS + NOT_IDENTICAL_KINDS + (CLEAR_KIND,)

# Where listed people and travellers come from (shares of the population drawn).
ORIGINS: dict[str, float] = {
    "java": 0.40, "batak": 0.07, "bali": 0.03, "bin": 0.06, "chinese_id": 0.04, "malaysia": 0.04,
    "arab": 0.05, "chinese": 0.06, "korean": 0.02, "japanese": 0.02, "cyrillic": 0.04, "german": 0.02,
    "western": 0.05, "indian": 0.03, "nigerian": 0.02, "vietnamese": 0.03, "filipino": 0.02,
}
NATIONALITY = {
    "java": ("IDN",), "batak": ("IDN",), "bali": ("IDN",), "bin": ("IDN", "IDN", "MYS"), "chinese_id": ("IDN",),
    "malaysia": ("MYS",), "arab": ("SAU", "EGY", "YEM", "ARE", "JOR"), "chinese": ("CHN", "CHN", "TWN", "SGP"),
    "korean": ("KOR",), "japanese": ("JPN",), "cyrillic": ("RUS", "RUS", "UKR", "KAZ"), "german": ("D", "AUT"),
    "western": ("GBR", "USA", "AUS"), "indian": ("IND",), "nigerian": ("NGA",), "vietnamese": ("VNM",),
    "filipino": ("PHL",),
}
INDONESIAN = frozenset({"java", "batak", "bali", "bin", "chinese_id"})


def _zipf(rng: random.Random, pool: Sequence[str], s: float = 0.9) -> str:
    weights = _ZIPF_CACHE.get((len(pool), s))
    if weights is None:
        weights = _ZIPF_CACHE[(len(pool), s)] = [1.0 / (i + 2) ** s for i in range(len(pool))]
    return rng.choices(pool, weights)[0]


_ZIPF_CACHE: dict[tuple[int, float], list[float]] = {}


@dataclass(frozen=True)
class Person:
    """A person's name in canonical spelling (Cyrillic for Cyrillic origins), and who they are."""

    given: tuple[str, ...]
    surname: tuple[str, ...]  # empty for a mononym (then ``given`` holds the one name)
    patronymic: tuple[str, ...]  # the father's name after bin/binti
    sex: str
    birth: date
    nationality: str
    origin: str

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.given + self.surname + self.patronymic


@dataclass(frozen=True)
class Case:
    """One labelled query: ``kind``, a finer ``subkind``, the listed person it belongs to."""

    kind: str
    subkind: str
    subject: str  # the listed person's entry id (``U...`` for an unrelated traveller)
    query: ScreeningQuery
    expected: str | None  # the entry that must be found (found kinds), else None

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "subkind": self.subkind, "subject": self.subject,
                "expected": self.expected, "query": self.query.model_dump()}


@dataclass(frozen=True)
class ScreeningSet:
    entries: list[WatchlistEntry]
    cases: list[Case]
    people: dict[str, Person]  # entry id -> the listed person

    def counts(self) -> Counter[str]:
        return Counter(c.kind for c in self.cases)


# -- people ---------------------------------------------------------------------------------------

def birth_date(rng: random.Random) -> date:
    """Birth dates of adult travellers; 1 January and 31 December stand for an unknown day, as on
    many Indonesian documents issued from a registry that had none."""
    year = int(rng.triangular(1942, 2007, 1985))
    r = rng.random()
    if r < 0.03:
        return date(year, 1, 1)
    if r < 0.04:
        return date(year, 12, 31)
    month = rng.randint(1, 12)
    return date(year, month, rng.randint(1, 28 if month == 2 else 30))


def _syllable_name(rng: random.Random, sex: str) -> str:
    parts = [rng.choice(P.SYL_HEAD)]
    if rng.random() < 0.4:
        parts.append(rng.choice(P.SYL_MID))
    parts.append(rng.choice(P.SYL_MALE_END if sex == "M" else P.SYL_FEMALE_END))
    return "".join(parts)


def _distinct(rng: random.Random, draw, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    out: list[str] = []
    for _ in range(20 * n):
        if len(out) == n:
            break
        t = draw()
        if t not in out:
            out.append(t)
    return out


def _java_given(rng: random.Random, sex: str) -> str:
    r = rng.random()
    if r < 0.6:
        return _zipf(rng, P.MALE_GIVEN if sex == "M" else P.FEMALE_GIVEN)
    if r < 0.8:
        return _zipf(rng, P.MALE_LAST if sex == "M" else P.FEMALE_LAST, 0.6)
    return _syllable_name(rng, sex)


def _java_last(rng: random.Random, sex: str) -> str:
    r = rng.random()
    if r < 0.55:
        return _zipf(rng, P.MALE_LAST if sex == "M" else P.FEMALE_LAST, 0.6)
    if r < 0.75:
        return _zipf(rng, P.MALE_GIVEN if sex == "M" else P.FEMALE_GIVEN)
    return _syllable_name(rng, sex)


def draw_person(rng: random.Random, origin: str | None = None, sex: str | None = None,
                family: Person | None = None) -> Person:
    """A person of ``origin``; with ``family``, a sibling: the family's shared names kept."""
    origin = origin or rng.choices(list(ORIGINS), list(ORIGINS.values()))[0]
    sex = sex or rng.choice("MF")
    nat = family.nationality if family else rng.choice(NATIONALITY[origin])
    given: list[str]
    surname: tuple[str, ...] = ()
    patronymic: tuple[str, ...] = ()
    if origin == "java":
        n = rng.choices((1, 2, 3, 4, 5), (0.12, 0.48, 0.33, 0.05, 0.02))[0]
        if family is not None:
            n = max(n, 2)
        # Single names are Javanese personal names (Suparman, Sumiati), rarely a frequent prefix name.
        given = _distinct(rng, lambda: _java_given(rng, sex), n - 1) if n > 1 else [_java_last(rng, sex)]
        if n > 1:
            # A family passes the father's name on as every child's last name.
            surname = family.surname if family and family.surname else (_java_last(rng, sex),)
            given = [g for g in given if g not in surname] or [_syllable_name(rng, sex)]
    elif origin == "batak":
        christian = P.WESTERN_GIVEN_M + ["YOHANES", "PAULUS", "PETRUS", "DANIEL", "SAMUEL"] if sex == "M" else \
            P.WESTERN_GIVEN_F + ["MARIA", "RUTH", "ESTER", "MONIKA", "CHRISTINA", "AGNES"]
        given = _distinct(rng, lambda: rng.choice(christian) if rng.random() < 0.6 else _java_given(rng, sex),
                          rng.choice((1, 1, 2)))
        surname = family.surname if family else (_zipf(rng, P.FAMILY_NAMES_ID, 0.5),)
    elif origin == "bali":
        order = rng.choice(P.BALI_ORDER)
        own = rng.choice(P.BALI_MALE if sex == "M" else P.BALI_FEMALE)
        given = ["I" if sex == "M" else "NI", order] + (["AYU"] if sex == "F" and rng.random() < 0.4 else [])
        surname = (own,)
    elif origin in ("bin", "malaysia") and (origin == "bin" or rng.random() < 0.6):
        given = _distinct(rng, lambda: _java_given(rng, sex) if rng.random() < 0.4 else
                          _zipf(rng, (P.ARABIC_MALE if sex == "M" else P.ARABIC_FEMALE)), rng.choice((1, 2, 2)))
        father = family.patronymic if family else (rng.choice(P.ARABIC_MALE + P.MALE_GIVEN[:30]),)
        patronymic = father
    elif origin in ("chinese_id",):
        given = _distinct(rng, lambda: _java_given(rng, sex), rng.choice((1, 2)))
        surname = family.surname if family else (_zipf(rng, P.CHINESE_ID_FAMILY, 0.5),)
    elif origin in ("chinese", "malaysia"):
        given = _distinct(rng, lambda: rng.choice(P.CHINESE_GIVEN_SYL), rng.choice((1, 2, 2)))
        surname = family.surname if family else (_zipf(rng, P.CHINESE_FAMILY, 0.7),)
    elif origin == "arab":
        own = _zipf(rng, P.ARABIC_MALE if sex == "M" else P.ARABIC_FEMALE)
        father = family.given[1] if family else rng.choice(P.ARABIC_MALE)
        given = [own, father] if own != father else [own, "ABDULLAH" if own != "ABDULLAH" else "ALI"]
        if family is not None and len(family.given) > 2:
            given.append(family.given[2])
        elif family is None and rng.random() < 0.5:
            given.append(rng.choice([g for g in P.ARABIC_MALE if g not in given]))  # the grandfather
        surname = family.surname if family else (rng.choice(P.ARABIC_FAMILY),)
    elif origin == "korean":
        given = [rng.choice(P.KOREAN_GIVEN) if rng.random() < 0.4 else
                 "".join(rng.sample(P.KOREAN_SYLLABLES, 2))]
        surname = family.surname if family else (_zipf(rng, P.KOREAN_FAMILY, 0.6),)
    elif origin == "japanese":
        given = [rng.choice(P.JAPANESE_GIVEN)]
        surname = family.surname if family else (rng.choice(P.JAPANESE_FAMILY),)
    elif origin == "cyrillic":
        given = [rng.choice(P.CYRILLIC_MALE if sex == "M" else P.CYRILLIC_FEMALE)]
        base = family.surname[0] if family else rng.choice(P.CYRILLIC_FAMILY)
        base = base[:-1] if family and family.sex == "F" and base.endswith("А") else base
        surname = (base + "А" if sex == "F" and base[-1] in "ВН" else base,)
    elif origin == "german":
        given = _distinct(rng, lambda: rng.choice(P.GERMAN_GIVEN_M if sex == "M" else P.GERMAN_GIVEN_F), rng.choice((1, 2)))
        surname = family.surname if family else (rng.choice(P.GERMAN_FAMILY),)
    elif origin == "western":
        given = _distinct(rng, lambda: rng.choice(P.WESTERN_GIVEN_M if sex == "M" else P.WESTERN_GIVEN_F), rng.choice((1, 2)))
        surname = family.surname if family else (rng.choice(P.WESTERN_FAMILY),)
    elif origin == "indian":
        given = [rng.choice(P.INDIAN_GIVEN_M if sex == "M" else P.INDIAN_GIVEN_F)]
        surname = family.surname if family else (rng.choice(P.INDIAN_FAMILY),)
    elif origin == "nigerian":
        given = _distinct(rng, lambda: rng.choice(P.NIGERIAN_GIVEN), rng.choice((1, 2)))
        surname = family.surname if family else (rng.choice(P.NIGERIAN_FAMILY),)
    elif origin == "vietnamese":
        given = [rng.choice(P.VIETNAMESE_GIVEN_M if sex == "M" else P.VIETNAMESE_GIVEN_F)]
        given += [rng.choice(P.VIETNAMESE_GIVEN_M[2:] if sex == "M" else P.VIETNAMESE_GIVEN_F[1:])]
        given = list(dict.fromkeys(given))
        surname = family.surname if family else (rng.choice(P.VIETNAMESE_FAMILY),)
    else:  # filipino
        given = _distinct(rng, lambda: rng.choice(P.FILIPINO_GIVEN_M if sex == "M" else P.FILIPINO_GIVEN_F), rng.choice((1, 2)))
        surname = family.surname if family else tuple(rng.choice(P.FILIPINO_FAMILY).split())
    if family is not None and origin != "bali":
        # A sibling's own given names differ from the listed person's (an Arab sibling keeps the
        # father's name, the second).
        own = given[:1] if origin == "arab" else given
        for i, g in enumerate(own):
            for _ in range(50):
                if g not in family.given:
                    break
                g = _syllable_name(rng, sex) if origin in INDONESIAN else \
                    draw_person(rng, origin, sex).given[0]
            given[i] = g
    return Person(tuple(given), tuple(surname), tuple(patronymic), sex, birth_date(rng), nat, origin)


# -- writing a name as a document or a list does --------------------------------------------------

def romanise(cyrillic: str, system: str) -> str:
    table = P.ROMANISATION[system]
    out = []
    for i, ch in enumerate(cyrillic):
        j = P._CYR.find(ch)
        latin = ch if j < 0 else table[j]
        if latin == "-":
            latin = ""
        if system == "bgn" and ch == "Е" and (i == 0 or cyrillic[i - 1] in "АЕЁИОУЫЭЮЯЬЪ"):
            latin = "YE"
        out.append(latin)
    return "".join(out)


def _is_cyrillic(token: str) -> bool:
    return any("А" <= ch <= "я" or ch == "Ё" for ch in token)


def spell(token: str, system: str) -> str:
    """A canonical token as written under ``system`` (a romanisation for Cyrillic)."""
    return romanise(token, system) if _is_cyrillic(token) else token


VARIANT_TABLES = (P.ARABIC_VARIANTS_ID, P.ARABIC_VARIANTS, P.CHINESE_VARIANTS, P.KOREAN_VARIANTS,
                  P.JAPANESE_VARIANTS, P.GERMAN_VARIANTS, P.WESTERN_VARIANTS, P.INDIAN_VARIANTS)


def variants_of(token: str, origin: str) -> tuple[str, ...]:
    """Other spellings of one canonical token (not Cyrillic: those come from ``romanise``)."""
    tables = (P.ARABIC_VARIANTS_ID,) if origin in INDONESIAN else VARIANT_TABLES[1:]
    for table in tables:
        if token in table:
            return tuple(v for v in table[token] if v != token)
    if any(ch in token for ch in "ÄÖÜ"):
        return (token.replace("Ä", "A").replace("Ö", "O").replace("Ü", "U"),)
    return ()


def old_spelling(token: str, rng: random.Random) -> str:
    """The token in the pre-1972 Indonesian spelling (one or all rules that apply)."""
    out = token
    rules = [(new, old) for new, old in P.OLD_SPELLING if new in token[:-1] or (new != "Y" and new in token)]
    rng.shuffle(rules)
    for new, old in rules[: rng.randint(1, max(1, len(rules)))]:
        if new == "J" and "DJ" in out:
            continue
        out = out.replace(new, old)
    return out


@dataclass(frozen=True)
class Written:
    """A name as one document or list writes it: the two MRZ-style fields."""

    surname: str
    given: str


def write(person: Person, system: str = "icao") -> Written:
    given = [spell(t, system) for t in person.given]
    surname = [spell(t, system) for t in person.surname]
    if person.patronymic:
        marker = "BIN" if person.sex == "M" else "BINTI"
        return Written(" ".join([marker] + [spell(t, system) for t in person.patronymic]), " ".join(given))
    if not surname:
        return Written(" ".join(given), "")
    return Written(" ".join(surname), " ".join(given))


def _iso(d: date) -> str:
    return d.isoformat()


def document_number(rng: random.Random, nationality: str) -> str:
    prefix = {"IDN": rng.choice("ABCXE"), "MYS": "A"}.get(nationality, rng.choice("KLMNPRSTU"))
    return prefix + f"{rng.randint(0, 9_999_999):07d}"


def entry_for(person: Person, entry_id: str, rng: random.Random) -> WatchlistEntry:
    written = write(person, rng.choice(("icao", "icao", "bgn", "german", "french")))
    indonesian = person.nationality == "IDN"
    lst = ("pencegahan" if rng.random() < 0.8 else "interpol_notice") if indonesian else (
        "penangkalan" if rng.random() < 0.7 else "interpol_notice")
    r = rng.random()
    birth = _iso(person.birth) if r < 0.9 else str(person.birth.year) if r < 0.97 else None
    return WatchlistEntry(
        entry_id=entry_id, list=lst, surname=written.surname, given_names=written.given,  # type: ignore[arg-type]
        document_numbers=(document_number(rng, person.nationality),) if rng.random() < 0.4 else (),
        birth_date=birth, nationality=person.nationality, sex=person.sex,  # type: ignore[arg-type]
        agency="KPK" if lst == "pencegahan" else "DITJENIM", reason="screening set",
        valid_from=date(2024, 1, 1), valid_until=date(2030, 12, 31),
    )


def _query(tag: str, written: Written, person: Person, rng: random.Random, birth: str | None = None,
           sex: str | None = None) -> ScreeningQuery:
    return ScreeningQuery(
        id=tag, document_number=document_number(rng, person.nationality), surname=mrz_text(written.surname),
        given_names=mrz_text(written.given), birth_date=birth or _iso(person.birth), nationality=person.nationality,
        sex=sex or person.sex,  # type: ignore[arg-type]
    )


# -- the hard cases ---------------------------------------------------------------------------------

def typo(token: str, rng: random.Random) -> tuple[str, str]:
    """One clerk's or OCR error anywhere in ``token``: (new token, what was done)."""
    for _ in range(50):
        op = rng.choice(("keyboard", "ocr", "missing", "doubled", "swapped"))
        i = rng.randrange(len(token))
        ch = token[i]
        if op == "keyboard" and ch in P.KEY_NEIGHBOURS:
            new = token[:i] + rng.choice(P.KEY_NEIGHBOURS[ch]) + token[i + 1:]
        elif op == "ocr" and ch in P.OCR_CONFUSIONS:
            new = token[:i] + rng.choice(P.OCR_CONFUSIONS[ch]) + token[i + 1:]
        elif op == "missing" and len(token) > 3:
            new = token[:i] + token[i + 1:]
        elif op == "doubled":
            new = token[:i + 1] + ch + token[i + 1:]
        elif op == "swapped" and i < len(token) - 1 and token[i] != token[i + 1]:
            new = token[:i] + token[i + 1] + token[i] + token[i + 2:]
        else:
            continue
        if new != token and new.isalpha():
            return new, op
    return token + token[-1], "doubled"


def _listed_written(entry: WatchlistEntry) -> Written:
    return Written(entry.surname, entry.given_names)


def case_typo_surname(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str] | None:
    w = _listed_written(entry)
    tokens = w.surname.split()
    own = [i for i, t in enumerate(tokens) if t not in ("BIN", "BINTI") and len(t) >= 3]
    if not own:
        return None
    i = own[-1]
    tokens[i], op = typo(tokens[i], rng)
    return Written(" ".join(tokens), w.given), op


def case_surname_only(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str] | None:
    w = _listed_written(entry)
    if not w.given or w.surname.startswith(("BIN ", "BINTI ")):
        return None
    # A mononym passport writes the one name as the surname, or in both fields.
    both = rng.random() < 0.2
    return Written(w.surname, w.surname if both else ""), "both_fields" if both else "surname_field"


MRZ_NAME_LENGTH = 39  # TD3 passports


def mrz_name_field(surname: str, given: str) -> str:
    """``SURNAME<<GIVEN<NAMES`` as the MRZ of a passport writes it, before any truncation."""
    return "<".join(mrz_text(surname).split()) + "<<" + "<".join(mrz_text(given).split())


def case_shortened(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str] | None:
    w = _listed_written(entry)
    given = w.given.split()
    options = []
    if len(given) >= 2:
        options += ["drop_middle", "initials"]
    if given and given[0] in ("MUHAMMAD", "MOHAMMED", "MOHAMAD", "MUHAMAD", "MOHAMMAD"):
        options.append("muhammad_initial")
    if given and w.surname and len(mrz_name_field(w.surname, w.given)) > MRZ_NAME_LENGTH:
        options = ["truncated"]  # what the MRZ does to this name, whatever the clerk does
    if not options:
        return None
    how = rng.choice(options)
    if how == "drop_middle":
        given = [given[0]] if rng.random() < 0.5 else given[:1] + given[2:]
        if len(given) == len(w.given.split()):
            given = given[:1]
    elif how == "initials":
        keep = rng.randrange(len(given))
        given = [g if i == keep else g[0] + ("." if rng.random() < 0.5 else "") for i, g in enumerate(given)]
    elif how == "truncated":
        # ICAO 9303 cuts the given names from their end to fit the 39-character field of a passport.
        room = MRZ_NAME_LENGTH - len(mrz_name_field(w.surname, ""))
        given = mrz_name_field("", " ".join(given))[2:][:room].strip("<").split("<")
    else:
        given[0] = rng.choice(("M.", "M", "MOH.", "MUH."))
    return Written(w.surname, " ".join(given)), how


def case_title_degree(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str, bool]:
    """(written, what was added, whether it was added to the list entry instead of the document)."""
    w = _listed_written(entry)
    muslim = person.origin in ("java", "bin", "malaysia", "arab") or person.nationality in ("IDN", "MYS")
    titles = [t for t in P.LEADING_TITLES if not ((t.startswith("HJ") and person.sex == "M")
                                                  or (t.rstrip(".") in ("H", "KH") and person.sex == "F")
                                                  or (t.rstrip(".") in ("H", "HJ", "KH") and not muslim))]
    what = rng.choice(("title", "degree", "both"))
    mrz_style = rng.random() < 0.5
    given, surname = w.given, w.surname
    if what in ("title", "both"):
        title = rng.choice(titles)
        title = title.replace(".", "") if mrz_style else title
        given = f"{title} {given}".strip() if given else given
        if not w.given:
            surname = f"{title} {surname}"
    if what in ("degree", "both"):
        degree = rng.choice(P.TRAILING_DEGREES)
        if mrz_style:
            degree = degree.replace(".", "").replace(",", " ")
            surname = f"{surname} {degree}"
        else:
            surname = f"{surname}, {degree}"
    on_list = rng.random() < 0.3
    return Written(surname, given), f"{what}_{'mrz' if mrz_style else 'printed'}{'_on_list' if on_list else ''}", on_list


def case_transliteration(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str] | None:
    tokens = person.given + person.surname + person.patronymic
    if any(_is_cyrillic(t) for t in tokens):
        listed = write(person, "icao")
        for system in rng.sample(list(P.ROMANISATION), len(P.ROMANISATION)):
            other = write(person, system)
            if (other.surname, other.given) != (entry.surname, entry.given_names):
                return other, f"cyrillic_{system}"
        return None if listed == _listed_written(entry) else (listed, "cyrillic_icao")
    if person.origin == "vietnamese":
        return Written(entry.surname, entry.given_names), "vietnamese_diacritics"  # list keeps them, MRZ drops
    changed = False
    given, surname, patronymic = list(person.given), list(person.surname), list(person.patronymic)
    for part in (given, surname, patronymic):
        for i, t in enumerate(part):
            options = variants_of(t, person.origin)
            if options and (not changed or rng.random() < 0.5):
                part[i] = rng.choice(options)
                changed = True
    if not changed:
        return None
    variant = Person(tuple(given), tuple(surname), tuple(patronymic), person.sex, person.birth, person.nationality,
                     person.origin)
    w = write(variant)
    return w, "arabic_id" if person.origin in INDONESIAN else person.origin


def case_date_swap(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str, str] | None:
    b = person.birth
    if b.day > 12 or b.day == b.month or not entry.birth_date or len(entry.birth_date) != 10:
        return None
    swapped = date(b.year, b.day, b.month).isoformat()
    w = _listed_written(entry)
    if rng.random() < 0.4 and person.origin in INDONESIAN:
        tokens = w.given.split()
        if tokens:
            tokens[0] = old_spelling(tokens[0], rng)
        return Written(w.surname, " ".join(tokens)), "respelt", swapped
    return w, "as_listed", swapped


def case_respelt_reordered(person: Person, entry: WatchlistEntry, rng: random.Random) -> tuple[Written, str] | None:
    w = _listed_written(entry)
    tokens = (w.given + " " + w.surname).split()
    for marker in ("BIN", "BINTI"):  # "bin X" stays one unit when the order changes
        if marker in tokens[:-1]:
            i = tokens.index(marker)
            tokens[i:i + 2] = [tokens[i] + " " + tokens[i + 1]]
    how = []
    if person.origin in INDONESIAN:
        new = [" ".join(old_spelling(p, rng) if p not in ("BIN", "BINTI") and rng.random() < 0.6 else p
                        for p in t.split()) for t in tokens]
        if new != tokens:
            how.append("old_spelling")
        tokens = new
    else:
        for i, t in enumerate(tokens):
            options = variants_of(t, person.origin)
            if options and rng.random() < 0.5:
                tokens[i] = rng.choice(options)
                how.append("variant")
                break
    if len(tokens) < 2:
        return None
    if rng.random() < 0.5:
        # The fields swapped: what the list had as the surname is the document's given name.
        split = rng.randint(1, len(tokens) - 1)
        return Written(" ".join(tokens[:split]), " ".join(tokens[split:])), "+".join(how + ["fields_swapped"])
    rotated = tokens[1:] + tokens[:1] if rng.random() < 0.5 else list(reversed(tokens))
    if rotated == tokens:
        return None
    return Written(rotated[-1], " ".join(rotated[:-1])), "+".join(how + ["reordered"])


def _other_birth(person: Person, rng: random.Random) -> date:
    for _ in range(100):
        b = birth_date(rng)
        if b != person.birth:
            return b
    return person.birth.replace(year=person.birth.year - 2)


# -- the set ---------------------------------------------------------------------------------------

def build(seed: int = 17, listed: int = 20_000, per_found_kind: int = 1_500, siblings: int = 2_000,
          namesakes: int = 2_000, unrelated: int = 6_000) -> ScreeningSet:
    """The watchlist of ``listed`` people and the labelled queries."""
    rng = random.Random(seed)
    people: dict[str, Person] = {}
    entries: list[WatchlistEntry] = []
    for n in range(listed):
        person = draw_person(rng)
        entry_id = f"L{n:06d}"
        people[entry_id] = person
        entries.append(entry_for(person, entry_id, rng))
    by_id = {e.entry_id: e for e in entries}
    ids = list(people)
    # Birth dates listed under each last name: a sibling or namesake is never born on one of them
    # (that would be another listed person's double, not the negative the label says).
    listed_births: dict[str, set[str]] = {}
    for e in entries:
        if e.surname and e.birth_date:
            listed_births.setdefault(e.surname.split()[-1], set()).add(e.birth_date)

    def clashes(entry: WatchlistEntry, birth: date) -> bool:
        return birth.isoformat() in listed_births.get((entry.surname.split() or [""])[-1], ())
    cases: list[Case] = []

    def add(kind: str, subkind: str, subject: str, query: ScreeningQuery, expected: str | None) -> None:
        cases.append(Case(kind, subkind, subject, query, expected))

    makers = {
        "typo_surname": case_typo_surname, "surname_only": case_surname_only, "shortened": case_shortened,
        "transliteration": case_transliteration, "respelt_reordered": case_respelt_reordered,
    }
    for kind in FOUND_KINDS:
        made = 0
        pool = rng.sample(ids, len(ids))
        if kind == "shortened":
            # Names the MRZ truncates are rare: all of them first, so that the kind holds some.
            long_names = [i for i in pool if len(mrz_name_field(by_id[i].surname, by_id[i].given_names)) > MRZ_NAME_LENGTH]
            pool = long_names[: per_found_kind // 5] + [i for i in pool if i not in set(long_names)]
        for entry_id in pool:
            if made == per_found_kind:
                break
            person, entry = people[entry_id], by_id[entry_id]
            if kind in ("typo_surname", "surname_only", "date_swap") and len(entry.birth_date or "") != 10:
                continue  # defined by the birth date on both sides
            tag = f"{kind[:3].upper()}{made:05d}"
            if kind == "title_degree":
                written, how, on_list = case_title_degree(person, entry, rng)
                if on_list:
                    # The list writes the title; the passport does not: screen against an altered entry.
                    continue
                add(kind, how, entry_id, _query(tag, written, person, rng), entry_id)
            elif kind == "date_swap":
                got = case_date_swap(person, entry, rng)
                if got is None:
                    continue
                written, how, swapped = got
                add(kind, how, entry_id, _query(tag, written, person, rng, birth=swapped), entry_id)
            else:
                got2 = makers[kind](person, entry, rng)
                if got2 is None:
                    continue
                written, how = got2
                if kind == "transliteration" and (written.surname, written.given) == (entry.surname, entry.given_names) \
                        and person.origin != "vietnamese":
                    continue
                add(kind, how, entry_id, _query(tag, written, person, rng), entry_id)
            made += 1
    # Siblings: another child of the same family, another given name and birth date; some twins.
    made = 0
    for entry_id in rng.sample(ids, len(ids)):
        if made == siblings:
            break
        person = people[entry_id]
        if person.origin in ("bali",) or (person.origin == "java" and not person.surname):
            continue
        twin = rng.random() < 0.15
        sib = draw_person(rng, person.origin, family=person)
        if twin:
            sib = Person(sib.given, sib.surname, sib.patronymic, sib.sex, person.birth, sib.nationality, sib.origin)
        elif abs(sib.birth.year - person.birth.year) > 20 or sib.birth == person.birth:
            sib = Person(sib.given, sib.surname, sib.patronymic, sib.sex,
                         _sibling_birth(person.birth, rng), sib.nationality, sib.origin)
        if not twin and clashes(by_id[entry_id], sib.birth):
            continue
        if (set(sib.given[:1] if person.origin == "arab" else sib.given) & set(person.given)
                and person.origin != "bali"):
            continue
        system = "icao"
        add("sibling", "twin" if twin else person.origin, entry_id,
            _query(f"SIB{made:05d}", write(sib, system), sib, rng), None)
        made += 1
    # Namesakes: the same name as listed, another person born on another day.
    made = 0
    for entry_id in rng.sample(ids, len(ids)):
        if made == namesakes:
            break
        person, entry = people[entry_id], by_id[entry_id]
        other = Person(person.given, person.surname, person.patronymic, person.sex, _other_birth(person, rng),
                       person.nationality, person.origin)
        if clashes(entry, other.birth):
            continue
        n, made = made, made + 1
        same_year = other.birth.year == person.birth.year
        add("namesake", "same_year" if same_year else "other_year", entry_id,
            _query(f"NAM{n:05d}", _listed_written(entry), other, rng), None)
    for n in range(unrelated):
        stranger = draw_person(rng)
        add(CLEAR_KIND, stranger.origin, f"U{n:05d}", _query(f"UNR{n:05d}", write(stranger), stranger, rng), None)
    return ScreeningSet(entries, cases, people)


def _sibling_birth(birth: date, rng: random.Random) -> date:
    for _ in range(100):
        years = rng.choice((-1, 1)) * rng.randint(1, 12)
        try:
            b = date(birth.year + years, rng.randint(1, 12), rng.randint(1, 28))
        except ValueError:
            continue
        return b
    return birth.replace(year=birth.year + 3)


_ICAO_LETTERS = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Đ": "D", "Ø": "OE", "Å": "AA"}


def mrz_text(text: str) -> str:
    """What a document's MRZ makes of printed text: ICAO 9303 letters for umlauts, accents dropped."""
    out = []
    for ch in text.upper():
        if ch in _ICAO_LETTERS:
            out.append(_ICAO_LETTERS[ch])
        else:
            out.extend(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return "".join(out)


# -- files ------------------------------------------------------------------------------------------

def write_files(data: ScreeningSet, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "entries.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["entry_id", "list", "document_number", "surname", "given_names", "birth_date", "nationality",
                      "sex", "agency", "valid_from", "valid_until", "reason"])
        for e in data.entries:
            out.writerow([e.entry_id, e.list, ";".join(e.document_numbers), e.surname, e.given_names,
                          e.birth_date or "", e.nationality or "", e.sex or "", e.agency, e.valid_from,
                          e.valid_until, e.reason])
    with open(folder / "cases.jsonl", "w", encoding="utf-8") as fh:
        for c in data.cases:
            fh.write(json.dumps(c.as_dict(), ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--write", type=Path, help="write entries.csv and cases.jsonl into this folder")
    parser.add_argument("--summary", action="store_true", help="counts by kind and subkind, three examples each")
    args = parser.parse_args(argv)
    data = build(seed=args.seed)
    if args.write:
        write_files(data, args.write)
    print(f"{len(data.entries):,} listed entries, {len(data.cases):,} labelled queries")
    if args.summary:
        by_kind: dict[str, list[Case]] = {}
        for c in data.cases:
            by_kind.setdefault(c.kind, []).append(c)
        entries = {e.entry_id: e for e in data.entries}
        for kind, cases in by_kind.items():
            subs = Counter(c.subkind for c in cases)
            print(f"\n{kind} ({len(cases)}): " + ", ".join(f"{k} {v}" for k, v in subs.most_common(8)))
            for c in cases[:3]:
                listed = entries.get(c.subject)
                who = f"{listed.given_names} / {listed.surname} {listed.birth_date} {listed.sex}" if listed else "-"
                print(f"  {c.query.given_names} / {c.query.surname} {c.query.birth_date} {c.query.sex}   <- {who}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
