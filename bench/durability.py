"""What durability costs the local pipeline: tickets per second with and without it, in one process.

    .venv/bin/python bench/durability.py [--tickets 60] [--rounds 3]

Each round runs `--tickets` tickets (one PutRecords, then wait until every workflow is idle) through an
in-memory stack (what `tms demo` and the tests use) and through a durable one (what `tms local up` runs:
every data-store write journaled and fsynced, background snapshots every TMS_LOCAL_SNAPSHOT_INTERVAL
seconds), alternating which goes first, so both see the same machine load. Prints a table and the ratio
of the medians. The machine is shared: compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract import names
from local.runtime import LocalStack, quiet_logs
from tests.conftest import make_ticket


def run(tickets: int, durable: Path | None) -> tuple[float, int]:
    """Tickets per second through one fresh stack; the journal's size in bytes at the end (durable)."""
    batch = [
        make_ticket(subject=f"bench {i}", description=f"Ticket number {i} of the run.")
        for i in range(tickets)
    ]
    with LocalStack.start(durable=durable, fresh=True) as stack:
        kinesis = stack.client("kinesis")
        started = time.perf_counter()
        for i in range(0, tickets, 100):
            kinesis.put_records(
                StreamName=stack.info.stream_name,
                Records=[
                    {"Data": t.to_record_bytes(), "PartitionKey": t.ticketId} for t in batch[i : i + 100]
                ],
            )
        stack.wait_idle(timeout=600)
        elapsed = time.perf_counter() - started
        journal = durable / "write-journal.jsonl" if durable else None
        size = journal.stat().st_size if journal and journal.exists() else 0
    return tickets / elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet_logs()
    os.environ.setdefault(names.ENV_LOCAL_RETRY_WAIT_SCALE, "0.1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[names.ENV_STATE_DIR] = tmp
        memory, durable = [], []
        rows = []
        for r in range(args.rounds):
            order = [None, Path(tmp) / "local"] if r % 2 == 0 else [Path(tmp) / "local", None]
            for where in order:
                tps, size = run(args.tickets, where)
                (durable if where else memory).append(tps)
                rows.append((r + 1, "durable" if where else "in memory", tps, size, os.getloadavg()[0]))
    print(f"{'round':>5} | {'stack':<9} | {'tickets/s':>9} | {'journal at end':>14} | load")
    print("------|-----------|-----------|----------------|-----")
    for r, kind, tps, size, load in rows:
        print(f"{r:>5} | {kind:<9} | {tps:>9.2f} | {size / 1e6:>11.2f} MB | {load:.1f}")
    m, d = statistics.median(memory), statistics.median(durable)
    print(f"\nmedian: in memory {m:.2f}/s, durable {d:.2f}/s: durable runs at {d / m:.0%} of in-memory")


if __name__ == "__main__":
    main()
