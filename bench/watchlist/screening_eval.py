"""Screening on the labelled set (screening_set.py): found, identical and clear rates by kind,
with the cut-offs fitted k-fold by listed person and reported on the people left out.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.watchlist.screening_eval [--seed 17] [--folds 5]
        [--listed 20000] [--peer-python /path/to/python-with-nomenklatura] [--json FILE]

Protocol (docs/evaluation.md): the subject is the listed person, with every query made from them
(their variants, their siblings, their namesakes); an unrelated traveller is a subject of their
own. For each of k folds, the cut-offs (similar score and name cut-offs, identical name cut-off,
the swapped-birth-date weight) are chosen on the other folds from a grid:

    among those that call no sibling or namesake identical, flag at most 2 % of unrelated
    travellers and at most 5 % of siblings and namesakes, and find at least 95 % of every kind
    (where none does: those whose lowest kind is highest), the one that finds the most listed
    people less a tenth of the innocent travellers it flags (one missed listed person weighs as
    ten needless officer reviews); ties to the stricter cut-offs;

and applied to the fold left out. Figures pool the held-out counts over the folds, with the 95 %
Clopper-Pearson interval and the spread across folds. The shipped cut-offs
(edge/watchlist/screen.py CUTOFFS) are the same rule fitted on every subject; the run checks them.

Every query is screened once; candidates are kept whatever their level, so refitting the cut-offs
does not screen again. The levels computed here for the shipped cut-offs are checked against
``Screener.screen`` for every query.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.evaluation import Rate, subject_folds
from bench.figures import command_line, emit
from bench.watchlist.screening_set import CLEAR_KIND, FOUND_KINDS, KINDS, NOT_IDENTICAL_KINDS, TODAY, build
from edge.watchlist.screen import CUTOFFS, DOC_NAME_CONSISTENT, NAME_WEIGHT, Cutoffs, Screener

# The identical cut-off is not fitted: no labelled negative here can reach it (it needs the full
# birth date), so the data would fit it to noise. It stays at the designed 0.92.
GRID = {
    "similar_min_score": tuple(round(0.60 + 0.02 * i, 2) for i in range(11)),
    "similar_min_name": (0.50, 0.55, 0.60, 0.65),
    "identical_min_name": (CUTOFFS.identical_min_name,),
    "swapped_birth_date": (0.10, 0.15, 0.20, 0.25),
}
UNRELATED_MAX_FLAGGED = 0.02
FOUND_TARGET = 0.95  # every kind at least this; above it, no kind is favoured
REVIEW_COST = 0.1  # a listed person missed weighs as much as ten needless officer reviews
NEGATIVES_MAX_FLAGGED = 0.05
_DOB = {"dob_exact": 0, "dob_swapped": 1, "dob_unknown": 2, "dob_disjoint": 3}
_LEVEL_RANK = {"none": 0, "similar": 1, "identical": 2}
HERE = Path(__file__).resolve().parent


@dataclass
class Rows:
    """Every (query, candidate) pair as flat arrays: the level rules re-applied per cut-off."""

    case: np.ndarray  # which query
    entry: np.ndarray  # entry number (ties are broken by entry id, as screen() does)
    expected: np.ndarray  # the entry this query must find
    name: np.ndarray  # name score
    other_adjust: np.ndarray  # nationality + sex (+ the birth date unless swapped)
    swapped: np.ndarray
    dob_exact: np.ndarray
    dob_unknown: np.ndarray
    nat_agree: np.ndarray
    sex_ok: np.ndarray
    weak: np.ndarray
    two_names: np.ndarray  # at least two names matched
    doc_identical: np.ndarray
    doc_rule_identical: np.ndarray  # identical by the document rule (no cut-off involved)
    doc_score: np.ndarray


def collect(screener: Screener, cases: list, cutoffs_floor: Cutoffs) -> tuple[Rows, list[float]]:
    cols: dict[str, list] = {k: [] for k in Rows.__dataclass_fields__}
    cpu_ms = []
    for n, case in enumerate(cases):
        c0 = time.thread_time()
        _, assessed = screener.assessments(case.query, today=TODAY, cutoffs=cutoffs_floor)
        cpu_ms.append((time.thread_time() - c0) * 1e3)
        for a, record in assessed:
            name = a.name.score if a.name else 0.0
            cols["case"].append(n)
            cols["entry"].append(int(record.entry_id[1:]) if record.entry_id[1:].isdigit() else 0)
            cols["expected"].append(record.entry_id == case.expected)
            cols["name"].append(name)
            swapped = a.birth_date.kind == "dob_swapped"
            cols["other_adjust"].append(a.nationality.adjust + a.sex.adjust + (0.0 if swapped else a.birth_date.adjust))
            cols["swapped"].append(swapped)
            cols["dob_exact"].append(a.birth_date.kind == "dob_exact")
            cols["dob_unknown"].append(a.birth_date.kind == "dob_unknown")
            cols["nat_agree"].append(a.nationality.kind == "nat_agree")
            cols["sex_ok"].append(a.sex.kind != "sex_contradict")
            cols["weak"].append(bool(a.name and a.name.weak))
            cols["two_names"].append(bool(a.name and len(a.name.matches) >= 2))
            cols["doc_identical"].append(a.document_identical)
            cols["doc_rule_identical"].append(
                a.document_identical and a.nationality.kind != "nat_contradict"
                and (a.name is None or name >= DOC_NAME_CONSISTENT) and a.birth_date.kind != "dob_disjoint"
                and a.sex.kind != "sex_contradict")
            cols["doc_score"].append(a.score)
    arrays = {k: np.asarray(v) for k, v in cols.items()}
    return Rows(**arrays), cpu_ms


def levels(rows: Rows, c: Cutoffs) -> tuple[np.ndarray, np.ndarray]:
    """(level rank, score) of every row under cut-offs ``c``: decide_level, vectorised."""
    score = NAME_WEIGHT * rows.name + rows.other_adjust + np.where(rows.swapped, c.swapped_birth_date, 0.0)
    score = np.where(rows.doc_identical, rows.doc_score, np.clip(np.round(score, 4), 0.0, 1.0))
    identical = rows.doc_rule_identical | (
        (rows.name >= c.identical_min_name) & ~rows.weak & rows.dob_exact & rows.nat_agree & rows.sex_ok)
    similar = rows.doc_identical | (
        (score >= c.similar_min_score) & (rows.name >= c.similar_min_name) & ~(rows.dob_unknown & ~rows.two_names)
        & ~(rows.weak & ~rows.dob_exact & ~rows.two_names))
    return np.where(identical, 2, np.where(similar, 1, 0)), score


def outcomes(rows: Rows, n_cases: int, c: Cutoffs, max_results: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query: its level (0/1/2) and whether the expected entry is among the results."""
    rank, score = levels(rows, c)
    level = np.zeros(n_cases, dtype=np.int64)
    np.maximum.at(level, rows.case, rank)
    key = rank * 10.0 + score
    exp_key = np.full(n_cases, -1.0)
    exp_entry = np.full(n_cases, -1)
    exp_rows = np.flatnonzero(rows.expected & (rank > 0))
    exp_key[rows.case[exp_rows]] = key[exp_rows]
    exp_entry[rows.case[exp_rows]] = rows.entry[exp_rows]
    ek, ee = exp_key[rows.case], exp_entry[rows.case]
    ahead = (rank > 0) & ((key > ek) | ((key == ek) & (rows.entry < ee))) & (ek >= 0)
    before = np.bincount(rows.case, weights=ahead, minlength=n_cases)
    found = (exp_key >= 0) & (before < max_results)
    return level, found


@dataclass
class Tally:
    """Counts by kind for one set of queries."""

    counts: dict[str, Counter]

    @classmethod
    def of(cls, kinds: np.ndarray, level: np.ndarray, found: np.ndarray, mask: np.ndarray | None = None) -> Tally:
        counts: dict[str, Counter] = {k: Counter() for k in KINDS}
        sel = np.ones(len(kinds), bool) if mask is None else mask
        for kind in KINDS:
            m = sel & (kinds == kind)
            counts[kind]["n"] = int(m.sum())
            counts[kind]["found"] = int((found & m).sum())
            counts[kind]["identical"] = int(((level == 2) & m).sum())
            counts[kind]["flagged"] = int(((level > 0) & m).sum())
        return cls(counts)

    def rate(self, kind: str, what: str) -> float:
        n = self.counts[kind]["n"]
        return self.counts[kind][what] / n if n else float("nan")

    def feasible(self) -> bool:
        neg = sum(self.counts[k]["n"] for k in NOT_IDENTICAL_KINDS)
        return (sum(self.counts[k]["identical"] for k in NOT_IDENTICAL_KINDS) == 0
                and self.rate(CLEAR_KIND, "flagged") <= UNRELATED_MAX_FLAGGED
                and sum(self.counts[k]["flagged"] for k in NOT_IDENTICAL_KINDS) <= NEGATIVES_MAX_FLAGGED * neg)

    def objective(self, c: Cutoffs) -> tuple[float, ...]:
        found = sum(self.counts[k]["found"] for k in FOUND_KINDS)
        false_flags = sum(self.counts[k]["flagged"] for k in NOT_IDENTICAL_KINDS + (CLEAR_KIND,))
        lowest = min(self.rate(k, "found") for k in FOUND_KINDS)
        return (min(lowest, FOUND_TARGET), found - REVIEW_COST * false_flags, c.similar_min_score, c.similar_min_name)


def grid() -> list[Cutoffs]:
    return [Cutoffs(*values) for values in itertools.product(*GRID.values())]


def fit(rows: Rows, kinds: np.ndarray, n_cases: int, mask: np.ndarray, max_results: int) -> Cutoffs:
    """The grid point the selection rule prefers on the queries in ``mask``."""
    best, best_key = None, None
    for c in grid():
        level, found = outcomes(rows, n_cases, c, max_results)
        tally = Tally.of(kinds, level, found, mask)
        if not tally.feasible():
            continue
        key = tally.objective(c)
        if best_key is None or key > best_key:
            best, best_key = c, key
    if best is None:
        raise RuntimeError("no cut-offs in the grid meet the constraints on the training folds")
    return best


def check_against_screen(screener: Screener, cases: list, level: np.ndarray, found: np.ndarray) -> int:
    """How many queries screen() decides differently from the vectorised rules (must be 0)."""
    differ = 0
    for n, case in enumerate(cases):
        result = screener.screen(case.query, today=TODAY)
        ok = result.level != "none" and any(c.entry_id == case.expected for c in result.candidates)
        if _LEVEL_RANK[result.level] != level[n] or (case.expected and ok != bool(found[n])):
            differ += 1
    return differ


PEER_PYTHON_ENV = "AUTOGATE_PEER_PYTHON_NOMENKLATURA"
PEER_THRESHOLDS = tuple(round(0.50 + 0.025 * i, 3) for i in range(19))


@dataclass
class PeerScores:
    """What peer_nomenklatura.py printed, per query in ``cases`` order."""

    expected_score: np.ndarray  # NaN where the query must find nothing
    expected_rank: np.ndarray
    max_score: np.ndarray

    @classmethod
    def read(cls, path: Path, cases: list) -> PeerScores:
        by_id = {}
        for raw in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(raw)
            by_id[row["id"]] = row
        missing = [c.query.id for c in cases if c.query.id not in by_id]
        if missing:
            raise ValueError(f"{path}: no peer score for {len(missing)} queries (e.g. {missing[0]}): another set?")
        rows = [by_id[c.query.id] for c in cases]
        return cls(np.asarray([r.get("expected_score", np.nan) for r in rows], float),
                   np.asarray([r.get("expected_rank", 10**6) for r in rows], float),
                   np.asarray([r["max_score"] for r in rows], float))

    def outcomes(self, threshold: float, max_results: int) -> tuple[np.ndarray, np.ndarray]:
        level = (self.max_score >= threshold).astype(np.int64)  # the peer says match or not: no "identical"
        found = (self.expected_score >= threshold) & (self.expected_rank < max_results)
        return level, found


def fit_peer(peer: PeerScores, kinds: np.ndarray, mask: np.ndarray, max_results: int) -> float:
    """The peer's match threshold by our selection rule (its "identical" constraint is void)."""
    best, best_key = PEER_THRESHOLDS[-1], None
    for t in PEER_THRESHOLDS:
        tally = Tally.of(kinds, *peer.outcomes(t, max_results), mask)
        if not tally.feasible():
            continue
        key = tally.objective(Cutoffs(similar_min_score=t, similar_min_name=0.0))
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best


def run_peer(peer_python: str, data) -> Path:  # type: ignore[no-untyped-def]
    """Write the set, score it with the peer in its own environment; the peer's scores file."""
    from bench.watchlist.screening_set import write_files
    folder = Path(tempfile.mkdtemp(prefix="autogate-screening-set-"))
    write_files(data, folder)
    out = folder / "peer.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        subprocess.run([peer_python, str(HERE / "peer_nomenklatura.py"), str(folder)], stdout=fh, check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--listed", type=int, default=20_000)
    parser.add_argument("--per-kind", type=int, default=1_500)
    parser.add_argument("--peer-python", default=os.environ.get(PEER_PYTHON_ENV) or None,
                        help=f"a Python with nomenklatura installed (default ${PEER_PYTHON_ENV}): "
                             "runs yente's logic-v2 beside ours")
    parser.add_argument("--peer-scores", type=Path, help="peer_nomenklatura.py's output for this set, already run")
    parser.add_argument("--json", type=Path, default=None, help="write every figure and fold here")
    args = parser.parse_args(argv)
    command = command_line(argv)
    scale = args.per_kind / 1_500
    data = build(seed=args.seed, listed=args.listed, per_found_kind=args.per_kind,
                 siblings=int(2_000 * scale), namesakes=int(2_000 * scale), unrelated=int(6_000 * scale))
    cases = data.cases
    t0 = time.perf_counter()
    screener = Screener(data.entries)
    build_s = time.perf_counter() - t0
    floor = CUTOFFS._replace(similar_min_score=0.0)
    rows, cpu_ms = collect(screener, cases, floor)
    kinds = np.asarray([c.kind for c in cases])
    n = len(cases)
    max_results = screener.max_results

    # Shipped cut-offs: the figures a gate gives today, checked against screen() itself.
    level, found = outcomes(rows, n, CUTOFFS, max_results)
    differ = check_against_screen(screener, cases, level, found)
    shipped = Tally.of(kinds, level, found)

    # k-fold by listed person: cut-offs fitted on k-1 folds, counted on the fold left out.
    subjects = np.asarray([c.subject for c in cases])
    folds = subject_folds(sorted(set(subjects)), args.folds, seed=0)
    peer_path = args.peer_scores or (run_peer(args.peer_python, data) if args.peer_python else None)
    peer = PeerScores.read(peer_path, cases) if peer_path else None
    peer_name = "nomenklatura 4.17.4 logic-v2 (yente's matcher), threshold fitted alike" if peer else None
    held: dict[str, Counter] = {k: Counter() for k in KINDS}
    peer_held: dict[str, Counter] = {k: Counter() for k in KINDS}
    per_fold = []
    for f, members in enumerate(folds):
        test = np.fromiter((s in members for s in subjects), bool, count=n)
        chosen = fit(rows, kinds, n, ~test, max_results)
        lvl, fnd = outcomes(rows, n, chosen, max_results)
        tally = Tally.of(kinds, lvl, fnd, test)
        for k in KINDS:
            held[k].update(tally.counts[k])
        fold = {"fold": f, "cutoffs": chosen._asdict(),
                "rates": {k: {w: tally.rate(k, w) for w in ("found", "identical", "flagged")} for k in KINDS}}
        if peer is not None:
            threshold = fit_peer(peer, kinds, ~test, max_results)
            peer_tally = Tally.of(kinds, *peer.outcomes(threshold, max_results), test)
            for k in KINDS:
                peer_held[k].update(peer_tally.counts[k])
            fold["peer_threshold"] = threshold
        per_fold.append(fold)
    refit = fit(rows, kinds, n, np.ones(n, bool), max_results)

    lines = [f"command: {command}",
             f"set: {len(data.entries):,} listed entries, {n:,} labelled queries (seed {args.seed}); "
             f"screener build {build_s:.1f} s; CPU per query p50 {np.percentile(cpu_ms, 50):.2f} ms, "
             f"p99 {np.percentile(cpu_ms, 99):.2f} ms (this list size, loaded machine)",
             f"shipped cut-offs {CUTOFFS._asdict()}; the rule fitted on all subjects picks {refit._asdict()}",
             f"vectorised levels against Screener.screen: {differ} queries differ",
             f"held out: {args.folds}-fold by listed person; cut-offs per fold: "
             + "; ".join(f"{p['fold']}: {tuple(p['cutoffs'].values())}" for p in per_fold)]
    if peer is not None:
        lines.append(f"peer: {peer_name}; its threshold per fold: {[p['peer_threshold'] for p in per_fold]}")
    lines.append("")
    header = f"{'kind':<18} {'what':<10} {'held-out rate (count; 95 % CI)':<40} {'folds min-max':<14} {'shipped':<8}"
    lines.append(header + ("  peer" if peer else ""))
    figures = []
    for kind in KINDS:
        what = "found" if kind in FOUND_KINDS else "identical" if kind in NOT_IDENTICAL_KINDS else "flagged"
        shown = [what] + (["flagged"] if kind in NOT_IDENTICAL_KINDS else [])
        for w in shown:
            rate = Rate(held[kind][w], held[kind]["n"])
            lo, hi = rate.interval
            fold_rates = [p["rates"][kind][w] for p in per_fold]
            peer_value = (peer_held[kind][w] / peer_held[kind]["n"]) if peer is not None and w != "identical" else None
            lines.append(f"{kind:<18} {w:<10} {100 * rate.value:6.2f} % ({rate.errors}/{rate.trials}; "
                         f"{100 * lo:.2f}-{100 * hi:.2f} %){'':<8} {100 * min(fold_rates):5.2f}-{100 * max(fold_rates):5.2f} %"
                         f"  {100 * shipped.rate(kind, w):6.2f} %" + (f"  {100 * peer_value:6.2f} %" if peer_value is not None else ""))
            figures.append(emit(
                f"watchlist.screening.{kind}.{w}", round(rate.value, 5), "fraction", peer=peer_name if peer_value is not None else None,
                peer_value=None if peer_value is None else round(peer_value, 5), command=command,
                count=rate.errors, trials=rate.trials, ci95=[round(lo, 5), round(hi, 5)],
                fold_min=round(min(fold_rates), 5), fold_max=round(max(fold_rates), 5), held_out=True))
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({
            "command": command, "seed": args.seed, "listed": len(data.entries), "queries": n,
            "shipped": CUTOFFS._asdict(), "refit_on_all": refit._asdict(), "differ_from_screen": differ,
            "grid": GRID, "folds": per_fold, "figures": figures,
            "peer": {k: dict(v) for k, v in peer_held.items()} if peer is not None else None,
            "shipped_rates": {k: {w: shipped.rate(k, w) for w in ("found", "identical", "flagged")} for k in KINDS},
        }, indent=1) + "\n")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
