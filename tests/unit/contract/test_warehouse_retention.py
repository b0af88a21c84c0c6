"""Warehouse retention has one definition (contract/erasure.py RETAINED_TABLES): the local sweeper's DELETEs
and the ones Redshift runs on a schedule name the same tables and timestamp columns, which the DDL declares."""

from __future__ import annotations

import re

import pytest

from contract import erasure, names
from contract.models import ProcessedRecord
from contract.models.warehouse import LIFECYCLE_TABLE, TICKETS_TABLE
from tools.analytics import warehouse


def test_the_local_sweep_and_redshift_delete_the_same_rows_by_the_same_columns() -> None:
    local = [sql for _, sql in warehouse._SWEEP]
    redshift = erasure.redshift_retention_statements(730, schema="support", tickets_table="tickets_v2")

    assert local == [
        "DELETE FROM tickets WHERE processed_at < ?",
        "DELETE FROM ticket_lifecycle WHERE changed_at < ?",
    ]
    assert redshift == [
        "DELETE FROM support.tickets_v2 WHERE processed_at < DATEADD(day, -730, GETDATE())",
        "DELETE FROM support.ticket_lifecycle WHERE changed_at < DATEADD(day, -730, GETDATE())",
    ]
    assert [s for s, _ in warehouse._SWEEP] == [erasure.WAREHOUSE_TICKETS, erasure.WAREHOUSE_LIFECYCLE]


def test_every_retained_column_is_a_timestamp_column_of_its_redshift_table() -> None:
    ddl = {
        TICKETS_TABLE: (names.SQL_DIR / "001_tickets.sql").read_text(),
        LIFECYCLE_TABLE: (names.SQL_DIR / "002_ticket_lifecycle.sql").read_text(),
    }
    assert {t.table for t in erasure.RETAINED_TABLES} == set(ddl)
    for t in erasure.RETAINED_TABLES:
        assert re.search(rf"^\s*{t.aged_by}\s+TIMESTAMP\b", ddl[t.table], re.MULTILINE), t


def test_a_column_that_is_not_a_timestamp_cannot_age_rows() -> None:
    with pytest.raises(TypeError, match="not a timestamp column"):
        erasure._retained(ProcessedRecord, TICKETS_TABLE, "priority")


@pytest.mark.parametrize("days", [0, -3, 1.5])
def test_a_retention_that_is_not_whole_days_is_refused(days: object) -> None:
    with pytest.raises(ValueError, match="whole number of days"):
        erasure.redshift_retention_statements(days, schema="support")  # type: ignore[arg-type]
