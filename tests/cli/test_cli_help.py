"""Every command is listed in its group's help, and tools ask only for the secrets they use
(issue 18, item 9).

Before the fix ``autogate watchlist --help`` showed only the gate's ``screen`` and ``check-csv``:
the central commands routed into the group (``import``, ``publish``, ...) were invisible, and
``autogate watchlist import FILE`` refused to run without the web session secret and central's
signing key file although it only writes the database.
"""

from __future__ import annotations

import argparse
import os
import re
from collections import defaultdict

import pytest

from autogate import cli

_original_add_parser = argparse._SubParsersAction.add_parser

CSV = (
    "list,document_number,surname,given_names,birth_date,nationality,sex,agency,valid_from,valid_until,reason\n"
    "pencegahan,A1234567,SANTOSO,BUDI,1985-01-01,IDN,M,KPK,2024-01-01,2030-12-31,court order 12\n"
    "penangkalan,P9876543,SMITH,JOHN,1970,GBR,M,BNN,,,narcotics\n"
    "interpol_sltd,C5550001,,,,,,INTERPOL,,,stolen blank passport\n"
)


def _registered(argv: list[str], monkeypatch, capsys) -> tuple[dict[str, set[str]], str]:
    """Run ``autogate *argv``; return every subcommand its parsers registered (by the prog of
    the parser they belong to) and what it printed."""
    seen: dict[str, set[str]] = defaultdict(set)

    def recording(self, name, **kwargs):  # type: ignore[no-untyped-def]
        seen[self._prog_prefix].add(name)
        return _original_add_parser(self, name, **kwargs)

    monkeypatch.setattr(argparse._SubParsersAction, "add_parser", recording)
    try:
        cli.main(argv)
    except SystemExit:
        pass
    monkeypatch.setattr(argparse._SubParsersAction, "add_parser", _original_add_parser)
    captured = capsys.readouterr()
    return seen, captured.out + captured.err


def _listed(help_text: str, name: str) -> bool:
    """argparse lists each subcommand on a line of its own, indented."""
    return re.search(rf"^\s+{re.escape(name)}\s", help_text, re.MULTILINE) is not None


@pytest.mark.parametrize("group", sorted(cli.GROUPS))
def test_every_command_appears_in_its_groups_help(group: str, monkeypatch, capsys) -> None:
    seen, help_text = _registered([group, "--help"], monkeypatch, capsys)
    prefix = f"autogate {group}"
    assert all(p == prefix or p.startswith(prefix + " ") for p in seen), f"parser progs {sorted(seen)}"
    commands = seen.get(prefix, set()) | {sub for (g, sub) in cli.SPLIT_GROUPS if g == group}
    missing = sorted(name for name in commands if not _listed(help_text, name))
    assert not missing, f"`autogate {group} --help` does not list {missing}"
    for command in sorted(commands):
        nested_seen, nested_help = _registered([group, command, "--help"], monkeypatch, capsys)
        nested = nested_seen.get(f"{prefix} {command}", set())
        missing = sorted(name for name in nested if not _listed(nested_help, name))
        assert not missing, f"`autogate {group} {command} --help` does not list {missing}"


def test_the_walk_sees_split_and_nested_commands(monkeypatch, capsys) -> None:
    """Guards the test above against passing vacuously."""
    seen, help_text = _registered(["watchlist", "--help"], monkeypatch, capsys)
    assert seen["autogate watchlist"] >= {"screen", "check-csv"}
    assert _listed(help_text, "import") and _listed(help_text, "faces")
    nested, _ = _registered(["watchlist", "faces", "--help"], monkeypatch, capsys)
    assert nested["autogate watchlist faces"] == {"import", "publish", "versions"}


@pytest.fixture
def production_env(monkeypatch, tmp_path) -> str:
    """Central's environment as an administrator's shell has it: no demo mode, a database, and
    neither the web session secret nor the signing key file."""
    for name in [n for n in os.environ if n.startswith("AUTOGATE_CENTRAL_")]:
        monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'central.db'}"
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", url)
    return url


def test_watchlist_import_needs_no_secret_and_no_key(production_env, tmp_path, capsys) -> None:
    path = tmp_path / "kpk.csv"
    path.write_text(CSV, encoding="utf-8")
    assert cli.main(["watchlist", "import", str(path), "--by", "admin-1"]) == 0, capsys.readouterr().err
    assert "3 added" in capsys.readouterr().out
    assert cli.main(["watchlist", "versions"]) == 0
    assert "import kpk.csv" in capsys.readouterr().out


def test_publishing_still_needs_the_signing_key_but_not_the_session_secret(production_env, tmp_path, capsys) -> None:
    path = tmp_path / "kpk.csv"
    path.write_text(CSV, encoding="utf-8")
    assert cli.main(["watchlist", "import", str(path), "--publish"]) == 2
    err = capsys.readouterr().err
    assert "CENTRAL_KEY_FILE" in err and "SECRET_KEY" not in err
    assert cli.main(["watchlist", "publish"]) == 2
    assert cli.main(["central", "serve"]) == 2  # the web UI uses both
    assert "SECRET_KEY" in capsys.readouterr().err


def test_database_only_commands_of_central_need_no_secrets(production_env, capsys) -> None:
    assert cli.main(["central", "init-db"]) == 0, capsys.readouterr().err
    assert cli.main(["central", "stats", "--json"]) == 0
    capsys.readouterr()
    cli.main(["enrolment", "show", "X1234567"])  # 1: nothing enrolled, but it ran
    captured = capsys.readouterr()
    assert captured.out.strip() == "[]" and "configuration refused" not in captured.err
