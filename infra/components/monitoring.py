"""Monitoring: alarms on every stage into the alarms topic, the Glue failure rule, and a dashboard."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract import names

PERIOD = Duration.minutes(5)
ITERATOR_AGE_THRESHOLD_MS = 5 * 60 * 1000
BOUNCE_RATE_THRESHOLD = 0.05  # SES reviews accounts above 5 % and may pause sending at 10 %
GLUE_FAILED_STATES = ["FAILED", "TIMEOUT", "STOPPED", "ERROR"]
# SUCCEEDED too: the notifier closes a job's alert thread with it ("recovered") and ignores routine successes.
GLUE_REPORTED_STATES = [*GLUE_FAILED_STATES, "SUCCEEDED"]


def _title(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("_", "-").split("-"))


class Monitoring(Construct):
    """One alarm per failure signal, each with ALARM and OK actions on the alarms topic.

    Except the notifier's errors alarm: the notifier reads the alarms topic, so when Slack is down it would
    be asked to report its own failure through Slack. That alarm goes to `ops_topic` (email only) instead.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        alarms_topic: sns.ITopic,
        ops_topic: sns.ITopic | None = None,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.IFunction],
        stream: kinesis.Stream,
        dlq: sqs.Queue,
        glue_job_name: str,
        sla_dlq: sqs.Queue | None = None,
        lifecycle_dlq: sqs.Queue | None = None,
        kb_sync_dlq: sqs.Queue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = alarms_topic
        # None keeps every alarm on the alarms topic (the notifier-errors loop included): pass the ops topic.
        self._ops_topic = ops_topic or alarms_topic
        self._prefix = project_name
        self.alarms: dict[str, cw.Alarm] = {}

        for key, metric in {
            "ExecutionsFailed": state_machine.metric_failed(period=PERIOD),
            "ExecutionsTimedOut": state_machine.metric_timed_out(period=PERIOD),
            "ExecutionsAborted": state_machine.metric_aborted(period=PERIOD),
        }.items():
            self._alarm(key, metric, threshold=1, description=f"Ticket pipeline: {key} in 5 minutes")

        for fn_key, function in functions.items():
            name = _title(fn_key)
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"Lambda {fn_key}: invocation errors",
                topic=self._ops_topic if fn_key == names.FN_NOTIFIER else None,
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"Lambda {fn_key}: throttled invocations",
            )

        self._alarm(
            "StreamIteratorAge",
            stream.metric_get_records_iterator_age_milliseconds(period=PERIOD, statistic="Maximum"),
            threshold=ITERATOR_AGE_THRESHOLD_MS,
            description="Kinesis: records wait more than 5 minutes to be read",
        )
        # Customer mail: sends SES refused (the mailer's metric) and SES's own bounce-rate reputation metric.
        self._alarm(
            "RepliesNotSent",
            cw.Metric(
                namespace=project_name,
                metric_name="RepliesNotSent",
                dimensions_map={"service": names.FN_MAILER},
                period=PERIOD,
                statistic="Sum",
            ),
            threshold=1,
            description="Customer replies SES refused to send (the tickets show SEND_FAILED with Retry send)",
        )
        self._alarm(
            "BounceRate",
            cw.Metric(
                namespace="AWS/SES", metric_name="Reputation.BounceRate", period=PERIOD, statistic="Maximum"
            ),
            threshold=BOUNCE_RATE_THRESHOLD,
            description="SES bounce rate of customer replies is at or above 5 %",
        )
        self._dlq_alarm(
            "DlqNotEmpty", dlq, "Records were dead-lettered at intake (trigger, intake audit or the mappings)"
        )
        if sla_dlq is not None:
            self._dlq_alarm(
                "SlaDlqNotEmpty",
                sla_dlq,
                "SLA timers the scheduler could not deliver to the timer function (warnings or breaches missed)",
            )
        if lifecycle_dlq is not None:
            self._dlq_alarm(
                "LifecycleDlqNotEmpty",
                lifecycle_dlq,
                "Ticket changes the lifecycle feed could not write under lifecycle/ (the warehouse misses them)",
            )
        if kb_sync_dlq is not None:
            self._dlq_alarm(
                "KbSyncDlqNotEmpty",
                kb_sync_dlq,
                "kb-sync runs that failed or were never delivered: kb/docs/ changes are not in the knowledge "
                "base (the function's logs name the error)",
            )

        # Glue reports job state changes to EventBridge, not as a metric an alarm can watch.
        self.glue_failure_rule = events.Rule(
            self,
            "GlueJobFailed",
            description=f"{glue_job_name} failed, timed out, was stopped, or succeeded (closes an incident)",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [glue_job_name], "state": GLUE_REPORTED_STATES},
            ),
            targets=[targets.SnsTopic(alarms_topic)],
        )

        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{project_name}-pipeline",
            default_interval=Duration.hours(3),
        )
        fn_items = list(functions.items())
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Kinesis: incoming records",
                left=[stream.metric_incoming_records(period=PERIOD, statistic="Sum")],
                right=[
                    stream.metric_get_records_iterator_age_milliseconds(period=PERIOD, statistic="Maximum")
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Step Functions executions",
                left=[
                    state_machine.metric_started(period=PERIOD),
                    state_machine.metric_succeeded(period=PERIOD),
                    state_machine.metric_failed(period=PERIOD),
                    state_machine.metric_timed_out(period=PERIOD),
                ],
                right=[state_machine.metric_time(period=PERIOD, statistic="p95")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda invocations",
                left=[f.metric_invocations(period=PERIOD, label=k, statistic="Sum") for k, f in fn_items],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda errors and throttles",
                left=[f.metric_errors(period=PERIOD, label=k, statistic="Sum") for k, f in fn_items],
                right=[f.metric_throttles(period=PERIOD, label=k, statistic="Sum") for k, f in fn_items],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda duration p95",
                left=[f.metric_duration(period=PERIOD, label=k, statistic="p95") for k, f in fn_items],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.SingleValueWidget(
                title="DLQ depth",
                metrics=[
                    dlq.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
                ],
                width=6,
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=18),
        )

    def _dlq_alarm(self, key: str, queue: sqs.IQueue, description: str) -> cw.Alarm:
        """An alarm as soon as one message waits in a dead-letter queue."""
        metric = queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
        return self._alarm(key, metric, threshold=1, description=description)

    def _alarm(
        self,
        key: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        description: str,
        topic: sns.ITopic | None = None,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            key,
            alarm_name=f"{self._prefix}-{key}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        action = cw_actions.SnsAction(topic or self._topic)
        alarm.add_alarm_action(action)
        # The notifier threads ALARM -> OK under one Slack post.
        alarm.add_ok_action(action)
        self.alarms[key] = alarm
        return alarm
