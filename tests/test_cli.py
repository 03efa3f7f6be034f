"""The command line: help, version, usage errors (the demo path: tests/evaluation/test_evaluate.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bayestune import __version__
from bayestune.cli import build_parser, main

SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bayestune {__version__}"


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: bayestune {command}" in capsys.readouterr().out


def test_the_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "bayestune.cli", "simulate", "--list"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "quickstart" in out and "misspecified" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "simulate" in capsys.readouterr().out


