"""The warehouse schema lives once, in contract/models/: the Glue schema document, the Spark schema, the
Redshift and local DDL and the MERGE script must all agree with it."""

from __future__ import annotations

import re

import pytest
from pyspark.sql import types as T

from contract import names
from contract.models import lifecycle_columns, warehouse_columns
from glue.schema import lifecycle_spec, merge_script, spark_schema, spec
from tools.analytics.contract import (
    LIFECYCLE_MERGE_SQL_PATH,
    LIFECYCLE_SCHEMA_JSON_PATH,
    MERGE_SQL_PATH,
    SCHEMA_JSON_PATH,
    lifecycle_document,
    render_schema_json,
)

_COLUMN_LINE = re.compile(
    r"^\s+(\w+)\s+(VARCHAR\((\d+)\)|TIMESTAMP|DOUBLE PRECISION|BIGINT|BOOLEAN)\s+(NOT NULL|NULL)", re.M
)
_KIND = {"TIMESTAMP": "timestamp", "DOUBLE PRECISION": "double", "BIGINT": "bigint", "BOOLEAN": "boolean"}


def _ddl_columns(path: str, table: str = "tickets") -> list[tuple[str, str, int | None, bool]]:
    text = (names.SQL_DIR / path).read_text()
    body = text[text.index(f"CREATE TABLE IF NOT EXISTS {table} (") :]
    body = body[: body.index("PRIMARY KEY")]
    return [
        (m[1], _KIND.get(m[2], "varchar"), int(m[3]) if m[3] else None, m[4] == "NULL")
        for m in _COLUMN_LINE.finditer(body)
    ]


def _model_columns(columns: tuple = ()) -> list[tuple[str, str, int | None, bool]]:
    return [(c.name, c.kind, c.max_bytes, c.nullable) for c in columns or warehouse_columns()]


def test_glue_schema_json_is_generated_from_the_model() -> None:
    assert SCHEMA_JSON_PATH.read_text() == render_schema_json(), "run: python -m tools.analytics.contract"


def test_merge_script_is_generated_from_the_model() -> None:
    assert MERGE_SQL_PATH.read_text() == merge_script(), "run: python -m tools.analytics.contract"


@pytest.mark.parametrize("ddl", ["001_tickets.sql", "local/001_tickets.sql"])
def test_ddl_columns_match_the_model(ddl: str) -> None:
    assert _ddl_columns(ddl) == _model_columns()


def test_spark_schema_matches_the_model() -> None:
    kinds = {
        "varchar": T.StringType(),
        "timestamp": T.TimestampNTZType(),
        "double": T.DoubleType(),
        "bigint": T.LongType(),
    }
    expected = [(c.name, kinds[c.kind], c.nullable) for c in warehouse_columns()]
    assert [(f.name, f.dataType, f.nullable) for f in spark_schema().fields] == expected


def test_enum_columns_validate_against_the_model_values() -> None:
    from contract.models import Priority, SentimentLabel, TicketStatus

    allowed = {c.name: set(c.allowed) for c in spec().columns if c.allowed}
    assert allowed == {
        "sentiment": set(SentimentLabel),
        "priority": set(Priority),
        "status": set(TicketStatus),
        "model_priority": set(Priority),
    }


def test_redshift_table_declares_distribution_and_sort_keys_and_encodes_every_column() -> None:
    text = (names.SQL_DIR / "001_tickets.sql").read_text()
    assert "DISTKEY (ticket_id)" in text
    assert "SORTKEY (submitted_at)" in text
    column_lines = [ln for ln in text.splitlines() if _COLUMN_LINE.match(ln)]
    assert len(column_lines) == len(warehouse_columns())
    assert all("ENCODE" in ln for ln in column_lines)


def test_the_local_warehouse_runs_the_redshift_views_translated_not_a_hand_kept_twin() -> None:
    from tools.analytics.warehouse import local_ddl

    views = re.findall(r"CREATE OR REPLACE VIEW (\w+)", (names.SQL_DIR / "020_views.sql").read_text())
    local_views = [s for s in local_ddl() if s.startswith("CREATE OR REPLACE VIEW")]
    # seven ticket views (SLA attainment, the outcomes of issue 32 and the reply acceptance of issue 30
    # included), two incident views, one per agent
    assert len(views) == 10
    assert [re.findall(r"VIEW (\w+)", s)[0] for s in local_views] == views
    assert not any("DATEDIFF" in s for s in local_views)
    assert not (names.SQL_DIR / "local" / "020_views.sql").exists()


def test_redshift_only_sql_without_a_local_translation_is_refused() -> None:
    from contract.errors import ConfigurationError
    from tools.analytics.warehouse import to_local_dialect

    assert "EXTRACT(EPOCH FROM (b - a))" in to_local_dialect("SELECT DATEDIFF(millisecond, a, b) FROM t")
    with pytest.raises(ConfigurationError, match="DATEADD"):
        to_local_dialect("SELECT DATEADD(day, 1, submitted_at) FROM tickets")


# --- ticket_lifecycle: the second contract (contract.models.TicketLifecycle) ----------------------------


def test_lifecycle_schema_json_and_merge_are_generated_from_the_model() -> None:
    assert LIFECYCLE_SCHEMA_JSON_PATH.read_text() == render_schema_json(lifecycle_document()), (
        "run: python -m tools.analytics.contract"
    )
    assert LIFECYCLE_MERGE_SQL_PATH.read_text() == merge_script(lifecycle_document())


@pytest.mark.parametrize("ddl", ["002_ticket_lifecycle.sql", "local/002_ticket_lifecycle.sql"])
def test_lifecycle_ddl_columns_match_the_model(ddl: str) -> None:
    assert _ddl_columns(ddl, "ticket_lifecycle") == _model_columns(lifecycle_columns())


def test_lifecycle_spark_schema_matches_the_model_and_orders_by_revision() -> None:
    kinds = {
        "varchar": T.StringType(),
        "timestamp": T.TimestampNTZType(),
        "bigint": T.LongType(),
        "boolean": T.BooleanType(),
        "double": T.DoubleType(),
    }
    expected = [(c.name, kinds[c.kind], c.nullable) for c in lifecycle_columns()]
    table = lifecycle_spec()
    assert [(f.name, f.dataType, f.nullable) for f in spark_schema(table).fields] == expected
    assert (table.table, table.staging_table, table.key, table.version_column) == (
        "ticket_lifecycle",
        "ticket_lifecycle_staging",
        "ticket_id",
        "revision",
    )


def test_the_lifecycle_carries_no_free_text_and_no_customer_data() -> None:
    from contract.models import ProcessedRecord

    personal_or_free = {
        "subject",
        "description",
        "response_text",
        "priority_reasoning",
        "customer_email",
        "customer_first_name",
        "customer_last_name",
        "customer_full_name",
        "company",
    }
    assert personal_or_free <= set(ProcessedRecord.model_fields)
    assert not personal_or_free & {c.name for c in lifecycle_columns()}
    assert all((c.max_bytes or 0) <= 64 for c in lifecycle_columns())


def test_every_issue_14_sla_column_reaches_the_warehouse() -> None:
    names_ = {c.name for c in lifecycle_columns()}
    assert {"first_response_at", "sla_due_at", "sla_breached", "assignee", "status"} <= names_


def test_the_redshift_lifecycle_table_is_keyed_like_tickets_and_encodes_every_column() -> None:
    text = (names.SQL_DIR / "002_ticket_lifecycle.sql").read_text()
    assert "DISTKEY (ticket_id)" in text
    column_lines = [ln for ln in text.splitlines() if _COLUMN_LINE.match(ln)]
    assert len(column_lines) == len(lifecycle_columns())
    assert all("ENCODE" in ln for ln in column_lines)
