"""`tms retry`: run FAILED tickets through the workflow again (on the local stack or a deployed one)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


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
    from pipeline.adapters.aws import DynamoTickets, StepFunctionsStarter
    from pipeline.adapters.clients import aws_client
    from pipeline.domain.retry import retry_ticket
    from pipeline.errors import ConfigurationError
    from pipeline.local.stack import resolve

    if bool(args.ticket_ids) == bool(args.all_failed):
        raise ConfigurationError("name the ticket ids to retry, or pass --all-failed (not both)")
    info = resolve()
    tickets = DynamoTickets(info.table_name, aws_client("dynamodb", info, profile="cli"))
    executions = StepFunctionsStarter(
        info.state_machine_arn, aws_client("stepfunctions", info, profile="cli")
    )
    ids = tickets.ids_with_status("FAILED") if args.all_failed else list(dict.fromkeys(args.ticket_ids))
    now = datetime.now(UTC)
    results = [retry_ticket(tid, tickets, executions, now) for tid in ids]
    started = [r for r in results if r.started]
    if args.json:
        print(
            json.dumps(
                {
                    "requested": len(results),
                    "started": len(started),
                    "results": [
                        {
                            "ticket_id": r.ticket_id,
                            "outcome": r.outcome.value,
                            "detail": r.detail,
                            "execution": r.execution_name,
                        }
                        for r in results
                    ],
                }
            )
        )
    else:
        if not results:
            print("no FAILED tickets")
        for r in results:
            print(
                f"{r.ticket_id}  {r.outcome.value}  {r.detail}", file=sys.stdout if r.started else sys.stderr
            )
    return 0 if len(started) == len(results) else 1
