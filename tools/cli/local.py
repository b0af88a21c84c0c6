"""`tms local up` and `tms demo` (logic in local.runtime and tools.demo)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from contract import names


def register(sub: argparse._SubParsersAction) -> None:
    """Add the local-stack commands."""
    local = sub.add_parser("local", help="run the embedded local stack")
    local_sub = local.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    up = local_sub.add_parser("up", help="start the local stack and keep it running (Ctrl-C stops it)")
    up.add_argument(
        "--port", type=int, default=0, help="port for the local AWS endpoint (default: a free one)"
    )
    up.add_argument(
        "--fresh",
        action="store_true",
        help="start empty: delete the state the last run left under the state dir first",
    )
    up.set_defaults(func=cmd_local_up)
    reset = local_sub.add_parser("reset", help="delete the local stack's saved state (it must be stopped)")
    reset.add_argument("--yes", action="store_true", help="really delete it")
    reset.set_defaults(func=cmd_local_reset)

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
    from local.durable import durable_dir
    from local.moto import MotoPatchError
    from local.runtime import quiet_logs, serve
    from local.stack import state_dir
    from tools.analytics.warehouse import open_warehouse

    quiet_logs()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def ready(info: Any) -> None:
        print(json.dumps(info.public()), flush=True)
        print(f"rating page (CSAT): {info.extra.get(names.ENV_CSAT_BASE_URL, '')}/rate", file=sys.stderr)
        print("tms local stack running; Ctrl-C stops it", file=sys.stderr, flush=True)

    def restored(stack: Any) -> None:
        if stack.restored_tickets is None:
            state = "started empty"
        else:
            state = f"state restored: {stack.restored_tickets} tickets"
            if stack.replayed_records:
                state += f", {stack.replayed_records} writes acknowledged since the last save applied again"
        print(f"tms local stack {state} ({durable_dir(state_dir())})", file=sys.stderr, flush=True)

    try:
        # The retention sweeper also deletes warehouse rows past retention (local/sweeper.py).
        serve(
            stop,
            port=args.port,
            fresh=args.fresh,
            on_ready=ready,
            on_restore=restored,
            warehouse=open_warehouse,
        )
    except MotoPatchError as e:  # the one line a user needs: which moto, which it should be, the fix
        print(f"tms local up: {e}", file=sys.stderr)
        return 2
    print("tms local stack stopped", file=sys.stderr)
    return 0


def cmd_local_reset(args: argparse.Namespace) -> int:
    """Delete the saved state, refusing while a stack runs or without --yes."""
    from local.durable import durable_dir, forget
    from local.stack import discover_local, state_dir

    directory = durable_dir(state_dir())
    running = discover_local()
    if running is not None:
        print(f"a local stack is running (pid {running.pid}); stop it first", file=sys.stderr)
        return 1
    if not args.yes:
        print(f"this deletes every ticket the local stack saved in {directory}; add --yes", file=sys.stderr)
        return 1
    print("local state deleted" if forget(directory) else "no local state to delete", file=sys.stderr)
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
