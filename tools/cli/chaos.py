"""`tms chaos`: the reliability run under load and faults (logic in tools.chaos)."""

from __future__ import annotations

import argparse
import json
import sys

from tools.cli.local import _fraction, _positive


def register(sub: argparse._SubParsersAction) -> None:
    """Add `tms chaos`."""
    p = sub.add_parser(
        "chaos",
        help="tickets through a fresh local stack under faults, replays and poison; prove nothing is lost",
    )
    p.add_argument("--tickets", type=_positive, default=500, help="valid tickets to submit (default 500)")
    p.add_argument(
        "--seed", type=int, default=7, help="seed for tickets, replays, poison and faults (default 7)"
    )
    p.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="TMS_FAULTS spec, e.g. llm_throttle:0.3,s3_error:0.05 (default: the issue's mix)",
    )
    p.add_argument(
        "--redeliver", type=_fraction, default=None, help="fraction of records sent again (default 0.1)"
    )
    p.add_argument("--poison", type=_fraction, default=None, help="fraction of poison records (default 0.01)")
    p.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait for the pipeline (default 3600)"
    )
    p.add_argument(
        "--incidents",
        type=int,
        default=None,
        help="incident bursts in the load, whose grouping is reconciled with the truth (default 5; 0: none)",
    )
    p.add_argument("--no-etl", action="store_true", help="skip the warehouse load")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.set_defaults(func=cmd_chaos)


def cmd_chaos(args: argparse.Namespace) -> int:
    """Run the chaos test; exit 0 only when every reconciliation check holds."""
    from local.faults import parse_faults
    from local.runtime import quiet_logs
    from tools.chaos import (
        CHAOS_INCIDENTS,
        DEFAULT_FAULTS,
        POISON_FRACTION,
        REDELIVER_FRACTION,
        ChaosConfig,
        render_table,
        run_chaos,
    )

    quiet_logs("tms.local", "tms.local.poller", "py4j")
    config = ChaosConfig(
        tickets=args.tickets,
        seed=args.seed,
        faults=parse_faults(args.faults) if args.faults is not None else dict(DEFAULT_FAULTS),
        redeliver=REDELIVER_FRACTION if args.redeliver is None else args.redeliver,
        poison=POISON_FRACTION if args.poison is None else args.poison,
        timeout_s=args.timeout,
        etl=not args.no_etl,
        incidents=CHAOS_INCIDENTS if args.incidents is None else args.incidents,
    )
    report = run_chaos(config, progress=lambda msg: print(f"tms chaos: {msg}", file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(render_table(report))
    return 0 if report.ok else 1
