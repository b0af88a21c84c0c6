"""Ingest: the encrypted Kinesis stream, the DLQ, the trigger Lambda that starts one execution per ticket
and the intake audit Lambda that dead-letters what the trigger's filter drops."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
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

EVENT_NAME = "TicketSubmitted"
# The filter as Lambda evaluates it on the JSON `data` of each Kinesis record.
TRIGGER_FILTER = {"data": {"eventName": lambda_.FilterRule.is_equal(EVENT_NAME)}}
BATCH_SIZE = 100
BATCHING_WINDOW = Duration.seconds(1)


class Ingest(Construct):
    """Stream + DLQ + trigger function wired by an event source mapping with bounded failure handling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        shards: Literal["on-demand"] | int,
        key: kms.IKey,
        package: LambdaPackage,
        state_machine: sfn.IStateMachine,
        storage: Storage,
        alarms_topic: sns.ITopic | None = None,
        retention_environment: dict[str, str] | None = None,
        limits_environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        on_demand = shards == "on-demand"
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=f"{project_name}-tickets",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            stream_mode=kinesis.StreamMode.ON_DEMAND if on_demand else kinesis.StreamMode.PROVISIONED,
            shard_count=None if on_demand else int(shards),
            retention_period=Duration.hours(24),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.dlq = dead_letter_queue(
            self,
            "Dlq",
            queue_name=f"{project_name}-tickets-dlq",
            key=key,
            reason="This queue is the dead-letter queue of the trigger's event source mapping.",
        )
        acknowledge(
            self.stream,
            "KDS3",
            "A customer-managed key on purpose: one rotated key, with its own policy and audit trail, "
            "protects the stream, the DLQ and the tickets topic.",
        )

        self.trigger = ServiceFunction(
            self,
            "Trigger",
            name=names.FN_TRIGGER,
            package=package,
            description="Starts one Step Functions execution per TicketSubmitted record",
            memory_size=256,
            timeout=Duration.seconds(60),
            environment={
                names.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
                names.ENV_DLQ_URL: self.dlq.queue_url,
                names.ENV_BUCKET_NAME: storage.bucket.bucket_name,
                names.ENV_ORIGINALS_KEY_ID: storage.data_key.key_arn,
                # New-ticket limits (issue 27.5): counters in the tickets table, a hit announced on alarms.
                names.ENV_TABLE_NAME: storage.table.table_name,
                **({names.ENV_ALARMS_TOPIC_ARN: alarms_topic.topic_arn} if alarms_topic is not None else {}),
                **(limits_environment or {}),  # unset: contract.defaults
                # When an item expires should its ticket end FAILED (the input carries it to the workflow).
                **(retention_environment or {}),
            },
        )
        storage.grant_limit_counters(self.trigger.role)
        if alarms_topic is not None:
            alarms_topic.grant_publish(self.trigger.role)
        # Each execution input is kept under inputs/ before the start: what `tms retry` re-runs.
        storage.grant_input_write(self.trigger.role)
        state_machine.grant_start_execution(self.trigger.role)
        # The trigger itself parks malformed records on the DLQ, with the reason.
        self.dlq.grant_send_messages(self.trigger.role)
        acknowledge_kms_grant(self.trigger.role, "stream and DLQ data key")
        self.event_source = self._mapping(filters=[lambda_.FilterCriteria.filter(TRIGGER_FILTER)])
        self.trigger.function.add_event_source(self.event_source)

        # The filter keeps foreign traffic off the trigger, but Lambda drops what it does not match
        # without a trace (non-JSON, invalid UTF-8, empty, other events). A second mapping with no
        # filter feeds the audit function, which dead-letters exactly those records with their reason.
        self.audit = ServiceFunction(
            self,
            "IntakeAudit",
            name=names.FN_INTAKE_AUDIT,
            package=package,
            description="Dead-letters, with the reason, every record the trigger's filter drops",
            memory_size=256,
            timeout=Duration.seconds(60),
            environment={names.ENV_DLQ_URL: self.dlq.queue_url},
        )
        self.dlq.grant_send_messages(self.audit.role)
        acknowledge_kms_grant(self.audit.role, "stream and DLQ data key")
        self.audit_source = self._mapping(filters=None)
        self.audit.function.add_event_source(self.audit_source)

    def _mapping(self, filters: Sequence[Mapping[str, Any]] | None) -> sources.KinesisEventSource:
        """A stream mapping with the shared bounded failure handling (stream_failure_handling) and the DLQ
        as on-failure destination (both mappings share all of it)."""
        return sources.KinesisEventSource(
            self.stream,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=BATCH_SIZE,
            max_batching_window=BATCHING_WINDOW,
            filters=filters,
            **stream_failure_handling(self.dlq),
        )

    def grant_put_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """kinesis:PutRecord(s) on the stream plus encrypt on its key (the Slack bot, the generator)."""
        grant = self.stream.grant_write(grantee)
        if isinstance(grantee, Construct):
            acknowledge_kms_grant(grantee, "stream's data key")
        return grant
