"""SLA timers: the schedule group, the timer function, the role EventBridge Scheduler assumes to invoke it
(and nothing else), the dead-letter queue of the schedules' target, and the escalation topic whose email
subscriptions filter on priority."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, acknowledge_kms_grant, finding
from infra.components.lambdas import LambdaPackage, ServiceFunction, dead_letter_queue, scheduler_role
from infra.components.storage import Storage


class Sla(Construct):
    """Everything that turns a triaged ticket's due time into a warning and an escalation."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        package: LambdaPackage,
        storage: Storage,
        tickets_topic: sns.ITopic,
        key: kms.IKey,
        sla_environment: Mapping[str, str],
        escalation_emails: Sequence[str],
        escalation_priorities: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=f"{project_name}-sla")
        self.group_name = f"{project_name}-sla"
        self.dlq = dead_letter_queue(
            self,
            "Dlq",
            queue_name=f"{project_name}-sla-dlq",
            key=key,
            reason="This queue is itself the dead-letter queue of the SLA schedules' target.",
        )
        self.escalation_topic = sns.Topic(
            self,
            "Escalations",
            topic_name=f"{project_name}-escalations",
            display_name="tms SLA escalations",
            master_key=key,
            enforce_ssl=True,
        )
        self.escalation_filter = {
            names.ATTR_PRIORITY: sns.SubscriptionFilter.string_filter(allowlist=list(escalation_priorities))
        }
        for email in escalation_emails:
            self.escalation_topic.add_subscription(
                subs.EmailSubscription(email, filter_policy=self.escalation_filter)
            )

        function_name = f"{project_name}-{names.FN_SLA_TIMER}"
        # The function's own ARN, spelled out: a Ref to the function inside its own environment would be a cycle.
        function_arn = stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.scheduler_role = scheduler_role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: invoke the SLA timer function, dead-letter what it cannot deliver",
        )
        self.timer = ServiceFunction(
            self,
            "Timer",
            name=names.FN_SLA_TIMER,
            package=package,
            description="SLA timers: arm, fire (warn, escalate once), cancel on first response, re-arm",
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={
                names.ENV_TABLE_NAME: storage.table.table_name,
                names.ENV_TOPIC_ARN: tickets_topic.topic_arn,
                names.ENV_ESCALATION_TOPIC_ARN: self.escalation_topic.topic_arn,
                names.ENV_SLA_SCHEDULE_GROUP: self.group_name,
                names.ENV_SLA_TARGET_ARN: function_arn,
                names.ENV_SLA_SCHEDULER_ROLE_ARN: self.scheduler_role.role_arn,
                names.ENV_SLA_DLQ_ARN: self.dlq.queue_arn,
                **sla_environment,
            },
        )
        self.function = self.timer.function
        # The scheduler may invoke this function and write to this DLQ, nothing else.
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[function_arn, f"{function_arn}:*"]
            )
        )
        self.dlq.grant_send_messages(self.scheduler_role)
        acknowledge_kms_grant(self.scheduler_role, "SLA DLQ's data key")
        acknowledge(
            self.scheduler_role,
            "IAM5",
            "Invoking the timer function's versions and aliases (<arn>:*) is how Lambda spells invoke permission "
            "for a qualified ARN; it is still the one function.",
            f"Resource::{finding(self, function_arn + ':*')}",
        )
        # The timer function: its schedules only, passing only the scheduler role, to the scheduler only.
        schedules_arn = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.timer.role.add_to_policy(
            iam.PolicyStatement(
                actions=["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
                resources=[schedules_arn],
            )
        )
        self.timer.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        acknowledge(
            self.timer.role,
            "IAM5",
            "One schedule per ticket and timer, all in the SLA group: the wildcard is the schedule name within "
            "that one group.",
            f"Resource::{finding(self, schedules_arn)}",
        )
        storage.grant_ticket_metadata(self.timer.role)
        tickets_topic.grant_publish(self.timer.role)
        self.escalation_topic.grant_publish(self.timer.role)
        acknowledge_kms_grant(self.timer.role, "tickets and escalation topics' data key")

    def grant_notify(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let the bot tell the timer function about first responses and new priorities."""
        # The unqualified ARN only (grant_invoke would add <arn>:*): the bot invokes $LATEST.
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["lambda:InvokeFunction"], resource_arns=[self.function.function_arn]
        )
