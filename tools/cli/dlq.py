"""`tms dlq`: what is in the dead-letter queue and why; `--redrive` puts failed batches back on the stream
(logic in tools.dlq)."""

from __future__ import annotations

import argparse
import json


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
    from local.stack import resolve
    from tools.dlq import inspect_dlq, render_dlq

    info = resolve()
    outcome = inspect_dlq(info, redrive=args.redrive)
    print(json.dumps(outcome.as_dict()) if args.json else render_dlq(outcome))
    return outcome.exit_code
