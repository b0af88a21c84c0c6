"""What a clean checkout holds: nothing that only exists on the machine that committed it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.paths import REPO_ROOT as ROOT


def _tracked() -> list[tuple[str, str]]:
    """(mode, path) of every tracked file."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-s"], capture_output=True, text=True, check=True
    ).stdout
    return [(line.split()[0], line.split("\t", 1)[1]) for line in out.splitlines() if "\t" in line]


def test_no_tracked_symlink_points_outside_the_checkout() -> None:
    # A .venv symlink to another worktree's virtualenv was once committed: .gitignore's ".venv/" matches
    # directories only, and the symlink (a file to git) slipped through. A clean checkout elsewhere then has a
    # dangling .venv that `make install` cannot create a virtualenv in.
    outside = []
    for mode, path in _tracked():
        if mode != "120000":
            continue
        target = (ROOT / path).parent / (ROOT / path).readlink()
        if not target.resolve().is_relative_to(ROOT):
            outside.append(path)
    assert outside == []


def test_no_virtualenv_is_tracked() -> None:
    venvs = [p for _, p in _tracked() if p.split("/", 1)[0].startswith(".venv")]
    assert venvs == []
