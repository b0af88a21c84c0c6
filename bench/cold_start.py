"""Cold start of the Lambda functions: the bot's first `/ticket` ack, and every handler's import time.

    .venv/bin/python bench/cold_start.py [--runs 20] [--import-runs 5]

(a) Cold `/ticket` ack. A fresh Python process per request, as Lambda starts one after idle: interpreter
start, `import bot.handler`, settings with the Slack secret read from Secrets Manager on the local stack,
the clients and the Bolt app, then one Slack-signed Function-URL event through `bot.handler.handler`
(users.info on a fake Slack API, the Kinesis put on the local stack) until the ack is returned. The clock
starts just before the process is spawned and stops when the handler returns the ack. Goal: p99 <= 1.0 s.

(b) Import time of every Lambda handler module (contract/names.py HANDLERS), a fresh process each, median of
`--import-runs`, as a ratio to `import boto3` measured the same way in the same run. Goal: <= 1.5x.
The ratio compares the fastest of the runs, as Python's `timeit` advises: on this shared machine the same
import varies by up to 50 % from run to run (CPU time as much as wall time), and only the other tenants make
it slower, never faster. The median is printed beside it.
The handlers build their AWS clients on first use, so most of them import botocore but not boto3's session
(nor s3transfer): that part of boto3 comes with the first request. The column "with boto3" says what the
import would cost if it came first (`import boto3, <module>`), as a ratio to boto3 alone, so the table does
not hide what was only moved.

Bytecode is precompiled first and the children may use it (PYTHONDONTWRITEBYTECODE is unset for them):
a Lambda package without bytecode compiles on every cold start, which would measure the compiler.
The local stack's Kinesis pollers are paused so the figures are the bot's own.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repo root, for tests.fakes

ACK_GOAL_S = 1.0
RATIO_GOAL = 1.5

# The child: what a Lambda execution environment does on its first request. Stamps are wall-clock
# (time.time) so the parent can subtract its own spawn stamp.
CHILD = r"""
import time
t_start = time.time()
import json, sys
event = json.loads(sys.stdin.read())
import bot.handler
t_imported = time.time()
bot.handler.slack_handler()
t_ready = time.time()

class Context:
    function_name = "tms-bot"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tms-bot"
    aws_request_id = "cold-start-bench"

response = bot.handler.handler(event, Context())
t_acked = time.time()
print(json.dumps({"start": t_start, "imported": t_imported, "ready": t_ready, "acked": t_acked,
                  "status": response["statusCode"], "body": response.get("body", ""),
                  "modules": sorted(m for m in ("aws_xray_sdk", "email_validator", "langchain_core")
                                    if m in sys.modules)}))
"""

IMPORT_CHILD = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[idx]


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    from contract import names

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TMS_", "SLACK_", "POWERTOOLS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(ROOT)
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    return env | names.LAMBDA_RUNTIME_ENV | extra  # what every deployed function has


def precompile() -> None:
    """Bytecode for the repo and the virtualenv's packages (Lambda layers built by pip carry it too)."""
    for path in (ROOT / "bot", ROOT / "pipeline", ROOT / "infra", Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(path, quiet=2, workers=1)


def function_url_event(body: str, headers: dict[str, str]) -> dict[str, object]:
    """A Lambda Function URL (payload 2.0) event carrying a Slack POST."""
    return {
        "version": "2.0",
        "rawPath": "/slack/events",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()}
        | {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": body,
        "isBase64Encoded": False,
    }


def cold_acks(runs: int) -> tuple[list[dict[str, float]], int, list[str]]:
    """`runs` fresh processes, one /ticket each; phase timings, the records written, modules seen."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from contract import clients, names
    from local.runtime import LocalStack
    from tests.fakes.bot_harness import BOT_TOKEN, SIGNING_SECRET
    from tests.fakes.slack_api import FakeSlackApi, command_body, sign

    tmp = Path(tempfile.mkdtemp(prefix="tms-bench-cold-"))
    clients.clear_cache()
    phases: list[dict[str, float]] = []
    seen: set[str] = set()
    with (
        FakeSlackApi.running() as slack,
        LocalStack.start(outbox=tmp / "outbox.jsonl", extra_env={names.ENV_STATE_DIR: str(tmp)}) as stack,
    ):
        for poller in stack.pollers:
            poller.stop()
        slack.add_user("U0AGENT", "Ada Lovelace", "ada@example.com")
        secret_arn = stack.client("secretsmanager").create_secret(
            Name="tms/slack-cold-start",
            SecretString=json.dumps({"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET}),
        )["ARN"]
        env = _child_env(
            {
                "AWS_ENDPOINT_URL": str(stack.info.endpoint_url),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": stack.info.region,
                names.ENV_SLACK_SECRET_ARN: secret_arn,
                names.ENV_SLACK_API_URL: slack.base_url,
                names.ENV_STREAM_NAME: stack.info.stream_name,
                names.ENV_TABLE_NAME: stack.info.table_name,
                names.ENV_TOPIC_ARN: stack.info.topic_arn,
                "POWERTOOLS_SERVICE_NAME": "tms-bot",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        kinesis = stack.client("kinesis")
        for i in range(runs):
            body = command_body(f"Cold start {i} | The first request after idle ({i}).")
            event = function_url_event(body, sign(SIGNING_SECRET, body, int(time.time())))
            t_spawn = time.time()
            proc = subprocess.run(
                [sys.executable, "-c", CHILD],
                input=json.dumps(event),
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp,
                check=False,
            )
            if proc.returncode != 0:
                raise SystemExit(f"run {i} failed:\n{proc.stderr[-3000:]}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            if out["status"] != 200 or "created" not in out["body"]:
                raise SystemExit(f"run {i}: no ticket confirmation: {out['status']} {out['body'][:300]}")
            seen.update(out["modules"])
            phases.append(
                {
                    "interpreter": out["start"] - t_spawn,
                    "imports": out["imported"] - out["start"],
                    "settings+secret+clients": out["ready"] - out["imported"],
                    "first request (verify, users.info, Kinesis put)": out["acked"] - out["ready"],
                    "cold ack": out["acked"] - t_spawn,
                }
            )
        written = _count_records(kinesis, stack.info.stream_name)
    return phases, written, sorted(seen)


def _count_records(kinesis: object, stream: str) -> int:
    total = 0
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:  # type: ignore[attr-defined]
        it = kinesis.get_shard_iterator(  # type: ignore[attr-defined]
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        total += len(kinesis.get_records(ShardIterator=it, Limit=10000)["Records"])  # type: ignore[attr-defined]
    return total


def import_times(runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Per handler module (and boto3): its import times alone, and with boto3 imported first in the same
    statement. Runs are interleaved so load drifts hit all alike."""
    from contract import names

    modules = ["boto3", *dict.fromkeys(path.rsplit(".", 1)[0] for path in names.HANDLERS.values())]
    env = _child_env({})
    statements = {m: (m, m if m == "boto3" else f"boto3, {m}") for m in modules}
    samples: dict[str, tuple[list[float], list[float]]] = {m: ([], []) for m in modules}
    for _ in range(runs):
        for module, pair in statements.items():
            for statement, into in zip(pair, samples[module], strict=True):
                out = subprocess.run(
                    [sys.executable, "-c", IMPORT_CHILD.format(module=statement)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                into.append(float(out.stdout.strip()))
    return samples


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print two tables; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="cold /ticket requests (fresh processes)")
    parser.add_argument("--import-runs", type=int, default=5, help="fresh imports per handler module")
    parser.add_argument("--skip-ack", action="store_true", help="only the import table")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.import_runs < 1:
        parser.error("--runs and --import-runs must be at least 1 (use --skip-ack to leave out the ack runs)")

    precompile()
    ok = True
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}"
    )
    if not args.skip_ack:
        phases, written, seen = cold_acks(args.runs)
        print(f"\n(a) cold /ticket ack, {len(phases)} fresh processes, {written} tickets on the stream")
        rows: list[tuple[str, ...]] = []
        for key in phases[0]:
            values = [p[key] * 1000 for p in phases]
            rows.append((key, f"{_pct(values, 0.5):.0f}", f"{_pct(values, 0.99):.0f}", f"{max(values):.0f}"))
        _table(("phase", "p50 ms", "p99 ms", "max ms"), rows)
        p99 = _pct([p["cold ack"] for p in phases], 0.99)
        ok &= p99 <= ACK_GOAL_S and written == len(phases)
        print(f"goal p99 <= {ACK_GOAL_S * 1000:.0f} ms: {'met' if p99 <= ACK_GOAL_S else 'MISSED'}")
        print(f"heavy modules imported on the way: {', '.join(seen) or 'none'}")

    samples = import_times(args.import_runs)
    base = min(samples["boto3"][0])
    print(f"\n(b) import time, {args.import_runs} fresh processes each; ratios of the fastest runs")
    rows = []
    ratios = {}
    for module, (alone, with_boto3) in samples.items():
        ratios[module] = min(alone) / base
        rows.append(
            (
                module,
                f"{min(alone) * 1000:.0f}",
                f"{statistics.median(alone) * 1000:.0f}",
                f"{ratios[module]:.2f}x",
                f"{min(with_boto3) / base:.2f}x",
            )
        )
    _table(("module", "min ms", "median ms", "vs boto3", "with boto3"), rows)
    worst = max(r for m, r in ratios.items() if m != "boto3")
    ok &= worst <= RATIO_GOAL
    print(f"goal <= {RATIO_GOAL}x boto3: {'met' if worst <= RATIO_GOAL else 'MISSED'} (worst {worst:.2f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
