"""The screening engine: ``Screener(entries)`` once, then ``screen(query, today=...)`` per traveler.

Sans-IO and clock-free: the caller passes ``today``. The same class serves central's API and the
gate's local copy, so both give the same answer for the same list version.

Per query: blocking keys (``index``) give a few hundred entry numbers at most; inactive entries are
masked with numpy; the best ``max_candidates`` by key weight are scored in Python (name, birth date,
nationality, sex, document number) and the level rules applied. See docs/watchlist.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

import numpy as np

from edge.watchlist.evidence import (
    DOB_SWAPPED,
    Feature,
    compare_birth_dates,
    compare_nationality,
    compare_sex,
)
from edge.watchlist.index import IndexBuilder, blocking_keys, normalise_document_number
from edge.watchlist.model import (
    Level,
    ScreeningCandidate,
    ScreeningQuery,
    ScreeningResult,
    WatchlistEntry,
)
from edge.watchlist.names import (
    NameComparison,
    NameParts,
    compare_names,
    explain_names,
    mrz_cut_token,
    parse_name,
)

log = logging.getLogger(__name__)

NAME_WEIGHT = 0.70
DOC_NAME_CONSISTENT = 0.80  # an identical document number holds only when the name does not contradict


class Cutoffs(NamedTuple):
    """The level cut-offs, and the one score weight fitted with them. The shipped values are fitted
    by bench/watchlist/screening_eval.py on the labelled screening set, k-fold by listed person
    (docs/watchlist.md, "Levels")."""

    similar_min_score: float = 0.70  # officer review from here
    similar_min_name: float = 0.60  # ...and only when the names are at least this alike (or the document is identical)
    identical_min_name: float = 0.92  # cekal identik by name: with full birth date and nationality agreeing
    swapped_birth_date: float = DOB_SWAPPED  # score added when day and month are swapped


CUTOFFS = Cutoffs()
SIMILAR_MIN_SCORE, SIMILAR_MIN_NAME, IDENTICAL_MIN_NAME, _ = CUTOFFS
_SEP = "\x1f"
_NO_FROM, _NO_UNTIL = 0, 2**31 - 1
_LEVEL_RANK = {"identical": 2, "similar": 1, "none": 0}


class Assessment(NamedTuple):
    """Everything the level rules and the reasons need about one (query, entry) pair."""

    score: float
    level: Level
    document_identical: bool
    name: NameComparison | None
    birth_date: Feature
    nationality: Feature
    sex: Feature


def decide_level(
    *, document_identical: bool, entry_has_name: bool, name_score: float,
    birth_date: Feature, nationality: Feature, sex: Feature, score: float, names_matched: int = 0,
    weak_name: bool = False, cutoffs: Cutoffs = CUTOFFS,
) -> Level:
    """The level rules of docs/watchlist.md, in order. The entry is already known to be active."""
    if (
        document_identical
        and nationality.kind != "nat_contradict"
        and (not entry_has_name or name_score >= DOC_NAME_CONSISTENT)
        and birth_date.kind != "dob_disjoint"
        and sex.kind != "sex_contradict"
    ):
        return "identical"
    if (
        name_score >= cutoffs.identical_min_name
        and not weak_name
        and birth_date.kind == "dob_exact"
        and nationality.kind == "nat_agree"
        and sex.kind != "sex_contradict"
    ):
        return "identical"
    if document_identical:
        return "similar"
    if score >= cutoffs.similar_min_score and name_score >= cutoffs.similar_min_name:
        # A name with no birth date to weigh it must agree on two names: one name ("Wahyu", "Dedi")
        # is shared by too many travellers to call an officer for each.
        if birth_date.kind == "dob_unknown" and names_matched < 2:
            return "none"
        if weak_name and birth_date.kind != "dob_exact" and names_matched < 2:
            return "none"  # a near match on a partial birth date needs two names
        return "similar"
    return "none"


def assess(
    *, query_name: NameParts, query_documents: set[str], query_birth: str | None, query_nationality: str | None,
    query_sex: str | None, entry_name: NameParts, entry_documents: Iterable[str], entry_birth: str | None,
    entry_nationality: str | None, entry_sex: str | None,
    names_seen: dict[tuple[tuple[str, ...], tuple[str, ...], bool, bool], NameComparison] | None = None,
    cutoffs: Cutoffs = CUTOFFS,
) -> Assessment:
    """Score one pair: 0.70 x name score + birth date/nationality/sex adjustments, or the
    document-number rule; clipped to 0..1. ``names_seen`` memoises name comparisons per query.

    With the full birth date identical and the sex not contradicting, names are compared
    leniently (``compare_names(lenient=True)``): one letter wrong anywhere, another romanisation,
    a name cut short, or a passport with only the surname is evidence enough for "similar"."""
    doc_identical = bool(query_documents) and any(d in query_documents for d in entry_documents)
    dob = compare_birth_dates(query_birth, entry_birth)
    if dob.kind == "dob_swapped":
        dob = dob._replace(adjust=cutoffs.swapped_birth_date)
    nat = compare_nationality(query_nationality, entry_nationality)
    sex = compare_sex(query_sex, entry_sex)
    adjust = dob.adjust + nat.adjust + sex.adjust
    if not doc_identical and NAME_WEIGHT + adjust < cutoffs.similar_min_score:
        # Even a perfect name could not reach "similar" (e.g. disjoint birth years): skip the
        # name comparison, the costly part, for the many such candidates of a large list.
        return Assessment(round(max(NAME_WEIGHT + adjust, 0.0), 4), "none", False, None, dob, nat, sex)
    # Near name matches need the birth date: the full date (then also a passport with the surname
    # alone), or the year or month of a partial date with sex and nationality agreeing.
    full_date = dob.kind == "dob_exact" and sex.kind != "sex_contradict"
    lenient = full_date or (dob.kind in ("dob_year", "dob_year_month") and sex.kind == "sex_agree"
                            and nat.kind == "nat_agree")
    if entry_name.is_empty:
        cmp = None
    elif names_seen is None:
        cmp = compare_names(query_name, entry_name, lenient, full_date)
    else:
        key = (entry_name.tokens, entry_name.patronymic, lenient, full_date)
        cmp = names_seen.get(key)
        if cmp is None:
            cmp = names_seen[key] = compare_names(query_name, entry_name, lenient, full_date)
    name_score = cmp.score if cmp else 0.0
    score = NAME_WEIGHT * name_score + adjust
    if doc_identical:
        if cmp is None:
            score = 0.95 + nat.adjust
        elif name_score >= DOC_NAME_CONSISTENT:
            score = 0.90 + 0.10 * name_score
        else:
            score = max(score, 0.75)
    score = round(min(max(score, 0.0), 1.0), 4)
    level = decide_level(
        document_identical=doc_identical, entry_has_name=cmp is not None, name_score=name_score,
        birth_date=dob, nationality=nat, sex=sex, score=score, names_matched=len(cmp.matches) if cmp else 0,
        weak_name=cmp.weak if cmp else False, cutoffs=cutoffs,
    )
    return Assessment(score, level, doc_identical, cmp, dob, nat, sex)


def explain(assessment: Assessment, query_name: NameParts, entry_name: NameParts) -> list[str]:
    reasons: list[str] = []
    if assessment.document_identical:
        reasons.append("document number identical")
    if assessment.name is not None:
        reasons.append(f"name score {assessment.name.score:.2f}")
        reasons += explain_names(query_name, entry_name, assessment.name)
    reasons += [f.reason for f in (assessment.birth_date, assessment.nationality, assessment.sex) if f.reason]
    return list(dict.fromkeys(reasons))  # the same note can come from both sides


class _Record(NamedTuple):
    entry_id: str
    list: str
    documents: tuple[str, ...]
    name: NameParts
    birth_date: str | None
    nationality: str | None
    sex: str | None
    surname: str
    given_names: str


def _pack(entry: WatchlistEntry, name: NameParts, documents: list[str]) -> str:
    # One str per entry (not a model or tuple): a million entries stay in a few hundred MB.
    if _SEP in entry.surname or _SEP in entry.given_names:  # (entry ids cannot hold control characters)
        entry = entry.model_copy(update={
            "surname": entry.surname.replace(_SEP, " "),
            "given_names": entry.given_names.replace(_SEP, " "),
        })
    return _SEP.join((
        entry.entry_id, entry.list, ";".join(documents), " ".join(name.tokens), " ".join(name.patronymic),
        entry.birth_date or "", entry.nationality or "", entry.sex or "", entry.surname, entry.given_names,
    ))


def _unpack(packed: str) -> _Record:
    f = packed.split(_SEP)
    return _Record(
        f[0], f[1], tuple(d for d in f[2].split(";") if d),
        NameParts(tuple(f[3].split()), tuple(f[4].split())),
        f[5] or None, f[6] or None, f[7] or None, f[8], f[9],
    )


class Screener:
    """Screens travelers against one version of the watchlists.

    ``max_candidates`` bounds the entries scored per query (those with the most blocking-key
    weight first), which bounds latency; ``max_results`` bounds the candidates returned.
    """

    def __init__(self, entries: Iterable[WatchlistEntry], *, max_candidates: int = 32, max_results: int = 5,
                 cutoffs: Cutoffs = CUTOFFS) -> None:
        self.max_candidates = max_candidates
        self.max_results = max_results
        self.cutoffs = cutoffs
        self._records: list[str] = []
        valid_from = []
        valid_until = []
        builder = IndexBuilder()
        for number, entry in enumerate(entries):
            name = parse_name(entry.surname, entry.given_names)
            documents = [normalise_document_number(d) for d in entry.document_numbers]
            self._records.append(_pack(entry, name, documents))
            valid_from.append(entry.valid_from.toordinal() if entry.valid_from else _NO_FROM)
            valid_until.append(entry.valid_until.toordinal() if entry.valid_until else _NO_UNTIL)
            builder.add(number, blocking_keys(documents, name, entry.birth_date, sex=entry.sex))
        self._valid_from = np.asarray(valid_from, dtype=np.int32)
        self._valid_until = np.asarray(valid_until, dtype=np.int32)
        self._index = builder.build()
        log.info("watchlist screener built: %d entries, %d postings", len(self._records), self._index.hashes.size)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def postings(self) -> int:
        """Blocking-index size (entries x keys), for capacity planning."""
        return int(self._index.hashes.size)

    def _candidates(self, keys: list[str], today: date) -> np.ndarray:
        hits, weights = self._index.lookup(keys)
        if hits.size == 0:
            return hits
        numbers, inverse = np.unique(hits, return_inverse=True)
        totals = np.bincount(inverse, weights=weights)
        day = today.toordinal()
        # Entries outside their validity period on `today` never match.
        active = (self._valid_from[numbers] <= day) & (self._valid_until[numbers] >= day)
        numbers, totals = numbers[active], totals[active]
        if numbers.size > self.max_candidates:
            best = np.argpartition(-totals, self.max_candidates - 1)[: self.max_candidates]
            numbers = numbers[best]
        return numbers

    def assessments(self, query: ScreeningQuery, *, today: date, cutoffs: Cutoffs | None = None,
                    ) -> tuple[NameParts, list[tuple[Assessment, _Record]]]:
        """Every candidate the blocking index brings for ``query``, assessed, whatever its level
        (the evaluation refits cut-offs on these without screening again)."""
        qname = parse_name(query.surname, query.given_names)
        cut = mrz_cut_token(query.surname, query.given_names)
        if cut and cut in qname.all_tokens:
            qname = qname._replace(cut=cut)
        qdoc = normalise_document_number(query.document_number) if query.document_number else ""
        qdocs = {qdoc} if qdoc else set()
        keys = list(blocking_keys(sorted(qdocs), qname, query.birth_date, for_query=True, sex=query.sex))
        out: list[tuple[Assessment, _Record]] = []
        # Many entries share a name (Zipf): compare each distinct name with the query once.
        names_seen: dict[tuple[tuple[str, ...], tuple[str, ...], bool, bool], NameComparison] = {}
        for number in self._candidates(keys, today).tolist():
            record = _unpack(self._records[number])
            out.append((assess(
                query_name=qname, query_documents=qdocs, query_birth=query.birth_date,
                query_nationality=query.nationality, query_sex=query.sex, entry_name=record.name,
                entry_documents=record.documents, entry_birth=record.birth_date,
                entry_nationality=record.nationality, entry_sex=record.sex, names_seen=names_seen,
                cutoffs=cutoffs or self.cutoffs,
            ), record))
        return qname, out

    def screen(self, query: ScreeningQuery, *, today: date) -> ScreeningResult:
        """The level for one traveler and up to ``max_results`` candidates, best first."""
        qname, assessed = self.assessments(query, today=today)
        scored: list[tuple[float, int, Assessment, _Record]] = []
        for number, (result, record) in enumerate(assessed):
            if result.level != "none":
                scored.append((result.score, number, result, record))
        scored.sort(key=lambda s: (-_LEVEL_RANK[s[2].level], -s[0], s[3].entry_id))
        candidates = []
        for score, _, result, record in scored[: self.max_results]:
            # Re-parse the entry's own spelling only for the few returned, for its notes.
            entry_name = parse_name(record.surname, record.given_names)
            candidates.append(ScreeningCandidate(
                entry_id=record.entry_id, list=record.list, level=result.level, score=score,  # type: ignore[arg-type]
                reasons=explain(result, qname, entry_name),
            ))
        level: Level = candidates[0].level if candidates else "none"
        return ScreeningResult(id=query.id, level=level, candidates=candidates)
