"""Synthetic watchlist entries and travelers with Indonesian and foreign name statistics.

Seeded and deterministic. The vocabulary mixes frequent Indonesian given names (Zipf-weighted,
so "SITI" and "MUHAMMAD" are as common as in real lists), Javanese-style syllable names for the
long tail, Arabic, Chinese-Indonesian and Western names. Used by the benchmark only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from edge.watchlist.model import ScreeningQuery, WatchlistEntry

GIVEN = ["SITI", "NUR", "MUHAMMAD", "AHMAD", "AGUS", "BUDI", "EKO", "DWI", "SRI", "DEWI", "PUTRI", "RINA", "INDAH", "RATNA", "WAHYU", "JOKO", "ADI", "ANDI", "RIZKY", "RIZAL", "FAJAR", "DIAN", "YULI", "ARIF", "HENDRA", "BAMBANG", "SUSILO", "YUDI", "TAUFIK", "HIDAYAT", "IRWAN", "RUDI", "TONO", "BAYU", "DENI", "DEDI", "HERU", "SLAMET", "SUPARMAN", "SUTRISNO", "WIDODO", "SUSANTO", "SETIAWAN", "KURNIAWAN", "SAPUTRA", "WULAN", "LESTARI", "AYU", "FITRI", "NOVI", "MEGA", "AMINAH", "AISYAH", "FATIMAH", "KHADIJAH", "ZAINAL", "SYAIFUL", "ABDUL", "RAHMAN", "HASAN", "HUSEIN", "IBRAHIM", "ISMAIL", "YUSUF", "HARYANTO", "GUNAWAN", "PRASETYO", "NUGROHO", "HARTONO", "WIBOWO", "SANTOSO", "PURNOMO", "WIJAYA", "HALIM", "TANOTO", "SALIM", "GUNADI", "LIM", "TAN", "WONG", "KURNIA", "ANGGRAINI", "PERMATA", "SARI", "CAHYO", "TEGUH", "IMAM", "HARIS", "FAUZI", "HAKIM", "LUTFI", "NURHAYATI", "SUMIATI", "SUKARNI", "MARYAM", "YOHANES", "YOSEF", "MARIA", "PAULUS", "PETRUS", "KETUT", "MADE", "WAYAN", "NYOMAN", "PUTU", "GEDE", "KADEK", "KOMANG", "RADEN", "TEUKU", "CUT", "DARMA", "SURYA", "BUANA", "JAYA", "BAGUS"]
FOREIGN = ["JOHN", "MICHAEL", "DAVID", "SMITH", "JOHNSON", "BROWN", "MUELLER", "SCHMIDT", "GARCIA", "LOPEZ", "RODRIGUEZ", "CHEN", "WANG", "LI", "ZHANG", "LIU", "KUMAR", "SINGH", "SHARMA", "PATEL", "KHAN", "ALI", "HUSSAIN", "ABDULLAH", "OMAR", "MOHAMED", "IVANOV", "PETROV", "NGUYEN", "TRAN", "KIM", "PARK", "LEE", "TANAKA", "SATO", "SUZUKI", "AHMED", "HASSAN", "YILMAZ", "KAYA", "OKAFOR", "ADEBAYO", "DUBOIS", "MARTIN", "BERNARD"]
SYLLABLES_A = ["SU", "WI", "HAR", "PUR", "SRI", "BU", "DAR", "SET", "JA", "TRI", "MUL", "KUS", "RAH", "SAP", "WAH", "YAN", "NING", "ROS", "LAS", "SUK", "TAR"]
SYLLABLES_B = ["MAR", "YAN", "TO", "NO", "WAN", "DI", "JO", "TI", "NI", "RI", "SIH", "YATI", "ANTO", "ONO", "ARTI", "IYAH", "UDIN", "AWATI"]
NATIONALITIES = ("MYS", "SGP", "AUS", "CHN", "IND", "PHL", "NGA", "GBR", "USA", "D", "NLD", "JPN", "KOR", "TLS", "PAK")
LISTS = ("pencegahan", "penangkalan", "interpol_notice", "interpol_sltd")


class NameGenerator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._given_weights = [1.0 / (i + 3) ** 0.8 for i in range(len(GIVEN))]

    def token(self, foreign: bool) -> str:
        r = self.rng.random()
        if foreign:
            return self.rng.choice(FOREIGN) if r < 0.8 else self._syllable_name()
        if r < 0.55:
            return self.rng.choices(GIVEN, self._given_weights)[0]
        return self._syllable_name()

    def _syllable_name(self) -> str:
        parts = [self.rng.choice(SYLLABLES_A)]
        if self.rng.random() < 0.5:
            parts.append(self.rng.choice(SYLLABLES_A).lower().upper())
        parts.append(self.rng.choice(SYLLABLES_B))
        return "".join(parts)

    def name(self, foreign: bool) -> tuple[str, str]:
        """(surname, given_names); a mononym has an empty given name."""
        r = self.rng.random()
        n = 1 if (r < 0.12 and not foreign) else 2 if r < 0.6 else 3
        tokens: list[str] = []
        while len(tokens) < n:
            tok = self.token(foreign)
            if tok not in tokens:
                tokens.append(tok)
        if n == 1:
            return tokens[0], ""
        return tokens[-1], " ".join(tokens[:-1])


def birth_date(rng: random.Random) -> str | None:
    r = rng.random()
    y, m, d = rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28)
    if r < 0.80:
        return f"{y:04d}-{m:02d}-{d:02d}"
    if r < 0.95:
        return f"{y:04d}"
    return None


def document_number(rng: random.Random) -> str:
    return rng.choice("ABCXEP") + f"{rng.randint(0, 9_999_999):07d}"


def entries(count: int, seed: int = 7) -> Iterator[WatchlistEntry]:
    """``count`` entries; about 10 % already expired on 2026-01-01."""
    rng = random.Random(seed)
    names = NameGenerator(rng)
    for i in range(count):
        lst = rng.choices(LISTS, (0.35, 0.25, 0.15, 0.25))[0]
        foreign = lst == "penangkalan" or (lst.startswith("interpol") and rng.random() < 0.7)
        surname, given = names.name(foreign) if lst != "interpol_sltd" or rng.random() < 0.3 else ("", "")
        until = date(2025, 6, 30) if rng.random() < 0.1 else date(2030, 12, 31)
        yield WatchlistEntry(
            entry_id=f"W{i:07d}",
            list=lst,
            document_numbers=(document_number(rng),) if (lst == "interpol_sltd" or rng.random() < 0.5) else (),
            surname=surname,
            given_names=given,
            birth_date=birth_date(rng) if surname else None,
            nationality=rng.choice(NATIONALITIES) if foreign else "IDN",
            sex=rng.choice("MF") if surname else None,
            agency="KPK" if lst == "pencegahan" else "DITJENIM",
            reason="synthetic",
            valid_from=date(2024, 1, 1),
            valid_until=until,
        )


def travelers(count: int, seed: int = 11) -> Iterator[ScreeningQuery]:
    """Random travelers from the same name distribution (almost all not on any list)."""
    rng = random.Random(seed)
    names = NameGenerator(rng)
    for i in range(count):
        foreign = rng.random() < 0.3
        surname, given = names.name(foreign)
        y, m, d = rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28)
        yield ScreeningQuery(
            id=f"T{i}", document_number=document_number(rng), surname=surname, given_names=given,
            birth_date=f"{y:04d}-{m:02d}-{d:02d}", nationality=rng.choice(NATIONALITIES) if foreign else "IDN",
            sex=rng.choice("MF"),
        )


def query_from_entry(entry: WatchlistEntry, rng: random.Random, tag: str) -> ScreeningQuery:
    """A traveler who is the listed person, with the name shuffled and sometimes respelled."""
    tokens = (entry.given_names + " " + entry.surname).split()
    respell = {"U": "OE", "J": "DJ", "Y": "J", "C": "TJ"}
    out = []
    for tok in tokens:
        if rng.random() < 0.3:
            for new, old in respell.items():
                if new in tok[:-1]:  # old spelling never wrote a final j for y
                    tok = tok[:-1].replace(new, old, 1) + tok[-1]
                    break
        out.append(tok)
    if len(out) > 1 and rng.random() < 0.3:
        out = out[1:] + out[:1]
    birth = entry.birth_date if entry.birth_date and len(entry.birth_date) == 10 else (
        f"{entry.birth_date or '1970'}"[:4] + "-06-15")
    return ScreeningQuery(
        id=tag, document_number=document_number(rng), surname=out[-1], given_names=" ".join(out[:-1]),
        birth_date=birth, nationality=entry.nationality, sex=entry.sex,
    )
