"""Helpers for tests that run the embedded local stack end to end."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from contract import names
from contract.models import TicketSubmitted
from local.runtime import LocalStack

_des = TypeDeserializer()


def put(stack: LocalStack, *payloads: bytes | TicketSubmitted) -> None:
    """Send records in one PutRecords call (a batch, as a producer would)."""
    records = []
    for i, p in enumerate(payloads):
        data = p.to_record_bytes() if isinstance(p, TicketSubmitted) else p
        key = p.ticketId if isinstance(p, TicketSubmitted) else f"poison-{i}"
        records.append({"Data": data, "PartitionKey": key})
    resp = stack.client("kinesis").put_records(StreamName=stack.info.stream_name, Records=records)
    assert resp["FailedRecordCount"] == 0


def item(stack: LocalStack, ticket_id: str) -> dict[str, Any] | None:
    raw = stack.client("dynamodb").get_item(
        TableName=stack.info.table_name, Key={"ticket_id": {"S": ticket_id}}
    )
    return {k: _des.deserialize(v) for k, v in raw["Item"].items()} if "Item" in raw else None


def archive_keys(stack: LocalStack, ticket_id: str) -> list[str]:
    """The ticket's archive objects (not its lifecycle/ records, manifest markers or kept input)."""
    pages = stack.client("s3").get_paginator("list_objects_v2").paginate(Bucket=stack.info.bucket_name)
    return [
        o["Key"]
        for p in pages
        for o in p.get("Contents", [])
        if ticket_id in o["Key"]
        and not o["Key"].startswith((names.LIFECYCLE_PREFIX, names.MANIFEST_PREFIX, names.INPUTS_PREFIX))
    ]


def executions(stack: LocalStack, ticket_id: str) -> list[dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.info.state_machine_arn)
    return [e for p in pages for e in p["executions"] if e["name"] == ticket_id]


def drain(stack: LocalStack, queue_url: str) -> list[dict[str, Any]]:
    """Every message on a queue, deleted as read."""
    sqs = stack.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        out.extend(json.loads(m["Body"]) for m in msgs)
        for m in msgs:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def notifications(stack: LocalStack) -> list[dict[str, Any]]:
    """SNS notifications published on the tickets topic (from the local tap queue)."""
    return drain(stack, stack.tap_queue_url)
