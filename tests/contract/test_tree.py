"""Unit tests mirror the source tree: tests/unit/<package>/<folder>/test_<module>.py sits beside nothing else."""

from __future__ import annotations

from tests.paths import REPO_ROOT

UNIT = REPO_ROOT / "tests" / "unit"
# Files that test across the tree (the docs, cold start of every handler, the network guard, what the
# checkout tracks) stay at the top.
CROSS_CUTTING = {"test_docs.py", "test_cold_start.py", "test_no_network.py", "test_repository.py"}


def test_every_unit_test_folder_mirrors_a_source_folder() -> None:
    strays = []
    for test in sorted(UNIT.rglob("test_*.py")):
        folder = test.parent.relative_to(UNIT)
        if folder.parts == ():
            if test.name not in CROSS_CUTTING:
                strays.append(f"{test.relative_to(REPO_ROOT)}: put it under tests/unit/<package>/...")
        elif not (REPO_ROOT / folder).is_dir():
            strays.append(f"{test.relative_to(REPO_ROOT)}: no source folder {folder}/")
    assert strays == []
