"""`tms generate` (bulk load synthetic tickets) and `tms eval` (reply-quality evaluation); logic in
tools.bulk_load and tools.evaluation.

`scripts/generate_ticket.py` is the same `generate` command as a standalone script.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contract.errors import ConfigurationError, TmsError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `tms generate` (shared with scripts/generate_ticket.py)."""
    p.add_argument("--count", type=_positive_int, default=10, help="tickets to generate (default 10)")
    p.add_argument("--seed", type=int, default=None, help="seed for reproducible tickets")
    p.add_argument("--rate", type=_positive_float, default=None, help="cap on records sent per second")
    p.add_argument("--stream", default=None, help="Kinesis stream name (default: the stack's stream)")
    p.add_argument(
        "--product",
        action="append",
        default=None,
        metavar="NAME",
        help="only this catalog product (repeatable); see --list-products",
    )
    p.add_argument("--list-products", action="store_true", help="print the catalog and exit")
    p.add_argument("--dry-run", action="store_true", help="generate and validate, send nothing")
    p.add_argument(
        "--out", type=Path, default=None, metavar="FILE.jsonl", help="write events here instead of sending"
    )
    p.add_argument(
        "--truth",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write ticket_id -> target sentiment: CSV (ticket_id,target) for .csv, else a JSON object "
        "(with --incidents: a JSON object with sentiment, incidents and unrelated)",
    )
    p.add_argument(
        "--incidents",
        type=int,
        default=0,
        metavar="K",
        help="add K incident bursts (several customers, one problem, different words) to the --count "
        "unrelated tickets; the grouping goes to --truth",
    )
    p.add_argument(
        "--llm",
        choices=("offline", "bedrock"),
        default="offline",
        help="who writes subjects and descriptions (default offline templates)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_generate)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `generate` and `eval` to the tms command."""
    gen = sub.add_parser("generate", help="generate synthetic tickets and send them to the stream")
    add_generate_arguments(gen)

    ev = sub.add_parser("eval", help="check the stored replies against the reply policy")
    ev.add_argument(
        "--input", type=Path, default=None, metavar="FILE.jsonl", help="processed records file instead of S3"
    )
    ev.add_argument("--bucket", default=None, help="archive bucket (default: the stack's bucket)")
    ev.add_argument(
        "--truth", type=Path, default=None, metavar="FILE", help="truth file from `tms generate --truth`"
    )
    ev.add_argument("--judge", choices=("none", "bedrock"), default="none", help="optional LLM judge")
    ev.add_argument(
        "--judge-sample", type=_positive_int, default=20, help="replies the judge scores (default 20)"
    )
    ev.add_argument(
        "--incidents",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE.jsonl",
        help="instead: calibrate the incident link model for the configured embedder "
        "(TMS_EMBEDDING_PROVIDER) on labelled tickets (docs/incidents.md)",
    )
    ev.add_argument(
        "--kb-truth",
        type=Path,
        default=None,
        metavar="FILE.jsonl",
        help="instead: the knowledge base's retrieval (recall@3, MRR, relevance gate) against this truth file",
    )
    ev.add_argument("--split", default=None, help="with --kb-truth: only the lines of this split")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.set_defaults(func=cmd_eval)


# --- generate ---------------------------------------------------------------------------------------------


def _kinesis_for(stream: str | None) -> tuple[Any, str]:
    """A Kinesis client and stream name: explicit TMS_* settings, else the running local stack."""
    from contract.clients import aws_client
    from local.stack import resolve

    try:
        info = resolve()
    except TmsError:
        if not stream:
            raise
        # A stream named on the command line with no stack: plain AWS settings from the environment.
        return aws_client("kinesis", profile="ingest"), stream
    return aws_client("kinesis", info, profile="ingest"), stream or info.stream_name


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate tickets, then write them (--out), validate only (--dry-run) or send them."""
    from tools.bulk_load import (
        check_incident_options,
        check_options,
        generate_and_deliver,
        render_summary,
    )

    if args.list_products:
        from contract.catalog import SCENARIOS

        for s in SCENARIOS:
            print(f"{s.product}\t{s.issue_type}")
        return 0
    check_options(args.product, args.out)  # unknown products and a bad --out fail before anything else
    check_incident_options(args.incidents, args.product, args.llm, args.truth)
    client = stream = None
    if not (args.dry_run or args.out):
        client, stream = _kinesis_for(args.stream)  # no stack -> a clear error before generating
    summary, exit_code = generate_and_deliver(
        args.count,
        seed=args.seed,
        products=args.product,
        llm=args.llm,
        truth=args.truth,
        out=args.out,
        dry_run=args.dry_run,
        kinesis=client,
        stream=stream,
        rate=args.rate,
        incidents=args.incidents,
    )
    print(json.dumps(summary) if args.json else render_summary(summary))
    return exit_code


# --- eval -------------------------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate stored replies and print the report (or calibrate the incident link model, or the
    knowledge base's retrieval)."""
    if args.incidents:
        missing = [str(p) for p in args.incidents if not p.is_file()]
        if missing:
            raise ConfigurationError(f"--incidents: no such file: {', '.join(missing)}")
        from pipeline.adapters.embeddings import embedder
        from pipeline.adapters.link_judge import configured_judge
        from tools.incident_eval import calibrate_on_file, render_calibration

        # With TMS_INCIDENT_JUDGE=reply-model, the test rows are also replayed with the second opinion.
        try:
            result = calibrate_on_file(args.incidents, embedder(), configured_judge())
        except ValueError as e:  # a bad line of a labelled file, or no labelled incident in it
            raise ConfigurationError(f"--incidents: {e}") from e
        print(json.dumps(result) if args.json else render_calibration(result))
        return 0
    if args.kb_truth:
        return _eval_kb(args)
    from tools.evaluation import (
        bedrock_judge,
        evaluate,
        read_archive_records,
        read_file_records,
        read_truth,
        render_report,
    )

    truth = read_truth(args.truth) if args.truth else None  # a bad truth file fails before any reading
    if args.input:
        records = read_file_records(args.input)
    else:
        from contract.clients import aws_client
        from local.stack import resolve

        info = resolve()
        s3 = aws_client("s3", info, profile="cli")
        bucket = args.bucket or info.bucket_name
        if not bucket:
            raise ConfigurationError("no archive bucket: pass --bucket or set TMS_BUCKET_NAME")
        records = read_archive_records(s3, bucket)
    judge = bedrock_judge() if args.judge == "bedrock" else None
    report = evaluate(records, truth=truth, judge=judge, judge_sample=args.judge_sample)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(render_report(report))
    return 0


def _eval_kb(args: argparse.Namespace) -> int:
    """The running stack's knowledge base against a retrieval truth file."""
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.knowledge import relevance_gate
    from tools.cli.kb import knowledge_base
    from tools.kb_eval import calibrate, figures, read_truth, render, retrieve

    truth = read_truth(args.kb_truth, args.split)
    kb = knowledge_base()
    if not kb.documents():
        raise ConfigurationError("the knowledge base is empty: tms kb ingest PATH first")
    model_id = embedder().model_id
    rows = retrieve(truth, lambda text, k: kb.search(text, k=k), model_id)
    bias = relevance_gate(model_id).get("bias", 0.0)
    report = figures(rows, bias)
    suggested = calibrate(rows, bias)
    if args.json:
        print(json.dumps({**report, "suggested_bias": suggested}))
    else:
        print(render(report, suggested))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone `generate` (scripts/generate_ticket.py): same options, same errors, same exit codes."""
    parser = argparse.ArgumentParser(
        prog="generate_ticket.py",
        description="Generate synthetic support tickets and send them to the stream.",
    )
    add_generate_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except TmsError as exc:
        print(f"generate_ticket.py: error: {exc}", file=sys.stderr)
        return 2
