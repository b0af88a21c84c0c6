"""Hand-written warehouse rows for the views' tests, shaped column for column as the ETL loads them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contract.models import TicketLifecycle, lifecycle_columns
from tools.analytics.warehouse import DuckDbWarehouse, declared_columns

Row = list[Any]
# seed_warehouse (conftest): tickets rows, lifecycle rows -> the loaded warehouse
Seed = Callable[[list[Row], list[Row]], DuckDbWarehouse]


def at(text: str) -> datetime:
    """An ISO time as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticket_row(ticket_id: str, submitted: datetime, **given: Any) -> Row:
    """A tickets row: the given columns, every other one a filler of its SQL type."""
    filler = {"VARCHAR": "x", "DOUBLE": 0.5, "BIGINT": 0, "BOOLEAN": False, "TIMESTAMP": submitted}
    given = {"ticket_id": ticket_id, "submitted_at": submitted, **given}
    return [
        given.get(name, next(v for k, v in filler.items() if sql_type.startswith(k)))
        for name, sql_type in declared_columns()["tickets"]
    ]


def lifecycle_row(**fields: Any) -> Row:
    """A ticket_lifecycle row made by the contract's own model (revision "1"), dumped as the ETL loads it."""
    dumped = TicketLifecycle.model_validate({"revision": "1", **fields}).model_dump()
    return [
        v.replace(tzinfo=None)
        if isinstance(v, datetime)
        else (str(v) if v is not None and c.kind == "varchar" else v)
        for c in lifecycle_columns()
        for v in [dumped[c.name]]
    ]
