"""`tms retry`: run FAILED tickets through the workflow again (on the local stack or a deployed one; logic in
tools.retry)."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `retry` to the tms command."""
    retry = subparsers.add_parser(
        "retry",
        help="retry FAILED tickets (e.g. after sustained throttling) with their original input",
        description="Start a new workflow execution for each FAILED ticket, with the input of its "
        "original execution. TRIAGED or PROCESSING tickets are left alone. Exit 1 if any ticket "
        "named could not be retried.",
    )
    retry.add_argument("ticket_ids", nargs="*", metavar="TICKET_ID", help="ticket ids to retry")
    retry.add_argument("--all-failed", action="store_true", help="retry every FAILED ticket")
    retry.add_argument("--json", action="store_true", help="print one JSON object")
    retry.set_defaults(func=_retry)


def _retry(args: argparse.Namespace) -> int:
    from contract.errors import ConfigurationError
    from local.stack import resolve
    from tools.retry import retry_failed, retry_report

    if bool(args.ticket_ids) == bool(args.all_failed):
        raise ConfigurationError("name the ticket ids to retry, or pass --all-failed (not both)")
    info = resolve()
    results = retry_failed(info, args.ticket_ids, all_failed=args.all_failed)
    if args.json:
        print(json.dumps(retry_report(results)))
    else:
        if not results:
            print("no FAILED tickets")
        for r in results:
            print(
                f"{r.ticket_id}  {r.outcome.value}  {r.detail}", file=sys.stdout if r.started else sys.stderr
            )
    return 0 if all(r.started for r in results) else 1
