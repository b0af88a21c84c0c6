"""The SLA timers against moto: schedules created and deleted through the Scheduler API, and every alert
claimed by a conditional write so each warning and breach happens once per ticket and timer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from contract.models import Priority, SlaAlertMessage, SlaFire
from pipeline.adapters.sla import DynamoSlaStore, SchedulerTimers, SnsAlertPublisher
from pipeline.domain.sla import SlaPolicy, SlaService, record_first_response, sla_fields

GROUP = "tms-sla"
TABLE = "tms-tickets"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:tms-sla-timer"
ROLE = "arn:aws:iam::123456789012:role/tms-scheduler"
DLQ = "arn:aws:sqs:us-east-1:123456789012:tms-sla-dlq"
TID = "TKT-20261123-0123456789"
SUBMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Published:
    def __init__(self) -> None:
        self.messages: list[SlaAlertMessage] = []

    def publish(self, message: SlaAlertMessage) -> None:
        self.messages.append(message)


@pytest.fixture
def aws(offline_aws: None) -> dict[str, Any]:
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    scheduler.create_schedule_group(Name=GROUP)
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"scheduler": scheduler, "ddb": ddb}


def _timers(aws: dict[str, Any]) -> SchedulerTimers:
    return SchedulerTimers(
        group=GROUP, target_arn=TARGET, role_arn=ROLE, dlq_arn=DLQ, scheduler=aws["scheduler"]
    )


def _service(aws: dict[str, Any], published: Published) -> SlaService:
    return SlaService(
        policy=SlaPolicy.from_env({}),
        store=DynamoSlaStore(TABLE, aws["ddb"]),
        timers=_timers(aws),
        publisher=published,
    )


def _triaged(aws: dict[str, Any], priority: Priority = Priority.HIGH) -> Any:
    arm = SlaPolicy.from_env({}).arm(TID, SUBMITTED, priority)
    item = {
        "ticket_id": {"S": TID},
        "status": {"S": "TRIAGED"},
        "priority": {"S": priority.value},
        "subject": {"S": "Production is down"},
        "submitted_at": {"S": "2026-11-23T10:00:00.000Z"},
        **{k: {"S": v} for k, v in sla_fields(arm).items()},
    }
    aws["ddb"].put_item(TableName=TABLE, Item=item)
    return arm


def _names(aws: dict[str, Any]) -> list[str]:
    return sorted(s["Name"] for s in aws["scheduler"].list_schedules(GroupName=GROUP)["Schedules"])


def test_arming_creates_one_time_schedules_that_delete_themselves_with_a_dlq_and_retries(aws):
    arm = _triaged(aws)
    _service(aws, Published()).arm(arm)

    assert _names(aws) == [f"{TID}-breach", f"{TID}-warn"]
    s = aws["scheduler"].get_schedule(Name=f"{TID}-breach", GroupName=GROUP)
    assert s["ScheduleExpression"] == "at(2026-11-23T11:00:00)"
    assert s["ActionAfterCompletion"] == "DELETE" and s["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert s["Target"]["Arn"] == TARGET and s["Target"]["RoleArn"] == ROLE
    assert s["Target"]["DeadLetterConfig"] == {"Arn": DLQ}
    assert s["Target"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    fire = SlaFire.model_validate_json(s["Target"]["Input"])
    assert (fire.ticket_id, fire.timer, fire.due_at) == (TID, "breach", arm.sla_due_at)
    warn = aws["scheduler"].get_schedule(Name=f"{TID}-warn", GroupName=GROUP)
    assert warn["ScheduleExpression"] == "at(2026-11-23T10:48:00)"


def test_arming_twice_keeps_one_schedule_per_timer(aws):
    arm = _triaged(aws)
    service = _service(aws, Published())
    service.arm(arm)
    service.arm(arm)  # the workflow's task retried
    assert _names(aws) == [f"{TID}-breach", f"{TID}-warn"]


def test_a_first_response_is_recorded_once_and_deletes_both_schedules(aws):
    arm = _triaged(aws)
    store = DynamoSlaStore(TABLE, aws["ddb"])
    _service(aws, Published()).arm(arm)
    first = SUBMITTED + timedelta(minutes=5)

    record_first_response(store, _timers(aws), TID, first, "U0LEAD")
    again = record_first_response(store, _timers(aws), TID, first + timedelta(minutes=9), "U0OTHER")

    assert _names(aws) == []
    assert again is not None
    assert (again["first_response_at"], again["first_response_by"]) == ("2026-11-23T10:05:00.000Z", "U0LEAD")


@pytest.mark.parametrize("timer", ["warn", "breach"])
def test_a_timer_alerts_once_however_often_it_is_delivered(aws, timer):
    arm = _triaged(aws)
    published = Published()
    service = _service(aws, published)
    fire = SlaFire(ticket_id=TID, timer=timer, due_at=arm.sla_due_at, fire_at=arm.sla_due_at)

    now = arm.sla_due_at + timedelta(seconds=1)
    assert service.fire(fire, now) is not None
    assert service.fire(fire, now) is None
    assert service.fire(fire, now + timedelta(minutes=1)) is None

    assert [m.event_type for m in published.messages] == ["SlaWarning" if timer == "warn" else "SlaBreached"]
    item = DynamoSlaStore(TABLE, aws["ddb"]).get(TID) or {}
    assert item.get("sla_breached") is (True if timer == "breach" else None)


def test_a_timer_that_fires_after_the_first_response_does_nothing(aws):
    arm = _triaged(aws)
    published = Published()
    service = _service(aws, published)
    service.record_first_response(TID, SUBMITTED + timedelta(minutes=1), "U0LEAD")

    for timer in ("warn", "breach"):
        fire = SlaFire(ticket_id=TID, timer=timer, due_at=arm.sla_due_at, fire_at=arm.sla_due_at)  # type: ignore[arg-type]
        assert service.fire(fire, arm.sla_due_at) is None
    assert published.messages == []
    assert "sla_breached" not in (DynamoSlaStore(TABLE, aws["ddb"]).get(TID) or {})


def test_a_publish_that_fails_is_retried_and_then_alerts_once(aws):
    arm = _triaged(aws)

    class Flaky(Published):
        calls = 0

        def publish(self, message: SlaAlertMessage) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("SNS is down")
            super().publish(message)

    published = Flaky()
    service = _service(aws, published)
    fire = SlaFire(ticket_id=TID, timer="breach", due_at=arm.sla_due_at, fire_at=arm.sla_due_at)
    with pytest.raises(RuntimeError):
        service.fire(fire, arm.sla_due_at)
    assert service.fire(fire, arm.sla_due_at) is not None  # Lambda's retry: the alert was not marked sent
    assert service.fire(fire, arm.sla_due_at) is None
    assert len(published.messages) == 1


def test_a_priority_change_rearms_and_the_old_timers_no_longer_count(aws):
    old = _triaged(aws, Priority.NORMAL)
    published = Published()
    service = _service(aws, published)
    service.arm(old)

    new = service.reprioritise(TID, Priority.HIGH)

    assert new is not None and new.sla_due_at == SUBMITTED + timedelta(hours=1)
    s = aws["scheduler"].get_schedule(Name=f"{TID}-breach", GroupName=GROUP)
    assert s["ScheduleExpression"] == "at(2026-11-23T11:00:00)"
    stale = SlaFire(ticket_id=TID, timer="breach", due_at=old.sla_due_at, fire_at=old.sla_due_at)
    assert service.fire(stale, old.sla_due_at) is None
    current = SlaFire(ticket_id=TID, timer="breach", due_at=new.sla_due_at, fire_at=new.sla_due_at)
    assert service.fire(current, new.sla_due_at) is not None


def test_an_answered_ticket_is_not_rearmed(aws):
    _triaged(aws, Priority.NORMAL)
    service = _service(aws, Published())
    service.record_first_response(TID, SUBMITTED, "U0LEAD")
    assert service.reprioritise(TID, Priority.HIGH) is None
    assert _names(aws) == []


def test_a_breach_is_emailed_on_the_escalation_topic_with_its_priority(aws):
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    tickets = sns.create_topic(Name="tms-tickets")["TopicArn"]
    escalations = sns.create_topic(Name="tms-escalations")["TopicArn"]
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=escalations, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps({"priority": ["HIGH"]})
    )
    publisher = SnsAlertPublisher(topic_arn=tickets, escalation_topic_arn=escalations, sns=sns)
    base = {"ticket_id": TID, "due_at": SUBMITTED, "fired_at": SUBMITTED, "subject": "Down"}
    publisher.publish(SlaAlertMessage(event_type="SlaBreached", priority=Priority.HIGH, **base))
    publisher.publish(SlaAlertMessage(event_type="SlaBreached", priority=Priority.NORMAL, **base))
    publisher.publish(SlaAlertMessage(event_type="SlaWarning", priority=Priority.HIGH, **base))

    (msg,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(msg["Body"])
    assert TID in body["Message"] and "breached" in body["Message"]
