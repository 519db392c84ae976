"""The `autogate` entry point reaches every group, and split groups reach the right module."""

from __future__ import annotations

import importlib

import pytest

from autogate import cli


@pytest.mark.parametrize("group", sorted(cli.GROUPS))
def test_every_group_module_has_a_main(group: str) -> None:
    module = importlib.import_module(cli.GROUPS[group][0])
    assert callable(module.main)


def test_split_commands_match_the_parsers_they_reach() -> None:
    from central.cctv.cli import COMMANDS as CCTV_COMMANDS
    from central.watchlists.cli import COMMANDS

    routed = cli.SPLIT_GROUPS
    assert {sub for (group, sub), (module, _) in routed.items() if module == "central.watchlists.cli"} == set(COMMANDS)
    assert {key for key, (module, _) in routed.items() if module == "central.cctv.cli"} == set(CCTV_COMMANDS)


def test_unknown_group_is_refused(capsys) -> None:
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_help_lists_every_group(capsys) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert all(group in out for group in cli.GROUPS)
