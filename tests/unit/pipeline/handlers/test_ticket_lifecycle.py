"""The ticket-lifecycle Lambda with moto S3: one object per change that matters, and a change it cannot
write reported as a batch item failure (so the mapping retries from it) without losing the others."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from contract import names
from contract.clients import clear_cache as clear_aws_clients
from local.lambdas import LocalLambdaContext

_ser = TypeSerializer()
BUCKET = "archive"


def _record(seq: int, **item: Any) -> dict[str, Any]:
    return {
        "eventID": f"e{seq}",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/tms-tickets/stream/2026",
        "dynamodb": {
            "Keys": {"ticket_id": {"S": item["ticket_id"]}},
            "NewImage": {k: _ser.serialize(v) for k, v in item.items()},
            "SequenceNumber": str(seq),
            "ApproximateCreationDateTime": 1796382000.0,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


@pytest.fixture
def aws(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv(names.ENV_BUCKET_NAME, BUCKET)
    from pipeline.handlers import ticket_lifecycle
    from pipeline.settings import lifecycle_settings

    clear_aws_clients()
    lifecycle_settings.cache_clear()
    ticket_lifecycle._sink.cache_clear()
    yield {"s3": s3, "handler": ticket_lifecycle.handler}
    clear_aws_clients()
    lifecycle_settings.cache_clear()
    ticket_lifecycle._sink.cache_clear()


def parse_marker_of_lifecycle(key: str) -> Any:
    from contract.manifests import parse_marker

    return parse_marker(key, names.LIFECYCLE_PREFIX)


def _keys(s3: Any, prefix: str = names.LIFECYCLE_PREFIX) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_each_change_becomes_one_lifecycle_object_and_a_bad_one_is_a_batch_item_failure(aws: dict[str, Any]):
    event = {
        "Records": [
            _record(101, ticket_id="TKT-A", status="TRIAGED", version=0),
            _record(102, ticket_id="TKT-B", status="NOT-A-STATUS", version=1),  # skipped: not a ticket state
            _record(103, ticket_id="TKT-C", status="APPROVED", version=2, sla_due_at="not a time"),
            _record(
                104, ticket_id="TKT-D", status="RESOLVED", version=4, resolved_at="2026-11-28T09:00:00.000Z"
            ),
        ]
    }
    response = aws["handler"](event, LocalLambdaContext(function_name=names.FN_TICKET_LIFECYCLE))
    assert response == {"batchItemFailures": [{"itemIdentifier": "103"}]}
    keys = _keys(aws["s3"])
    assert [k.split("/")[1] for k in keys] == ["TKT-A", "TKT-D"]
    # Each record has its manifest marker: the warehouse load finds it by processing time.
    markers = _keys(aws["s3"], names.MANIFEST_PREFIX + names.LIFECYCLE_PREFIX)
    assert sorted(m.target for m in map(parse_marker_of_lifecycle, markers) if m) == keys
    body = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=keys[1])["Body"].read())
    assert body["status"] == "RESOLVED" and body["resolved_at"] == "2026-11-28T09:00:00.000Z"

    # A redelivery of the same batch overwrites the same objects
    aws["handler"](event, LocalLambdaContext(function_name=names.FN_TICKET_LIFECYCLE))
    assert _keys(aws["s3"]) == keys


def test_a_resolved_ticket_leaves_its_owners_routing_load(aws, monkeypatch):
    """The same stream keeps on-call loads in step (issue 32): resolving frees the owner for new tickets."""
    from pipeline.handlers import ticket_lifecycle
    from pipeline.settings import lifecycle_settings
    from tests.fakes.dynamo import create_ticket_table

    ddb = boto3.client("dynamodb")
    create_ticket_table(ddb, "tms-tickets")
    monkeypatch.setenv(names.ENV_TABLE_NAME, "tms-tickets")
    lifecycle_settings.cache_clear()
    ticket_lifecycle._loads.cache_clear()
    tid = "TKT-20261207-0000000042"
    load = {"ticket_id": {"S": f"{names.ROUTING_KEY_PREFIX}U0ROSA"}, "open_count": {"N": "2"}}
    load["open_tickets"] = {"SS": [tid, "TKT-20261207-0000000043"]}
    ddb.put_item(TableName="tms-tickets", Item=load)
    before = {"ticket_id": tid, "status": "SENT", "assignee": "U0ROSA", "version": 3}
    record = _record(7, **(before | {"status": "RESOLVED", "version": 4}))
    record["dynamodb"]["OldImage"] = {k: _ser.serialize(v) for k, v in before.items()}

    aws["handler"]({"Records": [record, record]}, LocalLambdaContext("ticket-lifecycle"))  # and redelivered
    ticket_lifecycle._loads.cache_clear()

    item = ddb.get_item(TableName="tms-tickets", Key={"ticket_id": load["ticket_id"]})["Item"]
    assert item["open_count"] == {"N": "1"} and item["open_tickets"] == {"SS": ["TKT-20261207-0000000043"]}


def test_a_ticket_resolved_after_its_reply_was_sent_becomes_a_precedent(aws, monkeypatch):
    """Issue 30.2: with a precedent base URL and the knowledge base on, the stream's RESOLVED change adds the
    ticket as one document of kb/index.json (Comprehend is replaced by its offline twin: moto's is canned)."""
    from contract.models import PiiResult
    from local.pii import detect_pii_entities
    from pipeline.adapters import csat, knowledge_store
    from pipeline.handlers import ticket_lifecycle

    class OfflinePii:
        def detect(self, text: str) -> PiiResult:
            return PiiResult.model_validate(detect_pii_entities(text, "en"))

    monkeypatch.setattr(csat, "ComprehendPii", OfflinePii)
    monkeypatch.setenv(names.ENV_KB_PROVIDER, "s3")
    monkeypatch.setenv(names.ENV_PRECEDENT_BASE_URL, "https://support.example.com/t")
    knowledge_store.draft_knowledge_base.cache_clear()
    ticket_lifecycle._precedents.cache_clear()
    item = {
        "ticket_id": "TKT-20261127-ABCDEFGHJK",
        "status": "RESOLVED",
        "version": 5,
        "subject": "SES sending paused",
        "description": "Our SES account says sending is paused since this morning.",
        "response_text": "Your bounce rate passed 10 %: remove the invalid addresses, then ask for a review.",
        "sent_at": "2026-11-27T10:00:00.000Z",
    }
    record = _record(7, **item)
    record["dynamodb"]["OldImage"] = {k: _ser.serialize(v) for k, v in (item | {"status": "SENT"}).items()}
    try:
        assert aws["handler"]({"Records": [record]}, LocalLambdaContext("ticket-lifecycle")) == {
            "batchItemFailures": []
        }
        index = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=names.KB_INDEX_KEY)["Body"].read())
        doc = index["documents"]["precedent-TKT-20261127-ABCDEFGHJK"]
        assert doc["uri"] == "https://support.example.com/t/TKT-20261127-ABCDEFGHJK"
        # The item expires (TTL) or is erased: the stream's REMOVE record takes the precedent out of the index
        removal = _record(8, **item)
        removal["eventName"] = "REMOVE"
        removal["dynamodb"]["OldImage"] = removal["dynamodb"].pop("NewImage")
        assert aws["handler"]({"Records": [removal]}, LocalLambdaContext("ticket-lifecycle")) == {
            "batchItemFailures": []
        }
        index = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=names.KB_INDEX_KEY)["Body"].read())
        assert "precedent-TKT-20261127-ABCDEFGHJK" not in index["documents"]
    finally:
        knowledge_store.draft_knowledge_base.cache_clear()
        ticket_lifecycle._precedents.cache_clear()
