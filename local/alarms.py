"""A local CloudWatch alarm evaluator (moto stores alarms but never evaluates them, FACTS.md).

The alarms are the CDK stack's (infra/components/monitoring.py), written here as data and contract-tested
against the synthesized template. Their metrics are computed from the local stack (execution statuses,
DLQ depth, the in-process Lambda error counters); on every state change the evaluator publishes the
standard CloudWatch alarm notification JSON to the alarms topic, as an alarm's SNS action does on AWS,
so the Slack notifier threads ALARM -> OK exactly as it would there.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from contract import names

PERIOD_S = 300  # the stack's alarm period (5 minutes)
COMPARISON = "GreaterThanOrEqualToThreshold"
ITERATOR_AGE_THRESHOLD_MS = 5 * 60 * 1000
BOUNCE_RATE_THRESHOLD = 0.05  # SES reviews accounts above 5 %, and may pause sending at 10 %
REPLIES_NOT_SENT_METRIC = "RepliesNotSent"  # emitted by the mailer (Powertools metrics, service=mailer)


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class MetricKind(StrEnum):
    """What a local metric is computed from."""

    EXECUTIONS = "executions"  # Step Functions executions that ended in a status, within the period (Sum)
    LAMBDA_ERRORS = "lambda_errors"  # function errors within the period (Sum)
    LAMBDA_THROTTLES = "lambda_throttles"  # in-process Lambdas are never throttled: always 0
    QUEUE_VISIBLE = "queue_visible"  # ApproximateNumberOfMessagesVisible now (Maximum)
    ITERATOR_AGE = "iterator_age"  # Kinesis GetRecords iterator age now (Maximum)
    REPLIES_NOT_SENT = "replies_not_sent"  # sends SES refused within the period (Sum)
    BOUNCE_RATE = "bounce_rate"  # bounces / sends since the stack started (SES's reputation metric)


@dataclass(frozen=True)
class MetricSpec:
    """The metric an alarm watches, as CloudWatch names it, and how the local stack measures it."""

    namespace: str
    metric_name: str
    statistic: str
    kind: MetricKind
    subject: str = ""  # execution status, function key, or "" for the DLQ / the stream
    dimension: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class AlarmDef:
    """One alarm: name, metric, threshold (>=), and what it is for."""

    name: str
    description: str
    metric: MetricSpec
    threshold: float
    period_s: int = PERIOD_S

    def breaching(self, value: float | None) -> bool:
        """GreaterThanOrEqualToThreshold; missing data is not breaching (TreatMissingData NOT_BREACHING)."""
        return value is not None and value >= self.threshold


def _title(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("_", "-").split("-"))


def stack_alarms(
    project: str = names.PROJECT, functions: Iterable[str] = tuple(names.HANDLERS)
) -> list[AlarmDef]:
    """The alarms the CDK stack defines, by the same names, metrics and thresholds."""
    sfn_dim = ("StateMachineArn", f"{project}-ticket-pipeline")
    alarms = [
        AlarmDef(
            f"{project}-{key}",
            f"Ticket pipeline: {key} in 5 minutes",
            MetricSpec("AWS/States", key, "Sum", MetricKind.EXECUTIONS, status, sfn_dim),
            1,
        )
        for key, status in (
            ("ExecutionsFailed", "FAILED"),
            ("ExecutionsTimedOut", "TIMED_OUT"),
            ("ExecutionsAborted", "ABORTED"),
        )
    ]
    for fn in functions:
        dim = ("FunctionName", f"{project}-{fn}")
        alarms.append(
            AlarmDef(
                f"{project}-{_title(fn)}Errors",
                f"Lambda {fn}: invocation errors",
                MetricSpec("AWS/Lambda", "Errors", "Sum", MetricKind.LAMBDA_ERRORS, fn, dim),
                1,
            )
        )
        alarms.append(
            AlarmDef(
                f"{project}-{_title(fn)}Throttles",
                f"Lambda {fn}: throttled invocations",
                MetricSpec("AWS/Lambda", "Throttles", "Sum", MetricKind.LAMBDA_THROTTLES, fn, dim),
                1,
            )
        )
    alarms.append(
        AlarmDef(
            f"{project}-StreamIteratorAge",
            "Kinesis: records wait more than 5 minutes to be read",
            MetricSpec(
                "AWS/Kinesis",
                "GetRecords.IteratorAgeMilliseconds",
                "Maximum",
                MetricKind.ITERATOR_AGE,
                dimension=("StreamName", names.STREAM_NAME),
            ),
            ITERATOR_AGE_THRESHOLD_MS,
        )
    )
    alarms.append(
        AlarmDef(
            f"{project}-RepliesNotSent",
            "Customer replies SES refused to send (the tickets show SEND_FAILED with Retry send)",
            MetricSpec(
                project,
                REPLIES_NOT_SENT_METRIC,
                "Sum",
                MetricKind.REPLIES_NOT_SENT,
                dimension=("service", names.FN_MAILER),
            ),
            1,
        )
    )
    alarms.append(
        AlarmDef(
            f"{project}-BounceRate",
            "SES bounce rate of customer replies is at or above 5 %",
            MetricSpec("AWS/SES", "Reputation.BounceRate", "Maximum", MetricKind.BOUNCE_RATE),
            BOUNCE_RATE_THRESHOLD,
        )
    )
    alarms.append(
        AlarmDef(
            f"{project}-DlqNotEmpty",
            "Records were dead-lettered at intake (trigger, intake audit or the mappings)",
            MetricSpec(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                MetricKind.QUEUE_VISIBLE,
                dimension=("QueueName", names.DLQ_NAME),
            ),
            1,
        )
    )
    alarms.append(
        AlarmDef(
            f"{project}-SlaDlqNotEmpty",
            "SLA timers the scheduler could not deliver to the timer function (warnings or breaches missed)",
            MetricSpec(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                MetricKind.QUEUE_VISIBLE,
                dimension=("QueueName", names.SLA_DLQ_NAME),
            ),
            1,
        )
    )
    alarms.append(
        AlarmDef(
            f"{project}-LifecycleDlqNotEmpty",
            "Ticket changes the lifecycle feed could not write under lifecycle/ (the warehouse misses them)",
            MetricSpec(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                MetricKind.QUEUE_VISIBLE,
                dimension=("QueueName", names.LIFECYCLE_DLQ_NAME),
            ),
            1,
        )
    )
    alarms.append(
        AlarmDef(
            f"{project}-KbSyncDlqNotEmpty",
            "kb-sync runs that failed or were never delivered: kb/docs/ changes are not in the knowledge base "
            "(the function's logs name the error)",
            MetricSpec(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                MetricKind.QUEUE_VISIBLE,
                dimension=("QueueName", names.KB_SYNC_DLQ_NAME),
            ),
            1,
        )
    )
    return alarms


class MetricSource(Protocol):
    """Port: the current value of an alarm's metric over its period (None: no data)."""

    def value(self, metric: MetricSpec, period_s: float, now: float) -> float | None:
        """The statistic of `metric` over the `period_s` seconds ending at `now` (monotonic seconds)."""
        ...


@dataclass(frozen=True)
class Transition:
    """An alarm state change, as published."""

    alarm: str
    old: AlarmState
    new: AlarmState
    value: float | None
    message: dict[str, Any]


def notification(
    alarm: AlarmDef,
    old: AlarmState,
    new: AlarmState,
    value: float | None,
    *,
    region: str,
    account: str,
    topic_arn: str,
    at: datetime,
) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an alarm's SNS actions on a state change."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    shown = "no datapoints" if value is None else f"[{value:g}]"
    verb = "greater than or equal to" if new == AlarmState.ALARM else "not greater than or equal to"
    m = alarm.metric
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": stamp,
        "NewStateValue": new.value,
        "NewStateReason": (
            f"Threshold Crossed: 1 out of the last 1 datapoints {shown} was {verb} "
            f"the threshold ({alarm.threshold:g}) (minimum 1 datapoint for {old.value} -> {new.value} transition)."
        ),
        "StateChangeTime": stamp,
        "Region": region,
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm.name}",
        "OldStateValue": old.value,
        "OKActions": [topic_arn],
        "AlarmActions": [topic_arn],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": m.metric_name,
            "Namespace": m.namespace,
            "StatisticType": "Statistic",
            "Statistic": m.statistic.upper(),
            "Unit": None,
            "Dimensions": [{"value": m.dimension[1], "name": m.dimension[0]}] if m.dimension[0] else [],
            "Period": alarm.period_s,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": COMPARISON,
            "Threshold": float(alarm.threshold),
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


Publish = Callable[[AlarmDef, dict[str, Any]], None]


@dataclass
class AlarmEvaluator:
    """Evaluates every alarm against a metric source and publishes each state change.

    Alarms start OK (a quiet stack), so only real changes reach Slack; a transition is published once.
    """

    alarms: list[AlarmDef]
    source: MetricSource
    publish: Publish
    region: str = "us-east-1"
    account: str = "123456789012"
    topic_arn: str = ""
    period_s: float | None = None  # overrides every alarm's period (a short local run)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    states: dict[str, AlarmState] = field(default_factory=dict)
    history: list[Transition] = field(default_factory=list)
    errors: int = 0

    def __post_init__(self) -> None:
        for alarm in self.alarms:
            self.states.setdefault(alarm.name, AlarmState.OK)

    def evaluate(self) -> list[Transition]:
        """One evaluation of every alarm; returns (and publishes) the transitions."""
        now = self.clock()
        changes = []
        for alarm in self.alarms:
            period = self.period_s or alarm.period_s
            value = self.source.value(alarm.metric, period, now)
            new = AlarmState.ALARM if alarm.breaching(value) else AlarmState.OK
            old = self.states[alarm.name]
            if new == old:
                continue
            message = notification(
                alarm,
                old,
                new,
                value,
                region=self.region,
                account=self.account,
                topic_arn=self.topic_arn,
                at=self.wall_clock(),
            )
            self.publish(alarm, message)
            self.states[alarm.name] = new
            change = Transition(alarm.name, old, new, value, message)
            changes.append(change)
            self.history.append(change)
        return changes

    def fired(self) -> list[str]:
        """Alarms that went to ALARM at least once, in the order they first fired."""
        seen: dict[str, None] = {}
        for t in self.history:
            if t.new == AlarmState.ALARM:
                seen.setdefault(t.alarm)
        return list(seen)

    def in_alarm(self) -> list[str]:
        """Alarms in ALARM now."""
        return [name for name, state in self.states.items() if state == AlarmState.ALARM]


class CounterWindow:
    """Sums a cumulative counter over a trailing window, from timestamped samples."""

    def __init__(self) -> None:
        self._samples: dict[str, list[tuple[float, float]]] = {}

    def record(self, key: str, now: float, cumulative: float) -> None:
        """Remember the counter's value at `now`."""
        samples = self._samples.setdefault(key, [])
        if not samples or samples[-1][1] != cumulative:
            samples.append((now, cumulative))

    def sum(self, key: str, period_s: float, now: float) -> float:
        """The increase over the last `period_s` seconds."""
        samples = self._samples.get(key, [])
        if not samples:
            return 0.0
        before = [c for t, c in samples if t <= now - period_s]
        base = before[-1] if before else 0.0
        return samples[-1][1] - base


class LocalMetrics:
    """Metrics of a running local stack: executions, DLQ depth, in-process Lambda errors."""

    def __init__(
        self,
        *,
        sfn: Any,
        sqs: Any,
        state_machine_arn: str,
        dlq_url: str,
        lambda_errors: Callable[[], Mapping[str, int]],
        iterator_age_ms: Callable[[], float | None] = lambda: None,
        mail_counts: Callable[[], Mapping[str, int]] = dict,
    ):
        self._sfn = sfn
        self._sqs = sqs
        self._arn = state_machine_arn
        self._dlq = dlq_url
        self._queue_urls: dict[str, str] = {}
        self._lambda_errors = lambda_errors
        self._iterator_age_ms = iterator_age_ms
        self._mail_counts = mail_counts
        self._counters = CounterWindow()
        self._lock = threading.Lock()

    def value(self, metric: MetricSpec, period_s: float, now: float) -> float | None:
        """The metric's statistic over the period."""
        if metric.kind == MetricKind.EXECUTIONS:
            return float(self._executions_stopped(metric.subject, period_s))
        if metric.kind == MetricKind.LAMBDA_ERRORS:
            with self._lock:
                errors = self._lambda_errors()
                total = sum(
                    n for fn, n in errors.items() if fn == metric.subject or fn.endswith(f"-{metric.subject}")
                )
                self._counters.record(metric.subject, now, total)
                return self._counters.sum(metric.subject, period_s, now)
        if metric.kind == MetricKind.LAMBDA_THROTTLES:
            return 0.0
        if metric.kind == MetricKind.REPLIES_NOT_SENT:
            with self._lock:
                self._counters.record("ses:rejected", now, self._mail_counts().get("rejected", 0))
                return self._counters.sum("ses:rejected", period_s, now)
        if metric.kind == MetricKind.BOUNCE_RATE:
            counts = self._mail_counts()
            sent = counts.get("sent", 0)
            return counts.get("bounced", 0) / sent if sent else None
        if metric.kind == MetricKind.QUEUE_VISIBLE:
            attrs = self._sqs.get_queue_attributes(
                QueueUrl=self._queue_url(metric), AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            return float(attrs["ApproximateNumberOfMessages"])
        return self._iterator_age_ms()

    def _queue_url(self, metric: MetricSpec) -> str:
        """The queue the alarm names (its QueueName dimension); the intake DLQ when it names none."""
        if (
            not metric.dimension
            or metric.dimension[0] != "QueueName"
            or metric.dimension[1] == names.DLQ_NAME
        ):
            return str(self._dlq)
        name = metric.dimension[1]
        if name not in self._queue_urls:
            self._queue_urls[name] = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._queue_urls[name]

    def _executions_stopped(self, status: str, period_s: float) -> int:
        since = datetime.now(UTC).timestamp() - period_s
        count = 0
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self._arn, statusFilter=status
        )
        for page in pages:
            for ex in page["executions"]:
                stopped = ex.get("stopDate")
                if stopped is None or stopped.timestamp() >= since:
                    count += 1
        return count


def sns_publisher(sns: Any, topic_arn: str, region_label: str = "US East (N. Virginia)") -> Publish:
    """Publish alarm notifications to the alarms topic as CloudWatch does (subject + JSON message)."""

    def publish(alarm: AlarmDef, message: dict[str, Any]) -> None:
        subject = f'{message["NewStateValue"]}: "{alarm.name}" in {region_label}'
        sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message))

    return publish


def local_evaluator(stack: Any, period_s: float | None = None) -> AlarmEvaluator:
    """The stack's alarms evaluated against a running LocalStack, publishing to its alarms topic."""
    from local import moto as local_moto

    info = stack.info
    return AlarmEvaluator(
        stack_alarms(),
        LocalMetrics(
            sfn=stack.client("stepfunctions"),
            sqs=stack.client("sqs"),
            state_machine_arn=info.state_machine_arn,
            dlq_url=info.dlq_url,
            lambda_errors=lambda: dict(stack.lambdas.errors),
            mail_counts=lambda: dict(local_moto.STATE.mail),
        ),
        sns_publisher(stack.client("sns"), info.alarms_topic_arn),
        region=info.region,
        topic_arn=info.alarms_topic_arn,
        period_s=period_s,
    )


class AlarmLoop:
    """Runs an evaluator every `interval_s` seconds on a background thread."""

    def __init__(self, evaluator: AlarmEvaluator, interval_s: float = 1.0):
        self.evaluator = evaluator
        self._interval = interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tms-alarms", daemon=True)

    def __enter__(self) -> AlarmLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def evaluate_now(self) -> list[Transition]:
        """One evaluation, serialized with the background loop."""
        with self._lock:
            return self.evaluator.evaluate()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.evaluate_now()
            except Exception:  # a failed evaluation is retried on the next tick, like CloudWatch
                self.evaluator.errors += 1
