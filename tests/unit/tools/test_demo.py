"""`tms demo` reports the warehouse rows of its own tickets, whatever earlier runs left in the warehouse."""

from __future__ import annotations

from pathlib import Path

from contract.models import TicketUsage
from tests.unit.tools.test_cost import _warehouse_with
from tools.analytics import warehouse_counts
from tools.analytics.warehouse import open_warehouse
from tools.demo import DemoReport, render_table


def test_a_second_demo_counts_its_own_rows_and_shows_the_total_apart(tmp_path: Path) -> None:
    url = _warehouse_with(tmp_path, [TicketUsage()] * 5)  # 5 rows: an earlier run's 3, this run's 2
    warehouse = open_warehouse(url)
    try:
        _, rows = warehouse.query("SELECT ticket_id FROM tickets ORDER BY ticket_id")
    finally:
        warehouse.close()
    this_run = {rows[0][0], rows[1][0], "TKT-not-loaded-yet"}

    counts = warehouse_counts(url, ticket_ids=this_run)

    assert counts == {"warehouse_rows": 2, "warehouse_total_rows": 5, "quarantined_rows": 0}
    report = DemoReport(submitted=3, ticket_ids=this_run, latency_ms={"p50": 1.0, "p95": 2.0, "p99": 3.0})
    report.extra.update(counts)
    assert "ticket_ids" not in report.as_dict()  # the JSON stays a summary
    table = render_table(report)
    assert any(line.split() == ["warehouse", "total", "rows", "5"] for line in table.splitlines())
    assert any(line.split() == ["warehouse", "rows", "2"] for line in table.splitlines())


def test_without_ticket_ids_the_counts_are_the_whole_warehouse(tmp_path: Path) -> None:
    url = _warehouse_with(tmp_path, [TicketUsage()] * 2)

    assert warehouse_counts(url) == {"warehouse_rows": 2, "quarantined_rows": 0}


def test_the_summary_shows_how_many_drafts_were_grounded_and_one_with_its_sources() -> None:
    from tools.demo import DemoReport, render_table

    report = DemoReport(submitted=2, processed=2, latency_ms={"p50": 1, "p95": 2, "p99": 3})
    assert "grounded" not in render_table(report)  # no knowledge base: no line
    report.grounded_drafts = 1
    report.grounded_example = {
        "ticket_id": "TKT-20261207-ABCDEFGHJK",
        "subject": "SSH times out",
        "sources": [{"title": "SSH connection timeouts", "uri": "https://help.example.com/articles/ssh"}],
    }
    table = render_table(report)
    line = next(line for line in table.splitlines() if line.startswith("drafts grounded in the KB"))
    assert line.split() == ["drafts", "grounded", "in", "the", "KB", "1", "of", "2"]
    assert (
        "TKT-20261207-ABCDEFGHJK cites SSH connection timeouts <https://help.example.com/articles/ssh>"
        in table
    )
