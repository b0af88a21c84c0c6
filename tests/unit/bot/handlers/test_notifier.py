"""The notifier Lambda: SNS in, one Slack post per ticket, threads for later events and alarms, no duplicates."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from bot.adapters.slack import SlackPoster, make_web_client
from bot.adapters.ticket_store import DynamoTicketStore
from bot.logic.notify import Notification, Notifier
from contract import names
from contract.models import (
    ProcessedRecord,
    SlackContext,
    Source,
    TicketFailedMessage,
    TicketTriagedMessage,
)
from tests.fakes.bot_harness import ALERTS_CHANNEL, TICKET_CHANNEL
from tests.fakes.slack_api import FakeSlackApi

TID = "TKT-20250102-ABCDEFGHJK"
TICKETS_TOPIC = "arn:aws:sns:us-east-1:123456789012:tms-tickets"
ALARMS_TOPIC = "arn:aws:sns:us-east-1:123456789012:tms-alarms"


def record(priority: str = "HIGH", ticket_id: str = TID) -> ProcessedRecord:
    return ProcessedRecord(
        ticket_id=ticket_id,
        submitted_at=datetime(2025, 1, 2, 9, 0, tzinfo=UTC),
        customer_first_name="Ada",
        customer_last_name="Lovelace",
        customer_full_name="Ada Lovelace",
        customer_email="ada@example.com",
        product="Amazon EC2",
        issue_type="Instance Connectivity",
        subject="Production is down",
        description="Nothing answers since 9:00.",
        response_text=f"Dear Ada, about {ticket_id}: we are on it.",
        sentiment="NEGATIVE",
        sentiment_score_mixed=0.01,
        sentiment_score_negative=0.93,
        sentiment_score_neutral=0.05,
        sentiment_score_positive=0.01,
        priority=priority,
        priority_reasoning="Production outage.",
        processed_at=datetime(2025, 1, 2, 9, 0, 5, tzinfo=UTC),
        company="Analytical Engines",
        model_id="offline",
    )


SLACK = SlackContext(team_id="T0FAKE", channel_id="C0SUPPORT", user_id="U0AGENT")


def triaged(priority: str = "HIGH", slack: SlackContext | None = SLACK) -> str:
    return TicketTriagedMessage(source=Source.SLACK, record=record(priority), slack=slack).model_dump_json()


def alarm(state: str, old: str) -> str:
    return json.dumps(
        {
            "AlarmName": "tms-pipeline-failures",
            "AlarmDescription": "Executions failed",
            "NewStateValue": state,
            "OldStateValue": old,
            "NewStateReason": "Threshold Crossed: 1 datapoint [2.0] was >= the threshold (1.0).",
            "StateChangeTime": "2025-01-02T09:10:00.000+0000",
            "Region": "US East (N. Virginia)",
        }
    )


def sns_event(
    message: str, topic: str = TICKETS_TOPIC, message_id: str | None = None, event_type: str = ""
) -> dict:
    attrs = {names.ATTR_EVENT_TYPE: {"Type": "String", "Value": event_type}} if event_type else {}
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": "2025-01-02T09:00:06.000Z",
                    "SignatureVersion": "1",
                    "Signature": "fake",
                    "SigningCertUrl": "https://example.invalid/cert.pem",
                    "UnsubscribeUrl": "https://example.invalid/unsub",
                    "MessageAttributes": attrs,
                },
            }
        ]
    }


@dataclass
class Ctx:
    function_name: str = "tms-notifier"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tms-notifier"
    aws_request_id: str = "req-1"


@pytest.fixture
def table(monkeypatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="tickets",
            KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="tickets", Item={"ticket_id": {"S": TID}, "status": {"S": "TRIAGED"}})
        yield ddb


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi.running() as fake:
        yield fake


@pytest.fixture
def notifier(table, slack) -> Notifier:
    sleeps: list[float] = []
    web = make_web_client("xoxb-t", slack.base_url, sleep=sleeps.append)
    return Notifier(
        store=DynamoTicketStore("tickets", table),
        poster=SlackPoster(web, clock=lambda: 0.0, sleep=sleeps.append),
        channel=TICKET_CHANNEL,
        alerts_channel=ALERTS_CHANNEL,
        alarms_topic_arn=ALARMS_TOPIC,
    )


def test_triaged_ticket_is_posted_once_with_id_priority_sentiment_and_its_thread_is_stored(
    notifier, slack, table
):
    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))

    (post,) = slack.calls_to("chat.postMessage")
    text = json.dumps(post.params)
    assert TID in text and "HIGH" in text and "NEGATIVE" in text and "neg 0.93" in text
    assert "<@U0AGENT>" in post.params["text"]  # HIGH mentions the submitter
    assert "Dear Ada" in text and "Production outage." in text
    item = DynamoTicketStore("tickets", table).get(TID) or {}
    assert item["slack_channel"] == TICKET_CHANNEL and item["slack_ts"]


def test_normal_ticket_does_not_mention_anyone(notifier, slack):
    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged("NORMAL")))

    assert "<@" not in slack.calls_to("chat.postMessage")[0].params["text"]


def test_sns_delivering_the_same_message_twice_posts_once(notifier, slack):
    message = triaged()
    notifier.handle(Notification("m-1", TICKETS_TOPIC, message))
    notifier.handle(Notification("m-1", TICKETS_TOPIC, message))
    notifier.handle(Notification("m-2", TICKETS_TOPIC, message))  # a republished event, new MessageId

    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_failed_post_is_released_so_the_redelivery_posts_it(notifier, slack):
    slack.fail_next("chat.postMessage", status=500, retry_after=None, error="fatal_error")
    with pytest.raises(Exception):  # noqa: B017 - any error must propagate so SNS redelivers
        notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))

    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))

    assert len(slack.calls_to("chat.postMessage")) == 1


def test_failure_after_the_post_replies_in_the_ticket_thread(notifier, slack, table):
    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))
    failed = TicketFailedMessage(
        ticket_id=TID, error="ArchiveError", cause="S3 unavailable"
    ).model_dump_json()

    notifier.handle(Notification("m-2", TICKETS_TOPIC, failed))

    _, reply = slack.calls_to("chat.postMessage")
    assert "ArchiveError" in reply.params["text"]
    assert reply.params["thread_ts"] == (DynamoTicketStore("tickets", table).get(TID) or {})["slack_ts"]


def test_failure_without_a_thread_becomes_a_new_post(notifier, slack):
    failed = TicketFailedMessage(ticket_id=TID, error="LlmThrottledError").model_dump_json()

    notifier.handle(Notification("m-1", TICKETS_TOPIC, failed))

    (post,) = slack.calls_to("chat.postMessage")
    assert "thread_ts" not in post.params and TID in post.params["text"]
    # and it tells the agent how to recover the ticket
    assert f"tms retry {TID}" in json.dumps(post.params["blocks"])


def test_alarm_opens_a_thread_and_its_ok_replies_in_it_then_a_new_incident_opens_another(notifier, slack):
    notifier.handle(Notification("a-1", ALARMS_TOPIC, alarm("ALARM", "OK")))
    notifier.handle(Notification("a-1", ALARMS_TOPIC, alarm("ALARM", "OK")))  # duplicate delivery
    notifier.handle(Notification("a-2", ALARMS_TOPIC, alarm("OK", "ALARM")))
    notifier.handle(Notification("a-3", ALARMS_TOPIC, alarm("ALARM", "OK")))

    fired, ok, refired = slack.calls_to("chat.postMessage")
    assert fired.params["channel"] == ALERTS_CHANNEL and "thread_ts" not in fired.params
    assert ok.params["thread_ts"] == "1700000000.000100" and "is OK" in ok.params["text"]
    assert "thread_ts" not in refired.params


def test_handler_without_slack_token_appends_posts_to_the_outbox(table, tmp_path, monkeypatch):
    from bot.handlers import notifier as lambda_module
    from contract import clients

    outbox = tmp_path / "outbox.jsonl"
    for key, value in {
        names.ENV_TABLE_NAME: "tickets",
        names.ENV_SLACK_OUTBOX: str(outbox),
        names.ENV_ALARMS_TOPIC_ARN: ALARMS_TOPIC,
        names.ENV_SLACK_CHANNEL: "tickets",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(names.ENV_SLACK_BOT_TOKEN, raising=False)
    clients.clear_cache()
    lambda_module.notifier.cache_clear()

    event = sns_event(triaged(), message_id="m-1", event_type="TicketTriaged")
    lambda_module.handler(event, Ctx())
    lambda_module.handler(event, Ctx())
    lambda_module.handler(sns_event(alarm("ALARM", "OK"), topic=ALARMS_TOPIC), Ctx())
    lambda_module.notifier.cache_clear()

    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [line["channel"] for line in lines] == ["tickets", "tms-alerts"]
    assert TID in lines[0]["text"] and lines[0]["blocks"]


def test_unreadable_message_is_skipped_not_retried(table, tmp_path, monkeypatch, notifier, slack):
    from bot.logic.notify import parse_or_skip

    outcome = parse_or_skip(Notification("m-1", TICKETS_TOPIC, '{"event_type": "TicketTriaged"}'), notifier)

    assert outcome.kind == "skipped" and slack.calls == []


# --- the alarms topic: Glue job state changes (raw EventBridge events) and shapes we do not know ----------
GLUE_JOB = "tms-warehouse-load"


def glue_event(state: str, event_id: str, message: str = "") -> str:
    """A "Glue Job State Change" event as an EventBridge rule publishes it to SNS (no alarm wrapper)."""
    return json.dumps(
        {
            "version": "0",
            "id": event_id,
            "detail-type": "Glue Job State Change",
            "source": "aws.glue",
            "account": "123456789012",
            "time": "2025-01-02T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "jobName": GLUE_JOB,
                "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
                "state": state,
                "jobRunId": f"jr_{event_id}",
                "message": message,
            },
        }
    )


def test_glue_failure_opens_a_job_thread_and_a_later_success_replies_recovered_in_it(notifier, slack, table):
    notifier.handle(
        Notification("g-1", ALARMS_TOPIC, glue_event("FAILED", "e-1", "Redshift refused: timeout"))
    )
    notifier.handle(Notification("g-2", ALARMS_TOPIC, glue_event("SUCCEEDED", "e-2")))

    failed, recovered = slack.calls_to("chat.postMessage")
    assert failed.params["channel"] == ALERTS_CHANNEL and "thread_ts" not in failed.params
    assert GLUE_JOB in failed.params["text"] and "FAILED" in failed.params["text"]
    assert "Redshift refused: timeout" in json.dumps(failed.params["blocks"])
    item = DynamoTicketStore("tickets", table).get(f"GLUE#{GLUE_JOB}") or {}
    assert recovered.params["thread_ts"] == item["slack_ts"] == "1700000000.000100"
    assert "recovered" in recovered.params["text"]


def test_glue_failures_while_the_incident_is_open_continue_its_thread_then_a_new_failure_opens_another(
    notifier, slack
):
    for n, (state, event_id) in enumerate(
        [("FAILED", "e-1"), ("TIMEOUT", "e-2"), ("STOPPED", "e-3"), ("SUCCEEDED", "e-4"), ("FAILED", "e-5")]
    ):
        notifier.handle(Notification(f"g-{n}", ALARMS_TOPIC, glue_event(state, event_id)))

    first, timeout, stopped, recovered, reopened = slack.calls_to("chat.postMessage")
    assert "thread_ts" not in first.params
    assert timeout.params["thread_ts"] == stopped.params["thread_ts"] == recovered.params["thread_ts"]
    assert "TIMEOUT" in timeout.params["text"] and "STOPPED" in stopped.params["text"]
    assert "thread_ts" not in reopened.params


def test_glue_success_without_an_open_incident_posts_nothing(notifier, slack):
    outcome = notifier.handle(Notification("g-1", ALARMS_TOPIC, glue_event("SUCCEEDED", "e-1")))

    assert outcome.kind == "glue" and outcome.posted is None and slack.calls == []


def test_one_glue_event_delivered_as_two_sns_messages_posts_once(notifier, slack):
    notifier.handle(Notification("g-1", ALARMS_TOPIC, glue_event("FAILED", "e-1")))
    notifier.handle(Notification("g-2", ALARMS_TOPIC, glue_event("FAILED", "e-1")))

    assert len(slack.calls_to("chat.postMessage")) == 1


def test_glue_event_is_recognised_without_the_alarms_topic_arn(table, slack):
    web = make_web_client("xoxb-t", slack.base_url, sleep=lambda _: None)
    bare = Notifier(
        store=DynamoTicketStore("tickets", table),
        poster=SlackPoster(web, clock=lambda: 0.0, sleep=lambda _: None),
        channel=TICKET_CHANNEL,
        alerts_channel=ALERTS_CHANNEL,
    )

    outcome = bare.handle(Notification("g-1", TICKETS_TOPIC, glue_event("FAILED", "e-1")))

    assert (
        outcome.kind == "glue" and slack.calls_to("chat.postMessage")[0].params["channel"] == ALERTS_CHANNEL
    )


@pytest.mark.parametrize(
    "message",
    [
        "Disk full on the loader host",  # plain text (a human or a script publishing by hand)
        "",
        "[1, 2, 3]",
        '"just a JSON string"',
        '{"source": "aws.health", "detail-type": "AWS Health Event", "detail": {}}',
        '{"AlarmName": "tms-x"}',  # an alarm without its state
        '{"detail-type": "Glue Job State Change", "detail": {"state": "FAILED"}}',  # no job name
        '{"detail-type": "Glue Job State Change", "detail": "not an object"}',
        "{not json" + "x" * 10_000 + " ``` <!channel> & ",
    ],
    ids=[
        "text",
        "empty",
        "json-list",
        "json-string",
        "other-eventbridge",
        "alarm-without-state",
        "glue-without-job",
        "glue-bad-detail",
        "huge-hostile",
    ],
)
def test_unknown_message_on_the_alarms_topic_is_posted_as_a_generic_alert(notifier, slack, message):
    from bot.logic.notify import parse_or_skip

    outcome = parse_or_skip(Notification("u-1", ALARMS_TOPIC, message, subject="Ops notice"), notifier)
    parse_or_skip(Notification("u-1", ALARMS_TOPIC, message, subject="Ops notice"), notifier)  # redelivery

    assert outcome.kind == "alert"
    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["channel"] == ALERTS_CHANNEL and "Ops notice" in post.params["text"]
    blocks_text = json.dumps(post.params["blocks"])
    assert message[:20].replace('"', "") in blocks_text.replace('\\"', "")
    assert "<!channel>" not in blocks_text  # user text cannot ping the channel
    assert all(len(b["text"]["text"]) <= 3000 for b in post.params["blocks"])


@pytest.mark.parametrize("message", ["[1, 2]", '"text"', "42", "not json"])
def test_a_non_object_message_on_the_tickets_topic_is_skipped_not_crashed(notifier, slack, message):
    from bot.logic.notify import parse_or_skip

    outcome = parse_or_skip(Notification("m-1", TICKETS_TOPIC, message), notifier)

    assert outcome.kind == "skipped" and slack.calls == []


def test_handler_posts_glue_failure_and_unknown_alert_to_the_alerts_outbox(table, tmp_path, monkeypatch):
    from bot.handlers import notifier as lambda_module
    from contract import clients

    outbox = tmp_path / "outbox.jsonl"
    for key, value in {
        names.ENV_TABLE_NAME: "tickets",
        names.ENV_SLACK_OUTBOX: str(outbox),
        names.ENV_ALARMS_TOPIC_ARN: ALARMS_TOPIC,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(names.ENV_SLACK_BOT_TOKEN, raising=False)
    clients.clear_cache()
    lambda_module.notifier.cache_clear()
    unknown = sns_event("free text", topic=ALARMS_TOPIC)
    unknown["Records"][0]["Sns"]["Subject"] = "Heads up"

    result = lambda_module.handler(sns_event(glue_event("FAILED", "e-1"), topic=ALARMS_TOPIC), Ctx())
    lambda_module.handler(unknown, Ctx())
    lambda_module.notifier.cache_clear()

    assert result["outcomes"] == [{"kind": "glue", "key": f"GLUE#{GLUE_JOB}", "posted": True}]
    glue, alert = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert glue["channel"] == alert["channel"] == "tms-alerts"
    assert GLUE_JOB in glue["text"] and "Heads up" in alert["text"] and "free text" in json.dumps(alert)


def test_unverified_mail_is_posted_marked_escaped_and_pings_the_tickets_owner(notifier, table, slack):
    from contract.models import MailEventKind, TicketMailMessage, TicketStatus

    # Given a posted ticket an agent owns
    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))
    table.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET assignee = :a",
        ExpressionAttributeValues={":a": {"S": "U0OWNER"}},
    )
    msg = TicketMailMessage(
        kind=MailEventKind.UNVERIFIED_MAIL,
        ticket_id=TID,
        status=TicketStatus.TRIAGED,
        at=datetime(2025, 1, 2, tzinfo=UTC),
        address="ada@example.com",
        text="<!channel> pay to IBAN XX00",
        flag="sender not authenticated: DMARC FAIL",
    )

    # When unverified mail about it arrives
    notifier.handle(Notification("m-2", TICKETS_TOPIC, msg.model_dump_json()))

    # Then it is posted in the thread, marked unverified, the text escaped, the owner mentioned
    _, post = slack.calls_to("chat.postMessage")
    body = json.dumps(post.params["blocks"])
    assert "Unverified" in post.params["text"] and "Status unchanged: TRIAGED" in post.params["text"]
    assert "<@U0OWNER>" in body and "&lt;!channel&gt;" in body and "<!channel>" not in body
    assert "DMARC FAIL" in body


def test_a_mail_event_in_the_thread_is_recorded_on_the_ticket_with_its_root_post(notifier, table, slack):
    from contract.models import MailEventKind, TicketMailMessage, TicketStatus

    # Given a posted ticket
    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))
    msg = TicketMailMessage(
        kind=MailEventKind.CUSTOMER_REPLIED,
        ticket_id=TID,
        status=TicketStatus.CUSTOMER_REPLIED,
        at=datetime(2025, 1, 2, tzinfo=UTC),
        address="ada@example.com",
        text="Still broken, Ada",
    )

    # When the customer's answer is posted in its thread (and SNS delivers it twice)
    notifier.handle(Notification("m-2", TICKETS_TOPIC, msg.model_dump_json()))
    notifier.handle(Notification("m-2", TICKETS_TOPIC, msg.model_dump_json()))

    # Then the item records both messages tms posted for it (what erasure redacts), the root unchanged
    _root, reply = slack.calls_to("chat.postMessage")
    item = DynamoTicketStore("tickets", table).get(TID) or {}
    assert reply.params["thread_ts"] == item["slack_ts"]
    replies = {p for p in item[names.SLACK_POSTS_ATTR] if p != f"{TICKET_CHANNEL} {item['slack_ts']}"}
    assert len(item[names.SLACK_POSTS_ATTR]) == 2 and len(replies) == 1
    (recorded,) = replies
    assert recorded.startswith(f"{TICKET_CHANNEL} ") and recorded.split(" ")[1] != item["slack_ts"]


def test_a_report_that_merged_incidents_notes_it_in_both_threads_once_and_rerenders_the_merged_root(
    notifier, slack, table
):
    from contract.models import IncidentRef

    # Given two posted incident roots: TID's (older) and another one's, whose incident is merged into TID's
    merged_root, report = "TKT-20250102-BCDEFGHJKM", "TKT-20250102-CDEFGHJKMN"
    for t in (merged_root, report):
        table.put_item(TableName="tickets", Item={"ticket_id": {"S": t}, "status": {"S": "TRIAGED"}})
    notifier.handle(Notification("m-1", TICKETS_TOPIC, triaged()))
    other = TicketTriagedMessage(source=Source.SLACK, record=record(ticket_id=merged_root), slack=SLACK)
    notifier.handle(Notification("m-2", TICKETS_TOPIC, other.model_dump_json()))
    roots = {p.params.get("text", ""): p for p in slack.calls_to("chat.postMessage")}
    assert len(roots) == 2
    store = DynamoTicketStore("tickets", table)
    root_ts, merged_ts = (store.get(TID) or {})["slack_ts"], (store.get(merged_root) or {})["slack_ts"]
    table.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": merged_root}},
        UpdateExpression="SET subject = :s",
        ExpressionAttributeValues={":s": {"S": "Login <broken> & *down*"}},
    )

    # When the report whose link merged them is posted
    incident = IncidentRef(
        incident_id="INC-20250102-ABCDEFGHJK",
        root_ticket_id=TID,
        position=5,
        count=5,
        priority="HIGH",
        report_line="5th report: Ada Lovelace, Analytical Engines: Production is down",
        merged_from=(merged_root,),
    )
    message = TicketTriagedMessage(
        source=Source.SLACK, record=record(ticket_id=report), slack=SLACK, incident=incident
    ).model_dump_json()
    notifier.handle(Notification("m-3", TICKETS_TOPIC, message))
    notifier.handle(Notification("m-3", TICKETS_TOPIC, message))  # SNS delivers it twice

    # Then the report is in the older root's thread, the merged thread says where it went, the older
    # thread names what joined it (escaped), each once, and the merged root's post is re-rendered
    later = slack.calls_to("chat.postMessage")[2:]
    assert [p.params["thread_ts"] for p in later] == [root_ts, merged_ts, root_ts]
    assert "Merged into incident `INC-20250102-ABCDEFGHJK`" in later[1].params["text"]
    assert merged_root in later[2].params["text"] and "&lt;broken&gt; &amp;" in later[2].params["text"]
    assert merged_ts in [u.params["ts"] for u in slack.calls_to("chat.update")]
