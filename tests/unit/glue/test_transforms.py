"""glue/transforms.py on local Spark: parse, validate with reasons, dedupe. One DataFrame per test."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from glue import transforms
from tests.fixtures_spark import line, record, spark  # noqa: F401 - the session fixture

pytestmark = pytest.mark.spark


def _lines(spark: Any, *values: str) -> Any:  # noqa: F811
    """Raw lines as the job reads them: (value, source)."""
    return spark.createDataFrame(
        [(v, f"s3://b/tickets/{i}.json") for i, v in enumerate(values)], "value string, source string"
    )


def _validated(spark: Any, *values: str) -> list[Any]:  # noqa: F811
    return transforms.validate(transforms.parse_lines(_lines(spark, *values))).orderBy("source").collect()


def test_valid_record_is_cast_to_warehouse_types_without_reason(spark: Any) -> None:  # noqa: F811
    rec = record(7, company="  ACME  ")
    [row] = _validated(spark, line(rec))
    assert row["reason"] is None
    assert row["ticket_id"] == rec.ticket_id
    assert row["submitted_at"] == rec.submitted_at.replace(tzinfo=None)  # UTC wall-clock
    assert row["processed_at"] == rec.processed_at.replace(tzinfo=None)
    assert row["sentiment_score_positive"] == pytest.approx(0.4)
    assert row["company"] == "ACME"


def test_bad_records_get_a_reason_naming_the_problem(spark: Any) -> None:  # noqa: F811
    good = json.loads(line(record(1)))
    bad_enum = {**good, "priority": "URGENT"}
    too_long = {**good, "subject": "é" * 200}  # 200 characters but 400 bytes, over the 256-byte width
    missing = {k: v for k, v in good.items() if k != "customer_email"}
    bad_score = {**good, "sentiment_score_mixed": 1.5}
    bad_time = {**good, "submitted_at": "yesterday"}
    rows = _validated(
        spark, "{not json", *(json.dumps(d) for d in (bad_enum, too_long, missing, bad_score, bad_time)), "  "
    )
    reasons = [r["reason"] for r in rows]
    assert reasons[0] == transforms.MALFORMED
    assert reasons[1].startswith("priority: not one of HIGH, MEDIUM, NORMAL")
    assert reasons[2] == "subject: 400 bytes, over 256"
    assert reasons[3] == "customer_email: missing"
    assert reasons[4] == "sentiment_score_mixed: above 1"
    assert reasons[5] == "submitted_at: not an ISO-8601 timestamp"
    assert reasons[6] == transforms.EMPTY


def test_missing_status_takes_the_model_default(spark: Any) -> None:  # noqa: F811
    data = json.loads(line(record(2)))
    del data["status"]
    [row] = _validated(spark, json.dumps(data))
    assert row["reason"] is None
    assert row["status"] == "TRIAGED"


def test_staging_batch_keeps_one_row_per_ticket_the_latest_processed(spark: Any) -> None:  # noqa: F811
    first = record(3)
    later = record(3, processed_delay=90.0, priority="HIGH")
    other = record(4)
    staged, rejected = transforms.prepare(
        _lines(spark, line(later), line(first), line(first), line(other), '{"ticket_id": 1}')
    )
    rows = {r["ticket_id"]: r for r in staged.collect()}
    assert sorted(rows) == sorted([first.ticket_id, other.ticket_id])
    assert rows[first.ticket_id]["priority"] == "HIGH"
    assert rows[first.ticket_id]["processed_at"] == (first.submitted_at + timedelta(seconds=90)).replace(
        tzinfo=None
    )
    assert staged.columns == [f.name for f in staged.schema.fields]
    assert [r["source"] for r in rejected.collect()] == ["s3://b/tickets/4.json"]
    assert isinstance(rows[other.ticket_id]["submitted_at"], datetime)


def test_lifecycle_records_cast_integers_and_flags_strictly_and_default_the_flag(spark: Any) -> None:  # noqa: F811
    from glue.schema import lifecycle_spec
    from tests.fixtures_spark import lifecycle

    table = lifecycle_spec()
    good = json.loads(lifecycle(1, 2, 7, sla_breached=True).to_json_line())
    no_flag = {k: v for k, v in good.items() if k != "sla_breached"}
    values = [
        json.dumps(good),
        json.dumps(no_flag),
        json.dumps({**good, "version": 1.5}),
        json.dumps({**good, "sla_breached": "maybe"}),
        json.dumps({**good, "status": "ON_HOLD"}),
    ]
    rows = (
        transforms.validate(transforms.parse_lines(_lines(spark, *values), table), table)
        .orderBy("source")
        .collect()
    )
    assert rows[0][transforms.REASON] is None
    assert (rows[0]["version"], rows[0]["sla_breached"]) == (2, True)
    assert rows[1][transforms.REASON] is None and rows[1]["sla_breached"] is False
    assert rows[2][transforms.REASON] == "version: not an integer"
    assert rows[3][transforms.REASON] == "sla_breached: not true or false"
    assert rows[4][transforms.REASON].startswith("status: not one of")
