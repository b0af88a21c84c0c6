"""Fixed places in the repository, for tests wherever they sit in the tree."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS = REPO_ROOT / "tests" / "events"
