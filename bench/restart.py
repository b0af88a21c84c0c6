"""Start-up of `tms local up` with a large saved state, against an empty start.

    .venv/bin/python bench/restart.py [--tickets 10000] [--runs 3]

The state is seeded directly (not pushed through the pipeline): one real ticket runs through a durable
in-process stack, then its DynamoDB item and its archive and input objects are cloned `--tickets` times
straight into moto's backends (the table's stream is detached meanwhile, so the lifecycle mapping has no
backlog to replay), and the stack stops cleanly, which writes the snapshot. Then `tms local up` (restoring
it) and `tms local up --fresh` (in a second state dir) are started in turn, `--runs` times each: the clock
runs from spawning the process to its JSON ready line; each process is stopped with SIGTERM (a clean stop
that writes the snapshot again, also timed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # ahead of bench/pipeline.py

from contract import names
from local.durable import SNAPSHOT_NAME, durable_dir
from local.runtime import LocalStack, quiet_logs
from local.stack import LOCAL_ACCOUNT, LOCAL_REGION
from tests.conftest import make_ticket

TMS = [sys.executable, "-m", "tools.cli"]


def seed(state: Path, tickets: int) -> dict[str, float]:
    """A durable stack holding `tickets` triaged tickets, stopped cleanly; what it took."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    os.environ[names.ENV_STATE_DIR] = str(state)
    with LocalStack.start(durable=durable_dir(state), fresh=True) as stack:
        model = make_ticket(subject="seed")
        stack.client("kinesis").put_record(
            StreamName=stack.info.stream_name, Data=model.to_record_bytes(), PartitionKey=model.ticketId
        )
        stack.wait_idle()
        table = dynamodb_backends[LOCAL_ACCOUNT][LOCAL_REGION].get_table(stack.info.table_name)
        template = stack.client("dynamodb").get_item(
            TableName=stack.info.table_name, Key={"ticket_id": {"S": model.ticketId}}
        )["Item"]
        bucket = s3_backends[LOCAL_ACCOUNT]["aws"].get_bucket(stack.info.bucket_name)
        objects = {k: v.value for k, v in bucket.keys.items() if model.ticketId in k}
        s3 = s3_backends[LOCAL_ACCOUNT]["aws"]
        shard, table.stream_shard = table.stream_shard, None
        started = time.perf_counter()
        for i in range(tickets):
            tid = f"{model.ticketId[:-6]}{i:06d}"
            table.put_item({**template, "ticket_id": {"S": tid}})
            for key, value in objects.items():
                s3.put_object(stack.info.bucket_name, key.replace(model.ticketId, tid), value)
        table.stream_shard = shard
        seeded = time.perf_counter() - started
        stop_started = time.perf_counter()
    return {"seed_s": seeded, "stop_s": time.perf_counter() - stop_started}


def start_once(state: Path, fresh: bool) -> tuple[float, float, str]:
    """Seconds to the ready line, seconds of the clean stop, and the restore line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TMS_"))}
    env[names.ENV_STATE_DIR] = str(state)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*TMS, "local", "up", *(["--fresh"] if fresh else [])],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    json.loads(proc.stdout.readline())  # type: ignore[union-attr]
    ready = time.perf_counter() - started
    stopping = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=300)
    line = next((x for x in err.splitlines() if "restored" in x or "started empty" in x), "")
    return ready, time.perf_counter() - stopping, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory() as tmp:
        full, empty = Path(tmp) / "full", Path(tmp) / "empty"
        seeded = seed(full, args.tickets)
        size = (durable_dir(full) / SNAPSHOT_NAME).stat().st_size
        rows = {"restore": [], "fresh": []}  # type: dict[str, list[tuple[float, float, str]]]
        for _ in range(args.runs):  # interleaved: the machine is shared
            rows["restore"].append(start_once(full, fresh=False))
            rows["fresh"].append(start_once(empty, fresh=True))
    print(f"tickets seeded: {args.tickets} in {seeded['seed_s']:.1f} s; snapshot {size / 1e6:.1f} MB")
    print(f"clean stop of the seeding stack (drain + snapshot): {seeded['stop_s']:.2f} s")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print("| start | ready (median s) | runs (s) | clean stop (median s) |")
    print("|---|---|---|---|")
    for kind, runs in rows.items():
        ready = [r[0] for r in runs]
        stop = [r[1] for r in runs]
        print(
            f"| {kind} | {statistics.median(ready):.2f} | {', '.join(f'{x:.2f}' for x in ready)} "
            f"| {statistics.median(stop):.2f} |"
        )
    print(rows["restore"][0][2])


if __name__ == "__main__":
    main()
