"""Measured acceptance (issue 30.5) on the local warehouse: v_reply_acceptance joins each sent reply's edit
distance (ticket_lifecycle) to its category, model and grounding (tickets), and `tms report` shows the
unchanged / lightly edited / rewritten shares per week and grounded vs ungrounded. Rows are made by the
contract's own models and loaded column for column, as the ETL loads them."""

from __future__ import annotations

import pytest

from tests.unit.tools.analytics.rows import Seed, at, lifecycle_row, ticket_row
from tools.analytics.warehouse import DuckDbWarehouse

SOURCES = '[{"id": "kb-export-keys", "title": "Rotating API keys", "uri": "https://docs.example.com/keys", "score": 0.71}]'


@pytest.fixture
def warehouse(seed_warehouse: Seed) -> DuckDbWarehouse:
    tickets = [
        # Week of 6 January: two grounded drafts (one sent as drafted, one with a word changed), one
        # ungrounded draft the agent rewrote, and one ticket still waiting for approval (not in the view).
        ticket_row("TKT-20250106-KEYS000001", at("2025-01-06T09:00:00"), issue_type="API", model_id="claude-x", sources=SOURCES),
        ticket_row("TKT-20250107-KEYS000002", at("2025-01-07T10:00:00"), issue_type="API", model_id="claude-x", sources=SOURCES),
        ticket_row("TKT-20250107-BILL000003", at("2025-01-07T11:00:00"), issue_type="Billing", model_id="claude-x", sources=""),
        ticket_row("TKT-20250108-BILL000004", at("2025-01-08T08:00:00"), issue_type="Billing", model_id="claude-x", sources=""),
        # Week of 13 January: one ungrounded draft lightly edited
        ticket_row("TKT-20250113-L0GIN00005", at("2025-01-13T08:00:00"), issue_type="Login", model_id="offline-1", sources=""),
    ]  # fmt: skip
    lifecycle = [
        lifecycle_row(version=4, ticket_id="TKT-20250106-KEYS000001", status="SENT", changed_at=at("2025-01-06T09:20:00"),
                      sent_at=at("2025-01-06T09:20:00"), reply_edit_distance=0.0, sent_unchanged=True),
        lifecycle_row(version=4, ticket_id="TKT-20250107-KEYS000002", status="RESOLVED", changed_at=at("2025-01-07T12:00:00"),
                      sent_at=at("2025-01-07T10:40:00"), reply_edit_distance=0.0556, sent_unchanged=False),
        lifecycle_row(version=4, ticket_id="TKT-20250107-BILL000003", status="SENT", changed_at=at("2025-01-07T11:30:00"),
                      sent_at=at("2025-01-07T11:30:00"), reply_edit_distance=0.85, sent_unchanged=False),
        lifecycle_row(version=4, ticket_id="TKT-20250108-BILL000004", status="TRIAGED", changed_at=at("2025-01-08T08:01:00")),
        lifecycle_row(version=4, ticket_id="TKT-20250113-L0GIN00005", status="SENT", changed_at=at("2025-01-13T09:00:00"),
                      sent_at=at("2025-01-13T09:00:00"), reply_edit_distance=0.4, sent_unchanged=False),
    ]  # fmt: skip
    return seed_warehouse(tickets, lifecycle)


def test_each_sent_reply_has_its_category_model_and_grounding(warehouse: DuckDbWarehouse) -> None:
    cols, rows = warehouse.query("SELECT * FROM v_reply_acceptance ORDER BY ticket_id")
    by_ticket = {r[0]: dict(zip(cols, r, strict=True)) for r in rows}

    assert set(by_ticket) == {
        "TKT-20250106-KEYS000001",
        "TKT-20250107-KEYS000002",
        "TKT-20250107-BILL000003",
        "TKT-20250113-L0GIN00005",
    }
    keys = by_ticket["TKT-20250106-KEYS000001"]
    assert (str(keys["week"]), keys["category"], keys["model_id"], keys["grounded"]) == (
        "2025-01-06",
        "API",
        "claude-x",
        True,
    )
    assert keys["edit_distance"] == 0.0 and keys["sent_unchanged"] is True
    assert by_ticket["TKT-20250107-BILL000003"]["grounded"] is False


def test_the_bands_split_at_the_light_edit_maximum_per_week_and_grounding(warehouse: DuckDbWarehouse) -> None:
    from tools.analytics.report import acceptance_query

    _, rows = warehouse.query(acceptance_query())
    # (week, grounded) -> (sent, unchanged, lightly edited, rewritten); 0.40 itself is a rewrite
    assert {(str(r[0]), r[1]): tuple(int(v) for v in r[2:]) for r in rows} == {
        ("2025-01-06", False): (1, 0, 0, 1),
        ("2025-01-06", True): (2, 1, 1, 0),
        ("2025-01-13", False): (1, 0, 0, 1),
    }


def test_report_shows_acceptance_over_time_and_grounded_vs_ungrounded(
    warehouse: DuckDbWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.analytics import report

    monkeypatch.setattr(report, "cost_estimate", lambda *_a, **_k: None)  # synthesizes the CDK app: not this

    page = report.build_report(warehouse)

    assert "25% of 4" in page and "Replies sent as drafted" in page
    assert "Draft acceptance per week" in page
    assert "<td>grounded (with sources)</td><td>2</td><td>50%</td><td>50%</td><td>0%</td>" in page
    assert "<td>ungrounded</td><td>2</td><td>0%</td><td>0%</td><td>100%</td>" in page
