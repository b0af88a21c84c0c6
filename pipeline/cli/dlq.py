"""`tms dlq`: what is in the dead-letter queue and why; `--redrive` puts failed batches back on the stream."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dlq` to the tms command."""
    dlq = subparsers.add_parser(
        "dlq",
        help="show the dead-letter queue by reason; --redrive replays batches a mapping gave up on",
        description="Rejected records (bad data) are listed with their reasons and stay: fix the "
        "producer and resubmit. Batches an event source mapping gave up on (an outage outlasting the "
        "retries) can be redriven while the stream still holds them (24 h): their records go back on "
        "the stream and the messages are deleted. Exit 1 if a batch could not be redriven.",
    )
    dlq.add_argument("--redrive", action="store_true", help="put failed batches back on the stream")
    dlq.add_argument("--json", action="store_true", help="print one JSON object")
    dlq.set_defaults(func=_dlq)


def _dlq(args: argparse.Namespace) -> int:
    from pipeline.adapters.aws import DeadLetterQueue, StreamRangeReader
    from pipeline.adapters.clients import aws_client
    from pipeline.domain.dead_letters import redrive_batches, summarize
    from pipeline.local.stack import resolve
    from pipeline.tools.ingest import put_records

    info = resolve()
    queue = DeadLetterQueue(info.dlq_url, aws_client("sqs", info, profile="cli"))
    messages = queue.read_all()
    summary = summarize(body for _, body in messages)
    out: dict[str, Any] = {"dlq": summary}
    redrive = None
    if args.redrive:
        kinesis = aws_client("kinesis", info, profile="ingest")
        reader = StreamRangeReader(info.stream_name, kinesis)

        def put(records: list[tuple[str, bytes]]) -> int:
            return put_records(records, stream_name=info.stream_name, client=kinesis).sent

        deleted: set[str] = set()

        def delete(receipt: str) -> None:
            queue.delete(receipt)
            deleted.add(receipt)

        try:
            redrive = redrive_batches(messages, reader.records_between, put, delete)
        finally:
            _release(queue, [r for r, _ in messages if r not in deleted])
        out["redrive"] = redrive.as_dict()
    else:
        _release(queue, [r for r, _ in messages])
    code = 1 if redrive is not None and redrive.left else 0
    if args.json:
        print(json.dumps(out))
        return code
    print(
        f"{summary['total']} message(s): {summary['rejected']} rejected record(s), "
        f"{summary['batches']} failed batch(es) ({summary['batch_records']} records), "
        f"{summary['unknown']} other"
    )
    for reason, n in summary["reasons"].items():
        print(f"  {n:>5}  {reason}")
    if redrive is not None:
        print(f"redriven: {redrive.batches} batch(es), {redrive.records} record(s) back on the stream")
        for left in redrive.left:
            print(f"  kept: {left}")
    return code


def _release(queue: Any, receipts: list[str]) -> None:
    """Reading hid the messages (SQS has no peek); what stays on the queue is made visible again now."""
    for receipt in receipts:
        queue.release(receipt)
