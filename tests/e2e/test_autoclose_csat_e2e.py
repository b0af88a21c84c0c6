"""Issue 32 on the local stack, with short timers: a mailed reply nobody answers → one nudge → CLOSED (the
scheduler fires the same timer function as the SLAs) → the rating question by mail; its link served on
127.0.0.1 shows a form and records one answer; a second submission, a forged and an expired link record
nothing and say so. And an answer to a RESOLVED ticket reopens it."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.adapters.replies import SnsReplyQueue
from contract import names
from contract.models import ReplyApprovedMessage, format_utc
from local.poller import MappingConfig
from local.runtime import LocalStack
from pipeline.domain import csat
from tests.conftest import wait_for
from tests.integration.conftest import item
from tools.cli.mail import ses_receipt_event

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parent.parent / "events" / "mail"
WAITING = "TKT-20250102-N0DGE2C1SE"  # the ticket nobody answers
RESOLVED = "TKT-20250102-ABCDEFGHJK"  # the ticket reply_plain.eml answers
WAIT_S = 8  # TMS_AUTOCLOSE_AFTER: nudged at 4 s, closed at 8 s


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("autoclose")
    env = {
        names.ENV_STATE_DIR: str(tmp / "state"),
        names.ENV_AUTOCLOSE_AFTER: f"{WAIT_S}s",
        names.ENV_SLACK_POST_INTERVAL: "0",
    }
    with LocalStack.start(
        outbox=tmp / "slack.jsonl", mapping=MappingConfig(retry_delay_s=0.05), extra_env=env
    ) as s:
        yield s


def _put(stack: LocalStack, ticket_id: str, **fields: str) -> None:
    attrs = {
        "ticket_id": ticket_id,
        "subject": "Login broken",
        "customer_email": "ada@example.com",
        "customer_full_name": "Ada Lovelace",
        "response_text": "Dear Ada, we reset your session; please sign in again.",
        "slack_channel": "C0TICKETS",
        "slack_ts": "1700000000.000100",
        "priority": "NORMAL",
    } | fields
    stack.client("dynamodb").put_item(
        TableName=stack.info.table_name,
        Item={**{k: {"S": v} for k, v in attrs.items()}, "version": {"N": "1"}},
    )


def _mails(ticket_id: str) -> list[Path]:
    return sorted(Path(os.environ[names.ENV_MAIL_OUTBOX_DIR]).glob(f"{ticket_id}-*.eml"))


def _text(path: Path) -> str:
    return message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()


def _slack(stack: LocalStack) -> str:
    path = Path(stack.info.slack_outbox)
    return path.read_text() if path.exists() else ""


def _http(url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as resp:  # noqa: S310 (our 127.0.0.1 server)
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_waiting_ticket_is_nudged_once_then_closed_and_its_rating_recorded_once(stack: LocalStack) -> None:
    # Given an approved reply to a customer
    _put(stack, WAITING, status="APPROVED")

    # When the mailer sends it and nobody answers
    SnsReplyQueue(stack.info.topic_arn, stack.client("sns")).approved(
        ReplyApprovedMessage(
            ticket_id=WAITING, approved_by="U0LEAD", approved_at=datetime.now(UTC), version=1
        )
    )
    sent = wait_for(lambda: (item(stack, WAITING) or {}).get("awaiting_since"), 30, "the reply sent")

    # Then the customer gets one reminder half-way, and the ticket closes at the end of the wait
    closed = wait_for(
        lambda: (t := item(stack, WAITING) or {}).get("status") == "CLOSED" and t, WAIT_S + 30, "the close"
    )
    assert closed["close_reason"] == "no_answer"
    nudged_at = datetime.fromisoformat(closed["nudged_at"].replace("Z", "+00:00"))
    closed_at = datetime.fromisoformat(closed["closed_at"].replace("Z", "+00:00"))
    since = datetime.fromisoformat(sent.replace("Z", "+00:00"))
    assert timedelta(seconds=WAIT_S / 2) <= nudged_at - since < closed_at - since
    assert closed_at - since >= timedelta(seconds=WAIT_S)
    mails = wait_for(lambda: len(_mails(WAITING)) >= 3 and _mails(WAITING), 30, "the rating question")
    texts = [_text(m) for m in mails]
    assert len(mails) == 3  # the reply, ONE nudge, the rating question
    assert "check whether our last reply solved your problem" in texts[1]
    assert sum("check whether our last reply" in t for t in texts) == 1

    # And the Slack thread followed each step
    wait_for(lambda: "Rating question sent" in _slack(stack), 30, "the thread posts")
    thread = _slack(stack)
    assert "Reminder sent to the customer" in thread and "Closed automatically" in thread

    # When the customer opens the link: a form, and nothing recorded yet
    link = re.search(r"(http://127\.0\.0\.1:\d+/rate\?t=\S+)", texts[2])
    assert link, texts[2]
    status, page = _http(link[1])
    assert status == 200 and '<form method="post">' in page and "<script" not in page
    assert "csat_rating" not in (item(stack, WAITING) or {})

    # And submits it: recorded once, and posted in the thread
    token = link[1].partition("?t=")[2]
    status, page = _http(link[1], {"t": token, "rating": "5", "comment": "Quick and kind, thanks!"})
    assert status == 200 and "Thank you" in page
    rated = item(stack, WAITING) or {}
    assert rated["csat_rating"] == "5" and rated["csat_comment"] == "Quick and kind, thanks!"
    wait_for(lambda: "The customer rated the ticket: 5/5" in _slack(stack), 30, "the rating in Slack")

    # A second submission records nothing and says so
    status, page = _http(link[1], {"t": token, "rating": "1"})
    assert status == 409 and "Already answered" in page
    assert (item(stack, WAITING) or {})["csat_rating"] == "5"

    # A forged token records nothing and says so
    body, _, mac = token.partition(".")
    forged = f"{body}.{mac[::-1]}"
    status, page = _http(link[1].replace(token, forged), {"t": forged, "rating": "1"})
    assert status == 400 and "not issued by us" in page

    # An expired token (signed with the stack's key, for a wait long over) records nothing and says so
    key = os.environ[names.ENV_CSAT_KEY].encode()
    old = csat.sign(csat.Token(RESOLVED, "n0nce", datetime.now(UTC) - timedelta(minutes=1)), key)
    base = link[1].partition("?t=")[0]
    assert _http(f"{base}?t={old}")[0] == 410
    status, page = _http(f"{base}?t={old}", {"t": old, "rating": "1"})
    assert status == 410 and "expired" in page
    assert "csat_rating" not in (item(stack, RESOLVED) or {})


def test_an_answer_to_a_resolved_ticket_reopens_it(stack: LocalStack) -> None:
    # Given a ticket resolved an hour ago
    _put(stack, RESOLVED, status="RESOLVED", resolved_at=format_utc(datetime.now(UTC) - timedelta(hours=1)))
    raw = (EVENTS / "reply_plain.eml").read_bytes()

    # When the customer answers (authenticated)
    stack.client("s3").put_object(
        Bucket=stack.info.bucket_name, Key=names.INBOUND_MAIL_PREFIX + "local-reopen", Body=raw
    )
    event = ses_receipt_event("local-reopen", raw, {}, stack.info.bucket_name)
    resp = stack.client("lambda").invoke(
        FunctionName=f"{names.PROJECT}-{names.FN_INBOUND_MAIL}", Payload=json.dumps(event).encode()
    )
    (result,) = json.loads(resp["Payload"].read())["results"]

    # Then it is reopened, waiting on the agents again
    assert result["outcome"] == "reopened"
    assert (item(stack, RESOLVED) or {})["status"] == "CUSTOMER_REPLIED"
