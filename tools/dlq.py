"""`tms dlq`: read the dead-letter queue, summarize it by reason, optionally redrive the failed batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.stack import StackInfo
from pipeline.domain.dead_letters import RedriveReport


@dataclass
class DlqOutcome:
    """What the queue held and, with a redrive, what went back on the stream."""

    summary: dict[str, Any]
    redrive: RedriveReport | None = None

    @property
    def exit_code(self) -> int:
        """1 when a batch could not be redriven."""
        return 1 if self.redrive is not None and self.redrive.left else 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON object `tms dlq --json` prints."""
        out: dict[str, Any] = {"dlq": self.summary}
        if self.redrive is not None:
            out["redrive"] = self.redrive.as_dict()
        return out


def inspect_dlq(info: StackInfo, *, redrive: bool = False) -> DlqOutcome:
    """Summarize the queue; with `redrive`, put the failed batches back on the stream and delete them.
    Every message not deleted is made visible again."""
    from contract.clients import aws_client
    from pipeline.adapters.aws import DeadLetterQueue, StreamRangeReader
    from pipeline.domain.dead_letters import redrive_batches, summarize
    from tools.ingest import put_records

    queue = DeadLetterQueue(info.dlq_url, aws_client("sqs", info, profile="cli"))
    messages = queue.read_all()
    outcome = DlqOutcome(summarize(body for _, body in messages))
    if not redrive:
        _release(queue, [r for r, _ in messages])
        return outcome
    kinesis = aws_client("kinesis", info, profile="ingest")
    reader = StreamRangeReader(info.stream_name, kinesis)

    def put(records: list[tuple[str, bytes]]) -> int:
        return put_records(records, stream_name=info.stream_name, client=kinesis).sent

    deleted: set[str] = set()

    def delete(receipt: str) -> None:
        queue.delete(receipt)
        deleted.add(receipt)

    try:
        outcome.redrive = redrive_batches(messages, reader.records_between, put, delete)
    finally:
        _release(queue, [r for r, _ in messages if r not in deleted])
    return outcome


def render_dlq(outcome: DlqOutcome) -> str:
    """The human summary `tms dlq` prints."""
    s = outcome.summary
    lines = [
        f"{s['total']} message(s): {s['rejected']} rejected record(s), "
        f"{s['batches']} failed batch(es) ({s['batch_records']} records), "
        f"{s['unknown']} other"
    ]
    lines.extend(f"  {n:>5}  {reason}" for reason, n in s["reasons"].items())
    if outcome.redrive is not None:
        r = outcome.redrive
        lines.append(f"redriven: {r.batches} batch(es), {r.records} record(s) back on the stream")
        lines.extend(f"  kept: {left}" for left in r.left)
    return "\n".join(lines)


def _release(queue: Any, receipts: list[str]) -> None:
    """Reading hid the messages (SQS has no peek); what stays on the queue is made visible again now."""
    for receipt in receipts:
        queue.release(receipt)
