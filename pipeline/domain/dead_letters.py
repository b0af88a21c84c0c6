"""What sits in the dead-letter queue, and what can be done about each message.

Two kinds of message land there:
- rejects (stage "intake" from the trigger, "intake-filter" from the intake audit, "intake-limit" for a
  ticket over a new-ticket limit, issue 27.5): the record itself is bad, or came too often. The message carries the reason and a copy of the data. Redriving it would fail the same way: the
  producer has to be fixed and the ticket resubmitted.
- on-failure records of an event source mapping (`KinesisBatchInfo`): a batch whose function kept failing,
  e.g. an outage that outlasted the retries. They point at records that the stream still holds (for its
  retention, 24 h). A redrive puts those records back on the stream; the pipeline's idempotency (one
  execution per ticket id) turns any that had been processed after all into no-ops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contract.errors import TmsError


class DeadLetterKind(StrEnum):
    REJECTED = "rejected"
    BATCH = "batch"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class BatchPointer:
    """Where an on-failure record's batch sits in the stream."""

    shard_id: str
    start_sequence: str
    end_sequence: str
    size: int
    condition: str
    function_arn: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Two mappings (trigger, audit) may report the same range: redrive it once."""
        return (self.shard_id, self.start_sequence, self.end_sequence)


def classify(body: dict[str, Any]) -> DeadLetterKind:
    """Which kind of dead letter a message body is."""
    if "KinesisBatchInfo" in body:
        return DeadLetterKind.BATCH
    if body.get("stage") in ("intake", "intake-filter", "intake-limit") and body.get("reason"):
        return DeadLetterKind.REJECTED
    return DeadLetterKind.UNKNOWN


def batch_pointer(body: dict[str, Any]) -> BatchPointer | None:
    """The stream range an on-failure record names, or None when the message is not one."""
    info = body.get("KinesisBatchInfo")
    if not isinstance(info, dict):
        return None
    context = body.get("requestContext") or {}
    try:
        return BatchPointer(
            shard_id=str(info["shardId"]),
            start_sequence=str(info["startSequenceNumber"]),
            end_sequence=str(info["endSequenceNumber"]),
            size=int(info.get("batchSize", 0)),
            condition=str(context.get("condition", "")),
            function_arn=str(context.get("functionArn", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def summarize(bodies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts by kind, the reasons records were rejected, and why batches were given up on."""
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    conditions: Counter[str] = Counter()
    batch_records = 0
    for body in bodies:
        kind = classify(body)
        kinds[kind.value] += 1
        if kind is DeadLetterKind.REJECTED:
            problems = body.get("problems") or [body["reason"]]
            reasons[str(problems[0]).split(" (", 1)[0][:120]] += 1
        elif (pointer := batch_pointer(body)) is not None:
            batch_records += pointer.size
            conditions[pointer.condition or "?"] += 1
    return {
        "total": sum(kinds.values()),
        "rejected": kinds[DeadLetterKind.REJECTED.value],
        "batches": kinds[DeadLetterKind.BATCH.value],
        "batch_records": batch_records,
        "unknown": kinds[DeadLetterKind.UNKNOWN.value],
        "reasons": dict(reasons.most_common()),
        "batch_conditions": dict(conditions),
    }


@dataclass
class RedriveReport:
    """What a redrive did: batches and records put back on the stream, and what could not be."""

    batches: int = 0
    records: int = 0
    messages_deleted: int = 0
    left: list[str] = field(default_factory=list)  # "shard start..end: why" for each range kept

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "batches": self.batches,
            "records": self.records,
            "messages_deleted": self.messages_deleted,
            "left": self.left,
        }


def redrive_batches(
    messages: Iterable[tuple[str, dict[str, Any]]],
    read_range: Callable[[str, str, str], list[tuple[str, bytes]]],
    put: Callable[[list[tuple[str, bytes]]], int],
    delete: Callable[[str], None],
) -> RedriveReport:
    """Put every on-failure batch's records back on the stream (each range once), then delete its
    messages. A range that cannot be read whole or put whole keeps its messages, with the reason."""
    by_range: dict[tuple[str, str, str], tuple[BatchPointer, list[str]]] = {}
    for receipt, body in messages:
        pointer = batch_pointer(body)
        if pointer is None:
            continue  # rejects and unknown messages stay: a redrive cannot fix them
        by_range.setdefault(pointer.key, (pointer, []))[1].append(receipt)
    report = RedriveReport()
    for pointer, receipts in by_range.values():
        where = f"{pointer.shard_id} {pointer.start_sequence}..{pointer.end_sequence}"
        try:
            records = read_range(pointer.shard_id, pointer.start_sequence, pointer.end_sequence)
        except TmsError as e:
            report.left.append(f"{where}: {e}")
            continue
        if pointer.size and len(records) != pointer.size:
            report.left.append(f"{where}: the stream returned {len(records)} of {pointer.size} records")
            continue
        sent = put(records)
        if sent != len(records):
            report.left.append(f"{where}: only {sent} of {len(records)} records were accepted; run it again")
            continue
        report.batches += 1
        report.records += sent
        for receipt in receipts:
            delete(receipt)
            report.messages_deleted += 1
    return report
