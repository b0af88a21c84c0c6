"""The `tms` console command. Each command group lives in its own module exposing `register(subparsers)`;
heavy imports happen inside the commands, so `tms --help` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

# One line per command module. Each module defines register(subparsers: argparse._SubParsersAction).
COMMAND_MODULES: list[str] = [
    "pipeline.cli.local",  # tms local up, tms demo
    "pipeline.cli.analytics",  # tms etl, tms report
    "pipeline.cli.bot",  # tms bot
    "pipeline.cli.generate",  # tms generate, tms eval
    "pipeline.cli.chaos",  # tms chaos
    "pipeline.cli.retry",  # tms retry
    "pipeline.cli.dlq",  # tms dlq
    "pipeline.cli.submit",  # tms submit
    "pipeline.cli.mail",  # tms mail receive, tms ticket show
    "pipeline.cli.incidents",  # tms incidents
    "pipeline.cli.cost",  # tms cost
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
        from pipeline.errors import TmsError

        if isinstance(exc, TmsError):
            print(f"tms: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
