"""The labelled screening set (bench/watchlist/screening_set.py) and its evaluation.

The set must be what its labels say (a typo is one edit of the listed surname, a sibling shares
the family name but not the given name or the birth date...), seeded, and big enough; the
evaluation's vectorised level rules must decide exactly as ``Screener.screen`` does, and its
folds must keep every query of one listed person together.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bench.evaluation import subject_folds
from bench.watchlist import screening_eval
from bench.watchlist.screening_set import (
    FOUND_KINDS,
    KINDS,
    TODAY,
    build,
    mrz_name_field,
    mrz_text,
    romanise,
    typo,
)
from edge.watchlist.names import parse_name
from edge.watchlist.screen import CUTOFFS, Screener
from edge.watchlist.spelling import single_edit_position


@pytest.fixture(scope="module")
def small():  # type: ignore[no-untyped-def]
    return build(seed=5, listed=3_000, per_found_kind=120, siblings=150, namesakes=150, unrelated=400)


def test_the_full_set_is_seeded_and_large_enough() -> None:
    a, b = build(), build()
    assert len(a.entries) >= 20_000 and len(a.cases) >= 20_000
    assert [c.query for c in a.cases[:50]] == [c.query for c in b.cases[:50]]
    counts = a.counts()
    assert set(counts) == set(KINDS) and min(counts.values()) >= 1_500


def test_labels_say_what_the_queries_are(small) -> None:  # type: ignore[no-untyped-def]
    entries = {e.entry_id: e for e in small.entries}
    for case in small.cases:
        listed = entries.get(case.subject)
        if listed is not None:  # the list keeps diacritics; a passport's MRZ cannot
            listed = listed.model_copy(update={"surname": mrz_text(listed.surname),
                                               "given_names": mrz_text(listed.given_names)})
        q = case.query
        if case.kind == "typo_surname":
            assert q.given_names == listed.given_names and q.birth_date == listed.birth_date and q.sex == listed.sex
            assert single_edit_position(q.surname.split()[-1], listed.surname.split()[-1]) is not None
        elif case.kind == "surname_only":
            assert q.surname == listed.surname and q.given_names in ("", listed.surname)
            assert q.birth_date == listed.birth_date and q.sex == listed.sex
        elif case.kind == "date_swap":
            y, m, d = listed.birth_date.split("-")
            assert q.birth_date == f"{y}-{d}-{m}" and m != d
        elif case.kind == "sibling":
            assert case.expected is None
            assert not set(parse_name("", q.given_names).tokens[:1]) & set(parse_name("", listed.given_names).tokens[:1])
        elif case.kind == "namesake":
            assert (q.surname, q.given_names) == (listed.surname, listed.given_names) and q.birth_date != listed.birth_date
        elif case.kind == "unrelated":
            assert case.subject.startswith("U") and listed is None
        if case.kind in FOUND_KINDS:
            assert case.expected == case.subject


def test_typos_cover_every_operation_and_romanisations_differ() -> None:
    import random
    rng = random.Random(1)
    ops = Counter(typo("KURNIAWAN", rng)[1] for _ in range(300))
    assert set(ops) == {"keyboard", "ocr", "missing", "doubled", "swapped"}
    assert {romanise("ИВАНОВА", s) for s in ("icao", "bgn", "german")} == {"IVANOVA", "IWANOWA"}
    assert romanise("ШЕВЧЕНКО", "french") == "CHEVTCHENKO"
    assert mrz_name_field("AL QAHTANI", "MUHAMMAD ALI") == "AL<QAHTANI<<MUHAMMAD<ALI"


def test_vectorised_levels_agree_with_screen_and_folds_keep_people_together(small) -> None:  # type: ignore[no-untyped-def]
    screener = Screener(small.entries)
    rows, _ = screening_eval.collect(screener, small.cases, CUTOFFS._replace(similar_min_score=0.0))
    n = len(small.cases)
    level, found = screening_eval.outcomes(rows, n, CUTOFFS, screener.max_results)
    assert screening_eval.check_against_screen(screener, small.cases, level, found) == 0
    subjects = [c.subject for c in small.cases]
    folds = subject_folds(sorted(set(subjects)), 5, seed=0)
    for case in small.cases:
        assert sum(case.subject in f for f in folds) == 1
    # Every kind is found far above chance on this small set, and no negative is held.
    kinds = np.asarray([c.kind for c in small.cases])
    tally = screening_eval.Tally.of(kinds, level, found)
    for kind in FOUND_KINDS:
        assert tally.rate(kind, "found") >= 0.9, kind
    assert tally.counts["sibling"]["identical"] == tally.counts["namesake"]["identical"] == 0
    assert tally.rate("unrelated", "flagged") <= 0.05


def test_the_fit_prefers_feasible_cutoffs(small) -> None:  # type: ignore[no-untyped-def]
    screener = Screener(small.entries)
    rows, _ = screening_eval.collect(screener, small.cases, CUTOFFS._replace(similar_min_score=0.0))
    kinds = np.asarray([c.kind for c in small.cases])
    n = len(kinds)
    chosen = screening_eval.fit(rows, kinds, n, np.ones(n, bool), screener.max_results)
    level, found = screening_eval.outcomes(rows, n, chosen, screener.max_results)
    assert screening_eval.Tally.of(kinds, level, found).feasible()
    assert chosen.similar_min_score in screening_eval.GRID["similar_min_score"]
    assert screener.screen(small.cases[0].query, today=TODAY).id == small.cases[0].query.id
