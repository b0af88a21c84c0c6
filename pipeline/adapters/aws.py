"""AWS adapters for the pipeline: Step Functions, DynamoDB ticket reads, SQS dead letters (writing them and
reading them back), Kinesis range reads for redrives, S3 archive.

Clients are built once per process with explicit retries and timeouts; endpoints come from the standard
AWS_ENDPOINT_URL variables, which is all that makes the local stack local.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.clients import aws_client, dynamodb_deserializer
from contract.errors import ArchiveError, TmsError
from contract.manifests import marker_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient


class RecordsExpiredError(TmsError):
    """The stream no longer holds the records a dead letter points at."""


def client(service: str) -> Any:
    """The handlers' client for `service` (the standard AWS environment; contract.clients)."""
    return aws_client(service)


class StepFunctionsStarter:
    """Starts one execution per ticket, named after the ticket id (an Express workflow does not deduplicate
    names: the workflow's claim does, README "Choices made, and the goal")."""

    def __init__(self, state_machine_arn: str, sfn: SFNClient | None = None):
        self._arn = state_machine_arn
        self._sfn = sfn or client("stepfunctions")

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start `name`; False when a Standard workflow already has an execution of that name."""
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=input_body(payload))
        except ClientError as e:
            if e.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise
        return True


def input_body(payload: dict[str, Any]) -> str:
    """An execution input as Step Functions counts it against 256 KiB: UTF-8 bytes, so no ASCII escapes
    (\\u00e9 for é would triple non-Latin text for nothing)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class InputNotReadableError(TmsError):
    """A stored execution input exists but cannot be read back (not JSON, access denied, ...)."""


class S3ExecutionInputs:
    """Each ticket's execution input under inputs/ (SSE-KMS with the data key): the trigger writes it before
    it starts the workflow, `tms retry` reads it back (Express executions cannot be described)."""

    def __init__(self, bucket: str, s3: S3Client | None = None, *, kms_key_id: str | None = None):
        self._bucket = bucket
        self._s3 = s3 or client("s3")
        self._encryption: dict[str, Any] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        )

    def put(self, ticket_id: str, payload: dict[str, Any]) -> None:
        """Keep the input (a redelivered record rewrites the same bytes; the bucket keeps versions)."""
        from pipeline.domain.intake import input_key

        self._s3.put_object(
            Bucket=self._bucket,
            Key=input_key(ticket_id),
            Body=input_body(payload).encode("utf-8"),
            ContentType="application/json",
            **self._encryption,
        )

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The stored input, or None when there is none (expired, or the ticket predates stored inputs)."""
        from pipeline.domain.intake import input_key

        key = input_key(ticket_id)
        try:
            raw = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise InputNotReadableError(f"s3://{self._bucket}/{key}: {e.response['Error']['Code']}") from e
        try:
            value = json.loads(raw)
        except ValueError as e:
            raise InputNotReadableError(f"s3://{self._bucket}/{key} is not JSON: {e}") from e
        if not isinstance(value, dict):
            raise InputNotReadableError(f"s3://{self._bucket}/{key} is not a JSON object")
        return value


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
        return None if raw is None else from_item(raw)

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


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (attribute-value JSON) as plain Python values."""
    des = dynamodb_deserializer()
    return {k: des.deserialize(v) for k, v in item.items()}


class SqsDeadLetters:
    """Sends unprocessable records to the dead-letter queue."""

    def __init__(self, queue_url: str, sqs: SQSClient | None = None):
        self._url = queue_url
        self._sqs = sqs or client("sqs")

    def send(self, message: dict[str, Any]) -> None:
        """Send one dead letter (SQS caps a message at 256 KiB; the payload copy is truncated before)."""
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(message))


class DeadLetterQueue:
    """Reads and deletes messages on the dead-letter queue (the operator's `tms dlq`)."""

    def __init__(self, queue_url: str, sqs: SQSClient | None = None):
        self._url = queue_url
        self._sqs = sqs or client("sqs")

    def read_all(self, hide_for_s: int = 60) -> list[tuple[str, dict[str, Any]]]:
        """Every message as (receipt handle, body), each hidden from other readers for `hide_for_s`
        (SQS has no peek: reading is receiving; what is not deleted reappears afterwards)."""
        out: list[tuple[str, dict[str, Any]]] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, VisibilityTimeout=hide_for_s, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return out
            for m in messages:
                try:
                    body = json.loads(m["Body"])
                except ValueError:
                    body = {"raw": m["Body"][:500]}
                out.append((m["ReceiptHandle"], body if isinstance(body, dict) else {"raw": body}))

    def delete(self, receipt_handle: str) -> None:
        """Remove one message (after its records were redriven)."""
        self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=receipt_handle)

    def release(self, receipt_handle: str) -> None:
        """Make a message read by read_all visible again at once (it stays on the queue)."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
        )


MAX_EMPTY_PAGES = 100


class StreamRangeReader:
    """Reads a range of records back from a Kinesis shard (what an on-failure record points at)."""

    def __init__(self, stream_name: str, kinesis: Any = None):
        self._stream = stream_name
        self._kinesis = kinesis or client("kinesis")

    def records_between(self, shard_id: str, start: str, end: str) -> list[tuple[str, bytes]]:
        """(partition key, data) of every record from sequence `start` through `end`, in order.
        RecordsExpiredError when the stream no longer holds them."""
        try:
            iterator = self._kinesis.get_shard_iterator(
                StreamName=self._stream,
                ShardId=shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=start,
            )["ShardIterator"]
        except ClientError as e:
            raise RecordsExpiredError(
                f"{shard_id} {start}..{end}: the stream no longer serves these records "
                f"({e.response['Error']['Code']}); it keeps records for its retention period (24 h)"
            ) from e
        out: list[tuple[str, bytes]] = []
        last = int(end)
        empty_pages = 0
        while iterator and empty_pages < MAX_EMPTY_PAGES:
            page = self._kinesis.get_records(ShardIterator=iterator, Limit=1000)
            for r in page.get("Records", []):
                if int(r["SequenceNumber"]) > last:
                    return out
                out.append((r["PartitionKey"], bytes(r["Data"])))
            if not page.get("Records"):
                if not page.get("MillisBehindLatest"):
                    return out  # at the tip: the range ends early (trimmed, or never complete)
                empty_pages += 1  # a gap in the shard: keep reading, but never forever
            else:
                empty_pages = 0
            iterator = page.get("NextShardIterator")
        return out


class S3ArchiveStore:
    """Writes archive objects to the tickets bucket."""

    def __init__(self, bucket: str, s3: S3Client | None = None, *, kms_key_id: str | None = None):
        self._bucket = bucket
        self._s3 = s3 or client("s3")
        # SSE-KMS with this key for every object this store writes (the full originals); else the bucket's.
        self._encryption: dict[str, Any] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        )

    def put(self, key: str, body: str) -> None:
        """Put one JSON Lines object; transient failures become ArchiveError (the workflow retries)."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body.encode("utf-8"),
                ContentType="application/x-ndjson",
                **self._encryption,
            )
        except ClientError as e:
            raise ArchiveError(f"S3 put of {key} failed: {e.response['Error']['Code']}") from e


class ManifestedStore:
    """An archive store that also writes the load's manifest marker after each object (contract/manifests.py):
    the warehouse load finds new and re-processed objects by processing time instead of listing the whole
    history. The object goes first, so a marker never names an object that is not there yet; a failed
    marker put raises like a failed object put (the workflow / stream mapping retries the write)."""

    def __init__(
        self,
        inner: S3ArchiveStore,
        feed_prefix: str,
        *,
        clock: Callable[[], datetime] | None = None,
        nonce: Callable[[], str] | None = None,
    ):
        self._inner = inner
        self._feed_prefix = feed_prefix
        self._clock = clock or (lambda: datetime.now(UTC))
        self._nonce = nonce or (lambda: uuid.uuid4().hex[:12])

    def put(self, key: str, body: str) -> None:
        """Put the object, then its marker (keys outside the feed prefix get no marker)."""
        self._inner.put(key, body)
        if key.startswith(self._feed_prefix):
            self._inner.put(marker_key(key, self._feed_prefix, self._clock(), self._nonce()), "")
