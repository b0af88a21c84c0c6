"""Sending an approved reply exactly once and taking the customer's answer back, on moto (SES v2,
DynamoDB, SNS, Kinesis) with the real adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contract.models import ReplyApprovedMessage
from pipeline.adapters.limits import DynamoRateLimiter
from pipeline.adapters.mail import (
    DynamoLifecycle,
    EmlCopySender,
    KinesisIntake,
    S3HeldMail,
    SesMailSender,
    SnsEvents,
)
from pipeline.domain.mail_trust import Verdicts
from pipeline.domain.mailflow import (
    Envelope,
    InboundPorts,
    MailConfig,
    receive_mail,
    send_approved_reply,
)
from tests.paths import EVENTS

EVENTS = EVENTS / "mail"
TID = "TKT-20250102-ABCDEFGHJK"
FROM = "support@tms.example.com"
NOW = datetime(2025, 1, 2, 10, 30, tzinfo=UTC)
CONFIG = MailConfig(FROM, "help@tms.example.com")


class Alerts:
    """Records the limit announcements (the SNS alarms-topic adapter's port)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []

    def limit_hit(self, subject: str, message: str) -> None:
        self.posts.append((subject, message))


@dataclass
class World:
    ddb: Any
    ses: Any
    sqs: Any
    kinesis: Any
    s3: Any
    queue_url: str
    store: DynamoLifecycle
    sender: EmlCopySender
    events: SnsEvents
    intake: KinesisIntake
    outbox: Path
    alerts: Alerts

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

    def receive(
        self,
        raw: bytes,
        verdicts: Verdicts | None = None,
        now: datetime = NOW,
        envelope: Envelope | None = None,
        config: MailConfig = CONFIG,
    ) -> Any:
        ports = InboundPorts(
            DynamoRateLimiter("tickets", self.ddb), S3HeldMail("inbound", self.s3), self.alerts
        )
        return receive_mail(
            raw,
            verdicts or Verdicts.passing(),
            self.store,
            self.intake,
            self.events,
            config,
            now,
            envelope,
            ports,
        )

    def held(self) -> list[dict[str, Any]]:
        listed = self.s3.list_objects_v2(Bucket="inbound").get("Contents", [])
        return [json.loads(self.s3.get_object(Bucket="inbound", Key=o["Key"])["Body"].read()) for o in listed]

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
        ddb, ses, sns, sqs, kinesis, s3 = (
            boto3.client(s) for s in ("dynamodb", "sesv2", "sns", "sqs", "kinesis", "s3")
        )
        s3.create_bucket(Bucket="inbound")
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
            s3,
            queue_url,
            DynamoLifecycle("tickets", ddb),
            EmlCopySender(SesMailSender("", ses), outbox),
            SnsEvents(topic, sns),
            KinesisIntake("s", kinesis),
            outbox,
            Alerts(),
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


def test_a_ticket_from_a_customers_slack_message_is_answered_in_slack_once_not_mailed(world):
    # Issue 31: the notifier posts the published reply in the customer's thread; here no mail is built.
    world.put_ticket(
        reply_via="slack_thread", slack_user="U0GRACE", customer_email="U0GRACE@users.slack.invalid"
    )

    assert world.approve().outcome == "posted_in_slack"
    assert world.approve().outcome == "duplicate"  # an SNS redelivery of the same approval
    assert _sent_count() == 0 and world.item()["status"] == "SENT"
    (event,) = world.published()
    assert event["via"] == "slack" and event["mention"] == "U0GRACE" and "reset" in event["text"]


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


def test_answer_from_another_address_is_unverified_and_changes_nothing(world):
    world.put_ticket(status="SENT", customer_email="someone.else@example.com")

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes())

    assert out.outcome == "unverified" and "not the ticket's customer" in out.detail
    assert world.item()["status"] == "SENT"
    (event,) = world.published()
    assert event["kind"] == "unverified_mail" and "ada@example.com" in event["flag"]


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


# --- Only the customer speaks for the customer (issue 27.2) -----------------------------------------------

KEY = b"test-reply-key"
SIGNED = MailConfig(FROM, "help@tms.example.com", reply_key=KEY)


def _mail(
    *,
    from_: str = "Ada Lovelace <ada@example.com>",
    subject: str = f"Re: [{TID}] Login broken",
    to: str = "help@tms.example.com",
    extra: str = "",
    message_id: str = "<spoof-1@mail.example.com>",
    text: str = "Please send the refund to IBAN XX00 1234.",
) -> bytes:
    return (
        f"{extra}From: {from_}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


SPF_ONLY = Verdicts(spf="PASS", dkim="GRAY", spam="PASS", virus="PASS")  # no dmarcVerdict in the event


def test_spoofed_customer_from_with_spf_pass_but_no_dmarc_verdict_is_unverified_and_pings_the_owner(world):
    # Given a ticket owned by an agent, and a mail From the customer sent through an SPF-passing server
    world.put_ticket(status="WAITING_CUSTOMER", assignee="U0OWNER")

    # When it arrives without a DMARC verdict
    out = world.receive(_mail(), SPF_ONLY, envelope=Envelope(mail_from="bounce@evil.example"))

    # Then it is shown as unverified, the status and the customer's last text stay, the owner is pinged
    assert out.outcome == "unverified" and "no DMARC verdict" in out.detail
    item = world.item()
    assert item["status"] == "WAITING_CUSTOMER" and "last_customer_text" not in item
    assert item["history"][-1]["action"] == "unverified_mail"
    assert "<spoof-1@mail.example.com>" not in (item.get("mail_references") or [])
    (event,) = world.published()
    assert event["kind"] == "unverified_mail" and event["mention"] == "U0OWNER"
    assert event["status"] == "WAITING_CUSTOMER"


def test_dmarc_fail_is_unverified(world):
    world.put_ticket(status="SENT")

    out = world.receive(_mail(), replace(Verdicts.passing(), dmarc="FAIL", dmarc_policy="reject"))

    assert out.outcome == "unverified" and "DMARC FAIL (policy reject)" in out.detail
    assert world.item()["status"] == "SENT"


def test_no_dmarc_record_and_an_aligned_dkim_pass_is_the_customer(world):
    world.put_ticket(status="SENT")
    signed = "DKIM-Signature: v=1; a=rsa-sha256; d=mail.example.com; s=s1; h=from; bh=x; b=y\r\n"

    out = world.receive(_mail(extra=signed), replace(Verdicts.passing(), dmarc="GRAY", spf="FAIL"))

    assert out.outcome == "appended" and world.item()["status"] == "CUSTOMER_REPLIED"


def test_no_dmarc_record_and_spf_pass_for_an_unaligned_return_path_is_unverified(world):
    world.put_ticket(status="SENT")
    forged = "Return-Path: <bounce@evil.example>\r\n"

    out = world.receive(_mail(extra=forged), replace(Verdicts.passing(), dmarc="GRAY", dkim="GRAY"))

    assert out.outcome == "unverified" and "no aligned SPF or DKIM pass" in out.detail
    assert world.item()["status"] == "SENT"


def test_no_dmarc_record_and_spf_pass_for_an_aligned_envelope_sender_is_the_customer(world):
    world.put_ticket(status="SENT")
    verdicts = replace(Verdicts.passing(), dmarc="GRAY", dkim="GRAY")

    out = world.receive(_mail(), verdicts, envelope=Envelope(mail_from="bounces@mail.example.com"))

    assert out.outcome == "appended"


def test_allow_listed_domain_is_the_customer_without_any_verdict(world):
    world.put_ticket(status="SENT")
    trusting = replace(CONFIG, trusted_domains=frozenset({"example.com"}))

    out = world.receive(_mail(), Verdicts(spam="PASS", virus="PASS"), config=trusting)

    assert out.outcome == "appended" and world.item()["status"] == "CUSTOMER_REPLIED"


def test_customer_mail_to_an_approved_ticket_keeps_the_status_and_the_send_still_happens(world):
    # Given an approved reply the mailer has not sent yet
    world.put_ticket(status="APPROVED", version=1)

    # When the customer writes meanwhile
    out = world.receive(_mail(text="One more detail: it fails on Safari only."))

    # Then the mail is recorded, the ticket stays APPROVED at the approval's version, and the send goes out
    assert (out.outcome, out.status) == ("appended", "APPROVED")
    item = world.item()
    assert item["status"] == "APPROVED" and item["version"] == 1
    assert item["last_customer_text"].startswith("One more detail")
    assert world.approve(version=1).outcome == "sent" and _sent_count() == 1


def test_customer_mail_arriving_while_the_mailer_sends_does_not_stop_the_send(world):
    world.put_ticket(status="APPROVED", version=1)
    outcomes: list[str] = []

    class ReceivingDuringSend:
        def send(self, raw: bytes, **kwargs: Any) -> str:
            outcomes.append(world.item()["status"])
            outcomes.append(world.receive(_mail()).outcome)
            return world.sender.send(raw, **kwargs)

    msg = ReplyApprovedMessage(ticket_id=TID, approved_by="U0LEAD", approved_at=NOW, version=1)
    sent = send_approved_reply(msg, world.store, ReceivingDuringSend(), world.events, CONFIG, NOW)

    assert outcomes == ["SENDING", "appended"]
    assert sent.outcome == "sent" and world.item()["status"] == "SENT"


def test_customer_mail_to_a_triaged_ticket_keeps_it_triaged(world):
    world.put_ticket(status="TRIAGED")

    assert world.receive(_mail()).outcome == "appended"
    assert world.item()["status"] == "TRIAGED"


@pytest.mark.parametrize(
    ("fixture", "outcome"),
    [
        ("charset_idna.eml", "appended"),  # the idna part dropped, the HTML part read
        ("charset_utf7.eml", "malformed"),
        ("broken_base64.eml", "malformed"),
        ("broken_qp.eml", "appended"),
        ("no_from.eml", "malformed"),
        ("two_from.eml", "unverified"),
        ("encoded_headers.eml", "appended"),
        ("eightbit_headers.eml", "ignored_automated"),  # its Auto-Submitted header is not "no"
    ],
)
def test_hostile_mail_has_a_defined_outcome_never_an_exception(world, fixture, outcome):
    world.put_ticket(status="SENT")

    assert world.receive((EVENTS / fixture).read_bytes()).outcome == outcome


def test_a_contact_added_to_the_ticket_speaks_for_the_customer(world):
    from pipeline.domain.mailflow import add_contact

    world.put_ticket(status="SENT")
    assert add_contact(world.store, TID, "Grace@Example.com", "U0AGENT", NOW) is True
    assert add_contact(world.store, TID, "grace@example.com", "U0AGENT", NOW) is False

    out = world.receive(_mail(from_="Grace Hopper <grace@example.com>"))

    assert out.outcome == "appended" and world.item()["contacts"] == ["grace@example.com"]


# --- Signed reply addresses -------------------------------------------------------------------------------


def test_reply_goes_out_with_a_signed_per_ticket_reply_address(world):
    world.put_ticket()
    msg = ReplyApprovedMessage(ticket_id=TID, approved_by="U0LEAD", approved_at=NOW, version=1)

    send_approved_reply(msg, world.store, world.sender, world.events, SIGNED, NOW)

    reply_to = message_from_bytes((world.outbox / f"{TID}-1.eml").read_bytes())["Reply-To"]
    assert reply_to.startswith(f"help+{TID.lower()}.") and reply_to.endswith("@tms.example.com")


def test_signed_reply_address_names_the_ticket_without_subject_or_headers(world):
    from pipeline.domain.mail_trust import reply_address

    world.put_ticket(status="SENT")
    to = reply_address("help@tms.example.com", TID, KEY)

    out = world.receive(
        _mail(subject="hello again", to=to), envelope=Envelope(recipients=(to,)), config=SIGNED
    )

    assert (out.outcome, out.ticket_id) == ("appended", TID)


def test_forged_reply_address_token_matches_no_ticket(world):
    world.put_ticket(status="SENT")
    forged = f"help+{TID.lower()}.aaaaaaaaaaaaaaaa@tms.example.com"

    out = world.receive(
        _mail(subject="hello again", to=forged), envelope=Envelope(recipients=(forged,)), config=SIGNED
    )

    assert out.outcome == "new_ticket" and "did not verify" in out.detail
    assert world.item()["status"] == "SENT" and "history" not in world.item()


# --- Limits on new tickets from mail (issue 27.5) ---------------------------------------------------------


def _triage(world: World, ticket_id: str, email: str) -> None:
    """What the workflow does with a new ticket's event: the item, TRIAGED."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    item = {"ticket_id": ticket_id, "status": "TRIAGED", "version": 1, "customer_email": email}
    world.ddb.put_item(TableName="tickets", Item={k: ser.serialize(v) for k, v in item.items()})


def _new_mail(n: int, sender: str = "ada@example.com") -> bytes:
    return _mail(from_=sender, subject=f"Question {n}", message_id=f"<q{n}.{sender}>", text=f"Question {n}")


def test_sixth_new_ticket_mail_in_an_hour_from_a_verified_sender_joins_their_latest_ticket(world):
    # Given five tickets a sender opened by mail this hour
    opened = []
    for n in range(5):
        out = world.receive(_new_mail(n), now=NOW + timedelta(minutes=n))
        assert out.outcome == "new_ticket"
        _triage(world, out.new_ticket_id, "ada@example.com")
        opened.append(out.new_ticket_id)

    # When the sixth and seventh arrive within the hour
    sixth = world.receive(_new_mail(6), now=NOW + timedelta(minutes=20))
    seventh = world.receive(_new_mail(7), now=NOW + timedelta(minutes=21))

    # Then neither opens a ticket: both join the newest one; the limit is announced once
    assert (sixth.outcome, sixth.ticket_id) == ("rate_limited", opened[-1])
    assert (seventh.outcome, seventh.ticket_id) == ("rate_limited", opened[-1])
    assert len(world.stream()) == 5
    assert len(world.alerts.posts) == 1 and "ada@example.com" in world.alerts.posts[0][0]


def test_sixth_new_ticket_mail_from_an_unverified_sender_is_held_not_put_on_a_ticket(world):
    failing = replace(Verdicts.passing(), dmarc="FAIL")
    for n in range(5):
        out = world.receive(_new_mail(n), failing)
        _triage(world, out.new_ticket_id, "ada@example.com")

    out = world.receive(_new_mail(6), failing)

    assert out.outcome == "held" and "s3://inbound/inbound-mail/held/" in out.detail
    (record,) = world.held()
    assert record["from"] == "ada@example.com" and record["verified"] is False
    assert len(world.stream()) == 5 and len(world.alerts.posts) == 1


def test_next_hour_opens_tickets_again(world):
    for n in range(6):
        world.receive(_new_mail(n))

    assert world.receive(_new_mail(7), now=NOW + timedelta(hours=1)).outcome == "new_ticket"


def test_domain_limit_throttles_a_company_domain_but_not_a_freemail_domain(world):
    from pipeline.domain.limits import MailLimits

    tight = replace(CONFIG, limits=MailLimits.of(per_sender=5, per_domain=2))

    gmail = [world.receive(_new_mail(n, f"user{n}@gmail.com"), config=tight).outcome for n in range(4)]
    company = [world.receive(_new_mail(n, f"user{n}@example.org"), config=tight).outcome for n in range(4)]

    assert gmail == ["new_ticket"] * 4
    assert company == ["new_ticket", "new_ticket", "held", "held"]
    assert len(world.alerts.posts) == 1 and "example.org" in world.alerts.posts[0][0]


# --- Measured acceptance (issue 30.5) ----------------------------------------------------------------------


def test_a_reply_mailed_as_drafted_is_recorded_unchanged_once(world):
    world.put_ticket()

    world.approve()
    world.approve()  # an SNS redelivery: refused by the claim, the record stays as the send wrote it

    item = world.item()
    assert item["reply_edit_distance"] == 0 and item["sent_unchanged"] is True


def test_a_mailed_reply_the_agent_edited_records_how_much_of_the_draft_changed(world):
    # The draft had six words; the agent replaced one ("reset" -> "cleared") and added "Regards," at the end.
    world.put_ticket(
        drafted_reply="Dear Ada, we reset your session.",
        response_text="Dear Ada, we cleared your session. Regards,",
    )

    world.approve()

    item = world.item()
    assert float(item["reply_edit_distance"]) == pytest.approx(2 / 7, abs=1e-4)
    assert item["sent_unchanged"] is False


def test_a_reply_posted_in_the_customers_slack_thread_records_its_acceptance_too(world):
    world.put_ticket(
        reply_via="slack_thread",
        slack_user="U0GRACE",
        customer_email="U0GRACE@users.slack.invalid",
        drafted_reply="Hi Grace, restart the export and tell us if it fails again.",
        response_text="Grace, we fixed the export job on our side; no restart needed.",
    )

    assert world.approve().outcome == "posted_in_slack"

    item = world.item()
    assert item["sent_unchanged"] is False and float(item["reply_edit_distance"]) >= 0.40
