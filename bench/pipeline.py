"""Pipeline benchmark: N tickets through the real pipeline on the embedded local stack.

    .venv/bin/python bench/pipeline.py [--tickets 1000] [--seed 1]

Prints throughput and put->stored latency percentiles. Local figures measure our code plus moto's
pure-Python endpoint on this machine, not AWS; compare runs on the same machine, never across machines.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--singles", type=int, default=10, help="single tickets sent one at a time after the burst"
    )
    args = parser.parse_args()

    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TMS_STATE_DIR", tempfile.mkdtemp(prefix="tms-bench-"))

    from local.runtime import LocalStack
    from tools.demo import demo_clients, percentile, run_demo

    boot = time.monotonic()
    with LocalStack.start() as stack:
        boot_s = time.monotonic() - boot
        report = run_demo(stack.info, tickets=args.tickets, seed=args.seed, clients=demo_clients(stack.info))
        stack.wait_idle(timeout=300)
        cpu = time.process_time()
        # Isolated latency: one ticket at a time on an idle stack (no queueing behind a burst).
        single = []
        for i in range(args.singles):
            one = run_demo(stack.info, tickets=1, seed=args.seed + 1000 + i, clients=demo_clients(stack.info))
            stack.wait_idle(timeout=60)
            single.append(one.latency_ms["p50"])

    rows = [
        ("tickets", f"{report.submitted}"),
        ("triaged / failed", f"{report.processed} / {report.failed}"),
        ("stack start", f"{boot_s:.1f} s"),
        ("wall time (send -> all stored)", f"{report.elapsed_s:.1f} s"),
        ("throughput", f"{report.throughput_tps:.2f} tickets/s"),
        ("latency p50", f"{report.latency_ms['p50'] / 1000:.2f} s"),
        ("latency p95", f"{report.latency_ms['p95'] / 1000:.2f} s"),
        ("latency p99", f"{report.latency_ms['p99'] / 1000:.2f} s"),
        (f"isolated latency p50 ({args.singles} single tickets)", f"{percentile(single, 50) / 1000:.2f} s"),
        ("isolated latency max", f"{max(single) / 1000:.2f} s"),
        ("process CPU per ticket", f"{cpu / max(report.submitted, 1) * 1000:.0f} ms"),
        ("machine cores", f"{os.cpu_count()}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 20}")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    print("\nLatency is from submission (the burst is sent at once) to the record being stored, so it")
    print("includes queueing behind the earlier tickets of the burst.")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
