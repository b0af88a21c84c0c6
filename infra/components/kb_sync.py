"""The knowledge base follows kb/docs/ of the archive bucket (issue 30.1): an EventBridge Scheduler rate
schedule runs the kb-sync function every KB_SYNC_INTERVAL_MINUTES; it lists kb/docs/, reads what changed,
embeds it with the stack's one Titan model and writes kb/index.json conditionally. Built only when
`knowledge_base` is on. A failed delivery or a failed run lands in this component's DLQ, which Monitoring
alarms on (KbSyncDlqNotEmpty), as it does the SLA and lifecycle DLQs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from constructs import Construct

from contract import defaults, names
from infra.components._nag import acknowledge, acknowledge_kms_grant, finding, logical_id, skip_checkov
from infra.components.lambdas import LambdaPackage, ServiceFunction, dead_letter_queue, scheduler_role
from infra.components.storage import Storage

MEMORY_MB = 512  # the index in memory (~2 KB a passage) and numpy; Titan is called over the network
RETRY_ATTEMPTS = 2  # the scheduler's delivery retries; a run that fails is not retried: the next run is


class KnowledgeBaseSync(Construct):
    """The kb-sync function, its schedule and the schedule's role, and the DLQ of both."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        package: LambdaPackage,
        storage: Storage,
        key: kms.IKey,
        embedding_model_arn: str,
        embedding_environment: Mapping[str, str],
        base_url: str,
        interval_minutes: int = defaults.KB_SYNC_INTERVAL_MINUTES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = dead_letter_queue(
            self,
            "Dlq",
            queue_name=f"{project_name}-kb-sync-dlq",
            key=key,
            reason="This queue is itself the dead-letter queue of the kb-sync schedule and the function's failed runs.",
        )
        self.handler = ServiceFunction(
            self,
            "Function",
            name=names.FN_KB_SYNC,
            package=package,
            description="Keeps the knowledge base in line with kb/docs/ of the archive bucket",
            memory_size=MEMORY_MB,
            # Shorter than the interval, so one run ends before the next starts.
            timeout=Duration.seconds(defaults.KB_SYNC_TIMEOUT_SECONDS),
            # One run at a time: two would embed the same new documents twice (their writes would not clash:
            # kb/index.json is written conditionally).
            reserved_concurrency=1,
            environment={
                names.ENV_BUCKET_NAME: storage.bucket.bucket_name,
                **embedding_environment,
                **({names.ENV_KB_BASE_URL: base_url} if base_url else {}),
            },
        )
        self.function = self.handler.function
        # A failed run goes to the DLQ at once (the schedule invokes asynchronously); the next run retries.
        self.function.configure_async_invoke(
            retry_attempts=0,
            max_event_age=Duration.minutes(interval_minutes),
            on_failure=destinations.SqsDestination(self.dlq),
        )
        acknowledge_kms_grant(self.handler.role, "kb-sync DLQ's data key")
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "The schedule invokes it asynchronously with an on-failure destination (the kb-sync DLQ, alarmed), "
            "which Lambda prefers to the older DeadLetterConfig; the schedule's own DLQ is the same queue.",
        )
        self._grant(storage, embedding_model_arn)

        self.scheduler_role = scheduler_role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: invoke the kb-sync function, dead-letter what it cannot deliver",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="tms: bring the knowledge base in line with kb/docs/ (issue 30.1)",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(interval_minutes)),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                role=self.scheduler_role,
                dead_letter_queue=self.dlq,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=Duration.minutes(interval_minutes),
            ),
        )
        acknowledge_kms_grant(self.scheduler_role, "kb-sync DLQ's data key")
        acknowledge(
            self.scheduler_role,
            "IAM5",
            "Invoking the function's versions and aliases (<arn>:*) is how CDK's Lambda target spells invoke "
            "permission; it is still the one function.",
            f"Resource::<{logical_id(self.function)}.Arn>:*",
        )

    def _grant(self, storage: Storage, embedding_model_arn: str) -> None:
        """List kb/docs/ (bucket-level, limited by the s3:prefix condition) and read its objects; read and write
        kb/index.json only; invoke the one embedding model. No delete: a document leaves the index, not S3."""
        role = self.handler.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{names.KB_DOCS_PREFIX}*"]}},
            )
        )
        docs_arn = storage.bucket.arn_for_objects(f"{names.KB_DOCS_PREFIX}*")
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[docs_arn]))
        acknowledge(
            role,
            "IAM5",
            f"The documents the knowledge base follows are the objects under {names.KB_DOCS_PREFIX}; the "
            "wildcard is limited to that prefix.",
            f"Resource::{finding(self, docs_arn)}",
        )
        storage.grant_knowledge_base_write(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[embedding_model_arn])
        )
