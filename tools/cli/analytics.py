"""`tms etl` and `tms report`: the analytics commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `etl` and `report` to the tms command."""
    etl = subparsers.add_parser(
        "etl",
        help="load new archived tickets and their lifecycle changes from the local stack into the warehouse",
    )
    etl.add_argument(
        "--full",
        action="store_true",
        help="ignore the bookmark and list and re-read the whole archive (the recovery path)",
    )
    etl.add_argument("--json", action="store_true", help="print one JSON object with the counts")
    etl.add_argument(
        "--warehouse-url", default=None, help="overrides TMS_WAREHOUSE_URL (default: DuckDB file)"
    )
    etl.set_defaults(func=_etl)

    report = subparsers.add_parser("report", help="write an HTML report (charts included) from the warehouse")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="output file (report.html)")
    report.add_argument(
        "--warehouse-url", default=None, help="overrides TMS_WAREHOUSE_URL (default: DuckDB file)"
    )
    report.add_argument(
        "--template",
        type=Path,
        default=None,
        help="synthesized template the cost section counts the stack from, as `tms cost --template` "
        "(default: a synth of cdk.json, never a cdk.out)",
    )
    report.set_defaults(func=_report)


def _etl(args: argparse.Namespace) -> int:
    from local.stack import resolve
    from tools.analytics import run_etl

    result = run_etl(resolve(), full=args.full, warehouse_url=args.warehouse_url)
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        life = result.lifecycle
        print(
            f"read {result.read}  loaded {result.loaded}  merged {result.merged}  "
            f"quarantined {result.quarantined}  ({result.objects} new objects, {result.selection})"
        )
        print(
            f"lifecycle: read {life.read}  loaded {life.loaded}  merged {life.merged}  "
            f"quarantined {life.quarantined}  ({life.objects} new objects, {life.selection})"
        )
    return 0


def _report(args: argparse.Namespace) -> int:
    from tools.analytics.report import write_report

    path = write_report(args.out, warehouse_url=args.warehouse_url, template=args.template)
    print(path, file=sys.stdout)
    return 0
