"""Trigger Lambda: Kinesis batch in, one Step Functions execution per valid ticket, partial batch failures out."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.lambda_events import KinesisRecord, kinesis_records, process_batch
from pipeline.adapters.aws import S3ExecutionInputs, SqsDeadLetters, StepFunctionsStarter
from pipeline.adapters.limits import DynamoRateLimiter, SnsLimitAlerts
from pipeline.domain.intake import Outcome, handle_record
from pipeline.domain.limits import IntakeGate, Limit
from pipeline.handlers._records import record_meta
from pipeline.observability import logger, metrics
from pipeline.settings import TriggerSettings, trigger_settings


@cache
def _deps() -> tuple[StepFunctionsStarter, SqsDeadLetters, S3ExecutionInputs, IntakeGate | None, int]:
    s = trigger_settings()
    return (
        StepFunctionsStarter(s.state_machine_arn),
        SqsDeadLetters(s.dlq_url),
        S3ExecutionInputs(s.bucket_name, kms_key_id=s.inputs_key_id),
        intake_gate(s),
        s.ticket_retention_days,  # the input says when the item expires should the ticket end FAILED
    )


def intake_gate(s: TriggerSettings) -> IntakeGate | None:
    """The new-ticket limits, when the function has a table to count in."""
    if not s.table_name:
        return None
    return IntakeGate(
        limiter=DynamoRateLimiter(s.table_name),
        per_sender=Limit("intake-sender", s.tickets_per_sender),
        per_domain=Limit("intake-domain", s.tickets_per_domain),
        exempt_sources=frozenset(x.strip() for x in s.limit_exempt_sources.split(",") if x.strip()),
        alerts=SnsLimitAlerts(s.alarms_topic_arn) if s.alarms_topic_arn else None,
    )


def record_handler(record: KinesisRecord) -> str:
    """Handle one record; raising marks it failed so the event source mapping retries it."""
    outcome = handle_record(record.data, record_meta(record), *_deps())
    logger.info("record handled", extra={"ticket_id": record.partition_key, "outcome": outcome})
    return outcome.value


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    # An entirely failed batch raises: the ESM bisects it.
    batch = process_batch(kinesis_records(event), record_handler, lambda r: r.sequence_number, logger)
    # One data point per outcome per batch (not per record) keeps EMF small.
    outcomes = Counter(batch.results)
    for outcome in Outcome:
        metrics.add_metric(
            name=f"Records{outcome.capitalize()}", unit="Count", value=outcomes.get(outcome.value, 0)
        )
    metrics.add_metric(name="RecordsFailed", unit="Count", value=len(batch.failed))
    return batch.response()
