"""The command line: help, version, and the demo path."""

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


def test_demo_writes_the_dataset_and_its_figure_and_can_run_again(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    data = tmp_path / "demo" / "dataset"
    assert (data / "overview.png").stat().st_size > 10_000
    assert json.loads((data / "truth.json").read_text())["scenario"]["name"] == "quickstart"
    assert str(data / "overview.png") in capsys.readouterr().out
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
