"""Approve reply hands the reply to the mailer; Retry send after a rejected send; the notifier threads mail
events and records SES delivery feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bot.adapters.slack import SlackPoster, make_web_client
from bot.adapters.ticket_store import DynamoTicketStore
from bot.errors import MailEventTooEarlyError, ReplyQueueError
from bot.logic.notify import Notification, Notifier
from contract import names
from contract.models import MailEventKind, TicketMailMessage, TicketStatus
from tests.fakes.bot_harness import TICKET_CHANNEL, BotHarness, make_tables
from tests.fakes.slack_api import FakeSlackApi, block_action_payload

TID = "TKT-20250102-ABCDEFGHJK"
POST_TS = "1700000000.000100"
NOW = datetime(2025, 1, 2, 10, 30, tzinfo=UTC)


def _put(ddb: Any, status: str = "TRIAGED", **extra: str) -> None:
    item = {
        "ticket_id": {"S": TID},
        "status": {"S": status},
        "priority": {"S": "NORMAL"},
        "sentiment": {"S": "NEGATIVE"},
        "subject": {"S": "Login broken"},
        "customer_full_name": {"S": "Ada Lovelace"},
        "customer_email": {"S": "ada@example.com"},
        "response_text": {"S": "Dear Ada, we are on it."},
        "priority_reasoning": {"S": "One user affected."},
        "slack_channel": {"S": TICKET_CHANNEL},
        "slack_ts": {"S": POST_TS},
    } | {k: {"S": v} for k, v in extra.items()}
    ddb.put_item(TableName="tickets", Item=item)


@pytest.fixture
def env(start_bot) -> Iterator[tuple[BotHarness, Any, str]]:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="tickets")["TopicArn"]
    queue = sqs.create_queue(QueueName="mailer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({names.ATTR_EVENT_TYPE: [names.EVENT_REPLY_APPROVED]})},
    )
    with start_bot(now=lambda: NOW, sns=sns, topic_arn=topic) as bot:
        yield bot, sqs, queue


def _approvals(sqs: Any, queue: str) -> list[dict[str, Any]]:
    msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in msgs]


def _click(bot: BotHarness, action_id: str, user: str) -> int:
    payload = block_action_payload(
        action_id=action_id,
        user_id=user,
        channel_id=TICKET_CHANNEL,
        message_ts=POST_TS,
        value=f"{TID}|0" if action_id == "ticket_approve" else TID,  # Approve carries the draft version
    )
    return bot.interact(payload).status


def test_approve_hands_the_reply_to_the_mailer_with_the_approved_version(env):
    bot, sqs, queue = env
    _put(bot.dynamodb)

    assert _click(bot, "ticket_approve", "U0LEAD") == 200

    (msg,) = _approvals(sqs, queue)
    assert msg == {
        "event_type": "ReplyApproved",
        "ticket_id": TID,
        "approved_by": "U0LEAD",
        "approved_at": "2025-01-02T10:30:00.000Z",
        "version": 1,
    }


def test_double_click_hands_over_one_approval(env):
    bot, sqs, queue = env
    _put(bot.dynamodb)

    _click(bot, "ticket_approve", "U0LEAD")
    _click(bot, "ticket_approve", "U0LEAD")

    assert len(_approvals(sqs, queue)) == 1


def test_retry_send_after_a_rejected_send_approves_again(env):
    bot, sqs, queue = env
    _put(bot.dynamodb, status="SEND_FAILED", send_error="SES rejected the message")

    assert _click(bot, "ticket_retry_send", "U0LEAD") == 200

    item = bot.clients.store.get(TID) or {}
    assert item["status"] == "APPROVED" and item["history"][-1]["action"] == "retry_send"
    (msg,) = _approvals(sqs, queue)
    assert msg["version"] == item["version"]
    assert "send the reply again" in bot.slack.calls_to("chat.postMessage")[0].params["text"]


def test_approval_that_cannot_be_handed_over_is_visible_with_retry_send(env):
    bot, _sqs, _queue = env
    _put(bot.dynamodb)

    class Broken:
        def approved(self, message: Any) -> None:
            raise ReplyQueueError("SNS down")

    object.__setattr__(bot.clients, "replies", Broken())
    _click(bot, "ticket_approve", "U0LEAD")

    item = bot.clients.store.get(TID) or {}
    assert item["status"] == "SEND_FAILED" and "mailer" in item["send_error"]
    update = bot.slack.calls_to("chat.update")[-1].params
    action_ids = [e["action_id"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "ticket_retry_send" in action_ids


# --- The notifier's side ----------------------------------------------------------------------------------


@pytest.fixture
def notifier(monkeypatch) -> Iterator[tuple[Notifier, FakeSlackApi, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(), FakeSlackApi.running() as slack:
        kinesis, ddb = boto3.client("kinesis"), boto3.client("dynamodb")
        make_tables(kinesis, ddb, "s", "tickets")
        web = make_web_client("xoxb-t", slack.base_url, sleep=lambda _s: None)
        yield (
            Notifier(
                store=DynamoTicketStore("tickets", ddb),
                poster=SlackPoster(web, clock=lambda: 0.0, sleep=lambda _s: None),
                channel=TICKET_CHANNEL,
                alerts_channel="C0ALERTS",
            ),
            slack,
            ddb,
        )


def _mail(kind: MailEventKind, status: TicketStatus, **fields: Any) -> str:
    return TicketMailMessage(kind=kind, ticket_id=TID, status=status, at=NOW, **fields).model_dump_json()


def test_customer_answer_is_posted_in_the_thread_with_text_status_and_flag(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="CUSTOMER_REPLIED")
    body = _mail(
        MailEventKind.CUSTOMER_REPLIED,
        TicketStatus.CUSTOMER_REPLIED,
        address="ada@example.com",
        text="Still 503 on the dashboard.",
        flag="sent from x@y.z, not the ticket's customer address ada@example.com",
    )

    n.handle(Notification("m1", "arn:t", body, names.EVENT_TICKET_MAIL))
    n.handle(Notification("m1", "arn:t", body, names.EVENT_TICKET_MAIL))  # SNS redelivery

    (post,) = slack.calls_to("chat.postMessage")
    text = json.dumps(post.params)
    assert post.params["thread_ts"] == POST_TS
    assert "The customer replied" in post.params["text"] and "CUSTOMER_REPLIED" in post.params["text"]
    assert "> Still 503 on the dashboard." in text and "not the ticket's customer" in text


def test_root_post_follows_the_mail_events_status(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="SENT")
    body = _mail(MailEventKind.REPLY_SENT, TicketStatus.SENT, actor="U0LEAD", address="ada@example.com")

    n.handle(Notification("m6", "arn:t", body, names.EVENT_TICKET_MAIL))

    (update,) = slack.calls_to("chat.update")
    assert update.params["ts"] == POST_TS and update.params["channel"] == TICKET_CHANNEL
    assert "SENT" in json.dumps(update.params["blocks"])


def test_send_failure_is_posted_with_a_retry_send_button(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="SEND_FAILED")
    body = _mail(MailEventKind.REPLY_SEND_FAILED, TicketStatus.SEND_FAILED, text="SES rejected the message")

    n.handle(Notification("m2", "arn:t", body, names.EVENT_TICKET_MAIL))

    (post,) = slack.calls_to("chat.postMessage")
    assert "SES rejected the message" in post.params["text"]
    assert "ticket_retry_send" in json.dumps(post.params["blocks"])


def _ses(event_type: str, **extra: Any) -> str:
    mail = {"messageId": "ses-1", "destination": ["ada@example.com"], "tags": {"ticket_id": [TID]}}
    return json.dumps({"eventType": event_type, "mail": mail} | extra)


def test_bounce_is_recorded_on_the_ticket_and_posted(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="SENT")
    bounce = {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": []}

    n.handle(Notification("m3", "arn:t", _ses("Bounce", bounce=bounce)))

    item = DynamoTicketStore("tickets", ddb).get(TID) or {}
    assert item["status"] == "SENT" and item["last_bounced"] == "Permanent/General"
    assert item["history"][-1]["action"] == "bounced"
    (post,) = slack.calls_to("chat.postMessage")
    assert "bounced" in post.params["text"] and post.params["thread_ts"] == POST_TS


def test_delivery_moves_a_sent_ticket_to_waiting_on_customer(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="SENT")

    n.handle(Notification("m4", "arn:t", _ses("Delivery")))

    assert (DynamoTicketStore("tickets", ddb).get(TID) or {})["status"] == "WAITING_CUSTOMER"
    assert "WAITING_CUSTOMER" in slack.calls_to("chat.postMessage")[0].params["text"]


def test_late_delivery_does_not_undo_a_customer_answer(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="CUSTOMER_REPLIED")

    n.handle(Notification("m5", "arn:t", _ses("Delivery")))

    assert (DynamoTicketStore("tickets", ddb).get(TID) or {})["status"] == "CUSTOMER_REPLIED"
    assert not slack.calls_to("chat.postMessage")


def test_delivery_reported_before_the_send_was_recorded_is_retried_not_lost(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="SENDING")

    with pytest.raises(MailEventTooEarlyError):
        n.handle(Notification("m6", "arn:t", _ses("Delivery")))
    assert not slack.calls_to("chat.postMessage")


def test_the_approved_reply_of_a_slack_born_ticket_goes_to_the_customers_thread_once(notifier):
    # Issue 31: a ticket from Grace's message in C0ACME; the mailer published the approved reply via Slack
    n, slack, ddb = notifier
    _put(
        ddb,
        status="SENT",
        reply_via="slack_thread",
        slack_user="U0GRACE",
        customer_channel="C0ACME",
        customer_thread_ts="1765100000.000100",
    )
    body = _mail(
        MailEventKind.REPLY_SENT,
        TicketStatus.SENT,
        actor="U0LEAD",
        via="slack",
        mention="U0GRACE",
        text="Hello Grace, <!channel> the role is fixed & tonight's export will run.",
    )

    n.handle(Notification("m9", "arn:t", body, names.EVENT_TICKET_MAIL))
    n.handle(Notification("m9", "arn:t", body, names.EVENT_TICKET_MAIL))  # SNS redelivery

    in_customer_thread = [
        c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "C0ACME"
    ]
    assert [(p["thread_ts"], p["text"]) for p in in_customer_thread] == [
        (
            "1765100000.000100",
            "Hello Grace, &lt;!channel&gt; the role is fixed &amp; tonight's export will run.",
        )
    ]
    triage = [c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == TICKET_CHANNEL]
    assert len(triage) == 1 and triage[0]["thread_ts"] == POST_TS
    item = DynamoTicketStore("tickets", ddb).get(TID) or {}
    assert any(ref.startswith("C0ACME ") for ref in item[names.SLACK_POSTS_ATTR])  # erasure redacts it


def test_a_dm_ticket_is_answered_at_the_top_of_the_dm(notifier):
    n, slack, ddb = notifier
    _put(ddb, status="SENT", reply_via="slack_thread", customer_channel="D0GRACE", customer_thread_ts="")
    body = _mail(
        MailEventKind.REPLY_SENT, TicketStatus.SENT, actor="U0LEAD", via="slack", text="Rotate it so."
    )

    n.handle(Notification("m10", "arn:t", body, names.EVENT_TICKET_MAIL))

    (dm,) = [c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "D0GRACE"]
    assert "thread_ts" not in dm and dm["text"] == "Rotate it so."
