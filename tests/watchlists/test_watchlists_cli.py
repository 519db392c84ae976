"""``autogate watchlist import|publish|versions|check-stale`` at central."""

from __future__ import annotations

import pytest
from wl_support import HEADER, NOW_S, ROWS, FakeBroker

from central.settings import CentralSettings
from central.watchlists import cli
from protocol.topics import WATCHLIST_NOTICE


@pytest.fixture
def settings(tmp_path) -> CentralSettings:
    return CentralSettings(demo_mode=True, database_url=f"sqlite:///{tmp_path / 'central.db'}")


def _run(settings: CentralSettings, *argv: str, broker: FakeBroker | None = None) -> int:
    args = cli._parser().parse_args(list(argv))
    return cli.run(settings, args, publish=broker.publish if broker else None, clock=lambda: NOW_S)


def test_import_then_versions_then_publish(settings, tmp_path, capsys) -> None:
    path = tmp_path / "kpk.csv"
    path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    broker = FakeBroker()
    assert _run(settings, "import", str(path), "--by", "sup-1", "--publish", broker=broker) == 0
    out = capsys.readouterr().out
    assert "3 added" in out and "version 1" in out and "published watchlist version 1" in out
    assert WATCHLIST_NOTICE in broker.retained
    assert _run(settings, "import", str(path), "--by", "sup-1") == 0
    assert "version unchanged" in capsys.readouterr().out
    assert _run(settings, "versions") == 0
    out = capsys.readouterr().out
    assert "sup-1" in out and "import kpk.csv: 3 added" in out
    assert _run(settings, "publish", broker=broker) == 0


def test_a_bad_file_imports_nothing_and_lists_every_error(settings, tmp_path, capsys) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + ROWS[0] + "cekal,Z1,A,B,,,,,,,\n" + "pencegahan,Z2,A,B,1980-02-30,,,,,,\n", encoding="utf-8")
    assert _run(settings, "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "nothing imported, 2 error(s)" in err and "row 3, column list" in err and "row 4, column birth_date" in err
    assert _run(settings, "versions", "--json") == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert _run(settings, "import", str(tmp_path / "missing.csv")) == 2


def test_check_stale_reports_count(settings, capsys) -> None:
    assert _run(settings, "check-stale", "--grace-s", "60") == 0
    assert "0 new stale-watchlist alert(s)" in capsys.readouterr().out


def test_main_reads_settings_from_the_environment(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AUTOGATE_CENTRAL_DEMO_MODE", "true")
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    path = tmp_path / "a.csv"
    path.write_text(HEADER + ROWS[1], encoding="utf-8")
    assert cli.main(["import", str(path), "--by", "admin-1"]) == 0
    assert "1 added" in capsys.readouterr().out


def test_publish_without_a_broker_fails_cleanly(tmp_path, capsys) -> None:
    settings = CentralSettings(demo_mode=True, database_url=f"sqlite:///{tmp_path / 'c.db'}", mqtt={"port": 1})
    assert cli.run(settings, cli._parser().parse_args(["publish"]), clock=lambda: NOW_S) == 1
    assert "unreachable" in capsys.readouterr().err


def test_commands_constant_matches_the_parser() -> None:
    """The dispatcher routes ``autogate watchlist <name>`` here by this set; a drift would hide a command."""
    sub = next(a for a in cli._parser()._actions if a.dest == "command")
    assert set(sub.choices) == cli.COMMANDS
