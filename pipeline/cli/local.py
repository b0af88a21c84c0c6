"""`tms local up` and `tms demo`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from pipeline.errors import ConfigurationError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the local-stack commands."""
    local = sub.add_parser("local", help="run the embedded local stack")
    local_sub = local.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    up = local_sub.add_parser("up", help="start the local stack and keep it running (Ctrl-C stops it)")
    up.add_argument(
        "--port", type=int, default=0, help="port for the local AWS endpoint (default: a free one)"
    )
    up.set_defaults(func=cmd_local_up)

    demo = sub.add_parser("demo", help="run realistic tickets through the real pipeline and summarize")
    demo.add_argument("--tickets", type=_positive, default=100, help="how many tickets (default 100)")
    demo.add_argument("--seed", type=int, default=None, help="seed for reproducible tickets")
    demo.add_argument(
        "--redeliver",
        type=_fraction,
        default=0.0,
        help="fraction of records to send twice, as at-least-once delivery does (default 0)",
    )
    demo.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the pipeline")
    demo.add_argument("--no-etl", action="store_true", help="skip the warehouse load at the end")
    demo.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    demo.set_defaults(func=cmd_demo)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _quiet() -> None:
    # The endpoint logs every request; the command's own output is what the user wants to see.
    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # moto logs every failed execution at ERROR with its whole state tree; failures are already
    # reported (DynamoDB FAILED with the reason, the TicketFailed notification, the summary).
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


def cmd_local_up(args: argparse.Namespace) -> int:
    """Start the stack, print its description as one JSON line, run until Ctrl-C or SIGTERM."""
    from pipeline.local.runtime import LocalStack
    from pipeline.local.stack import clear_state, discover_local, write_state

    _quiet()
    running = discover_local()
    if running is not None:
        raise ConfigurationError(
            f"a local stack is already running (pid {running.pid}, {running.endpoint_url}); stop it first"
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with LocalStack.start(port=args.port) as stack:
        write_state(stack.info)
        try:
            print(json.dumps(stack.info.public()), flush=True)
            print("tms local stack running; Ctrl-C stops it", file=sys.stderr, flush=True)
            stop.wait()
        finally:
            clear_state(stack.info.pid)
    print("tms local stack stopped", file=sys.stderr)
    return 0


def _clients(stack_info: Any) -> dict[str, Any]:
    from pipeline.adapters.clients import aws_client

    return {
        s: aws_client(s, stack_info, profile="cli")
        for s in ("kinesis", "stepfunctions", "dynamodb", "s3", "sqs")
    }


def cmd_demo(args: argparse.Namespace) -> int:
    """Use the running local stack (or start one in-process), run the demo, print the summary."""
    from pipeline.local.runtime import LocalStack
    from pipeline.local.stack import discover_local
    from pipeline.tools.demo import render_table, run_demo

    _quiet()
    info = discover_local()
    if info is not None:
        report = run_demo(
            info,
            tickets=args.tickets,
            seed=args.seed,
            redeliver=args.redeliver,
            timeout=args.timeout,
            clients=_clients(info),
        )
        _etl(report, info, args)
    else:
        with LocalStack.start() as stack:
            report = run_demo(
                stack.info,
                tickets=args.tickets,
                seed=args.seed,
                redeliver=args.redeliver,
                timeout=args.timeout,
                clients=_clients(stack.info),
            )
            stack.wait_idle(timeout=120)  # let asynchronous deliveries (Slack notifier) finish
            _etl(report, stack.info, args)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(render_table(report))
    return 0 if report.ok else 1


def _etl(report: Any, info: Any, args: argparse.Namespace) -> None:
    """Load the archive into the warehouse (the scheduled Glue job's local twin)."""
    if args.no_etl:
        return
    from pipeline.tools.analytics import run_etl, warehouse_counts

    result = run_etl(info)
    report.extra["etl"] = result.as_dict()
    report.extra.update(warehouse_counts())
