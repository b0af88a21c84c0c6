"""`tms cost [--tickets-per-day N] [--json]`: cost per 1,000 tickets, measured and modeled (tools.cost)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


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
        help="synthesized template to count the fixed parts from (default: cdk.out, else synth now)",
    )
    p.add_argument("--model", default=None, help="price the measured tokens at another Bedrock model id")
    p.set_defaults(func=_cost)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _cost(args: argparse.Namespace) -> int:
    from infra.config import load_config, read_cdk_json_context
    from tools import cost

    config = load_config(read_cdk_json_context(), os.environ)
    prices = cost.load_prices()
    usages, mails, source = _usages(args)
    template, template_source = cost.load_template(args.template, project=config.project_name)
    stack = cost.stack_facts(
        template,
        model_id=args.model or config.model_id,
        schedule_minutes=config.schedule_minutes,
        source=template_source,
    )
    est = cost.estimate(
        usages, stack, prices, tickets_per_day=args.tickets_per_day, ses_per_ticket=mails, usage_source=source
    )
    print(json.dumps(est.to_dict()) if args.json else cost.render(est))
    return 0


def _usages(args: argparse.Namespace) -> tuple[list, float, str]:
    from tools import cost

    source = args.source
    if source == "auto":
        from local.stack import discover_local, from_environment

        source = "stack" if (from_environment() or discover_local()) is not None else "warehouse"
    if source == "stack":
        from contract.clients import aws_client
        from local.stack import resolve
        from pipeline.adapters.aws import from_item

        info = resolve()
        client = aws_client("dynamodb", info, profile="cli")
        items = (
            from_item(item)
            for page in client.get_paginator("scan").paginate(TableName=info.table_name)
            for item in page["Items"]
        )
        usages, mails = cost.item_usages(items)
        return usages, mails, f"the items of {info.table_name}"
    from tools.analytics.warehouse import open_warehouse

    warehouse = open_warehouse(args.warehouse_url)
    try:
        usages, mails = cost.warehouse_usages(warehouse)
        return usages, mails, f"the warehouse {warehouse.url}"
    finally:
        warehouse.close()
