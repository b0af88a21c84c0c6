"""Slack pacing (one post per second per channel, bursts queued) and Retry-After on 429, with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.adapters.outbox import OutboxPoster
from bot.adapters.slack import SlackPoster, make_web_client
from bot.errors import SlackPostError
from tests.fakes.slack_api import FakeSlackApi


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi.running() as fake:
        yield fake


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def _poster(slack: FakeSlackApi, t: FakeTime) -> SlackPoster:
    return SlackPoster(make_web_client("xoxb-t", slack.base_url, sleep=t.sleep), clock=t.clock, sleep=t.sleep)


def test_a_burst_to_one_channel_is_queued_one_second_apart_and_nothing_is_dropped(slack, time_):
    poster = _poster(slack, time_)

    for i in range(5):
        poster.post({"channel": "C1", "text": f"m{i}"})

    assert [c.params["text"] for c in slack.calls_to("chat.postMessage")] == [f"m{i}" for i in range(5)]
    assert time_.sleeps == [1.0] * 4


def test_different_channels_do_not_wait_for_each_other(slack, time_):
    poster = _poster(slack, time_)

    poster.post({"channel": "C1", "text": "a"})
    poster.post({"channel": "C2", "text": "b"})

    assert time_.sleeps == []


def test_a_429_is_retried_after_exactly_retry_after_seconds(slack, time_):
    slack.fail_next("chat.postMessage", retry_after=7, times=2)
    poster = _poster(slack, time_)

    posted = poster.post({"channel": "C1", "text": "hello"})

    assert time_.sleeps == [7.0, 7.0]
    assert len(slack.calls_to("chat.postMessage", ok_only=False)) == 3
    assert posted.channel == "C1" and posted.ts


def test_rate_limited_beyond_the_retry_budget_raises_a_typed_error(slack, time_):
    slack.fail_next("chat.postMessage", retry_after=1, times=50)

    with pytest.raises(SlackPostError):
        _poster(slack, time_).post({"channel": "C1", "text": "x"})


def test_outbox_appends_exact_payloads_with_increasing_unique_ts(tmp_path):
    outbox = tmp_path / "slack.jsonl"
    poster = OutboxPoster(outbox, clock=lambda: 1700000000.0)

    first = poster.post({"channel": "tickets", "text": "a", "blocks": []})
    second = poster.post({"channel": "tickets", "text": "b", "thread_ts": first.ts})

    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert lines == [
        {"channel": "tickets", "text": "a", "blocks": [], "ts": first.ts},
        {"channel": "tickets", "text": "b", "thread_ts": first.ts, "ts": second.ts},
    ]
    assert float(second.ts) > float(first.ts)
