"""The local retention sweeper (moto never expires anything): with short periods, what is past its retention
goes (expired items, every version of old objects, old warehouse rows) and the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from contract import defaults, names
from local.sweeper import Sweeper, retention_from_env
from tools.analytics.warehouse import DuckDbWarehouse

BUCKET = "tms-sweep-test"
SHORT = {k: timedelta(seconds=1) for k in ("tickets", "archive", "inbound_mail", "warehouse")}


@pytest.fixture
def stores(offline_aws: None) -> tuple[Any, Any]:
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return ddb, s3


def test_what_is_past_its_retention_is_deleted_and_the_rest_stays(
    stores: tuple[Any, Any], tmp_path: Path
) -> None:
    ddb, s3 = stores
    now = datetime.now(UTC)
    for key, expires in (("TKT-old", now - timedelta(seconds=5)), ("TKT-new", now + timedelta(days=1))):
        ddb.put_item(
            TableName="t",
            Item={"ticket_id": {"S": key}, names.TABLE_TTL_ATTR: {"N": str(int(expires.timestamp()))}},
        )
    ddb.put_item(TableName="t", Item={"ticket_id": {"S": "ALARM#x"}})  # no TTL: never expires
    for key in ("tickets/d=1/TKT-old.json", "inbound-mail/m1", "etl-state/bookmarks/t.json"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"v1")
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"v2")
    wh = DuckDbWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_schema()
    for tid, changed in (("TKT-old", now - timedelta(days=1)), ("TKT-new", now)):
        wh.query(
            "INSERT INTO ticket_lifecycle (ticket_id, revision, version, status, changed_at, sla_breached) "  # noqa: S608
            f"VALUES ('{tid}', '1', 1, 'TRIAGED', '{changed.replace(tzinfo=None).isoformat()}', false) RETURNING 1"
        )
    wh.close()
    sweeper = Sweeper(
        dynamodb=ddb,
        s3=s3,
        table="t",
        bucket=BUCKET,
        retention={**SHORT, "inbound_mail": timedelta(days=1), "warehouse": timedelta(hours=1)},
        warehouse=lambda: DuckDbWarehouse(tmp_path / "wh.duckdb"),
        clock=lambda: now + timedelta(seconds=3),
    )

    swept = sweeper.sweep()

    assert swept["table"] == 1 and swept["bucket"] == 1 and swept["warehouse:ticket_lifecycle"] == 1
    keys = {i["ticket_id"]["S"] for i in ddb.scan(TableName="t")["Items"]}
    assert keys == {"TKT-new", "ALARM#x"}
    left = {v["Key"] for v in s3.list_object_versions(Bucket=BUCKET).get("Versions", [])}
    assert left == {"inbound-mail/m1", "etl-state/bookmarks/t.json"}  # inbound mail keeps a day here
    wh = DuckDbWarehouse(tmp_path / "wh.duckdb")
    try:
        assert wh.query("SELECT ticket_id FROM ticket_lifecycle")[1] == [("TKT-new",)]
    finally:
        wh.close()
    assert sweeper.sweep() == {
        "table": 0,
        "bucket": 0,
        "warehouse:tickets": 0,
        "warehouse:ticket_lifecycle": 0,
    }


def test_retention_is_read_from_the_environment_in_days_else_the_default() -> None:
    retention = retention_from_env({"TMS_RETENTION_INBOUND_MAIL": "0.5"})

    assert retention["inbound_mail"] == timedelta(hours=12) and retention["tickets"] == timedelta(
        days=defaults.RETENTION_DAYS["tickets"]
    )


def test_a_warehouse_ticket_row_past_retention_disappears_and_a_newer_one_stays(tmp_path: Path) -> None:
    # Given two tickets in the local warehouse, triaged three days and one hour ago, and two days' retention
    from contract.models import ProcessedRecord, SentimentResult, TriageResult, warehouse_columns
    from tests.conftest import make_ticket

    now = datetime.now(UTC)
    sentiment = SentimentResult.model_validate(
        {
            "Sentiment": "NEUTRAL",
            "SentimentScore": {"Positive": 0.1, "Negative": 0.1, "Neutral": 0.7, "Mixed": 0.1},
        }
    )
    triage = TriageResult(
        response_text="Dear Ana, the export runs again.",
        priority="NORMAL",
        priority_reasoning="A calm question about exports.",
        model_id="offline-policy-v1",
    )
    wh = DuckDbWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_schema()
    columns = [c.name for c in warehouse_columns()]
    kept = {}
    for age in (timedelta(days=3), timedelta(hours=1)):
        ticket = make_ticket()
        row = ProcessedRecord.build(ticket, sentiment, triage, processed_at=now - age).model_dump()
        row["processed_at"] = row["processed_at"].replace(tzinfo=None)
        row["submitted_at"] = row["submitted_at"].replace(tzinfo=None)
        wh._con.execute(
            f"INSERT INTO tickets ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608
            [row[c] for c in columns],
        )
        kept[age] = ticket.ticketId
    wh.close()
    sweeper = Sweeper(
        dynamodb=None,
        s3=None,
        table="t",
        bucket=BUCKET,
        retention={**SHORT, "warehouse": timedelta(days=2)},
        warehouse=lambda: DuckDbWarehouse(tmp_path / "wh.duckdb"),
        clock=lambda: now,
    )

    # When the sweeper sweeps the warehouse
    swept = sweeper._sweep_warehouse(now - sweeper.retention["warehouse"])

    # Then the older row is gone and the newer one stays
    assert swept == {"warehouse:tickets": 1, "warehouse:ticket_lifecycle": 0}
    wh = DuckDbWarehouse(tmp_path / "wh.duckdb")
    try:
        assert wh.query("SELECT ticket_id FROM tickets")[1] == [(kept[timedelta(hours=1)],)]
    finally:
        wh.close()
