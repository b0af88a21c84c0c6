"""What `make demo` needs beyond the virtualenv, checked before anything runs: each gap named in one line.

The pipeline itself needs only Python; the analytics step (the Glue job's local PySpark twin) needs a Java
runtime. `python -m tools.prereqs` exits 2 with one line per missing piece, so a fresh laptop learns what
to install instead of reading a Spark stack trace at the end of the demo.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

SUPPORTED_PYTHON = ((3, 11), (3, 13))  # pyproject.toml's requires-python, as tested
# Spark 3.5 (Glue 5) runs on Java 8, 11 and 17; 21 works for what the twin does. 17 is what CI installs.
JAVA_SUPPORTED = (8, 21)
JAVA_HINT = (
    "install a Java runtime 17 (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless; "
    "macOS: brew install openjdk@17), or skip the analytics step: .venv/bin/tms demo --no-etl"
)


def python_problem(version: tuple[int, int] = sys.version_info[:2]) -> str | None:
    """Why this Python cannot run tms, or None."""
    low, high = SUPPORTED_PYTHON
    if low <= version <= high:
        return None
    return (
        f"tms needs Python {low[0]}.{low[1]} to {high[0]}.{high[1]}; this is {version[0]}.{version[1]} "
        "(run make with PYTHON=python3.12, say)"
    )


def java_command() -> str | None:
    """The java Spark will start: $JAVA_HOME/bin/java when set (as Spark does), else java on the PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def java_major(java: str) -> int | None:
    """The major version `java -version` reports (1.8 -> 8), or None when it does not run."""
    try:
        out = subprocess.run(  # noqa: S603 - the java Spark itself would start
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def java_problem() -> str | None:
    """Why the analytics step cannot start Spark here, or None."""
    java = java_command()
    if java is None:
        where = "$JAVA_HOME/bin/java" if os.environ.get("JAVA_HOME") else "no java on the PATH"
        return f"the analytics step (local Spark) needs Java: {where}; {JAVA_HINT}"
    major = java_major(java)
    low, high = JAVA_SUPPORTED
    if major is None or not low <= major <= high:
        found = "a java that does not run" if major is None else f"Java {major}"
        return f"the analytics step (local Spark) needs Java {low} to {high}, found {found} ({java}); {JAVA_HINT}"
    return None


def main() -> int:
    """Print one line per missing prerequisite of `make demo`; exit 2 when any is missing."""
    problems = [p for p in (python_problem(), java_problem()) if p]
    for problem in problems:
        print(f"make demo: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
