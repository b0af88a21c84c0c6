"""The 300 hand-written unrelated tickets of the incident evaluation set (issue 29, point 1).

They are the hard negatives: each ticket is its own problem, so the file must be well formed, split evenly
between the calibration and test halves, spread over the 72-hour timeline the incidents file shares, crowded
onto the products and issue types where incidents happen, and must not read like a template.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from contract import catalog
from tests.paths import REPO_ROOT
from tests.unit.bench.eval_rows import ticket_error

UNRELATED = REPO_ROOT / "bench" / "data" / "incidents" / "unrelated.jsonl"
INCIDENTS = UNRELATED.with_name("incidents.jsonl")  # written on a parallel branch of issue 29
WINDOW_MINUTES = 72 * 60  # the timeline shared with bench/data/incidents/incidents.jsonl
FIELDS = {
    "id", "incident", "split", "minute", "customer", "email", "company",
    "product", "issue_type", "subject", "description",
}  # fmt: skip
MAX_SHARED_5GRAMS = 0.6  # above this, two descriptions were written from one template


@pytest.fixture(scope="module")
def tickets() -> list[dict[str, Any]]:
    return [json.loads(line) for line in UNRELATED.read_text(encoding="utf-8").splitlines()]


def _pair(ticket: dict[str, Any]) -> tuple[str, str]:
    return ticket["product"], ticket["issue_type"]


def _shared_5grams(a: str, b: str) -> float:
    """Share of the shorter text's word 5-grams that also occur in the other text."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / min(len(ga), len(gb)) if ga and gb else 0.0


def test_the_file_holds_300_tickets_with_unique_ids_and_every_field(tickets: list[dict[str, Any]]) -> None:
    assert len(tickets) == 300
    assert len({t["id"] for t in tickets}) == 300
    for t in tickets:
        assert set(t) == FIELDS, t["id"]
        assert t["subject"].strip() and t["description"].strip(), t["id"]
        assert t["customer"].strip() and t["company"].strip() and "@" in t["email"], t["id"]


def test_every_ticket_is_its_own_problem_on_a_catalog_pair(tickets: list[dict[str, Any]]) -> None:
    pairs = {(product, issue) for product, issue, _ in catalog.catalog_pairs(catalog.read_catalog_file())}
    assert [t["id"] for t in tickets if _pair(t) not in pairs] == []
    assert [t["id"] for t in tickets if t["incident"] is not None] == []


def test_every_line_is_a_valid_ticket(tickets: list[dict[str, Any]]) -> None:
    assert [error for t in tickets if (error := ticket_error(t))] == []


def test_no_unrelated_customer_also_reports_an_incident(tickets: list[dict[str, Any]]) -> None:
    # A person or company in both files would make "distinct customers" an unfair signal either way.
    if not INCIDENTS.exists():
        pytest.skip(f"{INCIDENTS.name} is not in this checkout yet")
    reports = [json.loads(line) for line in INCIDENTS.read_text(encoding="utf-8").splitlines()]
    for key in ("customer", "email", "company"):
        assert {t[key] for t in tickets} & {r[key] for r in reports} == set(), key


def test_calibration_and_test_halves_alternate_150_each(tickets: list[dict[str, Any]]) -> None:
    assert Counter(t["split"] for t in tickets) == {"calibration": 150, "test": 150}
    assert all(t["split"] == ("calibration" if n % 2 else "test") for n, t in enumerate(tickets, start=1))


def test_arrivals_cover_the_whole_72_hour_window(tickets: list[dict[str, Any]]) -> None:
    minutes = [t["minute"] for t in tickets]
    assert all(isinstance(m, int) and 0 <= m <= WINDOW_MINUTES for m in minutes)
    # every 12-hour slice gets tickets, so arrival time alone cannot separate them from the incidents
    assert {m * 6 // (WINDOW_MINUTES + 1) for m in minutes} == set(range(6))


def test_unrelated_tickets_crowd_the_same_pairs_at_the_same_time(tickets: list[dict[str, Any]]) -> None:
    arrivals: dict[tuple[str, str], list[int]] = defaultdict(list)
    for t in tickets:
        arrivals[_pair(t)].append(t["minute"])
    crowded = sum(len(m) for m in arrivals.values() if len(m) >= 5)
    assert crowded >= 0.35 * len(tickets)
    within_30_minutes = [
        pair for pair, m in arrivals.items() if any(b - a <= 30 for a, b in itertools.pairwise(sorted(m)))
    ]
    assert len(within_30_minutes) >= 8  # same product and issue type minutes apart, yet independent problems


def test_no_two_descriptions_read_like_one_template(tickets: list[dict[str, Any]]) -> None:
    descriptions = [t["description"] for t in tickets]
    assert len(set(descriptions)) == len(descriptions)
    too_close = [
        (a["id"], b["id"])
        for a, b in itertools.combinations(tickets, 2)
        if _shared_5grams(a["description"], b["description"]) > MAX_SHARED_5GRAMS
    ]
    assert too_close == []


def test_the_template_check_catches_a_templated_pair() -> None:
    template = (
        "Hello, since this morning every request to our bucket {} fails with AccessDenied on GetObject. "
        "We did not change anything on our side and the role still has s3:GetObject. Please check."
    )
    first, second = template.format("acme-logs"), template.format("zeta-data")
    assert _shared_5grams(first, second) > MAX_SHARED_5GRAMS
    own_words = "GetObject on zeta-data is denied for our ETL role, the objects belong to a partner account."
    assert _shared_5grams(first, own_words) < MAX_SHARED_5GRAMS
