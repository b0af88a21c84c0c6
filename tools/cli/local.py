"""`tms local up` and `tms demo` (logic in local.runtime and tools.demo)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any


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
    demo.add_argument(
        "--kb",
        action="append",
        default=[],
        metavar="PATH",
        help="ingest these files or folders into the knowledge base first, so drafts cite them (make demo: examples/kb)",
    )
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


def cmd_local_up(args: argparse.Namespace) -> int:
    """Start the stack, print its description as one JSON line, run until Ctrl-C or SIGTERM."""
    from local.moto import MotoPatchError
    from local.runtime import quiet_logs, serve
    from tools.analytics.warehouse import open_warehouse

    quiet_logs()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def ready(info: Any) -> None:
        print(json.dumps(info.public()), flush=True)
        print("tms local stack running; Ctrl-C stops it", file=sys.stderr, flush=True)

    try:
        # The retention sweeper also deletes warehouse rows past retention (local/sweeper.py).
        serve(stop, port=args.port, on_ready=ready, warehouse=open_warehouse)
    except MotoPatchError as e:  # the one line a user needs: which moto, which it should be, the fix
        print(f"tms local up: {e}", file=sys.stderr)
        return 2
    print("tms local stack stopped", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Use the running local stack (or start one in-process), run the demo, print the summary."""
    from local.runtime import quiet_logs
    from tools.demo import render_table, run_local_demo

    quiet_logs()
    report = run_local_demo(
        tickets=args.tickets,
        seed=args.seed,
        redeliver=args.redeliver,
        timeout=args.timeout,
        etl=not args.no_etl,
        kb_paths=args.kb,
    )
    print(json.dumps(report.as_dict()) if args.json else render_table(report))
    return 0 if report.ok and "analytics_error" not in report.extra else 1
