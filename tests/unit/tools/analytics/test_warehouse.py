"""A local warehouse made by an older tms (before a column was added to the contract) keeps its rows and
gains the new columns the next time the ETL opens it, instead of failing the load."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tools.analytics.warehouse import DuckDbWarehouse, declared_columns, upgrade_statements


def _old_warehouse(path: Path) -> None:
    # Before pii_entity_types (issue 16) and the usage columns (issue 17).
    cols = [
        (n, t)
        for n, t in declared_columns()["tickets"]
        if n != "pii_entity_types" and not n.startswith("usage_")
    ]
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE tickets ({', '.join(f'{n} {t}' for n, t in cols)}, PRIMARY KEY (ticket_id))")
    values = {n: "x" for n, _ in cols} | {
        "ticket_id": "TKT-20250101-OLDROW0001",
        "submitted_at": "2025-01-01 10:00:00",
        "processed_at": "2025-01-01 10:00:05",
    }
    for n, t in cols:
        if t.startswith("DOUBLE"):
            values[n] = "0.25"
    con.execute(
        f"INSERT INTO tickets VALUES ({', '.join('?' for _ in cols)})",  # noqa: S608
        [values[n] for n, _ in cols],
    )
    con.close()


def test_an_older_local_warehouse_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _old_warehouse(path)

    wh = DuckDbWarehouse(path)
    wh.ensure_schema()
    wh.ensure_schema()  # idempotent: the second open adds nothing

    _, rows = wh.query("SELECT ticket_id, pii_entity_types, usage_llm_input_tokens FROM tickets")
    assert rows == [("TKT-20250101-OLDROW0001", None, 0)]  # no usage recorded: 0, as the migration does
    _, views = wh.query("SELECT COUNT(*) FROM v_tickets_by_priority_day")
    assert views[0][0] >= 1
    wh.close()


def test_a_new_warehouse_needs_no_upgrade() -> None:
    assert upgrade_statements({}) == []
    declared = {t: {n for n, _ in cols} for t, cols in declared_columns().items()}
    assert upgrade_statements(declared) == []
    assert "pii_entity_types" in declared["tickets"]
