"""`autogate face embed` and `autogate face verify`: JSON lines, errors per item, exit status."""

from __future__ import annotations

import json

import pytest

from edge.face.cli import main, parse_pairs


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_embed_prints_one_json_line_per_image(engine, portrait_paths, tmp_path, capsys):
    missing = str(tmp_path / "missing.jpg")
    status = main(["embed", "--json", portrait_paths["obama"], missing])
    out = _lines(capsys.readouterr().out)
    assert status == 1
    assert set(out[0]) == {"file", "embedding", "quality", "box"}
    assert len(out[0]["embedding"]) == engine.dimension and len(out[0]["box"]) == 4
    assert out[0]["quality"]["acceptable"] is True
    assert out[1]["file"] == missing and "no such file (not_found)" in out[1]["error"]


def test_verify_scores_each_pair(portrait_paths, tmp_path, capsys):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(f"{portrait_paths['obama']} {portrait_paths['obama2']}\n\n"
                     f"# impostor\n{portrait_paths['obama']} {portrait_paths['biden']}\n")
    assert main(["verify", "--pairs", str(pairs), "--json"]) == 0
    same, other = _lines(capsys.readouterr().out)
    assert set(same) == {"a", "b", "score", "threshold", "match"}
    assert same["match"] is True and other["match"] is False
    assert same["threshold"] == other["threshold"]


def test_embed_with_sface_selected_gives_its_128_values(portrait_paths, capsys):
    assert main(["--embedder", "face-sface", "embed", "--json", portrait_paths["obama"]]) == 0
    assert len(_lines(capsys.readouterr().out)[0]["embedding"]) == 128


def test_verify_with_a_bad_pairs_file_is_a_usage_error(tmp_path, capsys):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("only-one-path.jpg\n")
    assert main(["verify", "--pairs", str(pairs), "--json"]) == 2
    assert "line 1" in capsys.readouterr().err


def test_pairs_allow_quoted_paths_with_spaces():
    assert parse_pairs('"a b.jpg" c.jpg\n') == [("a b.jpg", "c.jpg")]
    with pytest.raises(ValueError):
        parse_pairs("a.jpg b.jpg c.jpg")
