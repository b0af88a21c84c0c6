"""Every default named by issue 26 is written once, in contract/defaults.py; a second literal copy fails.

A copy is a trap: editing contract/defaults.py would then change nothing that deploys (the incident
threshold once lived as 0.76 in the domain and again as a literal in the function settings).
"""

from __future__ import annotations

import re
from pathlib import Path

from contract import defaults

REPO = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("contract", "pipeline", "bot", "infra", "glue", "local", "tools", "scripts")
HOME = REPO / "contract" / "defaults.py"


def _literal(value: object) -> str:
    return re.escape(repr(value) if not isinstance(value, str) else value)


# (what, pattern of a second copy). Strings are matched anywhere; numbers where the name says what they are.
COPIES: list[tuple[str, re.Pattern[str]]] = [
    ("reply model id", re.compile(_literal(defaults.BEDROCK_MODEL_ID))),
    ("embedding model id", re.compile(_literal(defaults.BEDROCK_EMBEDDING_MODEL_ID))),
    ("offline embedding model id", re.compile(_literal(defaults.OFFLINE_EMBEDDING_MODEL_ID))),
    (
        "incident candidates",
        re.compile(
            rf"candidates\w*\s*[:=][^\n]*(?<![\d.]){defaults.INCIDENT_CANDIDATES}(?![\d.])", re.IGNORECASE
        ),
    ),
    # The link weights are data per embedding model: a second weights table is a second copy.
    ("incident link weights", re.compile(r"[\"']region_conflict[\"']\s*:\s*-?\d")),
    (
        "incident decay",
        re.compile(
            rf"decay\w*\s*[:=][^\n]*(?<![\d.]){_literal(defaults.INCIDENT_DECAY_PER_HOUR)}(?!\d)",
            re.IGNORECASE,
        ),
    ),
    (
        "incident window",
        re.compile(
            rf"window\w*\s*[:=(][^\n]*(?<![\d.]){defaults.INCIDENT_WINDOW_HOURS}(?![\d.])", re.IGNORECASE
        ),
    ),
    ("SLA targets", re.compile(r'["\']HIGH["\']\s*:\s*["\']\d+[dhms]|Priority\.HIGH\s*:\s*timedelta')),
    (
        "SLA warn fraction",
        re.compile(rf"warn_fraction\w*\s*[:=][^\n]*(?<![\d.]){_literal(defaults.SLA_WARN_FRACTION)}"),
    ),
    (
        "retention days",
        re.compile(
            rf"(retention|tickets|archive|warehouse|inbound_mail)\w*\W*\s*[:=(][^\n]*(?<![\d.])"
            rf"({defaults.RETENTION_DAYS['tickets']}|{defaults.RETENTION_DAYS['archive']})(?![\d.])",
            re.IGNORECASE,
        ),
    ),
    ("catalog file", re.compile(r"catalog\.json")),
    ("catalog parsing", re.compile(r"""\[\s*["']issues["']\s*\]|\.get\(\s*["']issues["']""")),
]
# The one reader of the catalog file.
CATALOG_READER = REPO / "contract" / "catalog.py"


def second_copies(files: list[Path]) -> list[str]:
    """'path:line: what' for every literal copy of a named default outside its home."""
    found = []
    for path in files:
        if path == HOME:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix == ".py" else line
            for what, pattern in COPIES:
                if what.startswith("catalog") and path == CATALOG_READER:
                    continue
                if pattern.search(code):
                    found.append(f"{path.relative_to(REPO)}:{number}: {what}")
    return found


def source_files() -> list[Path]:
    files = [
        p for folder in SOURCE_FOLDERS for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts
    ]
    return [*files, REPO / "cdk.json"]


def test_each_named_default_has_one_home() -> None:
    assert second_copies(source_files()) == []


def test_cdk_json_does_not_restate_the_sla_defaults() -> None:
    text = (REPO / "cdk.json").read_text()
    assert '"targets"' not in text and '"warn_fraction"' not in text


def test_a_second_copy_of_a_default_is_found(tmp_path: Path) -> None:
    planted = tmp_path / "settings.py"
    planted.write_text(
        "max_candidates = 24\n"
        "WEIGHTS = {'region_conflict': -2.0}\n"
        "decay_per_hour = 0.05\n"
        "DEFAULT_WINDOW = timedelta(hours=48)\n"
        'TARGETS = {"HIGH": "1h"}\n'
        'MODEL = "us.amazon.nova-lite-v1:0"\n'
        "raw = json.loads(open('pipeline/data/catalog.json').read())\n"
        "for issue in entry['issues']:\n"
        "    warn_fraction = 0.8\n"
    )
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        found = {line.split(": ", 1)[1] for line in second_copies([planted])}
    finally:
        REPO = saved
    assert found == {
        "incident candidates",
        "incident link weights",
        "incident decay",
        "incident window",
        "SLA targets",
        "reply model id",
        "catalog file",
        "catalog parsing",
        "SLA warn fraction",
    }
