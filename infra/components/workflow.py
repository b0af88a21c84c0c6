"""The ticket workflow: the state machine (Express by default) from the reviewed ASL file and its task Lambdas."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, acknowledge_kms_grant, finding
from infra.components.lambdas import LambdaPackage, encrypted_log_group, metered_function
from infra.components.storage import Storage

LLM_PROVIDER = "bedrock"


class MissingAslError(FileNotFoundError):
    """The state machine definition file is not where names.ASL_PATH says."""


def bedrock_model_arns(stack: Stack, *, model_id: str, foundation_model_id: str, profile: bool) -> list[str]:
    """The ARNs InvokeModel must allow: the model, or the inference profile and the model it routes to."""
    if not profile:
        return [f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model_id}"]
    return [
        f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:inference-profile/{model_id}",
        # A cross-region profile routes to the same model in any region of its geography.
        f"arn:{stack.partition}:bedrock:*::foundation-model/{foundation_model_id}",
    ]


class Workflow(Construct):
    """State machine (Express or Standard, logged, traced) + draft-reply and archive functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        asl_path: Path,
        package: LambdaPackage,
        storage: Storage,
        tickets_topic: sns.ITopic,
        model_id: str,
        foundation_model_id: str,
        inference_profile: bool,
        draft_reply_concurrency: int,
        sla_timer: lambda_.IFunction,
        sla_environment: Mapping[str, str],
        link_incident: lambda_.IFunction,
        pii_redaction: bool = True,
        workflow_type: str = names.DEFAULT_WORKFLOW_TYPE,
        retention_environment: Mapping[str, str] | None = None,
        knowledge_base: bool = False,
        embedding_model_arn: str = "",
        embedding_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not asl_path.is_file():
            raise MissingAslError(f"state machine definition not found: {asl_path}")
        stack = Stack.of(self)

        self.draft_reply = metered_function(
            self,
            "DraftReply",
            name=names.FN_DRAFT_REPLY,
            package=package,
            description="Drafts the customer reply, priority and reasoning with Bedrock",
            timeout=Duration.seconds(120),
            # Caps concurrent Bedrock calls so a burst of tickets cannot exhaust the account quota.
            reserved_concurrency=draft_reply_concurrency,
            environment={
                names.ENV_LLM_PROVIDER: LLM_PROVIDER,
                names.ENV_MODEL_ID: model_id,
                **(
                    self._knowledge_base_environment(storage, embedding_environment) if knowledge_base else {}
                ),
            },
        )
        model_arns = bedrock_model_arns(
            stack, model_id=model_id, foundation_model_id=foundation_model_id, profile=inference_profile
        )
        # Converse is authorized by bedrock:InvokeModel; grounding embeds the redacted ticket with the one
        # embedding model the incident step uses (docs/decisions/0020-knowledge-base-store.md).
        self.draft_reply.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[*model_arns, *([embedding_model_arn] if knowledge_base else [])],
            )
        )
        if knowledge_base:
            storage.grant_knowledge_base_read(self.draft_reply.role)
        if inference_profile:
            acknowledge(
                self.draft_reply.role,
                "IAM5",
                "A cross-region inference profile invokes the configured model in any region of its "
                "geography; only the region is wildcarded, the model is fixed.",
                *(f"Resource::{finding(self, arn)}" for arn in model_arns if "*" in arn),
            )

        self.archive = metered_function(
            self,
            "Archive",
            name=names.FN_ARCHIVE,
            package=package,
            description="Writes the flat ticket record to S3 (JSON Lines), idempotent by key",
            timeout=Duration.seconds(30),
            # The archive computes each ticket's first-response due time from the SLA targets.
            environment={
                names.ENV_BUCKET_NAME: storage.bucket.bucket_name,
                names.ENV_ORIGINALS_KEY_ID: storage.data_key.key_arn,
                **sla_environment,
                # The ticket item's expiry (TMS_RETENTION_TICKETS) is stamped when it is triaged.
                **(retention_environment or {}),
            },
        )
        storage.grant_archive_write(self.archive.role)

        self.log_group = encrypted_log_group(
            self,
            "Logs",
            package=package,
            # The /aws/vendedlogs/ prefix keeps CloudWatch Logs resource policies small.
            log_group_name=f"/aws/vendedlogs/states/{project_name}-ticket-pipeline",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"{project_name}-ticket-pipeline",
            state_machine_type=sfn.StateMachineType(workflow_type),
            definition_body=sfn.DefinitionBody.from_file(str(asl_path)),
            definition_substitutions={
                names.ASL_TABLE: storage.table.table_name,
                names.ASL_TOPIC: tickets_topic.topic_arn,
                names.ASL_DRAFT_REPLY_FN: self.draft_reply.function.function_arn,
                names.ASL_ARCHIVE_FN: self.archive.function.function_arn,
                names.ASL_SLA_TIMER_FN: sla_timer.function_arn,
                names.ASL_LINK_INCIDENT_FN: link_incident.function_arn,
                names.ASL_PII_REDACTION: "on" if pii_redaction else "off",
            },
            # Execution data carries ticket text and LLM output: logged events omit it (PII). Every event
            # is logged: for an Express workflow the log group is the only execution history there is.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
            # Express executions stop at 5 minutes. One throttled step fits: DraftReply's longest backoff
            # (8 + 3 retries, full jitter under 1+2+4+8+16+30+30+30 and 2+4+8 s) is at most 135 s, plus
            # one successful call. Every step throttled to its limit at once would not fit: the execution
            # then times out without MarkFailed (the ExecutionsTimedOut alarm fires; the ticket stays
            # PROCESSING, README "Choices made, and the goal").
            timeout=Duration.minutes(5 if workflow_type == "EXPRESS" else 30),
        )
        role = self.state_machine.role
        storage.grant_claim_and_record(role)
        tickets_topic.grant_publish(role)
        acknowledge_kms_grant(self.state_machine, "tickets topic's data key")
        self.draft_reply.function.grant_invoke(role)
        self.archive.function.grant_invoke(role)
        sla_timer.grant_invoke(role)
        link_incident.grant_invoke(role)
        # Comprehend Detect* APIs have no resource-level permissions. Sentiment is computed at intake.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["comprehend:DetectPiiEntities"], resources=["*"])
        )
        acknowledge(
            self.state_machine,
            "IAM5",
            "comprehend:DetectPiiEntities, X-Ray and CloudWatch Logs delivery have no resource-level "
            "permissions; lambda:InvokeFunction on '<arn>:*' covers the two task functions' versions only.",
            "Resource::*",
            f"Resource::{finding(self, self.draft_reply.function.function_arn + ':*')}",
            f"Resource::{finding(self, self.archive.function.function_arn + ':*')}",
            f"Resource::{finding(self, sla_timer.function_arn + ':*')}",
            f"Resource::{finding(self, link_incident.function_arn + ':*')}",
        )

    @staticmethod
    def _knowledge_base_environment(
        storage: Storage, embedding_environment: Mapping[str, str] | None
    ) -> dict[str, str]:
        """The draft function's TMS_KB_* variables: the index in the archive bucket, the embedder's model."""
        if not embedding_environment:
            raise ValueError("knowledge_base needs the embedding model's environment (the incident step's)")
        return {
            names.ENV_KB_PROVIDER: "s3",
            names.ENV_BUCKET_NAME: storage.bucket.bucket_name,
            **embedding_environment,
        }
