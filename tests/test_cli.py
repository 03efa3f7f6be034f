"""The command line: help, version, usage errors (the demo path: tests/evaluation/test_evaluate.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bayestune import __version__
from bayestune.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
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




@pytest.mark.parametrize(("argv", "help_of"), [
    (["tune", "--data", "d", "--out", "r", "--trails", "3"], "bayestune tune --help"),
    (["simulate", "--presett", "quickstart"], "bayestune simulate --help"),
    (["bench", "compare", "a", "b", "--noise", "2", "--bogus"], "bayestune bench compare --help"),
    (["bench", "--suite", "quick", "--bogus"], "bayestune bench --help"),
])
def test_a_misspelt_flag_names_its_subcommands_help(capsys, argv, help_of):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("bayestune: error: unrecognized arguments: ")
    assert f"see '{help_of}'" in err


def test_a_misspelt_flag_suggests_the_near_one(capsys):
    assert main(["tune", "--data", "d", "--out", "r", "--trails", "3"]) == 2
    assert "did you mean --trials?" in capsys.readouterr().err


def test_an_unknown_top_level_flag_names_the_top_level_help(capsys):
    assert main(["--bogus", "simulate", "--list"]) == 2
    assert "see 'bayestune --help'" in capsys.readouterr().err


def test_a_misspelt_flag_is_named_before_the_options_it_left_missing(capsys):
    assert main(["tune", "--trails", "3"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --trails" in err and "did you mean --trials?" in err
    assert "see 'bayestune tune --help'" in err


def _parsers():
    """Each command line's parser by its words: ``()``, ``("tune",)``, ``("bench", "compare")``."""
    found, todo = {}, [((), build_parser())]
    while todo:
        words, parser = todo.pop()
        found[words] = parser
        if parser._subparsers is not None:  # noqa: SLF001
            for name, sub in parser._subparsers._group_actions[0].choices.items():  # noqa: SLF001
                todo.append(((*words, name), sub))
    return found


def _readme_synopsis(commands):
    """The flags each command line shows in the README's "The command line" block."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## The command line", 1)[1].split("```", 2)[1]
    flags, words = {}, None
    for line in block.splitlines():
        if line.startswith("bayestune"):
            tokens = line.split()[1:]
            words = ()
            while tokens and (*words, tokens[0]) in commands:
                words, tokens = (*words, tokens[0]), tokens[1:]
        if words is not None:
            flags.setdefault(words, set()).update(re.findall(r"--[a-z][a-z-]*", line))
    return flags


def test_the_readme_synopsis_shows_every_flag_of_every_command_and_no_other():
    parsers = _parsers()
    shown = _readme_synopsis(parsers)
    assert set(shown) == set(parsers), "a command is missing from (or unknown to) the README's synopsis"
    wrong = []
    for words, parser in sorted(parsers.items()):
        real = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}  # noqa: SLF001
        if words:
            real.discard("--help")
        if shown[words] != real:
            wrong.append(f"{' '.join(('bayestune', *words))}: missing from the README "
                         f"{sorted(real - shown[words])}, not a flag {sorted(shown[words] - real)}")
    assert not wrong, "\n".join(wrong)
