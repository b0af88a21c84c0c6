"""Customer mail: the SES sender identity and configuration set (delivery events to the tickets topic), the
mailer function (approved replies out), and inbound mail (receipt rule -> KMS-encrypted bucket -> function).

The receipt rule set is created but SES allows one active rule set per region and CloudFormation cannot
activate it: `aws ses set-active-receipt-rule-set --rule-set-name <project>-inbound` (README).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, acknowledge_kms_grant, finding, skip_checkov
from infra.components.ingest import Ingest
from infra.components.keys import hmac_key_secret
from infra.components.lambdas import LambdaPackage, ServiceFunction
from infra.components.sla import Sla
from infra.components.storage import Storage

INBOUND_EXPIRY = Duration.days(90)  # raw mail is only read once, by the inbound function
SES = "ses.amazonaws.com"


def sender_identity(scope: Construct, reply_from: str, domain: str | None) -> ses.EmailIdentity:
    """The SES identity replies are sent as: the one address (SES mails it a verification link), or with
    `domain` the whole domain with Easy DKIM (publish the three CNAME records SES shows; every reply is then
    DKIM-signed, which receiving servers and the customer's spam filter check)."""
    if domain:
        return ses.EmailIdentity(scope, "Identity", identity=ses.Identity.domain(domain), dkim_signing=True)
    return ses.EmailIdentity(scope, "Identity", identity=ses.Identity.email(reply_from))


class Mail(Construct):
    """SES identity + configuration set, the mailer, and the inbound receipt path."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        package: LambdaPackage,
        storage: Storage,
        ingest: Ingest,
        tickets_topic: sns.Topic,
        sla: Sla,
        reply_from: str,
        reply_to: str,
        reopen_window_days: int,
        ses_domain: str | None = None,
        trusted_domains: list[str] | None = None,
        limits_environment: Mapping[str, str] | None = None,
        alarms_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.identity = sender_identity(self, reply_from, ses_domain)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=f"{project_name}-replies",
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.configuration_set.add_event_destination(
            "ToTicketsTopic",
            destination=ses.EventDestination.sns_topic(tickets_topic),
            events=[
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
            ],
        )
        # The tickets topic is encrypted with the data key: SES must be able to publish through it.
        storage.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal(SES)],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        tickets_topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal(SES)],
                resources=[tickets_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        # The key signing per-ticket reply addresses (support+<ticket>.<tag>@...): generated at deploy, read by
        # the mailer (to sign) and the inbound function (to verify) at cold start.
        self.reply_key = hmac_key_secret(
            self,
            "ReplyKey",
            secret_name=f"{project_name}/mail-reply-key",
            description="HMAC key of the per-ticket reply addresses (issue 27)",
            key=storage.data_key,
            reason="Rotating the key would orphan every reply address already sent (answers would no longer "
            "name their ticket); it is rotated by hand, with the runbook, if ever exposed.",
        )
        common_env = {
            names.ENV_TABLE_NAME: storage.table.table_name,
            names.ENV_TOPIC_ARN: tickets_topic.topic_arn,
            names.ENV_REPLY_FROM: reply_from,
            names.ENV_REPLY_TO: reply_to,
            names.ENV_REOPEN_WINDOW_DAYS: str(reopen_window_days),
            names.ENV_MAIL_REPLY_KEY_SECRET_ARN: self.reply_key.secret_arn,
        }
        inbound_env = {names.ENV_MAIL_TRUSTED_DOMAINS: ",".join(trusted_domains or [])}
        # The new-ticket limits, counted at mail's own door (TmsConfig.limits_environment).
        inbound_env.update(limits_environment or {})
        if alarms_topic is not None:
            inbound_env[names.ENV_ALARMS_TOPIC_ARN] = alarms_topic.topic_arn

        self.mailer = ServiceFunction(
            self,
            "Mailer",
            name=names.FN_MAILER,
            package=package,
            description="Sends approved replies through SES, exactly once (claim, send, record)",
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={
                **common_env,
                names.ENV_SES_CONFIGURATION_SET: self.configuration_set.configuration_set_name,
                # A sent reply is the first response: the timer function deletes the ticket's SLA timers.
                names.ENV_SLA_FUNCTION: sla.function.function_name,
            },
        )
        sla.grant_notify(self.mailer.role)
        self.reply_key.grant_read(self.mailer.role)
        self.grant_send(self.mailer.role)
        storage.grant_ticket_metadata(self.mailer.role)
        tickets_topic.grant_publish(self.mailer.role)
        acknowledge_kms_grant(self.mailer.role, "tickets topic's data key")
        tickets_topic.add_subscription(
            subs.LambdaSubscription(
                self.mailer.function,
                filter_policy={
                    names.ATTR_EVENT_TYPE: sns.SubscriptionFilter.string_filter(
                        allowlist=[names.EVENT_REPLY_APPROVED]
                    )
                },
            )
        )

        # --- inbound: receipt rule -> S3 (SSE-KMS, own key) -> inbound function -------------------------
        self.inbound_key = kms.Key(
            self,
            "InboundKey",
            description="tms: customers' raw inbound mail",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.inbound_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey*", "kms:Encrypt"],
                principals=[iam.ServicePrincipal(SES)],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.inbound_bucket = s3.Bucket(
            self,
            "Inbound",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.inbound_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=storage.access_logs_bucket,
            server_access_logs_prefix="inbound-mail/",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-raw-mail", expiration=INBOUND_EXPIRY),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        skip_checkov(
            self.inbound_bucket,
            "CKV_AWS_21",
            "Raw customer mail is write-once (SES stores each message under its own new key and nothing "
            "overwrites it) and expires by lifecycle; versioning would only keep customer mail longer.",
        )
        self.inbound = ServiceFunction(
            self,
            "InboundMail",
            name=names.FN_INBOUND_MAIL,
            package=package,
            description="Takes customers' answers (SES receipt) into their ticket's history and Slack thread",
            memory_size=512,  # parsing a message with a 10 MB attachment
            timeout=Duration.seconds(60),
            environment={
                **common_env,
                **inbound_env,
                names.ENV_BUCKET_NAME: self.inbound_bucket.bucket_name,
                names.ENV_STREAM_NAME: ingest.stream.stream_name,
            },
        )
        self.reply_key.grant_read(self.inbound.role)
        self.inbound_bucket.grant_put(self.inbound.role, f"{names.INBOUND_HELD_PREFIX}*")
        if alarms_topic is not None:
            alarms_topic.grant_publish(self.inbound.role)
        self.inbound_bucket.grant_read(self.inbound.role, f"{names.INBOUND_MAIL_PREFIX}*")
        acknowledge(
            self.inbound.role,
            "IAM5",
            "Raw messages are keyed by SES message id under inbound-mail/; read-only, limited to that prefix.",
            f"Resource::{finding(self, self.inbound_bucket.arn_for_objects(names.INBOUND_MAIL_PREFIX + '*'))}",
            f"Resource::{finding(self, self.inbound_bucket.arn_for_objects(names.INBOUND_HELD_PREFIX + '*'))}",
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:Abort*",
            "Action::s3:List*",
            "Action::kms:GenerateDataKey*",
            "Action::kms:ReEncrypt*",
        )
        storage.grant_ticket_metadata(self.inbound.role)
        tickets_topic.grant_publish(self.inbound.role)
        ingest.grant_put_records(self.inbound.role)
        acknowledge_kms_grant(self.inbound.role, "tickets topic's and stream's data key")

        recipients = sorted({reply_to or reply_from, reply_from})
        self.rule_set = ses.ReceiptRuleSet(
            self,
            "RuleSet",
            receipt_rule_set_name=f"{project_name}-inbound",
            rules=[
                ses.ReceiptRuleOptions(
                    recipients=recipients,
                    scan_enabled=True,  # spam and virus verdicts; the function refuses FAIL
                    tls_policy=ses.TlsPolicy.REQUIRE,
                    actions=[
                        ses_actions.S3(
                            bucket=self.inbound_bucket, object_key_prefix=names.INBOUND_MAIL_PREFIX
                        ),
                        ses_actions.Lambda(
                            function=self.inbound.function,
                            invocation_type=ses_actions.LambdaInvocationType.EVENT,
                        ),
                    ],
                )
            ],
        )

    def grant_send(self, role: iam.IRole) -> None:
        """Send through the sender identity and the configuration set, nothing else (the mailer; the timer
        function's nudge and rating question, issue 32)."""
        stack = Stack.of(self)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[
                    stack.format_arn(
                        service="ses", resource="identity", resource_name=self.identity.email_identity_name
                    ),
                    stack.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=self.configuration_set.configuration_set_name,
                    ),
                ],
            )
        )

    @property
    def functions(self) -> dict[str, lambda_.IFunction]:
        """The functions this unit adds (for monitoring)."""
        return {names.FN_MAILER: self.mailer.function, names.FN_INBOUND_MAIL: self.inbound.function}
