"""`tms report` shows the top incidents from the warehouse (the root found through its members)."""

from __future__ import annotations

from pathlib import Path

from contract.models import warehouse_columns
from tools.analytics.report import build_report
from tools.analytics.warehouse import DuckDbWarehouse


def _row(ticket_id: str, minute: int, product: str, incident: str, priority: str = "NORMAL") -> str:
    return (
        f"('{ticket_id}', TIMESTAMP '2026-11-27 09:{minute:02d}:00', 'Kim', 'Lee', 'Kim Lee', 'k@example.com', "
        f"'{product}', 'Access Permissions', 'subject', 'description', 'reply', 'NEGATIVE', 0.1, 0.7, 0.1, 0.1, "
        f"'{priority}', 'why', TIMESTAMP '2026-11-27 10:00:00', 'Acme', 'TRIAGED', 'offline-policy-v1', '', "
        f"'{incident}')"
    )


def test_report_lists_the_largest_incidents_with_size_duration_and_products(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_schema()
    big, small = "INC-20261127-AAAAAAAAAA", "INC-20261127-BBBBBBBBBB"
    rows = [
        _row("TKT-20261127-AAAAAAAAAA", 0, "Amazon S3", ""),  # the root: alone when it was archived
        _row("TKT-20261127-AAAAAAAAA1", 5, "Amazon S3", big, "HIGH"),
        _row("TKT-20261127-AAAAAAAAA2", 30, "Amazon CloudFront", big),
        _row("TKT-20261127-BBBBBBBBBB", 10, "AWS Glue", ""),
        _row("TKT-20261127-BBBBBBBBB1", 12, "AWS Glue", small),
        _row("TKT-20261127-CCCCCCCCCC", 20, "Amazon EC2", ""),  # alone
    ]
    # The columns up to incident_id: the usage and priority-bound columns after them keep their defaults.
    names = [c.name for c in warehouse_columns()]
    columns = ", ".join(names[: names.index("incident_id") + 1])
    wh._con.execute(f"INSERT INTO tickets ({columns}) VALUES " + ", ".join(rows))  # noqa: S608 - our literals
    _, incidents = wh.query(
        "SELECT incident_id, reports, high_reports, duration_seconds FROM v_incidents ORDER BY reports DESC"
    )
    assert incidents == [(big, 3, 1, 1800.0), (small, 2, 0, 120.0)]
    page = build_report(wh)
    wh.close()
    assert "Top 5 incidents" in page
    table = page[page.index('<table class="incidents">') :]
    assert table.index(big) < table.index(small)
    assert "Amazon S3, Amazon CloudFront" in table and "30.0 min" in table


def _lifecycle(ticket_id: str, assignee: str | None, answered_minute: int | None) -> str:
    owner = f"'{assignee}'" if assignee else "NULL"
    answered = (
        f"TIMESTAMP '2026-11-27 10:{answered_minute:02d}:00'" if answered_minute is not None else "NULL"
    )
    return f"('{ticket_id}', '0000000001.1', 1, 'TRIAGED', TIMESTAMP '2026-11-27 11:00:00', {owner}, {answered}, FALSE)"


def test_report_shows_the_first_response_time_of_each_agent(tmp_path: Path) -> None:
    """Submitted at 09:mm; answered at 10:mm: Rosa answers both of hers (25 and 55 min), Teo one of two
    (40 min), an unowned ticket counts for nobody."""
    wh = DuckDbWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_schema()
    names = [c.name for c in warehouse_columns()]
    columns = ", ".join(names[: names.index("incident_id") + 1])
    rows = [
        _row("TKT-20261127-RRRRRRRRR1", 35, "Amazon S3", ""),
        _row("TKT-20261127-RRRRRRRRR2", 5, "Amazon EC2", ""),
        _row("TKT-20261127-TTTTTTTTT1", 20, "AWS Glue", ""),
        _row("TKT-20261127-TTTTTTTTT2", 50, "AWS Glue", ""),
        _row("TKT-20261127-NNNNNNNNN1", 10, "Amazon S3", ""),
    ]
    wh._con.execute(f"INSERT INTO tickets ({columns}) VALUES " + ", ".join(rows))  # noqa: S608 - our literals
    life = [
        _lifecycle("TKT-20261127-RRRRRRRRR1", "U0ROSA", 0),
        _lifecycle("TKT-20261127-RRRRRRRRR2", "U0ROSA", 0),
        _lifecycle("TKT-20261127-TTTTTTTTT1", "U0TEO", 0),
        _lifecycle("TKT-20261127-TTTTTTTTT2", "U0TEO", None),
        _lifecycle("TKT-20261127-NNNNNNNNN1", None, 5),
    ]
    insert = (
        "INSERT INTO ticket_lifecycle (ticket_id, revision, version, status, changed_at, assignee, "
        "first_response_at, sla_breached) VALUES "
    )
    wh._con.execute(insert + ", ".join(life))

    _, by_agent = wh.query(
        "SELECT agent, tickets, answered, p50_seconds FROM v_first_response_by_agent ORDER BY agent"
    )
    page = build_report(wh)
    wh.close()

    assert by_agent == [("U0ROSA", 2, 2, 2400.0), ("U0TEO", 2, 1, 2400.0)]
    table = page[page.index('<table class="incidents agents">') :]
    assert "<td>U0ROSA</td><td>2</td><td>2</td><td>40.0 min</td><td>40.0 min</td>" in table
    assert "<td>U0TEO</td><td>2</td><td>1</td><td>40.0 min</td>" in table
