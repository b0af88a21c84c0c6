"""Ack latency of `/ticket` over 1,000 signed requests against the local stack, Kinesis write included.

Each request goes over HTTP to the bot (local.bot_server, as `tms bot` serves it), is verified, validated, written
to the local stack's Kinesis stream and acked with the ephemeral confirmation; the latency is the client's
round trip. Slack's budget is 3 s.

    .venv/bin/python bench/slack_ack.py [--requests 1000] [--with-pipeline]

By default the pipeline's Kinesis poller is paused so the figures are the bot's own; --with-pipeline lets
the workflow run underneath (on 2 cores it competes for CPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for tests.fakes

SLACK_BUDGET_MS = 3000.0


def _pct(sorted_ms: list[float], q: float) -> float:
    idx = min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))
    return sorted_ms[idx]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--with-pipeline", action="store_true", help="keep the Kinesis poller running")
    args = parser.parse_args(argv)

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would bury the table

    from contract import clients, names
    from local.runtime import LocalStack
    from tests.fakes.bot_harness import running_bot, write_catalog
    from tests.fakes.slack_api import FakeSlackApi

    tmp = Path(tempfile.mkdtemp(prefix="tms-bench-slack-"))
    clients.clear_cache()
    with (
        FakeSlackApi.running() as slack,
        LocalStack.start(outbox=tmp / "outbox.jsonl", extra_env={names.ENV_STATE_DIR: str(tmp)}) as stack,
    ):
        if not args.with_pipeline:
            for poller in stack.pollers:
                poller.stop()
        with running_bot(
            kinesis=stack.client("kinesis"),
            dynamodb=stack.client("dynamodb"),
            stream_name=stack.info.stream_name,
            table_name=stack.info.table_name,
            catalog_path=write_catalog(tmp),
            slack_api=slack,
        ) as bot:
            slack.add_user("U0AGENT", "Ada Lovelace", "ada@example.com")
            for i in range(args.warmup):
                bot.command(f"Warm-up {i} | warming the connection pools")
            latencies: list[float] = []
            failures = 0
            for i in range(args.requests):
                start = time.perf_counter()
                resp = bot.command(
                    f"Ticket {i} cannot reach the API | Requests time out since the deploy ({i})."
                )
                latencies.append((time.perf_counter() - start) * 1000)
                if resp.status != 200 or "created" not in resp.body:
                    failures += 1
            written = len(bot.records()) - args.warmup

    ms = sorted(latencies)
    rows = [
        ("requests", f"{len(ms)}"),
        ("records written", f"{written}"),
        ("failures", f"{failures}"),
        ("p50 ms", f"{_pct(ms, 0.50):.2f}"),
        ("p90 ms", f"{_pct(ms, 0.90):.2f}"),
        ("p99 ms", f"{_pct(ms, 0.99):.2f}"),
        ("max ms", f"{ms[-1]:.2f}"),
        ("mean ms", f"{statistics.fmean(ms):.2f}"),
        ("within 3 s", f"{sum(1 for x in ms if x < SLACK_BUDGET_MS)}/{len(ms)}"),
        ("pipeline", "running" if args.with_pipeline else "paused"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  -----")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0 if failures == 0 and written == len(ms) else 1


if __name__ == "__main__":
    sys.exit(main())
