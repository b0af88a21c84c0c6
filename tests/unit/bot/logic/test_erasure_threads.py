"""Erasure reads each ticket's Slack thread (conversations.replies, the real adapters against the loopback
fake Slack API): every message tms's bot posted there is redacted, recorded or not, and nobody else's; a
ticket whose replies were never recorded and whose thread cannot be read is reported with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.adapters.slack import SlackPoster, SlackThreads, make_web_client
from bot.logic.erasure import SlackPostEraser, TableEraser, forget
from contract import erasure, names
from contract.erasure import Subject
from tests.fakes.slack_api import FakeSlackApi
from tests.unit.bot.logic.test_erasure import FakeTable

ADA = "TKT-20260101-AAAAAAAAAA"
CHANNEL = "C0TICKETS"


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi.running() as fake:
        yield fake


def _thread(slack: FakeSlackApi) -> tuple[Any, str, list[str], list[str]]:
    """Ada's ticket as tms posted it before it recorded its replies: the root, then tms's replies (a mail
    event, an SLA warning, an agent's action note) between an agent's and another app's messages."""
    client = make_web_client("xoxb-test", slack.base_url)
    root = str(client.chat_postMessage(channel=CHANNEL, text="Ticket from Ada Lovelace")["ts"])
    ours = [root]
    ours.append(
        str(client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="Ada replied by mail")["ts"])
    )
    slack.say(CHANNEL, "on it, calling Ada now", user="U0AGENT", thread_ts=root)
    ours.append(str(client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="SLA: 80% used")["ts"]))
    slack.say(CHANNEL, "Jira issue SUP-88 created", user="U0JIRA", bot_id="B0JIRA", thread_ts=root)
    ours.append(str(client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="Nia took it")["ts"]))
    others = [m["ts"] for m in slack.history[CHANNEL] if m.get("user") != "U0BOT"]
    return client, root, ours, others


def _table(root: str, **extra: Any) -> FakeTable:
    item = {
        "ticket_id": ADA,
        "customer_email": "ada@example.com",
        "slack_channel": CHANNEL,
        "slack_ts": root,
        **extra,
    }
    return FakeTable({ADA: item})


def test_tms_replies_that_were_never_recorded_are_found_in_the_thread_and_redacted(
    slack: FakeSlackApi,
) -> None:
    # Given a ticket posted before tms recorded its replies, its thread read two messages a page
    client, root, ours, others = _thread(slack)
    table = _table(root)
    slack.reset()

    # When Ada is forgotten
    report = forget(
        Subject("ada@example.com"),
        table,
        [TableEraser(table), SlackPostEraser(SlackPoster(client, interval=0))],
        SlackThreads(client, page_size=2),
    )

    # Then every message tms posted in the thread is redacted, the agent's and the other app's are not
    updated = sorted(str(c.params["ts"]) for c in slack.calls_to("chat.update"))
    assert updated == sorted(ours)
    assert not set(updated) & set(others)
    texts = {m["ts"]: m["text"] for m in slack.history[CHANNEL]}
    assert all(ADA in texts[ts] and "Ada" not in texts[ts].replace(ADA, "") for ts in ours)
    assert texts[others[0]] == "on it, calling Ada now"
    assert report.changed[erasure.SLACK_POSTS] == 4
    # And the thread was read to its end, page by page, and nothing is left untracked
    assert len(slack.calls_to("conversations.replies")) == 3
    assert report.untracked_threads == {}


def test_recorded_posts_and_the_thread_are_merged_without_redacting_twice(slack: FakeSlackApi) -> None:
    # Given a ticket whose replies were recorded, and whose SLA breach went to the alerts channel
    client, root, ours, _others = _thread(slack)
    breach = str(client.chat_postMessage(channel="C0ALERTS", text=f"SLA breached: {ADA}")["ts"])
    recorded = {f"{CHANNEL} {ts}" for ts in ours} | {f"C0ALERTS {breach}"}
    table = _table(root, **{names.SLACK_POSTS_ATTR: recorded})
    slack.reset()

    report = forget(
        Subject("ada@example.com"),
        table,
        [SlackPostEraser(SlackPoster(client, interval=0))],
        SlackThreads(client),
    )

    # Then each message is updated once: the thread's four and the alert
    updated = sorted(str(c.params["ts"]) for c in slack.calls_to("chat.update"))
    assert updated == sorted([*ours, breach])
    assert report.changed[erasure.SLACK_POSTS] == 5


@pytest.mark.parametrize(
    ("break_it", "error", "says"),
    [
        (lambda s: s.delete_channel(CHANNEL), "channel_not_found", "channel is gone"),
        (
            lambda s: s.fail_next(
                "conversations.replies", status=200, retry_after=None, error="missing_scope"
            ),
            "missing_scope",
            "channels:history",
        ),
        (
            lambda s: s.fail_next(
                "conversations.replies", status=200, retry_after=None, error="not_in_channel"
            ),
            "not_in_channel",
            "/invite",
        ),
    ],
)
def test_an_untracked_ticket_whose_thread_cannot_be_read_is_reported_with_the_reason(
    slack: FakeSlackApi, break_it: Any, error: str, says: str
) -> None:
    # Given a ticket posted before tms recorded its replies, and a thread Slack will not show
    client, root, _ours, _others = _thread(slack)
    table = _table(root)
    break_it(slack)

    # When Ada is forgotten
    report = forget(Subject("ada@example.com"), table, [], SlackThreads(client))

    # Then the ticket is reported untracked, with Slack's error and what to do about it
    assert list(report.untracked_threads) == [ADA]
    reason = report.untracked_threads[ADA]
    assert reason.startswith(f"{error}: ") and says in reason
    assert report.as_dict()["untracked_slack_threads"] == [{"ticket_id": ADA, "reason": reason}]


def test_a_recorded_ticket_whose_thread_cannot_be_read_is_not_untracked(slack: FakeSlackApi) -> None:
    # Given a ticket whose every post is recorded, in a channel that was since deleted
    client, root, ours, _others = _thread(slack)
    table = _table(root, **{names.SLACK_POSTS_ATTR: {f"{CHANNEL} {ts}" for ts in ours}})
    slack.delete_channel(CHANNEL)

    report = forget(Subject("ada@example.com"), table, [], SlackThreads(client))

    # Then nothing is unknown: the recorded posts are all there is
    assert report.untracked_threads == {}


def test_a_note_tms_recorded_for_another_ticket_in_the_thread_stays(slack: FakeSlackApi) -> None:
    # Given Ada's ticket is an incident's root: tms posted Ana's report as a note in Ada's thread, and
    # recorded that note on Ana's ticket
    client, root, ours, _others = _thread(slack)
    note = str(client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="2nd report: Ana Silva")["ts"])
    table = _table(root)
    table.rows["TKT-20260101-BBBBBBBBBB"] = {
        "ticket_id": "TKT-20260101-BBBBBBBBBB",
        "customer_email": "ana@example.com",
        "slack_channel": CHANNEL,
        "slack_ts": "1700000000.000001",
        names.SLACK_POSTS_ATTR: {f"{CHANNEL} {note}"},
    }
    slack.reset()

    # When Ada is forgotten
    forget(
        Subject("ada@example.com"),
        table,
        [SlackPostEraser(SlackPoster(client, interval=0))],
        SlackThreads(client),
    )

    # Then tms's own messages of Ada's ticket are redacted, and the note about Ana's ticket is not
    updated = sorted(str(c.params["ts"]) for c in slack.calls_to("chat.update"))
    assert updated == sorted(ours) and note not in updated
