"""The tms stack: composes the components; no AWS calls, no environment lookups."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from contract import defaults, names
from infra.components.analytics import Analytics
from infra.components.erasure import Erasure
from infra.components.followups import Followups
from infra.components.incidents import IncidentDetection
from infra.components.ingest import Ingest
from infra.components.kb_sync import KnowledgeBaseSync
from infra.components.keys import LogsKey
from infra.components.lambdas import LambdaPackage
from infra.components.lifecycle import LifecycleFeed
from infra.components.mail import Mail
from infra.components.monitoring import Monitoring
from infra.components.notifications import Notifications
from infra.components.retention import WarehouseRetention
from infra.components.sla import Sla
from infra.components.slack import Slack
from infra.components.storage import Storage
from infra.components.workflow import Workflow, bedrock_model_arns
from infra.config import TmsConfig


@dataclass(frozen=True)
class StagedAssets:
    """Directories prepared by the app before synth (see infra/components/lambdas.py)."""

    lambda_code: Path
    lambda_layer: Path
    layer_built: bool
    glue_library: Path


class TmsStack(Stack):
    """Ingest -> workflow -> storage/notifications -> Slack, plus analytics and monitoring."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: TmsConfig, assets: StagedAssets, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        project = config.project_name
        retention = _retention(config.log_retention_days)

        self.logs_key = LogsKey(self, "LogsKey", project_name=project).key
        package = LambdaPackage(
            self,
            "Lambda",
            code_dir=assets.lambda_code,
            layer_dir=assets.lambda_layer,
            layer_built=assets.layer_built,
            log_key=self.logs_key,
            project_name=project,
            log_retention=retention,
        )
        self.storage = Storage(
            self,
            "Storage",
            table_name=f"{project}-tickets",
            archive_retention_days=config.retention.archive,
            inbound_mail_retention_days=config.retention.inbound_mail,
        )
        self.notifications = Notifications(
            self,
            "Notifications",
            project_name=project,
            key=self.storage.data_key,
            emails=list(config.notification_emails),
            email_priorities=list(config.email_priorities),
        )
        self.sla = Sla(
            self,
            "Sla",
            project_name=project,
            package=package,
            storage=self.storage,
            tickets_topic=self.notifications.tickets_topic,
            key=self.storage.data_key,
            sla_environment={**config.sla.environment(), **config.routing_environment()},
            escalation_emails=list(config.sla.escalation_emails),
            escalation_priorities=list(config.sla.escalation_priorities),
        )
        self.incidents = IncidentDetection(
            self,
            "Incidents",
            package=package,
            storage=self.storage,
            embedding_model_id=config.embedding_model_id,
            second_opinion_model_id=config.model_id if config.incident_second_opinion else "",
            second_opinion_model_arns=bedrock_model_arns(
                self,
                model_id=config.model_id,
                foundation_model_id=config.foundation_model_id,
                profile=config.uses_inference_profile,
            ),
        )
        self.workflow = Workflow(
            self,
            "Workflow",
            project_name=project,
            asl_path=config.asl_path,
            package=package,
            storage=self.storage,
            tickets_topic=self.notifications.tickets_topic,
            model_id=config.model_id,
            foundation_model_id=config.foundation_model_id,
            inference_profile=config.uses_inference_profile,
            draft_reply_concurrency=config.draft_reply_concurrency,
            sla_timer=self.sla.function,
            sla_environment=config.sla.environment(),
            retention_environment=config.retention.environment(),
            link_incident=self.incidents.function.function,
            pii_redaction=config.pii_redaction,
            workflow_type=config.workflow_type,
            knowledge_base=config.knowledge_base,
            embedding_model_arn=self.incidents.model_arn,
            embedding_environment=self.incidents.embedding_environment,
        )
        self.ingest = Ingest(
            self,
            "Ingest",
            project_name=project,
            shards=config.shards,
            key=self.storage.data_key,
            package=package,
            state_machine=self.workflow.state_machine,
            storage=self.storage,
            alarms_topic=self.notifications.alarms_topic,
            retention_environment=config.retention.environment(),
            limits_environment=config.limits_environment(),
        )
        self.slack = Slack(
            self,
            "Slack",
            project_name=project,
            package=package,
            storage=self.storage,
            ingest=self.ingest,
            notifications=self.notifications,
            channel_id=config.slack_channel_id,
            alerts_channel_id=config.slack_alerts_channel_id,
            sla=self.sla,
            oncall_group=config.sla.oncall_group,
            provisioned_concurrency=config.bot_provisioned_concurrency,
            snapstart=config.bot_snapstart,
            reserved_concurrency=config.bot_reserved_concurrency,
            roles_environment=config.slack_roles_environment(),
            intake_environment=config.slack_intake_environment(),
            draft_link_domains=config.draft_link_allow_list(),
        )
        self.mail = Mail(
            self,
            "Mail",
            project_name=project,
            package=package,
            storage=self.storage,
            ingest=self.ingest,
            tickets_topic=self.notifications.tickets_topic,
            sla=self.sla,
            reply_from=str(config.reply_from),
            reply_to=str(config.reply_to or config.reply_from),
            reopen_window_days=config.reopen_window_days,
            ses_domain=config.ses_domain,
            trusted_domains=list(config.mail_trusted_domains),
            limits_environment=config.limits_environment(mail=True),
            alarms_topic=self.notifications.alarms_topic,
        )
        self.followups = Followups(
            self,
            "Followups",
            project_name=project,
            package=package,
            storage=self.storage,
            tickets_topic=self.notifications.tickets_topic,
            sla=self.sla,
            mail=self.mail,
            reply_from=str(config.reply_from),
            reply_to=str(config.reply_to or config.reply_from),
            config=config.followups,
        )
        self.lifecycle = LifecycleFeed(
            self,
            "Lifecycle",
            project_name=project,
            package=package,
            storage=self.storage,
            key=self.storage.data_key,
            precedent_base_url=config.precedent_base_url,
            embedding_model_arn=self.incidents.model_arn,
            embedding_environment=self.incidents.embedding_environment,
        )
        # The knowledge base follows kb/docs/ of the archive bucket (issue 30.1), when it is on.
        self.kb_sync = (
            KnowledgeBaseSync(
                self,
                "KbSync",
                project_name=project,
                package=package,
                storage=self.storage,
                key=self.storage.data_key,
                embedding_model_arn=self.incidents.model_arn,
                embedding_environment=self.incidents.embedding_environment,
                base_url=config.kb_base_url,
            )
            if config.knowledge_base
            else None
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            project_name=project,
            storage=self.storage,
            redshift=config.redshift,
            script_path=config.glue_script_path,
            library_dir=assets.glue_library,
            schedule=config.etl_schedule,
            timeout_minutes=config.glue_timeout_minutes,
        )
        kind, target = config.redshift.data_api_target
        self.erasure = Erasure(
            self,
            "Erasure",
            package=package,
            storage=self.storage,
            schedule_group=self.sla.group_name,
            slack_secret=self.slack.secret,
            slack_channel_id=config.slack_channel_id,
            redshift_secret=self.analytics.redshift_secret,
            redshift_key=self.analytics.key,
            redshift_target=(kind, target),
            redshift_database=config.redshift.database,
            inbound_bucket=self.mail.inbound_bucket,
            inbound_key=self.mail.inbound_key,
            redshift_schema=config.redshift.schema_name,
            redshift_table=config.redshift.table,
        )
        self.warehouse_retention = WarehouseRetention(
            self,
            "WarehouseRetention",
            project_name=project,
            redshift_target=(kind, target),
            database=config.redshift.database,
            schema=config.redshift.schema_name,
            tickets_table=config.redshift.table,
            secret=self.analytics.redshift_secret,
            secret_key=self.analytics.key,
            days=config.retention.warehouse,
            schedule=defaults.WAREHOUSE_RETENTION_SCHEDULE,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            project_name=project,
            alarms_topic=self.notifications.alarms_topic,
            ops_topic=self.notifications.ops_topic,
            state_machine=self.workflow.state_machine,
            functions={
                names.FN_TRIGGER: self.ingest.trigger.function,
                names.FN_INTAKE_AUDIT: self.ingest.audit.function,
                names.FN_DRAFT_REPLY: self.workflow.draft_reply.function,
                names.FN_ARCHIVE: self.workflow.archive.function,
                names.FN_LINK_INCIDENT: self.incidents.function.function,
                names.FN_NOTIFIER: self.slack.notifier.function,
                names.FN_BOT: self.slack.bot.function,
                **self.mail.functions,
                names.FN_SLA_TIMER: self.sla.function,
                names.FN_TICKET_LIFECYCLE: self.lifecycle.function,
                names.FN_ERASURE: self.erasure.function,
                names.FN_CSAT: self.followups.page.function,
                **({names.FN_KB_SYNC: self.kb_sync.function} if self.kb_sync is not None else {}),
            },
            stream=self.ingest.stream,
            dlq=self.ingest.dlq,
            sla_dlq=self.sla.dlq,
            lifecycle_dlq=self.lifecycle.dlq,
            kb_sync_dlq=self.kb_sync.dlq if self.kb_sync is not None else None,
            glue_job_name=self.analytics.job_name,
        )
        self._outputs()

    def _outputs(self) -> None:
        for key, value, description in (
            ("StreamName", self.ingest.stream.stream_name, "Kinesis stream tickets are put on"),
            ("TableName", self.storage.table.table_name, "DynamoDB tickets table"),
            ("BucketName", self.storage.bucket.bucket_name, "S3 archive bucket"),
            ("TicketsTopicArn", self.notifications.tickets_topic.topic_arn, "SNS tickets topic"),
            ("CsatUrl", self.followups.url, "the rating page (links in satisfaction mails: <url>rate?t=...)"),
            ("AlarmsTopicArn", self.notifications.alarms_topic.topic_arn, "SNS alarms topic"),
            ("OpsTopicArn", self.notifications.ops_topic.topic_arn, "SNS ops topic (email only)"),
            ("DlqUrl", self.ingest.dlq.queue_url, "Trigger dead-letter queue"),
            ("SlaDlqUrl", self.sla.dlq.queue_url, "SLA timers the scheduler could not deliver"),
            (
                "LifecycleDlqUrl",
                self.lifecycle.dlq.queue_url,
                "Ticket changes the warehouse feed could not write",
            ),
            ("EscalationTopicArn", self.sla.escalation_topic.topic_arn, "SNS SLA escalations (email)"),
            ("StateMachineArn", self.workflow.state_machine.state_machine_arn, "Ticket workflow"),
            ("SlackRequestUrl", self.slack.function_url.url, "Request URL for the Slack app manifest"),
            (
                "SlackSecretArn",
                self.slack.secret.secret_arn,
                "Put the Slack bot token and signing secret here",
            ),
            (
                "RedshiftSecretArn",
                self.analytics.redshift_secret.secret_arn,
                "Put the loader's password here",
            ),
            ("GlueJobName", self.analytics.job_name, "Warehouse load job"),
            (
                "InboundMailBucket",
                self.mail.inbound_bucket.bucket_name,
                "Raw inbound mail (SES receipt rule)",
            ),
            (
                "ReceiptRuleSetName",
                self.mail.rule_set.receipt_rule_set_name,
                "Activate it: aws ses set-active-receipt-rule-set --rule-set-name <this>",
            ),
        ):
            CfnOutput(self, key, value=value, description=description)


_RETENTION_NAMES = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1827: "FIVE_YEARS",
    3653: "TEN_YEARS",
}


def _retention(days: int) -> logs.RetentionDays:
    return logs.RetentionDays[_RETENTION_NAMES[days]]
