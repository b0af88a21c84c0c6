"""AWS adapters for the pipeline: Step Functions, SQS dead letters, S3 archive.

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
