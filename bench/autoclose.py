"""Auto-close and CSAT benchmark on the embedded local stack (issue 32): do waiting tickets get exactly one
nudge and one close, on time, and does the rating page answer quickly and record once?

    .venv/bin/python bench/autoclose.py [--tickets 20] [--wait 10s] [--answered 0.25] [--ratings 50]

--tickets approved replies go out through the mailer at once (the ReplyApproved message the bot publishes);
--answered of them get the customer's answer right after the reply (they must be neither nudged nor
closed). The rest wait: expect one nudge at half --wait and one close at --wait, each once, then one rating
question. Lateness = when the timer function stamped the step minus the instant it was due (the schedule's
at() rounds up to the second). Then --ratings GET + POST pairs against the local rating page (each ticket's
link answered once, then posted again: 409), timed from the client.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _http(url: str, form: dict[str, str] | None = None) -> tuple[int, float]:
    data = urlencode(form).encode() if form is not None else None
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as resp:  # noqa: S310 (the local page)
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, (time.perf_counter() - start) * 1000


def _plain(path: Path) -> str:
    body = message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",))
    return body.get_content() if body is not None else ""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--wait", default="10s")
    parser.add_argument("--answered", type=float, default=0.25)
    parser.add_argument("--ratings", type=int, default=50)
    args = parser.parse_args()

    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TMS_STATE_DIR", tempfile.mkdtemp(prefix="tms-bench-autoclose-"))
    os.environ["TMS_AUTOCLOSE_AFTER"] = args.wait

    from bot.adapters.replies import SnsReplyQueue
    from contract import names
    from contract.models import ReplyApprovedMessage
    from local.runtime import LocalStack
    from pipeline.domain.sla import parse_duration
    from tools.cli.mail import ses_receipt_event

    wait = parse_duration(args.wait)
    with LocalStack.start() as stack:
        ddb = stack.client("dynamodb")
        ids = [f"TKT-20261207-BENCH{n:05d}" for n in range(args.tickets)]
        answered = set(ids[: int(args.tickets * args.answered)])
        for n, tid in enumerate(ids):
            item = {
                "ticket_id": tid,
                "status": "APPROVED",
                "subject": f"Export job {n} fails",
                "customer_email": f"customer{n}@example.com",
                "customer_full_name": f"Customer {n}",
                "response_text": "We fixed the bucket policy; please run the export again.",
                "slack_channel": "C0TICKETS",
                "slack_ts": f"1700000000.{n:06d}",
            }
            ddb.put_item(
                TableName=stack.info.table_name,
                Item={**{k: {"S": v} for k, v in item.items()}, "version": {"N": "1"}},
            )
        queue = SnsReplyQueue(stack.info.topic_arn, stack.client("sns"))
        for tid in ids:
            queue.approved(
                ReplyApprovedMessage(
                    ticket_id=tid, approved_by="U0LEAD", approved_at=datetime.now(UTC), version=1
                )
            )

        def get(tid: str) -> dict[str, Any]:
            raw = ddb.get_item(TableName=stack.info.table_name, Key={"ticket_id": {"S": tid}})["Item"]
            return {k: next(iter(v.values())) for k, v in raw.items()}

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(get(t).get("awaiting_since") for t in ids):
            time.sleep(0.2)
        outbox = Path(os.environ[names.ENV_MAIL_OUTBOX_DIR])
        for n, tid in enumerate(sorted(answered)):
            raw = (
                f"From: Customer <{get(tid)['customer_email']}>\r\nTo: {names.LOCAL_REPLY_FROM}\r\n"
                f"Subject: Re: [{tid}] Export\r\nMessage-ID: <bench-{n}@example.com>\r\n"
                f"In-Reply-To: <{tid}.1@{names.LOCAL_REPLY_FROM.split('@')[1]}>\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\nIt works again, thank you.\r\n"
            ).encode()
            key = f"bench-answer-{n}"
            stack.client("s3").put_object(
                Bucket=stack.info.bucket_name, Key=names.INBOUND_MAIL_PREFIX + key, Body=raw
            )
            event = ses_receipt_event(key, raw, {}, stack.info.bucket_name)
            stack.lambdas.invoke(f"{names.PROJECT}-{names.FN_INBOUND_MAIL}", event)

        waiting = [t for t in ids if t not in answered]
        deadline = time.monotonic() + wait.total_seconds() + 60
        while time.monotonic() < deadline and not all(get(t).get("status") == "CLOSED" for t in waiting):
            time.sleep(0.5)
        time.sleep(3)  # late or duplicate firings, if any, land now
        stack.wait_idle(timeout=60)

        nudge_late, close_late, problems = [], [], []
        mails: dict[str, list[str]] = {}
        for tid in ids:
            item = get(tid)
            texts = [_plain(p) for p in sorted(outbox.glob(f"{tid}-*.eml"))]
            mails[tid] = texts
            nudges = sum("check whether our last reply" in t for t in texts)
            if tid in answered:
                if nudges or item.get("status") == "CLOSED":
                    problems.append(f"{tid}: answered but nudged {nudges} / {item.get('status')}")
                continue
            since = _ts(item["awaiting_since"])
            if nudges != 1 or item.get("status") != "CLOSED":
                problems.append(f"{tid}: {nudges} nudges, status {item.get('status')}")
                continue
            nudge_late.append((_ts(item["nudged_at"]) - since - wait / 2).total_seconds())
            close_late.append((_ts(item["closed_at"]) - since - wait).total_seconds())

        # The rating page: each waiting ticket's link opened and answered, then posted again.
        links = [
            m[0]
            for tid in waiting
            for t in mails[tid]
            for m in [re.search(r"http://127\.0\.0\.1:\d+/rate\?t=\S+", t)]
            if m
        ][: args.ratings]
        get_ms, post_ms, replay = [], [], []
        for link in links:
            status, ms = _http(link)
            get_ms.append(ms)
            form = {"t": link.partition("?t=")[2], "rating": "5", "comment": "Quick and clear, thanks"}
            status, ms = _http(link, form)
            post_ms.append(ms)
            if status != 200:
                problems.append(f"POST {status}")
            replay.append(_http(link, form)[0])

    rows = [
        ("tickets (answered / waiting)", f"{len(answered)} / {len(waiting)}"),
        ("wait (nudge at half)", args.wait),
        ("nudges per waiting ticket", "1" if not problems else "see problems"),
        (
            "nudge lateness p50 / max, s",
            f"{_pct(nudge_late, 0.5):.2f} / {max(nudge_late, default=float('nan')):.2f}",
        ),
        (
            "close lateness p50 / max, s",
            f"{_pct(close_late, 0.5):.2f} / {max(close_late, default=float('nan')):.2f}",
        ),
        ("rating links answered", str(len(links))),
        ("rating page GET p50 / p90, ms", f"{_pct(get_ms, 0.5):.1f} / {_pct(get_ms, 0.9):.1f}"),
        ("rating page POST p50 / p90, ms", f"{_pct(post_ms, 0.5):.1f} / {_pct(post_ms, 0.9):.1f}"),
        ("second POST answers", json.dumps(sorted(set(replay)))),
        ("problems", str(len(problems))),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for p in problems[:10]:
        print("  ", p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
