"""Ingest benchmark: batched PutRecords (tools.ingest) against one put_record per ticket (the original).

One command: `.venv/bin/python bench/ingest.py [--count N]`. Both methods send the same generated tickets
to the same stream on a local moto server (over HTTP, as a real client would), and a table of records per
second is printed. The pipeline behind the stream is not running, so only the ingest path is measured.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STREAM = "bench-tickets"


def _client(endpoint: str):
    from contract.clients import aws_client

    return aws_client("kinesis", endpoint_url=endpoint, region="us-east-1", profile="ingest")


def _one_by_one(client, events) -> float:
    started = time.perf_counter()
    for e in events:
        client.put_record(StreamName=STREAM, Data=e.to_record_bytes(), PartitionKey=e.ticketId)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run both methods and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="tickets per method (default 2000)")
    parser.add_argument("--shards", type=int, default=4, help="stream shards (default 4)")
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from local.runtime import free_port
    from tools.generator import generate_tickets
    from tools.ingest import put_tickets

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        client = _client(f"http://127.0.0.1:{port}")
        client.create_stream(StreamName=STREAM, ShardCount=args.shards)
        client.get_waiter("stream_exists").wait(StreamName=STREAM)
        events = [g.event for g in generate_tickets(args.count, seed=1)]
        client.put_record(StreamName=STREAM, Data=b"{}", PartitionKey="warm-up")  # connection and server warm

        single_s = _one_by_one(client, events)
        report = put_tickets(events, stream_name=STREAM, client=client)
        if report.failed:
            print(f"batched send had {report.failed} failures", file=sys.stderr)
            return 1
    finally:
        server.stop()

    batched_s = report.elapsed_s
    rows = [
        ("put_record, one call per ticket", args.count, args.count, single_s),
        ("PutRecords, batches of <= 500", args.count, report.batches, batched_s),
    ]
    print(f"{'method':<34} {'records':>8} {'API calls':>10} {'seconds':>9} {'records/s':>10}")
    print("-" * 75)
    for name, records, calls, seconds in rows:
        print(f"{name:<34} {records:>8} {calls:>10} {seconds:>9.2f} {records / seconds:>10.0f}")
    print(f"speed-up of batched over one-by-one: {single_s / batched_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
