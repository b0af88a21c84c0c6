"""A local warehouse seeded with the views' tests' own rows (tests/unit/tools/analytics/rows.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.unit.tools.analytics.rows import Row, Seed
from tools.analytics.warehouse import DuckDbWarehouse


@pytest.fixture
def seed_warehouse(tmp_path: Path) -> Iterator[Seed]:
    """Builds a warehouse with the schema and the given tickets and lifecycle rows; closed after the test."""
    opened: list[DuckDbWarehouse] = []

    def seed(tickets: list[Row], lifecycle: list[Row]) -> DuckDbWarehouse:
        path = tmp_path / f"wh{len(opened)}.duckdb"
        DuckDbWarehouse(path).ensure_schema()
        con = duckdb.connect(str(path))
        for table, rows in (("tickets", tickets), ("ticket_lifecycle", lifecycle)):
            for row in rows:
                con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in row)})", row)  # noqa: S608
        con.close()
        opened.append(DuckDbWarehouse(path))
        return opened[-1]

    yield seed
    for wh in opened:
        wh.close()
