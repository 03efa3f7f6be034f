"""The repository's own files: what a fresh clone ignores after the commands the README gives."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".gitignore").exists(), reason="needs git and the repository's .gitignore")


GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
"""Only the repository's .gitignore decides: no user-wide excludes file."""


def _ignored(repo: Path, path: str) -> bool:
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=repo, capture_output=True, env=GIT_ENV)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_gitignore_ignores_the_virtual_environment_as_tox_4_writes_it_and_as_a_dir(tmp_path, kind):
    """tox 4 writes a ``.venv`` *file* (a pointer to its env); ``python -m venv .venv`` a dir."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=GIT_ENV)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    if kind == "file":
        (tmp_path / ".venv").write_text("/somewhere/.tox/py312\n")
        assert _ignored(tmp_path, ".venv")
    else:
        (tmp_path / ".venv" / "bin").mkdir(parents=True)
        (tmp_path / ".venv" / "bin" / "python").write_text("")
        assert _ignored(tmp_path, ".venv")
        assert _ignored(tmp_path, ".venv/bin/python")
