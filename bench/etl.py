"""ETL cost: a full load of N archived tickets vs an incremental run over 1 % new ones.

    .venv/bin/python bench/etl.py [--records 100000] [--new-share 0.01]

Runs the real local runner (contract/manifests.py selection, copy, Spark transforms, staging + MERGE into
DuckDB) against an in-process moto S3 and prints one table. The history is seeded as the pipeline writes it
(each object plus its manifest marker, processed over the previous 20 days); the new tickets and one
re-processed old ticket are written through the pipeline's own writer (ManifestedStore). The incremental run
must cost what the new records cost, not what the history costs; the last row checks that the re-processed
old ticket reached the warehouse.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HISTORY = timedelta(days=20)


def _seed_history(bucket: str, count: int) -> None:
    # Straight into moto's backend: seeding through boto3 would take longer than the benchmark itself.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    from contract import names
    from contract.manifests import marker_key
    from tests.fixtures_spark import line, record

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    start = datetime.now(UTC) - HISTORY
    for n in range(count):
        rec = record(n)
        key = rec.archive_key()
        backend.put_object(bucket, key, line(rec).encode())
        at = start + HISTORY * (n / max(count, 1))
        backend.put_object(bucket, marker_key(key, names.ARCHIVE_PREFIX, at, f"{n:x}"), b"")


def _write_new(bucket: str, start: int, count: int, reprocess: int) -> str:
    """New tickets and one re-processed old ticket through the pipeline's writer; the re-processed one's
    new priority."""
    from contract import names
    from contract.clients import aws_client
    from pipeline.adapters.aws import ManifestedStore, S3ArchiveStore
    from tests.fixtures_spark import line, record

    store = ManifestedStore(
        S3ArchiveStore(bucket, aws_client("s3", region="us-east-1")), names.ARCHIVE_PREFIX
    )
    for n in range(start, start + count):
        rec = record(n)
        store.put(rec.archive_key(), line(rec))
    old = record(reprocess)
    again = record(
        reprocess, processed_delay=86_400.0, priority="HIGH" if old.priority != "HIGH" else "NORMAL"
    )
    store.put(again.archive_key(), line(again))  # same key as the old object: only its new marker is new
    return again.priority.value


def _priority(ticket_id: str) -> str:
    from tools.analytics.warehouse import open_warehouse

    wh = open_warehouse()
    try:
        _, rows = wh.query(f"SELECT priority FROM tickets WHERE ticket_id = '{ticket_id}'")  # noqa: S608
    finally:
        wh.close()
    return str(rows[0][0]) if rows else "(missing)"


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--new-share", type=float, default=0.01)
    args = parser.parse_args()
    os.environ["TMS_STATE_DIR"] = tempfile.mkdtemp(prefix="tms-bench-")

    from moto import mock_aws

    from contract.clients import aws_client
    from tests.fixtures_spark import BUCKET, record, stack_info
    from tools.analytics import run_etl
    from tools.analytics.spark import get_spark

    new = max(1, int(args.records * args.new_share))
    reprocess = args.records // 2
    rows = []
    with mock_aws():
        aws_client("s3", region="us-east-1").create_bucket(Bucket=BUCKET)
        t = time.perf_counter()
        _seed_history(BUCKET, args.records)
        print(
            f"seeded {args.records:,} objects + markers in {time.perf_counter() - t:.1f} s", file=sys.stderr
        )
        get_spark()  # session start is a fixed cost of every run; keep it out of both rows
        info = stack_info()
        expected = ""
        for label in ("full load", "no-op rerun", f"incremental {args.new_share:.0%}"):
            if label.startswith("incremental"):
                t = time.perf_counter()
                expected = _write_new(BUCKET, 10_000_000, new, reprocess)
                print(
                    f"wrote {new:,} new + 1 re-processed in {time.perf_counter() - t:.1f} s", file=sys.stderr
                )
            t = time.perf_counter()
            result = run_etl(info)
            rows.append((label, result, time.perf_counter() - t))
            print(f"{label}: {rows[-1][2]:.1f} s ({result.selection})", file=sys.stderr)
        got = _priority(record(reprocess).ticket_id)

    phases = ["list", "copy", "transform", "merge", "bookmark"]
    head = (
        f"{'run':<17}{'listed':>9}{'read':>9}{'merged':>9}{'total s':>9}"
        + "".join(f"{p + ' s':>12}" for p in phases)
        + f"{'rec/s':>10}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at end"
    )
    print(head)
    print("-" * len(head))
    for label, r, total in rows:
        per = f"{r.read / total:,.0f}" if r.read else "-"
        cells = "".join(f"{r.timings.get(p, 0.0):>12.2f}" for p in phases)
        listed = r.listed + r.lifecycle.listed
        print(f"{label:<17}{listed:>9,}{r.read:>9,}{r.merged:>9,}{total:>9.2f}{cells}{per:>10}")
    full, incremental = rows[0][2], rows[2][2]
    print("-" * len(head))
    print(
        f"incremental / full: {incremental / full:.1%} (goal <= 5 %); full load {full / 60:.1f} min (goal < 10)"
    )
    print(
        f"re-processed old ticket {record(reprocess).ticket_id}: warehouse priority {got}, expected {expected}: "
        f"{'picked up' if got == expected else 'MISSED'}"
    )
    return 0 if got == expected else 1


if __name__ == "__main__":
    sys.exit(main())
