"""Notifications: the encrypted tickets and alarms topics and the email subscriptions filtered by priority."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from infra import names

# Services that publish to the alarms topic and so need its key and its topic policy.
ALARM_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class Notifications(Construct):
    """Tickets topic (triaged/failed tickets) and alarms topic (CloudWatch alarms, Glue failures)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        key: kms.IKey,
        emails: Sequence[str],
        email_priorities: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.tickets_topic = sns.Topic(
            self,
            "Tickets",
            topic_name=f"{project_name}-tickets",
            display_name="tms tickets",
            master_key=key,
            enforce_ssl=True,
        )
        # A key of its own: its policy lets CloudWatch and EventBridge publish, nothing else needs it.
        self.alarms_key = kms.Key(
            self,
            "AlarmsKey",
            description="tms: alarms topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.alarms_topic = sns.Topic(
            self,
            "Alarms",
            topic_name=f"{project_name}-alarms",
            display_name="tms alarms",
            master_key=self.alarms_key,
            enforce_ssl=True,
        )
        for service in ALARM_PUBLISHERS:
            principal = iam.ServicePrincipal(service)
            self.alarms_key.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    principals=[principal],
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
            self.alarms_topic.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    principals=[principal],
                    resources=[self.alarms_topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        self.email_filter = {
            names.ATTR_PRIORITY: sns.SubscriptionFilter.string_filter(allowlist=list(email_priorities))
        }
        self.email_subscriptions = [
            subs.EmailSubscription(email, filter_policy=self.email_filter) for email in emails
        ]
        for subscription in self.email_subscriptions:
            self.tickets_topic.add_subscription(subscription)

    def subscribe_to_all(self, function: lambda_.IFunction) -> None:
        """Subscribe a Lambda (the Slack notifier) to both topics, unfiltered."""
        self.tickets_topic.add_subscription(subs.LambdaSubscription(function))
        self.alarms_topic.add_subscription(subs.LambdaSubscription(function))
