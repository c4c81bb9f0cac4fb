"""The project's own gates run with the tests, so CI checks what a contributor would: ruff's
lint and format, and mypy --strict (pyproject.toml configures all three)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import REPO

TOOLS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format --check": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "mypy --strict": [sys.executable, "-m", "mypy"],
}


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_the_tree_passes(name: str) -> None:
    command = TOOLS[name]
    if shutil.which(command[0]) is None:  # pragma: no cover - the venv always has python
        pytest.skip(f"{command[0]} is missing")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{name}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
