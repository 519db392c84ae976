"""The peer for name screening: OpenSanctions' matcher (nomenklatura's logic-v2, what yente runs),
on the labelled screening set written by ``screening_set.py --write FOLDER``.

    /path/to/peer-venv/bin/python bench/watchlist/peer_nomenklatura.py FOLDER > FOLDER/peer.jsonl

Runs in its own virtual environment (``pip install nomenklatura==4.17.4``: followthemoney, rigour,
PyICU), not autogate's: nothing here imports autogate. Prints one JSON line per query: the score
of the entry it must find (when it must find one), that entry's rank among the scored
candidates, and the highest score of any candidate; bench/watchlist/screening_eval.py fits the
peer's match threshold on the same folds as ours and reports it beside ours.

yente finds candidates with an Elasticsearch full-text query before it scores them; here the
candidates are the entries sharing most name tokens (ICAO-folded, exact) or the full birth date,
at most 30, and the entry the query must find is always scored. That gives the peer every
listed person it should find, so its found rates are an upper bound of what yente would do.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

from followthemoney import model
from nomenklatura.matching import LogicV2

MAX_CANDIDATES = 30
GENDER = {"M": "male", "F": "female"}


def tokens(text: str) -> list[str]:
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.upper()) if not unicodedata.combining(c))
    return [t for t in "".join(c if c.isalpha() else " " for c in folded).split() if len(t) > 1]


def person(entity_id: str, given: str, surname: str, birth: str | None, nationality: str | None, sex: str | None):  # type: ignore[no-untyped-def]
    entity = model.make_entity("Person")
    entity.id = entity_id
    entity.add("name", f"{given} {surname}".strip())
    if given:
        entity.add("firstName", given)
    if surname:
        entity.add("lastName", surname)
    if birth:
        entity.add("birthDate", birth)
    if nationality:
        entity.add("nationality", nationality.lower(), quiet=True)
    if sex in GENDER:
        entity.add("gender", GENDER[sex])
    return entity


def main(folder: str) -> int:
    root = Path(folder)
    entries = {}
    by_token: dict[str, list[str]] = defaultdict(list)
    by_birth: dict[str, list[str]] = defaultdict(list)
    with open(root / "entries.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            eid = row["entry_id"]
            entries[eid] = person(eid, row["given_names"], row["surname"], row["birth_date"] or None,
                                  row["nationality"] or None, row["sex"] or None)
            for tok in set(tokens(row["given_names"] + " " + row["surname"])):
                by_token[tok].append(eid)
            if len(row["birth_date"]) == 10:
                by_birth[row["birth_date"]].append(eid)
    config = LogicV2.default_config()
    with open(root / "cases.jsonl", encoding="utf-8") as fh:
        for raw in fh:
            case = json.loads(raw)
            q = case["query"]
            query = person("query-" + q["id"], q["given_names"], q["surname"], q["birth_date"], q["nationality"], q["sex"])
            votes: Counter[str] = Counter()
            for tok in set(tokens(q["given_names"] + " " + q["surname"])):
                for eid in by_token.get(tok, ()):
                    votes[eid] += 2
            for eid in by_birth.get(q["birth_date"] or "", ()):
                votes[eid] += 1
            candidates = [eid for eid, _ in votes.most_common(MAX_CANDIDATES)]
            expected = case["expected"]
            if expected and expected not in candidates:
                candidates.append(expected)
            scores = {eid: LogicV2.compare(query, entries[eid], config).score for eid in candidates}
            ranked = sorted(scores, key=lambda e: (-scores[e], e))
            out = {"id": q["id"], "max_score": max(scores.values(), default=0.0)}
            if expected:
                out["expected_score"] = scores[expected]
                out["expected_rank"] = ranked.index(expected)
            print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
