"""ETL cost: a full load of N archived tickets vs an incremental run over 1 % new ones.

    .venv/bin/python bench/etl.py [--records 100000] [--new-share 0.01]

Runs the real local runner (bookmark, copy, Spark transforms, staging + MERGE into DuckDB) against an
in-process moto S3; prints one table. The incremental run must cost about what the new records cost, not
what the history costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _seed(bucket: str, start: int, count: int) -> None:
    # Straight into moto's backend: seeding through boto3 would take longer than the benchmark itself.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    from tests.fixtures_spark import line, record

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for n in range(start, start + count):
        rec = record(n)
        backend.put_object(bucket, rec.archive_key(), line(rec).encode())


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--new-share", type=float, default=0.01)
    args = parser.parse_args()
    os.environ["TMS_STATE_DIR"] = tempfile.mkdtemp(prefix="tms-bench-")

    from moto import mock_aws

    from pipeline.adapters.clients import aws_client
    from pipeline.tools.analytics import run_etl
    from pipeline.tools.analytics.spark import get_spark
    from tests.fixtures_spark import BUCKET, stack_info

    new = max(1, int(args.records * args.new_share))
    rows = []
    with mock_aws():
        aws_client("s3", region="us-east-1").create_bucket(Bucket=BUCKET)
        t = time.perf_counter()
        _seed(BUCKET, 0, args.records)
        print(f"seeded {args.records:,} objects in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        get_spark()  # session start is a fixed cost of every run; keep it out of both rows
        info = stack_info()
        for label, count in (
            ("full load", args.records),
            ("no-op rerun", 0),
            (f"incremental {args.new_share:.0%}", new),
        ):
            if label.startswith("incremental"):
                _seed(BUCKET, 10_000_000, count)
            t = time.perf_counter()
            result = run_etl(info, full=label == "full load")
            total = time.perf_counter() - t
            rows.append((label, result, total))

    phases = ["list", "copy", "transform", "merge", "bookmark"]
    head = (
        f"{'run':<17}{'read':>9}{'merged':>9}{'total s':>9}"
        + "".join(f"{p + ' s':>12}" for p in phases)
        + f"{'rec/s':>10}"
    )
    print(head)
    print("-" * len(head))
    for label, r, total in rows:
        per = f"{r.read / total:,.0f}" if r.read else "-"
        cells = "".join(f"{r.timings.get(p, 0.0):>12.2f}" for p in phases)
        print(f"{label:<17}{r.read:>9,}{r.merged:>9,}{total:>9.2f}{cells}{per:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
