"""`tms customer forget EMAIL`: erase a customer from every store tms writes (logic in tools.erasure)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `customer` to the tms command."""
    customer = subparsers.add_parser("customer", help="customer data: erase one customer (GDPR art. 17)")
    sub = customer.add_subparsers(dest="customer_command", required=True, metavar="SUBCOMMAND")
    forget = sub.add_parser(
        "forget",
        help="erase a customer: tickets, archive (every version), timers, warehouse, Slack posts, outboxes",
        description="Deletes or anonymises everything tms holds about the customer: their tickets (by "
        "address, case-insensitive, contacts included, and with --slack-user the tickets that Slack user "
        "opened), in every store listed in contract/erasure.py. Idempotent: a second run changes nothing "
        "and says so. Backups it cannot reach are named with their windows (docs/customer-data.md).",
    )
    forget.add_argument("email", metavar="EMAIL", help="the customer's address")
    forget.add_argument(
        "--slack-user", default="", metavar="ID", help="the Slack user id (U...) who opened tickets"
    )
    forget.add_argument("--json", action="store_true", help="print one JSON object")
    forget.set_defaults(func=_forget)


def _forget(args: argparse.Namespace) -> int:
    from contract.erasure import Subject
    from contract.errors import ConfigurationError
    from local.stack import resolve
    from tools.erasure import forget_customer, report_lines

    try:
        subject = Subject(args.email, args.slack_user)
    except ValueError as e:
        raise ConfigurationError(str(e)) from e
    report = forget_customer(resolve(), subject)
    if args.json:
        print(json.dumps(report))
    else:
        print("\n".join(report_lines(report)))
    return 0
