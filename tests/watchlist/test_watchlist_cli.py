"""``autogate watchlist screen`` and ``check-csv`` through ``main(argv)``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from edge.watchlist.cli import main
from edge.watchlist.model import WatchlistEntry
from edge.watchlist.snapshot import WatchlistSnapshot, save_snapshot

CSV = (
    "entry_id,list,document_number,surname,given_names,birth_date,nationality,sex,agency,valid_from,valid_until,reason\n"
    "P1,pencegahan,B1234567,SOEHARTO,MOCH. DJOKO,1970-03-04,IDN,M,KPK,2024-01-01,2030-12-31,tersangka\n"
    "S1,interpol_sltd,X999,,,,MYS,,INTERPOL,,,stolen\n"
    "OLD,penangkalan,Z1,TANOTO,ROBERT,1960-01-01,SGP,M,BIN,2020-01-01,2021-01-01,expired\n"
)
QUERIES = [
    {"id": "q1", "document_number": "A0000001", "surname": "SUHARTO", "given_names": "MUHAMMAD JOKO",
     "birth_date": "1970-03-04", "nationality": "IDN", "sex": "M"},
    {"id": "q2", "document_number": "X999", "nationality": "MYS"},
    {"id": "q3", "document_number": "Z1", "surname": "TANOTO", "given_names": "ROBERT", "birth_date": "1960-01-01",
     "nationality": "SGP", "sex": "M"},
]


def run(argv: list[str], stdin: str = "") -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue().splitlines()


def test_screen_json_one_line_per_query(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(CSV)
    code, lines = run(["screen", "--json", "--list", str(path), "--today", "2026-01-01"],
                      "\n".join(json.dumps(q) for q in QUERIES) + "\n")
    assert code == 0
    results = [json.loads(line) for line in lines]
    assert [(r["id"], r["level"]) for r in results] == [("q1", "identical"), ("q2", "identical"), ("q3", "none")]
    first = results[0]["candidates"][0]
    assert first["entry_id"] == "P1" and 0 < first["score"] <= 1 and first["reasons"]


def test_screen_reads_a_snapshot_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    save_snapshot(WatchlistSnapshot(version=1, entries=(
        WatchlistEntry(entry_id="S1", list="interpol_sltd", document_numbers=("X999",)),)), path)
    code, lines = run(["screen", "--json", "--list", str(path), "--today", "2026-01-01"],
                      'not json\n{"id": "bad", "sex": "Q"}\n{"id": "ok", "document_number": "X999"}\n')
    assert code == 1
    errors = [json.loads(line) for line in lines]
    assert errors[0]["id"] is None and errors[0]["error"].startswith("line 1:")
    assert errors[1]["id"] == "bad" and "sex" in errors[1]["error"]
    assert errors[2]["level"] == "identical"


def test_check_csv(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(CSV)
    assert run(["check-csv", str(good)]) == (0, [f"{good}: 3 valid entries, 0 invalid row(s)"])
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV.replace("1970-03-04", "1970-3-4"))
    code, lines = run(["check-csv", str(bad)])
    assert code == 1
    assert lines[0] == f"{bad}: row 2, column 'birth_date': birth date '1970-3-4' is not YYYY, YYYY-MM or YYYY-MM-DD"


def test_unreadable_list_exits_2(tmp_path: Path) -> None:
    code, _ = run(["screen", "--json", "--list", str(tmp_path / "absent.json")])
    assert code == 2
