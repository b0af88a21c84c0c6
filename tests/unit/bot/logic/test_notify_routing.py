"""Routing and readable times in Slack: the first post of a routed ticket names its owner and shows its
first-response due time in Slack's date formatting (each reader's own time zone, a plain UTC fallback); a
reassignment is said once in the ticket's thread and the post shows the new owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.adapters.ticket_store import DynamoTicketStore
from bot.logic.notify import Notification
from contract.models import Priority
from contract.models.routing import TicketReassignedMessage
from tests.fakes.bot_harness import TICKET_CHANNEL
from tests.unit.bot.handlers.test_notifier import TICKETS_TOPIC, TID, slack, table, triaged  # noqa: F401
from tests.unit.bot.logic.test_notify_sla import THREAD, _notifier

DUE = "2025-01-02T11:00:00Z"
DUE_SLACK = "<!date^1735815600^{date_short_pretty} {time}|2025-01-02 11:00 UTC>"


def _texts(payload: dict) -> str:
    return json.dumps(payload["blocks"])


def test_the_first_post_shows_the_owner_and_the_due_time_in_slack_date_form(table, slack):  # noqa: F811
    # Given the workflow stored the due time and routing assigned the ticket before Notify
    DynamoTicketStore("tickets", table).set_fields(TID, {"sla_due_at": DUE, "assignee": "U0ROSA"})

    # When the triage is posted
    _notifier(table, slack).handle(Notification("m-1", TICKETS_TOPIC, triaged()))

    # Then the one post carries both, the time as <!date^…> with a UTC fallback
    (post,) = slack.calls_to("chat.postMessage")
    body = _texts(post.params)
    assert f"*First response due*\\n{DUE_SLACK}" in body
    assert "*Owner*\\n<@U0ROSA>" in body
    assert "2025-01-02T11:00:00Z" not in body  # never the raw ISO timestamp


def test_a_post_without_a_due_time_yet_says_so_plainly(table, slack):  # noqa: F811
    _notifier(table, slack).handle(Notification("m-1", TICKETS_TOPIC, triaged()))

    (post,) = slack.calls_to("chat.postMessage")
    assert "*First response due*\\n-" in _texts(post.params)


def _reassigned() -> str:
    return TicketReassignedMessage(
        ticket_id=TID,
        priority=Priority.HIGH,
        previous="U0ROSA",
        assignee="U0TEO",
        due_at=datetime(2025, 1, 2, 11, 0, tzinfo=UTC),
        at=datetime(2025, 1, 2, 10, 30, tzinfo=UTC),
    ).model_dump_json()


def test_a_reassignment_is_said_once_in_the_thread_and_the_post_shows_the_new_owner(table, slack):  # noqa: F811
    store = DynamoTicketStore("tickets", table)
    store.set_fields(
        TID,
        {"slack_channel": TICKET_CHANNEL, "slack_ts": THREAD, "status": "TRIAGED", "assignee": "U0TEO"},
    )
    notifier = _notifier(table, slack)

    notifier.handle(Notification("m-1", TICKETS_TOPIC, _reassigned()))
    notifier.handle(Notification("m-2", TICKETS_TOPIC, _reassigned()))  # the same move, delivered again

    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["thread_ts"] == THREAD
    assert post.params["text"].startswith(":arrows_counterclockwise: <@U0TEO> now owns")
    assert "<@U0ROSA> had not given the first response by <!date^1735813800^" in post.params["text"]
    (update,) = slack.calls_to("chat.update")
    assert "*Owner*\\n<@U0TEO>" in json.dumps(update.params["blocks"])
