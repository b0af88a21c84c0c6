"""Sending an approved reply exactly once and taking the customer's answer back, on moto (SES v2,
DynamoDB, SNS, Kinesis) with the real adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contract.models import ReplyApprovedMessage
from pipeline.adapters.mail import DynamoLifecycle, EmlCopySender, KinesisIntake, SesMailSender, SnsEvents
from pipeline.domain.mailflow import MailConfig, Verdicts, receive_mail, send_approved_reply

EVENTS = Path(__file__).resolve().parent.parent / "events" / "mail"
TID = "TKT-20250102-ABCDEFGHJK"
FROM = "support@tms.example.com"
NOW = datetime(2025, 1, 2, 10, 30, tzinfo=UTC)
CONFIG = MailConfig(FROM, "help@tms.example.com")


@dataclass
class World:
    ddb: Any
    ses: Any
    sqs: Any
    kinesis: Any
    queue_url: str
    store: DynamoLifecycle
    sender: EmlCopySender
    events: SnsEvents
    intake: KinesisIntake
    outbox: Path

    def put_ticket(self, **fields: Any) -> None:
        item = {
            "ticket_id": TID,
            "status": "APPROVED",
            "version": 1,
            "subject": "Login broken",
            "customer_email": "ada@example.com",
            "customer_full_name": "Ada Lovelace",
            "response_text": "Dear Ada, we reset your session.",
            "slack_channel": "C1",
            "slack_ts": "1.1",
        } | fields
        from boto3.dynamodb.types import TypeSerializer

        ser = TypeSerializer()
        self.ddb.put_item(TableName="tickets", Item={k: ser.serialize(v) for k, v in item.items()})

    def item(self) -> dict[str, Any]:
        return self.store.get(TID) or {}

    def published(self) -> list[dict[str, Any]]:
        msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in msgs]

    def approve(self, version: int = 1, now: datetime = NOW, responses: Any = None) -> Any:
        msg = ReplyApprovedMessage(ticket_id=TID, approved_by="U0LEAD", approved_at=now, version=version)
        return send_approved_reply(msg, self.store, self.sender, self.events, CONFIG, now, responses)

    def receive(self, raw: bytes, verdicts: Verdicts | None = None, now: datetime = NOW) -> Any:
        return receive_mail(raw, verdicts or Verdicts(), self.store, self.intake, self.events, CONFIG, now)

    def stream(self) -> list[dict[str, Any]]:
        shard = self.kinesis.list_shards(StreamName="s")["Shards"][0]["ShardId"]
        it = self.kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        return [
            json.loads(r["Data"])
            for r in self.kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]
        ]


@pytest.fixture
def world(tmp_path, monkeypatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ddb, ses, sns, sqs, kinesis = (
            boto3.client(s) for s in ("dynamodb", "sesv2", "sns", "sqs", "kinesis")
        )
        ddb.create_table(
            TableName="tickets",
            KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        kinesis.create_stream(StreamName="s", ShardCount=1)
        ses.create_email_identity(EmailIdentity=FROM)
        topic = sns.create_topic(Name="t")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        outbox = tmp_path / "outbox"
        yield World(
            ddb,
            ses,
            sqs,
            kinesis,
            queue_url,
            DynamoLifecycle("tickets", ddb),
            EmlCopySender(SesMailSender("", ses), outbox),
            SnsEvents(topic, sns),
            KinesisIntake("s", kinesis),
            outbox,
        )


def _sent_count() -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_approved_reply_is_sent_once_recorded_and_announced(world):
    world.put_ticket()

    outcome = world.approve()

    assert outcome.outcome == "sent" and _sent_count() == 1
    item = world.item()
    assert item["status"] == "SENT" and item["mail_seq"] == 1 and item["ses_message_id"]
    assert item["last_mail_message_id"] == f"<{TID}.1@tms.example.com>"
    assert [h["action"] for h in item["history"]] == ["claim_send", "sent"]
    (eml,) = world.outbox.glob("*.eml")
    assert eml.name == f"{TID}-1.eml"
    assert message_from_bytes(eml.read_bytes())["To"] == "Ada Lovelace <ada@example.com>"
    (event,) = world.published()
    assert event["kind"] == "reply_sent" and event["status"] == "SENT" and event["actor"] == "U0LEAD"


def test_redelivered_approval_sends_one_mail(world):
    world.put_ticket()

    first, second = world.approve(), world.approve()

    assert (first.outcome, second.outcome) == ("sent", "duplicate")
    assert _sent_count() == 1 and len(list(world.outbox.glob("*.eml"))) == 1


def test_stale_approval_version_sends_nothing(world):
    world.put_ticket(version=3)  # edited and approved again since this message was published

    assert world.approve(version=1).outcome == "duplicate"
    assert _sent_count() == 0 and world.item()["status"] == "APPROVED"


def test_rejected_send_leaves_a_visible_failed_state_with_reason(world):
    world.ses.delete_email_identity(EmailIdentity=FROM)  # the sender is no longer verified

    world.put_ticket()
    outcome = world.approve()

    assert outcome.outcome == "failed"
    item = world.item()
    assert item["status"] == "SEND_FAILED" and "SES rejected the message" in item["send_error"]
    assert not list(world.outbox.glob("*.eml"))
    (event,) = world.published()
    assert event["kind"] == "reply_send_failed" and "rejected" in event["text"]


def test_agent_opened_ticket_gets_the_reply_in_slack_not_by_mail(world):
    world.put_ticket(reply_via="slack", slack_user="U0AGENT")

    assert world.approve().outcome == "posted_in_slack"
    assert _sent_count() == 0 and world.item()["status"] == "SENT"
    (event,) = world.published()
    assert event["via"] == "slack" and event["mention"] == "U0AGENT" and "reset" in event["text"]


def test_customer_answer_is_appended_and_moves_the_ticket(world):
    world.put_ticket(status="SENT")

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes())

    assert out.outcome == "appended" and out.ticket_id == TID
    item = world.item()
    assert item["status"] == "CUSTOMER_REPLIED"
    assert item["last_customer_text"].startswith("Thanks, the reset worked")
    assert "in:<CAF123abc@mail.example.com>" in item["mail_ids"]
    (event,) = world.published()
    assert event["kind"] == "customer_replied" and event["flag"] == ""


def test_same_answer_delivered_twice_is_taken_in_once(world):
    world.put_ticket(status="SENT")
    raw = (EVENTS / "reply_plain.eml").read_bytes()

    assert [world.receive(raw).outcome, world.receive(raw).outcome] == ["appended", "duplicate"]
    assert len(world.published()) == 1


def test_answer_from_another_address_is_accepted_and_flagged(world):
    world.put_ticket(status="SENT", customer_email="someone.else@example.com")

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes())

    assert out.outcome == "appended" and "not the ticket's customer" in out.detail
    (event,) = world.published()
    assert "ada@example.com" in event["flag"]


def test_second_reply_threads_under_the_customers_answer(world):
    world.put_ticket()
    world.approve()
    world.receive((EVENTS / "reply_plain.eml").read_bytes())
    # The agent edits and approves again (the bot's writes): back to APPROVED with a new version.
    version = world.item()["version"]
    world.ddb.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET #s = :a, #v = :v",
        ExpressionAttributeNames={"#s": "status", "#v": "version"},
        ExpressionAttributeValues={":a": {"S": "APPROVED"}, ":v": {"N": str(version + 1)}},
    )

    assert world.approve(version=version + 1).outcome == "sent"
    second = message_from_bytes((world.outbox / f"{TID}-2.eml").read_bytes())
    assert second["In-Reply-To"] == "<CAF123abc@mail.example.com>"
    assert second["References"].split() == [f"<{TID}.1@tms.example.com>", "<CAF123abc@mail.example.com>"]


def test_failed_spam_or_virus_verdict_is_refused(world):
    world.put_ticket(status="SENT")

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes(), Verdicts(virus="FAIL"))

    assert out.outcome == "refused" and "virus" in out.detail
    assert world.item()["status"] == "SENT" and not world.published()


@pytest.mark.parametrize("fixture", ["auto_reply.eml", "bounce.eml"])
def test_auto_replies_and_bounces_change_nothing_and_answer_nothing(world, fixture):
    world.put_ticket(status="SENT")

    out = world.receive((EVENTS / fixture).read_bytes())

    assert out.outcome == "ignored_automated"
    assert world.item()["status"] == "SENT" and not world.published() and not world.stream()


def test_malformed_mail_has_an_outcome_not_a_crash(world):
    assert world.receive((EVENTS / "malformed.eml").read_bytes()).outcome == "malformed"


def test_unknown_ticket_id_becomes_a_new_ticket_through_intake(world):
    out = world.receive((EVENTS / "reply_plain.eml").read_bytes())  # no such ticket in the table

    assert out.outcome == "new_ticket" and out.new_ticket_id
    (record,) = world.stream()
    assert record["ticketId"] == out.new_ticket_id and record["source"] == "email"
    assert record["data"]["customer"]["email"] == "ada@example.com"
    assert record["data"]["subject"] == "Re: Login broken"


def test_resolved_ticket_reopens_within_the_window(world):
    world.put_ticket(status="RESOLVED", resolved_at="2025-01-01T10:00:00.000Z")

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes())

    assert out.outcome == "reopened" and world.item()["status"] == "CUSTOMER_REPLIED"
    (event,) = world.published()
    assert event["reopened"] is True


def test_resolved_ticket_after_the_window_gets_a_new_linked_ticket(world):
    world.put_ticket(status="RESOLVED", resolved_at="2024-12-01T10:00:00.000Z")

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes(), now=NOW + timedelta(days=1))

    assert out.outcome == "new_ticket" and world.item()["status"] == "RESOLVED"
    (record,) = world.stream()
    assert record["data"]["description"].startswith(f"Follow-up to {TID}.")


class _Responses:
    """Records what the mailer tells the SLA timers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, str]] = []

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        self.calls.append((ticket_id, at, by))


def test_sent_reply_is_the_first_response_and_stops_the_sla_timers(world):
    world.put_ticket()
    responses = _Responses()

    world.approve(responses=responses)

    item = world.item()
    assert item["first_response_at"] == "2025-01-02T10:30:00.000Z" and item["first_response_by"] == "U0LEAD"
    assert responses.calls == [(TID, NOW, "U0LEAD")]


def test_a_later_reply_does_not_move_the_first_response(world):
    world.put_ticket()
    world.approve()
    version = world.item()["version"]
    world.ddb.update_item(  # the agent approves a second reply (the bot's write)
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET #s = :a, #v = :v",
        ExpressionAttributeNames={"#s": "status", "#v": "version"},
        ExpressionAttributeValues={":a": {"S": "APPROVED"}, ":v": {"N": str(version + 1)}},
    )

    assert world.approve(version=version + 1, now=NOW + timedelta(hours=3)).outcome == "sent"
    assert world.item()["first_response_at"] == "2025-01-02T10:30:00.000Z"


def test_a_rejected_send_is_no_first_response(world):
    world.ses.delete_email_identity(EmailIdentity=FROM)
    world.put_ticket()
    responses = _Responses()

    assert world.approve(responses=responses).outcome == "failed"
    assert "first_response_at" not in world.item() and responses.calls == []


def test_reply_posted_in_slack_is_the_first_response(world):
    world.put_ticket(reply_via="slack", slack_user="U0AGENT")
    responses = _Responses()

    world.approve(responses=responses)

    assert world.item()["first_response_at"] == "2025-01-02T10:30:00.000Z" and len(responses.calls) == 1
