"""The loopback Slack Web API: the notifier's real Slack adapter posts to it, and honours its 429s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

from bot.adapters.slack import SlackPoster, make_web_client
from local.slack_api import LocalSlackApi


def test_posts_land_in_the_outbox_with_the_ts_slack_answered(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    with LocalSlackApi(outbox) as api:
        poster = SlackPoster(make_web_client("xoxb-local", api.base_url), interval=0)
        first = poster.post({"channel": "tms-tickets", "text": "TKT-1"})
        reply = poster.post({"channel": "tms-tickets", "text": "later", "thread_ts": first.ts})
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [line["text"] for line in lines] == ["TKT-1", "later"]
    assert lines[0]["ts"] == first.ts and lines[1]["thread_ts"] == first.ts and reply.ts > first.ts


def test_a_429_is_retried_after_retry_after_and_posted_once(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    answers = iter([True, True, False])
    slept: list[float] = []
    with LocalSlackApi(outbox, should_fail=lambda fault: fault == "slack_429" and next(answers)) as api:
        poster = SlackPoster(make_web_client("xoxb-local", api.base_url, sleep=slept.append), interval=0)
        poster.post({"channel": "tms-tickets", "text": "TKT-2"})
        assert (api.rate_limited, api.posts) == (2, 1)
    assert slept == [1.0, 1.0]
    assert len(outbox.read_text().splitlines()) == 1


def test_a_thread_is_read_back_from_the_outbox_page_by_page_with_edits_applied(tmp_path: Path) -> None:
    # Given a ticket post, two replies in its thread, a post of another ticket and an edit of the root
    from bot.adapters.slack import SlackThreads

    outbox = tmp_path / "outbox.jsonl"
    with LocalSlackApi(outbox) as api:
        client = make_web_client("xoxb-local", api.base_url)
        poster = SlackPoster(client, interval=0)
        root = poster.post({"channel": "C1", "text": "TKT-1 from Ada"})
        other = poster.post({"channel": "C1", "text": "TKT-2"})
        replies = [poster.post({"channel": "C1", "text": t, "thread_ts": root.ts}) for t in ("mail", "SLA")]
        poster.update("C1", root.ts, text="TKT-1 erased", blocks=[])

        # When the thread is read one message a page
        page = client.conversations_replies(channel="C1", ts=root.ts, limit=1)
        own = SlackThreads(client, page_size=1).own_messages("C1", root.ts)
        with pytest.raises(SlackApiError) as missing:
            client.conversations_replies(channel="C1", ts="1.000001")

    # Then it holds the root (as edited) and its replies only, every message the bot's own
    assert page["messages"][0]["text"] == "TKT-1 erased" and page["has_more"]
    assert own == [root.ts, *(r.ts for r in replies)] and other.ts not in own
    assert missing.value.response["error"] == "thread_not_found"


def test_the_outbox_reader_finds_a_thread_without_the_api(tmp_path: Path) -> None:
    from bot.adapters.outbox import OutboxPoster, OutboxThreads

    outbox = tmp_path / "outbox.jsonl"
    poster = OutboxPoster(outbox)
    root = poster.post({"channel": "tms-tickets", "text": "TKT-1"})
    poster.post({"channel": "tms-tickets", "text": "TKT-2"})
    reply = poster.post({"channel": "tms-tickets", "text": "mail", "thread_ts": root.ts})
    poster.update("tms-tickets", root.ts, text="edited", blocks=[])

    assert OutboxThreads(outbox).own_messages("tms-tickets", root.ts) == [root.ts, reply.ts]
    assert OutboxThreads(tmp_path / "none.jsonl").own_messages("tms-tickets", root.ts) == []
