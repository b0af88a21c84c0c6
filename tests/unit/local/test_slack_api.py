"""The loopback Slack Web API: the notifier's real Slack adapter posts to it, and honours its 429s."""

from __future__ import annotations

import json
from pathlib import Path

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
