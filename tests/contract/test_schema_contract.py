"""The warehouse schema lives once, in pipeline/models.py: the Glue schema document, the Spark schema, the
Redshift and local DDL and the MERGE script must all agree with it."""

from __future__ import annotations

import re

import pytest
from pyspark.sql import types as T

from glue.schema import merge_script, spark_schema, spec
from infra import names
from pipeline.models import warehouse_columns
from pipeline.tools.analytics.contract import MERGE_SQL_PATH, SCHEMA_JSON_PATH, render_schema_json

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
    assert SCHEMA_JSON_PATH.read_text() == render_schema_json(), (
        "run: python -m pipeline.tools.analytics.contract"
    )


def test_merge_script_is_generated_from_the_model() -> None:
    assert MERGE_SQL_PATH.read_text() == merge_script(), "run: python -m pipeline.tools.analytics.contract"


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


def test_the_local_warehouse_runs_the_redshift_views_translated_not_a_hand_kept_twin() -> None:
    from pipeline.tools.analytics.warehouse import local_ddl

    views = re.findall(r"CREATE OR REPLACE VIEW (\w+)", (names.SQL_DIR / "020_views.sql").read_text())
    local_views = [s for s in local_ddl() if s.startswith("CREATE OR REPLACE VIEW")]
    assert len(views) == 4
    assert [re.findall(r"VIEW (\w+)", s)[0] for s in local_views] == views
    assert not any("DATEDIFF" in s for s in local_views)
    assert not (names.SQL_DIR / "local" / "020_views.sql").exists()


def test_redshift_only_sql_without_a_local_translation_is_refused() -> None:
    from pipeline.errors import ConfigurationError
    from pipeline.tools.analytics.warehouse import to_local_dialect

    assert "EXTRACT(EPOCH FROM (b - a))" in to_local_dialect("SELECT DATEDIFF(millisecond, a, b) FROM t")
    with pytest.raises(ConfigurationError, match="DATEADD"):
        to_local_dialect("SELECT DATEADD(day, 1, submitted_at) FROM tickets")
