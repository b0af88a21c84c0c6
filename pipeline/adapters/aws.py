"""AWS adapters for the pipeline: Step Functions, DynamoDB ticket reads, SQS dead letters, S3 archive.

Clients are built once per process with explicit retries and timeouts; endpoints come from the standard
AWS_ENDPOINT_URL variables, which is all that makes the local stack local.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pipeline.errors import ArchiveError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "adaptive"},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=50,
)


@cache
def client(service: str) -> Any:
    """A shared, configured boto3 client for `service` (region and endpoint from the environment)."""
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


class StepFunctionsStarter:
    """Starts one execution per ticket, named after the ticket id."""

    def __init__(self, state_machine_arn: str, sfn: SFNClient | None = None):
        self._arn = state_machine_arn
        self._sfn = sfn or client("stepfunctions")

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start `name`; False when an execution of that name already exists (already handled)."""
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as e:
            if e.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def input_of(self, name: str) -> dict[str, Any] | None:
        """The input of execution `name` of this state machine; None when it does not exist (any more)."""
        arn = self._arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        try:
            raw = self._sfn.describe_execution(executionArn=arn)["input"]
        except ClientError as e:
            if e.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise
        value = json.loads(raw)
        return value if isinstance(value, dict) else None


class DynamoTickets:
    """Reads ticket items from the tickets table (statuses for retries; the workflow writes them)."""

    def __init__(self, table_name: str, dynamodb: DynamoDBClient | None = None):
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The item as plain values, or None."""
        raw = self._ddb.get_item(
            TableName=self._table, Key={"ticket_id": {"S": ticket_id}}, ConsistentRead=True
        ).get("Item")
        return None if raw is None else _plain(raw)

    def ids_with_status(self, status: str) -> list[str]:
        """Every ticket id whose item has `status` (a scan: an operator's command, not a hot path)."""
        pages = self._ddb.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
            ProjectionExpression="ticket_id",
        )
        return sorted(item["ticket_id"]["S"] for page in pages for item in page.get("Items", []))


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    return {k: des.deserialize(v) for k, v in item.items()}


class SqsDeadLetters:
    """Sends unprocessable records to the dead-letter queue."""

    def __init__(self, queue_url: str, sqs: SQSClient | None = None):
        self._url = queue_url
        self._sqs = sqs or client("sqs")

    def send(self, message: dict[str, Any]) -> None:
        """Send one dead letter (SQS caps a message at 256 KiB; the payload copy is truncated before)."""
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(message))


class S3ArchiveStore:
    """Writes archive objects to the tickets bucket."""

    def __init__(self, bucket: str, s3: S3Client | None = None):
        self._bucket = bucket
        self._s3 = s3 or client("s3")

    def put(self, key: str, body: str) -> None:
        """Put one JSON Lines object; transient failures become ArchiveError (the workflow retries)."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body.encode("utf-8"),
                ContentType="application/x-ndjson",
            )
        except ClientError as e:
            raise ArchiveError(f"S3 put of {key} failed: {e.response['Error']['Code']}") from e
