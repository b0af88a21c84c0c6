"""The local alarm evaluator: the stack's alarms as data, state changes published once, CloudWatch's JSON."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contract import names
from local.alarms import (
    AlarmDef,
    AlarmEvaluator,
    AlarmState,
    CounterWindow,
    MetricKind,
    MetricSpec,
    stack_alarms,
)
from tests.conftest import expected_alarm_names

DLQ = AlarmDef(
    "tms-DlqNotEmpty",
    "Records were dead-lettered",
    MetricSpec(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        MetricKind.QUEUE_VISIBLE,
        dimension=("QueueName", "tms-tickets-dlq"),
    ),
    1,
)


class FakeMetrics:
    """Metric values set by the test."""

    def __init__(self) -> None:
        self.values: dict[str, float | None] = {}

    def value(self, metric: MetricSpec, period_s: float, now: float) -> float | None:
        return self.values.get(metric.metric_name)


def _evaluator(
    alarms: list[AlarmDef] | None = None,
) -> tuple[AlarmEvaluator, FakeMetrics, list[dict[str, Any]]]:
    metrics = FakeMetrics()
    published: list[dict[str, Any]] = []
    ev = AlarmEvaluator(
        alarms or [DLQ],
        metrics,
        lambda _alarm, message: published.append(message),
        topic_arn="arn:aws:sns:us-east-1:123456789012:tms-alarms",
        clock=lambda: 100.0,
        wall_clock=lambda: datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )
    return ev, metrics, published


def test_local_alarms_are_the_stacks_alarms() -> None:
    alarm_names = {a.name.removeprefix(f"{names.PROJECT}-") for a in stack_alarms()}
    expected = expected_alarm_names()
    assert alarm_names == expected


def test_breaching_metric_publishes_alarm_once_then_ok_once() -> None:
    ev, metrics, published = _evaluator()
    metrics.values["ApproximateNumberOfMessagesVisible"] = 3
    assert [(t.old, t.new) for t in ev.evaluate()] == [(AlarmState.OK, AlarmState.ALARM)]
    assert ev.evaluate() == []  # still breaching: no new notification
    metrics.values["ApproximateNumberOfMessagesVisible"] = 0
    assert [(t.old, t.new) for t in ev.evaluate()] == [(AlarmState.ALARM, AlarmState.OK)]
    assert [m["NewStateValue"] for m in published] == ["ALARM", "OK"]
    assert ev.fired() == ["tms-DlqNotEmpty"] and ev.in_alarm() == []


def test_quiet_stack_publishes_nothing_and_missing_data_is_not_breaching() -> None:
    ev, metrics, published = _evaluator()
    metrics.values["ApproximateNumberOfMessagesVisible"] = None
    ev.evaluate()
    metrics.values["ApproximateNumberOfMessagesVisible"] = 0
    ev.evaluate()
    assert published == [] and ev.fired() == []


def test_notification_has_cloudwatchs_alarm_json_fields() -> None:
    ev, metrics, published = _evaluator()
    metrics.values["ApproximateNumberOfMessagesVisible"] = 2
    ev.evaluate()
    msg = published[0]
    assert msg["AlarmName"] == "tms-DlqNotEmpty"
    assert (msg["OldStateValue"], msg["NewStateValue"]) == ("OK", "ALARM")
    assert msg["StateChangeTime"] == "2026-01-02T03:04:05.678+0000"
    assert msg["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [2]")
    assert msg["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:tms-DlqNotEmpty"
    assert msg["AlarmActions"] == msg["OKActions"] == ["arn:aws:sns:us-east-1:123456789012:tms-alarms"]
    trigger = msg["Trigger"]
    assert trigger["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert trigger["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert trigger["Threshold"] == 1.0
    assert trigger["Dimensions"] == [{"value": "tms-tickets-dlq", "name": "QueueName"}]


def test_notification_is_what_the_slack_notifier_reads() -> None:
    from bot.logic.notify import AlarmNotification

    ev, metrics, published = _evaluator()
    metrics.values["ApproximateNumberOfMessagesVisible"] = 1
    ev.evaluate()
    parsed = AlarmNotification.model_validate(published[0])
    assert (parsed.AlarmName, parsed.NewStateValue, parsed.OldStateValue) == (
        "tms-DlqNotEmpty",
        "ALARM",
        "OK",
    )


def test_threshold_is_greater_than_or_equal() -> None:
    assert DLQ.breaching(1) and not DLQ.breaching(0.99) and not DLQ.breaching(None)


def test_counter_window_sums_only_the_trailing_period() -> None:
    window = CounterWindow()
    for t, total in ((0.0, 0), (10.0, 2), (20.0, 5), (40.0, 5)):
        window.record("draft-reply", t, total)
    assert window.sum("draft-reply", period_s=15, now=25.0) == 3  # 5 now, 2 fifteen seconds ago
    assert window.sum("draft-reply", period_s=15, now=40.0) == 0  # nothing new in the last 15 s
    assert window.sum("archive", period_s=15, now=40.0) == 0


def test_lambda_errors_alarm_goes_back_to_ok_once_the_period_has_no_errors() -> None:
    from local.alarms import LocalMetrics

    errors = {"tms-draft-reply": 0}
    now = [0.0]
    metrics = LocalMetrics(sfn=None, sqs=None, state_machine_arn="", dlq_url="", lambda_errors=lambda: errors)
    alarm = next(a for a in stack_alarms() if a.name == "tms-DraftReplyErrors")
    published: list[dict[str, Any]] = []
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    ev = AlarmEvaluator([alarm], metrics, lambda _a, m: published.append(m), period_s=10, clock=clock)
    ev.evaluate()
    now[0], errors["tms-draft-reply"] = 1.0, 4
    ev.evaluate()
    now[0] = 20.0
    ev.evaluate()
    assert [m["NewStateValue"] for m in published] == ["ALARM", "OK"]
