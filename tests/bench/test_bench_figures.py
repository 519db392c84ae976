"""The bench contract (bench/figures.py, bench/run_all.py): figure lines, the registry, --quick.

run_all is exercised end to end on a throwaway bench module, so the test does not depend on how
long the real benches take; the real registry is checked for names and importable modules.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

from bench import figures, run_all


def test_emit_prints_a_figure_line_with_every_key(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(figures.FIGURES_ENV, raising=False)
    line = figures.emit("watchlist.test.found", 0.97, "fraction", peer="yente", peer_value=0.8, trials=100)
    printed = json.loads(capsys.readouterr().out.strip())
    assert printed == line
    assert list(printed)[:6] == list(figures.REQUIRED_KEYS)
    assert printed["trials"] == 100 and printed["command"].startswith(".venv/bin/python")


def test_emit_appends_to_the_file_run_all_names_and_values_are_plain(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    target = tmp_path / "figures.jsonl"
    monkeypatch.setenv(figures.FIGURES_ENV, str(target))
    figures.emit("a.b", np.float64(1.5), "ms", command="cmd")
    figures.emit("a.c", float("nan"), "ms", command="cmd")
    assert capsys.readouterr().out == ""
    lines = figures.read_figures(target)
    assert [line["value"] for line in lines] == [1.5, None]
    assert all(line["peer"] is None and line["peer_value"] is None for line in lines)


def test_a_line_that_is_not_a_figure_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "f.jsonl"
    bad.write_text('{"name": "x", "value": 1}\n')
    with pytest.raises(ValueError, match="lacks unit"):
        figures.read_figures(bad)
    with pytest.raises(ValueError):
        figures.figure("", 1, "ms")


def test_machine_line_says_what_ran() -> None:
    m = figures.machine()["machine"]
    assert m["cores"] and m["python"] and m["utc"].endswith("Z") and "cpu" in m


def test_registry_names_are_unique_and_modules_exist() -> None:
    names = [b.name for b in run_all.BENCHMARKS]
    assert len(names) == len(set(names))
    for bench in run_all.BENCHMARKS:
        assert importlib.util.find_spec(bench.module) is not None, bench.module
        assert bench.command(False)[:3] == [sys.executable, "-m", bench.module]


FAKE = textwrap.dedent('''
    import sys
    from bench.figures import emit
    print("human text goes to stderr under run_all")
    if "--fail" in sys.argv:
        raise SystemExit(3)
    size = "quick" if "--small" in sys.argv else "full"
    emit("fake.latency_ms", 1.25, "ms", peer="peer 1.0", peer_value=2.5, size=size)
    if "--silent" not in sys.argv:
        emit("fake.found", 0.99, "fraction", held_out=True, size=size)
''')


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    (tmp_path / "fake_bench_mod.py").write_text(FAKE)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{Path(run_all.ROOT)}")
    monkeypatch.setattr(run_all, "BENCHMARKS", (
        run_all.Bench("fake", "fake_bench_mod", ("--big",), ("--small",)),
        run_all.Bench("no-quick", "fake_bench_mod", (), None),
        run_all.Bench("no-data", "fake_bench_mod", needs=(tmp_path / "absent",)),
    ))
    return tmp_path


def test_run_all_prints_the_machine_then_the_figures(fake_registry, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_all.main([]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "machine" in out[0] and out[0]["quick"] is False
    figs = out[1:]
    assert [f["name"] for f in figs] == ["fake.latency_ms", "fake.found"] * 2
    assert figs[0]["peer_value"] == 2.5 and figs[0]["size"] == "full" and figs[0]["bench"] == "fake"


def test_quick_runs_short_forms_and_skips_benches_without_one(fake_registry, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_all.main(["--quick"]) == 0
    captured = capsys.readouterr()
    figs = [json.loads(line) for line in captured.out.splitlines()[1:]]
    assert {f["bench"] for f in figs} == {"fake"} and {f["size"] for f in figs} == {"quick"}
    assert "no-quick: skipped (no --quick form)" in captured.err
    assert "no-data: skipped (no " in captured.err


def test_a_failing_or_silent_bench_fails_the_run(fake_registry, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(run_all, "BENCHMARKS", (
        run_all.Bench("fails", "fake_bench_mod", ("--fail",)),
        run_all.Bench("silent", "fake_bench_mod", ("--silent",)),
    ))
    assert run_all.main(["--only", "fails"]) == 1
    assert "fails: failed (exit 3)" in capsys.readouterr().err
    assert run_all.main(["--only", "silent"]) == 0  # one figure is still a figure
    with pytest.raises(SystemExit):
        run_all.main(["--only", "nonesuch"])
