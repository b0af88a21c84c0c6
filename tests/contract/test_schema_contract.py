"""The warehouse schema lives once, in pipeline/models.py: the Glue schema document, the Spark schema, the
Redshift and local DDL and the MERGE script must all agree with it."""

from __future__ import annotations

import re

import pytest
from pyspark.sql import types as T

from glue.schema import merge_script, spark_schema, spec
from infra import names
from pipeline.analytics.contract import MERGE_SQL_PATH, SCHEMA_JSON_PATH, render_schema_json
from pipeline.models import warehouse_columns

_COLUMN_LINE = re.compile(
    r"^\s+(\w+)\s+(VARCHAR\((\d+)\)|TIMESTAMP|DOUBLE PRECISION)\s+(NOT NULL|NULL)", re.M
)
_KIND = {"TIMESTAMP": "timestamp", "DOUBLE PRECISION": "double"}


def _ddl_columns(path: str) -> list[tuple[str, str, int | None, bool]]:
    text = (names.SQL_DIR / path).read_text()
    body = text[text.index("CREATE TABLE IF NOT EXISTS tickets (") :]
    body = body[: body.index("PRIMARY KEY")]
    return [
        (m[1], _KIND.get(m[2], "varchar"), int(m[3]) if m[3] else None, m[4] == "NULL")
        for m in _COLUMN_LINE.finditer(body)
    ]


def _model_columns() -> list[tuple[str, str, int | None, bool]]:
    return [(c.name, c.kind, c.max_bytes, c.nullable) for c in warehouse_columns()]


def test_glue_schema_json_is_generated_from_the_model() -> None:
    assert SCHEMA_JSON_PATH.read_text() == render_schema_json(), "run: python -m pipeline.analytics.contract"


def test_merge_script_is_generated_from_the_model() -> None:
    assert MERGE_SQL_PATH.read_text() == merge_script(), "run: python -m pipeline.analytics.contract"


@pytest.mark.parametrize("ddl", ["001_tickets.sql", "local/001_tickets.sql"])
def test_ddl_columns_match_the_model(ddl: str) -> None:
    assert _ddl_columns(ddl) == _model_columns()


def test_spark_schema_matches_the_model() -> None:
    kinds = {"varchar": T.StringType(), "timestamp": T.TimestampNTZType(), "double": T.DoubleType()}
    expected = [(c.name, kinds[c.kind], c.nullable) for c in warehouse_columns()]
    assert [(f.name, f.dataType, f.nullable) for f in spark_schema().fields] == expected


def test_enum_columns_validate_against_the_model_values() -> None:
    from pipeline.models import Priority, SentimentLabel, TicketStatus

    allowed = {c.name: set(c.allowed) for c in spec().columns if c.allowed}
    assert allowed == {
        "sentiment": set(SentimentLabel),
        "priority": set(Priority),
        "status": set(TicketStatus),
    }


def test_redshift_table_declares_distribution_and_sort_keys_and_encodes_every_column() -> None:
    text = (names.SQL_DIR / "001_tickets.sql").read_text()
    assert "DISTKEY (ticket_id)" in text
    assert "SORTKEY (submitted_at)" in text
    column_lines = [ln for ln in text.splitlines() if _COLUMN_LINE.match(ln)]
    assert len(column_lines) == len(warehouse_columns())
    assert all("ENCODE" in ln for ln in column_lines)


def test_views_have_the_same_names_on_redshift_and_locally() -> None:
    def views(path: str) -> list[str]:
        return re.findall(r"CREATE OR REPLACE VIEW (\w+)", (names.SQL_DIR / path).read_text())

    assert views("020_views.sql") == views("local/020_views.sql")
    assert len(views("020_views.sql")) == 4
