import json

import cv2
import pytest

from edge.fingerprint import FingerprintEngine, Verification
from edge.fingerprint.cli import main


@pytest.fixture(scope="module")
def engine() -> FingerprintEngine:
    return FingerprintEngine.from_models()


def test_verify_accepts_the_same_finger_and_rejects_another(engine, templates):
    alice, bob = templates["T-alice"], templates["T-bob"]
    same = engine.verify(alice[1], alice[0])
    other = engine.verify(bob[1], alice[0])
    assert isinstance(same, Verification)
    assert same.match and same.score >= same.threshold == engine.threshold
    assert not other.match


def test_iso_enrolment_verifies_like_the_original(engine, templates):
    """An enrolment imported from ISO 19794-2 must still match its owner."""
    alice = templates["T-alice"]
    imported = engine.from_iso(engine.to_iso(alice[0]))
    assert engine.verify(alice[1], imported).match


@pytest.fixture(scope="module")
def image_files(tmp_path_factory, prints):
    d = tmp_path_factory.mktemp("prints")
    paths = {}
    for person, imgs in prints.items():
        for i, img in enumerate(imgs[:2]):
            p = d / f"{person}_{i}.png"
            cv2.imwrite(str(p), img)
            paths[(person, i)] = str(p)
    return paths


def test_cli_verify_prints_one_json_line_per_pair(image_files, tmp_path, capsys):
    pairs = tmp_path / "pairs.txt"
    a0, a1, b0 = image_files[("T-alice", 0)], image_files[("T-alice", 1)], image_files[("T-bob", 0)]
    pairs.write_text(f"# probe enrolled\n{a1} {a0}\n{b0} {a0}\n{a0} /nonexistent.png\n", encoding="utf-8")
    rc = main(["verify", "--pairs", str(pairs), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 1  # one pair could not be compared
    assert len(rows) == 3
    assert set(rows[0]) == {"a", "b", "score", "threshold", "match"}
    assert rows[0]["match"] is True and rows[1]["match"] is False
    assert rows[2]["a"] == a0 and "error" in rows[2] and rows[2]["reason"] == "not_found"


def test_cli_template_writes_iso_records_that_verify(image_files, tmp_path, capsys):
    a0, a1 = image_files[("T-alice", 0)], image_files[("T-alice", 1)]
    rc = main(["template", "--json", "--iso-out", str(tmp_path / "iso"), a0])
    row = json.loads(capsys.readouterr().out)
    assert rc == 0 and row["accepted"] and row["minutiae"] >= 12 and row["iso19794_2"]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(f"{a1} {row['iso_file']}\n", encoding="utf-8")
    assert main(["verify", "--pairs", str(pairs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["match"] is True


def test_cli_reports_a_refused_capture(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), 230 * __import__("numpy").ones((300, 300), "uint8"))
    rc = main(["template", "--json", str(blank)])
    row = json.loads(capsys.readouterr().out)
    assert rc == 1 and row["accepted"] is False and row["reason"] == "no_finger"
