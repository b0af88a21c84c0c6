"""`tms cost [--tickets-per-day N] [--json]`: cost per 1,000 tickets, measured and modeled (tools.cost)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `cost` to the tms command."""
    p = subparsers.add_parser(
        "cost",
        help="cost per 1,000 tickets by line item (measured usage x the price table) and a monthly figure",
    )
    p.add_argument(
        "--tickets-per-day", type=_positive, default=1000, help="volume of the monthly figure (1000)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--from",
        dest="source",
        choices=("auto", "stack", "warehouse"),
        default="auto",
        help="where the measured usage comes from: the running stack's items, or the warehouse "
        "(default: the stack when one is running, else the warehouse)",
    )
    p.add_argument("--warehouse-url", default=None, help="warehouse URL (default: the local one)")
    p.add_argument(
        "--template",
        type=Path,
        default=None,
        help="synthesized template to count the stack from (default: a synth of cdk.json, never a cdk.out)",
    )
    p.add_argument("--model", default=None, help="price the measured tokens at another Bedrock model id")
    p.set_defaults(func=_cost)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _cost(args: argparse.Namespace) -> int:
    from tools import cost

    if args.source == "warehouse" or (args.source == "auto" and not _stack_running()):
        from tools.analytics.warehouse import open_warehouse

        warehouse = open_warehouse(args.warehouse_url)
        try:  # the same computation as the report's cost section
            est = cost.warehouse_estimate(
                warehouse, template=args.template, model_id=args.model, tickets_per_day=args.tickets_per_day
            )
        finally:
            warehouse.close()
    else:
        usages, mail, source = _stack_usages()
        est = cost.estimate(
            usages,
            cost.deployed_stack(args.template, model_id=args.model),
            cost.load_prices(),
            tickets_per_day=args.tickets_per_day,
            mail=mail,
            usage_source=source,
        )
    print(json.dumps(est.to_dict()) if args.json else cost.render(est))
    return 0


def _stack_running() -> bool:
    from local.stack import discover_local, from_environment

    return (from_environment() or discover_local()) is not None


def _stack_usages() -> tuple[list[Any], Any, str]:
    from contract.clients import aws_client
    from local.stack import resolve
    from pipeline.adapters.aws import from_item
    from tools import cost

    info = resolve()
    client = aws_client("dynamodb", info, profile="cli")
    items = (
        from_item(item)
        for page in client.get_paginator("scan").paginate(TableName=info.table_name)
        for item in page["Items"]
    )
    usages, mail = cost.item_usages(items)
    return usages, mail, f"the items of {info.table_name}"
