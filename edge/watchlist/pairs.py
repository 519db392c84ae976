"""Precision and recall of the name matcher on a labelled pair file (name_a, name_b, same).

Used by the tests (as a floor) and the benchmark (as a figure); also meant for re-measuring on a
set of real, reviewed pairs once officers' decisions are collected.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

from edge.watchlist.names import compare_names, parse_name

NAME_MATCH = 0.80  # a name alone at this score, with birth date and nationality agreeing, is a review


class PairScores(NamedTuple):
    precision: float
    recall: float
    pairs: int
    errors: list[str]


def precision_recall(path: Path | str, threshold: float = NAME_MATCH) -> PairScores:
    tp = fp = fn = n = 0
    errors = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            n += 1
            score = compare_names(parse_name("", row["name_a"]), parse_name("", row["name_b"])).score
            same = row["same"].strip() == "1"
            hit = score >= threshold
            tp += hit and same
            fp += hit and not same
            fn += same and not hit
            if hit != same:
                errors.append(f"{row['name_a']} | {row['name_b']}: {score:.2f}, labelled {'same' if same else 'different'}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return PairScores(precision, recall, n, errors)
