"""Name normalisation and fuzzy name similarity for Indonesian and transliterated names.

Two layers, both pure:

* ``parse_name(surname, given_names)`` turns what a document or an alert says into ``NameParts``:
  upper-case ASCII tokens (ICAO 9303 transliteration of diacritics), titles and degrees dropped,
  Muhammad spellings and abbreviations (Moch., Moh., M.) made one token, "bin"/"binti" splitting the
  father's name (patronymic) off, particles and repeated tokens (mononyms written in both MRZ
  fields) dropped. Token order is kept but never matters for matching.
* spelling keys (``spelling.py``) fold the spellings that are the same name: old Indonesian
  spelling, Arabic transliteration, doubled letters.

Why not Jaro-Winkler alone: it scores the Indonesian gender and word-forming endings as near
matches (Susanto/Susanti 0.94, Hidayat/Hidayati 0.98, Suparman/Suparmin 0.95); on our labelled pairs
it gave precision 0.68 at recall 0.97. A single edit is accepted as a typo only away from the end
of the word, where those endings live.

``compare_names`` scores two ``NameParts`` by a best assignment of tokens (identical, same
spelling key, Javanese a/o and e/i vowel variants, or one typing error away from the end of the
word), so "RIZAL MUHAMMAD" and "MOCH. RIZAL" meet; frequent tokens (Muhammad, Siti, Nur) weigh
half because they say little about who someone is. ``lenient`` comparisons (the screening asks
for them only when the birth date agrees) also take near matches (one edit anywhere, another
romanisation, a cut name) and, with ``surname_alone``, a document that carries only the entry's
surname; a comparison resting on those is ``weak`` and never makes an identical match.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from edge.watchlist.spelling import (
    is_truncation,
    is_typo,
    loose_key,
    same_surname_group,
    single_edit_position,
    sounds_alike,
    spelling_key,
)

# ICAO 9303 part 3 table: letters NFKD cannot split into base + mark.
_TRANSLIT = {
    "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Æ": "AE", "Ø": "OE", "Å": "AA", "Þ": "TH",
    "Ð": "D", "Đ": "D", "Œ": "OE", "Ł": "L", "Ħ": "H", "Ĳ": "IJ", "İ": "I", "ı": "I", "Ŋ": "N",
}
# Honorifics before a name: Haji/Hajjah (H., Hj.), Kyai Haji (K.H.), academic and civil titles.
LEADING_TITLES = frozenset(
    {"H", "HJ", "HAJI", "HAJAH", "HAJJAH", "KH", "DR", "DRS", "DRA", "IR", "PROF", "TUAN", "NYONYA",
     "NY", "MR", "MRS", "MS", "MISS", "MADAM", "SIR", "DRG", "USTADZ", "USTAZ", "SHEIKH", "SYEKH",
     "HADJI", "HADJAH", "RADEN", "MAS", "AJENG", "RA", "RM", "RR", "RORO", "GUSTI", "TUBAGUS"}
)
# Indonesian degrees written after the name, after a comma ("Budi Santoso, S.H., M.M.").
TRAILING_DEGREES = frozenset(
    {"SH", "SE", "MM", "MH", "MT", "ST", "SPD", "SKOM", "SSOS", "SIP", "SAG", "SKM", "SKED", "SPSI",
     "SS", "SSI", "SP", "SPT", "MBA", "MSC", "MA", "MSI", "MPD", "PHD", "AMD", "MKES", "SPOG", "DR",
     "IR", "SAK", "MAK", "BSC", "BA"}
)
# Degrees an MRZ or a clerk writes without the comma ("SUSANTI SH MH"): dropped from the end of a
# field; MA and BA are also Chinese and Vietnamese names, DR and IR only lead.
BARE_TRAILING_DEGREES = TRAILING_DEGREES - {"MA", "BA", "DR", "IR"}
PATRONYMIC_MARKERS = frozenset({"BIN", "BINTI", "BT", "BTE", "BINTE", "BN", "IBN", "IBNU", "ANAK"})
# Arabic and European particles, and the Balinese gender markers I (male) and NI (female).
PARTICLES = frozenset({"AL", "EL", "VAN", "VON", "DER", "DEN", "DE", "DI", "DA", "LA", "LE", "DOS",
                       "DAS", "DEL", "DU", "I", "NI"})
MUHAMMAD = "MUHAMMAD"
_MUHAMMAD_ABBREV = frozenset({"MUH", "MOH", "MHD", "MOHD", "MD", "MUHD", "MOCH", "MOC", "MUCH", "MOHM",
                              "MUHAM", "MOHAM", "MHMD", "MOHMD"})
_MUHAMMAD_FULL = re.compile(r"^M(O|U|OE|A)(C|K)?H?A?MM?(A|E|U)(D|T)D?$")
# Tokens shared by very many Indonesians: they weigh half in a name score and never block alone.
COMMON_TOKENS = frozenset(
    {MUHAMMAD, "SITI", "NUR", "NOER", "NURUL", "ABDUL", "AHMAD", "ACHMAD", "PUTRI", "DEWI", "SRI",
     "AGUS", "BUDI", "ADI", "EKO", "DWI", "TRI", "NI", "I", "KADEK", "MADE", "WAYAN", "NYOMAN",
     "KETUT", "PUTU", "GEDE", "NENG", "RADEN", "ANDI", "TEUKU", "CUT", "ALI", "FATIMAH", "AYU",
     "INDAH", "RATNA", "WATI", "DIAN", "RINA", "YUSUF", "HASAN", "HUSEIN", "IBRAHIM", "ISMAIL"}
)
# Token similarities by kind (see token_similarity and near_token_similarity).
SIM_SPELLING, SIM_LOOSE, SIM_TYPO, SIM_INITIAL, SIM_NEAR, SIM_TRUNCATED = 0.97, 0.90, 0.85, 0.75, 0.80, 0.80
# Name field lengths of the MRZ: TD1 cards, TD2 and TD3 passports (ICAO 9303 parts 5-7). A name that
# fills its field may have been truncated: its last given name cut short.
MRZ_NAME_FIELDS = frozenset({30, 31, 39})
# Kinds accepted only when the full birth date agrees (``lenient``): they never make a match identical.
NEAR_KINDS = frozenset({"edit", "sound", "cut"})
COMMON_ONLY_CAP = 0.60  # a name that agrees only on Muhammad/Siti/Nur is weak evidence


class NameParts(NamedTuple):
    """A normalised name: ``tokens`` (the person's own names), ``patronymic`` (after bin/binti)
    and ``notes``: (raw, normalised, why) for every token that normalisation changed.
    (NamedTuples, not dataclasses, in the per-candidate path: they are several times cheaper.)"""

    tokens: tuple[str, ...]
    patronymic: tuple[str, ...] = ()
    notes: tuple[tuple[str, str, str], ...] = ()
    cut: str = ""  # a token the MRZ may have cut short (see mrz_cut_token)

    @property
    def all_tokens(self) -> tuple[str, ...]:
        return self.tokens + self.patronymic

    @property
    def is_empty(self) -> bool:
        return not self.tokens and not self.patronymic


def to_ascii_upper(text: str) -> str:
    """Upper-case ASCII letters and spaces: ICAO transliteration, apostrophes joined, rest spaces."""
    if text.isascii():
        ascii_text = text.upper()  # the usual case (MRZ, most lists): no per-letter work
    else:
        ascii_text = _transliterate(text.upper())
    # Ma'ruf and Ma`ruf are one word; every other non-letter (MRZ '<', dots, hyphens) separates.
    ascii_text = _APOSTROPHES.sub("", ascii_text)
    return _NON_LETTERS.sub(" ", ascii_text)


_APOSTROPHES = re.compile(r"['`\u2019\u02bc]")
_NON_LETTERS = re.compile(r"[^A-Z,]+")


def _transliterate(text: str) -> str:
    out = []
    for ch in text:
        mapped = _TRANSLIT.get(ch)
        if mapped is not None:
            out.append(mapped)
            continue
        for part in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(part):
                continue
            out.append(part)
    return "".join(out)


def is_muhammad(token: str) -> bool:
    return token in _MUHAMMAD_ABBREV or bool(_MUHAMMAD_FULL.match(token))


def _split_degrees(text: str) -> tuple[str, list[str]]:
    """Drop degrees written after the first comma ("S.H.", "M.M." arrive here as "S H", "M M")."""
    if "," not in text:
        return text, []
    head, _, tail = text.partition(",")
    kept, dropped = [], []
    for part in tail.split(","):
        compact = part.replace(" ", "")
        if not compact:
            continue
        if compact in TRAILING_DEGREES:
            dropped.append(compact)
        else:
            for tok in part.split():
                (dropped if tok in TRAILING_DEGREES else kept).append(tok)
    return " ".join([head] + kept), dropped


def _strip_bare_degrees(tokens: list[str], dropped: list[str]) -> list[str]:
    while len(tokens) > 1 and tokens[-1] in BARE_TRAILING_DEGREES:
        dropped.append(tokens.pop())
    return tokens


def parse_name(surname: str = "", given_names: str = "") -> NameParts:
    """Normalise a document or alert name; fields may be swapped or one may be empty."""
    notes: list[tuple[str, str, str]] = []
    given, dropped_g = _split_degrees(to_ascii_upper(given_names or ""))
    sur, dropped_s = _split_degrees(to_ascii_upper(surname or ""))
    given_tokens = _strip_bare_degrees(given.split(), dropped_g)
    sur_tokens = _strip_bare_degrees(sur.split(), dropped_s)
    if not sur_tokens and len(given_tokens) > 1:
        given_tokens = _strip_bare_degrees(given_tokens, dropped_g)
    for tok in dropped_g + dropped_s:
        notes.append((tok, "", "degree dropped"))
    raw = given_tokens + sur_tokens
    # Leading titles (H., Hj., Dr.) only at the very start and only when a name follows.
    while len(raw) > 1 and raw[0] in LEADING_TITLES:
        notes.append((raw[0], "", "title dropped"))
        raw.pop(0)
    tokens: list[str] = []
    patronymic: list[str] = []
    target = tokens
    for i, tok in enumerate(raw):
        if tok in PATRONYMIC_MARKERS and target is tokens and tokens and i < len(raw) - 1:
            notes.append((tok, "", "bin/binti: what follows is the father's name"))
            target = patronymic
            continue
        if tok in PARTICLES and i < len(raw) - 1:
            # A particle before a name (Al Habsyi, da Silva, I Wayan); last, it is the name (Le, Da).
            notes.append((tok, "", "particle dropped"))
            continue
        norm = tok
        if is_muhammad(tok):
            norm = MUHAMMAD
        elif tok == "M" and target is tokens and not tokens and len(raw) > 1:
            # "M. Rizal": a leading M. in Indonesian names abbreviates Muhammad.
            norm = MUHAMMAD
        if norm != tok:
            notes.append((tok, norm, "Muhammad variant"))
        if norm in tokens or norm in patronymic:
            # A mononym written in both MRZ fields, or a repeated token, counts once.
            continue
        target.append(norm)
    return NameParts(tuple(tokens), tuple(patronymic), tuple(notes))


def mrz_cut_token(surname: str, given_names: str) -> str:
    """The last name of a document name that fills an MRZ name field (ICAO 9303 truncates the
    given names from their end to fit), else "". ``surname<<given<names`` is what the field holds."""
    sur, given = to_ascii_upper(surname or "").split(), to_ascii_upper(given_names or "").split()
    length = len("<".join(sur)) + (2 + len("<".join(given)) if given else 0)
    if length not in MRZ_NAME_FIELDS:
        return ""
    last = (given or sur)[-1]
    return MUHAMMAD if is_muhammad(last) else last


_COMMON_KEYS = frozenset(spelling_key(t) for t in COMMON_TOKENS)


class TokenMatch(NamedTuple):
    """How one query token met one entry token: ``kind`` is identical, spelling, vowel, typo or initial."""

    query: str
    entry: str
    similarity: float
    kind: str


@lru_cache(maxsize=1_048_576)
def token_similarity(a: str, b: str) -> tuple[float, str]:
    """Similarity of two normalised tokens in 0..1 and its kind; (0, "") when different names."""
    if a == b:
        return 1.0, "identical"
    if len(a) == 1 or len(b) == 1:
        return (SIM_INITIAL, "initial") if a[0] == b[0] else (0.0, "")
    ka, kb = spelling_key(a), spelling_key(b)
    if ka == kb:
        return SIM_SPELLING, "spelling"
    if len(ka) == len(kb) and loose_key(a) == loose_key(b):
        return SIM_LOOSE, "vowel"
    if (abs(len(ka) - len(kb)) <= 1 and is_typo(ka, kb)) or (abs(len(a) - len(b)) <= 1 and is_typo(a, b)):
        return SIM_TYPO, "typo"
    return 0.0, ""


@lru_cache(maxsize=1_048_576)
def near_token_similarity(a: str, b: str) -> tuple[float, str]:
    """``token_similarity``, and where that finds nothing, what a clerk, an OCR or another
    romanisation makes of one name: one edit anywhere, the last letters included ("edit"), the
    same sound key ("sound"), a cut of two or three letters ("cut"). Only for a pair whose full
    birth date agrees: on their own these join different names (Susanto/Susanti)."""
    sim, kind = token_similarity(a, b)
    if sim > 0.0:
        return sim, kind
    if min(len(a), len(b)) >= 3 and (
            single_edit_position(a, b) is not None or single_edit_position(spelling_key(a), spelling_key(b)) is not None):
        return SIM_NEAR, "edit"
    if min(len(a), len(b)) >= 2 and (sounds_alike(a, b) or same_surname_group(a, b)):
        return SIM_NEAR, "sound"
    if is_truncation(a, b, 2) or is_truncation(b, a, 2):
        return SIM_NEAR, "cut"
    return 0.0, ""


@lru_cache(maxsize=262_144)
def token_weight(token: str) -> float:
    """0.5 for frequent names (in any spelling) and initials, else 1."""
    return 0.5 if len(token) == 1 or spelling_key(token) in _COMMON_KEYS else 1.0


class NameComparison(NamedTuple):
    """Score in 0..1, the token assignment and tokens left unmatched on each side."""

    score: float
    matches: tuple[TokenMatch, ...]
    unmatched_query: tuple[str, ...]
    unmatched_entry: tuple[str, ...]
    merged: str = ""  # two tokens read as one (Abdul Rahman / Abdulrahman)
    contained: bool = False  # every token of the shorter name is in the longer one
    common_only: bool = False
    # Rests on a near match (edit, sound, cut) or on the surname alone: at most "similar".
    weak: bool = False


def _assign(qt: tuple[str, ...], et: tuple[str, ...], lenient: bool = False, cut: str = "") -> list[TokenMatch]:
    similarity = near_token_similarity if lenient else token_similarity
    pairs = []
    for q in qt:
        for e in et:
            sim, kind = similarity(q, e)
            if q == cut and kind in ("", "initial", "cut") and is_truncation(q, e, 2):
                sim, kind = SIM_TRUNCATED, "truncated"
            if sim > 0.0:
                pairs.append((sim, q, e, kind))
    # Greedy best-first is as good as optimal for names of a handful of tokens.
    pairs.sort(key=lambda p: -p[0])
    used_q: set[str] = set()
    used_e: set[str] = set()
    out = []
    for sim, q, e, kind in pairs:
        if q in used_q or e in used_e:
            continue
        used_q.add(q)
        used_e.add(e)
        out.append(TokenMatch(q, e, sim, kind))
    return out


def _merges(tokens: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    return [(tokens[:i] + (tokens[i] + tokens[i + 1],) + tokens[i + 2:], tokens[i] + " " + tokens[i + 1])
            for i in range(len(tokens) - 1)]


def _score(query: NameParts, entry: NameParts, qt: tuple[str, ...], et: tuple[str, ...], merged: str,
           lenient: bool = False, surname_alone: bool = False) -> NameComparison:
    # Hot path (once per candidate): plain loops, no comprehensions over empty patronymics.
    matches = _assign(qt, et, lenient, query.cut)
    matched_q = {m.query for m in matches}
    matched_e = {m.entry for m in matches}
    # bin/binti: a father's name present on one side only is not evidence against.
    q_skip = query.patronymic if not entry.patronymic else ()
    e_skip = entry.patronymic if not query.patronymic else ()
    total = 0.0
    for t in qt:
        if t in matched_q or t not in q_skip:
            total += token_weight(t)
    for t in et:
        if t in matched_e or t not in e_skip:
            total += token_weight(t)
    gained = 0.0
    lowest = 1.0
    common_only = bool(matches)
    for m in matches:
        wq, we = token_weight(m.query), token_weight(m.entry)
        gained += m.similarity * (wq + we)
        lowest = min(lowest, m.similarity)
        if wq == 1.0 or we == 1.0:
            common_only = False
    score = gained / total if total else 0.0
    own_q = [t for t in qt if t not in query.patronymic] if query.patronymic else qt
    own_e = [t for t in et if t not in entry.patronymic] if entry.patronymic else et
    shorter, matched_shorter = (own_q, matched_q) if len(own_q) <= len(own_e) else (own_e, matched_e)
    contained = len(shorter) >= 2 and all(t in matched_shorter for t in shorter)
    weak = False
    if surname_alone and not contained and len(own_q) == 1 and len(own_e) >= 2 and own_q[0] in matched_q:
        # A mononym passport that carries only the listed surname (the entry's last own name).
        surname_match = [m for m in matches if m.query == own_q[0] and m.entry == own_e[-1]]
        if surname_match:
            contained = weak = True
            lowest = surname_match[0].similarity
    if contained:
        # Middle names dropped on one document ("Andi Mallarangeng" / "Andi Alifian Mallarangeng").
        score = max(score, 0.5 * score + 0.5 * lowest)
    # "Muhammad Yusuf" = "Moh. Yusuf" is a full agreement; "Nur" = "Nur" or "Siti" alone is not.
    if common_only and not (contained and len(own_q) == len(own_e)):
        score = min(score, COMMON_ONLY_CAP)
    else:
        common_only = False
    if lenient and not weak:
        weak = any(m.kind in NEAR_KINDS for m in matches)
    return NameComparison(
        min(score, 1.0), tuple(matches),
        tuple(t for t in qt if t not in matched_q), tuple(t for t in et if t not in matched_e),
        merged, contained, common_only, weak,
    )


def order_differs(query: NameParts, entry: NameParts, cmp: NameComparison) -> bool:
    """True when the assigned tokens come in another order on the entry (given/surname swapped)."""
    pos_q = {t: i for i, t in enumerate(query.all_tokens)}
    pos_e = {t: i for i, t in enumerate(entry.all_tokens)}
    ordered = sorted((pos_q[m.query], pos_e[m.entry]) for m in cmp.matches if m.query in pos_q and m.entry in pos_e)
    seq = [e for _, e in ordered]
    return seq != sorted(seq)


def compare_names(query: NameParts, entry: NameParts, lenient: bool = False,
                  surname_alone: bool = False) -> NameComparison:
    """Order-free, spelling-tolerant name score: weighted Dice over assigned tokens, also trying
    two adjacent tokens of the longer name as one word. ``lenient`` also accepts near matches
    (``near_token_similarity``) and ``surname_alone`` a passport that carries only the entry's
    surname; a comparison that rests on either is ``weak``."""
    if query.is_empty or entry.is_empty:
        return NameComparison(0.0, (), query.all_tokens, entry.all_tokens)
    best = _score(query, entry, query.all_tokens, entry.all_tokens, "", lenient, surname_alone)
    # Reading two tokens as one can only help when both sides have a token left over, and when
    # a leftover token is about as long as two adjacent tokens of the other side.
    if best.unmatched_query and best.unmatched_entry and len(query.tokens) != len(entry.tokens):
        longer, leftovers = (
            (query.tokens, best.unmatched_entry) if len(query.tokens) > len(entry.tokens)
            else (entry.tokens, best.unmatched_query)
        )
        pair_lengths = {len(a) + len(b) for a, b in itertools.pairwise(longer)}
        if not any(abs(len(t) - n) <= 2 for t in leftovers for n in pair_lengths):
            return best
        if len(query.tokens) > len(entry.tokens):
            for tokens, merged in _merges(query.tokens):
                cand = _score(query, entry, tokens + query.patronymic, entry.all_tokens, merged, lenient, surname_alone)
                if cand.score > best.score and merged.replace(" ", "") not in cand.unmatched_query:
                    best = cand
        else:
            for tokens, merged in _merges(entry.tokens):
                cand = _score(query, entry, query.all_tokens, tokens + entry.patronymic, merged, lenient, surname_alone)
                if cand.score > best.score and merged.replace(" ", "") not in cand.unmatched_entry:
                    best = cand
    return best


_KIND_TEXT = {"spelling": "old/variant spelling", "vowel": "vowel variant", "typo": "one letter differs",
              "initial": "initial", "truncated": "cut short where the MRZ name field ends", "edit": "one letter differs, birth date agrees",
              "sound": "another romanisation, birth date agrees", "cut": "cut short, birth date agrees"}


def explain_names(query: NameParts, entry: NameParts, cmp: NameComparison) -> list[str]:
    """Short reasons an officer can read, e.g. "name: MOCH → MUHAMMAD variant"."""
    reasons: list[str] = []
    for raw, norm, why in query.notes + entry.notes:
        if why == "Muhammad variant":
            reasons.append(f"name: {raw} → {norm} variant")
        elif why.startswith("bin/binti"):
            reasons.append(f"name: {raw} (bin/binti) marks the father's name")
        else:
            reasons.append(f"name: {raw} dropped ({why.split()[0]})")
    if cmp.merged:
        reasons.append(f"name: {cmp.merged} read as one word")
    identical = [m for m in cmp.matches if m.kind == "identical"]
    if identical:
        reasons.append(f"name: {len(identical)} token(s) identical ({' '.join(m.query for m in identical)})")
    for m in cmp.matches:
        if m.kind in _KIND_TEXT:
            reasons.append(f"name: {m.query} ≈ {m.entry} ({_KIND_TEXT[m.kind]})")
    if cmp.common_only:
        reasons.append("name: only very common names agree")
    if cmp.weak and cmp.contained and len(query.tokens) == 1:
        reasons.append("name: document carries only the entry's surname")
    if order_differs(query, entry, cmp):
        reasons.append("name: token order differs")
    if cmp.unmatched_query:
        reasons.append(f"name: {' '.join(cmp.unmatched_query)} not in entry")
    own = [t for t in cmp.unmatched_entry if t not in entry.patronymic]
    if own:
        reasons.append(f"name: entry's {' '.join(own)} not on document")
    fathers = [t for t in cmp.unmatched_entry if t in entry.patronymic]
    if fathers:
        counted = "counted" if query.patronymic else "not counted"
        reasons.append(f"name: entry's father's name {' '.join(fathers)} not on document ({counted})")
    return reasons
