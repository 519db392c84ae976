"""The back office's commands: ``autogate sop list``, ``autogate central positions / holidays /
office-sweep``, as an operator runs them against a database file."""

from __future__ import annotations

import io
import json

import pytest

from autogate.cli import main as autogate


@pytest.fixture
def env(monkeypatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    monkeypatch.setenv("AUTOGATE_CENTRAL_DEMO_MODE", "1")
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", url)
    return url


def test_sop_list_prints_one_curated_line_per_sop(capsys) -> None:
    assert autogate(["sop", "list", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 38 and all(line["curated"] for line in lines)
    assert {"id", "title", "steps", "positions", "curated"} <= set(lines[0])
    by_id = {line["id"]: line for line in lines}
    assert by_id["doc-01-passport-issuance-mpaspor"]["positions"] == ["petugas_dokjal", "kasi_dokjal"]
    assert by_id["tpi-08-autogate"]["workflows"] == ["gate-referral"]
    assert autogate(["sop", "show", "int-05-intelligence-investigation"]) == 0
    assert "kepala_kantor" in capsys.readouterr().out
    assert autogate(["sop", "show", "nope"]) == 2


def test_positions_holidays_and_the_overdue_sweep_from_the_command_line(env, capsys, monkeypatch) -> None:
    assert autogate(["central", "init-db"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert autogate(["central", "create-user", "budi", "--role", "backoffice", "--password-stdin"]) == 0
    capsys.readouterr()
    assert autogate(["central", "positions", "budi", "petugas_dokjal", "--email", "budi@imigrasi.go.id"]) == 0
    assert capsys.readouterr().out.strip() == "budi: petugas_dokjal"
    assert autogate(["central", "positions", "budi", "kasi_dokjal", "--keep"]) == 0
    assert capsys.readouterr().out.strip() == "budi: kasi_dokjal, petugas_dokjal"
    assert autogate(["central", "positions", "budi", "ncb_interpol"]) == 1
    assert "outside party" in capsys.readouterr().err
    assert autogate(["central", "positions", "--list"]) == 0
    assert "kabid_tpi" in capsys.readouterr().out
    assert autogate(["central", "holidays", "add", "2026-08-17", "Hari", "Kemerdekaan"]) == 0
    assert autogate(["central", "holidays", "list"]) == 0
    assert "2026-08-17  Hari Kemerdekaan" in capsys.readouterr().out
    assert autogate(["central", "holidays", "remove", "2026-08-18"]) == 1
    assert autogate(["central", "office-sweep"]) == 0
    assert "0 overdue notices" in capsys.readouterr().out
