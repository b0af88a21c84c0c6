"""The lifecycle feed: the tickets table's DynamoDB stream -> the ticket-lifecycle function -> one record per
ticket change under lifecycle/ in the archive bucket, which the Glue job loads into ticket_lifecycle.

With precedents on (cdk.json `precedent_base_url`, issue 30.2) the same function adds each ticket resolved
after its reply was sent to kb/index.json, and takes it out when the ticket's item goes: it then may read and
write that one object, embed with the stack's one Titan model and call Comprehend DetectPiiEntities."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, acknowledge_kms_grant
from infra.components.lambdas import (
    LambdaPackage,
    ServiceFunction,
    dead_letter_queue,
    stream_failure_handling,
)
from infra.components.storage import Storage

BATCH_SIZE = 100
BATCHING_WINDOW = Duration.seconds(5)  # fewer, fuller invocations: the warehouse loads on a schedule anyway


class LifecycleFeed(Construct):
    """Stream mapping (bisect, bounded retries, partial batch failures, on-failure DLQ) + function + DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        package: LambdaPackage,
        storage: Storage,
        key: kms.IKey,
        precedent_base_url: str = "",
        embedding_model_arn: str = "",
        embedding_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = dead_letter_queue(
            self,
            "Dlq",
            queue_name=f"{project_name}-lifecycle-dlq",
            key=key,
            reason="This queue is itself the on-failure destination of the lifecycle stream mapping.",
        )
        self.handler = ServiceFunction(
            self,
            "Function",
            name=names.FN_TICKET_LIFECYCLE,
            package=package,
            description="Writes each ticket change (status, owner, SLA) under lifecycle/ for the warehouse",
            # Precedents load the index (0.55 MB for the demo's 70 articles, ~2 KB a passage) and make one
            # Comprehend call and one Titan call per resolved ticket of a batch of up to BATCH_SIZE records.
            memory_size=512 if precedent_base_url else 256,
            timeout=Duration.seconds(120 if precedent_base_url else 60),
            environment={
                names.ENV_BUCKET_NAME: storage.bucket.bucket_name,
                names.ENV_TABLE_NAME: storage.table.table_name,
                **(self._precedent_environment(precedent_base_url, embedding_environment)),
            },
        )
        self.function = self.handler.function
        storage.grant_lifecycle_write(self.handler.role)
        storage.grant_routing_loads(self.handler.role)
        if precedent_base_url:
            self._grant_precedents(storage, embedding_model_arn)
        self.event_source = sources.DynamoEventSource(
            storage.table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=BATCH_SIZE,
            max_batching_window=BATCHING_WINDOW,
            **stream_failure_handling(self.dlq),
        )
        self.function.add_event_source(self.event_source)
        acknowledge_kms_grant(self.handler.role, "tickets table stream's and DLQ's data key")

    @staticmethod
    def _precedent_environment(
        precedent_base_url: str, embedding_environment: Mapping[str, str] | None
    ) -> dict[str, str]:
        """TMS_PRECEDENT_BASE_URL and the knowledge base the draft function searches (same index, same
        embedder); nothing without a base URL."""
        if not precedent_base_url:
            return {}
        if not embedding_environment:
            raise ValueError("precedents need the embedding model's environment (the incident step's)")
        return {
            names.ENV_PRECEDENT_BASE_URL: precedent_base_url,
            names.ENV_KB_PROVIDER: "s3",
            **embedding_environment,
        }

    def _grant_precedents(self, storage: Storage, embedding_model_arn: str) -> None:
        """Least privilege for precedents: Get/Put on kb/index.json only, InvokeModel on the one embedding
        model, and DetectPiiEntities (the question and the reply are redacted before they are stored)."""
        if not embedding_model_arn:
            raise ValueError("precedents need the embedding model's ARN (the incident step's)")
        role = self.handler.role
        storage.grant_knowledge_base_write(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[embedding_model_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["comprehend:DetectPiiEntities"], resources=["*"])
        )
        acknowledge(
            role,
            "IAM5",
            "comprehend:DetectPiiEntities has no resource-level permissions: a precedent's question and reply "
            "are redacted with it before they are stored.",
            "Resource::*",
        )
