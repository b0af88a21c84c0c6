"""A burst of reports becomes one incident thread in Slack, on the local stack, through the fake Slack API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.fakes.bot_harness import (
    TICKET_CHANNEL,
    BotHarness,
    bot_on_local_stack,
)
from tests.fakes.slack_api import block_action_payload

pytestmark = pytest.mark.integration

BURST = (
    ("Acme", "S3 uploads failing with 503 Slow Down", "Every PutObject call to our buckets in eu-west-1 returns 503 Slow Down since 9:00."),
    ("Globex", "Cannot write files to S3 anymore", "Uploads to S3 are rejected with a SlowDown error in eu-west-1 although our request rate did not change."),
    ("Initech", "PutObject errors on our buckets", "Our service cannot save any file to its S3 bucket in eu-west-1, the SDK keeps retrying 503 Slow Down responses."),
)  # fmt: skip
UNRELATED = (
    "Umbrella",
    "Question about our invoice",
    "The October invoice lists a reserved instance fee we do not recognise.",
)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> Iterator[tuple[BotHarness, object]]:
    with bot_on_local_stack(tmp_path_factory.mktemp("incidents-e2e")) as (bot, stack, _slack):
        yield bot, stack


def _send(stack: object, company: str, subject: str, description: str, product: str = "Amazon S3") -> str:
    from contract.models import Source, TicketData, TicketSubmitted

    data = TicketData.model_validate(
        {
            "subject": subject,
            "description": description,
            "customer": {
                "first_name": "Kim",
                "last_name": company,
                "full_name": f"Kim {company}",
                "email": f"kim@{company.lower()}.example",
                "company": company,
            },
            "product": product,
            "issue_type": "Access Permissions",
        }
    )
    event = TicketSubmitted.new(data, Source.API, now=datetime.now(UTC))
    stack.client("kinesis").put_record(  # type: ignore[attr-defined]
        StreamName=stack.info.stream_name,  # type: ignore[attr-defined]
        Data=event.to_record_bytes(),
        PartitionKey=event.ticketId,
    )
    stack.wait_idle(timeout=120)  # type: ignore[attr-defined]
    return event.ticketId


def _posts_of(bot: BotHarness, ticket_id: str) -> list[dict]:
    return [c.params for c in bot.slack.calls_to("chat.postMessage") if ticket_id in json.dumps(c.params)]


def test_a_burst_becomes_one_root_post_with_thread_replies_and_an_unrelated_ticket_stays_alone(e2e):
    bot, stack = e2e
    ids = [_send(stack, *report) for report in BURST]
    other = _send(stack, *UNRELATED, product="Amazon EC2")

    root_id = ids[0]
    root = bot.clients.store.get(root_id) or {}
    (root_post,) = _posts_of(bot, root_id)[:1]
    assert "thread_ts" not in root_post
    for n, (ticket_id, (company, subject, _)) in enumerate(zip(ids[1:], BURST[1:], strict=True), start=2):
        (post,) = [p for p in _posts_of(bot, ticket_id) if p.get("thread_ts") == root["slack_ts"]]
        ordinal = {2: "2nd", 3: "3rd"}[n]
        assert post["text"].startswith(f"{ordinal} report: Kim {company}, {company}: {subject}")
        assert "Not the same issue" in json.dumps(post["blocks"])
        item = bot.clients.store.get(ticket_id) or {}
        assert item["incident_id"] == root["incident_id"] == "INC-" + root_id.removeprefix("TKT-")

    # The root's post shows the count, the companies and the highest priority of its reports.
    updates = [c.params for c in bot.slack.calls_to("chat.update") if c.params.get("ts") == root["slack_ts"]]
    latest = json.dumps(updates[-1]["blocks"])
    assert "*3 reports*" in latest and "Acme, Globex, Initech" in latest
    priorities = {(bot.clients.store.get(t) or {})["priority"] for t in ids}
    top = next(p for p in ("HIGH", "MEDIUM", "NORMAL") if p in priorities)
    assert "incident priority" in latest and top in latest.split("incident priority", 1)[1]
    assert "Resolve incident" in latest

    # The unrelated ticket: its own top-level post, no incident.
    (alone,) = _posts_of(bot, other)
    assert "thread_ts" not in alone
    assert not (bot.clients.store.get(other) or {}).get("incident_id")


def test_not_the_same_issue_posts_the_report_on_its_own_and_resolve_incident_closes_the_rest(e2e):
    bot, stack = e2e
    root_id = next(
        t["ticket_id"]
        for t in (bot.clients.store.get(i) or {} for i in _burst_ids(bot))
        if t.get("incident_members")
    )
    root = bot.clients.store.get(root_id) or {}
    members = sorted(root["incident_members"])
    third = next(
        m for m in members if m != root_id and (bot.clients.store.get(m) or {}).get("incident_position") == 3
    )
    third_item = bot.clients.store.get(third) or {}
    split = block_action_payload(
        action_id="incident_split", value=third, user_id="U0LEAD", channel_id=TICKET_CHANNEL,
        message_ts=third_item["slack_ts"],
    )  # fmt: skip
    assert bot.interact(split).status == 200
    after = bot.clients.store.get(third) or {}
    assert not after.get("incident_id") and after["incident_split_from"] == root["incident_id"]
    top_level = [p for p in _posts_of(bot, third) if "thread_ts" not in p]
    assert len(top_level) == 1  # posted normally now
    assert len((bot.clients.store.get(root_id) or {})["incident_members"]) == 2

    resolve = block_action_payload(
        action_id="incident_resolve", value=root_id, user_id="U0LEAD", channel_id=TICKET_CHANNEL,
        message_ts=root["slack_ts"],
    )  # fmt: skip
    assert bot.interact(resolve).status == 200
    stack.wait_idle(timeout=60)
    statuses = {m: (bot.clients.store.get(m) or {}).get("status") for m in members}
    assert statuses[third] != "RESOLVED"  # split out before: not part of the incident any more
    assert all(s == "RESOLVED" for m, s in statuses.items() if m != third)


def _burst_ids(bot: BotHarness) -> list[str]:
    ids = []
    for call in bot.slack.calls_to("chat.postMessage"):
        text = json.dumps(call.params)
        for token in text.split('"'):
            if token.startswith("TKT-") and len(token) == 23:
                ids.append(token)
    return list(dict.fromkeys(ids))
