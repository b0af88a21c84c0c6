"""Customer mail on the local stack: time per approved reply sent (claim, MIME, SES v2 SendEmail, .eml copy,
record, SNS event) and per inbound answer taken in (S3 put, parse, match, conditional write, SNS event),
plus .eml sizes.

    .venv/bin/python bench/mail.py [--tickets 200]

Drives the real mailer and inbound-mail handlers against a LocalStack (moto server); tickets are written
straight into the table as APPROVED so that only the mail path is timed. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODY = (
    "Hello Ada,\n\nThank you for reaching out about the invoices page. We found a slow query behind it and "
    "deployed a fix; the page loads in under a second again.\n\nKind regards,\nThe Support Team"
)


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("TMS_STATE_DIR", tempfile.mkdtemp(prefix="tms-bench-mail-"))

    from contract import names
    from contract.models import ReplyApprovedMessage, new_ticket_id
    from local.lambdas import LocalLambdaContext
    from local.runtime import LocalStack
    from tools.cli.mail import ses_receipt_event

    with LocalStack.start() as stack:
        from pipeline.handlers import inbound_mail, mailer

        ddb, s3 = stack.client("dynamodb"), stack.client("s3")
        ids = [new_ticket_id() for _ in range(args.tickets)]
        for tid in ids:
            ddb.put_item(
                TableName=stack.info.table_name,
                Item={
                    "ticket_id": {"S": tid},
                    "status": {"S": "APPROVED"},
                    "version": {"N": "1"},
                    "subject": {"S": "Invoices page times out"},
                    "customer_email": {"S": "ada@customer.example"},
                    "customer_full_name": {"S": "Ada Lovelace"},
                    "response_text": {"S": BODY},
                },
            )
        send_s: list[float] = []
        for tid in ids:
            msg = ReplyApprovedMessage(
                ticket_id=tid, approved_by="U0BENCH", approved_at=datetime.now(UTC), version=1
            )
            event = {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "Sns": {
                            "MessageId": tid,
                            "TopicArn": stack.info.topic_arn,
                            "Message": msg.model_dump_json(),
                            "MessageAttributes": {},
                            "Type": "Notification",
                            "Timestamp": "2026-01-01T00:00:00.000Z",
                        },
                    }
                ]
            }
            t0 = time.perf_counter()
            out = mailer.handler(event, LocalLambdaContext("tms-mailer"))
            send_s.append(time.perf_counter() - t0)
            assert out["outcomes"][0]["outcome"] == "sent", out
        outbox = Path(stack.info.extra[names.ENV_MAIL_OUTBOX_DIR])
        sizes = [p.stat().st_size for p in outbox.glob("*.eml")]

        receive_s: list[float] = []
        for tid in ids:
            raw = (
                f"From: Ada Lovelace <ada@customer.example>\r\nTo: {names.LOCAL_REPLY_FROM}\r\n"
                f"Subject: Re: [{tid}] Invoices page times out\r\nMessage-ID: <a-{tid}@customer.example>\r\n"
                f"In-Reply-To: <{tid}.1@tms.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                f"Works now, thanks!\r\n\r\nOn Monday, support wrote:\r\n> {BODY[:80]}\r\n"
            ).encode()
            t0 = time.perf_counter()
            key = names.INBOUND_MAIL_PREFIX + f"bench-{tid}"
            s3.put_object(Bucket=stack.info.bucket_name, Key=key, Body=raw)
            res = inbound_mail.handler(
                ses_receipt_event(f"bench-{tid}", raw, {}, stack.info.bucket_name),
                LocalLambdaContext("tms-inbound-mail"),
            )
            receive_s.append(time.perf_counter() - t0)
            assert res["results"][0]["outcome"] == "appended", res
        stack.wait_idle(timeout=300)

    rows = [
        ("approved reply sent (claim, SES, .eml, record, event)", send_s),
        ("customer answer taken in (S3 put, parse, write, event)", receive_s),
    ]
    print(f"{'step':<58} {'n':>5} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, values in rows:
        ms = [v * 1000 for v in values]
        print(
            f"{name:<58} {len(ms):>5} {statistics.median(ms):>10.1f} {_pct(ms, 0.95):>8.1f} {max(ms):>8.1f}"
        )
    print(
        json.dumps(
            {
                "eml_files": len(sizes),
                "eml_bytes_median": statistics.median(sizes),
                "eml_bytes_max": max(sizes),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
