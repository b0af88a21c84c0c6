"""Bulk-load synthetic support tickets: a thin CLI over tools.generator and tools.ingest.

Same options as `tms generate`; run from the repo root: `python scripts/generate_ticket.py --count 100`.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file: make the repo importable without installing it.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
