"""SLA alerts in Slack: the warning in the ticket's thread mentions its owner or the on-call group; the breach
goes to the alerts channel with a link to the ticket; a redelivered alert is not posted again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.adapters.slack import SlackPoster, make_web_client
from bot.adapters.ticket_store import DynamoTicketStore
from bot.logic.notify import Notification, Notifier
from contract import names
from contract.models import Priority, SlaAlertMessage
from tests.fakes.bot_harness import ALERTS_CHANNEL, TICKET_CHANNEL
from tests.unit.bot.handlers.test_notifier import TICKETS_TOPIC, TID, slack, table  # noqa: F401 - fixtures

THREAD = "1700000000.000100"
DUE = datetime(2025, 1, 2, 10, 0, tzinfo=UTC)


def _notifier(table, slack, oncall: str = "S0ONCALL") -> Notifier:  # noqa: F811
    web = make_web_client("xoxb-t", slack.base_url, sleep=lambda _s: None)
    return Notifier(
        store=DynamoTicketStore("tickets", table),
        poster=SlackPoster(web, clock=lambda: 0.0, sleep=lambda _s: None),
        channel=TICKET_CHANNEL,
        alerts_channel=ALERTS_CHANNEL,
        oncall_group=oncall,
    )


def _alert(kind: str) -> str:
    return SlaAlertMessage(
        event_type=kind,  # type: ignore[arg-type]
        ticket_id=TID,
        priority=Priority.HIGH,
        subject="Production is down",
        due_at=DUE,
        fired_at=DUE,
    ).model_dump_json()


@pytest.fixture
def posted_ticket(table):  # noqa: F811
    DynamoTicketStore("tickets", table).set_fields(TID, {"slack_channel": TICKET_CHANNEL, "slack_ts": THREAD})
    return table


def test_warning_on_an_unowned_ticket_mentions_the_oncall_group_in_its_thread(posted_ticket, slack):  # noqa: F811
    _notifier(posted_ticket, slack).handle(Notification("m-1", TICKETS_TOPIC, _alert("SlaWarning")))

    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["channel"] == TICKET_CHANNEL and post.params["thread_ts"] == THREAD
    assert "<!subteam^S0ONCALL>" in post.params["text"] and TID in post.params["text"]


def test_warning_on_an_owned_ticket_mentions_its_owner(posted_ticket, slack):  # noqa: F811
    DynamoTicketStore("tickets", posted_ticket).set_fields(TID, {"assignee": "U0ADA"})
    _notifier(posted_ticket, slack).handle(Notification("m-1", TICKETS_TOPIC, _alert("SlaWarning")))

    (post,) = slack.calls_to("chat.postMessage")
    assert "<@U0ADA>" in post.params["text"] and "subteam" not in post.params["text"]


def test_breach_is_posted_in_the_alerts_channel_linking_the_ticket(posted_ticket, slack):  # noqa: F811
    _notifier(posted_ticket, slack).handle(Notification("m-1", TICKETS_TOPIC, _alert("SlaBreached")))

    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["channel"] == ALERTS_CHANNEL and "thread_ts" not in post.params
    assert f"https://slack.com/archives/{TICKET_CHANNEL}/p{THREAD.replace('.', '')}" in post.params["text"]
    assert "Nobody has taken it" in json.dumps(post.params["blocks"])


def test_a_redelivered_alert_is_posted_once(posted_ticket, slack):  # noqa: F811
    notifier = _notifier(posted_ticket, slack)
    for message_id in ("m-1", "m-1", "m-2"):
        notifier.handle(Notification(message_id, TICKETS_TOPIC, _alert("SlaWarning")))
        notifier.handle(Notification(message_id, TICKETS_TOPIC, _alert("SlaBreached")))

    assert len(slack.calls_to("chat.postMessage")) == 2


def test_the_warning_and_the_breach_are_recorded_on_the_ticket(posted_ticket, slack):  # noqa: F811
    # Given a ticket posted before (its root is not this test's business)
    notifier = _notifier(posted_ticket, slack)

    # When its warning (in the thread) and its breach (in the alerts channel) are posted
    warning = notifier.handle(Notification("m-1", TICKETS_TOPIC, _alert("SlaWarning"))).posted
    breach = notifier.handle(Notification("m-2", TICKETS_TOPIC, _alert("SlaBreached"))).posted

    # Then both are on the item, where erasure finds them
    assert warning and breach
    item = DynamoTicketStore("tickets", posted_ticket).get(TID) or {}
    assert item[names.SLACK_POSTS_ATTR] == {f"{TICKET_CHANNEL} {warning.ts}", f"{ALERTS_CHANNEL} {breach.ts}"}
