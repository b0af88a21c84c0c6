"""The Lambda event shapes tms receives (Kinesis, DynamoDB stream, SNS), read as plain dicts, and the partial
batch response of the two stream sources.

Why not Powertools' batch utility and event data classes: importing `aws_lambda_powertools.utilities.batch`
loads asyncio (for its async processor) and `utilities.data_classes`, whose package loads all ~40 event
classes, whichever one is asked for. That was ~50 ms of every cold start of the trigger, the intake audit
and the lifecycle feed, and ~20 ms of the mailer and the notifier (bench/cold_start.py, README "Cold
start"), for the few lines below. The semantics are those of Powertools' `BatchProcessor`
(https://docs.powertools.aws.dev/lambda/python/latest/utilities/batch/), which the handlers used before:
- records are handled in order; one that raises is marked failed and the rest still run;
- the response names each failed record by its sequence number (`batchItemFailures`); with
  ReportBatchItemFailures the event source mapping retries from the lowest one (CDK sets it; the local
  poller does the same);
- a batch whose every record failed raises `BatchFailed`, so the mapping retries or bisects the batch;
- an empty batch answers with no failures.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BatchFailed(Exception):
    """Every record of a batch failed: the invocation fails, and the event source mapping retries it."""

    def __init__(self, errors: Sequence[BaseException]) -> None:
        self.errors = list(errors)
        lines = "; ".join(f"{type(e).__name__}: {e}" for e in self.errors)
        super().__init__(f"all {len(self.errors)} records of the batch failed: {lines}")


class _Logger(Protocol):
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class KinesisRecord:
    """One record of a Kinesis event, its data decoded."""

    data: bytes
    partition_key: str
    sequence_number: str
    event_source_arn: str
    approximate_arrival: float | None

    @classmethod
    def from_event(cls, raw: Mapping[str, Any]) -> KinesisRecord:
        k = raw["kinesis"]
        arrival = k.get("approximateArrivalTimestamp")
        return cls(
            data=base64.b64decode(k["data"]),
            partition_key=k["partitionKey"],
            sequence_number=k["sequenceNumber"],
            event_source_arn=raw.get("eventSourceARN", ""),
            approximate_arrival=float(arrival) if arrival is not None else None,
        )


def kinesis_records(event: Mapping[str, Any]) -> list[KinesisRecord]:
    return [KinesisRecord.from_event(r) for r in event.get("Records") or []]


def stream_sequence_number(raw: Mapping[str, Any]) -> str:
    """A DynamoDB stream record's position, which names it in a partial batch response."""
    return str(raw["dynamodb"]["SequenceNumber"])


def sns_messages(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The `Sns` part of each record: MessageId, TopicArn, Subject (may be null), Message, MessageAttributes."""
    return [record["Sns"] for record in event.get("Records") or []]


def sns_attribute(sns: Mapping[str, Any], name: str) -> str:
    """A message attribute's value, "" when the message does not carry it."""
    return str(((sns.get("MessageAttributes") or {}).get(name) or {}).get("Value", ""))


@dataclass(frozen=True)
class BatchResult(Generic[R]):
    """What a stream batch came to: the handler's result for each record that succeeded, in order, and the
    sequence numbers of the records that failed."""

    results: list[R]
    failed: list[str]

    def response(self) -> dict[str, Any]:
        """The partial batch response the event source mapping reads."""
        return {"batchItemFailures": [{"itemIdentifier": item} for item in self.failed]}


def process_batch(
    records: Sequence[T],
    handler: Callable[[T], R],
    item_id: Callable[[T], str],
    logger: _Logger | None = None,
) -> BatchResult[R]:
    """Run `handler` on every record; see the module docstring for what a failure does."""
    results: list[R] = []
    failed: list[str] = []
    errors: list[Exception] = []
    for record in records:
        try:
            results.append(handler(record))
        except Exception as exc:  # any failure of one record is that record's, as in Powertools
            item = item_id(record)
            failed.append(item)
            errors.append(exc)
            if logger is not None:
                logger.warning("record failed; it will be retried", exc_info=exc, extra={"item": item})
    if records and len(errors) == len(records):
        raise BatchFailed(errors) from errors[-1]
    return BatchResult(results, failed)
