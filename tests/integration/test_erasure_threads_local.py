"""`tms customer forget` on the embedded local stack finds tms's thread replies the item never recorded (a
ticket posted before 2026-12-07): it reads the thread (locally from the Slack outbox) and redacts them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.outbox import OutboxPoster
from contract import names
from contract.models import Customer
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket
from tests.integration.conftest import item, put
from tools.cli import main

pytestmark = pytest.mark.integration

IDA = Customer(
    first_name="Ida", last_name="Noddack", full_name="Ida Noddack", email="ida@example.org", company="KWI"
)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    env = {names.ENV_STATE_DIR: str(tmp_path / "state")}
    with LocalStack.start(
        outbox=tmp_path / "slack.jsonl", mapping=MappingConfig(retry_delay_s=0.05), extra_env=env
    ) as s:
        yield s


def _forget(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["customer", "forget", *args, "--json"]) == 0
    return dict(json.loads(out.getvalue()))


def test_replies_posted_before_tms_recorded_them_are_found_in_the_thread_and_redacted(
    stack: LocalStack,
) -> None:
    # Given Ida's ticket, posted, and turned into one from before tms recorded its replies: no slack_posts
    # on the item, and a reply tms posted in the thread then (an SLA warning naming her)
    base = make_ticket(subject="Quota report is empty")
    ticket = base.model_copy(update={"data": base.data.model_copy(update={"customer": IDA})})
    put(stack, ticket)
    stack.wait_idle(timeout=120)
    posted = item(stack, ticket.ticketId) or {}
    channel, root = str(posted["slack_channel"]), str(posted["slack_ts"])
    stack.client("dynamodb").update_item(
        TableName=stack.info.table_name,
        Key={"ticket_id": {"S": ticket.ticketId}},
        UpdateExpression="REMOVE #p",
        ExpressionAttributeNames={"#p": names.SLACK_POSTS_ATTR},
    )
    outbox = Path(stack.info.slack_outbox)
    warning = OutboxPoster(outbox).post(
        {"channel": channel, "thread_ts": root, "text": "SLA: Ida Noddack has waited 80% of her target"}
    )

    # When Ida is forgotten
    report = _forget("ida@example.org")

    # Then the root and the unrecorded reply are both redacted, and nothing is reported untracked
    updates = [json.loads(line) for line in outbox.read_text().splitlines() if '"chat.update"' in line]
    redacted = {u["ts"] for u in updates if ticket.ticketId in u["text"] and "erased" in u["text"]}
    assert {root, warning.ts} <= redacted
    assert report["changed"]["slack:posts"] >= 2
    assert report["untracked_slack_threads"] == []
    assert "Noddack" not in outbox.read_text()
