"""SLA adapters: EventBridge Scheduler one-time schedules as timers, the tickets table's SLA attributes
(conditional writes), and SNS for warnings and escalations.

The same calls run against AWS and the local endpoint (moto stores the schedules; the local runtime fires
them, local/scheduler.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract import names
from contract.errors import TimerError
from contract.models import AwaitCustomer, SlaAlertMessage, SlaFirstResponse, SlaTimerKind, format_utc
from pipeline.adapters.aws import client, from_item
from pipeline.domain.sla import at_expression
from pipeline.observability import logger

# AWS retries a failed target invocation with backoff for up to this long, then sends it to the DLQ.
TARGET_MAX_RETRIES = 10
TARGET_MAX_EVENT_AGE_S = 3600
_CONDITION_FAILED = "ConditionalCheckFailedException"


class SchedulerTimers:
    """One-time `at()` schedules in one group, each deleted by the service after it ran."""

    def __init__(
        self, *, group: str, target_arn: str, role_arn: str, dlq_arn: str = "", scheduler: Any = None
    ):
        self._group = group
        self._target = {
            "Arn": target_arn,
            "RoleArn": role_arn,
            "RetryPolicy": {
                "MaximumRetryAttempts": TARGET_MAX_RETRIES,
                "MaximumEventAgeInSeconds": TARGET_MAX_EVENT_AGE_S,
            },
            **({"DeadLetterConfig": {"Arn": dlq_arn}} if dlq_arn else {}),
        }
        self._scheduler = scheduler or client("scheduler")

    def _params(self, name: str, at: datetime, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": at_expression(at),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {**self._target, "Input": json.dumps(payload)},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
        }

    def arm(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        """Create the schedule; if it exists (a retried arm, a re-arm) move it instead."""
        params = self._params(name, at, payload)
        try:
            self._scheduler.create_schedule(**params)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConflictException":
                raise TimerError(f"could not arm {name}: {e.response['Error']['Code']}") from e
            try:
                # UpdateSchedule replaces every field; ActionAfterCompletion included.
                self._scheduler.update_schedule(**params)
            except ClientError as e2:
                raise TimerError(f"could not move {name}: {e2.response['Error']['Code']}") from e2

    def cancel(self, name: str) -> None:
        """Delete the schedule; one that already ran (and deleted itself) or never existed is fine."""
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise TimerError(f"could not cancel {name}: {e.response['Error']['Code']}") from e


_ALERT_ATTRS = {
    "warn": ("sla_warned_at", "sla_warning_sent"),
    "breach": ("sla_breached_at", "sla_breach_sent"),
}


class DynamoSlaStore:
    """The SLA attributes of ticket items. Every change is one conditional UpdateItem."""

    def __init__(self, table_name: str, dynamodb: Any = None):
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    def _update(self, ticket_id: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            resp = self._ddb.update_item(
                TableName=self._table, Key={"ticket_id": {"S": ticket_id}}, ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == _CONDITION_FAILED:
                return None
            raise
        return from_item(resp["Attributes"])

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The item as plain values."""
        raw = self._ddb.get_item(
            TableName=self._table, Key={"ticket_id": {"S": ticket_id}}, ConsistentRead=True
        ).get("Item")
        return None if raw is None else from_item(raw)

    def claim_alert(
        self, ticket_id: str, timer: SlaTimerKind, due_at: datetime, now: datetime
    ) -> dict[str, Any] | None:
        """Stamp the firing on an unanswered ticket still due at `due_at` whose alert was not sent yet."""
        fired_attr, sent_attr = _ALERT_ATTRS[timer]
        sets = ["#fired = if_not_exists(#fired, :now)"]
        values: dict[str, Any] = {
            ":now": {"S": format_utc(now)},
            ":due": {"S": format_utc(due_at)},
            ":resolved": {"S": "RESOLVED"},
        }
        if timer == "breach":
            sets.append("sla_breached = :true")
            values[":true"] = {"BOOL": True}
        return self._update(
            ticket_id,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=(
                "attribute_exists(ticket_id) AND attribute_not_exists(first_response_at) "
                "AND sla_due_at = :due AND attribute_not_exists(#sent) AND #status <> :resolved"
            ),
            ExpressionAttributeNames={"#fired": fired_attr, "#sent": sent_attr, "#status": "status"},
            ExpressionAttributeValues=values,
        )

    def mark_alert_sent(self, ticket_id: str, timer: SlaTimerKind) -> None:
        """The alert was published: a redelivered timer finds this and does nothing."""
        _fired, sent_attr = _ALERT_ATTRS[timer]
        self._update(
            ticket_id,
            UpdateExpression="SET #sent = :true",
            ExpressionAttributeNames={"#sent": sent_attr},
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def record_first_response(self, ticket_id: str, at: datetime, by: str) -> dict[str, Any] | None:
        """first_response_at (and by whom) unless already recorded; None when there is no such ticket."""
        return self._update(
            ticket_id,
            UpdateExpression=(
                "SET first_response_at = if_not_exists(first_response_at, :at), "
                "first_response_by = if_not_exists(first_response_by, :by)"
            ),
            ConditionExpression="attribute_exists(ticket_id)",
            ExpressionAttributeValues={":at": {"S": format_utc(at)}, ":by": {"S": by or "-"}},
        )

    def rearm(self, ticket_id: str, due_at: datetime, warn_at: datetime) -> dict[str, Any] | None:
        """New due times for an unanswered ticket that has not breached; the warning may fire again."""
        return self._update(
            ticket_id,
            UpdateExpression="SET sla_due_at = :due, sla_warn_at = :warn REMOVE sla_warned_at, sla_warning_sent",
            ConditionExpression=(
                "attribute_exists(ticket_id) AND attribute_not_exists(first_response_at) "
                "AND attribute_not_exists(sla_breached)"
            ),
            ExpressionAttributeValues={
                ":due": {"S": format_utc(due_at)},
                ":warn": {"S": format_utc(warn_at)},
            },
        )


class SnsAlertPublisher:
    """Warnings and breaches on the tickets topic (the Slack notifier posts them); breaches also on the
    escalation topic, whose email subscriptions filter on the `priority` attribute."""

    def __init__(self, *, topic_arn: str, escalation_topic_arn: str = "", sns: Any = None):
        self._topic = topic_arn
        self._escalation = escalation_topic_arn
        self._sns = sns or client("sns")

    def publish(self, message: SlaAlertMessage) -> None:
        """Publish; SNS errors propagate (the timer's invocation is retried, the alert is not yet marked sent)."""
        attrs = {
            names.ATTR_EVENT_TYPE: {"DataType": "String", "StringValue": message.event_type},
            names.ATTR_TICKET_ID: {"DataType": "String", "StringValue": message.ticket_id},
            names.ATTR_PRIORITY: {"DataType": "String", "StringValue": message.priority.value},
        }
        body = message.model_dump_json()
        self._sns.publish(TopicArn=self._topic, Message=body, MessageAttributes=attrs)
        if message.event_type == names.EVENT_SLA_BREACHED and self._escalation:
            self._sns.publish(
                TopicArn=self._escalation,
                Subject=f"SLA breached: {message.ticket_id} ({message.priority.value})"[:100],
                Message=_email_text(message),
                MessageAttributes=attrs,
            )


def _email_text(message: SlaAlertMessage) -> str:
    who = f"owned by Slack user {message.assignee}" if message.assignee else "nobody has taken it"
    return (
        f"Ticket {message.ticket_id} ({message.priority.value}) breached its first-response target.\n"
        f"Subject: {message.subject}\nDue: {format_utc(message.due_at)}\nBreached: {format_utc(message.fired_at)}\n"
        f"It is {who}. Look it up in Slack with /ticket status {message.ticket_id}.\n"
    )


class LambdaFirstResponses:
    """Tells the sla-timer function that a ticket got its first response: an asynchronous invoke, so the
    mailer never waits for the scheduler. A failure is logged: the SENT write already recorded the response,
    so a timer that still fires finds it and does nothing."""

    def __init__(self, function_name: str, lambda_client: Any = None):
        self._function = function_name
        self._lambda = lambda_client or client("lambda")

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        """The timers can go."""
        self._send(ticket_id, SlaFirstResponse(ticket_id=ticket_id, at=at, by=by).model_dump_json())

    def await_customer(self, ticket_id: str, since: datetime) -> None:
        """Issue 32: the reply is out; arm the nudge and the auto-close. A failure leaves the ticket open
        (as before auto-close existed), logged."""
        self._send(ticket_id, AwaitCustomer(ticket_id=ticket_id, since=since).model_dump_json())

    def _send(self, ticket_id: str, body: str) -> None:
        try:
            self._lambda.invoke(FunctionName=self._function, InvocationType="Event", Payload=body.encode())
        except (ClientError, BotoCoreError):
            logger.exception("could not notify the SLA timers", extra={"ticket_id": ticket_id})
