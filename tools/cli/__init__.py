"""The `tms` console command. Each command group lives in its own module exposing `register(subparsers)`;
heavy imports happen inside the commands, so `tms --help` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

# One line per command module. Each module defines register(subparsers: argparse._SubParsersAction).
COMMAND_MODULES: list[str] = [
    "tools.cli.local",  # tms local up, tms demo
    "tools.cli.analytics",  # tms etl, tms report
    "tools.cli.bot",  # tms bot
    "tools.cli.generate",  # tms generate, tms eval
    "tools.cli.chaos",  # tms chaos
    "tools.cli.retry",  # tms retry
    "tools.cli.dlq",  # tms dlq
    "tools.cli.submit",  # tms submit
    "tools.cli.mail",  # tms mail receive, tms ticket show
    "tools.cli.incidents",  # tms incidents
    "tools.cli.cost",  # tms cost
    "tools.cli.customer",  # tms customer forget
    "tools.cli.kb",  # tms kb ingest|search|list|remove
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="tms", description="Support-ticket triage: Slack, AWS, or all local."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run the chosen command, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one boundary where any error becomes a message and an exit code
        from contract.errors import TmsError

        if isinstance(exc, TmsError):
            print(f"tms: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
