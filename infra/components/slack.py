"""Slack: the app's secret, the Bolt bot behind a function URL, and the notifier that posts and threads."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, acknowledge_kms_grant, skip_checkov
from infra.components.ingest import Ingest
from infra.components.lambdas import LambdaPackage, ServiceFunction
from infra.components.notifications import Notifications
from infra.components.sla import Sla
from infra.components.storage import Storage

SECRET_KEYS = ("bot_token", "signing_secret")


class Slack(Construct):
    """Secret {bot_token, signing_secret}, bot function + URL, notifier subscribed to both topics."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        package: LambdaPackage,
        storage: Storage,
        ingest: Ingest,
        notifications: Notifications,
        channel_id: str,
        alerts_channel_id: str,
        sla: Sla,
        oncall_group: str = "",
        provisioned_concurrency: int = 0,
        snapstart: bool = False,
        reserved_concurrency: int | None = None,
        roles_environment: Mapping[str, str] | None = None,
        intake_environment: Mapping[str, str] | None = None,
        draft_link_domains: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        # Created with a random placeholder value; the real tokens are put after deploy (README.md, Deploy),
        # so no token ever passes through the template or the repository.
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=f"{project_name}/slack",
            description='Slack app credentials: JSON {"bot_token": "xoxb-...", "signing_secret": "..."}',
            encryption_key=storage.data_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.secret,
            "SMG4",
            "Slack bot tokens and signing secrets are issued by Slack and rotated in the Slack app "
            "settings, so there is no rotation Lambda; the runbook rotates them by put-secret-value.",
        )
        common_env = {
            names.ENV_SLACK_SECRET_ARN: self.secret.secret_arn,
            names.ENV_TABLE_NAME: storage.table.table_name,
            names.ENV_SLACK_CHANNEL: channel_id,
            # Who may act and the installation pinned (ids, not secrets); the notifier needs the approvers
            # to render posts without Approve when there are none.
            **(roles_environment or {}),
            # Links to other domains in a drafted reply are flagged on its post (contract/drafts.py).
            **({names.ENV_DRAFT_LINK_DOMAINS: ",".join(draft_link_domains)} if draft_link_domains else {}),
        }

        self.bot = ServiceFunction(
            self,
            "Bot",
            name=names.FN_BOT,
            package=package,
            description="Slack Bolt app: /ticket, modals, buttons and events (customer channels, reactions, DMs)",
            memory_size=512,
            # Slack wants an ack within 3 s; the bot writes to Kinesis before acking and never waits longer.
            timeout=Duration.seconds(10),
            # The URL is public: a flood is capped here, not in the account's shared concurrency.
            reserved_concurrency=reserved_concurrency,
            snapstart=snapstart,
            environment={
                **common_env,
                names.ENV_STREAM_NAME: ingest.stream.stream_name,
                # Approve reply publishes ReplyApproved here; the mailer sends.
                names.ENV_TOPIC_ARN: notifications.tickets_topic.topic_arn,
                names.ENV_SLA_FUNCTION: sla.function.function_name,
                # Watched customer channels, the ticketing rule's strictness, the DM window (issue 31).
                **(intake_environment or {}),
            },
        )
        notifications.tickets_topic.grant_publish(self.bot.role)
        acknowledge_kms_grant(self.bot.role, "tickets topic's data key")
        self.secret.grant_read(self.bot.role)
        ingest.grant_put_records(self.bot.role)
        storage.grant_ticket_metadata(self.bot.role)
        storage.grant_owner_lookup(self.bot.role)
        sla.grant_notify(self.bot.role)
        # Slack cannot sign AWS requests; every request is verified in-app with the signing secret.
        # Provisioned concurrency and SnapStart both apply to published versions, never to $LATEST: with either,
        # the URL serves the alias "live" (each deploy publishes a version and moves the alias), so Slack always
        # reaches a pre-initialized environment (provisioned) or one resumed from the version's snapshot
        # (SnapStart). Lambda refuses the two together (TmsConfig refuses them first). With neither, no version
        # is published and the URL serves $LATEST.
        self.alias: lambda_.Alias | None = None
        url_target: lambda_.IFunction = self.bot.function
        if provisioned_concurrency > 0 or snapstart:
            self.alias = lambda_.Alias(
                self,
                "BotLive",
                alias_name="live",
                version=self.bot.function.current_version,
                provisioned_concurrent_executions=provisioned_concurrency or None,
            )
            url_target = self.alias
        self.function_url = url_target.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        skip_checkov(
            self.function_url,
            "CKV_AWS_258",
            "Slack's request URL must be public: Slack cannot sign AWS (IAM) requests. Every request is "
            "authenticated in the app instead: Bolt verifies the v0 HMAC signature with the signing secret "
            "from Secrets Manager and rejects requests older than 5 minutes before any listener runs.",
        )

        self.notifier = ServiceFunction(
            self,
            "Notifier",
            name=names.FN_NOTIFIER,
            package=package,
            description="Posts tickets and alarms to Slack and threads later updates under the first post",
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={
                **common_env,
                names.ENV_SLACK_ALERTS_CHANNEL: alerts_channel_id,
                **({names.ENV_SLA_ONCALL_GROUP: oncall_group} if oncall_group else {}),
            },
        )
        self.secret.grant_read(self.notifier.role)
        storage.grant_ticket_metadata(self.notifier.role)
        notifications.subscribe_to_all(self.notifier.function)
