"""The `autogate` entry point reaches every group, and split groups reach the right module."""

from __future__ import annotations

import importlib

import pytest

from autogate import cli


@pytest.mark.parametrize("group", sorted(cli.GROUPS))
def test_every_group_module_has_a_main(group: str) -> None:
    module = importlib.import_module(cli.GROUPS[group][0])
    assert callable(module.main)


def test_split_watchlist_commands_match_central_s_parser() -> None:
    from central.watchlists.cli import COMMANDS

    assert {sub for (group, sub) in cli.SPLIT_GROUPS if group == "watchlist"} == set(COMMANDS)


def test_unknown_group_is_refused(capsys) -> None:
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_help_lists_every_group(capsys) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert all(group in out for group in cli.GROUPS)
