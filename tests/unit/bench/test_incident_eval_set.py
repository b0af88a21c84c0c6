"""The hand-written incident evaluation set (issue 29) keeps the shape the benchmark relies on.

Each check is a rule of `bench/data/incidents/README.md`; the broken copies below prove every rule can fail.
"""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from contract.catalog import issue_types, products
from tests.unit.bench.eval_rows import ticket_error

SET = Path(__file__).resolve().parents[3] / "bench" / "data" / "incidents" / "incidents.jsonl"
FIELDS = {
    "id",
    "incident",
    "split",
    "minute",
    "customer",
    "email",
    "company",
    "product",
    "issue_type",
    "subject",
    "description",
}
TIMELINE_MINUTES = 72 * 60
MAX_SPREAD_MINUTES = 40  # the reports of one incident arrive within this many minutes
SIZE_BANDS = ((3, 3), (4, 6), (7, 9), (10, 12))
MIN_INCIDENTS = 40


def _load() -> list[dict[str, Any]]:
    with SET.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _split_of(incident: str) -> str:
    """The README's rule: incidents alternate, odd numbers calibrate, even numbers test."""
    return "calibration" if int(incident.removeprefix("inc")) % 2 else "test"


def problems(rows: list[dict[str, Any]]) -> list[str]:
    """Every way `rows` breaks a rule of the set, as readable messages (empty when the set is sound)."""
    found: list[str] = []
    catalog = {(p, i) for p in products() for i in issue_types(p)}
    ids = [r.get("id") for r in rows]
    if len(ids) != len(set(ids)):
        found.append("duplicate ids")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if set(r) != FIELDS:
            found.append(f"{r.get('id')}: fields {sorted(set(r) ^ FIELDS)} wrong")
            continue
        groups[r["incident"]].append(r)
        if not re.fullmatch(r"inc\d{2}", r["incident"]) or not r["id"].startswith(r["incident"] + "-r"):
            found.append(f"{r['id']}: id does not name its incident {r['incident']}")
        if (r["product"], r["issue_type"]) not in catalog:
            found.append(f"{r['id']}: {r['product']} / {r['issue_type']} is not a catalog pair")
        if not (isinstance(r["minute"], int) and 0 <= r["minute"] <= TIMELINE_MINUTES):
            found.append(f"{r['id']}: minute {r['minute']} outside 0..{TIMELINE_MINUTES}")
        if error := ticket_error(r):
            found.append(error)
    if len(groups) < MIN_INCIDENTS:
        found.append(f"{len(groups)} incidents, fewer than {MIN_INCIDENTS}")
    bands: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for name, members in groups.items():
        if not 3 <= len(members) <= 12:
            found.append(f"{name}: {len(members)} reports, not 3..12")
        for key in ("customer", "email", "company", "description"):
            if len({m[key] for m in members}) != len(members):
                found.append(f"{name}: two reports share a {key}")
        splits = {m["split"] for m in members}
        if splits != {_split_of(name)}:
            found.append(f"{name}: split {sorted(splits)}, the rule says {_split_of(name)}")
        minutes = [m["minute"] for m in members if isinstance(m["minute"], int)]
        if minutes and max(minutes) - min(minutes) > MAX_SPREAD_MINUTES:
            found.append(f"{name}: reports spread over {max(minutes) - min(minutes)} minutes")
        band = next((b for b in SIZE_BANDS if b[0] <= len(members) <= b[1]), None)
        if band:
            bands[_split_of(name)].add(band)
    for half in ("calibration", "test"):
        if bands[half] != set(SIZE_BANDS):
            found.append(f"{half} half lacks incident sizes {sorted(set(SIZE_BANDS) - bands[half])}")
    return found


def test_the_incident_set_keeps_every_rule() -> None:
    rows = _load()
    assert problems(rows) == []
    assert len({r["incident"] for r in rows}) >= 42


def test_the_set_has_hard_cases_same_product_and_issue_type_in_different_incidents() -> None:
    # Given the set, when incidents are keyed by their most common (product, issue type)
    by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _load():
        by_pair[(r["product"], r["issue_type"])].add(r["incident"])
    # Then several pairs are shared by two or more distinct problems, so the pair alone cannot group
    assert sum(1 for incidents in by_pair.values() if len(incidents) >= 2) >= 5


def _first(rows: list[dict[str, Any]], incident: str) -> dict[str, Any]:
    return next(r for r in rows if r["incident"] == incident)


def _move_incident(rows: list[dict[str, Any]], incident: str, split: str) -> None:
    for r in rows:
        if r["incident"] == incident:
            r["split"] = split


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda rows: _first(rows, "inc01").update(issue_type="Cold Start Latency"), "is not a catalog pair"),
        (lambda rows: _first(rows, "inc02").update(minute=TIMELINE_MINUTES + 1), "outside 0.."),
        (lambda rows: _first(rows, "inc03").update(split="test"), "split ['calibration', 'test']"),
        (lambda rows: _move_incident(rows, "inc03", "test"), "the rule says calibration"),
        (lambda rows: rows.append(dict(_first(rows, "inc04"), id="inc04-r99")), "share a customer"),
        (lambda rows: rows.append(dict(rows[0])), "duplicate ids"),
        (
            lambda rows: _first(rows, "inc05").update(minute=_first(rows, "inc05")["minute"] + 90),
            "spread over",
        ),
        (lambda rows: _first(rows, "inc06").update(email="not an address"), "not a valid ticket"),
        (lambda rows: _first(rows, "inc07").pop("company"), "fields ['company'] wrong"),
    ],
)
def test_each_rule_catches_a_broken_copy(breakage: Any, message: str) -> None:
    rows = copy.deepcopy(_load())
    breakage(rows)
    assert any(message in p for p in problems(rows)), problems(rows)


def test_too_few_incidents_and_a_lone_report_are_reported() -> None:
    rows = _load()
    # Given only the reports of 10 incidents, one of them cut to a single report
    keep = sorted({r["incident"] for r in rows})[:10]
    small = [r for r in rows if r["incident"] in keep]
    small = [r for r in small if r["incident"] != keep[0]] + [_first(small, keep[0])]
    found = problems(small)
    assert "10 incidents, fewer than 40" in found
    assert f"{keep[0]}: 1 reports, not 3..12" in found
