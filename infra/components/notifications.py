"""Notifications: the encrypted tickets, alarms and ops topics and the email subscriptions.

The ops topic exists to break a loop: the notifier consumes the alarms topic, so an alarm about the notifier
itself (Slack down, bad token) must not go there, or the notifier would be asked to report its own failure
through the path that is failing. Only email subscribers read the ops topic.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from contract import names

# Services that publish to the alarms topic and so need its key and its topic policy.
CLOUDWATCH = "cloudwatch.amazonaws.com"
ALARM_PUBLISHERS = (CLOUDWATCH, "events.amazonaws.com")


class Notifications(Construct):
    """Tickets topic (triaged/failed tickets), alarms topic (CloudWatch alarms, Glue runs), ops topic (email only)."""

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
            description="tms: alarms and ops topics",
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
        self.ops_topic = sns.Topic(
            self,
            "Ops",
            topic_name=f"{project_name}-ops",
            display_name="tms ops",
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
            # Only CloudWatch publishes to ops (one alarm); EventBridge's Glue rule targets the alarms topic.
            topics = [self.alarms_topic] + ([self.ops_topic] if service == CLOUDWATCH else [])
            for topic in topics:
                topic.add_to_resource_policy(
                    iam.PolicyStatement(
                        actions=["sns:Publish"],
                        principals=[principal],
                        resources=[topic.topic_arn],
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
        # Unfiltered: alarm notifications carry no priority attribute, a priority filter would drop them all.
        self.ops_email_subscriptions = [subs.EmailSubscription(email) for email in emails]
        for subscription in self.ops_email_subscriptions:
            self.ops_topic.add_subscription(subscription)

    def subscribe_to_all(self, function: lambda_.IFunction) -> None:
        """Subscribe a Lambda (the Slack notifier) to the tickets and alarms topics, unfiltered (never to ops)."""
        self.tickets_topic.add_subscription(subs.LambdaSubscription(function))
        self.alarms_topic.add_subscription(subs.LambdaSubscription(function))
