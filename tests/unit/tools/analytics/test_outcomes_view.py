"""v_ticket_outcomes (issue 32) on the local warehouse: resolution time, reopen rate, auto-closed share and
CSAT per week, agent, category and priority, computed from lifecycle rows made by the contract's own model
(contract.models.TicketLifecycle) and loaded column for column, as the ETL loads them."""

from __future__ import annotations

import pytest

from tests.unit.tools.analytics.rows import Seed, at, lifecycle_row, ticket_row
from tools.analytics.warehouse import DuckDbWarehouse


@pytest.fixture
def warehouse(seed_warehouse: Seed) -> DuckDbWarehouse:
    tickets = [
        # Ada's billing week: one resolved in 4 h and rated 5, one auto-closed after a week and rated 2,
        # one resolved in 2 h that the customer had reopened once, rated thumbs up.
        ticket_row(
            "TKT-20250106-BILL000001", at("2025-01-06T09:00:00"), issue_type="Billing", priority="NORMAL"
        ),
        ticket_row(
            "TKT-20250107-BILL000002", at("2025-01-07T10:00:00"), issue_type="Billing", priority="NORMAL"
        ),
        ticket_row(
            "TKT-20250108-BILL000003", at("2025-01-08T08:00:00"), issue_type="Billing", priority="NORMAL"
        ),
        # Bob's login outage, still waiting on the customer: nothing ended, every ratio NULL
        ticket_row("TKT-20250109-L0GIN00004", at("2025-01-09T16:30:00"), issue_type="Login", priority="HIGH"),
    ]
    lifecycle = [
        lifecycle_row(version=3,
            ticket_id="TKT-20250106-BILL000001", status="RESOLVED", changed_at=at("2025-01-06T13:00:00"),
            assignee="U0ADA", priority="NORMAL", resolved_at=at("2025-01-06T13:00:00"),
            csat_rating="5", csat_at=at("2025-01-06T18:12:00"),
        ),
        lifecycle_row(version=3,
            ticket_id="TKT-20250107-BILL000002", status="CLOSED", changed_at=at("2025-01-14T10:00:00"),
            assignee="U0ADA", nudged_at=at("2025-01-10T22:00:00"), closed_at=at("2025-01-14T10:00:00"),
            close_reason="no_answer", csat_rating="2", csat_at=at("2025-01-15T07:45:00"),
        ),
        lifecycle_row(version=3,
            ticket_id="TKT-20250108-BILL000003", status="RESOLVED", changed_at=at("2025-01-08T10:00:00"),
            assignee="U0ADA", resolved_at=at("2025-01-08T10:00:00"), reopen_count=1, csat_rating="up",
            csat_at=at("2025-01-08T11:02:00"),
        ),
        lifecycle_row(version=3,
            ticket_id="TKT-20250109-L0GIN00004", status="WAITING_CUSTOMER", changed_at=at("2025-01-09T17:00:00"),
            assignee="U0BOB", priority="HIGH",
        ),
    ]  # fmt: skip
    return seed_warehouse(tickets, lifecycle)


def test_outcomes_per_agent_category_priority_and_week(warehouse: DuckDbWarehouse) -> None:
    cols, rows = warehouse.query("SELECT * FROM v_ticket_outcomes ORDER BY agent")
    by_agent = {r[cols.index("agent")]: dict(zip(cols, r, strict=True)) for r in rows}

    ada = by_agent["U0ADA"]
    assert (str(ada["week"]), ada["category"], ada["priority"]) == ("2025-01-06", "Billing", "NORMAL")
    assert (ada["tickets"], ada["ended"], ada["ratings"], ada["satisfied"]) == (3, 3, 3, 2)
    assert ada["reopen_rate"] == pytest.approx(1 / 3)
    assert ada["auto_closed_share"] == pytest.approx(1 / 3)
    assert ada["csat"] == pytest.approx(2 / 3)
    hours = (4 + 7 * 24 + 2) / 3
    assert ada["avg_resolution_seconds"] == pytest.approx(hours * 3600)
    assert ada["p50_resolution_seconds"] == pytest.approx(4 * 3600)

    bob = by_agent["U0BOB"]
    assert (bob["tickets"], bob["ended"], bob["ratings"]) == (1, 0, 0)
    assert bob["reopen_rate"] is None and bob["csat"] is None and bob["avg_resolution_seconds"] is None


def test_report_shows_csat_per_week_against_the_85_percent_email_benchmark(
    warehouse: DuckDbWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.analytics import report

    # The cost section synthesizes the CDK app (seconds, and nothing this test is about): left out
    monkeypatch.setattr(report, "cost_estimate", lambda *_a, **_k: None)

    page = report.build_report(warehouse)

    # The card: 2 of 3 answers satisfied; the chart with its benchmark line; the per-agent table
    assert "67% of 3" in page and ">CSAT<" in page
    assert "Customer satisfaction per week" in page and 'id="csat-benchmark"' in page
    assert "<td>U0ADA</td><td>3</td><td>2.4 d</td><td>33%</td><td>33%</td><td>67% (3)</td>" in page
