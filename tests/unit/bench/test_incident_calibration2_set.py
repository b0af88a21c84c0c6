"""The second calibration batch of the incident evaluation set (issue 29) keeps the rules of the first.

`bench/data/incidents/calibration2.jsonl` adds incidents and unrelated tickets to the calibration half only
(see "Second calibration batch" in that folder's README). Each check below is a rule of the set; the broken
copies prove every rule can fail.
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
from tests.unit.bench.test_incident_unrelated_set import MAX_SHARED_5GRAMS, _shared_5grams

FOLDER = Path(__file__).resolve().parents[3] / "bench" / "data" / "incidents"
BATCH = FOLDER / "batch2" / "calibration2.jsonl"
FIELDS = {
    "id", "incident", "split", "minute", "customer", "email", "company",
    "product", "issue_type", "subject", "description",
}  # fmt: skip
TIMELINE_MINUTES = 72 * 60
MAX_SPREAD_MINUTES = 40  # the reports of one incident arrive within this many minutes
SIZE_BANDS = ((3, 3), (4, 7), (8, 9), (10, 12))
FIRST_INCIDENT, FIRST_UNRELATED = 47, 301  # the first batch ends at inc46 and u300
MIN_INCIDENTS, MIN_UNRELATED = 16, 60
HARD_NEGATIVE_MINUTES = 30


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _others() -> list[dict[str, Any]]:
    """Every ticket of the folder that is not in this batch."""
    return [r for p in sorted(FOLDER.glob("*.jsonl")) if p != BATCH for r in _read(p)]


def _ticket_problem(r: dict[str, Any], catalog: set[tuple[str, str]]) -> str | None:
    if (r["product"], r["issue_type"]) not in catalog:
        return f"{r['id']}: {r['product']} / {r['issue_type']} is not a catalog pair"
    if not (isinstance(r["minute"], int) and 0 <= r["minute"] <= TIMELINE_MINUTES):
        return f"{r['id']}: minute {r['minute']} outside 0..{TIMELINE_MINUTES}"
    if r["split"] != "calibration":
        return f"{r['id']}: split {r['split']!r}, this batch is calibration only"
    return ticket_error(r)


def problems(batch: list[dict[str, Any]], others: list[dict[str, Any]]) -> list[str]:
    """Every way `batch` breaks a rule of the set next to the folder's `others`, as readable messages."""
    found: list[str] = []
    catalog = {(p, i) for p in products() for i in issue_types(p)}
    ids = [r.get("id") for r in batch + others]
    if len(ids) != len(set(ids)):
        found.append("duplicate ids across the folder")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unrelated: list[dict[str, Any]] = []
    for r in batch:
        if set(r) != FIELDS:
            found.append(f"{r.get('id')}: fields {sorted(set(r) ^ FIELDS)} wrong")
            continue
        if r["incident"] is None:
            unrelated.append(r)
            number = re.fullmatch(r"u(\d{3})", r["id"])
            if not number or int(number[1]) < FIRST_UNRELATED:
                found.append(f"{r['id']}: an unrelated ticket of this batch is u{FIRST_UNRELATED} or later")
        else:
            groups[r["incident"]].append(r)
            number = re.fullmatch(r"inc(\d{2})", r["incident"])
            if not number or int(number[1]) < FIRST_INCIDENT or not r["id"].startswith(r["incident"] + "-r"):
                found.append(f"{r['id']}: not a new incident's report (inc{FIRST_INCIDENT}-rK or later)")
        problem = _ticket_problem(r, catalog)
        if problem:
            found.append(problem)
    # A person or company in two places would make "distinct customers" an unfair signal either way.
    for key in ("customer", "email", "company"):
        seen = {r[key]: r["id"] for r in others if key in r}
        for r in batch:
            if key not in r:
                continue
            if r[key] in seen:
                found.append(f"{r['id']}: {key} {r[key]!r} already files {seen[r[key]]}")
            seen[r[key]] = r["id"]
    if len(groups) < MIN_INCIDENTS:
        found.append(f"{len(groups)} incidents, fewer than {MIN_INCIDENTS}")
    if len(unrelated) < MIN_UNRELATED:
        found.append(f"{len(unrelated)} unrelated tickets, fewer than {MIN_UNRELATED}")
    bands: set[tuple[int, int]] = set()
    for name, members in groups.items():
        if not 3 <= len(members) <= 12:
            found.append(f"{name}: {len(members)} reports, not 3..12")
        minutes = [m["minute"] for m in members if isinstance(m["minute"], int)]
        if minutes and max(minutes) - min(minutes) > MAX_SPREAD_MINUTES:
            found.append(f"{name}: reports spread over {max(minutes) - min(minutes)} minutes")
        bands |= {b for b in SIZE_BANDS if b[0] <= len(members) <= b[1]}
    if groups and bands != set(SIZE_BANDS):
        found.append(f"incident sizes {sorted(set(SIZE_BANDS) - bands)} missing")
    return found


def _first(rows: list[dict[str, Any]], incident: str | None) -> dict[str, Any]:
    return next(r for r in rows if r["incident"] == incident)


def _relabel(rows: list[dict[str, Any]], incident: str, as_incident: str) -> None:
    for r in rows:
        if r["incident"] == incident:
            r.update(incident=as_incident, id=r["id"].replace(incident, as_incident))


def _drop(rows: list[dict[str, Any]], *incidents: str) -> None:
    rows[:] = [r for r in rows if r["incident"] not in incidents]


def test_the_second_batch_keeps_every_rule() -> None:
    assert problems(_read(BATCH), _others()) == []


def test_the_second_batch_adds_only_to_the_calibration_half() -> None:
    # Given the folder before and with the batch, the test half is the same tickets
    batch = _read(BATCH)
    assert {r["split"] for r in batch} == {"calibration"}
    assert len({r["incident"] for r in batch if r["incident"]}) >= MIN_INCIDENTS
    assert sum(1 for r in batch if r["incident"] is None) >= MIN_UNRELATED


def test_most_new_unrelated_tickets_are_hard_negatives_next_to_a_new_incident() -> None:
    # Given the batch, when each unrelated ticket looks for an incident report on its own product and issue type
    batch = _read(BATCH)
    reports = [r for r in batch if r["incident"]]
    unrelated = [r for r in batch if r["incident"] is None]
    close = [
        u["id"]
        for u in unrelated
        if any(
            (r["product"], r["issue_type"]) == (u["product"], u["issue_type"])
            and abs(r["minute"] - u["minute"]) <= HARD_NEGATIVE_MINUTES
            for r in reports
        )
    ]
    # Then most arrive within half an hour of one, so product, issue type and time cannot tell them apart
    assert len(close) >= 0.6 * len(unrelated)


def test_no_description_reads_like_a_template_of_another_in_the_folder() -> None:
    batch, others = _read(BATCH), _others()
    too_close = [
        (a["id"], b["id"])
        for n, a in enumerate(batch)
        for b in batch[n + 1 :] + others
        if _shared_5grams(a["description"], b["description"]) > MAX_SHARED_5GRAMS
    ]
    assert too_close == []


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda rows: _first(rows, "inc47").update(issue_type="Cold Start Latency"), "is not a catalog pair"),
        (lambda rows: _first(rows, "inc48").update(minute=TIMELINE_MINUTES + 1), "outside 0.."),
        (lambda rows: _first(rows, "inc49").update(split="test"), "calibration only"),
        (lambda rows: _first(rows, None).update(split="test"), "calibration only"),
        (lambda rows: _first(rows, "inc50").update(customer="Marta Kowalczyk"), "already files inc01-r1"),
        (lambda rows: _first(rows, None).update(company="Tallowfinch Analytics"), "already files u001"),
        (lambda rows: rows.append(dict(rows[0])), "duplicate ids"),
        (lambda rows: _first(rows, None).update(id="u150"), "duplicate ids"),
        (lambda rows: _first(rows, None).update(id="u007x"), f"u{FIRST_UNRELATED} or later"),
        (lambda rows: _relabel(rows, "inc51", "inc03"), "not a new incident's report"),
        (
            lambda rows: _first(rows, "inc51").update(minute=_first(rows, "inc51")["minute"] + 90),
            "spread over",
        ),
        (lambda rows: _first(rows, "inc52").update(email="not an address"), "not a valid ticket"),
        (lambda rows: _first(rows, "inc53").pop("company"), "fields ['company'] wrong"),
        (lambda rows: _drop(rows, "inc53", "inc59"), "(10, 12)"),
    ],
)
def test_each_rule_catches_a_broken_copy(breakage: Any, message: str) -> None:
    rows = copy.deepcopy(_read(BATCH))
    breakage(rows)
    found = problems(rows, _others())
    assert any(message in p for p in found), found


def test_too_few_incidents_unrelated_tickets_and_a_lone_report_are_reported() -> None:
    # Given only three incidents of the batch, one cut to a single report, and ten unrelated tickets
    batch = _read(BATCH)
    keep = ["inc47", "inc48", "inc49"]
    small = [r for r in batch if r["incident"] in keep[1:]] + [_first(batch, keep[0])]
    small += [r for r in batch if r["incident"] is None][:10]
    found = problems(small, _others())
    assert f"3 incidents, fewer than {MIN_INCIDENTS}" in found
    assert f"10 unrelated tickets, fewer than {MIN_UNRELATED}" in found
    assert "inc47: 1 reports, not 3..12" in found
