"""From a signed /ticket request through the local stack to the Slack post, then an agent's click."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra import names
from tests.fakes.bot_harness import BOT_TOKEN, TICKET_CHANNEL, BotHarness, running_bot, write_catalog
from tests.fakes.slack_api import FakeSlackApi, block_action_payload

pytestmark = pytest.mark.integration

AGENT = "U0AGENT"


def _clear_process_caches() -> None:
    # The notifier and boto3 clients are built once per process; this test brings its own endpoint.
    from bot.handlers import notifier
    from pipeline.adapters import clients

    clients.clear_cache()
    notifier.notifier.cache_clear()


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> Iterator[tuple[BotHarness, object]]:
    from pipeline.local.runtime import LocalStack

    tmp = tmp_path_factory.mktemp("slack-e2e")
    with FakeSlackApi.running() as slack:
        env = {
            names.ENV_SLACK_BOT_TOKEN: BOT_TOKEN,
            names.ENV_SLACK_API_URL: slack.base_url,
            names.ENV_SLACK_CHANNEL: TICKET_CHANNEL,
            names.ENV_STATE_DIR: str(tmp / "state"),
        }
        _clear_process_caches()
        try:
            with (
                LocalStack.start(outbox=tmp / "outbox.jsonl", extra_env=env) as stack,
                running_bot(
                    kinesis=stack.client("kinesis"),
                    dynamodb=stack.client("dynamodb"),
                    stream_name=stack.info.stream_name,
                    table_name=stack.info.table_name,
                    catalog_path=write_catalog(tmp),
                    slack_api=slack,
                ) as bot,
            ):
                slack.add_user(AGENT, "Ada Lovelace", "ada@example.com")
                yield bot, stack
        finally:
            _clear_process_caches()


def test_ticket_from_slack_is_triaged_posted_and_acted_on_in_its_thread(e2e):
    bot, stack = e2e

    ack = bot.command(
        "Production is down | Every request to our API has failed since 09:00, customers are furious."
    )
    assert ack.status == 200
    (event,) = bot.records()
    ticket_id = event["ticketId"]
    assert ticket_id in ack.json()["text"]

    stack.wait_idle(timeout=120)

    posts = [c for c in bot.slack.calls_to("chat.postMessage") if ticket_id in json.dumps(c.params)]
    assert len(posts) == 1, bot.slack.calls
    post = posts[0].params
    item = bot.clients.store.get(ticket_id) or {}
    assert item["status"] == "TRIAGED"
    text = json.dumps(post)
    assert f"[{item['priority']}]" in post["text"] and item["sentiment"] in text
    assert post["channel"] == TICKET_CHANNEL and item["slack_channel"] == TICKET_CHANNEL

    click = block_action_payload(
        action_id="ticket_approve",
        value=ticket_id,
        user_id="U0LEAD",
        channel_id=TICKET_CHANNEL,
        message_ts=item["slack_ts"],
    )
    assert bot.interact(click).status == 200

    after = bot.clients.store.get(ticket_id) or {}
    assert after["status"] == "APPROVED" and after["approved_by"] == "U0LEAD"
    (update,) = bot.slack.calls_to("chat.update")
    assert update.params["ts"] == item["slack_ts"]
    replies = [
        c for c in bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == item["slack_ts"]
    ]
    assert [r.params["text"] for r in replies] == ["<@U0LEAD> approved the reply."]
